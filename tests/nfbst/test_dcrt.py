"""The distilled CRT (nfbst.dcrt): exact p-values on every row, and NFBST(calibration="dcrt")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nfbst import NFBST, BayesianMLP
from nfbst.crt import GroupConditional
from nfbst.dcrt import distilled_pvalues, min_p_pvalue, regression_sums


def test_regression_sums_equal_least_squares_also_for_collinear_columns():
    rng = np.random.default_rng(1)
    B = rng.normal(size=(4, 80, 3))
    B = np.concatenate([B, B[..., :1] + B[..., 1:2]], -1)  # a collinear fourth column
    R = rng.normal(size=(80, 2))
    for b, got in zip(B, regression_sums(B, R)):
        fit = b @ np.linalg.lstsq(b, R, rcond=None)[0]
        assert got == pytest.approx(float((fit**2).sum()), rel=1e-8)


def test_min_p_is_uniform_under_exchangeability():
    # K + 1 exchangeable rows of 3 correlated statistics: P(p <= a) = floor(a (K+1)) / (K+1)
    rng = np.random.default_rng(2)
    K, trials = 19, 4000
    z = rng.normal(size=(trials, K + 1, 1))
    T = np.concatenate([z, z + 0.5 * rng.normal(size=(trials, K + 1, 2))], -1)
    p = np.array([min_p_pvalue(t) for t in T])
    for a in (0.05, 0.2, 0.5):
        expected = np.floor(a * (K + 1) + 1e-9) / (K + 1)
        sd = np.sqrt(expected * (1 - expected) / trials)
        assert abs((p <= a + 1e-12).mean() - expected) < 4 * sd


def _data(seed, n=200, beta=0.0, rho=0.5):
    rng = np.random.default_rng(seed)
    C = np.full((3, 3), rho) + (1 - rho) * np.eye(3)
    X = rng.multivariate_normal(np.zeros(3), C, size=n)
    y = beta * X[:, 0] + np.sin(X[:, 1]) + rng.normal(size=n)
    return X, y


def test_distilled_pvalues_are_uniform_under_the_null_with_correlated_inputs():
    # x0 is null; the distillation knows the truth without x0 (sin x1): p over 300 data sets
    p = []
    for seed in range(300):
        X, y = _data(seed)
        groups = [np.array([0])]
        r = (y - np.sin(X[:, 1]))[:, None]
        p.append(distilled_pvalues(X, r, GroupConditional(X, groups), groups,
                                   n_randomizations=19, random_state=seed)[0, 0])
    p = np.array(p)
    assert stats.kstest(p + np.random.default_rng(0).uniform(-1 / 20, 0, p.size),
                        "uniform").pvalue > 0.001
    assert (p <= 0.05).mean() < 0.05 + 3 * np.sqrt(0.05 * 0.95 / p.size)


def test_distilled_pvalues_find_a_linear_and_a_quadratic_effect():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    y = 0.4 * X[:, 0] + 0.5 * (X[:, 1] ** 2 - 1) + rng.normal(size=300)
    groups = [np.array([j]) for j in range(3)]
    r = np.stack([y - y.mean()] * 3, 1)
    p = distilled_pvalues(X, r, GroupConditional(X, groups), groups, n_randomizations=99,
                          random_state=0)[0]
    assert p[0] <= 0.02 and p[1] <= 0.02 and p[2] > 0.05


def test_bad_arguments_name_themselves():
    X = np.random.default_rng(0).normal(size=(30, 2))
    groups = [np.array([0]), np.array([1])]
    cond = GroupConditional(X, groups)
    with pytest.raises(ValueError, match="residuals must have shape"):
        distilled_pvalues(X, np.zeros((30, 3)), cond, groups)
    with pytest.raises(ValueError, match="bases must be"):
        distilled_pvalues(X, np.zeros((30, 2)), cond, groups, bases=("cubic",))
    with pytest.raises(ValueError, match="n_randomizations"):
        distilled_pvalues(X, np.zeros((30, 2)), cond, groups, n_randomizations=0)


def _nfbst(**kw):
    return NFBST(model=BayesianMLP(hidden=(10,), n_steps=300), n_posterior_samples=40,
                 n_randomizations=19, random_state=0, calibration="dcrt", holdout=None, **kw)


def test_nfbst_dcrt_on_a_table_with_a_category_and_a_classification():
    rng = np.random.default_rng(4)
    n = 240
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "clinic": rng.choice(["n", "s", "e"], n)})
    y = X["a"] + 1.5 * (X["clinic"] == "s") + 0.5 * rng.normal(size=n)
    with pytest.warns(UserWarning, match="posterior draws"):
        res = _nfbst().fit(X, y).test()
    assert res.feature_names == ["a", "b", "clinic"]
    assert res.details["crt_statistic"] == "dcrt"
    assert res.p_value[0] == pytest.approx(0.05) and res.p_value[2] == pytest.approx(0.05)
    assert res.p_value[1] > 0.05
    yc = (X["a"] + 0.3 * rng.normal(size=n) > 0).astype(int)
    test = NFBST(model=BayesianMLP(hidden=(10,), n_steps=300, task="classification"),
                 n_posterior_samples=40, n_randomizations=19, random_state=0,
                 calibration="dcrt", holdout=None).fit(X[["a", "b"]], yc)
    with pytest.warns(UserWarning, match="posterior draws"):
        p = test.test().p_value
    assert p[0] == pytest.approx(0.05) and p[1] > 0.05


def test_nfbst_dcrt_errors_name_the_fix():
    X, y = _data(0, n=60, beta=1.0)
    with pytest.raises(ValueError, match="takes no holdout.*holdout=None"):
        NFBST(calibration="dcrt").fit(X, y)
    test = NFBST(model=BayesianMLP(hidden=(5,), n_steps=50), n_posterior_samples=20,
                 calibration="none", holdout=None, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="fitted by fit\\(\\)"):
        test.test(calibration="dcrt")
    test = _nfbst().fit(X, y)
    with pytest.raises(ValueError, match="no per-instance form"):
        test.test(scope="instance", calibration="dcrt")
    masks = {"left": X[:, 1] < 0, "right": X[:, 1] >= 0}
    with pytest.warns(UserWarning, match="posterior draws"):
        res = test.test(X, y, scope="local", regions=masks)
    assert res.p_value.shape == (2, 3)
