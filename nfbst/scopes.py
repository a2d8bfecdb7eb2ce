"""From instance-wise statistics to local (region) and global evidence.

Two rules (nFBST paper §1.7 and Eqs. 14–15, shared/papers/nfbst.md):

* ``"quantile"`` — Q-GS: the evidence of a region is the (1 − λ)-quantile of the
  instance-wise evidence of its rows, so that a fraction λ of the rows have larger evidence
  (λ = 0.5: the median; the feature is insignificant when more than half of the instances
  say so).
* ``"aggregate"`` — the statistic is first aggregated per draw, η_region(θ) = mean over
  the region's rows of η(θ, x)², the Horel–Giesecke mean squared partial derivative, and the
  FBST evidence of η_region = 0 is computed from its S draws. η_region ≥ 0, so the null sits
  on the boundary of its support; the evidence is then driven by how much posterior mass
  piles up near zero.
* ``"mean"`` — η_region(θ) = mean over the region's rows of η(θ, x) (for the gradient, the
  average partial effect), and the FBST evidence of η_region = 0 from its S draws.

Q-GS and the aggregated rule are descriptive summaries (the paper's reproduction); for a
test with a controlled type-I error use ``NFBST(calibration="crt")`` (:mod:`nfbst.crt`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    import dask.array as da

# a dict {name: mask} is any dict (its value type cannot be ArrayLike: dict is invariant)
_Masks: TypeAlias = "ArrayLike | dict[Any, Any]"
#: Regions as :func:`region_masks` accepts them: masks, a dict of masks, or a callable on X.
Regions: TypeAlias = "_Masks | Callable[[Any], _Masks]"


def region_masks(X: NDArray[Any] | da.Array,
                 regions: Regions) -> tuple[NDArray[np.bool_], list[str]]:
    """Boolean masks ``(r, n)`` and names from masks, a dict of masks, or a callable on X.

    ``regions`` may be a boolean array ``(n,)`` or ``(r, n)``, a sequence of boolean arrays,
    a dict ``{name: mask}``, or a callable ``f(X)`` returning any of these or integer region
    labels ``(n,)`` (one region per distinct label).
    """
    n = X.shape[0]
    names: list[str] | None = None
    masks = regions(X) if callable(regions) else regions
    if isinstance(masks, dict):
        names = [str(k) for k in masks]
        masks = list(masks.values())
    arr = np.asarray(masks)
    if arr.ndim == 1 and arr.dtype.kind in "iu" and arr.shape[0] == n:
        labels = np.unique(arr)
        names = [str(v) for v in labels]
        arr = arr[None, :] == labels[:, None]
    if arr.dtype != bool:
        raise TypeError(f"regions must be boolean masks (or integer labels), got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(f"regions must have shape (r, n={n}), got {arr.shape}")
    empty = np.flatnonzero(arr.sum(1) == 0)
    if empty.size:
        raise ValueError(f"region(s) {empty.tolist()} contain no rows of X")
    names = names or [f"region{i}" for i in range(arr.shape[0])]
    return arr, names


def quantile_rule(instance_evidence: NDArray[np.float64], masks: NDArray[np.bool_],
                  quantile_lambda: float) -> NDArray[np.float64]:
    """Q-GS: per region, the (1 − λ)-quantile of instance-wise evidence: ``(r, d)``."""
    if not 0 <= quantile_lambda <= 1:
        raise ValueError(f"quantile_lambda must be in [0, 1], got {quantile_lambda!r}")
    return np.stack(
        [np.quantile(instance_evidence[m], 1 - quantile_lambda, axis=0) for m in masks]
    )


def aggregate_statistic(eta: ArrayLike, masks: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Per draw, the mean squared statistic over each region's rows: ``(S, r, d)``."""
    sq = np.square(eta, dtype=np.float64)  # (S, n, d)
    return np.stack([sq[:, m].mean(1) for m in masks], axis=1)


def mean_statistic(eta: ArrayLike, masks: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Per draw, the mean statistic over each region's rows: ``(S, r, d)``.

    For the gradient this is the average partial effect mean_i ∂f/∂x_j of each draw; its
    FBST evidence (``rule="mean"``) is a scalar-functional test with no boundary problem,
    but the average derivative of a non-monotone effect or a pure interaction is 0.
    """
    eta = np.asarray(eta, dtype=np.float64)
    return np.stack([eta[:, m].mean(1) for m in masks], axis=1)
