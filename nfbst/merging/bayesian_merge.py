"""Bayesian merge of mean-field Gaussian posteriors that share one prior.

If expert ``t`` holds ``q_t(θ) ≈ p(θ | D_t) ∝ p_0(θ) p(D_t | θ)`` for a shared prior ``p_0``,
the posterior given all data is ``p(θ | D_1..D_T) ∝ Π_t q_t(θ) / p_0(θ)^{T−1}``. For diagonal
Gaussians this is a Gaussian with precision ``Λ = Σ_t Λ_t − (T−1) Λ_0`` and mean
``Λ^{-1}(Σ_t Λ_t m_t − (T−1) Λ_0 m_0)`` (the product-of-experts rule behind Fisher merging,
Matena & Raffel 2022, with the prior counted once).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch

from ._state import (
    Patterns,
    StateDict,
    StateLike,
    assemble,
    check_experts,
    check_same_layout,
    check_scaling,
    check_state_dict,
    select_names,
    tensor_sum,
)


def _prior_dict(value: float | StateLike, ref: StateLike, name: str, positive: bool
                ) -> StateDict:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) and not (positive and value == math.inf):
            raise ValueError(f"{name} must be finite, got {value!r}")
        if positive and not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
        return {k: torch.full_like(v.double(), float(value)) for k, v in ref.items()}
    d = check_state_dict(value, name)
    missing = [k for k in ref if k not in d]
    if missing:
        raise ValueError(f"{name} lacks parameter(s) {missing}")
    check_same_layout(ref, {k: d[k] for k in ref}, "expert_means[0]", name)
    out = {k: d[k].detach().double() for k in ref}
    if positive and any(bool((v <= 0).any()) for v in out.values()):
        raise ValueError(f"{name} must be > 0 everywhere")
    return out


def bayesian_merge(
    expert_means: Sequence[StateLike], expert_stds: Sequence[StateLike],
    prior_mean: float | StateLike = 0.0, prior_std: float | StateLike = 1.0,
    weights: Sequence[float] | None = None, include: Patterns = None, exclude: Patterns = None,
) -> tuple[StateDict, StateDict]:
    """Combine mean-field Gaussian posteriors ``N(m_t, s_t²)`` fitted under one prior.

    Elementwise, with precisions ``Λ_t = s_t^{-2}``, ``Λ_0 = s_0^{-2}`` and weights ``w_t``
    (all 1 by default, the exact posterior of the pooled data)::

        Λ = Σ_t w_t Λ_t − (Σ_t w_t − 1) Λ_0
        m = (Σ_t w_t Λ_t m_t − (Σ_t w_t − 1) Λ_0 m_0) / Λ

    Weights summing to 1 give the precision-weighted average of the experts (no prior
    correction). Where mean-field fits leave ``Λ`` below the smallest expert precision
    (an expert wider than the prior), ``Λ`` is raised to that precision and a warning says
    how many entries were affected.

    Parameters
    ----------
    expert_means, expert_stds : list of dict[str, Tensor]
        Posterior means and standard deviations (> 0) of every expert, same keys/shapes.
    prior_mean, prior_std : float or dict[str, Tensor]
        The shared prior ``N(m_0, s_0²)``; ``prior_std=math.inf`` is a flat prior.
    weights : sequence of float, optional
        ``w_t`` (tempering each expert's likelihood), default 1 each.
    include, exclude : str or list of str, optional
        Parameter-name patterns; unselected parameters get the weighted mean of the
        experts' means and the smallest expert sd.

    Returns
    -------
    mean, std : dict[str, Tensor]
        The merged posterior's mean and sd.

    Examples
    --------
    >>> import torch
    >>> m = [{"w": torch.tensor([1.0])}, {"w": torch.tensor([3.0])}]
    >>> s = [{"w": torch.tensor([0.5])}, {"w": torch.tensor([0.5])}]
    >>> mean, std = bayesian_merge(m, s, prior_mean=0.0, prior_std=1.0)
    >>> mean["w"], std["w"]            # Λ = 4 + 4 − 1 = 7, m = (4 + 12 − 0) / 7
    (tensor([2.2857]), tensor([0.3780]))
    """
    _, means = check_experts(expert_means, name="expert_means")
    _, stds = check_experts(expert_stds, name="expert_stds")
    if len(stds) != len(means):
        raise ValueError(
            f"expert_stds must have {len(means)} entries (one per expert), got {len(stds)}"
        )
    ref = means[0]
    for i, s in enumerate(stds):
        check_same_layout(ref, s, "expert_means[0]", f"expert_stds[{i}]")
        for k, v in s.items():
            if v.is_floating_point() and bool((v <= 0).any()):
                raise ValueError(f"expert_stds[{i}][{k!r}] must be > 0 everywhere")
    T = len(means)
    w = check_scaling([1.0] * T if weights is None else weights, n=T, name="weights")
    if not isinstance(w, list) or any(x < 0 for x in w) or sum(w) <= 0:
        raise ValueError(f"weights must be {T} floats >= 0 with a positive sum, got {weights!r}")
    names = select_names(ref, include, exclude)
    sub = {k: ref[k] for k in names}
    m0 = _prior_dict(prior_mean, sub, "prior_mean", positive=False)
    s0 = _prior_dict(prior_std, sub, "prior_std", positive=True)
    extra = sum(w) - 1.0
    out_mean: StateDict = {}
    out_std: StateDict = {}
    n_floor = 0
    for k in names:
        lam0 = s0[k] ** -2  # 0 for a flat prior
        lams = [s[k].detach().double() ** -2 for s in stds]
        prec = tensor_sum(wt * l for wt, l in zip(w, lams)) - extra * lam0
        num = tensor_sum(wt * l * m[k].detach().double() for wt, l, m in zip(w, lams, means))
        num = num - extra * lam0 * m0[k]
        floor = torch.stack(lams).min(0).values
        low = prec < floor
        n_floor += int(low.sum())
        mean = num / prec.clamp(min=1e-300)
        if bool(low.any()):  # keep the precision-weighted mean, widen nothing below floor
            wavg = tensor_sum(wt * l * m[k].detach().double()
                              for wt, l, m in zip(w, lams, means))
            wavg = wavg / tensor_sum(wt * l for wt, l in zip(w, lams))
            mean = torch.where(low, wavg, mean)
            prec = torch.where(low, floor, prec)
        out_mean[k] = mean
        out_std[k] = prec.rsqrt()
    if n_floor:
        warnings.warn(
            f"bayesian_merge: {n_floor} entries had a merged precision below the smallest "
            "expert precision (an expert wider than the prior); raised to it",
            RuntimeWarning, stacklevel=2,
        )
    fallback_mean = {
        k: (tensor_sum(wt * m[k].double() for wt, m in zip(w, means)) / sum(w)).to(v.dtype)
        if v.is_floating_point() else v for k, v in ref.items()
    }
    fallback_std = {
        k: torch.stack([s[k] for s in stds]).min(0).values if v.is_floating_point()
        else stds[0][k] for k, v in ref.items()
    }
    return assemble(ref, out_mean, fallback_mean), assemble(ref, out_std, fallback_std)
