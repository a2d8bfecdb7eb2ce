"""Closed-form Gaussian (CCA) estimators and the Gaussian-copula transform.

For jointly Gaussian X, Y with canonical correlations rho_i,
``I(X;Y) = -1/2 sum_i log(1 - rho_i^2) = 1/2 log(det S_xx det S_yy / det S)``.
Applied to normal scores (the Gaussian copula, Ince et al. 2017, Hum. Brain Mapp. 38:1541) it
is invariant under monotone transforms of each coordinate and, for one-dimensional X and Y,
a lower bound on the true MI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import cho_factor
from scipy.special import digamma, ndtri
from scipy.stats import rankdata

from ._validation import check_continuous, check_same_length, finite_scale

__all__ = [
    "canonical_correlations",
    "copula_normalize",
    "gaussian_conditional_mutual_information",
    "gaussian_cmi_from_covariance",
    "gaussian_entropy",
    "gaussian_mi_from_covariance",
    "gaussian_mutual_information",
]


def copula_normalize(X: ArrayLike) -> np.ndarray:
    """Replace every column by its normal scores ``Phi^{-1}(rank / (n + 1))``.

    Ties receive their average rank. The result has standard normal margins whatever the
    margins of X, so estimators applied to it are invariant under increasing transforms of
    each coordinate.

    Parameters
    ----------
    X : array-like of shape (n, d) or (n,)

    Returns
    -------
    ndarray of shape (n, d)

    Examples
    --------
    >>> copula_normalize([3.0, 1.0, 2.0]).ravel().round(3)
    array([ 0.674, -0.674,  0.   ])
    """
    X = check_continuous(X, "X", min_samples=1)
    return ndtri(rankdata(X, axis=0) / (X.shape[0] + 1))


def _log_det_cov(cov: np.ndarray) -> float:
    try:
        c, _ = cho_factor(cov)
    except np.linalg.LinAlgError:
        raise ValueError("the sample covariance is singular: a column is constant or a linear "
                         "combination of others; remove it") from None
    return 2.0 * float(np.sum(np.log(np.diag(c))))


def _entropy_from_cov(cov: np.ndarray, n: int, bias_correction: bool) -> float:
    d = cov.shape[0]
    h = 0.5 * _log_det_cov(cov) + 0.5 * d * (np.log(2 * np.pi) + 1.0)
    if bias_correction:
        # E[log det S] of a Wishart sample covariance (ddof=1), as in Ince et al. (2017)
        h -= d * (np.log(2.0) - np.log(n - 1.0)) / 2.0
        h -= float(np.sum(digamma((n - np.arange(1, d + 1)) / 2.0))) / 2.0
    return h


def gaussian_entropy(X: ArrayLike, *, bias_correction: bool = True) -> float:
    """Differential entropy of a Gaussian fitted to X: 1/2 log det(2 pi e S), in nats.

    Parameters
    ----------
    X : array-like of shape (n, d) or (n,)
    bias_correction : bool, default=True
        Remove the expected bias of log det of the sample covariance (exact for Gaussian
        data).

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> h = gaussian_entropy(2.0 * rng.standard_normal(5000))
    >>> bool(abs(h - 0.5 * np.log(2 * np.pi * np.e * 4.0)) < 0.03)
    True
    """
    X = check_continuous(X, "X", min_samples=3)
    n, d = X.shape
    if n <= d + 1:
        raise ValueError(f"X needs more samples than dimensions + 1 ({d + 1}); got {n}")
    X, scale = finite_scale(X)        # h(X) = h(X / c) + sum log c; no overflow at 1e300
    return (_entropy_from_cov(np.atleast_2d(np.cov(X, rowvar=False)), n, bias_correction)
            + float(np.sum(np.log(scale))))


def _mi_from_blocks(arrays: Sequence[np.ndarray], n: int, bias_correction: bool,
                    terms: Sequence[tuple[int, Sequence[int]]]) -> float:
    data = finite_scale(np.hstack(arrays))[0]     # MI is invariant under column scaling
    if n <= data.shape[1] + 1:
        raise ValueError(f"need more samples than total dimensions + 1 ({data.shape[1] + 1}); "
                         f"got {n}")
    cov = np.atleast_2d(np.cov(data, rowvar=False))
    bounds = np.cumsum([0] + [a.shape[1] for a in arrays])
    total = 0.0
    for sign, blocks in terms:
        idx = np.concatenate([np.arange(bounds[b], bounds[b + 1]) for b in blocks])
        total += sign * _entropy_from_cov(cov[np.ix_(idx, idx)], n, bias_correction)
    return total


def gaussian_mutual_information(X: ArrayLike, Y: ArrayLike, *,
                                bias_correction: bool = True) -> float:
    """I(X;Y) of Gaussians fitted to (X, Y): the CCA closed form, in nats.

    Parameters
    ----------
    X : array-like of shape (n, dx) or (n,)
    Y : array-like of shape (n, dy) or (n,)
    bias_correction : bool, default=True
        Apply the Wishart bias correction to every entropy term.

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000)
    >>> y = 0.6 * x + 0.8 * rng.standard_normal(20000)
    >>> bool(abs(gaussian_mutual_information(x, y) - (-0.5 * np.log(1 - 0.36))) < 0.01)
    True
    """
    X = check_continuous(X, "X", min_samples=3)
    Y = check_continuous(Y, "Y", min_samples=3)
    n = check_same_length(X=X, Y=Y)
    return _mi_from_blocks([X, Y], n, bias_correction, [(1, [0]), (1, [1]), (-1, [0, 1])])


def gaussian_conditional_mutual_information(X: ArrayLike, Y: ArrayLike, Z: ArrayLike, *,
                                            bias_correction: bool = True) -> float:
    """I(X;Y|Z) of Gaussians fitted to (X, Y, Z), in nats (partial canonical correlations).

    Parameters
    ----------
    X, Y, Z : array-like of shape (n, d_*) or (n,)
    bias_correction : bool, default=True

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal(20000)
    >>> x, y = z + rng.standard_normal(20000), z + rng.standard_normal(20000)
    >>> bool(abs(gaussian_conditional_mutual_information(x, y, z)) < 0.01)
    True
    """
    X = check_continuous(X, "X", min_samples=3)
    Y = check_continuous(Y, "Y", min_samples=3)
    Z = check_continuous(Z, "Z", min_samples=3)
    n = check_same_length(X=X, Y=Y, Z=Z)
    terms = [(1, [0, 2]), (1, [1, 2]), (-1, [0, 1, 2]), (-1, [2])]
    return _mi_from_blocks([X, Y, Z], n, bias_correction, terms)


def canonical_correlations(X: ArrayLike, Y: ArrayLike) -> np.ndarray:
    """Sample canonical correlations of X and Y, largest first (min(dx, dy) values).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((5000, 2))
    >>> y = np.column_stack([x[:, 0] + rng.standard_normal(5000), rng.standard_normal(5000)])
    >>> canonical_correlations(x, y).round(1)
    array([0.7, 0. ])
    """
    X = check_continuous(X, "X", min_samples=3)
    Y = check_continuous(Y, "Y", min_samples=3)
    check_same_length(X=X, Y=Y)

    def whiten(A: np.ndarray) -> np.ndarray:
        A = finite_scale(A)[0]
        A = A - A.mean(axis=0)
        q, _ = np.linalg.qr(A)
        return q

    s = np.linalg.svd(whiten(X).T @ whiten(Y), compute_uv=False)
    return np.clip(s, 0.0, 1.0)


# ----------------------------------------------------------------------------- exact (population)
def _log_det(m: np.ndarray) -> float:
    return np.linalg.slogdet(m)[1]


def gaussian_mi_from_covariance(cov: ArrayLike, dim_x: int) -> float:
    """I(X;Y) = 1/2 log(det S_xx det S_yy / det S) for a joint Gaussian with covariance ``cov``.

    The first ``dim_x`` rows and columns of ``cov`` belong to X, the rest to Y.

    Examples
    --------
    >>> round(gaussian_mi_from_covariance([[1, 0.75], [0.75, 1]], 1), 4)
    0.4133
    """
    cov = np.asarray(cov, dtype=float)
    return float(0.5 * (_log_det(cov[:dim_x, :dim_x]) + _log_det(cov[dim_x:, dim_x:])
                        - _log_det(cov)))


def gaussian_cmi_from_covariance(cov: ArrayLike, dim_x: int, dim_y: int) -> float:
    """I(X;Y|Z) = 1/2 log(det S_xz det S_yz / (det S det S_z)) for a joint Gaussian.

    The rows and columns of ``cov`` are X (``dim_x``), then Y (``dim_y``), then Z (the rest).

    Examples
    --------
    >>> cov = [[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]]
    >>> round(gaussian_cmi_from_covariance(cov, 1, 1), 4)   # partial correlation 1/3
    0.0589
    """
    cov = np.asarray(cov, dtype=float)
    d = cov.shape[0]
    xz = np.r_[0:dim_x, dim_x + dim_y:d]
    yz = np.r_[dim_x:d]
    z = np.r_[dim_x + dim_y:d]
    ld = lambda idx: _log_det(cov[np.ix_(idx, idx)])  # noqa: E731
    return float(0.5 * (ld(xz) + ld(yz) - _log_det(cov) - ld(z)))
