"""LoRE-Merging: estimate a shared base and low-rank task vectors, then merge them.

Liu et al., "LoRE-Merging" (Findings of EMNLP 2025). We solve the convex objective

    min_{θ_0, δ_1..δ_T}  Σ_t ½‖θ_0 + δ_t − θ_t‖_F² + μ ‖δ_t‖_*

(per parameter matrix) by exact block coordinate descent: ``δ_t ← SVT_μ(θ_t − θ_0)`` and
``θ_0 ← mean_t(θ_t − δ_t)``. The paper prints a *squared* nuclear norm, whose proximal step
is not fixed-threshold SVT; the objective above is the one its SVT algorithm actually
minimises (shared/papers/merging.md §1), and each block step can only lower it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

import torch

from ._state import (
    Patterns,
    StateDict,
    StateLike,
    assemble,
    check_experts,
    check_scaling,
    select_names,
    tensor_sum,
)
from .ties_merging import ties_combine


def _as_matrix(t: torch.Tensor) -> torch.Tensor:
    if t.ndim == 0:
        return t.reshape(1, 1)
    if t.ndim == 1:
        return t.reshape(-1, 1)
    return t.reshape(t.shape[0], -1)


def singular_value_threshold(matrix: torch.Tensor, mu: float) -> torch.Tensor:
    """``U diag((σ − μ)_+) Vᵀ``: the proximal operator of ``μ‖·‖_*`` (batched over dim 0
    when given a 3-D stack).

    Examples
    --------
    >>> import torch
    >>> singular_value_threshold(torch.diag(torch.tensor([3.0, 1.0])), 2.0)
    tensor([[1., 0.],
            [0., 0.]])
    """
    U, s, Vh = torch.linalg.svd(matrix, full_matrices=False)
    s = (s - mu).clamp(min=0)
    return (U * s.unsqueeze(-2)) @ Vh


@dataclass
class LoReInfo:
    """What :func:`lore_merging` estimated (returned with ``return_info=True``).

    Attributes
    ----------
    base : dict[str, Tensor]
        The estimated shared base ``θ_0`` (merged parameters only).
    deltas : list of dict[str, Tensor]
        The low-rank task vectors ``δ_t``.
    objective : list of float
        The objective at initialisation and after every iteration (non-increasing).
    n_iter : int
        Iterations run.
    converged : bool
        Whether the relative decrease fell below ``tol`` before ``n_iter``.
    """

    base: StateDict = field(default_factory=dict)
    deltas: list[StateDict] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False

    def ranks(self, rtol: float = 1e-6, atol: float = 1e-10) -> list[dict[str, int]]:
        """Numerical rank of every ``δ_t``: singular values above ``max(atol, rtol·σ_max)``."""
        out: list[dict[str, int]] = []
        for d in self.deltas:
            r: dict[str, int] = {}
            for k, v in d.items():
                s = torch.linalg.svdvals(_as_matrix(v).double())
                cut = max(atol, rtol * float(s.max())) if s.numel() else atol
                r[k] = int((s > cut).sum())
            out.append(r)
        return out


def lore_objective(thetas: StateLike, base: StateLike, deltas: StateLike,
                   mu: float) -> float:
    """``Σ_t ½‖θ_0 + δ_t − θ_t‖_F² + μ‖δ_t‖_*`` over the parameter matrices.

    ``thetas`` is a dict name -> stacked ``(T, m, n)``; ``base`` name -> ``(m, n)``;
    ``deltas`` name -> ``(T, m, n)``.

    Examples
    --------
    >>> import torch
    >>> th = {"w": torch.ones(2, 1, 1)}
    >>> lore_objective(th, {"w": torch.zeros(1, 1)}, {"w": torch.zeros(2, 1, 1)}, 0.1)
    1.0
    """
    total = 0.0
    for k, th in thetas.items():
        resid = base[k].unsqueeze(0) + deltas[k] - th
        total += 0.5 * float((resid**2).sum())
        total += mu * float(torch.linalg.svdvals(deltas[k]).sum())
    return total


@overload
def lore_merging(
    experts: Sequence[StateLike], mu: float = ..., n_iter: int = ..., tol: float = ...,
    scaling: float = ..., combine: str = ..., include: Patterns = ..., exclude: Patterns = ...,
    return_info: Literal[False] = ...,
) -> StateDict: ...


@overload
def lore_merging(
    experts: Sequence[StateLike], mu: float = ..., n_iter: int = ..., tol: float = ...,
    scaling: float = ..., combine: str = ..., include: Patterns = ..., exclude: Patterns = ...,
    *, return_info: Literal[True],
) -> tuple[StateDict, LoReInfo]: ...


def lore_merging(
    experts: Sequence[StateLike], mu: float = 0.01, n_iter: int = 50, tol: float = 1e-8,
    scaling: float = 1.0, combine: str = "ties", include: Patterns = None,
    exclude: Patterns = None, return_info: bool = False,
) -> StateDict | tuple[StateDict, LoReInfo]:
    """Merge fine-tuned models without their base: estimate ``θ_0`` and low-rank ``δ_t``.

    Block coordinate descent on ``Σ_t ½‖θ_0 + δ_t − θ_t‖_F² + μ‖δ_t‖_*`` from
    ``θ_0 = mean_t θ_t, δ_t = 0``, then ``θ_M = θ_0 + λ · Merge(δ_1, …, δ_T)``.
    Tensors that are not 2-D are treated as ``(size(0), −1)`` matrices (a vector as a
    column, where the nuclear norm is the Euclidean norm).

    Parameters
    ----------
    experts : list of dict[str, Tensor]
        Fine-tuned parameters sharing keys and shapes (the base is not needed).
    mu : float, default 0.01
        Singular-value threshold ``μ`` (parameter units): larger gives lower-rank ``δ_t``.
    n_iter : int, default 50
        Maximum coordinate-descent sweeps.
    tol : float, default 1e-8
        Stop when the objective's relative decrease in one sweep is below ``tol``.
    scaling : float, default 1.0
        ``λ``.
    combine : {"ties", "ta", "mean"}
        How the ``δ_t`` are merged: TIES sign election and disjoint mean (no trimming),
        their sum, or their mean (with ``λ = 1`` the mean reproduces plain averaging).
    include, exclude : str or list of str, optional
        Parameter-name patterns; unselected parameters are averaged over the experts.
    return_info : bool
        Also return a :class:`LoReInfo` (estimated base, ``δ_t``, objective history).

    Returns
    -------
    merged : dict[str, Tensor]
    info : LoReInfo
        Only with ``return_info=True``.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> base = torch.randn(6, 5, generator=g)
    >>> ex = [{"w": base + torch.outer(torch.randn(6, generator=g), torch.randn(5, generator=g))}
    ...       for _ in range(3)]
    >>> merged, info = lore_merging(ex, mu=0.05, return_info=True)
    >>> merged["w"].shape, info.objective[-1] <= info.objective[0]
    (torch.Size([6, 5]), True)
    """
    _, experts = check_experts(experts)
    if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not mu >= 0:
        raise ValueError(f"mu must be a float >= 0, got {mu!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be an int >= 1, got {n_iter!r}")
    if combine not in ("ties", "ta", "mean"):
        raise ValueError(f"combine must be 'ties', 'ta' or 'mean', got {combine!r}")
    lam = check_scaling(scaling)
    mu = float(mu)
    names = select_names(experts[0], include, exclude)
    ref = experts[0]
    thetas = {
        k: torch.stack([_as_matrix(e[k].detach()).double() for e in experts]) for k in names
    }  # name -> (T, m, n)
    base = {k: th.mean(0) for k, th in thetas.items()}
    deltas = {k: torch.zeros_like(th) for k, th in thetas.items()}
    history = [lore_objective(thetas, base, deltas, mu)]
    converged = False
    it = 0
    for it in range(1, n_iter + 1):  # noqa: B007 (it is reported)
        for k, th in thetas.items():
            deltas[k] = singular_value_threshold(th - base[k].unsqueeze(0), mu)
            base[k] = (th - deltas[k]).mean(0)
        history.append(lore_objective(thetas, base, deltas, mu))
        if history[-2] - history[-1] <= tol * max(abs(history[-2]), 1e-300):
            converged = True
            break
    T = len(experts)
    delta_dicts = [
        {k: deltas[k][t].reshape(ref[k].shape) for k in names} for t in range(T)
    ]
    base_dict = {k: base[k].reshape(ref[k].shape) for k in names}
    if combine == "ties":
        merged_delta = ties_combine(delta_dicts, density=1.0)
    elif combine == "ta":
        merged_delta = {k: tensor_sum(d[k] for d in delta_dicts) for k in names}
    else:
        merged_delta = {k: tensor_sum(d[k] for d in delta_dicts) / T for k in names}
    merged = {k: base_dict[k] + lam * merged_delta[k] for k in names}
    mean_state = {
        k: (tensor_sum(e[k].detach().double() for e in experts) / T)
        if ref[k].is_floating_point()
        else ref[k] for k in ref
    }
    out = assemble(ref, merged, fallback={k: v.to(ref[k].dtype) for k, v in mean_state.items()})
    if not return_info:
        return out
    info = LoReInfo(
        base={k: v.to(ref[k].dtype) for k, v in base_dict.items()},
        deltas=[{k: v.to(ref[k].dtype) for k, v in d.items()} for d in delta_dicts],
        objective=history, n_iter=it, converged=converged,
    )
    return out, info
