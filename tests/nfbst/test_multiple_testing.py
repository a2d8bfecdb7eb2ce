"""Tests of nfbst.multiple_testing.benjamini_hochberg against scipy and the step-up rule."""

import numpy as np
import pytest
from scipy import stats

from nfbst.multiple_testing import benjamini_hochberg


def _step_up_rejections(p, alpha):
    """Textbook BH: reject the k smallest, k the largest index with p_(k) <= k alpha / m."""
    m = len(p)
    order = np.argsort(p)
    below = p[order] <= alpha * np.arange(1, m + 1) / m
    k = np.max(np.nonzero(below)[0]) + 1 if below.any() else 0
    rejected = np.zeros(m, dtype=bool)
    rejected[order[:k]] = True
    return rejected


@pytest.mark.parametrize("seed", range(5))
def test_adjusted_values_equal_scipy_false_discovery_control(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=40), rng.beta(0.3, 8, size=20)])
    p[:3] = p[3]  # ties
    res = benjamini_hochberg(p, alpha=0.1)
    np.testing.assert_allclose(res.adjusted, stats.false_discovery_control(p), rtol=1e-14)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_rejections_follow_the_step_up_rule(alpha):
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(size=80), rng.beta(0.2, 10, size=20)])
    res = benjamini_hochberg(p, alpha=alpha)
    expect = _step_up_rejections(p, alpha)
    np.testing.assert_array_equal(res.rejected, expect)
    assert 0 < expect.sum() < len(p)


def test_vectorised_over_other_axes_with_any_axis():
    rng = np.random.default_rng(2)
    p = rng.beta(0.5, 2, size=(4, 30, 3))
    adj, rej = benjamini_hochberg(p, alpha=0.05, axis=1)
    for i in range(4):
        for j in range(3):
            np.testing.assert_allclose(adj[i, :, j], stats.false_discovery_control(p[i, :, j]))
            np.testing.assert_array_equal(rej[i, :, j], _step_up_rejections(p[i, :, j], 0.05))
    np.testing.assert_allclose(adj, stats.false_discovery_control(p, axis=1))


def test_controls_false_discovery_rate_on_simulated_evidence_values():
    # 80 nulls (uniform, as Ev of a Gaussian posterior under H0) and 20 strong signals
    rng = np.random.default_rng(3)
    fdp = []
    for _ in range(300):
        p = np.concatenate([rng.uniform(size=80), stats.norm.sf(rng.normal(3.5, 1, 20)) * 2])
        rej = benjamini_hochberg(p, alpha=0.1).rejected
        fdp.append(rej[:80].sum() / max(rej.sum(), 1))
    assert np.mean(fdp) <= 0.1 * 80 / 100 + 0.02  # BH bound alpha m0/m, plus MC error


def test_single_value_and_all_ones_edge_cases():
    assert benjamini_hochberg(0.03, alpha=0.05).rejected.tolist() == [True]
    res = benjamini_hochberg(np.ones(5), alpha=0.5)
    np.testing.assert_array_equal(res.adjusted, np.ones(5))
    assert not res.rejected.any()


@pytest.mark.parametrize(
    "args, exc, match",
    [
        (([0.1, np.nan],), ValueError, "finite"),
        (([0.1, 1.2],), ValueError, r"\[0, 1\]"),
        (([0.1, -0.1],), ValueError, r"\[0, 1\]"),
        (([0.1, 0.2], 0.0), ValueError, "alpha"),
        (([0.1, 0.2], 1.5), ValueError, "alpha"),
        (([0.1, 0.2], "0.05"), TypeError, "alpha"),
        ((["a", "b"],), TypeError, "real"),
        ((np.zeros((2, 0)),), ValueError, "at least one"),
        (([0.1, 0.2], 0.05, 3), ValueError, "axis"),
    ],
)
def test_bad_inputs_raise_clear_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        benjamini_hochberg(*args)
