"""FBST evidence value of posterior draws, vectorised over cells.

The *evidence value* of the Full Bayesian Significance Test (Pereira & Stern 1999) for the sharp
hypothesis ``H0: eta = null`` is ``Ev(H0) = 1 - P(eta in T | data)`` with the tangential set
``T = {eta : p(eta | data) > p(null | data)}`` (flat reference). nFBST (Liu et al., AAAI 2024,
Eqs. 8-10 and 13) estimates ``p`` by a Gaussian KDE of the m posterior draws of ``eta`` and
counts the draws themselves: ``Ev = 1 - (1/m) sum_i 1[p_hat(eta_i) > p_hat(null)]``.

Small values reject H0 ("the feature matters"). The FBST evidence value is **not** a Bayes
factor and is unrelated to the e-values of Vovk, Shafer and Ramdas (non-negative statistics
with ``E_H0[E] <= 1``) and to VanderWeele's E-value. For a Gaussian posterior it equals the
two-sided Wald p-value ``2 (1 - Phi(|mu| / sigma))`` and is asymptotically uniform under H0,
so read it on a p-value scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeGuard, overload

import numpy as np
import torch
from joblib import Parallel, delayed
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from probconstraints._progress import progress

from . import _kde
from ._device import check_device

if TYPE_CHECKING:
    import dask.array as da
    from torch.types import Device

    from probconstraints._random import RandomStateLike

#: Draws as the evidence functions take them: anything numpy reads, or a torch tensor.
Samples: TypeAlias = "ArrayLike | torch.Tensor"
#: The data-driven bandwidth choices of :func:`kde_bandwidth`.
BandwidthRule: TypeAlias = Literal["silverman", "scott", "cv", "paper_cv"]

PAPER_BANDWIDTH_GRID = (0.01, 0.05, 0.1, 1.0)
"""The nFBST code's absolute bandwidth grid, searched by 5-fold CV per cell."""

CV_BANDWIDTH_FACTORS = tuple(2.0 ** (k / 2) for k in range(-4, 5))
"""Default ``bandwidth="cv"`` grid: multiples 1/4 ... 4 of Silverman's bandwidth."""

_RULES = ("silverman", "scott")
_CV = ("cv", "paper_cv")
_ALGORITHMS = ("auto", "binned", "direct")
_DIRECT_MAX_S = 48  # below this many draws the exact S x S sum is cheaper than the FFT


# ------------------------------------------------------------------------------ input helpers
def _as_samples(samples: Samples, name: str = "samples") -> NDArray[Any] | torch.Tensor:
    """Return ``samples`` as a real numpy array or torch tensor (no copy where possible)."""
    if isinstance(samples, torch.Tensor):
        if samples.is_complex() or samples.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got dtype {samples.dtype}")
        return samples.detach()
    arr = np.asarray(samples)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def _check_axis(axis: object, ndim: int) -> int:
    if ndim == 0:
        raise ValueError("samples must be at least 1-d (draws along axis), got a scalar")
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis must be in [-{ndim}, {ndim - 1}] for {ndim}-d samples, got {axis}")
    return int(axis) % ndim


def _per_cell(value: Samples, cell_shape: tuple[int, ...], name: str,
              positive: bool = False) -> NDArray[np.float64]:
    """Broadcast a scalar/array option to ``cell_shape`` and flatten it (float64)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real number or array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    if positive and not np.all(arr >= np.finfo(np.float64).tiny):
        raise ValueError(f"{name} must be > 0, got min {arr.min()!r}")
    try:
        return np.broadcast_to(arr, cell_shape).reshape(-1)
    except ValueError:
        raise ValueError(
            f"{name} of shape {arr.shape} does not broadcast to the cell shape {cell_shape} "
            "(samples' shape without axis)"
        ) from None


class _Cells:
    """``samples`` seen as ``n_cells`` rows of S draws, handed out in ``(C, S)`` chunks."""

    def __init__(self, samples: NDArray[Any] | torch.Tensor, axis: int) -> None:
        self.is_torch = isinstance(samples, torch.Tensor)
        moved: NDArray[Any] | torch.Tensor = (
            torch.moveaxis(samples, axis, -1) if isinstance(samples, torch.Tensor)
            else np.moveaxis(samples, axis, -1))
        self.S = moved.shape[-1]
        self.cell_shape = tuple(moved.shape[:-1])
        self.n_cells = math.prod(self.cell_shape)
        self.moved = moved
        self.flat = self._flat_view(moved)

    def _flat_view(self, moved: NDArray[Any] | torch.Tensor
                   ) -> NDArray[Any] | torch.Tensor | None:
        """``(n_cells, S)`` strided view when the cell axes merge without a copy, else None."""
        shape, strides = self.cell_shape, (
            moved.stride() if isinstance(moved, torch.Tensor)
            else [s // moved.itemsize for s in moved.strides]
        )
        dims = [(n, st) for n, st in zip(shape, strides[:-1]) if n != 1]
        for (_, st_outer), (n_inner, st_inner) in zip(dims, dims[1:]):
            if st_outer != st_inner * n_inner:
                return None
        cell_stride = dims[-1][1] if dims else 1
        size, stride = (self.n_cells, self.S), (cell_stride, strides[-1])
        if isinstance(moved, torch.Tensor):
            return moved.as_strided(size, stride)
        step = moved.itemsize
        return np.lib.stride_tricks.as_strided(
            moved, size, (stride[0] * step, stride[1] * step), writeable=False
        )

    def chunk(self, c0: int, c1: int) -> NDArray[Any]:
        """Cells ``c0:c1`` as a C-ordered ``(C, S)`` numpy array in the input's dtype (a copy)."""
        block: NDArray[Any] | torch.Tensor
        if self.flat is not None:
            block = self.flat[c0:c1]
        else:
            index = np.unravel_index(np.arange(c0, c1), self.cell_shape)
            if isinstance(self.moved, torch.Tensor):
                block = self.moved[tuple(torch.as_tensor(i, device=self.moved.device)
                                         for i in index)]
            else:
                block = self.moved[index]
        if isinstance(block, torch.Tensor):
            if block.dtype in (torch.float16, torch.bfloat16):
                block = block.float()
            block = block.cpu().numpy()
        return np.array(block, order="C")


def _f64(X: NDArray[Any], device: torch.device) -> torch.Tensor:
    return torch.from_numpy(X.astype(np.float64, copy=False)).to(device)


def _sorted_finite(X: NDArray[Any]) -> NDArray[np.float64]:
    """Row-sorted float64 copy of ``X``; raises ``ValueError`` on NaN/inf.

    Sorting in the input's own dtype (often float32, much faster) and converting afterwards is
    exact; NaN and inf end up at the row ends.
    """
    xs = np.sort(X, axis=1).astype(np.float64, copy=False)
    if not (np.isfinite(xs[:, 0]).all() and np.isfinite(xs[:, -1]).all()):
        raise ValueError("samples must be finite, got NaN or inf values")
    return xs


def _map_chunks(fn: Callable[[int, int], NDArray[np.float64]], n_cells: int, step: int,
                n_jobs: int | None, verbose: int, desc: str) -> list[NDArray[np.float64]]:
    """``fn(c0, c1)`` over the chunks, in order, on ``n_jobs`` threads (joblib)."""
    if n_jobs is None:
        n_jobs = 1
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be None, -1 or a positive int, got {n_jobs!r}")
    bounds = [(c0, min(c0 + step, n_cells)) for c0 in range(0, n_cells, step)]
    if not bounds:
        return [np.empty(0)]
    bar = progress(total=len(bounds), desc=desc, unit="chunk",
                   verbose=verbose if len(bounds) > 1 else 0)
    if n_jobs == 1 or len(bounds) == 1:
        out: list[NDArray[np.float64]] = []
        for b in bounds:
            out.append(fn(*b))
            bar.update()
        bar.close()
        return out
    # chunks run side by side, each single-threaded: torch's intra-op pool is set to one
    # thread meanwhile (it would otherwise oversubscribe the cores) and restored afterwards
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = Parallel(n_jobs=n_jobs, require="sharedmem", return_as="generator")(
            delayed(fn)(*b) for b in bounds
        )
        out = []
        for res in gen:
            out.append(res)
            bar.update()
        return out
    finally:
        bar.close()
        torch.set_num_threads(threads)


def _check_option(value: object, allowed: Collection[object], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _chunk_size(chunk_size: int | None, S: int) -> int:
    if chunk_size is None:
        return max(1, (1 << 17) // S)  # ~1 MiB of float64 draws: stays in cache
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    return int(chunk_size)


def _grid_option(cv_grid: ArrayLike | None, bandwidth: str) -> tuple[float, ...]:
    default = PAPER_BANDWIDTH_GRID if bandwidth == "paper_cv" else CV_BANDWIDTH_FACTORS
    grid = np.asarray(default if cv_grid is None else cv_grid, dtype=np.float64).reshape(-1)
    if grid.size == 0 or not np.all(np.isfinite(grid)) or not np.all(grid > 0):
        raise ValueError(f"cv_grid must be non-empty positive finite numbers, got {cv_grid!r}")
    return tuple(grid.tolist())


# ------------------------------------------------------------------------------ bandwidths
def _chunk_bandwidth(X: torch.Tensor, xs: torch.Tensor, bandwidth: str,
                     grid: tuple[float, ...] | None, cv_folds: int) -> torch.Tensor:
    """Bandwidth ``(C,)`` of a chunk: draws ``X`` (original order) and sorted ``xs``."""
    if bandwidth in _RULES:
        h = _kde.rule_bandwidth(xs, bandwidth)
    else:
        assert grid is not None  # _grid_option gives one for the CV bandwidths
        g = torch.tensor(grid, dtype=X.dtype, device=X.device)
        if bandwidth == "cv":
            g = _kde.rule_bandwidth(xs, "silverman")[:, None] * g[None, :]
        h = _kde.cv_bandwidth(X, g, cv_folds)
    # a spread below the float range (all but exactly equal draws) must not give h = 0
    return torch.where(h > 0, h, (xs[:, -1] - xs[:, 0]).clamp_min(np.finfo(np.float64).tiny))


def kde_bandwidth(samples: Samples, bandwidth: BandwidthRule = "silverman", axis: int = 0, *,
                  cv_grid: ArrayLike | None = None, cv_folds: int = 5,
                  chunk_size: int | None = None, n_jobs: int | None = None,
                  device: Device = None, verbose: int = 0) -> NDArray[np.float64]:
    """Gaussian-KDE bandwidth of the draws along ``axis``, for every other cell.

    Parameters
    ----------
    samples : array-like or Tensor
        Draws; ``axis`` indexes them, every other index is an independent cell.
    bandwidth : {"silverman", "scott", "cv", "paper_cv"}
        ``"silverman"``: ``0.9 min(sd, IQR/1.34) S^(-1/5)`` (R's ``bw.nrd0``); ``"scott"``:
        the same with 1.06 (R's ``bw.nrd``); ``"paper_cv"``: the nFBST paper's grid
        ``{0.01, 0.05, 0.1, 1}`` chosen by K-fold held-out log-likelihood, exactly as
        ``GridSearchCV(KernelDensity(), ..., cv=cv_folds)``; ``"cv"``: the same search over
        multiples 1/4 ... 4 of Silverman's bandwidth (scale-aware).
    axis : int
        Axis of the draws.
    cv_grid : sequence of float, optional
        Absolute bandwidths for ``"paper_cv"``, multiples of Silverman's for ``"cv"``.
    cv_folds : int
        Folds of the cross-validation (contiguous, unshuffled, like scikit-learn's ``KFold``).
    chunk_size : int, optional
        Cells processed at a time (bounds memory).
    n_jobs : int, optional
        Threads working on chunks side by side (joblib, shared memory). None means 1 (as in
        scikit-learn): one chunk at a time, each using torch's intra-op threads. With more,
        torch's intra-op pool is set to 1 thread while they run.
    device : str or torch.device, optional
        Where to compute (default: CPU).
    verbose : int, default 0
        1 shows a progress bar over the chunks on a terminal, 2 also in logs
        (``probconstraints._progress``).

    Returns
    -------
    ndarray of float64 with the shape of ``samples`` without ``axis``. Cells whose draws are
    all equal get the (meaningless) value 0 for the rules.

    Examples
    --------
    >>> import numpy as np
    >>> from nfbst.evidence import kde_bandwidth
    >>> draws = np.random.default_rng(0).normal(size=(300, 2)) * [1.0, 10.0]
    >>> h = kde_bandwidth(draws, axis=0)
    >>> bool(9 < h[1] / h[0] < 11)
    True
    """
    samples = _as_samples(samples)
    axis = _check_axis(axis, samples.ndim)
    _check_option(bandwidth, _RULES + _CV, "bandwidth")
    cells = _Cells(samples, axis)
    _check_draws(cells.S, bandwidth, cv_folds)
    grid = _grid_option(cv_grid, bandwidth) if bandwidth in _CV else None
    dev = check_device(device)

    def run(c0: int, c1: int) -> NDArray[np.float64]:
        X = cells.chunk(c0, c1)
        xs = torch.from_numpy(_sorted_finite(X)).to(dev)
        h = _chunk_bandwidth(_f64(X, dev), xs, bandwidth, grid, cv_folds)
        return torch.where(xs[:, 0] == xs[:, -1], 0.0, h).cpu().numpy()

    parts = _map_chunks(run, cells.n_cells, _chunk_size(chunk_size, cells.S), n_jobs, verbose,
                        "bandwidth")
    return np.concatenate(parts).reshape(cells.cell_shape)


def _check_draws(S: int, bandwidth: str | None, cv_folds: int) -> None:
    if S < 2:
        raise ValueError(f"samples need at least 2 draws along axis, got {S}")
    if bandwidth in _CV:
        if not isinstance(cv_folds, (int, np.integer)) or not 2 <= cv_folds <= S:
            raise ValueError(f"cv_folds must be an int in [2, {S}] (draws), got {cv_folds!r}")


# ------------------------------------------------------------------------------ evidence
@overload
def evidence_value(
    samples: da.Array, null: Samples | da.Array = 0.0, axis: int = 0, *,
    bandwidth: BandwidthRule | Samples | da.Array = "silverman",
    method: Literal["kde", "gaussian"] = "kde", cv_grid: ArrayLike | None = None,
    cv_folds: int = 5, algorithm: Literal["auto", "binned", "direct"] = "auto",
    chunk_size: int | None = None, n_jobs: int | None = None, device: Device = None,
    verbose: int = 0,
) -> da.Array: ...


@overload
def evidence_value(
    samples: Samples, null: Samples | da.Array = 0.0, axis: int = 0, *,
    bandwidth: BandwidthRule | Samples | da.Array = "silverman",
    method: Literal["kde", "gaussian"] = "kde", cv_grid: ArrayLike | None = None,
    cv_folds: int = 5, algorithm: Literal["auto", "binned", "direct"] = "auto",
    chunk_size: int | None = None, n_jobs: int | None = None, device: Device = None,
    verbose: int = 0,
) -> NDArray[np.float64]: ...


def evidence_value(
    samples: Samples | da.Array, null: Samples | da.Array = 0.0, axis: int = 0, *,
    bandwidth: BandwidthRule | Samples | da.Array = "silverman",
    method: Literal["kde", "gaussian"] = "kde", cv_grid: ArrayLike | None = None,
    cv_folds: int = 5, algorithm: Literal["auto", "binned", "direct"] = "auto",
    chunk_size: int | None = None, n_jobs: int | None = None, device: Device = None,
    verbose: int = 0,
) -> NDArray[np.float64] | da.Array:
    """FBST evidence value ``Ev(H0: eta = null)`` of the draws along ``axis``, per cell.

    ``Ev = 1 - (1/m) sum_i 1[p_hat(eta_i) > p_hat(null)]`` (nFBST paper Eq. 10) with
    ``p_hat`` a Gaussian KDE of the m draws of each cell, evaluated at those same draws; ties
    count as outside the tangential set. All cells are processed together in chunks, with
    no Python loop over cells. Not a Bayes factor; unrelated to Vovk/Shafer e-values.

    Parameters
    ----------
    samples : array-like or Tensor of shape (..., m, ...)
        Posterior draws of the statistic; ``axis`` indexes the m draws and every other index
        is an independent cell (e.g. ``(S, n, d)`` with ``axis=0`` gives ``(n, d)``).
    null : float or array-like
        Null value, broadcastable to the output shape.
    axis : int
        Axis of the draws (removed from the output).
    bandwidth : {"silverman", "scott", "cv", "paper_cv"}, float or array-like
        KDE bandwidth; see :func:`kde_bandwidth`. A number or an array broadcastable to the
        output shape is used as given (units of ``samples``). The default is scale-aware;
        ``"paper_cv"`` reproduces the nFBST code (absolute grid, so not scale-invariant).
    method : {"kde", "gaussian"}
        ``"gaussian"`` returns :func:`gaussian_evidence` (normal approximation).
    cv_grid, cv_folds
        Grid and folds of the ``"cv"`` / ``"paper_cv"`` bandwidth search.
    algorithm : {"auto", "binned", "direct"}
        ``"direct"`` forms all m x m kernel values; ``"binned"`` uses an FFT on a grid of step
        ``0.1 h min(1, sqrt(300 / m))`` with a rigorous error bound (see ``nfbst._kde``),
        recomputing exactly every draw whose
        comparison the bound leaves open, so both give identical counts. Cells whose grid
        would exceed 2^15 nodes (extreme outliers) are counted directly either way; ``"auto"``
        also picks ``"direct"`` for fewer than 48 draws.
    chunk_size : int, optional
        Cells per chunk (bounds memory; default about 2^17 / m, which stays in cache).
    n_jobs : int, optional
        Threads working on chunks side by side (joblib, shared memory). None means 1 (as in
        scikit-learn): one chunk at a time, each using torch's intra-op threads. With more,
        torch's intra-op pool is set to 1 thread while they run.
    device : str or torch.device, optional
        Torch device for the computation (default: CPU; sorting always runs on the CPU).
    verbose : int, default 0
        1 shows a progress bar over the chunks on a terminal, 2 also in logs
        (``probconstraints._progress``).

    Returns
    -------
    ndarray of float64 with the shape of ``samples`` without ``axis``, values in [0, 1]
    (multiples of 1/m). Cells whose draws are all equal get 1.0 if they equal ``null``,
    else 0.0. For a ``dask.array`` input: a lazy ``dask.array`` of float64 chunked as the
    input's cell axes (call ``.compute()``, or ``.to_zarr(...)`` for a grid that does not
    fit in memory); each task computes one block of cells with all its draws, so memory is
    bounded by a few input blocks, and the values equal the numpy result.

    Raises
    ------
    ValueError
        Non-finite samples, null or bandwidth; fewer than 2 draws; bad option values; a
        dask array whose draws axis is split into several chunks.
    TypeError
        Non-numeric samples.

    Examples
    --------
    >>> import numpy as np
    >>> from nfbst.evidence import evidence_value
    >>> rng = np.random.default_rng(0)
    >>> draws = rng.normal(loc=[0.0, 3.0], size=(2000, 2))   # (m, cells)
    >>> ev = evidence_value(draws, null=0.0, axis=0)
    >>> bool(ev[0] > 0.5), bool(ev[1] < 0.01)
    (True, True)

    A grid larger than memory as a ``dask.array`` chunked over rows (all draws in a chunk):

    >>> import dask.array as da
    >>> eta = da.from_array(rng.normal(size=(300, 1000, 4)), chunks=(300, 250, 4))
    >>> ev = evidence_value(eta, axis=0)            # lazy, chunks (250, 4)
    >>> ev.chunks
    ((250, 250, 250, 250), (4,))
    >>> bool(np.array_equal(ev.compute(), evidence_value(eta.compute(), axis=0)))
    True
    """
    _check_option(method, ("kde", "gaussian"), "method")
    if is_dask_array(samples):
        return _dask_evidence(samples, null, axis, dict(
            bandwidth=bandwidth, method=method, cv_grid=cv_grid, cv_folds=cv_folds,
            algorithm=algorithm, chunk_size=chunk_size, device=device))
    if method == "gaussian":
        return gaussian_evidence(samples, null=null, axis=axis)
    _check_option(algorithm, _ALGORITHMS, "algorithm")
    samples = _as_samples(samples)
    axis = _check_axis(axis, samples.ndim)
    cells = _Cells(samples, axis)
    rule = bandwidth if isinstance(bandwidth, str) else None  # None: a fixed bandwidth
    if rule is not None:
        _check_option(rule, _RULES + _CV, "bandwidth")
    _check_draws(cells.S, rule, cv_folds)
    nulls = _per_cell(null, cells.cell_shape, "null")
    h_all = (_per_cell(bandwidth, cells.cell_shape, "bandwidth", positive=True)
             if rule is None else None)
    grid = _grid_option(cv_grid, rule) if rule is not None and rule in _CV else None
    dev = check_device(device)
    S = cells.S

    def run(c0: int, c1: int) -> NDArray[np.float64]:
        X = cells.chunk(c0, c1)
        xs = torch.from_numpy(_sorted_finite(X)).to(dev)
        nu = torch.from_numpy(nulls[c0:c1].copy()).to(dev)
        if h_all is None:
            assert rule is not None  # h_all is None exactly when the bandwidth is a rule
            h = _chunk_bandwidth(_f64(X, dev), xs, rule, grid, cv_folds)
        else:
            h = torch.from_numpy(h_all[c0:c1].copy()).to(dev)
        flat = xs[:, 0] == xs[:, -1]
        ev = torch.where(xs[:, 0] == nu, 1.0, 0.0).to(xs.dtype)  # exact for constant cells
        live = (~flat).nonzero(as_tuple=True)[0]
        if len(live) == len(flat):
            ev = (S - _count_inside(xs, nu, h, algorithm)).to(xs.dtype) / S
        elif len(live):
            inside = _count_inside(xs[live], nu[live], h[live], algorithm)
            ev[live] = (S - inside).to(xs.dtype) / S
        return ev.cpu().numpy()

    parts = _map_chunks(run, cells.n_cells, _chunk_size(chunk_size, S), n_jobs, verbose,
                        "evidence")
    return np.concatenate(parts).reshape(cells.cell_shape)


def is_dask_array(x: object) -> TypeGuard[da.Array]:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(x).__module__.split(".")[0] == "dask" and hasattr(x, "chunks") \
        and hasattr(x, "map_blocks")


def _dask_evidence(samples: da.Array, null: Samples | da.Array, axis: int,
                   options: dict[str, Any]) -> da.Array:
    """:func:`evidence_value` of a dask array, block by block (lazy dask array out)."""
    import dask.array as da

    if samples.dtype.kind not in "fiu":
        raise TypeError(f"samples must hold real numbers, got dtype {samples.dtype}")
    axis = _check_axis(axis, samples.ndim)
    if len(samples.chunks[axis]) != 1:
        raise ValueError(
            f"samples: the draws axis (axis={axis}, {samples.shape[axis]} draws) is split into "
            f"{len(samples.chunks[axis])} chunks; every cell needs all its draws in one chunk. "
            f"Chunk the other axes (rows) instead: samples.rechunk({{{axis}: -1}})"
        )
    _check_draws(samples.shape[axis], options["bandwidth"]
                 if isinstance(options["bandwidth"], str) else None, options["cv_folds"])
    _check_option(options["algorithm"], _ALGORITHMS, "algorithm")
    check_device(options["device"])
    if isinstance(options["bandwidth"], str):
        _check_option(options["bandwidth"], _RULES + _CV, "bandwidth")
    cell_shape = tuple(n for i, n in enumerate(samples.shape) if i != axis)
    cell_chunks = tuple(c for i, c in enumerate(samples.chunks) if i != axis)
    out_ind = tuple(range(len(cell_shape)))
    in_ind = tuple(out_ind[:axis]) + (len(cell_shape),) + tuple(out_ind[axis:])
    args, names = [samples, in_ind], []
    for name in ("null", "bandwidth"):
        value = null if name == "null" else options["bandwidth"]
        if name == "bandwidth" and isinstance(value, str):
            continue
        if is_dask_array(value):
            value = da.broadcast_to(value, cell_shape).rechunk(cell_chunks)
        else:  # validated here (finite, broadcastable) before any work
            full = _per_cell(value, cell_shape, name, positive=name == "bandwidth")
            if np.ndim(value) == 0:
                options = {**options, name: float(full[0])} if name == "bandwidth" else options
                null = float(full[0]) if name == "null" else null
                continue
            value = da.from_array(full.reshape(cell_shape), chunks=cell_chunks)
        args += [value, out_ind]
        names.append(name)
    kwargs = {k: v for k, v in options.items() if k not in names}
    if "null" not in names:
        kwargs["null"] = null
    return da.blockwise(_evidence_block, out_ind, *args, names=tuple(names), axis=axis,
                        concatenate=True, dtype=np.float64, meta=np.empty((0,) * len(out_ind)),
                        **kwargs)


def _evidence_block(block: ArrayLike, *arrays: NDArray[Any], names: tuple[str, ...], axis: int,
                    **kwargs: Any) -> NDArray[np.float64]:
    """One block of a dask evidence grid (one thread: dask runs the blocks side by side)."""
    kwargs.update(zip(names, arrays))
    return evidence_value(np.asarray(block), axis=axis, n_jobs=1, verbose=0, **kwargs)


def _count_inside(xs: torch.Tensor, null: torch.Tensor, h: torch.Tensor,
                  algorithm: str) -> torch.Tensor:
    """Draws inside the tangential set per cell ``(C,)``; ``xs`` sorted, non-constant rows."""
    C, S = xs.shape
    if algorithm == "direct" or (algorithm == "auto" and S <= _DIRECT_MAX_S):
        return _kde.inside_direct(xs, null, h)
    r = _kde.grid_step(S)
    need = _kde.grid_length(xs[:, -1] - xs[:, 0], h, r).cpu()
    # one FFT length for the bulk of the chunk, powers of two for rare wide cells (heavy
    # tails); grids beyond _MAX_GRID are cheaper to count directly (L = 0 below)
    typical = float(need.median())
    L_cell = torch.where(need <= 4 * typical, _kde.fft_size(int(need[need <= 4 * typical].max())),
                         2 ** torch.ceil(torch.log2(need)))
    L_cell = torch.where(L_cell > _kde._MAX_GRID, 0, L_cell)
    counts = torch.empty(C, dtype=torch.long, device=xs.device)
    for L in L_cell.unique().tolist():
        members = (L_cell == L).nonzero(as_tuple=True)[0].to(xs.device)
        rows: torch.Tensor | slice = slice(None) if len(members) == C else members
        if L == 0:
            counts[rows] = _kde.inside_direct(xs[rows], null[rows], h[rows])
        else:
            counts[rows] = _kde.inside_binned(xs[rows], null[rows], h[rows], int(L), r)[0]
    return counts


# ------------------------------------------------------------------------------ closed forms
def gaussian_evidence(samples: Samples, null: Samples = 0.0,
                      axis: int = 0) -> NDArray[np.float64]:
    """Normal-approximation evidence ``2 (1 - Phi(|mean - null| / sd))`` of the draws.

    For a Gaussian posterior ``N(mu, sigma^2)`` and a flat reference the FBST evidence value
    is exactly the two-sided Wald p-value; here ``mu`` and ``sigma`` are the draws' mean and
    standard deviation (``ddof=1``). Not a Bayes factor; unrelated to Vovk/Shafer e-values.

    Parameters
    ----------
    samples : array-like or Tensor
        Draws along ``axis``; every other index is a cell.
    null : float or array-like
        Null value, broadcastable to the output shape.
    axis : int
        Axis of the draws.

    Returns
    -------
    ndarray of float64, ``samples``' shape without ``axis``; constant cells get 1.0 if equal
    to ``null`` else 0.0.

    Examples
    --------
    >>> import numpy as np
    >>> from nfbst.evidence import gaussian_evidence
    >>> draws = np.array([[-1.0, 1.0], [1.0, 3.0]])   # cells: mean 0 and mean 2, sd 1.414
    >>> np.round(gaussian_evidence(draws, axis=0), 4)
    array([1.    , 0.1573])
    """
    samples = _as_samples(samples)
    axis = _check_axis(axis, samples.ndim)
    x = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else samples
    x = np.asarray(x, dtype=np.float64)
    if x.shape[axis] < 2:
        raise ValueError(f"samples need at least 2 draws along axis, got {x.shape[axis]}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite, got NaN or inf values")
    mu = x.mean(axis=axis)
    sd = x.std(axis=axis, ddof=1)
    nu = _per_cell(null, mu.shape, "null").reshape(mu.shape)
    dist = np.abs(mu - nu)
    const = np.ptp(x, axis=axis) == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ev = special.erfc(dist / (sd * math.sqrt(2.0)))
    exact = np.where(np.min(x, axis=axis) == nu, 1.0, 0.0)
    return np.where(const, exact, ev)


def standardized_evidence(ev: ArrayLike, dim_theta: int = 1,
                          dim_null: int = 0) -> NDArray[np.float64]:
    """Standardised evidence value ``sev = 1 - F_{t-h}(F_t^{-1}(1 - ev))`` (Borges & Stern 2007).

    ``F_k`` is the chi-square CDF with k degrees of freedom, ``t = dim_theta`` the dimension
    of the parameter space and ``h = dim_null`` that of the null set, as in R's ``fbst``
    (``1 - pchisq(qchisq(barEv, t), t - h)`` with ``barEv = 1 - ev``). For nFBST's scalar
    statistic (``t = 1``, ``h = 0``) it reduces to ``sev = ev`` exactly: the standardisation
    changes nothing there and matters only for multi-dimensional parameters.

    Parameters
    ----------
    ev : float or array-like
        Evidence values in [0, 1].
    dim_theta : int
        Dimension ``t >= 1`` of the parameter space.
    dim_null : int
        Dimension ``0 <= h < t`` of the null set.

    Returns
    -------
    ndarray of float64 (0-d for scalar input), values in [0, 1].

    Examples
    --------
    >>> from nfbst.evidence import standardized_evidence
    >>> float(standardized_evidence(0.3))
    0.3
    >>> round(float(standardized_evidence(0.3, dim_theta=2, dim_null=1)), 4)
    0.1207
    """
    arr = np.asarray(ev)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"ev must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError("ev must be finite values in [0, 1]")
    for name, val in (("dim_theta", dim_theta), ("dim_null", dim_null)):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool):
            raise TypeError(f"{name} must be an int, got {type(val).__name__}")
    if dim_theta < 1 or not 0 <= dim_null < dim_theta:
        raise ValueError(
            f"need dim_theta >= 1 and 0 <= dim_null < dim_theta, got {dim_theta}, {dim_null}"
        )
    if dim_theta == 1 and dim_null == 0:
        return arr.copy()
    q = stats.chi2.ppf(1.0 - arr, df=dim_theta)
    return stats.chi2.sf(q, df=dim_theta - dim_null)


def evidence_mc_sd(samples: ArrayLike, null: float = 0.0, axis: int = 0, *,
                   n_boot: int = 100, bandwidth: str | float = "silverman",
                   random_state: RandomStateLike = None, device: Device = None
                   ) -> NDArray[np.float64]:
    """Monte Carlo sd of :func:`evidence_value` from the finite number of draws, per cell.

    The S draws along ``axis`` are resampled with replacement ``n_boot`` times and the
    evidence recomputed; the result is the sd over the resamples. Over repeated sets of
    Gaussian draws it tracks the evidence's actual sd (S = 30 draws one sd from 0: 0.17 vs
    0.18; S = 100: 0.11 vs 0.09), but from very few draws whose evidence is near 0 it is too
    small (S = 8: 0.08 where the evidence's sd is 0.26): use :func:`evidence_upper_bound`
    for what S draws can support.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).normal(1.0, 1.0, size=(100, 2))
    >>> evidence_mc_sd(draws, random_state=0).round(2).shape
    (2,)
    """
    from probconstraints._random import seed_sequence

    x = np.moveaxis(np.asarray(samples, dtype=np.float64), axis, 0)
    S = x.shape[0]
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be an int >= 2, got {n_boot!r}")
    rng = np.random.default_rng(seed_sequence(random_state))
    idx = rng.integers(0, S, size=(int(n_boot), S))
    boot = np.moveaxis(x[idx], 0, 1)  # (S, B, ...)
    ev = evidence_value(boot, null=null, axis=0, bandwidth=bandwidth, device=device)
    return np.asarray(ev.std(0, ddof=1), dtype=np.float64)


def evidence_upper_bound(evidence: ArrayLike, n_draws: int, level: float = 0.95
                         ) -> NDArray[np.float64]:
    """The largest evidence value S draws cannot tell apart from the one reported.

    The evidence is the share of the S draws outside the tangential set (k / S); its
    one-sided Clopper–Pearson upper bound at ``level`` is returned: with 8 draws an
    evidence of 0.000 (0 of 8) is compatible with values up to 0.31, so it cannot support a
    decision at α = 0.05; 0 of S is below 0.05 only from S ≥ 59 draws.

    Examples
    --------
    >>> evidence_upper_bound([0.0, 0.0], 8).round(3).tolist()
    [0.312, 0.312]
    >>> float(evidence_upper_bound(0.0, 100).round(3))
    0.03
    """
    ev = np.asarray(evidence, dtype=np.float64)
    S = int(n_draws)
    k = np.clip(np.rint(np.nan_to_num(ev) * S), 0, S)
    upper = np.where(k >= S, 1.0, stats.beta.ppf(level, k + 1, np.maximum(S - k, 1)))
    return np.where(np.isnan(ev), np.nan, upper)
