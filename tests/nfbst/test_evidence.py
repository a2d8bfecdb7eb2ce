"""Tests of nfbst.evidence: FBST evidence values against closed forms and scikit-learn."""

import math

import numpy as np
import pytest
import torch
from scipy import optimize, stats
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity

from nfbst.evidence import (
    PAPER_BANDWIDTH_GRID,
    evidence_value,
    gaussian_evidence,
    kde_bandwidth,
    standardized_evidence,
)


def _mixed_cells(S=300, seed=0):
    """(S, 24) draws of varied shapes: normal, heavy-tailed, bimodal, skewed, tied, tiny."""
    rng = np.random.default_rng(seed)
    cols = [
        rng.normal(0.3, 1.0, S),
        rng.normal(-2.0, 0.5, S),
        rng.normal(0.0, 1e-3, S),
        rng.normal(1e3, 50.0, S),
        rng.standard_t(2, S),
        rng.standard_cauchy(S),
        np.concatenate([rng.normal(-2, 0.3, S // 2), rng.normal(1.5, 0.5, S - S // 2)]),
        np.concatenate([rng.normal(-1, 0.2, S // 3), rng.normal(1, 0.2, S - S // 3)]),
        rng.lognormal(0, 1, S) - 1.0,
        rng.exponential(1.0, S) - 0.7,
        np.round(rng.normal(0.2, 1.0, S), 1),  # ties, some draws exactly at the null 0.0
        rng.uniform(-1, 2, S),
        rng.normal(4.0, 1.0, S),
        rng.normal(0.0, 1.0, S) * (rng.uniform(size=S) < 0.9),  # point mass at the null
    ]
    while len(cols) < 24:
        cols.append(rng.normal(rng.normal(), rng.uniform(0.1, 3.0), S))
    return np.stack(cols, axis=1)


def _sklearn_evidence(x, h, null=0.0):
    """Per-cell reference: the nFBST code's KernelDensity count (utils_stat.kde_bayes_factor)."""
    kde = KernelDensity(kernel="gaussian", bandwidth=float(h)).fit(x[:, None])
    log_p = kde.score_samples(x[:, None])
    log_p0 = kde.score_samples(np.array([[null]]))
    return (len(x) - np.sum(log_p > log_p0)) / len(x)


# --------------------------------------------------------------------------- independent truth
@pytest.mark.parametrize("scale", [1e-3, 1.0, 250.0])
def test_evidence_equals_wald_pvalue_for_gaussian_draws(scale):
    """Ev = 2(1 - Phi(|mu|/sigma)) for N(mu, sigma^2) draws (paper notes section 1.8).

    Two Monte-Carlo errors: the binomial error of the counted fraction, and the KDE's error in
    locating the tangential set's boundary (|eta - mu| = |mu|), a shift of a few hundredths of
    sigma at 10^5 draws that moves Ev by 2 phi(z) times the shift.
    """
    S = 100_000
    z = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    rng = np.random.default_rng(1)
    draws = scale * (z + rng.standard_normal((S, z.size)))
    ev = evidence_value(draws, null=0.0, axis=0)
    wald = 2 * stats.norm.sf(z)
    tol = 4 * np.sqrt(wald * (1 - wald) / S) + 2 * stats.norm.pdf(z) * 0.05
    np.testing.assert_array_less(np.abs(ev - wald)[1:], tol[1:])
    assert ev[0] > 0.85  # at mu = 0 only the boundary error remains (true value 1)


def test_mean_evidence_over_cells_matches_wald_at_paper_draw_count():
    """At the paper's 300 draws the KDE's boundary error leaves a small bias (about +0.02 at
    |mu|/sigma = 0.5, shrinking with z); the mean over 1000 cells per z stays within 0.035."""
    S, n_cells = 300, 3000
    z = np.repeat([0.5, 1.0, 2.0], n_cells // 3)
    draws = z + np.random.default_rng(2).standard_normal((S, z.size))
    ev = evidence_value(draws, null=0.0, axis=0).reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(ev, 2 * stats.norm.sf([0.5, 1.0, 2.0]), atol=0.035)


@pytest.mark.parametrize("bandwidth", ["silverman", "scott", 0.3])
@pytest.mark.parametrize("algorithm", ["binned", "direct", "auto"])
def test_evidence_equals_sklearn_kernel_density_count_exactly(bandwidth, algorithm):
    draws = _mixed_cells()
    S = draws.shape[0]
    ev = evidence_value(draws, null=0.0, axis=0, bandwidth=bandwidth, algorithm=algorithm)
    h = np.full(draws.shape[1], 0.3) if bandwidth == 0.3 else kde_bandwidth(draws, bandwidth)
    ref = np.array([_sklearn_evidence(draws[:, c], h[c]) for c in range(draws.shape[1])])
    np.testing.assert_array_equal(ev * S, ref * S)
    assert len(np.unique(ev)) > 8  # the cells really differ


def test_evidence_equals_sklearn_for_nulls_inside_and_outside_the_draws():
    draws = _mixed_cells(S=257, seed=3)
    nulls = np.linspace(-3, 3, draws.shape[1])
    ev = evidence_value(draws, null=nulls, axis=0)
    h = kde_bandwidth(draws)
    ref = [_sklearn_evidence(draws[:, c], h[c], nulls[c]) for c in range(draws.shape[1])]
    np.testing.assert_array_equal(ev, ref)


def test_binned_algorithm_equals_direct_on_many_random_cells():
    rng = np.random.default_rng(4)
    S, n = 200, 1500
    kind = rng.integers(0, 4, n)
    base = np.where(kind == 0, rng.standard_normal((S, n)), rng.standard_t(3, (S, n)))
    base = np.where(kind == 2, np.sign(base) + 0.3 * base, base)  # bimodal
    base = np.where(kind == 3, np.exp(base), base)  # skewed
    draws = base * rng.uniform(0.01, 10, n) + rng.normal(0, 2, n)
    nulls = rng.normal(0, 2, n)
    ev_b = evidence_value(draws, null=nulls, algorithm="binned")
    ev_d = evidence_value(draws, null=nulls, algorithm="direct")
    np.testing.assert_array_equal(ev_b, ev_d)


def test_paper_cv_picks_the_same_bandwidth_as_sklearn_gridsearchcv():
    rng = np.random.default_rng(5)
    S = 303  # not a multiple of 5: folds of unequal size, as in KFold
    scales = np.array([0.004, 0.03, 0.08, 0.3, 1.0, 4.0])
    draws = rng.standard_normal((S, scales.size)) * scales + rng.normal(size=scales.size)
    h = kde_bandwidth(draws, "paper_cv")
    ref = []
    for c in range(scales.size):
        grid = GridSearchCV(KernelDensity(), {"bandwidth": list(PAPER_BANDWIDTH_GRID)}, cv=5)
        ref.append(grid.fit(draws[:, c : c + 1]).best_params_["bandwidth"])
    np.testing.assert_array_equal(h, ref)
    assert len(set(ref)) >= 3
    ev = evidence_value(draws, axis=0, bandwidth="paper_cv")
    expect = [_sklearn_evidence(draws[:, c], ref[c]) for c in range(scales.size)]
    np.testing.assert_array_equal(ev, expect)


def test_cv_bandwidth_is_gridsearchcv_over_multiples_of_silverman_and_scale_equivariant():
    rng = np.random.default_rng(6)
    draws = np.concatenate([rng.normal(-1, 0.3, (150, 3)), rng.normal(1, 0.3, (150, 3))])
    draws[:, 1] = rng.standard_t(3, 300)
    factors = [0.25, 0.5, 1.0, 2.0]
    h = kde_bandwidth(draws, "cv", cv_grid=factors)
    silver = kde_bandwidth(draws, "silverman")
    for c in range(3):
        grid = GridSearchCV(KernelDensity(), {"bandwidth": list(silver[c] * np.array(factors))})
        assert h[c] == grid.fit(draws[:, c : c + 1]).best_params_["bandwidth"]
    np.testing.assert_allclose(kde_bandwidth(1000 * draws, "cv", cv_grid=factors), 1000 * h)


def test_silverman_and_scott_bandwidths_match_r_bw_nrd0_and_bw_nrd():
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])  # sd 3.536, IQR 2 -> spread 2 / 1.34
    assert kde_bandwidth(x) == pytest.approx(0.9 * (2 / 1.34) * 5**-0.2, rel=1e-12)
    assert kde_bandwidth(x, "scott") == pytest.approx(1.06 * (2 / 1.34) * 5**-0.2, rel=1e-12)
    y = np.array([0.0, 0.0, 0.0, 0.0, 1.0])  # IQR 0: R falls back to the sd
    assert kde_bandwidth(y) == pytest.approx(0.9 * np.std(y, ddof=1) * 5**-0.2, rel=1e-12)


# --------------------------------------------------------------------------- exact cases
def test_constant_draws_give_one_at_the_null_and_zero_elsewhere():
    draws = np.zeros((50, 4))
    draws[:, 1] = 2.5
    draws[:, 2] = -1e-300
    draws[:, 3] = np.linspace(-1, 1, 50)
    ev = evidence_value(draws, null=[0.0, 2.5, 0.0, 0.0], axis=0)
    np.testing.assert_array_equal(ev[:3], [1.0, 1.0, 0.0])
    assert 0 < ev[3] <= 1
    np.testing.assert_array_equal(gaussian_evidence(draws[:, :3], [0.0, 2.5, 0.0]), [1, 1, 0])


def test_two_draws_and_ties_at_the_null_count_outside():
    # two draws at +-1, h = 2: KDE at the null 2 exp(-1/8) = 1.76 > 1 + exp(-1/2) = 1.61 at
    # the draws; with h = 0.5 the draws' own peaks win (1 + e^-8 > 2 e^-2)
    assert evidence_value(np.array([-1.0, 1.0]), null=0.0, bandwidth=2.0) == 1.0
    assert evidence_value(np.array([-1.0, 1.0]), null=0.0, bandwidth=0.5) == 0.0
    assert evidence_value(np.array([-1.0, 1.0]), null=5.0) == 0.0
    # the null is itself a draw: that draw ties with it and counts as outside
    draws = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    assert evidence_value(draws, null=0.0, bandwidth=0.1) == pytest.approx(3 / 7)
    assert evidence_value(draws, null=1.0, bandwidth=0.1) == 1.0


def test_evidence_is_finite_in_unit_interval_for_extreme_scales():
    rng = np.random.default_rng(7)
    base = rng.standard_normal((300, 4))
    draws = np.stack([1e-150 * base[:, 0], 1e150 * base[:, 1], 1e8 + 1e-3 * base[:, 2],
                      base[:, 3]], axis=1)
    draws[:5, 3] = 1e12  # far outliers
    ev = evidence_value(draws, null=[0.0, 0.0, 1e8, 0.0], axis=0)
    assert np.all(np.isfinite(ev)) and np.all((ev >= 0) & (ev <= 1))
    ev_direct = evidence_value(draws, null=[0.0, 0.0, 1e8, 0.0], algorithm="direct")
    np.testing.assert_array_equal(ev, ev_direct)


def test_scaling_draws_and_null_by_a_power_of_two_leaves_evidence_unchanged():
    draws = _mixed_cells(seed=8)
    ev = evidence_value(draws, null=0.5)
    np.testing.assert_array_equal(evidence_value(1024.0 * draws, null=512.0), ev)


# --------------------------------------------------------------------------- shapes and axes
def test_vectorised_evidence_equals_per_cell_loop():
    rng = np.random.default_rng(9)
    draws = rng.standard_normal((120, 4, 3)) + rng.normal(size=(4, 3))
    ev = evidence_value(draws, axis=0)
    loop = np.array([[evidence_value(draws[:, i, j]) for j in range(3)] for i in range(4)])
    assert ev.shape == (4, 3)
    np.testing.assert_array_equal(ev, loop)
    for kw in ({"chunk_size": 5}, {"chunk_size": 2, "n_jobs": 2}):
        np.testing.assert_array_equal(evidence_value(draws, axis=0, **kw), ev)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_axis_selects_the_draw_axis_for_any_layout(axis):
    rng = np.random.default_rng(10)
    base = rng.standard_normal((90, 5, 4)) + rng.normal(size=(5, 4))  # draws first
    ref = evidence_value(base, axis=0)
    moved = np.moveaxis(base, 0, axis)
    ev = evidence_value(moved, axis=axis)
    np.testing.assert_array_equal(ev, ref)
    np.testing.assert_array_equal(evidence_value(np.asfortranarray(moved), axis=axis), ref)
    np.testing.assert_array_equal(evidence_value(torch.from_numpy(moved), axis=axis), ref)


def test_float32_input_and_null_and_bandwidth_broadcasting():
    rng = np.random.default_rng(11)
    draws = (rng.standard_normal((200, 6, 3)) + [0.0, 1.0, 3.0]).astype(np.float32)
    nulls = np.array([0.0, 1.0, 3.0])  # one per feature (last axis)
    ev = evidence_value(draws, null=nulls, axis=0)
    ref = evidence_value(draws.astype(np.float64) - nulls, null=0.0, axis=0)
    np.testing.assert_allclose(ev, ref, atol=3 / 200)
    h = kde_bandwidth(draws, axis=0)
    np.testing.assert_array_equal(evidence_value(draws, nulls, bandwidth=h), ev)


def test_gaussian_evidence_is_the_two_sided_wald_pvalue_of_mean_and_sd():
    rng = np.random.default_rng(12)
    draws = rng.normal([0.1, -1.0, 2.0], [1.0, 0.5, 0.4], size=(500, 3))
    mu, sd = draws.mean(axis=0), draws.std(axis=0, ddof=1)
    expect = 2 * stats.norm.sf(np.abs(mu - 0.2) / sd)
    np.testing.assert_allclose(gaussian_evidence(draws, null=0.2), expect, rtol=1e-12)
    np.testing.assert_allclose(evidence_value(draws, 0.2, method="gaussian"), expect)


def test_standardized_evidence_reduces_to_ev_and_matches_chi_square_closed_forms():
    ev = np.array([0.0, 1e-6, 0.05, 0.3, 0.9, 1.0])
    np.testing.assert_array_equal(standardized_evidence(ev), ev)
    # t=2, h=1: chi2_2 quantile is -2 log(ev) and chi2_1 sf(q) = erfc(sqrt(q / 2))
    inner = ev[1:-1]
    expect = [math.erfc(math.sqrt(-math.log(e))) for e in inner]
    np.testing.assert_allclose(standardized_evidence(inner, 2, 1), expect, rtol=1e-10)
    # t=4, h=2: chi2_4 cdf 1 - e^{-x/2}(1 + x/2) inverted numerically, chi2_2 sf = e^{-x/2}
    for e in inner:
        q = optimize.brentq(lambda x, e=e: math.exp(-x / 2) * (1 + x / 2) - e, 0, 200, xtol=1e-14)
        assert float(standardized_evidence(e, 4, 2)) == pytest.approx(math.exp(-q / 2), rel=1e-8)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_raise_value_error(bad):
    draws = np.random.default_rng(13).standard_normal((50, 3))
    draws[7, 1] = bad
    for fn in (evidence_value, gaussian_evidence, kde_bandwidth):
        with pytest.raises(ValueError, match="finite"):
            fn(draws)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"samples": np.ones((1, 3))}, ValueError, "at least 2 draws"),
        ({"axis": 2}, ValueError, "axis"),
        ({"axis": 0.5}, TypeError, "axis"),
        ({"bandwidth": "isj"}, ValueError, "bandwidth"),
        ({"bandwidth": -0.1}, ValueError, "bandwidth"),
        ({"bandwidth": [0.1, 0.2]}, ValueError, "broadcast"),
        ({"null": np.nan}, ValueError, "null"),
        ({"null": np.zeros(4)}, ValueError, "null"),
        ({"method": "bayes"}, ValueError, "method"),
        ({"algorithm": "fast"}, ValueError, "algorithm"),
        ({"bandwidth": "paper_cv", "cv_folds": 1}, ValueError, "cv_folds"),
        ({"samples": np.ones((5, 3), dtype=bool)}, TypeError, "real"),
        ({"samples": np.ones((5, 3), dtype=complex)}, TypeError, "real"),
        ({"samples": [["a", "b"], ["c", "d"]]}, TypeError, "real"),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, exc, match):
    args = {"samples": np.random.default_rng(14).standard_normal((20, 3))} | kwargs
    with pytest.raises(exc, match=match):
        evidence_value(**args)


def test_standardized_evidence_rejects_bad_arguments():
    with pytest.raises(ValueError, match="ev"):
        standardized_evidence(1.2)
    with pytest.raises(ValueError, match="dim_null"):
        standardized_evidence(0.5, dim_theta=1, dim_null=1)
    with pytest.raises(TypeError, match="dim_theta"):
        standardized_evidence(0.5, dim_theta=1.5)


def test_empty_cells_scalar_input_and_low_precision_tensors():
    assert evidence_value(np.zeros((50, 0, 3)), axis=0).shape == (0, 3)
    with pytest.raises(ValueError, match="at least 1-d"):
        evidence_value(np.float64(1.0))
    draws = torch.randn(200, 4, generator=torch.Generator().manual_seed(0), requires_grad=True)
    ev = evidence_value(draws.to(torch.bfloat16), axis=0)
    ref = evidence_value(draws.detach().to(torch.bfloat16).float().numpy(), axis=0)
    np.testing.assert_array_equal(ev, ref)
