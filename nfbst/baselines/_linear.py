"""Linear-model tests: OLS coefficient t-test and drop-one likelihood-ratio test, with the
nFBST paper's variants (simple-regression standard error, no-intercept LR test)."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ._common import F64, _check, _design, _ols, _warn_inestimable


def _fit_linear(X: F64, y: F64, fit_intercept: bool
                ) -> tuple[F64, F64, float, F64, int, int, NDArray[np.bool_]]:
    """OLS on the design of ``X``: design A, coefficients, RSS, (AᵀA)⁺, index of the first slope,
    rank of A and a mask of the slopes that are not identified (``(d,)``)."""
    A = _design(X, fit_intercept)
    if A.shape[0] <= A.shape[1]:
        raise ValueError(f"X must have more rows than columns (+ intercept), got {X.shape}")
    coef, rss, G_inv, rank, inestimable = _ols(A, y, details=True)
    k = 1 if fit_intercept else 0
    return A, coef, rss, G_inv, k, rank, inestimable[k:]


def _zero_residual(rss: float, y: F64) -> bool:
    """The fit is exact up to rounding: no noise to test against."""
    return rss <= 1e-20 * max(float(y @ y), np.finfo(float).tiny)


def _gaussian_loglik(rss: float | F64, n: int) -> Any:
    """Maximised Gaussian log-likelihood of a least-squares fit with RSS ``rss``."""
    return -0.5 * n * (np.log(2 * np.pi * rss / n) + 1.0)


def ols_t_test(X: ArrayLike, y: ArrayLike, *, fit_intercept: bool = True,
               feature_names: Sequence[object] | None = None) -> pd.DataFrame:
    """Two-sided t-test of each OLS coefficient against 0.

    Standard error from the diagonal of σ̂²(AᵀA)⁻¹, A the design (with an intercept column by
    default), σ̂² = RSS / (n − p), t with n − p degrees of freedom.

    Parameters
    ----------
    X : array-like (n, d)
    y : array-like (n,)
    fit_intercept : bool, default True
    feature_names : list of str, optional

    Returns
    -------
    DataFrame with columns ``feature, coef, std_err, statistic, p_value``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = 2 * X[:, 0] + rng.normal(size=200)
    >>> res = ols_t_test(X, y)
    >>> bool(res.p_value[0] < 1e-10), bool(res.p_value[1] > 0.01)
    (True, True)
    """
    X, y, names = _check(X, y, feature_names)
    A, coef, rss, G_inv, k, rank, bad = _fit_linear(X, y, fit_intercept)
    n = A.shape[0]
    dfe = n - rank
    coef, se = coef[k:].copy(), np.sqrt(np.maximum(rss / dfe * np.diag(G_inv), 0.0))[k:]
    if _zero_residual(rss, y):
        warnings.warn("y is fitted exactly (zero residual): there is no noise to test "
                      "against, so every standard error, statistic and p-value is NaN",
                      UserWarning, stacklevel=2)
        bad = np.ones_like(bad)
        se[:] = np.nan
    else:
        _warn_inestimable(names, np.flatnonzero(bad), "the design is rank deficient: a "
                          "constant column beside the intercept, or duplicated/collinear "
                          "columns")
    coef[bad], se[bad] = np.nan, np.nan
    t = coef / se
    return pd.DataFrame({"feature": names, "coef": coef, "std_err": se, "statistic": t,
                         "p_value": 2 * stats.t.sf(np.abs(t), df=dfe)})


def likelihood_ratio_test(X: ArrayLike, y: ArrayLike, *, fit_intercept: bool = True,
                          feature_names: Sequence[object] | None = None) -> pd.DataFrame:
    """Drop-one likelihood-ratio test of each feature in a Gaussian linear model, χ²₁.

    LR_j = n·log(RSS_{−j} / RSS), p = P(χ²₁ > LR_j). Also reports the exact F-test
    (F_j = (RSS_{−j} − RSS)/(RSS/(n − p)), F(1, n − p)), to which the LR test converges.

    Parameters
    ----------
    X : array-like (n, d)
    y : array-like (n,)
    fit_intercept : bool, default True
        Both models include an intercept. ``False`` is the paper's version
        (:func:`paper_likelihood_ratio_test`).
    feature_names : list of str, optional

    Returns
    -------
    DataFrame with columns ``feature, statistic, p_value, f_statistic, f_p_value``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = X[:, 0] + rng.normal(size=300)
    >>> res = likelihood_ratio_test(X, y)
    >>> bool(res.p_value[0] < 1e-6), bool(res.p_value[1] > 0.01)
    (True, True)
    """
    X, y, names = _check(X, y, feature_names)
    A, coef, rss, G_inv, k, rank, bad = _fit_linear(X, y, fit_intercept)
    n, p = A.shape
    if _zero_residual(rss, y):
        warnings.warn("y is fitted exactly (zero residual): the likelihood is unbounded, so "
                      "every statistic and p-value is NaN", UserWarning, stacklevel=2)
        nan = np.full(len(names), np.nan)
        return pd.DataFrame({"feature": names, "statistic": nan, "p_value": nan,
                             "f_statistic": nan, "f_p_value": nan})
    if rank == p:
        # drop-one RSS without refitting: RSS_{-j} = RSS + β_j² / [(AᵀA)⁻¹]_jj
        rss_red = rss + coef[k:] ** 2 / np.diag(G_inv)[k:]
    else:  # collinear columns: refit explicitly (dropping a redundant column costs nothing)
        rss_red = np.array([_ols(np.delete(A, k + j, axis=1), y)[1]
                            for j in range(X.shape[1])])
    lr = 2 * (_gaussian_loglik(rss, n) - _gaussian_loglik(rss_red, n))
    lr = np.maximum(lr, 0.0)
    f = (rss_red - rss) / (rss / (n - rank))
    # dropping a column that is a combination of the others does not change the fit: the
    # test of "its coefficient is 0" is then not defined (that coefficient is not identified)
    _warn_inestimable(names, np.flatnonzero(bad), "the design is rank deficient: a constant "
                      "column beside the intercept, or duplicated/collinear columns")
    lr[bad], f[bad] = np.nan, np.nan
    return pd.DataFrame({"feature": names, "statistic": lr, "p_value": stats.chi2.sf(lr, 1),
                         "f_statistic": f, "f_p_value": stats.f.sf(f, 1, n - rank)})


def paper_t_test(X: ArrayLike, y: ArrayLike, *, feature_names: Sequence[object] | None = None
                 ) -> pd.DataFrame:
    """The paper's t-test (``run_t_test.py``): OLS with intercept, simple-regression SE.

    SE_j² = (RSS/(n − d − 1)) / Σ_i (x_ij − x̄_j)², which ignores the correlation between
    features (it equals the usual SE only for orthogonal centred columns). Kept to reproduce
    Table 1; prefer :func:`ols_t_test`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = X[:, 0] + rng.normal(size=200)
    >>> bool(paper_t_test(X, y).p_value[0] < 1e-6)
    True
    """
    X, y, names = _check(X, y, feature_names)
    n, d = X.shape
    if n <= d + 1:
        raise ValueError(f"X must have more rows than columns (+ intercept), got {X.shape}")
    coef, rss, _, _, bad = _ols(_design(X, True), y, details=True)
    bad = bad[1:]
    if _zero_residual(rss, y):
        warnings.warn("y is fitted exactly (zero residual): there is no noise to test "
                      "against, so every standard error, statistic and p-value is NaN",
                      UserWarning, stacklevel=2)
        bad = np.ones_like(bad)
    else:
        _warn_inestimable(names, np.flatnonzero(bad), "the design is rank deficient: a "
                          "constant column, or duplicated/collinear columns")
    dfe = n - d - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt((rss / dfe) / ((X - X.mean(0)) ** 2).sum(0))
    se[bad] = np.nan
    t = coef[1:] / se
    return pd.DataFrame({"feature": names, "coef": coef[1:], "std_err": se, "statistic": t,
                         "p_value": 2 * stats.t.sf(np.abs(t), df=dfe)})


def paper_likelihood_ratio_test(X: ArrayLike, y: ArrayLike, *,
                                feature_names: Sequence[object] | None = None
                                ) -> pd.DataFrame:
    """The paper's LR test (``run_likelihood_ratio_test.py``): OLS **without** an intercept.

    With a non-zero mean of y, dropping a feature whose mean is non-zero removes part of the
    fitted level, so the statistic mixes "feature matters" with "feature proxies the
    intercept". Kept to reproduce Table 1; prefer :func:`likelihood_ratio_test`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = X[:, 0] + rng.normal(size=200)
    >>> bool(paper_likelihood_ratio_test(X, y).p_value[0] < 1e-6)
    True
    """
    return likelihood_ratio_test(X, y, fit_intercept=False, feature_names=feature_names)
