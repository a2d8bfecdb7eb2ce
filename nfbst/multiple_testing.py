"""Benjamini-Hochberg false-discovery-rate control over p-values or evidence values.

The FBST evidence value of a scalar statistic behaves like a p-value (for a Gaussian posterior
it *is* the two-sided Wald p-value, asymptotically uniform under H0; see
:mod:`nfbst.evidence`), so the step-up procedure of Benjamini & Hochberg (1995) applies to it
as a heuristic for testing many features at once. The paper itself reports no multiplicity
control.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray


class BHResult(NamedTuple):
    """Benjamini-Hochberg output: adjusted values (q-values) and rejections."""

    adjusted: NDArray[np.float64]
    rejected: NDArray[np.bool_]


def benjamini_hochberg(pvalues: ArrayLike, alpha: float = 0.05, axis: int = -1) -> BHResult:
    """Benjamini-Hochberg step-up procedure along ``axis``, vectorised over the other axes.

    The adjusted value of the i-th smallest of m values is ``min_{k >= i} p_(k) m / k``
    (capped at 1); a hypothesis is rejected when its adjusted value is ``<= alpha``, which is
    the step-up rule "reject the k smallest, k the largest index with ``p_(k) <= k alpha / m``".

    Parameters
    ----------
    pvalues : array-like
        p-values or FBST evidence values in [0, 1]; one family of m tests along ``axis``.
    alpha : float
        Target false discovery rate, in (0, 1).
    axis : int
        Axis holding the family of tests; every other index is an independent family.

    Returns
    -------
    BHResult
        ``adjusted`` (float64, same shape; equals ``scipy.stats.false_discovery_control``)
        and ``rejected`` (bool, same shape).

    Raises
    ------
    ValueError
        Values outside [0, 1] or not finite, an empty family, ``alpha`` outside (0, 1).
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> from nfbst.multiple_testing import benjamini_hochberg
    >>> res = benjamini_hochberg([0.01, 0.04, 0.03, 0.2], alpha=0.05)
    >>> res.adjusted.round(3).tolist()
    [0.04, 0.053, 0.053, 0.2]
    >>> res.rejected.tolist()
    [True, False, False, False]
    """
    p = np.asarray(pvalues)
    if p.dtype.kind not in "fiu":
        raise TypeError(f"pvalues must be real numbers, got dtype {p.dtype}")
    p = p.astype(np.float64)
    if p.ndim == 0:
        p = p.reshape(1)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -p.ndim <= axis < p.ndim:
        raise ValueError(f"axis must be in [-{p.ndim}, {p.ndim - 1}], got {axis}")
    if p.shape[axis] == 0:
        raise ValueError("pvalues must hold at least one value along axis, got none")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("pvalues must be finite values in [0, 1]")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)):
        raise TypeError(f"alpha must be a float, got {type(alpha).__name__}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    p = np.moveaxis(p, axis, -1)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * (m / np.arange(1, m + 1))
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    adjusted = np.empty_like(ranked)
    np.put_along_axis(adjusted, order, np.minimum(ranked, 1.0), axis=-1)
    adjusted = np.moveaxis(adjusted, -1, axis)
    return BHResult(adjusted, adjusted <= alpha)
