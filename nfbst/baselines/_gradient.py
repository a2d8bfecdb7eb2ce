"""Plain (point-estimate) MLPs trained in batches, and the Horel & Giesecke (2020) gradient
test with a residual-bootstrap null."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike

from probconstraints._progress import progress
from probconstraints._random import RandomStateLike

from .._validation import local_random_state as check_random_state
from ..posterior import ACTIVATIONS, PosteriorDraws, check_activation, fold_standardization
from ._common import F64, _check

#: Stacked weights of m MLPs, one ``(W (m, out, in), b (m, out))`` per layer.
Params = list[tuple[torch.Tensor, torch.Tensor]]


def _init_mlps(m: int, sizes: Sequence[int], gen: torch.Generator) -> Params:
    """LeCun-uniform weights of m independent MLPs: list of (W (m,out,in), b (m,out))."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        W = (torch.rand(m, fan_out, fan_in, generator=gen) * 2 - 1) * bound * np.sqrt(3)
        b = (torch.rand(m, fan_out, generator=gen) * 2 - 1) * bound
        params.append((W.requires_grad_(), b.requires_grad_()))
    return params


def _forward(params: Params, X: torch.Tensor, act: Callable[[torch.Tensor], torch.Tensor]
             ) -> torch.Tensor:
    """Batched MLP forward. X: (n, d) shared or (m, n, d). Returns (m, n)."""
    h = X
    for l, (W, b) in enumerate(params):
        if h.dim() == 2:
            h = torch.einsum("nd,mhd->mnh", h, W) + b[:, None, :]
        else:
            h = torch.einsum("mnd,mhd->mnh", h, W) + b[:, None, :]
        if l < len(params) - 1:
            h = act(h)
    return h[..., 0]


def _train_mlps(X: torch.Tensor, Y: torch.Tensor, hidden: Sequence[int], activation: str,
                epochs: int, lr: float, weight_decay: float, seed: int,
                mask: torch.Tensor | None = None) -> Params:
    """Fit m MLPs by full-batch Adam on standardised data.

    X : (n, d) standardised, shared; Y : (m, n) standardised targets; mask : (m, d) of input
    columns each network may use (None: all). Returns the list of (W, b), detached.
    """
    gen = torch.Generator().manual_seed(int(seed))
    m = Y.shape[0]
    params = _init_mlps(m, [X.shape[1], *hidden, 1], gen)
    act = ACTIVATIONS[activation][0]
    opt = torch.optim.Adam([t for p in params for t in p], lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.5)
    Xin = X if mask is None else X[None] * mask[:, None, :]
    for _ in range(epochs):
        opt.zero_grad()
        loss = ((_forward(params, Xin, act) - Y) ** 2).mean(1).sum()
        loss.backward()
        opt.step()
        sched.step()
    return [(W.detach(), b.detach()) for W, b in params]


def _standardise(X: F64, y: F64) -> tuple[F64, F64, tuple[F64, F64, float, float]]:
    mx, sx = X.mean(0), X.std(0)
    sx = np.where(sx > 0, sx, 1.0)
    my, sy = y.mean(), y.std()
    sy = sy if sy > 0 else 1.0
    return (X - mx) / sx, (y - my) / sy, (mx, sx, my, sy)


def fit_mlp(X: ArrayLike, y: ArrayLike, *, hidden: Sequence[int] = (20, 20, 20),
            activation: str = "relu", epochs: int = 1000, lr: float = 0.01,
            weight_decay: float = 0.0, random_state: RandomStateLike = None
            ) -> torch.nn.Sequential:
    """A plain (non-Bayesian) MLP regressor fitted by full-batch Adam, as a torch module.

    Inputs and target are standardised for training and the standardisation is folded
    into the first and last layers, so the returned :class:`torch.nn.Sequential` maps the
    user's X to the user's y units. This is the "point estimate from a plain network" the
    attribution baselines of the paper use.

    Parameters
    ----------
    X : array-like (n, d)
    y : array-like (n,)
    hidden : tuple of int, default (20, 20, 20)
    activation : {"relu", "tanh", "sigmoid", "gelu"}
    epochs : int, default 1000
        Full-batch Adam steps (learning rate halved every epochs/3).
    lr, weight_decay : float
    random_state : int or None

    Returns
    -------
    torch.nn.Sequential with output shape (n, 1).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2)); y = X[:, 0] ** 2
    >>> net = fit_mlp(X, y, hidden=(16,), epochs=300, random_state=0)
    >>> pred = net(torch.as_tensor(X, dtype=torch.float32)).detach().numpy()[:, 0]
    >>> bool(np.mean((pred - y) ** 2) < 0.01)
    True
    """
    X, y, _ = _check(X, y)
    check_activation(activation)
    Xs, ys, (mx, sx, my, sy) = _standardise(X, y)
    seed = check_random_state(random_state).randint(2**31 - 1)
    params = _train_mlps(torch.as_tensor(Xs, dtype=torch.float32),
                         torch.as_tensor(ys, dtype=torch.float32)[None], tuple(hidden),
                         activation, epochs, lr, weight_decay, seed)
    return _to_sequential(params, activation, mx, sx, my, sy, index=0)


def _to_sequential(params: Params, activation: str, mx: F64, sx: F64, my: float, sy: float,
                   index: int = 0) -> torch.nn.Sequential:
    """Network ``index`` of the stacked ``params`` in the user's units, as a Sequential.

    The standardisation is folded in float64 by :func:`~nfbst.posterior.fold_standardization`
    and the result rounded to float32, then built by :meth:`PosteriorDraws.module`.
    """
    W = [w[index:index + 1].double() for w, _ in params]
    b = [c[index:index + 1].double() for _, c in params]
    W, b = fold_standardization(W, b, torch.as_tensor(mx), torch.as_tensor(sx),
                                torch.tensor([float(my)], dtype=torch.float64),
                                torch.tensor([float(sy)], dtype=torch.float64))
    draws = PosteriorDraws([w.float() for w in W], [c.float() for c in b], activation=activation)
    return draws.module(0)


def _mean_sq_grad(params: Params, X: torch.Tensor,
                  act: Callable[[torch.Tensor], torch.Tensor],
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """mean_i (∂f/∂x_ij)² for each network: (m, d), in standardised units."""
    m = params[0][0].shape[0]
    Xm = X.expand(m, *X.shape).clone()
    if mask is not None:
        Xm = Xm * mask[:, None, :]
    Xm.requires_grad_(True)
    _forward(params, Xm, act).sum().backward()
    assert Xm.grad is not None  # Xm is a leaf that requires grad
    return (Xm.grad**2).mean(1)


def gradient_test(X: ArrayLike, y: ArrayLike, *, hidden: Sequence[int] = (20,),
                  activation: str = "relu", n_bootstraps: int = 49, epochs: int = 500,
                  lr: float = 0.01, weight_decay: float = 0.0,
                  features: Sequence[int] | None = None, chunk_size: int = 64,
                  feature_names: Sequence[object] | None = None,
                  random_state: RandomStateLike = None, verbose: int = 0) -> pd.DataFrame:
    """Horel & Giesecke (2020) gradient statistic with a residual-bootstrap null.

    Statistic: λ_j = mean_i (∂f̂(x_i)/∂x_j)² of an MLP f̂ fitted to (X, y) (inputs and
    target standardised, so λ_j is unit-free; H&G use one hidden layer, the default).
    Null of feature j: a network g_j fitted without x_j gives y*_b = g_j(X) + ε*_b
    (ε*_b resampled centred residuals of g_j); the full network is refitted to each
    (X, y*_b) with the same settings and λ*_{j,b} recorded. The p-value is
    (1 + #{λ*_{j,b} ≥ λ_j}) / (1 + B). All d·(B + 1) refits are batched into stacked weight
    tensors and trained together (``chunk_size`` networks at a time).

    Parameters
    ----------
    X : array-like (n, d)
    y : array-like (n,)
    hidden : tuple of int, default (20,)
    activation : {"relu", "tanh", "sigmoid", "gelu"}
    n_bootstraps : int, default 49
        B; the smallest attainable p-value is 1/(B + 1).
    epochs, lr, weight_decay :
        Full-batch Adam settings shared by all fits.
    features : list of int, optional
        Columns to test (default all); the others get NaN.
    chunk_size : int, default 64
        Networks trained together.
    feature_names : list of str, optional
    random_state : int or None
    verbose : int, default 0

    Returns
    -------
    DataFrame with columns ``feature, statistic, null_mean, p_value``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2)); y = X[:, 0] ** 2 + 0.1 * rng.normal(size=200)
    >>> res = gradient_test(X, y, n_bootstraps=9, epochs=200, random_state=0)
    >>> bool(res.p_value[0] <= 0.1)
    True
    """
    X, y, names = _check(X, y, feature_names, min_samples=8)
    check_activation(activation)
    if not (isinstance(n_bootstraps, int | np.integer) and n_bootstraps >= 1):
        raise ValueError(f"n_bootstraps must be a positive integer, got {n_bootstraps!r}")
    n, d = X.shape
    features = list(range(d)) if features is None else [int(j) for j in features]
    if any(not 0 <= j < d for j in features):
        raise ValueError(f"features must be column indices in [0, {d}), got {features}")
    rng = check_random_state(random_state)
    act = ACTIVATIONS[activation][0]
    Xs, ys, _ = _standardise(X, y)
    Xt = torch.as_tensor(Xs, dtype=torch.float32)
    yt = torch.as_tensor(ys, dtype=torch.float32)
    hidden = tuple(hidden)

    def fit(Y: torch.Tensor, mask: torch.Tensor | None = None) -> Params:
        return _train_mlps(Xt, Y, hidden, activation, epochs, lr, weight_decay,
                           rng.randint(2**31 - 1), mask)

    lam = _mean_sq_grad(fit(yt[None]), Xt, act)[0].numpy()
    # reduced fits g_j, all tested features at once (column j masked out)
    mask = torch.ones(len(features), d)
    mask[torch.arange(len(features)), torch.as_tensor(features)] = 0.0
    red = fit(yt.expand(len(features), n), mask)
    with torch.no_grad():
        g = _forward(red, Xt[None] * mask[:, None, :], act)  # (k, n)
    resid = (yt[None] - g).numpy()
    resid -= resid.mean(1, keepdims=True)
    jobs = [(k, b) for k in range(len(features)) for b in range(n_bootstraps)]
    null = np.empty((len(features), n_bootstraps))
    for start in progress(range(0, len(jobs), chunk_size), verbose,
                          desc="gradient bootstrap"):
        chunk = jobs[start:start + chunk_size]
        Ystar = np.stack([g[k].numpy() + resid[k, rng.randint(0, n, size=n)] for k, _ in chunk])
        params = fit(torch.as_tensor(Ystar, dtype=torch.float32))
        msg = _mean_sq_grad(params, Xt, act).numpy()
        for i, (k, b) in enumerate(chunk):
            null[k, b] = msg[i, features[k]]
    stat = np.full(d, np.nan)
    pval = np.full(d, np.nan)
    nmean = np.full(d, np.nan)
    for k, j in enumerate(features):
        stat[j] = lam[j]
        nmean[j] = null[k].mean()
        pval[j] = (1 + (null[k] >= lam[j]).sum()) / (1 + n_bootstraps)
    return pd.DataFrame({"feature": names, "statistic": stat, "null_mean": nmean,
                         "p_value": pval})
