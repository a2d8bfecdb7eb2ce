"""Fisher merging: a per-parameter Fisher-weighted average (Matena & Raffel, NeurIPS 2022).

``θ_M = Σ_t λ_t F_t ⊙ θ_t / Σ_t λ_t F_t`` with diagonal Fishers ``F_t`` — the mode of the
product of the experts' Laplace posteriors ``N(θ_t, diag(F_t)^{-1})``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn
from torch.func import functional_call, grad, vmap

from ._state import (
    Patterns,
    StateDict,
    StateLike,
    assemble,
    check_experts,
    check_same_layout,
    check_scaling,
    select_names,
    tensor_sum,
)


def diagonal_fisher(
    model: nn.Module, X: ArrayLike | torch.Tensor, y: ArrayLike | torch.Tensor | None = None,
    task: str = "regression", noise_scale: float = 1.0,
    output: int | None = None, batch_size: int = 256,
) -> dict[str, torch.Tensor]:
    """Diagonal Fisher information ``E_x[(∇_θ log p(y | x, θ))²]`` of a torch model.

    With ``y`` given this is the *empirical* Fisher (the observed labels). Without ``y`` it
    is the model's Fisher: ``E_x[∇f ∇fᵀ]/σ²`` for a Gaussian regression likelihood of sd
    ``noise_scale`` and ``E_x Σ_k p_k (∇ log p_k)²`` for a softmax classifier.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch ``(n, d)`` to outputs ``(n, k)``.
    X : array-like or Tensor of shape (n, d)
    y : array-like of shape (n,), optional
        Regression targets or class indices.
    task : {"regression", "classification"}
    noise_scale : float
        Likelihood sd for regression.
    output : int, optional
        For a multi-output regression network, the output whose likelihood is used (default:
        all outputs, independent Gaussians).
    batch_size : int
        Rows per vectorised per-example-gradient batch.

    Returns
    -------
    dict[str, Tensor]
        One non-negative tensor per named parameter (same shapes).

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(2, 1)
    >>> X = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    >>> F = diagonal_fisher(lin, X)               # E[x_j²] / σ² for a linear model
    >>> F["weight"]
    tensor([[5., 2.]])
    """
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    if not noise_scale > 0:
        raise ValueError(f"noise_scale must be > 0, got {noise_scale!r}")
    params = {k: v.detach() for k, v in model.named_parameters()}
    if not params:
        raise ValueError("model has no parameters")
    ref = next(iter(params.values()))
    X = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X)
    X = X.to(dtype=ref.dtype, device=ref.device)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got {tuple(X.shape)}")
    if not bool(torch.isfinite(X).all()):
        raise ValueError("X contains NaN or inf")
    if y is not None:
        y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y).to(ref.device)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have {X.shape[0]} rows, got {y.shape[0]}")

    def out_fn(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        o = functional_call(model, p, (x.unsqueeze(0),))[0]
        return o if output is None else o[output:output + 1]

    def loglik(p: dict[str, torch.Tensor], x: torch.Tensor, t: torch.Tensor | None,
               k: torch.Tensor | int) -> torch.Tensor:
        o = out_fn(p, x)
        if task == "regression":
            assert t is not None  # regression: the observed (or summed-over) outputs
            return -0.5 * ((t - o) ** 2).sum() / noise_scale**2
        return (torch.log_softmax(o, -1) * k).sum()  # k: one-hot (K,)

    total = {k: torch.zeros_like(v) for k, v in params.items()}
    n = X.shape[0]
    with torch.no_grad():
        k_out = out_fn(params, X[0]).shape[0]
    for start in range(0, n, batch_size):
        xb = X[start:start + batch_size]
        if task == "regression":
            if y is not None:
                tb = y[start:start + batch_size].to(ref.dtype).reshape(len(xb), -1)
                g = vmap(grad(loglik), in_dims=(None, 0, 0, None))(params, xb, tb, 0)
                for k in total:
                    total[k] += (g[k] ** 2).sum(0)
            else:  # E_y[(∂ log p)²] = Σ_o (∂f_o)² / σ²
                for o in range(k_out):
                    def f_o(p: dict[str, torch.Tensor], x: torch.Tensor, o: int = o
                            ) -> torch.Tensor:
                        return out_fn(p, x)[o]
                    g = vmap(grad(f_o), in_dims=(None, 0))(params, xb)
                    for k in total:
                        total[k] += (g[k] ** 2).sum(0) / noise_scale**2
        else:
            if y is not None:
                kb = torch.nn.functional.one_hot(y[start:start + batch_size].long(), k_out)
                kb = kb.to(ref.dtype)
                g = vmap(grad(loglik), in_dims=(None, 0, None, 0))(params, xb, None, kb)
                for k in total:
                    total[k] += (g[k] ** 2).sum(0)
            else:
                with torch.no_grad():
                    prob = torch.softmax(functional_call(model, params, (xb,)), -1)
                for c in range(prob.shape[1]):
                    kb = torch.zeros(len(xb), prob.shape[1], dtype=ref.dtype, device=ref.device)
                    kb[:, c] = 1
                    g = vmap(grad(loglik), in_dims=(None, 0, None, 0))(params, xb, None, kb)
                    w = prob[:, c]
                    for k in total:
                        total[k] += torch.einsum("n,n...->...", w, g[k] ** 2)
    return {k: v / n for k, v in total.items()}


def fisher_merging(
    experts: Sequence[StateLike], fishers: Sequence[StateLike],
    weights: Sequence[float] | None = None, min_fisher: float = 1e-6, normalize: bool = False,
    include: Patterns = None, exclude: Patterns = None,
) -> StateDict:
    """Fisher-weighted average of fine-tuned models, parameter by parameter.

    ``θ_M = Σ_t λ_t F_t θ_t / Σ_t λ_t F_t`` elementwise (Matena & Raffel 2022, Eq. 3),
    where ``F_t`` is a diagonal Fisher (e.g. from :func:`diagonal_fisher`, or a mean-field
    posterior precision ``1/σ_t²``).

    Parameters
    ----------
    experts : list of dict[str, Tensor]
    fishers : list of dict[str, Tensor]
        Non-negative diagonal Fishers with the experts' keys (at least the merged ones) and
        shapes.
    weights : sequence of float, optional
        ``λ_t`` (default 1 each).
    min_fisher : float, default 1e-6
        Floor added to every Fisher entry so that parameters no expert is informed about
        fall back to the ``λ``-weighted average.
    normalize : bool, default False
        Divide each expert's Fisher by its total over the merged parameters first (so that
        experts trained on more data do not dominate).
    include, exclude : str or list of str, optional
        Parameter-name patterns; unselected parameters are averaged with weights ``λ_t``.

    Returns
    -------
    dict[str, Tensor]

    Examples
    --------
    >>> import torch
    >>> ex = [{"w": torch.tensor([0.0, 0.0])}, {"w": torch.tensor([4.0, 4.0])}]
    >>> F = [{"w": torch.tensor([3.0, 1.0])}, {"w": torch.tensor([1.0, 1.0])}]
    >>> fisher_merging(ex, F, min_fisher=0.0)["w"]
    tensor([1., 2.])
    """
    _, experts = check_experts(experts)
    if not isinstance(fishers, (list, tuple)) or len(fishers) != len(experts):
        raise ValueError(
            f"fishers must be a list of {len(experts)} dicts (one per expert), got "
            f"{type(fishers).__name__} of length {getattr(fishers, '__len__', lambda: '?')()}"
        )
    T = len(experts)
    lam = check_scaling([1.0] * T if weights is None else weights, n=T, name="weights")
    if not isinstance(lam, list):
        raise TypeError(f"weights must be a sequence of {T} floats, got {weights!r}")
    if any(w < 0 for w in lam) or sum(lam) <= 0:
        raise ValueError(f"weights must be >= 0 with a positive sum, got {lam}")
    if not min_fisher >= 0:
        raise ValueError(f"min_fisher must be >= 0, got {min_fisher!r}")
    ref = experts[0]
    names = select_names(ref, include, exclude)
    F = []
    for i, f in enumerate(fishers):
        f = {k: f[k] for k in names if k in f} if isinstance(f, dict) else f
        missing = [k for k in names if k not in f]
        if missing:
            raise ValueError(f"fishers[{i}] lacks parameter(s) {missing}")
        check_same_layout({k: ref[k] for k in names}, f, "experts[0]", f"fishers[{i}]")
        for k, v in f.items():
            if not bool(torch.isfinite(v).all()) or bool((v < 0).any()):
                raise ValueError(f"fishers[{i}][{k!r}] must be finite and >= 0")
        F.append({k: v.detach().double() for k, v in f.items()})
    if normalize:
        F = [
            {k: v / max(float(sum(u.sum() for u in f.values())), 1e-300) for k, v in f.items()}
            for f in F
        ]
    merged = {}
    for k in names:
        num = tensor_sum(l * (f[k] + min_fisher) * e[k].detach().double()
                         for l, f, e in zip(lam, F, experts))
        den = tensor_sum(l * (f[k] + min_fisher) for l, f in zip(lam, F))
        avg = tensor_sum(l * e[k].detach().double() for l, e in zip(lam, experts)) / sum(lam)
        merged[k] = torch.where(den > 0, num / torch.where(den > 0, den, 1.0), avg)
    fallback = {
        k: (tensor_sum(l * e[k].double() for l, e in zip(lam, experts)) / sum(lam)).to(v.dtype)
        if v.is_floating_point() else v for k, v in ref.items()
    }
    return assemble(ref, merged, fallback)
