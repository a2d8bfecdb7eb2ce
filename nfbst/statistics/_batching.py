"""Row batches, baselines and input checks shared by the statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from collections.abc import Callable

    import dask.array as da

    from ..functional_draws import FunctionalDraws
    from ..posterior import PosteriorDraws
    from ._base import ModuleDraws, TargetLike

#: Reference inputs: None (zero), a scalar, or an array (d,), (1, d) or (n, d).
BaselinesLike = float | ArrayLike | torch.Tensor | None


def check_finite(X: torch.Tensor, name: str = "X") -> torch.Tensor:
    """Refuse NaN or infinite values in ``X``."""
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} must be finite; got NaN or inf values")
    return X


def check_draws(draws: object) -> int:
    """Number of draws of an object with ``__len__`` and ``module(i)`` (the per-draw path)."""
    if not (hasattr(draws, "__len__") and callable(getattr(draws, "module", None))):
        raise TypeError(
            "draws must have __len__ and module(i) returning a torch.nn.Module; got "
            f"{type(draws).__name__}"
        )
    S = len(draws)
    if S < 1:
        raise ValueError(f"draws must hold at least one draw, got {S}")
    return S


def per_draw_input(draws: ModuleDraws, X: ArrayLike | torch.Tensor) -> torch.Tensor:
    """``X`` as a finite tensor ``(n, ...)`` with the dtype and device of ``draws.module(0)``."""
    net = draws.module(0)
    p = next(iter(net.parameters()), None)
    dtype = p.dtype if p is not None else torch.get_default_dtype()
    device = p.device if p is not None else torch.device("cpu")
    X = X if torch.is_tensor(X) else torch.as_tensor(np.asarray(X))
    if not (X.dtype.is_floating_point or X.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"X must be numeric, got dtype {X.dtype}")
    X = X.to(dtype=dtype, device=device)
    if X.ndim < 2 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n, ...) with n >= 1, got {tuple(X.shape)}")
    return check_finite(X)


def resolve_baselines(draws: object, X: torch.Tensor, baselines: BaselinesLike) -> torch.Tensor:
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


def row_batches(n: int, batch_size: int | None, per_row_cost: int = 1,
                budget: int = 2**21) -> list[slice]:
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


def mlp_row_cost(draws: PosteriorDraws, hidden_factor: int = 2) -> int:
    """Elements of temporaries per row of a batched MLP statistic: ``S (d + c Σ h)``."""
    hidden = sum(W.shape[1] for W in draws.weights)
    return len(draws) * (draws.n_features + hidden_factor * hidden)


def empty_statistic(draws: FunctionalDraws, n: int) -> torch.Tensor:
    """The ``(S, n, d)`` output, allocated once and filled batch by batch."""
    return torch.empty(len(draws), n, draws.n_features, dtype=draws.dtype, device=draws.device)


def slice_target(target: TargetLike, sl: slice) -> TargetLike:
    """The part of ``target`` for the rows in ``sl`` (ints and names pass through)."""
    if target is None or isinstance(target, (int, np.integer, str)):
        return target
    return np.asarray(target.cpu() if torch.is_tensor(target) else target)[sl]


def slice_rows(B: torch.Tensor, sl: slice) -> torch.Tensor:
    """Rows ``sl`` of a per-row tensor, or the tensor itself when it is a single row."""
    return B if B.shape[0] == 1 else B[sl]


def check_target_length(target: TargetLike, n: int) -> None:
    """Refuse a per-row ``target`` whose length is not ``n`` (before rows are batched)."""
    if target is None or isinstance(target, (int, np.integer, str)):
        return
    arr = np.asarray(target.cpu() if torch.is_tensor(target) else target)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"target must be None, 'predicted', an int or an array of length n={n}; got "
            f"shape {arr.shape}"
        )


def _statistic_block(X_block: NDArray[Any], *target_block: NDArray[Any],
                     fn: Callable[..., Any], draws: ModuleDraws, target: TargetLike,
                     options: dict[str, Any]) -> NDArray[Any]:
    """η ``(S, b, d)`` of one block of rows, as numpy (a task of :func:`statistic_row_blocks`)."""
    from ..posterior import PosteriorDraws

    if isinstance(draws, PosteriorDraws):
        Xt = torch.as_tensor(np.asarray(X_block), dtype=draws.dtype, device=draws.device)
    else:  # per-draw modules get float32 rows on the CPU, as NFBST passes them unbatched
        Xt = torch.as_tensor(np.asarray(X_block), dtype=torch.float32)
    check_finite(Xt)
    if target_block:
        target = np.asarray(target_block[0])
    eta = fn(draws, Xt, target=target, **options)
    eta = eta.detach().cpu().numpy() if torch.is_tensor(eta) else np.asarray(eta)
    if not np.all(np.isfinite(eta)):
        raise ValueError("statistic returned NaN or infinite values")
    return eta


def statistic_row_blocks(draws: ModuleDraws, X: ArrayLike | da.Array,
                         statistic: str | Callable[..., Any] = "grad", *,
                         rows_per_block: int | None = None, target: TargetLike = None,
                         **options: Any) -> da.Array:
    """Statistic draws η ``(S, n, d)`` as a lazy ``dask.array``, one task per block of rows.

    Nothing is computed until the result is: each block of rows is pushed through the draws
    on its own (on the draws' device), so ``evidence_value`` of the result streams over
    the rows with memory bounded by a few blocks of ``S × rows_per_block × d`` values.

    Parameters
    ----------
    draws : PosteriorDraws or any draws with ``len`` and ``module(i)``
        Other draws than :class:`PosteriorDraws` go through the statistic's per-draw path,
        with float32 rows on the CPU.
    X : array-like or dask.array (n, d)
        A dask array keeps its row chunks (its columns must be one chunk); anything else is
        split into blocks of ``rows_per_block`` rows.
    statistic : str or callable
        A registered statistic (``nfbst.statistics.available_statistics()``) or a callable
        ``f(draws, X, target=None, **options) -> (S, n, d)``.
    rows_per_block : int, optional
        Rows per block (default: about 2^24 statistic values per block).
    target : None, int, str or array-like (n,)
        Passed to the statistic; a per-row array is split with the rows.
    **options
        Passed to the statistic.

    Returns
    -------
    dask.array.Array of shape ``(S, n, d)``, chunks ``((S,), row blocks, (d,))``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> from nfbst.evidence import evidence_value
    >>> draws = PosteriorDraws([torch.randn(50, 3, 2), torch.randn(50, 1, 3)],
    ...                        [torch.zeros(50, 3), torch.zeros(50, 1)], activation="tanh")
    >>> X = np.random.default_rng(0).normal(size=(1000, 2))
    >>> eta = statistic_row_blocks(draws, X, "grad", rows_per_block=400)
    >>> eta.chunks
    ((50,), (400, 400, 200), (2,))
    >>> ev = evidence_value(eta, axis=0).compute()      # streamed block by block
    >>> ev.shape
    (1000, 2)
    """
    import dask.array as da

    from ..evidence import is_dask_array
    from ..posterior import PosteriorDraws
    from . import get_statistic

    fn = get_statistic(statistic)
    S = len(draws)
    dtype: np.dtype[Any] = np.dtype(np.float32)
    if isinstance(draws, PosteriorDraws):
        d = draws.n_features
        dtype = np.dtype(str(draws.dtype).replace("torch.", ""))
    else:  # any ensemble of modules: the width comes from X
        d = X.shape[1] if is_dask_array(X) and X.ndim == 2 else np.shape(X)[-1]
    Xd: da.Array
    if not is_dask_array(X):
        Xn = np.asarray(X)
        if Xn.ndim != 2 or Xn.shape[1] != d:
            raise ValueError(f"X must have shape (n, {d}), got {Xn.shape}")
        if Xn.dtype.kind not in "fiu":
            raise TypeError(f"X must hold real numbers, got dtype {Xn.dtype}")
        step = rows_per_block or max(1, 2**24 // max(S * d, 1))
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
            raise ValueError(f"rows_per_block must be a positive int, got {rows_per_block!r}")
        Xd = da.from_array(Xn, chunks=(int(step), d))
    else:
        Xd = check_dask_features(X, d)
        if rows_per_block is not None:
            Xd = Xd.rechunk({0: int(rows_per_block)})
    args: list[Any] = [Xd, "nd"]
    per_row = target is not None and not isinstance(target, (int, np.integer, str))
    if per_row:
        t: da.Array | NDArray[Any]
        if is_dask_array(target):
            t = target
            check_target_length(np.empty(t.shape[0]), Xd.shape[0])
        else:
            t = np.asarray(target)
            check_target_length(t, Xd.shape[0])
        args += [da.asarray(t).rechunk((Xd.chunks[0],)), "n"]
    return da.blockwise(_statistic_block, "snd", *args, new_axes={"s": S}, dtype=dtype,
                        fn=fn, draws=draws, target=None if per_row else target,
                        options=options, meta=np.empty((0, 0, 0), dtype=dtype))


def compute_if_lazy(*arrays: Any) -> tuple[Any, ...]:
    """The arrays as numpy, computing the dask ones together in one pass over their graph
    (so blocks of a shared input are produced once); numpy arrays pass through.

    Examples
    --------
    >>> import dask.array as da
    >>> a, b = compute_if_lazy(da.ones(3, chunks=2) * 2, np.zeros(2))
    >>> a.tolist(), b.tolist()
    ([2.0, 2.0, 2.0], [0.0, 0.0])
    """
    from ..evidence import is_dask_array

    lazy = [i for i, a in enumerate(arrays) if is_dask_array(a)]
    if not lazy:
        return arrays
    import dask

    done = dask.compute(*[arrays[i] for i in lazy])
    out = list(arrays)
    for i, value in zip(lazy, done):
        out[i] = np.asarray(value)
    return tuple(out)


def check_dask_features(X: da.Array, n_features: int) -> da.Array:
    """Validate a dask ``X`` (n, d) without computing it: 2-d, ``d`` columns, real dtype,
    columns in one chunk. Values (NaN/inf) are checked block by block by the statistic."""
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"X must have shape (n, {n_features}), got {X.shape}")
    if X.dtype.kind not in "fiu":
        raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
    if len(X.chunks[1]) != 1:
        raise ValueError(f"X: the feature axis is split into {len(X.chunks[1])} chunks; chunk "
                         "over rows only: X.rechunk({1: -1})")
    return X


def lazy_region_means(eta: da.Array, masks: NDArray[np.bool_], square: bool = False
                      ) -> da.Array:
    """Per draw, the mean (of the square) of a lazy ``eta`` (S, n, d) over each region's
    rows: a lazy ``(S, r, d)`` float64 array reduced block by block over the rows."""
    import dask.array as da

    x = eta.astype(np.float64)
    if square:
        x = x * x
    return da.stack([x[:, np.flatnonzero(m)].mean(1) for m in np.asarray(masks, bool)], axis=1)
