"""Classical significance tests a user would otherwise run, one function each.

Every function takes ``X`` (n, d) and ``y`` (n,) and returns a :class:`pandas.DataFrame` with
one row per feature and at least the columns ``feature``, ``statistic`` and ``p_value``.

- :func:`ols_t_test`: OLS coefficient t-test (with intercept).
- :func:`likelihood_ratio_test`: drop-one Gaussian likelihood-ratio test, χ²₁ (with intercept).
- :func:`bootstrap_test`: pairs bootstrap of OLS coefficients, percentile intervals and p-value.
- :func:`permutation_test`: scikit-learn permutation importance with a permutation p-value.
- :func:`loco_test`: leave-one-covariate-out, paired test of held-out losses (Lei et al. 2018).
- :func:`gradient_test`: Horel & Giesecke (2020) statistic mean_x (∂f/∂x_j)² of a fitted
  network, with a residual-bootstrap null under H0.

The paper's own variants (shared/papers/nfbst.md §3.3) are kept, clearly labelled, so its
Table 1 columns can be reproduced: :func:`paper_t_test` (simple-regression standard error),
:func:`paper_likelihood_ratio_test` (no intercept) and :func:`paper_bootstrap_z_test` (z-test
on the bootstrap replicates, which rejects almost everything as B grows).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_X_y

from probconstraints._random import check_random_state_arg

from ._progress import progress
from ._validation import check_float, check_frame, check_int, check_target
from ._validation import local_random_state as check_random_state
from .posterior import ACTIVATIONS, PosteriorDraws, check_activation, fold_standardization

__all__ = [
    "ols_t_test",
    "likelihood_ratio_test",
    "bootstrap_test",
    "permutation_test",
    "loco_test",
    "gradient_test",
    "fit_mlp",
    "paper_t_test",
    "paper_likelihood_ratio_test",
    "paper_bootstrap_z_test",
]


# --------------------------------------------------------------------------- helpers
def _check(X, y, feature_names=None, min_samples=3):
    if feature_names is None and hasattr(X, "columns"):
        feature_names = [str(c) for c in X.columns]
    X = check_frame(X, "X")
    if hasattr(X, "dtype") and np.asarray(X).dtype.kind in "USO":
        raise TypeError(f"X must hold numbers, got dtype {np.asarray(X).dtype}")
    y = check_target(y)
    if y.dtype.kind not in "biuf":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"y must be numeric, got dtype {y.dtype}") from None
    X, y = check_X_y(X, y, dtype=np.float64, y_numeric=True, ensure_all_finite=True)
    _check_magnitude(X, "X")
    _check_magnitude(y, "y")
    if X.shape[0] < min_samples:
        raise ValueError(f"X must have at least {min_samples} rows, got {X.shape[0]}")
    if feature_names is None:
        feature_names = [f"x{j}" for j in range(X.shape[1])]
    feature_names = list(map(str, feature_names))
    if len(feature_names) != X.shape[1]:
        raise ValueError(
            f"feature_names must have {X.shape[1]} entries, got {len(feature_names)}")
    return X, y, feature_names


def _check_magnitude(a, name):
    """Refuse values whose squares overflow float64 (the normal equations would be inf)."""
    big = float(np.max(np.abs(a))) if a.size else 0.0
    if big > 1e150:
        raise ValueError(f"{name} holds values up to {big:.3g}; squares above float64's range "
                         "would make every statistic meaningless: rescale the input")


def _warn_inestimable(names, idx, why):
    if len(idx):
        warnings.warn(
            f"coefficient(s) of {[names[j] for j in idx]} cannot be estimated ({why}): their "
            "statistic and p-value are NaN", UserWarning, stacklevel=3)


def _design(X, fit_intercept):
    return np.column_stack([np.ones(len(X)), X]) if fit_intercept else X


def _fit_linear(X, y, fit_intercept):
    """OLS on the design of ``X``: design A, coefficients, RSS, (AᵀA)⁺, index of the first slope,
    rank of A and a mask of the slopes that are not identified (``(d,)``)."""
    A = _design(X, fit_intercept)
    if A.shape[0] <= A.shape[1]:
        raise ValueError(f"X must have more rows than columns (+ intercept), got {X.shape}")
    coef, rss, G_inv, rank, inestimable = _ols(A, y, details=True)
    k = 1 if fit_intercept else 0
    return A, coef, rss, G_inv, k, rank, inestimable[k:]


def _ols(A, y, details=False):
    """Least-squares coefficients, residual sum of squares and (AᵀA)⁺ (rank-safe).

    Columns are scaled to unit norm first so that the rank cut-off is scale-free; the SVD
    cut-off is numpy's ``matrix_rank`` default (σ_max · max(n, p) · eps). With
    ``details=True`` also the rank and a mask of the coefficients that are not identified
    (their unit vector has a component in the null space of A: a constant column beside the
    intercept, duplicated or collinear columns).
    """
    norm = np.linalg.norm(A, axis=0)
    norm = np.where(norm > 0, norm, 1.0)
    As = A / norm
    U, sv, Vt = np.linalg.svd(As, full_matrices=False)
    tol = sv.max(initial=0.0) * max(As.shape) * np.finfo(float).eps
    keep = sv > tol
    V = Vt[keep].T
    coef = (V @ ((U[:, keep].T @ y) / sv[keep])) / norm
    G_inv = ((V / sv[keep] ** 2) @ V.T) / np.outer(norm, norm)
    resid = y - A @ coef
    rss = float(resid @ resid)
    if not details:
        return coef, rss, G_inv
    null = Vt[~keep]  # (p - rank, p) basis of the null space of As
    inestimable = (np.abs(null) > 1e-8).any(0) if null.size else np.zeros(A.shape[1], bool)
    return coef, rss, G_inv, int(keep.sum()), inestimable


def _zero_residual(rss, y):
    """The fit is exact up to rounding: no noise to test against."""
    return rss <= 1e-20 * max(float(y @ y), np.finfo(float).tiny)


def _gaussian_loglik(rss, n):
    """Maximised Gaussian log-likelihood of a least-squares fit with RSS ``rss``."""
    return -0.5 * n * (np.log(2 * np.pi * rss / n) + 1.0)


# --------------------------------------------------------------------------- linear tests
def ols_t_test(X, y, *, fit_intercept=True, feature_names=None):
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


def likelihood_ratio_test(X, y, *, fit_intercept=True, feature_names=None):
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


def _bootstrap_coefs(X, y, n_bootstraps, n_samples, rng, verbose, desc):
    n = len(X)
    out = np.empty((n_bootstraps, X.shape[1]))
    for b in progress(range(n_bootstraps), verbose, desc=desc):
        idx = rng.randint(0, n, size=n_samples)
        out[b] = _ols(_design(X[idx], True), y[idx])[0][1:]
    return out


def bootstrap_test(X, y, *, n_bootstraps=1000, confidence=0.95, feature_names=None,
                   random_state=None, verbose=0):
    """Pairs bootstrap of OLS coefficients (with intercept): percentile intervals and p-values.

    The bootstrap p-value of feature j is the smallest level at which the equal-tailed
    percentile interval excludes 0: p = min(1, 2·min(P*(β*_j ≤ 0), P*(β*_j ≥ 0))), with the
    (1 + count)/(1 + B) correction so that p > 0.

    Parameters
    ----------
    X : array-like (n, d)
    y : array-like (n,)
    n_bootstraps : int, default 1000
    confidence : float, default 0.95
        Level of the percentile interval ``ci_low, ci_high``.
    feature_names : list of str, optional
    random_state : int, RandomState or None
    verbose : int, default 0
        Progress bar when > 0.

    Returns
    -------
    DataFrame with columns ``feature, coef, ci_low, ci_high, statistic, p_value``
    (``statistic`` is coef / bootstrap standard deviation).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = X[:, 0] + rng.normal(size=200)
    >>> res = bootstrap_test(X, y, n_bootstraps=200, random_state=0)
    >>> bool(res.ci_low[0] > 0), bool(res.ci_low[1] < 0 < res.ci_high[1])
    (True, True)
    """
    X, y, names = _check(X, y, feature_names)
    if not (isinstance(n_bootstraps, int | np.integer) and n_bootstraps >= 10):
        raise ValueError(f"n_bootstraps must be an integer >= 10, got {n_bootstraps!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    rng = check_random_state(random_state)
    check_int(verbose, "verbose", 0)
    coef, _, _, _, bad = _ols(_design(X, True), y, details=True)
    coef, bad = coef[1:], bad[1:]
    _warn_inestimable(names, np.flatnonzero(bad), "the design is rank deficient: a constant "
                      "column, or duplicated/collinear columns")
    boot = _bootstrap_coefs(X, y, n_bootstraps, len(X), rng, verbose, "bootstrap")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [a, 1 - a], axis=0)
    le = (1 + (boot <= 0).sum(0)) / (1 + n_bootstraps)
    ge = (1 + (boot >= 0).sum(0)) / (1 + n_bootstraps)
    p = np.minimum(1.0, 2 * np.minimum(le, ge))
    stat = coef / boot.std(0, ddof=1)
    for a in (coef, lo, hi, stat, p):
        a[bad] = np.nan
    return pd.DataFrame({"feature": names, "coef": coef, "ci_low": lo, "ci_high": hi,
                         "statistic": stat, "p_value": p})


# --------------------------------------------------------------------------- paper's variants
def paper_t_test(X, y, *, feature_names=None):
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
    _warn_inestimable(names, np.flatnonzero(bad), "the design is rank deficient: a constant "
                      "column, or duplicated/collinear columns")
    dfe = n - d - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt((rss / dfe) / ((X - X.mean(0)) ** 2).sum(0))
    se[bad] = np.nan
    t = coef[1:] / se
    return pd.DataFrame({"feature": names, "coef": coef[1:], "std_err": se, "statistic": t,
                         "p_value": 2 * stats.t.sf(np.abs(t), df=dfe)})


def paper_likelihood_ratio_test(X, y, *, feature_names=None):
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


def paper_bootstrap_z_test(X, y, *, n_bootstraps=1000, n_samples_per_bootstrap=1000,
                           feature_names=None, random_state=None, verbose=0):
    """The paper's bootstrap (``run_boostrap.py``): z-test of the B bootstrap coefficients.

    z_j = mean(β*_j) / (sd(β*_j)/√B), p = 2(1 − Φ(|z_j|)). The standard error sd/√B shrinks
    with B, so p → 0 for any non-zero sample coefficient: this is not a valid test of
    β_j = 0 (shared/papers/nfbst.md §3.3). Kept to reproduce Table 1; prefer
    :func:`bootstrap_test`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = X[:, 0] + rng.normal(size=300)
    >>> res = paper_bootstrap_z_test(X, y, n_bootstraps=100, n_samples_per_bootstrap=300,
    ...                              random_state=0)
    >>> bool(res.p_value[0] < 1e-6)
    True
    """
    X, y, names = _check(X, y, feature_names)
    if not (isinstance(n_bootstraps, int | np.integer) and n_bootstraps >= 2):
        raise ValueError(f"n_bootstraps must be an integer >= 2, got {n_bootstraps!r}")
    rng = check_random_state(random_state)
    boot = _bootstrap_coefs(X, y, n_bootstraps, n_samples_per_bootstrap, rng, verbose,
                            "paper bootstrap")
    z = boot.mean(0) / (boot.std(0, ddof=1) / np.sqrt(n_bootstraps))
    return pd.DataFrame({"feature": names, "coef": boot.mean(0), "statistic": z,
                         "p_value": 2 * stats.norm.sf(np.abs(z))})


# --------------------------------------------------------------------------- model-based tests
def _sklearn_random_state(random_state):
    """What scikit-learn accepts: ints as they are (same results as before); None, a RandomState
    or a numpy Generator as a RandomState that is not numpy's global one."""
    random_state = check_random_state_arg(random_state)
    if isinstance(random_state, (int, np.integer)):
        return random_state
    return check_random_state(random_state)  # None: fresh entropy, not numpy's global state


def _split(X, y, test_size, random_state):
    test_size = check_float(test_size, "test_size", 0, 1)
    return train_test_split(X, y, test_size=test_size,
                            random_state=_sklearn_random_state(random_state))


def permutation_test(estimator, X, y, *, n_repeats=100, test_size=0.25, scoring=None,
                     feature_names=None, random_state=None, n_jobs=None):
    """Permutation importance on held-out data with a permutation p-value.

    ``clone(estimator)`` is fitted on a training split; scikit-learn's
    :func:`~sklearn.inspection.permutation_importance` then permutes column j of the test
    split ``n_repeats`` times. The p-value is the share of permutations whose score is at
    least the unpermuted score, p = (1 + #{importance_k ≤ 0}) / (1 + n_repeats): the fitted
    model's score does not depend on x_j under H0 (a feature it ignores gets p = 1).

    Parameters
    ----------
    estimator : scikit-learn regressor (unfitted; it is cloned)
    X : array-like (n, d)
    y : array-like (n,)
    n_repeats : int, default 100
    test_size : float, default 0.25
    scoring : str or callable, optional
        As in scikit-learn; the estimator's ``score`` by default.
    feature_names : list of str, optional
    random_state : int or None
        Seeds the split and the permutations.
    n_jobs : int, optional

    Returns
    -------
    DataFrame with columns ``feature, statistic (mean importance), importance_std, p_value``.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = X[:, 0] + 0.1 * rng.normal(size=300)
    >>> res = permutation_test(LinearRegression(), X, y, n_repeats=50, random_state=0)
    >>> bool(res.p_value[0] < 0.05), bool(res.statistic[0] > res.statistic[1])
    (True, True)
    """
    X, y, names = _check(X, y, feature_names, min_samples=8)
    if not (isinstance(n_repeats, int | np.integer) and n_repeats >= 1):
        raise ValueError(f"n_repeats must be a positive integer, got {n_repeats!r}")
    Xtr, Xte, ytr, yte = _split(X, y, test_size, random_state)
    model = clone(estimator).fit(Xtr, ytr)
    r = permutation_importance(model, Xte, yte, n_repeats=n_repeats, scoring=scoring,
                               random_state=_sklearn_random_state(random_state),
                               n_jobs=n_jobs)
    imp = r.importances  # (d, n_repeats)
    p = (1 + (imp <= 0).sum(1)) / (1 + n_repeats)
    return pd.DataFrame({"feature": names, "statistic": imp.mean(1),
                         "importance_std": imp.std(1), "p_value": p})


def loco_test(estimator, X, y, *, test_size=0.25, test="t", feature_names=None,
              random_state=None, verbose=0):
    """Leave-one-covariate-out (Lei et al. 2018): paired test of held-out squared errors.

    The full model and, for each j, a model without column j are fitted on a training
    split. On the test split d_i = (y_i − f̂_{−j}(x_i))² − (y_i − f̂(x_i))², and H0: E d ≤ 0 is
    tested against E d > 0 by a one-sided paired t-test (``test="t"``) or Wilcoxon signed-rank
    test (``test="wilcoxon"``).

    Parameters
    ----------
    estimator : scikit-learn regressor (unfitted; it is cloned)
    X : array-like (n, d)
    y : array-like (n,)
    test_size : float, default 0.25
    test : {"t", "wilcoxon"}
    feature_names : list of str, optional
    random_state : int or None
        Seeds the split (and is passed on to nothing else: seed the estimator yourself).
    verbose : int, default 0

    Returns
    -------
    DataFrame with columns ``feature, statistic (mean loss increase), std_err, p_value``.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = X[:, 0] + 0.5 * rng.normal(size=300)
    >>> res = loco_test(LinearRegression(), X, y, random_state=0)
    >>> bool(res.p_value[0] < 1e-6), bool(res.p_value[1] > 0.01)
    (True, True)
    """
    X, y, names = _check(X, y, feature_names, min_samples=8)
    if test not in ("t", "wilcoxon"):
        raise ValueError(f"test must be 't' or 'wilcoxon', got {test!r}")
    if X.shape[1] < 2:
        raise ValueError(f"X must have at least 2 columns for LOCO, got {X.shape[1]}")
    Xtr, Xte, ytr, yte = _split(X, y, test_size, random_state)
    loss_full = (yte - clone(estimator).fit(Xtr, ytr).predict(Xte)) ** 2
    rows = []
    for j in progress(range(X.shape[1]), verbose, desc="LOCO"):
        keep = np.arange(X.shape[1]) != j
        red = clone(estimator).fit(Xtr[:, keep], ytr)
        d = (yte - red.predict(Xte[:, keep])) ** 2 - loss_full
        if np.allclose(d, 0):
            p = 1.0
        elif test == "t":
            p = stats.ttest_1samp(d, 0.0, alternative="greater").pvalue
        else:
            p = stats.wilcoxon(d, alternative="greater").pvalue
        rows.append((names[j], d.mean(), d.std(ddof=1) / np.sqrt(len(d)), float(p)))
    return pd.DataFrame(rows, columns=["feature", "statistic", "std_err", "p_value"])


# --------------------------------------------------------------------------- plain networks
def _init_mlps(m, sizes, gen):
    """LeCun-uniform weights of m independent MLPs: list of (W (m,out,in), b (m,out))."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        W = (torch.rand(m, fan_out, fan_in, generator=gen) * 2 - 1) * bound * np.sqrt(3)
        b = (torch.rand(m, fan_out, generator=gen) * 2 - 1) * bound
        params.append((W.requires_grad_(), b.requires_grad_()))
    return params


def _forward(params, X, act):
    """Batched MLP forward. X: (n, d) shared or (m, n, d). Returns (m, n)."""
    h = X
    for l, (W, b) in enumerate(params):
        if h.dim() == 2:
            h = torch.einsum("nd,mhd->mnh", h, W) + b[:, None, :]
        else:
            h = torch.einsum("mnd,mhd->mnh", h, W) + b[:, None, :]
        if l < len(params) - 1:
            h = act(h)
    return h[..., 0]


def _train_mlps(X, Y, hidden, activation, epochs, lr, weight_decay, seed, mask=None):
    """Fit m MLPs by full-batch Adam on standardised data.

    X : (n, d) standardised, shared; Y : (m, n) standardised targets; mask : (m, d) of input
    columns each network may use (None: all). Returns the list of (W, b), detached.
    """
    gen = torch.Generator().manual_seed(int(seed))
    m = Y.shape[0]
    params = _init_mlps(m, [X.shape[1], *hidden, 1], gen)
    act = ACTIVATIONS[activation][0]
    opt = torch.optim.Adam([t for p in params for t in p], lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.5)
    Xin = X if mask is None else X[None] * mask[:, None, :]
    for _ in range(epochs):
        opt.zero_grad()
        loss = ((_forward(params, Xin, act) - Y) ** 2).mean(1).sum()
        loss.backward()
        opt.step()
        sched.step()
    return [(W.detach(), b.detach()) for W, b in params]


def _standardise(X, y):
    mx, sx = X.mean(0), X.std(0)
    sx = np.where(sx > 0, sx, 1.0)
    my, sy = y.mean(), y.std()
    sy = sy if sy > 0 else 1.0
    return (X - mx) / sx, (y - my) / sy, (mx, sx, my, sy)


def fit_mlp(X, y, *, hidden=(20, 20, 20), activation="relu", epochs=1000, lr=0.01,
            weight_decay=0.0, random_state=None):
    """A plain (non-Bayesian) MLP regressor fitted by full-batch Adam, as a torch module.

    Inputs and target are standardised for training and the standardisation is folded
    into the first and last layers, so the returned :class:`torch.nn.Sequential` maps the
    user's X to the user's y units. This is the "point estimate from a plain network" the
    attribution baselines of the paper use.

    Parameters
    ----------
    X : array-like (n, d)
    y : array-like (n,)
    hidden : tuple of int, default (20, 20, 20)
    activation : {"relu", "tanh", "sigmoid", "gelu"}
    epochs : int, default 1000
        Full-batch Adam steps (learning rate halved every epochs/3).
    lr, weight_decay : float
    random_state : int or None

    Returns
    -------
    torch.nn.Sequential with output shape (n, 1).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2)); y = X[:, 0] ** 2
    >>> net = fit_mlp(X, y, hidden=(16,), epochs=300, random_state=0)
    >>> pred = net(torch.as_tensor(X, dtype=torch.float32)).detach().numpy()[:, 0]
    >>> bool(np.mean((pred - y) ** 2) < 0.01)
    True
    """
    X, y, _ = _check(X, y)
    check_activation(activation)
    Xs, ys, (mx, sx, my, sy) = _standardise(X, y)
    seed = check_random_state(random_state).randint(2**31 - 1)
    params = _train_mlps(torch.as_tensor(Xs, dtype=torch.float32),
                         torch.as_tensor(ys, dtype=torch.float32)[None], tuple(hidden),
                         activation, epochs, lr, weight_decay, seed)
    return _to_sequential(params, activation, mx, sx, my, sy, index=0)


def _to_sequential(params, activation, mx, sx, my, sy, index=0):
    """Network ``index`` of the stacked ``params`` in the user's units, as a Sequential.

    The standardisation is folded in float64 by :func:`~nfbst.posterior.fold_standardization`
    and the result rounded to float32, then built by :meth:`PosteriorDraws.module`.
    """
    W = [w[index:index + 1].double() for w, _ in params]
    b = [c[index:index + 1].double() for _, c in params]
    W, b = fold_standardization(W, b, torch.as_tensor(mx), torch.as_tensor(sx),
                                torch.tensor([float(my)], dtype=torch.float64),
                                torch.tensor([float(sy)], dtype=torch.float64))
    draws = PosteriorDraws([w.float() for w in W], [c.float() for c in b], activation=activation)
    return draws.module(0)


def _mean_sq_grad(params, X, act, mask=None):
    """mean_i (∂f/∂x_ij)² for each network: (m, d), in standardised units."""
    m = params[0][0].shape[0]
    Xm = X.expand(m, *X.shape).clone()
    if mask is not None:
        Xm = Xm * mask[:, None, :]
    Xm.requires_grad_(True)
    _forward(params, Xm, act).sum().backward()
    return (Xm.grad**2).mean(1)


def gradient_test(X, y, *, hidden=(20,), activation="relu", n_bootstraps=49, epochs=500,
                  lr=0.01, weight_decay=0.0, features=None, chunk_size=64,
                  feature_names=None, random_state=None, verbose=0):
    """Horel & Giesecke (2020) gradient statistic with a residual-bootstrap null.

    Statistic: λ_j = mean_i (∂f̂(x_i)/∂x_j)² of an MLP f̂ fitted to (X, y) (inputs and
    target standardised, so λ_j is unit-free; H&G use one hidden layer, the default).
    Null of feature j: a network g_j fitted without x_j gives y*_b = g_j(X) + ε*_b
    (ε*_b resampled centred residuals of g_j); the full network is refitted to each
    (X, y*_b) with the same settings and λ*_{j,b} recorded. The p-value is
    (1 + #{λ*_{j,b} ≥ λ_j}) / (1 + B). All d·(B + 1) refits are batched into stacked weight
    tensors and trained together (``chunk_size`` networks at a time).

    Parameters
    ----------
    X : array-like (n, d)
    y : array-like (n,)
    hidden : tuple of int, default (20,)
    activation : {"relu", "tanh", "sigmoid", "gelu"}
    n_bootstraps : int, default 49
        B; the smallest attainable p-value is 1/(B + 1).
    epochs, lr, weight_decay :
        Full-batch Adam settings shared by all fits.
    features : list of int, optional
        Columns to test (default all); the others get NaN.
    chunk_size : int, default 64
        Networks trained together.
    feature_names : list of str, optional
    random_state : int or None
    verbose : int, default 0

    Returns
    -------
    DataFrame with columns ``feature, statistic, null_mean, p_value``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2)); y = X[:, 0] ** 2 + 0.1 * rng.normal(size=200)
    >>> res = gradient_test(X, y, n_bootstraps=9, epochs=200, random_state=0)
    >>> bool(res.p_value[0] <= 0.1)
    True
    """
    X, y, names = _check(X, y, feature_names, min_samples=8)
    check_activation(activation)
    if not (isinstance(n_bootstraps, int | np.integer) and n_bootstraps >= 1):
        raise ValueError(f"n_bootstraps must be a positive integer, got {n_bootstraps!r}")
    n, d = X.shape
    features = list(range(d)) if features is None else [int(j) for j in features]
    if any(not 0 <= j < d for j in features):
        raise ValueError(f"features must be column indices in [0, {d}), got {features}")
    rng = check_random_state(random_state)
    act = ACTIVATIONS[activation][0]
    Xs, ys, _ = _standardise(X, y)
    Xt = torch.as_tensor(Xs, dtype=torch.float32)
    yt = torch.as_tensor(ys, dtype=torch.float32)
    hidden = tuple(hidden)

    def fit(Y, mask=None):
        return _train_mlps(Xt, Y, hidden, activation, epochs, lr, weight_decay,
                           rng.randint(2**31 - 1), mask)

    lam = _mean_sq_grad(fit(yt[None]), Xt, act)[0].numpy()
    # reduced fits g_j, all tested features at once (column j masked out)
    mask = torch.ones(len(features), d)
    mask[torch.arange(len(features)), torch.as_tensor(features)] = 0.0
    red = fit(yt.expand(len(features), n), mask)
    with torch.no_grad():
        g = _forward(red, Xt[None] * mask[:, None, :], act)  # (k, n)
    resid = (yt[None] - g).numpy()
    resid -= resid.mean(1, keepdims=True)
    jobs = [(k, b) for k in range(len(features)) for b in range(n_bootstraps)]
    null = np.empty((len(features), n_bootstraps))
    for start in progress(range(0, len(jobs), chunk_size), verbose,
                          desc="gradient bootstrap"):
        chunk = jobs[start:start + chunk_size]
        Ystar = np.stack([g[k].numpy() + resid[k, rng.randint(0, n, size=n)] for k, _ in chunk])
        params = fit(torch.as_tensor(Ystar, dtype=torch.float32))
        msg = _mean_sq_grad(params, Xt, act).numpy()
        for i, (k, b) in enumerate(chunk):
            null[k, b] = msg[i, features[k]]
    stat = np.full(d, np.nan)
    pval = np.full(d, np.nan)
    nmean = np.full(d, np.nan)
    for k, j in enumerate(features):
        stat[j] = lam[j]
        nmean[j] = null[k].mean()
        pval[j] = (1 + (null[k] >= lam[j]).sum()) / (1 + n_bootstraps)
    return pd.DataFrame({"feature": names, "statistic": stat, "null_mean": nmean,
                         "p_value": pval})
