"""Every MI estimate with an interval (by default where cheap) and a reliability verdict."""

import pickle

import numpy as np
import pytest

from infotheory import BENCHMARK_TASKS, Estimate, mutual_information
from infotheory.reliability import auto_interval, auto_verdict, generic_verdict, max_dim


def _normal_pair(rho, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n), -0.5 * np.log(1 - rho**2)


def test_auto_returns_an_interval_by_default_that_covers_the_closed_form():
    covered = 0
    for seed in range(6):
        x, y, truth = _normal_pair(0.6, 2000, seed)
        est = mutual_information(x, y, random_state=seed)
        assert est.ci is not None and est.ci_method == "calibrated" and est.ci_level == 0.95
        assert est.ci[0] < float(est) < est.ci[1]
        covered += est.ci[0] <= truth <= est.ci[1]
        assert est.reliability == "ok"
    assert covered >= 5


def test_default_interval_is_analytic_for_labels_and_absent_for_plain_ksg():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 2000)
    b = (a + rng.integers(0, 2, 2000)) % 3
    est = mutual_information(a, b)
    assert est.ci_method == "analytic" and est.ci[0] < float(est) < est.ci[1]
    x, y, _ = _normal_pair(0.5, 500, 1)
    assert mutual_information(x, y, method="ksg").ci is None          # ask ci="bootstrap"
    assert mutual_information(x, y, ci=None, random_state=0).ci is None


def test_verdict_flags_the_spiral_task_where_auto_reads_low():
    # the 5 x 5 spiral: every estimate behind auto reads 0.15-0.35 nats low; the dependence is
    # far from Gaussian (the Gaussian copula reads 0.36 of 1.02 nats)
    task = BENCHMARK_TASKS["spiral-multinormal-sparse-5-5-2-2.0"]
    X, Y = task.sample(5000, random_state=0)
    est = mutual_information(X, Y, random_state=0)
    assert float(est) < task.mutual_information - 0.1
    assert est.reliability != "ok"
    assert est.ci[0] <= task.mutual_information <= est.ci[1]


def test_verdict_is_ok_on_a_gaussian_task_in_five_dimensions():
    task = BENCHMARK_TASKS["multinormal-sparse-5-5-2-2.0"]
    X, Y = task.sample(5000, random_state=0)
    est = mutual_information(X, Y, random_state=0)
    assert abs(float(est) - task.mutual_information) < 0.05
    assert est.reliability == "ok", est.reliability
    assert est.ci[0] <= task.mutual_information <= est.ci[1]


def test_verdict_says_n_is_too_small_for_the_dimension():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8))
    Y = X[:, :6] + rng.standard_normal((300, 6))
    est = mutual_information(X, Y, random_state=0)
    assert "too small for dx + dy = 14" in est.reliability
    assert max_dim(300) < 14 <= max_dim(5000 * 2**2)


def test_verdict_says_the_value_is_above_what_n_samples_support():
    assert "ln n" in generic_verdict(5.0, 100, 2, continuous=True)
    d = {"copula_ksg": 9.0, "copula_ksg_se": 0.01, "gaussian_copula": 9.0,
         "chosen": "copula_ksg"}
    assert "ln n = 8.517" in auto_verdict(9.0, d, 1, 1, 5000)


def test_verdict_says_estimators_disagree_beyond_their_intervals():
    d = {"copula_ksg": 0.30, "copula_ksg_se": 0.01, "kcca_copula_ksg": 0.60,
         "kcca_copula_ksg_se": 0.01, "gaussian_copula": 0.29, "chosen": "kcca_copula_ksg"}
    assert auto_verdict(0.60, d, 2, 2, 5000).startswith("estimators behind auto disagree")
    close = dict(d, kcca_copula_ksg=0.31)
    assert auto_verdict(0.31, close, 2, 2, 5000) == "ok"


def test_interval_widens_upwards_with_non_gaussian_dependence_and_dimension():
    d = {"copula_ksg": 1.0, "copula_ksg_se": 0.01, "gaussian_copula": 1.0,
         "chosen": "copula_ksg"}
    lo, hi = auto_interval(1.0, d, 1, 1, 5000)
    lo2, hi2 = auto_interval(1.0, dict(d, gaussian_copula=0.5), 1, 1, 5000)
    lo3, hi3 = auto_interval(1.0, d, 5, 5, 5000)
    assert lo == lo2 == lo3 and hi2 >= hi and hi3 >= hi


def test_labels_stored_as_floats_are_read_as_labels_with_a_note():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, 1000)
    b = (a + (rng.random(1000) < 0.2)) % 3
    as_float = mutual_information(a.astype(float), b.astype(float))
    as_int = mutual_information(a, b)
    assert float(as_float) == pytest.approx(float(as_int), abs=1e-12)
    assert as_float.method == as_int.method == "miller_madow"
    assert len(as_float.notes) == 2 and "read as discrete labels" in as_float.notes[0]
    assert as_int.notes == ()
    numbers = mutual_information(a.astype(float), b.astype(float), discrete=False)
    assert numbers.notes == () and numbers.method == "auto"
    named = mutual_information(a.astype(float), b.astype(float), method="gaussian")
    assert named.notes == () and named.method == "gaussian"      # a named method: numbers


def test_float_columns_with_many_integer_values_stay_continuous():
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal(2000) * 10)                # about 60 integer levels
    est = mutual_information(x, x + rng.standard_normal(2000), random_state=0)
    assert est.method == "auto" and est.notes == ()


def test_bad_inputs_are_refused_naming_the_argument():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 2))
    with pytest.raises(ValueError, match="X column 1 is constant"):
        mutual_information(np.column_stack([x[:, 0], np.full(50, 2.5)]), x)
    with pytest.raises(ValueError, match="too few samples for k=3: need more than 3 samples"):
        mutual_information(x[:3], x[:3] + 1.0, method="ksg")
    with pytest.raises(ValueError, match="X contains NaN"):
        mutual_information(np.where(x > 2, np.nan, x), x)
    mixed = np.column_stack([rng.integers(0, 2, 50).astype(float), x[:, 0]])
    with pytest.raises(ValueError, match=r"X mixes label-like float columns \[0\]"):
        mutual_information(mixed, x)
    with pytest.raises(ValueError, match=r"ci must be one of \(None, 'auto'"):
        mutual_information(x, x, ci="exact")


def test_estimate_keeps_reliability_and_notes_through_pickle():
    est = Estimate(0.5, method="auto", n=10, reliability="n too small", notes=("X: labels",))
    back = pickle.loads(pickle.dumps(est))
    assert back.reliability == "n too small" and back.notes == ("X: labels",)
    assert "reliability='n too small'" in repr(back)


def test_entropy_and_cmi_read_float_labels_as_labels_with_a_note_too():
    from infotheory import conditional_mutual_information, entropy

    a = np.array([0.0, 1.0, 2.0] * 50)
    h = entropy(a)
    assert h.method == "miller_madow" and h.bits == pytest.approx(np.log2(3), abs=0.02)
    assert "X holds floats with only integer values" in h.notes[0]
    assert len(conditional_mutual_information(a, a, a % 2).notes) == 3
