"""Front doors: one call shape, Estimate results, 'auto' choices, invariance and errors."""

import numpy as np
import pytest
from sklearn.feature_selection import mutual_info_regression

from infotheory import (
    BENCHMARK_TASKS,
    Estimate,
    conditional_mutual_information,
    entropy,
    mutual_information,
)
from infotheory.tasks import (
    multinormal_2pair,
    transform_asinh,
    transform_half_cube,
    transform_normal_cdf,
)


def _pair(rho=0.8, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n), -0.5 * np.log(1 - rho**2)


def test_estimate_is_float_in_nats_with_bits_method_n_and_ci():
    x, y, truth = _pair()
    mi = mutual_information(x, y, method="ksg", ci="bootstrap", random_state=0)
    assert isinstance(mi, Estimate) and isinstance(mi, float)
    assert mi.method == "ksg" and mi.n == 2000
    assert mi.bits == pytest.approx(float(mi) / np.log(2))
    lo, hi = mi.ci
    assert lo < float(mi) < hi and lo < truth < hi
    assert mutual_information(x, y, method="ksg").ci is None


@pytest.mark.parametrize("method", ["ksg", "ksg2", "copula_ksg", "gaussian", "gaussian_copula",
                                    "auto"])
def test_every_continuous_method_recovers_gaussian_mi_with_same_call(method):
    x, y, truth = _pair(0.6, 3000, seed=1)
    mi = mutual_information(x, y, method=method, random_state=0)
    assert float(mi) == pytest.approx(truth, abs=0.04)


def test_auto_picks_estimator_by_dtype():
    x, y, _ = _pair()
    labels = np.where(x > 0, "pos", "neg")
    assert mutual_information(x, y).method == "auto"     # the composite of infotheory.auto
    assert mutual_information(labels, labels).method == "miller_madow"
    assert mutual_information(x, labels).method == "mixed"
    assert mutual_information(labels, y).method == "mixed"
    assert mutual_information(np.arange(50) % 7, np.arange(50) % 5).method == "nsb"
    assert entropy(x).method == "kl" and entropy(labels).method == "miller_madow"


def test_discrete_mi_of_known_joint_table_through_front_door():
    table = np.array([[0.4, 0.1], [0.1, 0.4]])
    truth = np.sum(table * np.log(table / 0.25))
    x = np.repeat(["a", "a", "b", "b"], (table.ravel() * 1000).astype(int))
    y = np.repeat([0, 1, 0, 1], (table.ravel() * 1000).astype(int))
    mi = mutual_information(x, y, method="plugin", ci="analytic")
    assert float(mi) == pytest.approx(truth, abs=1e-12)
    assert mi.ci[0] < truth < mi.ci[1]


def test_entropy_of_uniform_and_gaussian():
    rng = np.random.default_rng(2)
    assert entropy(np.arange(1000) % 10).bits == pytest.approx(np.log2(10), abs=0.01)
    assert float(entropy(rng.uniform(0, 4, 3000), random_state=0)) == pytest.approx(
        np.log(4), abs=0.05)
    z = rng.standard_normal((3000, 2)) * [1.0, 3.0]
    truth = np.log(2 * np.pi * np.e * 3.0)
    assert float(entropy(z, random_state=0)) == pytest.approx(truth, abs=0.06)
    assert float(entropy(z, method="gaussian")) == pytest.approx(truth, abs=0.04)


def test_ksg_front_door_agrees_with_sklearn_within_001():
    x, y, _ = _pair(0.5, 2000, seed=3)
    ours = float(mutual_information(x, y, method="ksg", k=3, random_state=0))
    ref = mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=0)[0]
    assert abs(ours - ref) < 0.01


def test_auto_estimate_invariant_under_mi_preserving_transforms():
    base = multinormal_2pair(3, 3)
    values = {}
    for task in (base, transform_half_cube(base), transform_normal_cdf(base),
                 transform_asinh(base)):
        X, Y = task.sample(2000, random_state=4)
        values[task.task_id] = float(mutual_information(X, Y, random_state=0))
    ref = values[base.task_id]
    assert abs(ref - base.mutual_information) < 0.08
    for v in values.values():
        assert v == pytest.approx(ref, abs=1e-9)  # normal scores are rank-invariant
    X, Y = base.sample(2000, random_state=4)
    textbook = float(mutual_information(X * np.sqrt(np.abs(X)), Y, method="ksg"))
    assert abs(textbook - base.mutual_information) > abs(ref - base.mutual_information)


def test_copula_ksg_removes_high_dimensional_ksg_bias():
    task = multinormal_2pair(5, 5)
    X, Y = task.sample(3000, random_state=5)
    ksg = float(mutual_information(X, Y, method="ksg", random_state=0))
    auto = float(mutual_information(X, Y, random_state=0))
    assert task.mutual_information - ksg > 0.15
    assert abs(auto - task.mutual_information) < 0.06


def test_conditional_mi_continuous_and_discrete():
    rng = np.random.default_rng(6)
    z = rng.standard_normal(3000)
    x, y = z + rng.standard_normal(3000), z + rng.standard_normal(3000)
    for method in ("auto", "ksg", "gaussian"):
        assert abs(float(conditional_mutual_information(x, y, z, method=method,
                                                       random_state=0))) < 0.04
    xs, zs = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    cmi = conditional_mutual_information(xs, xs ^ zs, zs, ci="bootstrap", random_state=0)
    assert cmi.bits == pytest.approx(1.0, abs=0.01)


def test_same_seed_gives_identical_results():
    x, y, _ = _pair(0.7, 1500, seed=7)
    a = mutual_information(x, y, ci="bootstrap", random_state=11)
    b = mutual_information(x, y, ci="bootstrap", random_state=11)
    assert float(a) == float(b) and a.ci == b.ci


def test_errors_name_argument_expected_and_got():
    x, y, _ = _pair(n=100)
    with pytest.raises(ValueError, match="same number of samples"):
        mutual_information(x, y[:50])
    with pytest.raises(ValueError, match="X contains NaN"):
        mutual_information(np.r_[np.nan, x[1:]], y)
    with pytest.raises(ValueError, match="too few samples for k=3"):
        mutual_information(x[:3], y[:3], method="ksg")
    with pytest.raises(ValueError, match=r"method must be one of \(.auto., .plugin."):
        mutual_information(x, y, method="kde")
    with pytest.raises(ValueError, match=r"ci must be one of \(None, .auto."):
        mutual_information(x, y, method="ksg", ci="exact")
    with pytest.raises(ValueError, match="mixed discrete and continuous"):
        conditional_mutual_information(x, y, (x > 0).astype(int))
    with pytest.raises(ValueError, match="needs continuous X and Y"):
        mutual_information((x > 0).astype(int), y, method="ksg")


def test_auto_uses_gaussian_copula_above_twenty_dimensions():
    task = multinormal_2pair(11, 11)
    X, Y = task.sample(2000, random_state=8)
    mi = mutual_information(X, Y, random_state=0)
    assert mi.method == "gaussian_copula"
    assert float(mi) == pytest.approx(task.mutual_information, abs=0.06)
    assert mutual_information(X[:, :5], Y[:, :5], random_state=0).method == "auto"


@pytest.mark.parametrize("kind", ["continuous", "high-dimensional", "labels", "mixed"])
def test_the_method_auto_reports_reproduces_its_value_when_named(kind):
    """Issue 24: auto reported method="copula_ksg" for its composite, whose value that method
    does not give; what auto reports must give the same value when passed back."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 12))
    y = x**3 + rng.standard_normal((400, 12))
    X, Y = {"continuous": (x[:, :2], y[:, :2]), "high-dimensional": (x, y),
            "labels": ((x[:, 0] > 0).astype(int), (y[:, 0] > 0).astype(int)),
            "mixed": (x, (y[:, 0] > 0).astype(int))}[kind]
    auto = mutual_information(X, Y, random_state=0)
    again = mutual_information(X, Y, method=auto.method, random_state=0)
    assert float(again) == float(auto) and again.method == auto.method
    if kind == "continuous":
        assert auto.method == "auto" and auto.details["chosen"] in auto.details


def test_auto_recovers_student_t_mi_that_copula_ksg_misses():
    # MI of the identity-dispersion Student-t lives in the shared scale: the radial term of
    # "auto" recovers it (closed-form truth), coordinate-wise copula-KSG alone does not
    task = BENCHMARK_TASKS["student-identity-5-5-2"]
    X, Y = task.sample(4000, random_state=2)
    auto = mutual_information(X, Y, random_state=0)
    plain = mutual_information(X, Y, method="copula_ksg", random_state=0)
    assert abs(float(auto) - task.mutual_information) < 0.08
    assert float(plain) < task.mutual_information - 0.1
    assert auto.details["chosen"] == "radial_copula_ksg"


def test_auto_radial_term_does_not_inflate_gaussian_mi():
    task = multinormal_2pair(3, 3)
    X, Y = task.sample(4000, random_state=4)
    auto = mutual_information(X, Y, random_state=0)
    assert auto.details["radial_copula_ksg"] < auto.details["copula_ksg"] - 0.5
    assert abs(float(auto) - task.mutual_information) < 0.05


@pytest.mark.parametrize("seed", [0, 1])
def test_auto_kernel_cca_term_recovers_spiral_mi_that_copula_ksg_misses(seed):
    # the spiral is a diffeomorphism of X and of Y (MI unchanged, margins still N(0, I)); the
    # cross-fitted kernel-CCA variates partly unwind it, plain copula-KSG is biased down
    task = BENCHMARK_TASKS["spiral-multinormal-sparse-3-3-2-2.0"]
    X, Y = task.sample(3000, random_state=seed)
    auto = mutual_information(X, Y, random_state=seed)
    assert auto.details["copula_ksg"] < task.mutual_information - 0.2
    assert auto.details["kcca_copula_ksg"] > auto.details["copula_ksg"] + 0.04
    assert auto.details["chosen"] == "kcca_copula_ksg"


def test_auto_kernel_cca_term_finds_no_mi_in_independent_data():
    # cross-fitted: the CCA maps come from the other half of the rows, so they cannot align
    # noise in the rows they are evaluated on. The term is corrected by the same pipeline run
    # on a Gaussian reference sample, whose own sampling noise (about 0.03-0.05 nats at
    # n = 2000) the term carries. auto, the largest of four noisy terms, reads a little high
    # at MI = 0: the lower end of its interval stays within 0.01 nats of 0
    rng = np.random.default_rng(0)
    for seed in range(3):
        X, Y = rng.standard_normal((2000, 3)), rng.standard_normal((2000, 3))
        auto = mutual_information(X, Y, random_state=seed)
        assert abs(auto.details["kcca_copula_ksg"]) < 0.1
        assert auto.ci[0] < 0.01 and auto.ci[1] > 0.0


def test_copula_ksg_refuses_a_singular_normal_score_correlation_with_a_message_naming_it():
    """Perfect monotone dependence (infinite MI) or a constant column used to surface as
    numpy's "Matrix is not positive definite" or "xs[1] contains NaN" from inside copula-KSG,
    also on the default method="auto"."""
    rng = np.random.default_rng(0)
    x, z = rng.standard_normal(100), rng.standard_normal(100)
    match = "needs the normal scores of X and Y to have a non-singular correlation matrix"
    for y, method in ((x, "auto"), (x**3, "copula_ksg")):
        with pytest.raises(ValueError, match=match):
            mutual_information(x, y, method=method, random_state=0)
    # a constant column is named before any estimator runs
    for y, col in ((np.ones(100), 0), (np.column_stack([x, np.ones(100)]), 1)):
        for method in ("auto", "copula_ksg", "ksg"):
            with pytest.raises(ValueError, match=f"Y column {col} is constant"):
                mutual_information(x, y, method=method, random_state=0)
    with pytest.raises(ValueError, match="normal scores of X, Y and Z to have a non-singular"):
        conditional_mutual_information(x, np.exp(x), z, random_state=0)
    # a merely strong dependence is still estimated
    assert float(mutual_information(x, x + 0.01 * z, method="copula_ksg", random_state=0)) > 3
