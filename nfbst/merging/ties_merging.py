"""TIES-Merging: trim, elect sign, disjoint merge (Yadav et al., NeurIPS 2023, §3)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ._state import Patterns, StateDict, StateLike, check_experts, check_fraction, check_scaling
from .task_arithmetic import add_task_vector, task_vectors


def trim_top_k(tensor: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the ``round(density · numel)`` entries of largest magnitude, zero the rest.

    Ties in magnitude are broken by position (earlier entries first), so the result is
    deterministic.

    Examples
    --------
    >>> import torch
    >>> trim_top_k(torch.tensor([0.1, -3.0, 2.0, -0.5]), 0.5)
    tensor([ 0., -3.,  2.,  0.])
    """
    density = check_fraction(density, "density")
    flat = tensor.reshape(-1)
    k = int(math.floor(density * flat.numel() + 0.5))
    if k >= flat.numel():
        return tensor.clone()
    keep = torch.argsort(flat.abs(), descending=True, stable=True)[:k]
    out = torch.zeros_like(flat)
    out[keep] = flat[keep]
    return out.reshape(tensor.shape)


def elect_sign(stacked: torch.Tensor) -> torch.Tensor:
    """Elementwise sign of the summed trimmed task vectors ("mass" election), axis 0 = tasks.

    Examples
    --------
    >>> import torch
    >>> elect_sign(torch.tensor([[1.0, -1.0], [-3.0, 0.5]]))
    tensor([-1., -1.])
    """
    return torch.sign(stacked.sum(0))


def disjoint_merge(stacked: torch.Tensor, sign: torch.Tensor, aggregate: str = "mean"
                   ) -> torch.Tensor:
    """Mean (or sum) over the tasks whose entry has the elected sign; 0 where none has.

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([[1.0, -1.0], [3.0, 0.5]])
    >>> disjoint_merge(s, torch.tensor([1.0, -1.0]))
    tensor([ 2., -1.])
    """
    agree = (torch.sign(stacked) == sign) & (sign != 0)
    picked = torch.where(agree, stacked, torch.zeros_like(stacked))
    total = picked.sum(0)
    if aggregate == "sum":
        return total
    if aggregate != "mean":
        raise ValueError(f"aggregate must be 'mean' or 'sum', got {aggregate!r}")
    count = agree.sum(0)
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


def ties_combine(vectors: Sequence[StateLike], density: float = 0.2,
                 aggregate: str = "mean", trim_scope: str = "tensor") -> StateDict:
    """TIES merge of task vectors (list of dicts) into one task vector dict.

    ``trim_scope="tensor"`` keeps the top ``density`` fraction of every parameter tensor of
    every task (as mergekit); ``"global"`` keeps the top fraction of each task's whole
    vector, all selected parameters together (as the authors' code).

    Examples
    --------
    >>> import torch
    >>> v = [{"w": torch.tensor([1.0, -2.0])}, {"w": torch.tensor([3.0, 1.0])}]
    >>> ties_combine(v, density=1.0)["w"]
    tensor([ 2., -2.])
    """
    names = list(vectors[0])
    trimmed: list[StateDict]
    if trim_scope == "tensor":
        trimmed = [{k: trim_top_k(v[k], density) for k in names} for v in vectors]
    elif trim_scope == "global":
        trimmed = []
        for v in vectors:
            flat = torch.cat([v[k].reshape(-1) for k in names])
            kept = trim_top_k(flat, density)
            parts: StateDict = {}
            start = 0
            for k in names:
                n = v[k].numel()
                parts[k] = kept[start:start + n].reshape(v[k].shape)
                start += n
            trimmed.append(parts)
    else:
        raise ValueError(f"trim_scope must be 'tensor' or 'global', got {trim_scope!r}")
    out: StateDict = {}
    for k in names:
        stacked = torch.stack([t[k] for t in trimmed])  # (T, *shape)
        out[k] = disjoint_merge(stacked, elect_sign(stacked), aggregate)
    return out


def ties_merging(
    base: StateLike, experts: Sequence[StateLike], density: float = 0.2,
    scaling: float | Sequence[float] = 1.0, aggregate: str = "mean", trim_scope: str = "tensor",
    include: Patterns = None, exclude: Patterns = None,
) -> StateDict:
    """Merge with TIES: trim each task vector, elect signs by mass, average the agreeing.

    For each task vector ``τ_t = θ_t − θ_0``: keep its top-``density`` entries by magnitude
    (``τ̂_t``); elect ``γ = sgn(Σ_t τ̂_t)`` elementwise; average ``τ̂_t`` over the tasks with
    ``sgn(τ̂_t) = γ`` (0 where none); return ``θ_0 + λ τ_m`` (Yadav et al. 2023, Eqs. 1–3).

    Parameters
    ----------
    base : dict[str, Tensor]
    experts : list of dict[str, Tensor]
    density : float in [0, 1], default 0.2
        Fraction of entries kept when trimming (the paper's top-k%).
    scaling : float, default 1.0
        ``λ``.
    aggregate : {"mean", "sum"}
        Disjoint mean (the paper) or disjoint sum.
    trim_scope : {"tensor", "global"}
        Trim per parameter tensor, or over each task's whole selected vector.
    include, exclude : str or list of str, optional
        Parameter-name patterns; unselected parameters are copied from ``base``.

    Returns
    -------
    dict[str, Tensor]

    Examples
    --------
    >>> import torch
    >>> base = {"w": torch.zeros(3)}
    >>> ex = [{"w": torch.tensor([2.0, -1.0, 0.0])}, {"w": torch.tensor([4.0, 3.0, -1.0])}]
    >>> ties_merging(base, ex, density=1.0)["w"]
    tensor([ 3.,  3., -1.])
    """
    base, experts = check_experts(experts, base)
    lam = check_scaling(scaling)
    check_fraction(density, "density")
    taus = task_vectors(base, experts, include, exclude)
    return add_task_vector(base, ties_combine(taus, density, aggregate, trim_scope), lam)
