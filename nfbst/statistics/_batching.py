"""Row batches, baselines and the draws-type dispatch shared by the statistics."""

from __future__ import annotations

import numpy as np
import torch


def is_batched_mlp(draws) -> bool:
    """True when ``draws`` is a :class:`~nfbst.posterior.PosteriorDraws` (stacked MLP)."""
    from ..posterior import PosteriorDraws

    return isinstance(draws, PosteriorDraws)


def check_finite(X: torch.Tensor, name: str = "X") -> torch.Tensor:
    """Refuse NaN or infinite values in ``X``."""
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} must be finite; got NaN or inf values")
    return X


def resolve_baselines(draws, X: torch.Tensor, baselines) -> torch.Tensor:
    """Baselines as a tensor broadcastable to ``X`` ``(n, d)``: ``(1, d)`` or ``(n, d)``.

    ``None`` is the zero baseline; a scalar, a ``(d,)`` vector, a ``(1, d)`` row or an
    ``(n, d)`` array (one baseline per row) are accepted, as captum's ``baselines``.
    """
    n, d = X.shape
    if baselines is None:
        return torch.zeros(1, d, dtype=X.dtype, device=X.device)
    if isinstance(baselines, (int, float, np.floating, np.integer)):
        return torch.full((1, d), float(baselines), dtype=X.dtype, device=X.device)
    B = baselines if torch.is_tensor(baselines) else torch.as_tensor(np.asarray(baselines))
    if not (B.dtype.is_floating_point or B.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"baselines must be numeric, got dtype {B.dtype}")
    B = B.to(dtype=X.dtype, device=X.device)
    if B.ndim == 0:
        B = B.expand(1, d).clone()
    elif B.ndim == 1:
        B = B[None, :]
    if B.ndim != 2 or B.shape[1] != d or B.shape[0] not in (1, n):
        raise ValueError(
            f"baselines must be a scalar, shape ({d},), (1, {d}) or ({n}, {d}); got shape "
            f"{tuple(B.shape)}"
        )
    return check_finite(B, "baselines")


def row_batches(n: int, batch_size, per_row_cost: int = 1, budget: int = 2**21):
    """Slices covering ``range(n)``; ``batch_size=None`` bounds ``rows * per_row_cost``.

    The default budget keeps each batch's temporaries at a few MB, so that the allocator
    reuses them from batch to batch instead of mapping fresh pages (first touch of fresh
    memory dominates memory-bound kernels, most of all in virtual machines).
    """
    if n < 1:
        raise ValueError(f"X must have at least one row, got {n}")
    if batch_size is None:
        step = max(1, budget // max(int(per_row_cost), 1))
    else:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be a positive int or None, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        step = int(batch_size)
    return [slice(s, min(s + step, n)) for s in range(0, n, step)]


def mlp_row_cost(draws, hidden_factor: int = 2) -> int:
    """Elements of temporaries per row of a batched MLP statistic: ``S (d + c Σ h)``."""
    hidden = sum(W.shape[1] for W in draws.weights)
    return len(draws) * (draws.n_features + hidden_factor * hidden)


def empty_statistic(draws, n: int) -> torch.Tensor:
    """The ``(S, n, d)`` output, allocated once and filled batch by batch."""
    return torch.empty(len(draws), n, draws.n_features, dtype=draws.dtype, device=draws.device)


def slice_target(target, sl: slice):
    """The part of ``target`` for the rows in ``sl`` (ints and names pass through)."""
    if target is None or isinstance(target, (int, np.integer, str)):
        return target
    return np.asarray(target.cpu() if torch.is_tensor(target) else target)[sl]


def slice_rows(B: torch.Tensor, sl: slice) -> torch.Tensor:
    """Rows ``sl`` of a per-row tensor, or the tensor itself when it is a single row."""
    return B if B.shape[0] == 1 else B[sl]


def check_target_length(target, n: int) -> None:
    """Refuse a per-row ``target`` whose length is not ``n`` (before rows are batched)."""
    if target is None or isinstance(target, (int, np.integer, str)):
        return
    arr = np.asarray(target.cpu() if torch.is_tensor(target) else target)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"target must be None, 'predicted', an int or an array of length n={n}; got "
            f"shape {arr.shape}"
        )
