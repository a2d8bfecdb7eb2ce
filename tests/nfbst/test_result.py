"""SignificanceResult says which value decides, writes a floor p-value as a bound, and explains
strong disagreements between evidence and p-value (table, summary, text table, plot)."""

import matplotlib
import numpy as np
import pytest
from scipy import stats

from nfbst import SignificanceResult
from nfbst.result import DISAGREEMENT_LEVEL, min_randomizations

matplotlib.use("Agg")

K = 100
FLOOR = 1 / (K + 1)


def _mc_sd(p):
    """The binomial Monte Carlo sd of a randomization p-value, written out independently."""
    return np.sqrt(p * (1 - p) / K)


def _result(evidence, p_value=None, *, K=K, rule="mean", crt_statistic="loss", mean=None,
            sd=None, correction=None, scope="global", **details):
    evidence = np.asarray(evidence, dtype=float)
    d = evidence.shape[-1]
    info = {"rule": rule, **details}
    if p_value is not None:
        p_value = np.asarray(p_value, dtype=float)
        info.update(crt_statistic=crt_statistic, pvalue_mc_sd=_mc_sd(p_value))
        if K is not None:
            info["n_randomizations"] = K
    return SignificanceResult(
        evidence=evidence, scope=scope, feature_names=[f"x{j}" for j in range(d)],
        statistic="grad",
        statistic_mean=np.zeros(evidence.shape) if mean is None else np.asarray(mean, float),
        statistic_sd=np.ones(evidence.shape) if sd is None else np.asarray(sd, float),
        correction=correction, details=info, p_value=p_value,
        region_names=["neg", "pos"] if scope == "local" else None)


# ------------------------------------------------------------------------------ to_frame
def test_frame_flags_the_floor_p_value_and_drops_its_binomial_sd():
    p = np.array([FLOOR, 3 / 101, 70 / 101, np.nan])
    frame = _result([0.4, 0.0, 0.9, np.nan], p).to_frame()
    assert frame["p_value_at_floor"].tolist() == [True, False, False, False]
    assert np.isnan(frame["p_value_mc_sd"][0]) and np.isnan(frame["p_value_mc_sd"][3])
    np.testing.assert_allclose(frame["p_value_mc_sd"][1:3], np.sqrt(p[1:3] * (1 - p[1:3]) / K))
    assert (frame["decided_by"] == "p_value").all()
    # the deciding columns first, the evidence after them
    columns = list(frame.columns)
    assert columns[:6] == ["feature", "p_value", "p_value_mc_sd", "p_value_at_floor",
                           "significant@0.05", "decided_by"]
    assert columns.index("evidence") > columns.index("decided_by")
    np.testing.assert_array_equal(frame["significant@0.05"], [True, True, False, False])


def test_frame_without_p_values_is_decided_by_the_evidence_and_has_no_floor():
    res = _result([0.01, 0.3], evidence_mc_sd=np.array([0.002, 0.05]))
    frame = res.to_frame()
    assert res.decided_by == "evidence" and (frame["decided_by"] == "evidence").all()
    assert not {"p_value", "p_value_mc_sd", "p_value_at_floor"} & set(frame.columns)
    assert list(frame.columns[:3]) == ["feature", "evidence", "evidence_mc_sd"]
    assert res.p_value_floor is None and res.n_randomizations is None


def test_frame_with_bh_is_decided_by_the_adjusted_p_value_as_scipy_computes_it():
    p = np.array([FLOOR, FLOOR, 4 / 101, 30 / 101, 90 / 101])
    res = _result([0.5, 0.0, 0.01, 0.2, 0.7], p, correction="bh")
    frame = res.to_frame()
    assert res.decided_by == "adjusted_p_value"
    assert (frame["decided_by"] == "adjusted_p_value").all()
    expected = stats.false_discovery_control(p)
    np.testing.assert_allclose(frame["adjusted_p_value"], expected)
    np.testing.assert_array_equal(frame["significant@0.05"], expected <= 0.05)
    assert frame["p_value_at_floor"].tolist() == [True, True, False, False, False]


def test_floor_is_known_from_the_resolution_alone_and_unknown_without_either():
    p = np.array([1 / 20, 0.5])
    res = _result([0.1, 0.1], p, K=None, pvalue_resolution=1 / 20)
    assert res.n_randomizations == 19 and res.p_value_floor == pytest.approx(0.05)
    assert res.to_frame()["p_value_at_floor"].tolist() == [True, False]
    bare = _result([0.1, 0.1], p, K=None)
    assert bare.p_value_floor is None and "p_value_at_floor" not in bare.to_frame()
    assert "p = 0.05 (Monte Carlo sd" in bare.summary(alpha=0.1)


def test_instance_frame_leaves_untested_rows_off_the_floor():
    p = np.array([[FLOOR, 0.5], [np.nan, np.nan]])
    frame = _result(np.full((2, 2), 0.3), p, scope="instance").to_frame()
    assert frame["p_value_at_floor"].tolist() == [True, False, False, False]
    assert list(frame["row"]) == [0, 0, 1, 1]


# ------------------------------------------------------------------------------- summary
def test_summary_first_line_says_what_decides():
    calibrated = _result([0.4, 0.9], [FLOOR, 0.7]).summary().splitlines()[0]
    assert calibrated == ("decisions on CRT p-values (calibrated test); evidence values are "
                          "posterior summaries, not p-values")
    bh = _result([0.4, 0.9], [FLOOR, 0.7], correction="bh").summary().splitlines()[0]
    assert bh.startswith("decisions on Benjamini-Hochberg adjusted CRT p-values")
    plain = _result([0.01, 0.9]).summary().splitlines()[0]
    assert plain == "decisions on FBST evidence (descriptive; not a calibrated test)"


def test_summary_writes_a_floor_p_value_as_a_bound_and_others_with_their_sd():
    p = np.array([FLOOR, 3 / 101, 70 / 101])
    text = _result([0.0, 0.01, 0.9], p).summary()
    assert "  x0: p <= 0.0099 (the smallest value 100 randomizations give); evidence 0" in text
    sd = np.sqrt(3 / 101 * (98 / 101) / 100)
    assert f"  x1: p = 0.0297 (Monte Carlo sd {sd:.2g}); evidence 0.01" in text
    assert "raise n_randomizations (K) for p-values finer than 0.0099" in text
    assert "not significant: x2" in text
    assert "±" not in text and "0.0099 (Monte Carlo" not in text


def test_summary_without_a_floor_p_value_does_not_suggest_more_randomizations():
    text = _result([0.0, 0.9], [3 / 101, 70 / 101]).summary()
    assert "raise n_randomizations" not in text and "<=" not in text


def test_summary_with_bh_gives_raw_and_adjusted_p_values():
    p = np.array([FLOOR, 3 / 101, 90 / 101])
    text = _result([0.0, 0.0, 0.9], p, correction="bh").summary()
    adjusted = stats.false_discovery_control(p)
    assert f"x0: p <= 0.0099 (the smallest value 100 randomizations give), BH-adjusted " \
           f"{adjusted[0]:.3g}; evidence 0" in text
    assert f"x1: p = 0.0297 (Monte Carlo sd {_mc_sd(3 / 101):.2g}), BH-adjusted " \
           f"{adjusted[1]:.3g}; evidence 0" in text
    assert adjusted[1] < 0.05 < adjusted[2]


def test_summary_warns_when_no_p_value_can_reach_alpha():
    text = _result([0.0, 0.9], [1 / 20, 0.5], K=19).summary()
    assert "no p-value can be below alpha=0.05: the smallest that 19 randomizations give is " \
           "0.05; raise n_randomizations to at least 20" in text
    assert "significant features (0/2)" in text


@pytest.mark.parametrize("alpha", [0.5, 0.2, 0.1, 0.05, 0.03, 0.01, 0.005, 1 / 7, 0.001])
def test_min_randomizations_is_the_smallest_k_whose_floor_is_below_alpha(alpha):
    below = [k for k in range(1, 2000) if 1 / (k + 1) < alpha]
    assert min_randomizations(alpha) == below[0]


# -------------------------------------------------------------------------- disagreement
def _disagreements(res):
    lines = res.summary().splitlines()
    if "evidence and p-value disagree:" not in lines:
        return []
    return lines[lines.index("evidence and p-value disagree:") + 1:]


def test_significant_p_value_with_average_gradient_near_zero_blames_non_monotone_effects():
    res = _result([0.8, 0.0], [FLOOR, FLOOR], mean=[0.1, 3.0], sd=[1.0, 1.0])
    (line,) = _disagreements(res)
    assert line.startswith("  x0 (significant, evidence 0.8): evidence is a posterior summary "
                           "of the gradient averaged over the rows, whose posterior mean is "
                           "0.1 sd from 0; a non-monotone effect or an interaction")
    assert line.endswith("while the CRT's prediction loss sees it")


def test_significant_p_value_with_a_wide_posterior_says_the_posterior_is_too_wide():
    res = _result([0.29, 0.0], [FLOOR, FLOOR], mean=[121.6, 450.0], sd=[108.2, 110.0])
    (line,) = _disagreements(res)
    assert "whose posterior mean is 1.1 sd from 0: the posterior of the network is too wide " \
           "to exclude 0" in line
    assert "non-monotone" not in line


def test_disagreement_wording_follows_the_rule_and_the_crt_statistic():
    quantile = _result([0.6], [FLOOR], rule="quantile", quantile_lambda=0.5)
    assert "an effect clear in fewer than 50% of the rows leaves it large" in \
        _disagreements(quantile)[0]
    aggregate = _result([0.6], [FLOOR], rule="aggregate")
    assert "mean squared gradient, which is never below 0" in _disagreements(aggregate)[0]
    by_rule = _result([0.6], [FLOOR], crt_statistic="rule")
    assert "the CRT, comparing that summary with its values at x_j redrawn" in \
        _disagreements(by_rule)[0]


def test_small_evidence_with_a_large_p_value_names_correlated_columns_or_the_rule_statistic():
    loss = _result([0.001, 0.3], [0.6, 0.6])
    (line,) = _disagreements(loss)
    assert line.startswith("  x0 (evidence 0.001, p = 0.6): the posterior is confident the "
                           "gradient is not 0, but redrawing x_j given the other columns does "
                           "not worsen prediction")
    (line,) = _disagreements(_result([0.001, 0.3], [0.6, 0.6], crt_statistic="rule"))
    assert "such as a linear one" in line


def test_no_disagreement_line_below_the_level_or_where_nothing_was_tested():
    below = DISAGREEMENT_LEVEL - 0.01
    res = _result([below, 0.001, np.nan], [FLOOR, below, np.nan])
    assert _disagreements(res) == []
    assert _disagreements(_result([DISAGREEMENT_LEVEL], [FLOOR])) != []
    assert _disagreements(_result([0.6, 0.0])) == []  # no p-values: nothing to disagree with


def test_local_summary_names_region_and_counts_floor_p_values():
    ev = np.array([[0.7, 0.5], [0.0, 0.5]])
    p = np.array([[FLOOR, 0.5], [FLOOR, 0.5]])
    text = _result(ev, p, scope="local").summary()
    assert "  x0: 2/2 (neg, pos)" in text and "  x1: 0/2" in text
    assert "2 of 4 p-values are at 0.0099, the smallest value 100 randomizations give" in text
    (line,) = _disagreements(_result(ev, p, scope="local"))
    assert line.startswith("  x0 in neg (significant, evidence 0.7)")


# ------------------------------------------------------------------------ text and plot
def test_to_string_writes_the_floor_as_a_bound_with_no_sd():
    res = _result([0.3, 0.9, np.nan], [FLOOR, 70 / 101, np.nan])
    rows = [line.split() for line in res.to_string().splitlines()]
    header = rows[0]
    assert "p_value_at_floor" not in header and header[1:3] == ["p_value", "p_value_mc_sd"]
    assert rows[1][1:3] == ["<=0.0099", "-"]
    assert rows[2][1:3] == [f"{70 / 101:.4g}", f"{_mc_sd(70 / 101):.4g}"]
    assert rows[3][1:3] == ["-", "-"]
    assert str(res).startswith(res.to_string()) and res.summary() in str(res)


def test_plot_says_what_decides_and_draws_the_floor():
    res = _result([0.4, 0.0, 0.9], [FLOOR, 3 / 101, 0.7])
    ax = res.plot()
    assert ax.get_ylabel() == "CRT p-value (decides)"
    assert ax.get_title().endswith("decisions on CRT p-values")
    floor_lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    (floor,) = floor_lines
    assert floor.get_ydata()[0] == pytest.approx(FLOOR)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "smallest p with K = 100: 0.0099" in labels
    diamonds = ax.collections[1].get_offsets()
    np.testing.assert_allclose(diamonds[:, 1], [0.4, 0.0, 0.9])
    bh = _result([0.4, 0.0], [FLOOR, 0.5], correction="bh").plot()
    assert bh.get_ylabel() == "BH-adjusted CRT p-value (decides)"
    plain = _result([0.01, 0.4]).plot()
    assert plain.get_ylabel() == "evidence Ev(H0) (decides; descriptive)"
    assert not [ln for ln in plain.get_lines() if ln.get_linestyle() == ":"]
    assert len(plain.collections) == 1  # no evidence diamonds beside the evidence itself


def test_summary_counts_instead_of_naming_beyond_twenty():
    d = 30
    ev, p = np.full(d, 0.9), np.full(d, FLOOR)
    p[:25] = 0.6  # 25 not significant; 5 significant with a large evidence
    lines = _result(ev, p).summary().splitlines()
    assert "not significant: 25 features" in lines
    assert len(_disagreements(_result(ev, p))) == 5
    ev[:25] = 0.001  # and 25 strong disagreements the other way: 20 named, 10 counted
    disagree = _disagreements(_result(ev, p))
    assert len(disagree) == 21 and disagree[-1] == "  and 10 more (see to_frame())"


def test_summary_never_rounds_a_significant_p_value_up_to_alpha():
    # BH on two floor p-values and eight large ones: 0.0099 * 10 / 2 = 0.0495 <= 0.05
    p = np.array([FLOOR, FLOOR] + [0.7] * 8)
    text = _result(np.full(10, 0.1), p, correction="bh").summary()
    assert text.count("BH-adjusted 0.0495") == 2 and "BH-adjusted 0.05;" not in text
