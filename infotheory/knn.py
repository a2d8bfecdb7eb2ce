"""k-nearest-neighbour estimators of entropy and (conditional) mutual information.

Searches run on KD-trees (:class:`sklearn.neighbors.KDTree` with counting queries for
max-norm balls, :class:`scipy.spatial.cKDTree` otherwise), so n = 100,000 samples in a few
dimensions take seconds. Each estimator is a mean of per-sample terms; the ``*_terms``
functions return those terms (their mean is the estimate), which the front door uses for
intervals.

References
----------
Kozachenko & Leonenko (1987), Probl. Inf. Transm. 23:95 -- entropy.
Kraskov, Stoegbauer & Grassberger (2004), Phys. Rev. E 69:066138 -- KSG 1 and 2.
Frenzel & Pompe (2007), Phys. Rev. Lett. 99:204101 -- conditional MI.
Ross (2014), PLoS ONE 9:e87357 -- MI between continuous and discrete variables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, overload

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln
from sklearn.neighbors import KDTree

from probconstraints._random import RandomStateLike, check_random_state

from ._validation import (
    check_continuous,
    check_k,
    check_labels,
    check_n_jobs,
    check_same_length,
    finite_scale,
)
from .discrete import encode_labels

__all__ = [
    "kl_entropy",
    "ksg_conditional_mutual_information",
    "ksg_mutual_information",
    "mixed_mutual_information",
    "prepare_continuous",
]

_LEAF = 20  # leaf size of the KD-trees (fastest of 10-80 for d <= 10 in our timings)


@overload
def prepare_continuous(X: ArrayLike, name: str, *, standardize: bool = ...,
                       noise: float = ..., random_state: RandomStateLike = ...,
                       return_log_scale: Literal[False] = ...) -> np.ndarray: ...
@overload
def prepare_continuous(X: ArrayLike, name: str, *, standardize: bool = ...,
                       noise: float = ..., random_state: RandomStateLike = ...,
                       return_log_scale: Literal[True]) -> tuple[np.ndarray, float]: ...
def prepare_continuous(X: ArrayLike, name: str, *, standardize: bool = True,
                       noise: float = 1e-10, random_state: RandomStateLike = None,
                       return_log_scale: bool = False) -> np.ndarray | tuple[np.ndarray, float]:
    """Validate ``X`` as (n, d) floats, scale columns to unit variance and break ties.

    With ``standardize=True`` columns are first divided by their largest |value|, so data near
    the float range (1e300, 1e-300) neither overflows nor underflows. With
    ``return_log_scale=True`` (entropy) the whole array is divided by its largest |value| c
    and the result is ``(X, d log c)`` (h(X) = h(X / c) + d log c; the Euclidean searches of
    the entropy estimators square distances, which would overflow at 1e300). Otherwise
    (``standardize=False``) the data keeps its geometry: max-norm neighbour searches do not
    square distances. ``noise`` times max(1, mean |x|) of Gaussian jitter is then added to
    every column (as scikit-learn's ``mutual_info_regression`` does) so that repeated values
    do not give zero neighbour distances; it changes nothing else measurable.
    """
    arr = check_continuous(X, name)
    log_scale = 0.0
    if standardize:
        arr, _ = finite_scale(arr)
        std = arr.std(axis=0)
        arr[:, std > 0] /= std[std > 0]
    elif return_log_scale:
        c = float(np.max(np.abs(arr)))
        c = c if c > 0 else 1.0
        arr = arr / c
        log_scale = arr.shape[1] * float(np.log(c))
    else:
        arr = arr.copy()
    if noise:
        rng = check_random_state(random_state)
        mean_abs = np.sum(np.abs(arr) / arr.shape[0], axis=0)       # no overflow near 1e308
        arr += noise * np.maximum(1.0, mean_abs) * rng.standard_normal(arr.shape)
    return (arr, log_scale) if return_log_scale else arr


def prepare_many(arrays: Sequence[np.ndarray], random_state: RandomStateLike) -> list[np.ndarray]:
    """:func:`prepare_continuous` of each array (standardised), each with its own jitter seed
    drawn from ``random_state`` (the variables of one k-NN estimate)."""
    rng = check_random_state(random_state)
    return [prepare_continuous(a, f"xs[{i}]", random_state=rng.randint(2**31))
            for i, a in enumerate(arrays)]


def _count_1d(x: np.ndarray, radius: np.ndarray, strict: bool) -> np.ndarray:
    """#{j : |x_j - x_i| < r_i} (or <=), self included, exactly as a KD-tree computes it."""
    xs = np.sort(x)
    n = len(xs)

    def inside(diff: np.ndarray) -> np.ndarray:
        return diff < radius if strict else diff <= radius

    hi = np.searchsorted(xs, x + radius, side="right")
    lo = np.searchsorted(xs, x - radius, side="left")
    # floating-point rounding of x +/- r can misplace the boundary by a few elements: fix it
    # with the exact predicate |x_j - x_i| (<|<=) r used by the tree-based counts.
    for _ in range(64):
        down = (hi > 0) & ~inside(np.abs(xs[np.maximum(hi - 1, 0)] - x))
        up = (hi < n) & inside(np.abs(xs[np.minimum(hi, n - 1)] - x))
        hi = hi - down + up
        right = (lo < n) & ~inside(np.abs(xs[np.minimum(lo, n - 1)] - x))
        left = (lo > 0) & inside(np.abs(xs[np.maximum(lo - 1, 0)] - x))
        lo = lo + right - left
        if not (down.any() or up.any() or right.any() or left.any()):
            break
    return hi - lo


@overload
def _split_rows(fn: Callable[[np.ndarray], np.ndarray], Q: np.ndarray,
                n_jobs: int) -> np.ndarray: ...
@overload
def _split_rows(fn: Callable[[np.ndarray], tuple[np.ndarray, ...]], Q: np.ndarray,
                n_jobs: int) -> tuple[np.ndarray, ...]: ...
def _split_rows(fn: Callable[[np.ndarray], np.ndarray | tuple[np.ndarray, ...]], Q: np.ndarray,
                n_jobs: int) -> np.ndarray | tuple[np.ndarray, ...]:
    """Apply ``fn`` to row blocks of ``Q`` on ``n_jobs`` threads (the trees release the GIL)."""
    n_jobs = effective_n_jobs(n_jobs)
    if n_jobs == 1 or len(Q) < 2000:
        return fn(Q)
    blocks = np.array_split(np.arange(len(Q)), n_jobs)
    parts = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(fn)(Q[b]) for b in blocks)
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts))
    return np.concatenate(parts)


def _count_within(X: np.ndarray, radius: np.ndarray, strict: bool, n_jobs: int) -> np.ndarray:
    """Number of points of X within max-norm distance r_i of X_i, the point itself included."""
    if X.shape[1] == 1:
        return _count_1d(X[:, 0], radius, strict)
    r = np.nextafter(radius, 0) if strict else radius
    tree = KDTree(X, metric="chebyshev", leaf_size=_LEAF)
    order = np.arange(len(X))
    return _split_rows(lambda i: tree.query_radius(X[i], r[i], count_only=True), order, n_jobs)


def _kth_neighbour(X: np.ndarray, k: int, p: float,
                   n_jobs: int) -> tuple[np.ndarray, np.ndarray]:
    if X.shape[1] == 1 or p == 2:
        dist, idx = cKDTree(X).query(X, k=k + 1, p=p, workers=n_jobs)
    else:
        tree = KDTree(X, metric="chebyshev", leaf_size=_LEAF)
        dist, idx = _split_rows(lambda Q: tree.query(Q, k=k + 1), X, n_jobs)
    return dist[:, 1:], idx[:, 1:]


def _unit_ball_log_volume(d: int, metric: str) -> float:
    if metric == "chebyshev":
        return d * np.log(2.0)
    return d / 2.0 * np.log(np.pi) - gammaln(d / 2.0 + 1.0)


def kl_entropy_terms(X: np.ndarray, k: int = 3, metric: str = "euclidean",
                     n_jobs: int = 1) -> np.ndarray:
    """Per-sample terms of the Kozachenko-Leonenko estimator on prepared data."""
    n, d = X.shape
    dist, _ = _kth_neighbour(X, k, np.inf if metric == "chebyshev" else 2, n_jobs)
    eps = dist[:, -1]
    if np.any(eps <= 0):
        raise ValueError("X has repeated rows closer than the k-th neighbour; add noise or "
                         "remove duplicates (got zero neighbour distances)")
    return digamma(n) - digamma(k) + _unit_ball_log_volume(d, metric) + d * np.log(eps)


def kl_entropy(X: ArrayLike, k: int = 3, *, metric: str = "euclidean", n_jobs: int | None = None,
               noise: float = 1e-10, random_state: RandomStateLike = None) -> float:
    """Kozachenko-Leonenko differential entropy h(X) in nats.

    Parameters
    ----------
    X : array-like of shape (n, d) or (n,)
        Samples.
    k : int, default=3
        Neighbour order.
    metric : {"euclidean", "chebyshev"}
        Norm of the neighbour search; the estimate is the same in expectation.
    n_jobs : int or None, default=None
        Threads of the KD-tree queries: None means 1, -1 all cores.
    noise : float, default=1e-10
        Relative tie-breaking jitter (see :func:`prepare_continuous`).
    random_state : int, RandomState or None
        Seed of the jitter.

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> h = kl_entropy(rng.uniform(size=(4000, 1)), random_state=0)
    >>> bool(abs(h) < 0.05)      # h(U[0, 1]) = 0
    True
    """
    if metric not in ("euclidean", "chebyshev"):
        raise ValueError(f"metric must be 'euclidean' or 'chebyshev'; got {metric!r}")
    X, log_scale = prepare_continuous(X, "X", standardize=False, noise=noise,
                                      random_state=random_state, return_log_scale=True)
    k = check_k(k, X.shape[0])
    return float(np.mean(kl_entropy_terms(X, k, metric, check_n_jobs(n_jobs)))) + log_scale


def ksg_terms(X: np.ndarray, Y: np.ndarray, k: int = 3, variant: int = 1,
              n_jobs: int = 1) -> np.ndarray:
    """Per-sample terms of KSG estimator ``variant`` (1 or 2) on prepared data."""
    n = X.shape[0]
    dist, idx = _kth_neighbour(np.hstack([X, Y]), k, np.inf, n_jobs)
    if variant == 1:
        eps = dist[:, -1]
        nx = _count_within(X, eps, True, n_jobs) - 1
        ny = _count_within(Y, eps, True, n_jobs) - 1
        return digamma(k) + digamma(n) - digamma(nx + 1) - digamma(ny + 1)
    eps_x = np.abs(X[idx] - X[:, None, :]).max(axis=(1, 2))
    eps_y = np.abs(Y[idx] - Y[:, None, :]).max(axis=(1, 2))
    nx = _count_within(X, eps_x, False, n_jobs) - 1
    ny = _count_within(Y, eps_y, False, n_jobs) - 1
    return digamma(k) - 1.0 / k + digamma(n) - digamma(nx) - digamma(ny)


def ksg_mutual_information(X: ArrayLike, Y: ArrayLike, k: int = 3, *, variant: int = 1,
                           standardize: bool = True, n_jobs: int | None = None,
                           noise: float = 1e-10, random_state: RandomStateLike = None) -> float:
    """Kraskov-Stoegbauer-Grassberger estimate of I(X;Y) in nats (max-norm neighbours).

    Parameters
    ----------
    X : array-like of shape (n, dx) or (n,)
    Y : array-like of shape (n, dy) or (n,)
    k : int, default=3
        Neighbour order.
    variant : {1, 2}
        KSG algorithm 1 (counts strictly inside the joint k-th distance) or 2 (counts inside
        the marginal extents of the k neighbours).
    standardize : bool, default=True
        Scale every column to unit variance first, as Kraskov et al. do.
    n_jobs : int or None, default=None
        Threads of the KD-tree queries: None means 1, -1 all cores.
    noise : float, default=1e-10
        Relative tie-breaking jitter.
    random_state : int, RandomState or None
        Seed of the jitter.

    Returns
    -------
    float
        Not clipped at zero.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(3000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(3000)
    >>> mi = ksg_mutual_information(x, y, random_state=0)
    >>> bool(abs(mi - (-0.5 * np.log(1 - 0.8**2))) < 0.05)
    True
    """
    if variant not in (1, 2):
        raise ValueError(f"variant must be 1 or 2; got {variant!r}")
    X = prepare_continuous(X, "X", standardize=standardize, noise=noise,
                           random_state=random_state)
    Y = prepare_continuous(Y, "Y", standardize=standardize, noise=noise,
                           random_state=None if random_state is None else
                           check_random_state(random_state).randint(2**31))
    check_same_length(X=X, Y=Y)
    k = check_k(k, X.shape[0])
    return float(np.mean(ksg_terms(X, Y, k, variant, check_n_jobs(n_jobs))))


def ksg_cmi_terms(X: np.ndarray, Y: np.ndarray, Z: np.ndarray, k: int = 3,
                  n_jobs: int = 1) -> np.ndarray:
    """Per-sample terms of the Frenzel-Pompe conditional KSG estimator on prepared data."""
    dist, _ = _kth_neighbour(np.hstack([X, Y, Z]), k, np.inf, n_jobs)
    eps = dist[:, -1]
    nxz = _count_within(np.hstack([X, Z]), eps, True, n_jobs) - 1
    nyz = _count_within(np.hstack([Y, Z]), eps, True, n_jobs) - 1
    nz = _count_within(Z, eps, True, n_jobs) - 1
    return digamma(k) - digamma(nxz + 1) - digamma(nyz + 1) + digamma(nz + 1)


def ksg_conditional_mutual_information(X: ArrayLike, Y: ArrayLike, Z: ArrayLike, k: int = 3, *,
                                       standardize: bool = True, n_jobs: int | None = None,
                                       noise: float = 1e-10,
                                       random_state: RandomStateLike = None) -> float:
    """Conditional mutual information I(X;Y|Z) in nats (Frenzel-Pompe KSG, algorithm 1).

    Parameters
    ----------
    X, Y, Z : array-like of shape (n, d_*) or (n,)
    k : int, default=3
    standardize : bool, default=True
    n_jobs : int or None, default=None
        Threads of the KD-tree queries: None means 1, -1 all cores.
    noise : float, default=1e-10
    random_state : int, RandomState or None

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal(3000)
    >>> x = z + rng.standard_normal(3000)
    >>> y = z + rng.standard_normal(3000)     # X and Y independent given Z
    >>> bool(abs(ksg_conditional_mutual_information(x, y, z, random_state=0)) < 0.03)
    True
    """
    rng = check_random_state(random_state)
    seeds = rng.randint(2**31, size=3)
    X = prepare_continuous(X, "X", standardize=standardize, noise=noise, random_state=seeds[0])
    Y = prepare_continuous(Y, "Y", standardize=standardize, noise=noise, random_state=seeds[1])
    Z = prepare_continuous(Z, "Z", standardize=standardize, noise=noise, random_state=seeds[2])
    check_same_length(X=X, Y=Y, Z=Z)
    k = check_k(k, X.shape[0])
    return float(np.mean(ksg_cmi_terms(X, Y, Z, k, check_n_jobs(n_jobs))))


def mixed_terms(X: np.ndarray, labels: np.ndarray, k: int = 3, n_jobs: int = 1) -> np.ndarray:
    """Per-sample terms of Ross's estimator on prepared data; labels coded 0..m-1.

    Samples whose label occurs once carry no information and are dropped, as in scikit-learn.
    """
    counts = np.bincount(labels)
    keep = counts[labels] > 1
    X, labels = X[keep], labels[keep]
    n = X.shape[0]
    if n < 2:
        raise ValueError("mixed MI needs at least one label that occurs twice; got none")
    radius = np.empty(n)
    k_all = np.empty(n)
    for lab in np.unique(labels):
        mask = labels == lab
        k_lab = min(k, int(mask.sum()) - 1)
        dist, _ = _kth_neighbour(X[mask], k_lab, np.inf, n_jobs)
        radius[mask] = dist[:, -1]
        k_all[mask] = k_lab
    m = _count_within(X, radius, True, n_jobs)
    n_label = np.bincount(labels)[labels]
    return digamma(n) + digamma(k_all) - digamma(n_label) - digamma(m)


def mixed_mutual_information(X: ArrayLike, labels: ArrayLike, k: int = 3, *,
                             standardize: bool = True, n_jobs: int | None = None,
                             noise: float = 1e-10, random_state: RandomStateLike = None) -> float:
    """I(X;L) between continuous X and discrete labels L, in nats (Ross 2014).

    Parameters
    ----------
    X : array-like of shape (n, d) or (n,)
        Continuous variable.
    labels : array-like of shape (n,) or (n, m)
        Discrete labels of any dtype (rows of a 2-D array are joint labels).
    k : int, default=3
    standardize : bool, default=True
    n_jobs : int or None, default=None
        Threads of the KD-tree queries: None means 1, -1 all cores.
    noise : float, default=1e-10
    random_state : int, RandomState or None

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lab = rng.integers(0, 2, 4000)
    >>> x = rng.normal(loc=10.0 * lab)      # separated classes: I(X;L) = H(L) = log 2
    >>> bool(abs(mixed_mutual_information(x, lab, random_state=0) - np.log(2)) < 0.03)
    True
    """
    X = prepare_continuous(X, "X", standardize=standardize, noise=noise,
                           random_state=random_state)
    labels = check_labels(labels, "labels")
    check_same_length(X=X, labels=labels)
    k = check_k(k, X.shape[0])
    return float(np.mean(mixed_terms(X, encode_labels(labels), k, check_n_jobs(n_jobs))))
