"""Conditional randomization test: samplers, exact validity for a fixed function, held-out
rows, rules, decisions, persistence and errors."""

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.linear_model import LinearRegression

from nfbst import NFBST, BayesianMLP, evidence_value
from nfbst.crt import LinearConditional, crt_pvalues, pvalue_mc_sd
from nfbst.posterior import PosteriorDraws


def _linear_draws(coef, S=8, spread=0.0, seed=0):
    """Draws of the linear function x ↦ coef · x (+ optional spread between draws)."""
    g = torch.Generator().manual_seed(seed)
    coef = torch.as_tensor(coef, dtype=torch.float32)
    W = coef[None, None, :] + spread * torch.randn(S, 1, len(coef), generator=g)
    return PosteriorDraws([W], [torch.zeros(S, 1)], activation="relu")


def _correlated(n, d, rho, rng):
    cov = np.full((d, d), rho) + (1 - rho) * np.eye(d)
    return rng.multivariate_normal(np.zeros(d), cov, size=n)


def test_linear_conditional_equals_the_gaussian_conditional_of_the_sample_covariance():
    """scikit-learn's regression of x_j on the rest, and 1/Ω_jj of the ddof=1 covariance."""
    rng = np.random.default_rng(0)
    X = _correlated(400, 4, 0.6, rng) + rng.normal(size=4)
    cond = LinearConditional(X)
    omega = np.linalg.inv(np.cov(X, rowvar=False))
    for j in range(4):
        rest = np.delete(X, j, axis=1)
        ols = LinearRegression().fit(rest, X[:, j])
        np.testing.assert_allclose(cond.conditional_mean(X, j), ols.predict(rest), atol=1e-10)
        assert cond.conditional_sd[j] == pytest.approx(1 / np.sqrt(omega[j, j]), rel=1e-10)


def test_residual_permutation_sampler_keeps_the_residual_multiset():
    rng = np.random.default_rng(1)
    X = _correlated(50, 3, 0.5, rng)
    cond = LinearConditional(X, residuals="permutation")
    draws = cond(X, 1, 5, rng)
    mu = cond.conditional_mean(X, 1)
    for row in draws:  # the permuted residuals of x1 on the rest, added to its fitted mean
        np.testing.assert_allclose(np.sort(row - mu), np.sort(X[:, 1] - mu), atol=1e-12)


def test_crt_pvalue_formula_counts_ties_and_has_mc_sd():
    T_null = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 5.0]])
    np.testing.assert_allclose(crt_pvalues(np.array([2.0, 1.0]), T_null), [3 / 4, 2 / 4])
    assert pvalue_mc_sd(np.array([0.5]), 100)[0] == pytest.approx(0.05)


def test_crt_on_fresh_data_is_uniform_for_a_spurious_feature_and_powerful_for_a_real_one():
    """Exact validity: the function is fixed (independent of the test rows), x1 is null in the
    truth but used by the function, inputs correlated 0.6 — p-values of x1 are Uniform."""
    draws = _linear_draws([1.0, 0.3, 0.0])
    p_null, p_real = [], []
    for seed in range(150):
        rng = np.random.default_rng(seed)
        X = _correlated(40, 3, 0.6, rng)
        y = X[:, 0] + rng.standard_normal(40)
        res = NFBST.from_draws(draws, n_randomizations=39, random_state=seed).test(X, y)
        p_null.append(res.p_value[1])
        p_real.append(res.p_value[0])
    p_null = np.array(p_null)
    assert stats.kstest(p_null, "uniform").pvalue > 0.01
    assert abs((p_null <= 0.1).mean() - 0.1) < 3 * np.sqrt(0.1 * 0.9 / 150)
    assert np.mean(np.array(p_real) <= 0.05) > 0.9


def test_sampler_returning_the_real_column_gives_p_value_one():
    draws = _linear_draws([1.0, -1.0])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = X[:, 0] - X[:, 1]

    def identity(X, j, n_draws, rng):
        return np.repeat(X[None, :, j], n_draws, axis=0)

    res = NFBST.from_draws(draws, sampler=identity, n_randomizations=9).test(X, y)
    np.testing.assert_array_equal(res.p_value, 1.0)


@pytest.fixture(scope="module")
def held_out():
    rng = np.random.default_rng(3)
    X = _correlated(300, 4, 0.5, rng)
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 + 0.3 * rng.standard_normal(300)
    test = NFBST(model=BayesianMLP(hidden=(16,), activation="tanh", n_steps=600),
                 n_posterior_samples=60, random_state=0).fit(X, y)
    return test, X, y


def test_default_holds_out_rows_and_detects_nonmonotone_effects(held_out):
    test, X, y = held_out
    assert len(test.holdout_index_) == 90 and len(test.train_index_) == 210
    assert not set(test.holdout_index_) & set(test.train_index_)
    res = test.test(X)  # the X given to fit: CRT on its held-out rows, evidence on all rows
    np.testing.assert_array_equal(res.details["crt_rows"], test.holdout_index_)
    assert res.evidence.shape == res.p_value.shape == (4,)
    # x1 enters as x1², a non-monotone effect the average-gradient rule cannot see
    assert res.p_value[0] < 0.05 and res.p_value[1] < 0.05
    assert res.significant()[:2].all()
    np.testing.assert_array_equal(res.significant(), res.p_value < 0.05)
    np.testing.assert_array_equal(test.test().p_value, res.p_value)
    frame = res.to_frame()
    assert {"p_value", "p_value_mc_sd"} <= set(frame.columns)


def test_crt_on_training_rows_warns_that_it_is_anti_conservative(held_out):
    test, X, y = held_out
    with pytest.warns(UserWarning, match="anti-conservative"):
        test.test(X[test.train_index_], y[test.train_index_])


def test_mean_rule_is_the_evidence_of_the_row_averaged_statistic(held_out):
    test, X, _ = held_out
    Xs = X[:50]
    eta = test.statistic_samples(Xs)
    res = test.test(Xs, rule="mean", calibration="none")
    np.testing.assert_allclose(res.evidence, evidence_value(eta.mean(1), axis=0))
    assert res.p_value is None


def test_local_scope_gets_a_pvalue_per_region(held_out):
    test, X, _ = held_out
    res = test.test(X, scope="local", regions={"x2<0": X[:, 2] < 0, "x2>=0": X[:, 2] >= 0})
    assert res.p_value.shape == (2, 4)
    assert np.all((res.p_value > 0) & (res.p_value <= 1))


def test_attribution_rule_crt_and_per_instance_crt_run(held_out):
    test, X, y = held_out
    rows = test.holdout_index_[:10]
    res = test.test(X[rows], y[rows], rule="aggregate", crt_statistic="rule",
                    n_randomizations=9)
    assert res.p_value.shape == (4,) and res.p_value.min() >= 0.1
    inst = test.test(X[rows], y[rows], scope="instance", calibration="crt",
                     n_randomizations=9)
    assert inst.p_value.shape == (10, 4)
    assert test.test(X[rows], y[rows], scope="instance").p_value is None


def test_classification_crt_uses_the_log_loss():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(240, 3))
    y = np.where(X[:, 0] + 0.2 * rng.standard_normal(240) > 0, "a", "b")
    res = NFBST(model=BayesianMLP(hidden=(8,), task="classification", n_steps=400),
                n_posterior_samples=30, n_randomizations=39, random_state=0).fit(X, y).test()
    assert res.p_value[0] < 0.05 and res.p_value[2] > 0.05


def test_save_load_keeps_held_out_rows_and_pvalues(tmp_path, held_out):
    test, X, _ = held_out
    before = test.test(n_randomizations=19)
    test.save(tmp_path / "t")
    again = NFBST.load(tmp_path / "t")
    np.testing.assert_array_equal(again.holdout_index_, test.holdout_index_)
    np.testing.assert_array_equal(again.test(n_randomizations=19).p_value, before.p_value)


def test_paper_preset_is_q_gs_without_calibration_or_holdout():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2))
    y = X[:, 0] + rng.standard_normal(60)
    test = NFBST(preset="paper", model=BayesianMLP(hidden=(4,), n_steps=50),
                 n_posterior_samples=20, random_state=0).fit(X, y)
    assert not hasattr(test, "holdout_index_")
    res = test.test(X)
    assert res.p_value is None and res.details["rule"] == "quantile"


def test_constant_column_is_reported_not_testable_by_the_crt():
    rng = np.random.default_rng(6)
    X = np.column_stack([rng.normal(size=(40, 2)), np.ones(40)])
    with pytest.raises(ValueError, match=r"feature\(s\) \[2\] are constant"):
        LinearConditional(X)  # the single-column model still refuses it
    with pytest.warns(UserWarning, match=r"1 of 3 columns are constant .*\['x2'\]\); "
                                         r"their CRT p-value is NaN"):
        res = NFBST.from_draws(_linear_draws(np.ones(3)), n_randomizations=19,
                               random_state=0).test(X, X[:, 0])
    assert np.isnan(res.p_value[2]) and res.evidence[2] == 0.0  # the slope is 1 in every draw
    assert np.isfinite(res.p_value[:2]).all() and res.not_testable == {
        "x2": "constant in the rows tested: no variation to test"}
    frame = res.to_frame()
    assert frame["note"].tolist()[2].startswith("constant") and not frame["note"][0]


@pytest.mark.parametrize("sampler, match", [
    ("gaussian", r"\[0, 1, 2\] are determined by the other"),
    ("auto", r"'x2' \(columns \[2\]\) is nearly determined by the other columns"),
])
def test_column_determined_by_the_others_gets_p_value_one_with_a_warning(sampler, match):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 2))
    X = np.column_stack([X, X[:, 0] + 2 * X[:, 1]])  # like surface = wall + 2 × roof
    y = X[:, 2] + 0.1 * rng.standard_normal(60)
    with pytest.warns(UserWarning, match=match):
        res = NFBST.from_draws(_linear_draws([0.0, 0.0, 1.0]), sampler=sampler).test(X, y)
    np.testing.assert_array_equal(res.p_value, 1.0)


@pytest.mark.parametrize(
    "sampler, match",
    [
        (lambda X, j, k, rng: np.zeros((k, len(X) + 1)), "sampler returned shape"),
        (lambda X, j, k, rng: np.full((k, len(X)), np.nan), "NaN"),
    ],
)
def test_bad_sampler_output_is_refused(sampler, match):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match=match):
        NFBST.from_draws(_linear_draws([1.0, 0.0]), sampler=sampler).test(X, X[:, 0])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_randomizations=2.7), "n_randomizations must be an int >= 1, got 2.7"),
        (dict(n_randomizations=0), "n_randomizations"),
        (dict(n_posterior_samples=2.7), "n_posterior_samples"),
        (dict(holdout=1.5), "holdout must be None or a fraction"),
        (dict(calibration="bootstrap"), "calibration must be one of"),
        (dict(crt_statistic="r2"), "crt_statistic must be one of"),
        (dict(sampler="knockoff"), "sampler must be one of"),
        (dict(rule="median"), "rule must be one of"),
        (dict(preset="new"), "preset must be one of"),
    ],
)
def test_bad_settings_are_refused_before_fitting(params, match):
    X = np.random.default_rng(8).normal(size=(30, 2))
    with pytest.raises(ValueError, match=match):
        NFBST(model=BayesianMLP(n_steps=10**9), **params).fit(X, X[:, 0])


def test_crt_needs_targets_and_enough_held_out_rows():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(30, 2))
    with pytest.raises(ValueError, match="needs the targets"):
        NFBST.from_draws(_linear_draws([1.0, 0.0])).test(X)
    with pytest.raises(ValueError, match="held-out rows"):
        NFBST(holdout=0.01, model=BayesianMLP(n_steps=10)).fit(X, X[:, 0])
