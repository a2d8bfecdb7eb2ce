"""LIME statistic across posterior draws: shared perturbations, one batched solve.

``lime``'s tabular explainer (Ribeiro et al. 2016; package ``lime``, continuous features,
``discretize_continuous=False``) fits, for each instance, a weighted ridge regression of the
model's output on Gaussian perturbations around the training mean, weighted by an
exponential kernel of their standardised distance to the instance. Here one set of
perturbations per instance (drawn from ``random_state`` exactly as ``lime`` draws them) is
shared by all S draws: every draw predicts it in one batched forward pass, and because the
design matrix is shared, the S weighted least-squares fits reduce to one ``d × d`` system per
instance with S right-hand sides. Feature selection (``"auto"``, ``"none"``,
``"highest_weights"``, ``"forward_selection"``) follows ``lime``; the coefficients are per
training standard deviation of each feature, as ``lime`` reports them, and 0 for features
not selected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from probconstraints._progress import progress

from .._validation import local_random_state as check_random_state
from ._base import BlockRule, RowBatching, batched_statistic
from ._batching import check_draws, check_finite, per_draw_input
from ._targets import output_selector, per_draw_targets

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from probconstraints._random import RandomStateLike

    from ..posterior import PosteriorDraws
    from ._base import ModuleDraws, TargetLike

SELECTIONS = ("auto", "none", "highest_weights", "forward_selection", "lasso_path")


def _settings(X: NDArray[np.float64], training_data: ArrayLike | None,
              kernel_width: float | None, feature_selection: str, num_features: int | None,
              num_samples: int, alpha: float
              ) -> tuple[NDArray[np.float64], NDArray[np.float64], float, str, int]:
    """Validated scaler statistics, kernel width, selection method and number of features."""
    d = X.shape[1]
    T = X if training_data is None else np.asarray(training_data, dtype=np.float64)
    if T.ndim != 2 or T.shape[1] != d or T.shape[0] < 1:
        raise ValueError(f"training_data must have shape (m, {d}), got {T.shape}")
    if not np.isfinite(T).all():
        raise ValueError("training_data must be finite; got NaN or inf values")
    scaler = StandardScaler(with_mean=False).fit(T)  # as lime: mean_ kept, scale_ = std
    width = np.sqrt(d) * 0.75 if kernel_width is None else float(kernel_width)
    if not width > 0:
        raise ValueError(f"kernel_width must be > 0, got {kernel_width}")
    if feature_selection not in SELECTIONS:
        raise ValueError(f"feature_selection must be one of {SELECTIONS}, got "
                         f"{feature_selection!r}")
    K = d if num_features is None else num_features
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or not 1 <= K:
        raise ValueError(f"num_features must be an int >= 1 or None, got {num_features!r}")
    K = min(int(K), d)
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) \
            or num_samples < 2:
        raise ValueError(f"num_samples must be an int >= 2, got {num_samples!r}")
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    method = feature_selection
    if method == "auto":
        method = "forward_selection" if K <= 6 else "highest_weights"
    if K == d and method != "lasso_path":  # every other method then keeps all features
        method = "none"
    return scaler.mean_, scaler.scale_, width, method, K


def _subset_solve(G: torch.Tensor, c: torch.Tensor, idx: torch.Tensor, alpha: float,
                  void_last: torch.Tensor | None = None, valid: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge coefficients on the feature subsets ``idx`` ``(S, b, ..., m)``.

    ``G`` ``(b, d, d)`` is the weighted centred Gram matrix of instance ``b``'s perturbations and
    ``c`` ``(S, b, d)`` their cross-products with each draw's centred outputs. Where
    ``void_last`` is true the last feature of the subset is removed from the system (its
    coefficient is 0); likewise every position where ``valid`` is false. Returns the
    coefficients and the gathered cross-products.
    """
    lead = idx.shape[:-1]
    m = idx.shape[-1]
    bidx = torch.arange(G.shape[0]).view(1, -1, *([1] * (idx.ndim - 2)))
    Gs = G[bidx[..., None], idx[..., :, None], idx[..., None, :]]
    Gs = Gs + alpha * torch.eye(m, dtype=G.dtype)
    cexp = c.view(c.shape[0], c.shape[1], *([1] * (len(lead) - 2)), c.shape[2])
    cs = cexp.expand(*lead, c.shape[2]).gather(-1, idx)
    keep: torch.Tensor | None
    if void_last is not None:
        keep = torch.ones(*lead, m, dtype=G.dtype)
        keep[..., -1] = torch.where(void_last, 0.0, 1.0).to(G.dtype)
    else:
        keep = valid.to(G.dtype) if valid is not None else None
    if keep is not None:
        Gs = Gs * keep[..., :, None] * keep[..., None, :]
        Gs = Gs + torch.diag_embed(1 - keep)
        cs = cs * keep
    return torch.linalg.solve(Gs, cs[..., None])[..., 0], cs


def _forward_selection(G: torch.Tensor, c: torch.Tensor, K: int) -> torch.Tensor:
    """lime's greedy forward selection (OLS fits, best weighted R²) for all draws: ``(S, b, K)``."""
    S, b, d = c.shape
    cur = torch.empty(S, b, 0, dtype=torch.long)
    cand = torch.arange(d).view(1, 1, d, 1).expand(S, b, d, 1)
    for _ in range(K):
        used = torch.zeros(S, b, d, dtype=torch.bool)
        used.scatter_(-1, cur, True)
        idx = torch.cat([cur[:, :, None, :].expand(S, b, d, cur.shape[-1]), cand], -1)
        coef, cs = _subset_solve(G, c, idx, 0.0, void_last=used)
        # with an intercept and no penalty, R² grows with the explained sum of squares c'β
        explained = (coef * cs).sum(-1).masked_fill(used, -torch.inf)
        cur = torch.cat([cur, explained.argmax(-1, keepdim=True)], -1)
    return cur


def _lasso_path(G: torch.Tensor, c: torch.Tensor, n_samples: int, K: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """lime's ``lasso_path`` selection for all draws: padded indices and validity ``(S, b, K)``.

    The weighted, centred data share one Gram matrix per instance, so each draw's LARS path
    is computed from it (``lars_path_gram``; a loop over draws and instances, like lime's).
    """
    from sklearn.linear_model import lars_path_gram

    S, b, d = c.shape
    Gn, cn = G.numpy(), c.numpy()
    chosen: dict[tuple[int, int], NDArray[np.intp]] = {}
    for j in range(b):
        for s in range(S):
            _, _, coefs = lars_path_gram(cn[s, j], Gn[j], n_samples=n_samples, method="lasso")
            nonzero = np.arange(d)
            for i in range(coefs.shape[1] - 1, 0, -1):
                nonzero = coefs[:, i].nonzero()[0]
                if len(nonzero) <= K:
                    break
            chosen[s, j] = nonzero
    m = max(1, max(len(v) for v in chosen.values()))
    idx = torch.zeros(S, b, m, dtype=torch.long)
    valid = torch.zeros(S, b, m, dtype=torch.bool)
    for (s, j), nonzero in chosen.items():
        idx[s, j, :len(nonzero)] = torch.from_numpy(nonzero)
        valid[s, j, :len(nonzero)] = True
    return idx, valid


def _perturbations(rng: np.random.RandomState, x: NDArray[np.float64],
                   mean: NDArray[np.float64], scale: NDArray[np.float64], num_samples: int,
                   around: bool) -> NDArray[np.float64]:
    """lime's ``__data_inverse`` for continuous features: ``(b, N, d)`` raw perturbations."""
    b, d = x.shape
    Z = rng.normal(0, 1, b * num_samples * d).reshape(b, num_samples, d)
    Z = Z * scale + (x[:, None, :] if around else mean)
    Z[:, 0] = x
    return Z


def _lime_sampler(T: NDArray[np.float64], rng: np.random.RandomState,
                  categorical_features: Sequence[int] | None, discretizer: str | None,
                  around: bool, mode: str = "regression") -> Any:
    """A ``lime`` explainer whose private ``__data_inverse`` draws the perturbations (with
    its discretizer and categorical sampling), sharing the RandomState ``rng``."""
    from lime.lime_tabular import LimeTabularExplainer

    return LimeTabularExplainer(
        T, mode=mode, categorical_features=categorical_features, discretize_continuous=True
        if discretizer is not None else False, discretizer=discretizer or "quartile",
        sample_around_instance=around, random_state=rng,
    )


def _explained_outputs(draws: PosteriorDraws, Z: torch.Tensor,
                       classes: torch.Tensor | None) -> torch.Tensor:
    """Outputs ``(S, b, N)`` of every draw on perturbations ``Z`` ``(b, N, d)``: the regression
    output, or the probability of each instance's class."""
    b, N, d = Z.shape
    out = draws.forward(Z.reshape(b * N, d)).reshape(len(draws), b, N, -1)
    if classes is None:
        return out[..., 0]
    probs = torch.softmax(out, dim=-1)
    idx = classes.to(out.device).view(1, b, 1, 1).expand(len(draws), b, N, 1)
    return probs.gather(-1, idx)[..., 0]


def _lime_per_draw(draws: ModuleDraws, X: Any, batch_size: int | None = None,
                   **options: Any) -> torch.Tensor:
    """The per-draw path of :func:`lime`: ``lime``'s explainer on each ``draws.module(i)``."""
    check_draws(draws)
    return lime_tabular_per_draw(draws, per_draw_input(draws, X), **options)


def _row_cost(draws: PosteriorDraws, options: Mapping[str, Any]) -> int:
    """Every draw's layers (and the inputs) on each of ``num_samples`` perturbations."""
    width_sum = sum(W.shape[1] for W in draws.weights) + draws.n_features
    return len(draws) * int(options["num_samples"]) * width_sum


@torch.no_grad()
@batched_statistic(per_draw=_lime_per_draw,
                   rows=RowBatching(row_cost=_row_cost, budget=2**25,
                                    progress="LIME across draws"))
def lime(draws: PosteriorDraws, X: torch.Tensor, target: TargetLike = None,
         num_samples: int = 5000, kernel_width: float | None = None,
         feature_selection: str = "auto", num_features: int | None = None, alpha: float = 1.0,
         training_data: ArrayLike | None = None, sample_around_instance: bool = False,
         random_state: RandomStateLike = None, discretize_continuous: bool = False,
         discretizer: str = "quartile", categorical_features: Sequence[int] | None = None,
         batch_size: int | None = None, verbose: int = 0) -> BlockRule:
    """LIME coefficients of every draw for every instance: ``(S, n, d)``.

    Equals ``lime.lime_tabular.LimeTabularExplainer(training_data, mode,
    discretize_continuous=False, kernel_width, feature_selection, sample_around_instance,
    random_state).explain_instance(x, draw_i, num_features, num_samples)`` for each draw
    ``i`` (the same seed for every draw, instances explained in order), with the surrogate
    ``Ridge(alpha)``.

    Parameters
    ----------
    draws : PosteriorDraws or any object with ``__len__`` and ``module(i)``
        Other draws fall back to ``lime``'s explainer run on each ``draws.module(i)``.
    X : array-like of shape (n, d), in the user's units
    target : None, int, "predicted" or int array (n,)
        Regression: the single output. Classification: the class whose probability is
        explained (``None`` is the posterior-mean predicted class).
    num_samples : int
        Perturbations per instance (lime's default 5000; the paper's captum runs used 100).
    kernel_width : float, optional
        Width of the kernel ``sqrt(exp(-dist² / width²))``; ``None`` is ``0.75 sqrt(d)``.
    feature_selection : str
        ``"auto"``, ``"none"``, ``"highest_weights"``, ``"forward_selection"`` or
        ``"lasso_path"`` (a LARS path per draw and instance, slow like lime's), as lime.
    num_features : int, optional
        Features kept by the selection; ``None`` keeps all ``d``.
    alpha : float
        Ridge penalty of the surrogate (lime's ``Ridge(alpha=1)``).
    training_data : array-like (m, d), optional
        Data giving the perturbations' mean and scale; ``None`` uses ``X``.
    sample_around_instance : bool
        Centre the perturbations on the instance instead of the training mean.
    random_state : int, RandomState or None
        Seed of the perturbations; the same seed gives identical results.
    discretize_continuous : bool
        Explain binary "in the instance's bin" features as lime's default does (``False``
        here: signed slopes per feature suit a significance test). With it, or with
        ``categorical_features``, the perturbations are drawn by ``lime``'s own sampler.
    discretizer : str
        ``"quartile"``, ``"decile"`` or ``"entropy"`` (with ``discretize_continuous``).
    categorical_features : list of int, optional
        Columns sampled from their training frequencies and explained as "equal to the
        instance's value", as lime.
    batch_size : int, optional
        Instances processed at a time; ``None`` bounds memory.
    verbose : int
        Progress bar over instances; 0 silences it.

    Returns
    -------
    Tensor of shape (S, n, d): coefficients per training standard deviation of each feature.

    Examples
    --------
    >>> from nfbst.statistics._synthetic import random_draws
    >>> draws = random_draws(3, 4, hidden=(8,))
    >>> X = torch.randn(5, 4, dtype=torch.float64)
    >>> eta = lime(draws, X, num_samples=200, random_state=0, verbose=0)
    >>> eta.shape
    torch.Size([3, 5, 4])
    >>> bool((eta == lime(draws, X, num_samples=200, random_state=0, verbose=0)).all())
    True
    """
    n, d = X.shape
    Xn = X.detach().cpu().double().numpy()
    mean, scale, width, method, K = _settings(Xn, training_data, kernel_width,
                                              feature_selection, num_features, num_samples,
                                              alpha)
    classes: torch.Tensor | None = None
    if draws.task == "classification":
        classes = output_selector(draws, X, target)[0].argmax(-1).cpu()
    else:
        output_selector(draws, X[:1], 0 if target is None else target)  # validates k == 1
    rng = check_random_state(random_state)
    sampler = None
    if discretize_continuous or categorical_features:
        T = Xn if training_data is None else np.asarray(training_data, dtype=np.float64)
        sampler = _lime_sampler(T, rng, categorical_features,
                                discretizer if discretize_continuous else None,
                                sample_around_instance)
        mean, scale = sampler.scaler.mean_, sampler.scaler.scale_
    f64 = torch.float64

    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        if sampler is None:
            Zn = _perturbations(rng, Xn[rows], mean, scale, num_samples, sample_around_instance)
            data = Zn
        else:  # lime's own sampler: (binary/categorical data, model inputs) per instance
            pairs = [sampler._LimeTabularExplainer__data_inverse(x, num_samples)
                     for x in Xn[rows]]
            data = np.stack([p[0] for p in pairs])
            Zn = np.stack([p[1] for p in pairs])
        scaled = torch.from_numpy((data - mean) / scale)  # (b, N, d)
        dist2 = ((scaled - scaled[:, :1]) ** 2).sum(-1)
        w = torch.sqrt(torch.exp(-dist2 / width**2))  # (b, N)
        Z = torch.from_numpy(Zn).to(dtype=draws.dtype, device=draws.device)
        y = _explained_outputs(draws, Z, None if classes is None else classes[rows])
        y = y.to(device="cpu", dtype=f64)  # (S, b, N)
        wn = w / w.sum(1, keepdim=True)
        Zc = scaled - torch.einsum("bn,bnd->bd", wn, scaled)[:, None]
        yc = y - torch.einsum("bn,sbn->sb", wn, y)[..., None]
        G = torch.einsum("bnd,bn,bne->bde", Zc, w, Zc)
        c = torch.einsum("bnd,bn,sbn->sbd", Zc, w, yc)  # (S, b, d)
        eye = torch.eye(d, dtype=f64)
        valid: torch.Tensor | None
        if method == "none":
            coef = torch.linalg.solve(G + alpha * eye, c.permute(1, 2, 0)).permute(2, 0, 1)
        else:
            if method == "highest_weights":
                full = torch.linalg.solve(G + 0.01 * eye, c.permute(1, 2, 0)).permute(2, 0, 1)
                score = (full * scaled[None, :, 0]).abs()
                idx = torch.sort(score, dim=-1, descending=True, stable=True).indices[..., :K]
                valid = None
            elif method == "lasso_path":
                idx, valid = _lasso_path(G, c, num_samples, K)
            else:
                idx, valid = _forward_selection(G, c, K), None
            sub, _ = _subset_solve(G, c, idx, alpha, valid=valid)
            coef = torch.zeros_like(c).scatter_add_(-1, idx, sub)
        return coef.to(dtype=draws.dtype, device=draws.device)

    return block


def lime_tabular_per_draw(draws: ModuleDraws, X: torch.Tensor, target: TargetLike = None,
                          num_samples: int = 5000, kernel_width: float | None = None,
                          feature_selection: str = "auto", num_features: int | None = None,
                          alpha: float = 1.0, training_data: ArrayLike | None = None,
                          sample_around_instance: bool = False,
                          random_state: RandomStateLike = None,
                          discretize_continuous: bool = False, discretizer: str = "quartile",
                          categorical_features: Sequence[int] | None = None,
                          verbose: int = 0) -> torch.Tensor:
    """``lime``'s ``LimeTabularExplainer`` run on each ``draws.module(i)``: ``(S, n, ...)``.

    Inputs are flattened to ``(n, D)`` features; every draw gets an explainer seeded
    identically, so the perturbations of an instance are shared across draws. Used by
    :func:`lime` for draws that are not a stacked MLP.

    Examples
    --------
    >>> from nfbst.statistics._synthetic import random_draws
    >>> draws = random_draws(2, 3, hidden=(4,))
    >>> X = torch.randn(2, 3, dtype=torch.float64)
    >>> lime_tabular_per_draw(draws, X, num_samples=100, random_state=0, verbose=0).shape
    torch.Size([2, 2, 3])
    """
    from lime.lime_tabular import LimeTabularExplainer
    from sklearn.linear_model import Ridge

    X = check_finite(X)
    n, shape = X.shape[0], X.shape[1:]
    Xf = X.detach().cpu().double().numpy().reshape(n, -1)
    T = Xf if training_data is None else np.asarray(training_data, np.float64).reshape(
        np.shape(training_data)[0], -1)
    _, _, width, _, K = _settings(Xf, T, kernel_width, feature_selection, num_features,
                                  num_samples, alpha)
    classes = per_draw_targets(draws, X, target, verbose=verbose)
    mode = "regression" if classes is None else "classification"
    seed = random_state
    if seed is None or isinstance(seed, np.random.RandomState):
        seed = int(check_random_state(seed).randint(2**31 - 1))
    out = torch.zeros(len(draws), n, Xf.shape[1], dtype=X.dtype, device=X.device)
    for i in progress(range(len(draws)), verbose, desc="lime per draw"):
        net = draws.module(i)

        def predict(Z: NDArray[np.float64], net: torch.nn.Module = net) -> NDArray[Any]:
            with torch.no_grad():
                o = net(torch.as_tensor(Z, dtype=X.dtype, device=X.device).reshape(-1, *shape))
            o = o.reshape(len(Z), -1)
            return (o[:, 0] if mode == "regression" else torch.softmax(o, -1)).cpu().numpy()

        explainer = LimeTabularExplainer(
            T, mode=mode, kernel_width=width,
            feature_selection=feature_selection, sample_around_instance=sample_around_instance,
            random_state=seed, discretize_continuous=discretize_continuous,
            discretizer=discretizer, categorical_features=categorical_features,
        )
        for j in range(n):
            label = 1 if classes is None else int(classes[j])
            exp = explainer.explain_instance(
                Xf[j], predict, labels=(label,), num_features=K, num_samples=num_samples,
                model_regressor=Ridge(alpha=alpha),
            )
            for f, v in exp.local_exp[label]:
                out[i, j, f] = v
    return out.reshape(len(draws), *X.shape)
