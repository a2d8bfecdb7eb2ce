"""Convergence diagnostics of multi-chain samples: split-R̂ and bulk ESS (pyro.ops.stats)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from pyro.ops.stats import effective_sample_size, split_gelman_rubin
from scipy.stats import rankdata

RHAT_THRESHOLD = 1.05


def rank_normalize(chains: torch.Tensor) -> torch.Tensor:
    """Rank-normalised values Φ⁻¹((r - 3/8) / (N + 1/4)) over all chains (Vehtari et al. 2021).

    ``chains`` is ``(C, S, K)``; ranks are taken over the ``C·S`` draws of each column, tied
    values (rejected HMC proposals repeat a draw) get their average rank.
    """
    C, S, K = chains.shape
    flat = chains.reshape(C * S, K).double().cpu().numpy()
    ranks = torch.as_tensor(rankdata(flat, method="average", axis=0), dtype=torch.float64)
    u = (ranks - 0.375) / (C * S + 0.25)
    return torch.special.ndtri(u).reshape(C, S, K)


def split_chains(chains: torch.Tensor) -> torch.Tensor:
    """``(C, S, K)`` → ``(2C, S//2, K)``: each chain cut into its first and second half."""
    C, S, K = chains.shape
    half = S // 2
    return torch.cat([chains[:, :half], chains[:, S - half:]], 0)


def chain_diagnostics(chains: torch.Tensor) -> dict[str, Any]:
    """Split-R̂ and bulk ESS per column of ``chains`` ``(C, S, K)`` (C chains, S draws each).

    R̂ is :func:`pyro.ops.stats.split_gelman_rubin`; the bulk ESS is
    :func:`pyro.ops.stats.effective_sample_size` of the rank-normalised split chains
    (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021), capped as in Stan at
    ``C·S·log10(C·S)``: antithetic chains (HMC often is) can make Geyer's sum, and so pyro's
    value, negative or unbounded. Columns constant over all draws get R̂ = 1 and ESS = C·S.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> d = chain_diagnostics(torch.randn(4, 500, 3, generator=g, dtype=torch.float64))
    >>> bool((d["rhat"] < 1.01).all()), bool((d["ess"] > 1000).all())
    (True, True)
    """
    if chains.ndim != 3 or chains.shape[1] < 4:
        raise ValueError(f"chains must have shape (C, S>=4, K), got {tuple(chains.shape)}")
    chains = chains.detach().double().cpu()
    C, S, K = chains.shape
    const = (chains.reshape(C * S, K).std(0) == 0)
    rhat = split_gelman_rubin(chains, chain_dim=0, sample_dim=1)
    ess = effective_sample_size(split_chains(rank_normalize(chains)), chain_dim=0, sample_dim=1)
    cap = C * S * math.log10(C * S)
    ess = torch.where((ess <= 0) | (ess > cap), torch.full_like(ess, cap), ess)
    rhat = torch.where(const, torch.ones_like(rhat), rhat)
    ess = torch.where(const, torch.full_like(ess, float(C * S)), ess)
    return {"rhat": rhat, "ess": ess}


def summarize(param_chains: torch.Tensor, output_chains: torch.Tensor | None,
              identifiable: bool) -> dict[str, Any]:
    """Diagnostics of parameters ``(C, S, P)`` and outputs ``(C, S, m)`` as a JSON-able dict.

    ``rhat_max`` (the value checked against the 1.05 threshold) is the R̂ of the outputs when
    the weights are not identifiable (hidden layers: permuting or sign-flipping hidden units
    leaves the function unchanged, so chains in symmetric modes disagree on weights while
    agreeing on the function), and the larger of both otherwise.
    """
    p = chain_diagnostics(param_chains)
    out = {
        "rhat_max_params": float(p["rhat"].max()),
        "ess_min_params": float(p["ess"].min()),
        "n_chains": int(param_chains.shape[0]),
        "n_draws_per_chain": int(param_chains.shape[1]),
    }
    rhat = out["rhat_max_params"]
    if output_chains is not None:
        o = chain_diagnostics(output_chains)
        out["rhat_max_output"] = float(o["rhat"].max())
        out["ess_min_output"] = float(o["ess"].min())
        rhat = out["rhat_max_output"] if not identifiable else max(rhat, out["rhat_max_output"])
    out["rhat_max"] = rhat
    return out


def warn_if_unconverged(diag: dict[str, Any], what: str) -> None:
    """``UserWarning`` naming R̂ and its value when ``diag["rhat_max"]`` exceeds 1.05."""
    if diag["rhat_max"] > RHAT_THRESHOLD:
        warnings.warn(
            f"{what}: max split R-hat (R̂) = {diag['rhat_max']:.3f} > {RHAT_THRESHOLD}; the "
            "chains have not converged to one distribution. Raise warmup_steps/num_samples "
            "(see diagnostics_).",
            UserWarning,
            stacklevel=4,
        )
