"""Vectorised 1-D Gaussian KDE kernels behind :func:`nfbst.evidence.evidence_value`.

Every function works on a chunk of *cells*: ``X`` of shape ``(C, S)`` holds the S posterior
draws of C independent cells (float64, finite, at least two distinct values per cell). Only
unnormalised kernel sums ``F(x) = sum_k exp(-(x - x_k)^2 / (2 h^2))`` are formed; the KDE
density is ``F / (S h sqrt(2 pi))`` and the normaliser cancels in the tangential-set test.

Two ways to count the draws inside the tangential set ``{x_i : F(x_i) > F(null)}``:

* ``direct``: all ``S x S`` kernel values (exact, ``O(S^2)`` per cell);
* ``binned``: linear binning on a grid of step ``r h``, one FFT convolution per cell, linear
  interpolation back to the draws, plus a *rigorous* per-draw bound on the error. For a draw in
  grid cell ``[g_m, g_m+1]`` both the binning error and the interpolation error are at most
  ``r^2/8 * E_m`` with ``E_m = sum_j W_j psi2bar(g_m - g_j)``, where ``W`` are the binned
  weights and ``psi2bar(u) = sup_{|v-u| <= 2r} |psi''(v)|`` (``psi(v) = exp(-v^2/2)``), which is
  one more FFT convolution; truncation of the kernels at 6 bandwidths and rounding add a tiny
  constant. Draws whose approximate sum lies within that bound of the null's exact sum are
  recomputed exactly, so the counts equal the direct ones (and scikit-learn's).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.typing import NDArray

GRID_STEP = 0.1  # grid spacing in bandwidths for the binned algorithm at up to 300 draws
_CUT = 6.0  # kernel truncation in bandwidths: exp(-18) ~ 1.5e-8, accounted for in the bound
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_MAX_GRID = 1 << 15  # cells needing a longer FFT than this are counted directly
_ELEMENTS = 1 << 22  # float64 elements per intermediate block (32 MiB)


# ----------------------------------------------------------------------------- bandwidths
def sorted_quantile(xs: torch.Tensor, q: float) -> torch.Tensor:
    """Quantile ``q`` of each row of the row-sorted ``xs`` (linear interpolation, R type 7)."""
    pos = (xs.shape[1] - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, xs.shape[1] - 1)
    frac = pos - lo
    return xs[:, lo] + frac * (xs[:, hi] - xs[:, lo])


def rule_bandwidth(xs: torch.Tensor, rule: str) -> torch.Tensor:
    """Silverman's (R ``bw.nrd0``) or Scott's (R ``bw.nrd``) bandwidth of row-sorted draws.

    ``h = c * min(sd, IQR / 1.34) * S^(-1/5)`` with ``c = 0.9`` (Silverman 1986, Eq. 3.31) or
    ``c = 1.06`` (Scott 1992); when the IQR is 0 the standard deviation is used, as in R.
    """
    S = xs.shape[1]
    dev = xs - xs.mean(dim=1, keepdim=True)
    sd = dev.square_().sum(dim=1).div_(S - 1).sqrt_()
    iqr = sorted_quantile(xs, 0.75) - sorted_quantile(xs, 0.25)
    spread = torch.minimum(sd, iqr / 1.34)
    spread = torch.where(spread > 0, spread, sd)
    c = 0.9 if rule == "silverman" else 1.06
    return c * spread * S ** (-0.2)


def _fold_bounds(S: int, n_folds: int) -> list[tuple[int, int]]:
    """Contiguous folds as scikit-learn's ``KFold(n_folds)`` without shuffling."""
    sizes = np.full(n_folds, S // n_folds)
    sizes[: S % n_folds] += 1
    ends = np.cumsum(sizes)
    return [(int(e - s), int(e)) for s, e in zip(sizes, ends)]


def cv_bandwidth(X: torch.Tensor, grid: torch.Tensor, n_folds: int) -> torch.Tensor:
    """Bandwidth of ``grid`` with the best mean held-out log-likelihood in K-fold CV.

    Replicates ``GridSearchCV(KernelDensity(), {"bandwidth": grid}, cv=n_folds)``: unshuffled
    contiguous folds, score = total log-likelihood of the test fold, mean over folds, first
    maximum on ties. ``grid`` is ``(G,)`` (absolute) or ``(C, G)`` (per cell).
    """
    C, S = X.shape
    grid = grid.expand(C, -1) if grid.dim() == 1 else grid
    score = torch.zeros(C, grid.shape[1], dtype=X.dtype, device=X.device)
    for start, stop in _fold_bounds(S, n_folds):
        test = X[:, start:stop]
        train = torch.cat([X[:, :start], X[:, stop:]], dim=1)
        n_te, n_tr = test.shape[1], train.shape[1]
        block = max(1, _ELEMENTS // (n_te * n_tr))
        for c0 in range(0, C, block):
            d2 = (test[c0 : c0 + block, :, None] - train[c0 : c0 + block, None, :]).square_()
            # log sum_k exp(-d2_k / 2h^2) = -min d2 / 2h^2 + log sum_k exp(-(d2_k - min) / 2h^2):
            # the shifted sum is >= 1 for every h, so one shift serves the whole grid
            d2min = d2.amin(dim=2)
            d2.sub_(d2min[:, :, None])
            for g in range(grid.shape[1]):
                h = grid[c0 : c0 + block, g]
                coef = (-0.5 / h.square())[:, None]
                logk = torch.exp(d2 * coef[:, :, None]).sum(dim=2).log_() + d2min * coef
                ll = logk - math.log(n_tr) - torch.log(h)[:, None] - _LOG_SQRT_2PI
                score[c0 : c0 + block, g] += ll.sum(dim=1)
    best = torch.argmax(score / n_folds, dim=1)
    return grid.gather(1, best[:, None])[:, 0]


# ------------------------------------------------------------------------- kernel sums
def kernel_sums(points: torch.Tensor, X: torch.Tensor, inv_h: torch.Tensor) -> torch.Tensor:
    """Exact ``F`` at ``points`` ``(C, P)`` for the draws ``X`` ``(C, S)``: ``(C, P)``."""
    C, P = points.shape
    S = X.shape[1]
    out = torch.empty(C, P, dtype=X.dtype, device=X.device)
    p_block = max(1, min(P, _ELEMENTS // S))
    c_block = max(1, _ELEMENTS // (p_block * S))
    for c0 in range(0, C, c_block):
        c1 = c0 + c_block
        x, w = X[c0:c1, None, :], inv_h[c0:c1, None, None]
        for p0 in range(0, P, p_block):
            z = (points[c0:c1, p0 : p0 + p_block, None] - x).mul_(w)
            out[c0:c1, p0 : p0 + p_block] = z.square_().mul_(-0.5).exp_().sum(dim=2)
    return out


def inside_direct(xs: torch.Tensor, null: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Count of draws inside the tangential set ``(C,)`` from all ``S x S`` kernel values."""
    S = xs.shape[1]
    F = kernel_sums(torch.cat([xs, null[:, None]], dim=1), xs, 1.0 / h)
    inside = (F[:, :S] > F[:, S:]) & (xs != null[:, None])
    return inside.sum(dim=1)


# ------------------------------------------------------------------------- binned path
def grid_step(S: int) -> float:
    """Grid step (in bandwidths) for S draws.

    The share of draws left open by the error bound scales like ``r^2``, and each costs an
    exact ``O(S)`` sum, so ``r`` shrinks like ``S^(-1/2)`` beyond 300 draws to keep the exact
    work per cell ``O(S)`` (the FFT grid grows accordingly, which is far cheaper).
    """
    return GRID_STEP * min(1.0, math.sqrt(300.0 / S))


def grid_length(X_range: torch.Tensor, h: torch.Tensor, r: float) -> torch.Tensor:
    """Grid nodes each cell needs: ``range / (r h) + 2`` plus the kernel's reach."""
    nodes = torch.floor(X_range / (h * r)) + 2
    return nodes + math.ceil(_CUT / r)


def fft_size(n: int) -> int:
    """Smallest ``2^a`` or ``3 * 2^a`` that is ``>= n``: fast FFT sizes, few distinct ones
    (so the kernel spectra and FFT plans are reused across chunks)."""
    p2 = 1 << max(0, (n - 1).bit_length())
    return 3 * p2 // 4 if 3 * p2 // 4 >= n else p2


def _envelope_psi2(u: NDArray[np.float64], width: float) -> NDArray[np.float64]:
    """``sup_{|v-u| <= width} |psi''(v)|`` with ``psi(v) = exp(-v^2/2)`` (upper bound)."""
    offs = np.linspace(-width, width, 65)
    v = u[:, None] + offs[None, :]
    vals = np.abs((v * v - 1.0) * np.exp(-0.5 * v * v)).max(axis=1)
    # critical points of |psi''| inside the window: 0 (value 1) and +-sqrt(3) (2 e^-1.5)
    for crit, peak in ((0.0, 1.0), (math.sqrt(3.0), 2.0 * math.exp(-1.5))):
        hit = (np.abs(np.abs(u) - crit) <= width) if crit else (np.abs(u) <= width)
        vals = np.where(hit, np.maximum(vals, peak), vals)
    # between sample points |psi''| can exceed the samples by at most step * max|psi'''|
    return vals + (2.0 * width / 64) * 1.39


_KERNELS: dict[tuple[int, float, torch.dtype, torch.device], torch.Tensor] = {}


def _kernels_fft(L: int, r: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """rFFTs of the circular kernel ``psi(j r)`` and of its error envelope, cached."""
    key = (L, r, dtype, device)
    if key not in _KERNELS:
        reach = math.ceil(_CUT / r)
        j = np.arange(L)
        dist = np.minimum(j, L - j).astype(float)
        on = dist <= reach
        psi = np.where(on, np.exp(-0.5 * (dist * r) ** 2), 0.0)
        env = np.zeros(L)
        env[on] = _envelope_psi2(dist[on] * r, 2.0 * r)
        pair = torch.tensor(np.stack([psi, env]), dtype=dtype, device=device)
        _KERNELS[key] = torch.fft.rfft(pair, n=L)
    return _KERNELS[key]


def inside_binned(
    xs: torch.Tensor, null: torch.Tensor, h: torch.Tensor, L: int, r: float
) -> tuple[torch.Tensor, int]:
    """Count of draws inside the tangential set ``(C,)`` via FFT binning + exact refinement.

    ``xs`` holds each cell's draws sorted ascending (the count does not depend on the order);
    ``L`` must be at least :func:`grid_length` of every cell. Returns the counts and the number
    of draws that had to be recomputed exactly.
    """
    C, S = xs.shape
    inv_h = 1.0 / h
    u = (xs - xs[:, :1]).mul_((inv_h / r)[:, None])  # grid coordinate of every draw, >= 0
    idx = u.long()
    t = u.sub_(idx)  # position inside the grid cell, in [0, 1)
    flat = (idx + torch.arange(0, C * L, L, device=xs.device)[:, None]).view(-1)
    t = t.view(-1)
    W = torch.zeros(C * L, dtype=xs.dtype, device=xs.device)
    W.index_add_(0, flat, 1.0 - t)
    W.index_add_(0, flat + 1, t)
    idx1 = idx + 1
    Wf = torch.fft.rfft(W.view(C, L), n=L)
    kf = _kernels_fft(L, r, xs.dtype, xs.device)
    F_grid = torch.fft.irfft(Wf * kf[0], n=L)
    E_grid = torch.fft.irfft(Wf.mul_(kf[1]), n=L)
    idx = idx.view(C, S)
    F_hat = torch.lerp(F_grid.gather(1, idx), F_grid.gather(1, idx1.view(C, S)), t.view(C, S))
    # binning + interpolation error <= r^2/4 E (module docstring); truncation and rounding
    far = _CUT - 2 * r
    slack = S * (1e-9 + math.exp(-0.5 * _CUT**2) + (far * far - 1) * math.exp(-0.5 * far * far))
    bound = E_grid.gather(1, idx).mul_(0.25 * r * r).add_(slack)
    F_null = kernel_sums(null[:, None], xs, inv_h)
    diff = F_hat.sub_(F_null)
    inside = diff > bound
    unsure = diff.abs_() <= bound
    n_unsure = int(unsure.sum())
    if n_unsure:
        ci, si = unsure.nonzero(as_tuple=True)
        rows_per = max(1, _ELEMENTS // S)
        exact = torch.empty(n_unsure, dtype=torch.bool, device=xs.device)
        for p0 in range(0, n_unsure, rows_per):
            c, s = ci[p0 : p0 + rows_per], si[p0 : p0 + rows_per]
            F_pts = kernel_sums(xs[c, s][:, None], xs[c], inv_h[c])
            exact[p0 : p0 + rows_per] = F_pts[:, 0] > F_null[c, 0]
        inside[ci, si] = exact
    inside &= xs != null[:, None]
    return inside.sum(dim=1), n_unsure
