"""k-NN estimators against closed forms and scikit-learn."""

import numpy as np
import pytest
from scipy.special import digamma
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

from infotheory.knn import (
    kl_entropy,
    ksg_conditional_mutual_information,
    ksg_mutual_information,
    mixed_mutual_information,
    prepare_continuous,
)


def _gaussian_pair(rho, n, seed, dim=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, dim))
    return x, y, -0.5 * dim * np.log(1 - rho**2)


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_matches_gaussian_closed_form_1d(rho, variant):
    x, y, truth = _gaussian_pair(rho, 3000, seed=1)
    assert ksg_mutual_information(x, y, variant=variant, random_state=0) == pytest.approx(
        truth, abs=0.04)


def test_ksg_matches_gaussian_closed_form_3x3():
    x, y, truth = _gaussian_pair(0.4, 3000, seed=2, dim=3)
    # KSG is biased downwards in 6 dimensions (about -0.03 nats here)
    assert ksg_mutual_information(x, y, random_state=0) == pytest.approx(truth, abs=0.06)


def test_ksg_tree_implementation_equals_brute_force_definition():
    x, y, _ = _gaussian_pair(0.5, 600, seed=9, dim=2)
    X = prepare_continuous(x, "x", noise=0)
    Y = prepare_continuous(y, "y", noise=0)
    dx = np.abs(X[:, None] - X[None]).max(-1)
    dy = np.abs(Y[:, None] - Y[None]).max(-1)
    d = np.maximum(dx, dy)
    np.fill_diagonal(d, np.inf)
    eps = np.sort(d, 1)[:, 2]  # k = 3
    nx = (dx < eps[:, None]).sum(1) - 1
    ny = (dy < eps[:, None]).sum(1) - 1
    brute = digamma(3) + digamma(600) - np.mean(digamma(nx + 1) + digamma(ny + 1))
    assert ksg_mutual_information(x, y, noise=0) == pytest.approx(brute, abs=1e-12)
    # and the 1-D sorted-array counting path equals the tree path
    x1, y1 = x[:, :1], y[:, :1]
    X1, Y1 = X[:, :1], Y[:, :1]
    d1 = np.maximum(np.abs(X1 - X1.T), np.abs(Y1 - Y1.T))
    np.fill_diagonal(d1, np.inf)
    eps1 = np.sort(d1, 1)[:, 2]
    nx1 = (np.abs(X1 - X1.T) < eps1[:, None]).sum(1) - 1
    ny1 = (np.abs(Y1 - Y1.T) < eps1[:, None]).sum(1) - 1
    brute1 = digamma(3) + digamma(600) - np.mean(digamma(nx1 + 1) + digamma(ny1 + 1))
    assert ksg_mutual_information(x1, y1, noise=0) == pytest.approx(brute1, abs=1e-12)


def test_ksg1_agrees_with_sklearn_mutual_info_regression_exactly():
    x, y, _ = _gaussian_pair(0.7, 2000, seed=3)
    ours = ksg_mutual_information(x, y, k=3, random_state=0)
    ref = mutual_info_regression(x, y[:, 0], n_neighbors=3, random_state=0)[0]
    assert ours == pytest.approx(ref, abs=0.01)


def test_mixed_agrees_with_sklearn_mutual_info_classif():
    rng = np.random.default_rng(4)
    lab = rng.integers(0, 3, 2000)
    x = rng.normal(loc=lab.astype(float))
    ours = mixed_mutual_information(x, lab, k=3, random_state=0)
    ref = mutual_info_classif(x[:, None], lab, n_neighbors=3, random_state=0)[0]
    assert ours == pytest.approx(ref, abs=0.01)


def test_ksg_independent_variables_near_zero():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2000, 2)), rng.standard_normal((2000, 2))
    assert abs(ksg_mutual_information(x, y, random_state=0)) < 0.03


def test_kl_entropy_of_uniform_and_gaussian():
    rng = np.random.default_rng(6)
    assert kl_entropy(rng.uniform(0, 2, (3000, 1)), random_state=0) == pytest.approx(
        np.log(2.0), abs=0.05)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    z = rng.multivariate_normal([0, 0], cov, size=3000)
    truth = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov))
    assert kl_entropy(z, random_state=0) == pytest.approx(truth, abs=0.06)
    assert kl_entropy(z, metric="chebyshev", random_state=0) == pytest.approx(truth, abs=0.06)


def test_ksg_cmi_zero_under_conditional_independence_and_chain_rule_value():
    rng = np.random.default_rng(7)
    z = rng.standard_normal(3000)
    x = z + rng.standard_normal(3000)
    y = z + rng.standard_normal(3000)
    assert abs(ksg_conditional_mutual_information(x, y, z, random_state=0)) < 0.03
    # I(X; X+N | Z) for X independent of Z equals the unconditional Gaussian MI
    y2 = x + rng.standard_normal(3000)
    truth = 0.5 * np.log(1 + 2.0)  # var(x) = 2, noise var 1
    assert ksg_conditional_mutual_information(x, y2, rng.standard_normal(3000),
                                              random_state=0) == pytest.approx(truth, abs=0.05)


def test_ksg_seeded_results_identical_and_errors_named():
    x, y, _ = _gaussian_pair(0.5, 500, seed=8)
    a = ksg_mutual_information(x, y, random_state=3)
    assert a == ksg_mutual_information(x, y, random_state=3)
    with pytest.raises(ValueError, match="too few samples for k=5"):
        ksg_mutual_information(x[:5], y[:5], k=5)
    with pytest.raises(ValueError, match="same number of samples"):
        ksg_mutual_information(x, y[:-1])
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        ksg_mutual_information(bad, y)
    with pytest.raises(ValueError, match="variant must be 1 or 2"):
        ksg_mutual_information(x, y, variant=3)


def test_ksg_without_standardising_keeps_the_joint_geometry_of_differently_scaled_variables():
    # reference: KSG-1 written directly with scikit-learn KDTree counts on the raw data
    from sklearn.neighbors import KDTree

    rng = np.random.default_rng(5)
    X = 5.0 * rng.standard_normal((1500, 2))
    Y = X[:, :1] / 5.0 + 0.5 * rng.standard_normal((1500, 1))
    k, n = 3, 1500
    XY = np.hstack([X, Y])
    eps = np.nextafter(KDTree(XY, metric="chebyshev").query(XY, k=k + 1)[0][:, -1], 0)
    nx = KDTree(X, metric="chebyshev").query_radius(X, eps, count_only=True) - 1
    ny = KDTree(Y, metric="chebyshev").query_radius(Y, eps, count_only=True) - 1
    reference = digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))
    ours = ksg_mutual_information(X, Y, k=k, standardize=False, noise=0)
    assert ours == pytest.approx(reference, abs=1e-12)
