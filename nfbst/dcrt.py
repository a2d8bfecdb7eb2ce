"""Distilled conditional randomization test (dCRT) of "feature j does not matter", every row.

Liu, Katsevich, Janson & Ramdas (2022, JRSS-B, "Fast and powerful conditional randomization
testing via distillation"): the expensive model of y is fitted *without* x_j (the
distillation), so the statistic may use every row, including those the models were fitted
on, and the test stays exact. For feature (or group) j:

1. ``g_j(x_{-j})`` — a network fitted on every row with x_j removed (``NFBST`` fits one per
   feature, the same kind of network as the main one); its residuals ``r = y − g_j``
   (classification: one-hot y minus the predicted class probabilities) carry what x_{-j}
   does not explain.
2. ``e = x_j − E[x_j | x_{-j}]``, the mean estimated from independent draws of the
   conditional model (any sampler: Gaussian, typed, a user's).
3. The statistic is how much of r a small basis of e explains, ``T = ‖P_B r‖²`` (the
   regression sum of squares of r on B), for three nested bases: ``"linear"`` (e: monotone
   effects, the score statistic of the dCRT paper), ``"quadratic"`` (e, e² − mean: also
   non-monotone effects) and ``"interactions"`` (e, e², e·z_k for the other columns z_k:
   also interactions, the dI-CRT idea). The three are combined by their smallest
   randomization p-value (min-p), itself calibrated on the same K copies, so the test is
   exact whichever basis wins.
4. x_j is redrawn K times from the conditional model, T recomputed on each copy (r and
   E[x_j | x_{-j}] do not change), and p = (1 + #{copies at least as extreme}) / (K + 1).

The test is exact (P(p ≤ α) ≤ α under H0: y ⊥ x_j | x_{-j}) when the conditional model is
right, whatever ``g_j`` is: a poor distillation costs power, never validity. Unlike the
held-out CRT (:mod:`nfbst.crt`), no row is set aside. Its cost is one extra network per
feature. ``experiments/nfbst_calibration`` measures type-I error and power against the
held-out CRT and the oracle F-test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from probconstraints._random import RandomStateLike

BASES = ("linear", "quadratic", "interactions")

#: Draws of a group's columns given the others: ``f(X, g, n_draws, rng) -> (K, n, |G|)``.
GroupSampler = Callable[[NDArray[np.float64], int, int, np.random.Generator],
                        NDArray[np.float64]]


def regression_sums(B: NDArray[np.float64], R: NDArray[np.float64]) -> NDArray[np.float64]:
    """``‖P_B R‖²`` per leading index: the regression sum of squares of ``R`` (n, c) on the
    columns of each ``B`` (..., n, m), summed over R's columns.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> B, R = rng.normal(size=(2, 50, 3)), rng.normal(size=(50, 1))
    >>> ols = [float(((b @ np.linalg.lstsq(b, R, rcond=None)[0]) ** 2).sum()) for b in B]
    >>> np.allclose(regression_sums(B, R), ols)
    True
    """
    BtB = np.einsum("...ni,...nj->...ij", B, B)
    BtR = np.einsum("...ni,nc->...ic", B, R)
    coef = np.linalg.pinv(BtB, hermitian=True) @ BtR  # collinear columns (one-hot) allowed
    return np.einsum("...ic,...ic->...", BtR, coef)


def _bases(e: NDArray[np.float64], Z: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """The three nested bases of the centred group ``e`` (K+1, n, |G|) with the others Z."""
    sq = e**2
    sq = sq - sq.mean(-2, keepdims=True)
    inter = (e[..., :, None] * Z[None, :, None, :]).reshape(*e.shape[:2], -1)
    return {"linear": e, "quadratic": np.concatenate([e, sq], -1),
            "interactions": np.concatenate([e, sq, inter], -1)}


def min_p_pvalue(T: NDArray[np.float64], rtol: float = 1e-9) -> float:
    """Randomization p-value of the observed row 0 of ``T`` (K+1, s) under the min-p
    combination of s statistics (large = evidence against H0), exact under exchangeability.

    Each statistic's rank p-value ``u_s(i) = #{k : T_s(k) ≥ T_s(i)} / (K + 1)`` is computed
    for the observed and every copy, ``q(i) = min_s u_s(i)``, and
    ``p = #{k : q(k) ≤ q(0)} / (K + 1)``, rows tied on q ordered by their mean u. With one
    statistic this is the usual CRT p-value.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([[5.0, 0.1], [1.0, 0.2], [2.0, 0.3], [3.0, 0.4]])
    >>> min_p_pvalue(T)     # statistic 0 is the largest at the observed row: q(0) = 1/4
    0.5
    >>> min_p_pvalue(T[:, :1])
    0.25
    """
    tol = rtol * np.maximum(np.abs(T), 1e-300)
    u = (T[None, :, :] >= (T - tol)[:, None, :]).mean(1)  # (K+1, s): rank p-value of each row
    # rows tied on the smallest u (frequent: each statistic has its own top row) are ordered
    # by their mean u, a symmetric function too, so the test stays exact with fewer ties
    q = u.min(1) + u.mean(1) / (2 * (T.shape[1] + 1) * len(T))
    return float((q <= q[0] * (1 + 1e-12)).mean())


def distilled_pvalues(
    X: ArrayLike, residuals: ArrayLike, sampler: GroupSampler, columns: list[NDArray[np.intp]],
    *, masks: ArrayLike | None = None, n_randomizations: int = 100, n_mean_draws: int = 50,
    bases: tuple[str, ...] = BASES, max_interactions: int = 20,
    random_state: RandomStateLike = None, verbose: int = 0,
) -> NDArray[np.float64]:
    """dCRT p-values ``(r, G)`` of each group of ``columns`` (see the module docstring).

    Parameters
    ----------
    X : ndarray (n, d)
        Every row (also those the distillations were fitted on).
    residuals : ndarray (n, G) or (n, G, c)
        Residual of y for each group's distillation (``y − g_j(x_{-j})``; for
        classification c columns, one-hot y minus the class probabilities).
    sampler : callable ``(X, g, K, rng) -> (K, n, |G|)``
        Draws of group g's columns (``columns[g]``) given the other columns.
    columns : list of int arrays
        Each group's columns (empty: not testable, p-value NaN).
    masks : bool ndarray (r, n), optional
        Regions (default one region of every row): the statistic uses the region's rows.
    n_randomizations : int
        K copies; the p-value resolution is 1 / (K + 1).
    n_mean_draws : int
        Independent draws that estimate E[x_j | x_{-j}] (any number keeps the test exact).
    bases : tuple of {"linear", "quadratic", "interactions"}
        The statistics combined by min-p.
    max_interactions : int
        At most this many other columns in the interaction basis: those that explain most
        of the residual (chosen from r and x_{-j} only, so the test stays exact).
    random_state : None, int, RandomState or Generator
        Group g draws from the g-th stream, whatever the others.
    verbose : int

    Examples
    --------
    >>> import numpy as np
    >>> from nfbst.crt import GroupConditional
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); y = 0.4 * X[:, 0] + rng.normal(size=300)
    >>> groups = [np.array([j]) for j in range(3)]
    >>> cond = GroupConditional(X, groups)
    >>> r = np.stack([y - y.mean()] * 3, 1)         # a distillation that learnt nothing
    >>> p = distilled_pvalues(X, r, cond, groups, n_randomizations=99, random_state=0)
    >>> bool(p[0, 0] <= 0.01), bool(p[0, 1:].min() > 0.05)
    (True, True)
    """
    from probconstraints._progress import progress
    from probconstraints._random import seed_sequence

    from ._validation import check_int

    X = np.asarray(X, dtype=np.float64)
    R = np.asarray(residuals, dtype=np.float64)
    n, d = X.shape
    R = R[..., None] if R.ndim == 2 else R
    if R.shape[:2] != (n, len(columns)):
        raise ValueError(f"residuals must have shape (n, G) or (n, G, c) = ({n}, "
                         f"{len(columns)}, ...); got {R.shape}")
    masks_ = np.ones((1, n), dtype=bool) if masks is None else np.asarray(masks, dtype=bool)
    if masks_.ndim != 2 or masks_.shape[1] != n or (masks_.sum(1) < 3).any():
        raise ValueError(f"masks must have shape (r, {n}) with at least 3 rows per region; "
                         f"got shape {masks_.shape}")
    K = check_int(n_randomizations, "n_randomizations", 1)
    M = check_int(n_mean_draws, "n_mean_draws", 1)
    if not bases or any(b not in BASES for b in bases):
        raise ValueError(f"bases must be a non-empty subset of {BASES}; got {bases!r}")
    seeds = seed_sequence(random_state).spawn(len(columns))
    sd = X.std(0)
    p = np.full((masks_.shape[0], len(columns)), np.nan)
    for g in progress(range(len(columns)), verbose, desc="dCRT"):
        cols = columns[g]
        if cols.size == 0:
            continue
        rng = np.random.default_rng(seeds[g])
        mean = np.asarray(sampler(X, g, M, rng), dtype=np.float64).mean(0)  # (n, |G|)
        draws = np.asarray(sampler(X, g, K, rng), dtype=np.float64)         # (K, n, |G|)
        if draws.shape != (K, n, cols.size) or not np.all(np.isfinite(draws)):
            raise ValueError(f"the conditional sampler of group {g} returned shape "
                             f"{draws.shape} or non-finite values; expected {(K, n, cols.size)}")
        e = np.concatenate([X[None, :, cols], draws]) - mean[None]             # (K+1, n, |G|)
        others = np.setdiff1d(np.flatnonzero(sd > 0), cols)
        for r_i, m in enumerate(masks_):
            Rg = R[m, g]
            Rg = Rg - Rg.mean(0)
            Z = (X[m][:, others] - X[m][:, others].mean(0)) / sd[others]
            if Z.shape[1] > max_interactions:  # the columns that explain most of r
                score = (np.abs(Z.T @ Rg) ** 2).sum(1)
                Z = Z[:, np.argsort(-score)[:max_interactions]]
            B = _bases(e[:, m], Z)
            T = np.stack([regression_sums(B[b], Rg) for b in bases], 1)
            p[r_i, g] = min_p_pvalue(T)
    return p
