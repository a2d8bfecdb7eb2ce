"""Classical baselines against closed forms (scipy) and known null / relevant features."""

import re

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.linear_model import Lasso, LinearRegression

from nfbst.baselines import (
    bootstrap_test,
    fit_mlp,
    gradient_test,
    likelihood_ratio_test,
    loco_test,
    ols_t_test,
    paper_bootstrap_z_test,
    paper_likelihood_ratio_test,
    paper_t_test,
    permutation_test,
)


def _data(n=400, d=4, seed=0, beta=(1.0, -0.5, 0.0, 0.0), noise=1.0, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + shift
    y = X @ np.asarray(beta[:d]) + noise * rng.normal(size=n)
    return X, y


def test_t_test_equals_scipy_linregress_in_one_dimension():
    X, y = _data(d=1, beta=(0.1,), seed=3)
    ref = stats.linregress(X[:, 0], y)
    res = ols_t_test(X, y)
    assert res.coef[0] == pytest.approx(ref.slope, rel=1e-10)
    assert res.std_err[0] == pytest.approx(ref.stderr, rel=1e-10)
    assert res.p_value[0] == pytest.approx(ref.pvalue, rel=1e-8)


def test_t_squared_equals_drop_one_f_statistic():
    X, y = _data(d=4, seed=1)
    t = ols_t_test(X, y)
    lr = likelihood_ratio_test(X, y)
    np.testing.assert_allclose(t.statistic**2, lr.f_statistic, rtol=1e-8)
    np.testing.assert_allclose(t.p_value, lr.f_p_value, rtol=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lr_statistic_equals_explicit_drop_one_refits(fit_intercept):
    X, y = _data(d=4, seed=6, shift=0.5)
    y = y + 3.0
    A = np.column_stack([np.ones(len(X)), X]) if fit_intercept else X
    rss = np.sum((y - A @ np.linalg.lstsq(A, y, rcond=None)[0]) ** 2)
    k = int(fit_intercept)
    expected = []
    for j in range(X.shape[1]):
        Ar = np.delete(A, k + j, axis=1)
        rss_j = np.sum((y - Ar @ np.linalg.lstsq(Ar, y, rcond=None)[0]) ** 2)
        expected.append(len(y) * np.log(rss_j / rss))
    res = likelihood_ratio_test(X, y, fit_intercept=fit_intercept)
    np.testing.assert_allclose(res.statistic, expected, rtol=1e-7)


def test_lr_statistic_is_n_log_of_one_minus_r_squared_in_one_dimension():
    X, y = _data(d=1, beta=(0.2,), seed=4)
    r = stats.pearsonr(X[:, 0], y).statistic
    res = likelihood_ratio_test(X, y)
    assert res.statistic[0] == pytest.approx(-len(y) * np.log(1 - r**2), rel=1e-8)


def test_lr_p_value_converges_to_f_test_for_large_n():
    X, y = _data(n=20_000, d=3, beta=(0.02, 0.01, 0.0), seed=5)
    res = likelihood_ratio_test(X, y)
    np.testing.assert_allclose(res.p_value, res.f_p_value, atol=2e-3)


def test_paper_t_test_equals_ols_for_orthogonal_centred_columns():
    # Simple-regression SE equals the OLS SE exactly when the columns are centred and
    # mutually orthogonal (X'X diagonal, orthogonal to the intercept).
    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 3))
    X = np.linalg.qr(A - A.mean(0))[0] * 10
    y = X @ np.array([0.3, 0.0, -0.2]) + rng.normal(size=200)
    np.testing.assert_allclose(paper_t_test(X, y).p_value, ols_t_test(X, y).p_value, rtol=1e-8)
    # ... and differs when features are correlated
    Xc = np.column_stack([A[:, 0], A[:, 0] + 0.1 * A[:, 1]])
    yc = Xc[:, 0] + rng.normal(size=200)
    assert not np.allclose(paper_t_test(Xc, yc).std_err, ols_t_test(Xc, yc).std_err, rtol=0.5)


def test_paper_lrt_without_intercept_rejects_a_null_feature_with_non_zero_mean():
    # y = 8 + noise, x ~ U(0, 1) unrelated: without an intercept x proxies the level of y.
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(500, 2))
    y = 8 + rng.normal(size=500)
    assert paper_likelihood_ratio_test(X, y).p_value.max() < 1e-10
    assert likelihood_ratio_test(X, y).p_value.min() > 0.01


def test_bootstrap_interval_matches_ols_standard_error():
    X, y = _data(n=500, d=2, beta=(1.0, 0.0), seed=2)
    res = bootstrap_test(X, y, n_bootstraps=400, random_state=0)
    ols = ols_t_test(X, y)
    width = res.ci_high - res.ci_low
    np.testing.assert_allclose(width, 2 * 1.96 * ols.std_err, rtol=0.2)
    assert res.p_value[0] == pytest.approx(2 / 401)
    assert res.p_value[1] > 0.05


def test_bootstrap_same_seed_same_result_and_rejects_nan():
    X, y = _data(n=100, seed=0)
    a = bootstrap_test(X, y, n_bootstraps=50, random_state=7)
    b = bootstrap_test(X, y, n_bootstraps=50, random_state=7)
    assert a.equals(b)
    X[0, 0] = np.nan
    with pytest.raises(ValueError):
        bootstrap_test(X, y, n_bootstraps=50)


def test_paper_bootstrap_z_statistic_grows_like_sqrt_of_b():
    # The z-test on bootstrap means has SE sd/sqrt(B): a fixed coefficient's |z| doubles
    # when B quadruples, so it eventually rejects any non-zero sample coefficient.
    X, y = _data(n=300, d=2, beta=(0.05, 0.0), seed=11)
    z1 = paper_bootstrap_z_test(X, y, n_bootstraps=200, n_samples_per_bootstrap=300,
                                random_state=0).statistic.abs()
    z4 = paper_bootstrap_z_test(X, y, n_bootstraps=800, n_samples_per_bootstrap=300,
                                random_state=0).statistic.abs()
    np.testing.assert_allclose(z4 / z1, 2.0, rtol=0.25)


def test_permutation_p_value_is_one_for_an_ignored_feature_and_minimal_for_a_strong_one():
    X, y = _data(n=300, d=3, beta=(2.0, 0.0, 0.0), noise=0.3, seed=0)
    res = permutation_test(Lasso(alpha=0.2), X, y, n_repeats=30, random_state=0)
    assert res.p_value[0] == pytest.approx(1 / 31)
    assert res.p_value[1] == 1.0 and res.p_value[2] == 1.0


def test_loco_type_one_error_of_a_null_feature_at_most_nominal():
    rej = []
    for seed in range(40):
        X, y = _data(n=120, d=2, beta=(1.0, 0.0), seed=100 + seed)
        rej.append(loco_test(LinearRegression(), X, y, random_state=seed).p_value[1] < 0.1)
    assert np.mean(rej) <= 0.2
    X, y = _data(n=120, d=2, beta=(1.0, 0.0), seed=1)
    assert loco_test(LinearRegression(), X, y, random_state=0, test="wilcoxon").p_value[0] < 0.01


def test_fit_mlp_recovers_linear_gradient_in_user_units():
    rng = np.random.default_rng(0)
    X = rng.uniform(-10, 10, size=(300, 2))
    y = 3 * X[:, 0] - 2 * X[:, 1] + 50
    net = fit_mlp(X, y, hidden=(16,), activation="tanh", epochs=600, random_state=0)
    x = torch.tensor(X[:50], dtype=torch.float32, requires_grad=True)
    net(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy().mean(0), [3.0, -2.0], rtol=0.05)


def test_gradient_test_separates_relevant_from_null_feature():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=200)
    res = gradient_test(X, y, hidden=(10,), n_bootstraps=9, epochs=200, random_state=0)
    assert res.p_value[0] == pytest.approx(0.1)
    assert res.p_value[1] > 0.1
    assert res.statistic[0] > 10 * res.statistic[1]


def test_errors_name_the_argument():
    X, y = _data(n=50)
    with pytest.raises(ValueError, match="feature_names"):
        ols_t_test(X, y, feature_names=["a"])
    with pytest.raises(ValueError):
        ols_t_test(X, y[:-1])
    with pytest.raises(ValueError, match="n_bootstraps"):
        bootstrap_test(X, y, n_bootstraps=2)
    with pytest.raises(ValueError, match="test"):
        loco_test(LinearRegression(), X, y, test="z")
    with pytest.raises(ValueError, match="features"):
        gradient_test(X, y, features=[9])


def _reduced_t_test(A, y, j):
    """Independent truth: t-test of column j of a full-rank design by numpy lstsq + scipy."""
    coef, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    assert rank == A.shape[1]
    resid = y - A @ coef
    dfe = len(y) - rank
    se = np.sqrt(resid @ resid / dfe * np.linalg.inv(A.T @ A)[j, j])
    return coef[j], 2 * stats.t.sf(abs(coef[j] / se), dfe)


def test_collinear_columns_get_nan_with_a_warning_and_identified_ones_the_reduced_test():
    # energy data: surface area = wall area + 2 * roof area exactly
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X = np.column_stack([X, X[:, 1] + 2 * X[:, 2]])
    y = X[:, 0] + X[:, 3] + rng.normal(size=200)
    with pytest.warns(UserWarning, match=r"\['x1', 'x2', 'x3'\] cannot be estimated"):
        res = ols_t_test(X, y)
    assert np.isnan(res.p_value[1:]).all() and np.isnan(res.coef[1:]).all()
    coef0, p0 = _reduced_t_test(np.column_stack([np.ones(200), X[:, :3]]), y, 1)
    np.testing.assert_allclose([res.coef[0], res.p_value[0]], [coef0, p0], rtol=1e-8)
    with pytest.warns(UserWarning, match=r"\['x1', 'x2', 'x3'\] cannot be estimated"):
        lr = likelihood_ratio_test(X, y)
    assert np.isnan(lr.p_value[1:]).all() and lr.p_value[0] < 1e-6


@pytest.mark.parametrize(
    "make, bad",
    [
        (lambda X: np.column_stack([X, np.full(len(X), 3.0)]), ["x2"]),  # constant + intercept
        (lambda X: np.column_stack([X, X[:, 1]]), ["x1", "x2"]),  # duplicated column
    ],
)
def test_rank_deficient_design_never_reports_p_values_for_inestimable_coefficients(make, bad):
    rng = np.random.default_rng(1)
    X0 = rng.normal(size=(50, 2))
    y = X0[:, 0] + rng.normal(size=50)
    X = make(X0)
    assert np.linalg.matrix_rank(np.column_stack([np.ones(50), X])) == 3  # the truth: rank 3
    for fn in (ols_t_test, likelihood_ratio_test, paper_t_test):
        with pytest.warns(UserWarning, match=re.escape(str(bad)) + " cannot be estimated"):
            res = fn(X, y)
        nan = res.feature.isin(bad).to_numpy()
        assert np.isnan(res.p_value[nan]).all() and np.isfinite(res.p_value[~nan]).all()
    coef0, p0 = _reduced_t_test(np.column_stack([np.ones(50), X0]), y, 1)
    with pytest.warns(UserWarning):
        res = ols_t_test(X, y)
    np.testing.assert_allclose([res.coef[0], res.p_value[0]], [coef0, p0], rtol=1e-8)


def test_zero_residual_fit_reports_nan_with_a_warning():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 2))
    y = 1.0 + 2 * X[:, 0] - X[:, 1]  # exact: no noise
    with pytest.warns(UserWarning, match="zero residual"):
        res = ols_t_test(X, y)
    assert np.isnan(res.p_value).all() and np.isnan(res.std_err).all()
    with pytest.warns(UserWarning, match="zero residual"):
        assert np.isnan(likelihood_ratio_test(X, y).p_value).all()
    with pytest.warns(UserWarning, match="zero residual"):
        assert np.isnan(paper_t_test(X, y).p_value).all()
