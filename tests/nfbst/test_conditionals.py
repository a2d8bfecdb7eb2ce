"""Typed conditional models x_G | x_{-G}: kinds, fitted probabilities against scikit-learn,
support of the draws, validity of a CRT with them, overrides, diagnostics and errors."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from nfbst.conditionals import LOGISTIC_C, TypedConditional, infer_kinds
from nfbst.crt import GroupConditional


def _singles(d):
    return [np.array([j]) for j in range(d)]


def _sigmoid(t):
    return 1 / (1 + np.exp(-t))


def _binary_design(n, rng, a=-0.3, b=1.5):
    x0 = rng.normal(size=n)
    x1 = (rng.random(n) < _sigmoid(a + b * x0)).astype(float)
    return np.column_stack([x0, x1, rng.normal(size=n)])


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TypedConditional(*args, **kwargs)


def test_infer_kinds_names_binary_discrete_integer_continuous_and_one_hot_blocks():
    rng = np.random.default_rng(0)
    n = 300
    X = np.column_stack([
        rng.integers(0, 2, n) * 3.5,             # 2 values
        rng.integers(0, 6, n) * 0.1,             # 6 values
        rng.poisson(30, n),                      # many integers
        rng.normal(size=n),                      # continuous
        np.eye(3)[rng.integers(0, 3, n)],        # one-hot block
        rng.normal(size=(n, 2)),                 # a patch
    ])
    groups = _singles(4) + [np.array([4, 5, 6]), np.array([7, 8]), np.array([0, 3])]
    assert infer_kinds(X, groups) == ["binary", "discrete", "integer", "continuous",
                                      "categorical", "continuous", "continuous"]
    # 6 non-integer values above discrete_levels: continuous
    assert infer_kinds(X, _singles(3), discrete_levels=5)[1:] == ["continuous", "integer"]


def test_logistic_probabilities_equal_scikit_learns_fitted_on_standardised_predictors():
    rng = np.random.default_rng(1)
    X = _binary_design(400, rng)
    cond = _quiet(X, _singles(3), random_state=0)
    assert cond.models_[1] == "logistic"
    Z = StandardScaler().fit(X[:, [0, 2]])
    ref = LogisticRegression(C=LOGISTIC_C, max_iter=2000).fit(Z.transform(X[:, [0, 2]]), X[:, 1])
    Xnew = _binary_design(50, rng)
    np.testing.assert_allclose(cond.predict_proba(Xnew, 1),
                               ref.predict_proba(Z.transform(Xnew[:, [0, 2]])), atol=1e-5)


def test_binary_draws_take_its_two_values_with_the_fitted_probability():
    rng = np.random.default_rng(2)
    X = _binary_design(500, rng)
    X[:, 1] = np.where(X[:, 1] == 1, 7.0, 3.5)  # any two values
    cond = _quiet(X, _singles(3), random_state=0)
    K = 4000
    draws = cond(X[:20], 1, K, rng)[..., 0]  # (K, 20)
    assert set(np.unique(draws)) == {3.5, 7.0}
    p7 = cond.predict_proba(X[:20], 1)[:, 1]  # levels sorted: 3.5, 7.0
    freq = (draws == 7.0).mean(0)
    assert np.all(np.abs(freq - p7) <= 4 * np.sqrt(p7 * (1 - p7) / K) + 1e-9)


def test_categorical_draws_are_one_hot_rows_with_predict_proba_frequencies():
    rng = np.random.default_rng(3)
    n = 600
    x0 = rng.normal(size=n)
    logits = np.column_stack([np.zeros(n), 1.5 * x0, -x0 + 0.5])
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    level = (rng.random(n)[:, None] > probs.cumsum(1)).sum(1)
    X = np.column_stack([x0, np.eye(3)[level], rng.normal(size=n)])
    groups = [np.array([0]), np.array([1, 2, 3]), np.array([4])]
    cond = _quiet(X, groups, random_state=0)
    assert (cond.kinds_[1], cond.models_[1]) == ("categorical", "logistic")
    Z = StandardScaler().fit(X[:, [0, 4]])
    ref = LogisticRegression(C=LOGISTIC_C, max_iter=2000).fit(Z.transform(X[:, [0, 4]]), level)
    K = 4000
    draws = cond(X[:10], 1, K, rng)  # (K, 10, 3)
    assert np.all(draws.sum(-1) == 1) and np.isin(draws, (0.0, 1.0)).all()
    # levels_ are the sorted distinct rows: (0,0,1), (0,1,0), (1,0,0) = levels 2, 1, 0
    expected = ref.predict_proba(Z.transform(X[:10][:, [0, 4]]))[:, ::-1]
    np.testing.assert_allclose(cond.predict_proba(X[:10], 1), expected, atol=1e-5)
    freq = np.stack([(draws == lv).all(-1).mean(0) for lv in cond.levels_[1]], axis=1)
    assert np.all(np.abs(freq - expected) <= 4 * np.sqrt(expected * (1 - expected) / K) + 1e-9)


def test_gaussian_model_of_independent_columns_draws_their_mean_and_sd():
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.normal(2.0, 3.0, 5000), rng.normal(size=5000)])
    cond = _quiet(X, _singles(2), continuous="gaussian", random_state=0)
    draws = cond(X[:200], 0, 200, rng)[..., 0]
    assert abs(draws.mean() - 2.0) < 0.1 and abs(draws.std() - 3.0) < 0.1


def test_single_continuous_column_and_patch_draw_exactly_as_group_conditional():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 5))
    X[:, 1] += X[:, 0]
    groups = [np.array([0, 1]), np.array([2]), np.array([3, 4])]
    for name, residuals in (("gaussian", "gaussian"), ("residual_permutation", "permutation")):
        cond = _quiet(X, groups, continuous=name, random_state=0)
        ref = GroupConditional(X, groups, residuals)
        for g in range(3):
            a = cond(X[:30], g, 4, np.random.default_rng(9))
            b = ref(X[:30], g, 4, np.random.default_rng(9))
            np.testing.assert_array_equal(a, b)


def test_hurdle_draws_the_minimum_with_the_fitted_probability_and_stay_in_range():
    rng = np.random.default_rng(6)
    n = 1500
    x0 = rng.normal(size=n)
    zero = rng.random(n) < _sigmoid(-0.5 + x0)
    x1 = np.where(zero, 0.0, np.exp(0.5 * x0 + rng.normal(size=n)))
    X = np.column_stack([x0, x1])
    cond = _quiet(X, _singles(2), random_state=0)
    assert cond.models_ == ["quadratic", "hurdle"]
    K = 3000
    draws = cond(X[:15], 1, K, rng)[..., 0]
    p0 = cond.predict_proba(X[:15], 1)[:, 1]
    freq = (draws == 0).mean(0)
    assert np.all(np.abs(freq - p0) <= 4 * np.sqrt(p0 * (1 - p0) / K))
    positive = draws[draws > 0]
    assert positive.min() >= x1[x1 > 0].min() and positive.max() <= x1.max()


def test_quadratic_model_recovers_a_nonlinear_conditional_mean_and_its_noise_sd():
    rng = np.random.default_rng(14)
    n = 2000
    X = rng.normal(size=(n, 3))
    X[:, 2] = X[:, 0] * X[:, 1] + 0.5 * X[:, 0] ** 2 + 0.1 * rng.normal(size=n)
    cond = _quiet(X, _singles(3), continuous="quadratic", random_state=0)
    draws = cond(X[:200], 2, 100, rng)[..., 0]
    truth = X[:200, 0] * X[:200, 1] + 0.5 * X[:200, 0] ** 2
    assert np.abs(draws.mean(0) - truth).max() < 0.05
    assert abs((draws - truth).std() - 0.1) < 0.01
    assert draws.min() >= X[:, 2].min() and draws.max() <= X[:, 2].max()
    with pytest.raises(ValueError, match="model 'quadratic' of group 0 needs more rows"):
        _quiet(X[:6], _singles(3), kinds=["continuous"] * 3, continuous="quadratic")


def test_integer_draws_are_integers_inside_the_observed_range():
    rng = np.random.default_rng(7)
    x0 = rng.normal(size=400)
    counts = rng.poisson(np.exp(2.5 + 0.5 * x0)).astype(float)
    cond = _quiet(np.column_stack([x0, counts]), _singles(2), random_state=0)
    assert (cond.kinds_[1], cond.models_[1]) == ("integer", "rounded_residuals")
    draws = cond(np.column_stack([x0, counts]), 1, 50, rng)
    assert np.all(draws == np.round(draws))
    assert draws.min() >= counts.min() and draws.max() <= counts.max()
    assert np.isin(draws, np.unique(counts)).all()  # on the observed grid


def test_neighbours_draw_values_of_the_nearest_other_rows():
    rng = np.random.default_rng(16)
    X = rng.normal(size=(3000, 2))
    X[:, 1] = np.sin(2 * X[:, 0]) + 0.05 * rng.normal(size=3000)
    cond = _quiet(X, _singles(2), models={1: "neighbours"}, random_state=0)
    draws = cond(X[:300], 1, 50, rng)[..., 0]
    assert np.isin(draws, X[:, 1]).all() and not (draws == X[:300, 1]).any()  # not itself
    # draws follow sin(2 x0) + noise, widened by the spread of the neighbours' x0 (the
    # model's bias: a conditional slightly wider than the truth's sd 0.05)
    assert 0.05 < (draws - np.sin(2 * X[:300, 0])).std() < 0.08


def test_crt_with_the_logistic_conditional_gives_uniform_pvalues():
    """x1 ~ Bernoulli(sigmoid(a + b x0)), y depends on x0 only: with a fixed statistic that
    uses x1, the CRT's p-values for x1 are uniform (Kolmogorov–Smirnov over 300 seeds)."""
    rng = np.random.default_rng(8)
    cond = _quiet(_binary_design(5000, rng), _singles(3), random_state=0)
    K, pvals = 99, []
    for _ in range(300):
        X = _binary_design(60, rng)
        y = np.sin(X[:, 0]) + 0.5 * rng.normal(size=60)

        def T(x1, X=X, y=y):  # a fixed "network" that wrongly uses x1
            return -np.mean((y - np.sin(X[:, 0]) - 0.8 * (x1 - 0.5)) ** 2, axis=-1)

        T_null = T(cond(X, 1, K, rng)[..., 0])
        pvals.append((1 + np.sum(T_null >= T(X[:, 1]))) / (K + 1))
    assert stats.kstest(pvals, "uniform").pvalue > 0.01
    # and the Gaussian model of the same column is not (off-support draws change the loss)
    gauss = _quiet(_binary_design(5000, rng), _singles(3), models={1: "gaussian"},
                   random_state=0)
    X = _binary_design(60, rng)
    assert np.unique(gauss(X, 1, 5, rng)).size > 2


def test_constant_columns_are_left_out_and_a_constant_group_is_not_testable():
    rng = np.random.default_rng(9)
    X = np.column_stack([rng.normal(size=200), np.ones(200), rng.integers(0, 2, 200),
                         np.zeros(200)])
    cond = _quiet(X, [np.array([0, 1]), np.array([2]), np.array([3])], random_state=0)
    assert cond.columns[0].tolist() == [0] and cond.testable.tolist() == [True, True, False]
    assert cond(X, 0, 3, rng).shape == (3, 200, 1)


def test_rare_level_single_member_class_and_perfect_separation_do_not_crash():
    rng = np.random.default_rng(10)
    n = 200
    x0 = rng.normal(size=n)
    sep = (x0 > 0).astype(float)                            # perfectly separated by x0
    disc = rng.integers(0, 3, n).astype(float)
    disc[0] = 9.0                                           # a level seen in one row
    X = np.column_stack([x0, sep, disc])
    cond = _quiet(X, _singles(3), random_state=0)
    assert cond.models_[1:] == ["logistic", "logistic"]
    d1, d2 = cond(X, 1, 20, rng), cond(X, 2, 20, rng)
    assert set(np.unique(d1)) <= {0.0, 1.0} and set(np.unique(d2)) <= {0.0, 1.0, 2.0, 9.0}
    assert (d1[..., 0] == sep).mean() > 0.9  # nearly determined by x0


def test_model_overrides_are_validated_naming_the_group_and_the_model():
    rng = np.random.default_rng(11)
    X = _binary_design(200, rng)
    with pytest.raises(ValueError, match=r"models\[0\] = 'logistic' does not fit group 0"):
        TypedConditional(X, _singles(3), models={0: "logistic"})
    with pytest.raises(ValueError, match=r"models\[2\].*'ordinal'"):
        TypedConditional(X, _singles(3), models={2: "ordinal"})
    with pytest.raises(ValueError, match="continuous must be one of"):
        TypedConditional(X, _singles(3), continuous="kde")
    with pytest.raises(ValueError, match=r"kinds\[1\]"):
        TypedConditional(X, _singles(3), kinds=["continuous", "boolean", "continuous"])
    cond = _quiet(X, _singles(3), models={1: "residual_permutation", 0: "hurdle"},
                  random_state=0)
    assert cond.models_ == ["hurdle", "residual_permutation", "quadratic"]


def test_a_group_mixing_kinds_falls_back_to_the_linear_model_with_a_warning():
    rng = np.random.default_rng(12)
    X = _binary_design(200, rng)
    with pytest.warns(UserWarning, match=r"group 0 \(columns \[0, 1\]\) mixes kinds"), \
            pytest.warns(UserWarning, match=r"group 0 \(columns \[0, 1\].*fits badly"):
        cond = TypedConditional(X, [np.array([0, 1]), np.array([2])], random_state=0)
    assert cond.models_[0] == "gaussian"


def test_diagnostic_flags_a_gaussian_model_of_a_binary_column_by_name_and_measure():
    rng = np.random.default_rng(13)
    X = _binary_design(400, rng)
    with pytest.warns(UserWarning, match=r"group 1 \(columns \[1\].*KS distance"):
        bad = TypedConditional(X, _singles(3), models={1: "gaussian"}, random_state=0)
    good = _quiet(X, _singles(3), random_state=0)
    assert not bad.diagnostics_.loc[1, "ok"] and good.diagnostics_["ok"].all()
    assert list(good.diagnostics(X[:100]).columns) == ["group", "columns", "kind", "model",
                                                       "ks", "ks_residual", "threshold", "ok",
                                                       "r2"]


def test_diagnostic_residual_distance_flags_a_linear_model_of_a_nonlinear_conditional():
    """x2 = x0 x1 + small noise: the linear model's draws have the right marginal shape but
    lie off the surface; the quadratic model's do not."""
    rng = np.random.default_rng(15)
    X = rng.normal(size=(600, 3))
    X[:, 2] = X[:, 0] * X[:, 1] + 0.05 * rng.normal(size=600)
    with pytest.warns(UserWarning, match=r"group 2 \(columns \[2\].*'residual_permutation'"), \
            pytest.warns(UserWarning, match=r"group 2 \(columns \[2\]\) is nearly determined"), \
            pytest.warns(UserWarning, match=r"group 0 .*fits badly"):  # x0 | x1, x2 too
        lin = TypedConditional(X, _singles(3), continuous="residual_permutation",
                               random_state=0)
    assert lin.diagnostics_.loc[2, "ks_residual"] > 0.3
    np.testing.assert_allclose(lin.diagnostics_.loc[2, "r2"], 1 - 0.05**2 / X[:, 2].var(),
                               atol=2e-3)
    quad = _quiet(X, _singles(3), continuous="quadratic", random_state=0)
    assert quad.diagnostics_.loc[2, "ks_residual"] < quad.diagnostics_.loc[2, "threshold"]
