"""Resampling and held-out-split tests: pairs bootstrap (and the paper's bootstrap z-test),
permutation importance with a permutation p-value, leave-one-covariate-out."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

from probconstraints._progress import progress
from probconstraints._random import RandomStateLike, check_random_state_arg

from .._validation import check_float, check_int
from .._validation import local_random_state as check_random_state
from ._common import F64, _check, _design, _ols, _warn_inestimable


def _bootstrap_coefs(X: F64, y: F64, n_bootstraps: int, n_samples: int,
                     rng: np.random.RandomState, verbose: int, desc: str) -> F64:
    n = len(X)
    out = np.empty((n_bootstraps, X.shape[1]))
    for b in progress(range(n_bootstraps), verbose, desc=desc):
        idx = rng.randint(0, n, size=n_samples)
        out[b] = _ols(_design(X[idx], True), y[idx])[0][1:]
    return out


def bootstrap_test(X: ArrayLike, y: ArrayLike, *, n_bootstraps: int = 1000,
                   confidence: float = 0.95, feature_names: Sequence[object] | None = None,
                   random_state: RandomStateLike = None, verbose: int = 0) -> pd.DataFrame:
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
    for column in (coef, lo, hi, stat, p):
        column[bad] = np.nan
    return pd.DataFrame({"feature": names, "coef": coef, "ci_low": lo, "ci_high": hi,
                         "statistic": stat, "p_value": p})


def paper_bootstrap_z_test(X: ArrayLike, y: ArrayLike, *, n_bootstraps: int = 1000,
                           n_samples_per_bootstrap: int = 1000,
                           feature_names: Sequence[object] | None = None,
                           random_state: RandomStateLike = None, verbose: int = 0
                           ) -> pd.DataFrame:
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


def _sklearn_random_state(random_state: RandomStateLike
                          ) -> int | np.integer | np.random.RandomState:
    """What scikit-learn accepts: ints as they are (same results as before); None, a RandomState
    or a numpy Generator as a RandomState that is not numpy's global one."""
    random_state = check_random_state_arg(random_state)
    if isinstance(random_state, (int, np.integer)):
        return random_state
    return check_random_state(random_state)  # None: fresh entropy, not numpy's global state


def _split(X: F64, y: F64, test_size: float, random_state: RandomStateLike) -> list[F64]:
    test_size = check_float(test_size, "test_size", 0, 1)
    return train_test_split(X, y, test_size=test_size,
                            random_state=_sklearn_random_state(random_state))


def permutation_test(estimator: Any, X: ArrayLike, y: ArrayLike, *, n_repeats: int = 100,
                     test_size: float = 0.25, scoring: str | Callable[..., float] | None = None,
                     feature_names: Sequence[object] | None = None,
                     random_state: RandomStateLike = None, n_jobs: int | None = None
                     ) -> pd.DataFrame:
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


def loco_test(estimator: Any, X: ArrayLike, y: ArrayLike, *, test_size: float = 0.25,
              test: str = "t", feature_names: Sequence[object] | None = None,
              random_state: RandomStateLike = None, verbose: int = 0) -> pd.DataFrame:
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
