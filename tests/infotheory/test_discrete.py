"""Discrete entropy / MI estimators against closed forms and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from infotheory.discrete import (
    discrete_conditional_mutual_information,
    discrete_entropy,
    discrete_joint_entropy,
    discrete_mutual_information,
    encode_labels,
)

METHODS = ["plugin", "miller_madow", "james_stein", "nsb"]


def _sample_from_table(table, n):
    """Rows (x, y) whose empirical frequencies equal ``table`` exactly."""
    xs, ys = [], []
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            c = int(round(table[i, j] * n))
            xs += [f"x{i}"] * c
            ys += [j] * c
    return np.array(xs), np.array(ys)


def test_plugin_mi_of_known_joint_table_equals_closed_form():
    table = np.array([[0.30, 0.05, 0.05], [0.05, 0.20, 0.05], [0.05, 0.05, 0.20]])
    px, py = table.sum(1), table.sum(0)
    truth = np.sum(table * np.log(table / np.outer(px, py)))
    x, y = _sample_from_table(table, 1000)
    assert discrete_mutual_information(x, y) == pytest.approx(truth, abs=1e-12)
    assert discrete_mutual_information(x, y, base=2) == pytest.approx(truth / np.log(2), abs=1e-12)


def test_plugin_mi_agrees_with_sklearn_mutual_info_score_on_random_labels():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 500)
    y = (x + rng.integers(0, 3, 500)) % 7
    assert discrete_mutual_information(x, y) == pytest.approx(mutual_info_score(x, y), abs=1e-10)


def test_entropy_of_uniform_labels_is_log_k_for_every_method():
    x = np.repeat(np.arange(8), 500)
    for method in METHODS:
        assert discrete_entropy(x, method) == pytest.approx(np.log(8), abs=2e-3), method
    assert discrete_entropy(x, base=2) == pytest.approx(3.0)


def test_miller_madow_adds_first_order_bias_term():
    x = ["a", "a", "b", "c", "c", "c"]
    p = np.array([2, 1, 3]) / 6
    truth = -np.sum(p * np.log(p)) + (3 - 1) / (2 * 6)
    assert discrete_entropy(x, "miller_madow") == pytest.approx(truth, abs=1e-12)


def test_james_stein_matches_hausser_strimmer_formula():
    counts = np.array([5, 3, 1, 1])
    x = np.repeat(np.arange(4), counts)
    K, n = 6, counts.sum()  # two unobserved categories
    theta = np.r_[counts / n, 0, 0]
    lam = (1 - np.sum(theta**2)) / ((n - 1) * np.sum((1 / K - theta) ** 2))
    p = lam / K + (1 - lam) * theta
    assert discrete_entropy(x, "james_stein", n_categories=K) == pytest.approx(
        -np.sum(p * np.log(p)), abs=1e-12)


def test_bias_corrected_methods_beat_plugin_on_undersampled_uniform():
    rng = np.random.default_rng(1)
    K, n = 200, 150
    errs = {m: [] for m in METHODS}
    for _ in range(10):
        x = rng.integers(0, K, n)
        for m in METHODS:
            errs[m].append(discrete_entropy(x, m, n_categories=K) - np.log(K))
    bias = {m: abs(np.mean(e)) for m, e in errs.items()}
    assert bias["miller_madow"] < bias["plugin"]
    assert bias["nsb"] < 0.25 * bias["plugin"]
    assert bias["james_stein"] < 0.25 * bias["plugin"]


def test_nsb_converges_to_plugin_for_large_samples():
    rng = np.random.default_rng(2)
    p = np.array([0.5, 0.25, 0.125, 0.125])
    x = rng.choice(4, size=20000, p=p)
    assert discrete_entropy(x, "nsb") == pytest.approx(discrete_entropy(x), abs=2e-3)
    assert discrete_entropy(x, "nsb") == pytest.approx(-np.sum(p * np.log(p)), abs=0.02)


def test_conditional_mi_of_xor_is_one_bit_and_mi_is_zero():
    x = np.array([0, 1, 0, 1] * 25)
    z = np.array([0, 0, 1, 1] * 25)
    y = x ^ z
    assert discrete_mutual_information(x, y) == pytest.approx(0.0, abs=1e-12)
    assert discrete_conditional_mutual_information(x, y, z, base=2) == pytest.approx(1.0)


def test_joint_entropy_of_independent_bits_is_sum_and_2d_labels_are_rows():
    x = np.array([0, 0, 1, 1] * 10)
    y = np.array([0, 1, 0, 1] * 10)
    assert discrete_joint_entropy(x, y, base=2) == pytest.approx(2.0)
    assert discrete_entropy(np.column_stack([x, y]), base=2) == pytest.approx(2.0)
    for m in METHODS:
        h = discrete_joint_entropy(x, y, method=m)
        assert h == pytest.approx(discrete_entropy(encode_labels(x, y), m,
                                                   n_categories=4), abs=1e-9), m


def test_mi_symmetric_and_invariant_under_relabelling_for_every_method():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, 300)
    y = (x + rng.integers(0, 2, 300)) % 5
    names = np.array(["alpha", "beta", "gamma", "delta", "eps"], dtype=object)
    for m in METHODS:
        a = discrete_mutual_information(x, y, m)
        assert discrete_mutual_information(y, x, m) == pytest.approx(a, abs=1e-9)
        assert discrete_mutual_information(names[x], y, m) == pytest.approx(a, abs=1e-9)


def test_encode_labels_codes_joint_rows_of_mixed_dtypes():
    codes = encode_labels(["a", "b", "a", "a"], [1.5, 1.5, 1.5, 2.0])
    assert codes.tolist() == [0, 1, 0, 2]


def test_invalid_inputs_raise_with_argument_names():
    with pytest.raises(ValueError, match="same number of samples"):
        discrete_mutual_information([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="x contains NaN"):
        discrete_entropy([0.0, np.nan])
    with pytest.raises(ValueError, match="missing"):
        discrete_entropy(np.array(["a", None], dtype=object))
    with pytest.raises(ValueError, match="method must be one of"):
        discrete_entropy([0, 1], method="ml")
    with pytest.raises(ValueError, match="n_categories"):
        discrete_entropy([0, 1, 2], "nsb", n_categories=2)


def test_any_real_base_gives_the_same_bits_as_the_float_base():
    """A base is read as a float: a Fraction (a numbers.Real the check accepts) used to fail
    inside np.isfinite, and a float32 base gave log(2) in float32 precision (error 2e-9)."""
    from fractions import Fraction

    x = ["a", "b", "c", "d", "a", "b", "a", "a"]
    exact = discrete_entropy(x, base=2)
    assert discrete_entropy(x, base=Fraction(2)) == exact
    assert discrete_entropy(x, base=np.float32(2)) == exact
    assert discrete_entropy(x, base=Fraction(1, 2)) == -exact
    with pytest.raises(ValueError, match="got 1"):
        discrete_entropy(x, base=Fraction(1))
