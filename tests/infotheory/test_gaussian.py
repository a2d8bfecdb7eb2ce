"""Gaussian closed-form estimators against the analytic MI of known covariances."""

import numpy as np
import pytest

from infotheory.gaussian import (
    canonical_correlations,
    copula_normalize,
    gaussian_conditional_mutual_information,
    gaussian_entropy,
    gaussian_mi_from_covariance,
    gaussian_mutual_information,
)


@pytest.mark.parametrize("rho", [0.0, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("dim", [1, 3, 6])
def test_gaussian_mi_matches_closed_form_for_correlations_and_dimensions(rho, dim):
    d = 2 * dim
    cov = np.eye(d)
    for i in range(dim):
        cov[i, dim + i] = cov[dim + i, i] = rho
    truth = gaussian_mi_from_covariance(cov, dim)
    assert truth == pytest.approx(-0.5 * dim * np.log(1 - rho**2))
    xy = np.random.default_rng(dim).multivariate_normal(np.zeros(d), cov, size=20000)
    est = gaussian_mutual_information(xy[:, :dim], xy[:, dim:])
    assert est == pytest.approx(truth, abs=0.01 + 0.02 * truth)


def test_gaussian_entropy_bias_correction_is_unbiased_over_repeats():
    cov = np.array([[1.0, 0.3, 0.0], [0.3, 2.0, 0.4], [0.0, 0.4, 1.5]])
    truth = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov))
    rng = np.random.default_rng(0)
    raw, corr = [], []
    for _ in range(200):
        z = rng.multivariate_normal(np.zeros(3), cov, size=30)
        raw.append(gaussian_entropy(z, bias_correction=False))
        corr.append(gaussian_entropy(z))
    assert abs(np.mean(corr) - truth) < 0.03 < abs(np.mean(raw) - truth)


def test_gaussian_cmi_matches_partial_correlation_formula():
    rng = np.random.default_rng(1)
    z = rng.standard_normal(30000)
    x = z + rng.standard_normal(30000)
    y = z + 0.5 * x + rng.standard_normal(30000)
    # residual correlation of x and y given z: x|z ~ N(0,1), y|z = 0.5 x + e
    rho = 0.5 / np.sqrt(0.25 + 1)
    assert gaussian_conditional_mutual_information(x, y, z) == pytest.approx(
        -0.5 * np.log(1 - rho**2), abs=0.01)


def test_copula_normalize_makes_mi_invariant_to_monotone_maps():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(3000)
    y = 0.7 * x + rng.standard_normal(3000)
    a = gaussian_mutual_information(copula_normalize(x), copula_normalize(y))
    b = gaussian_mutual_information(copula_normalize(np.exp(x)), copula_normalize(y**3))
    assert a == pytest.approx(b, abs=1e-12)


def test_canonical_correlations_recover_known_values():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20000, 2))
    y = np.column_stack([0.6 * x[:, 1] + 0.8 * rng.standard_normal(20000),
                         rng.standard_normal(20000)])
    assert canonical_correlations(x, y) == pytest.approx([0.6, 0.0], abs=0.03)
