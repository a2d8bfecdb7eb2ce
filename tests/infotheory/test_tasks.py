"""Benchmark tasks: ground-truth MI against the published table and independent checks."""

import numpy as np
import pytest
from scipy import integrate, stats

from infotheory.tasks import (
    BENCHMARK_TASKS,
    additive_uniform,
    multinormal_2pair,
    student_identity,
    transform_spiral,
)

# Ground truth of Czyz et al. (benchmark-mi 0.1.3), as tabulated in shared/papers
PUBLISHED = {
    "1v1-normal-0.75": 0.4133, "1v1-additive-0.1": 1.7094, "1v1-additive-0.75": 0.3333,
    "student-identity-1-1-1": 0.2242, "multinormal-dense-2-2-0.5": 0.2939,
    "multinormal-dense-3-3-0.5": 0.4133, "multinormal-dense-5-5-0.5": 0.5928,
    "multinormal-dense-25-25-0.5": 1.2922, "multinormal-dense-50-50-0.5": 1.6243,
    "multinormal-sparse-25-25-2-2.0": 1.0217, "student-identity-2-2-1": 0.4319,
    "student-identity-2-2-2": 0.1931, "student-identity-3-3-2": 0.2909,
    "student-identity-3-3-3": 0.1787, "student-identity-5-5-2": 0.4482,
    "student-identity-5-5-3": 0.2985, "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0": 1.0217,
    "asinh-student-identity-5-5-2": 0.4482, "swissroll_x-normal_cdf-1v1-normal-0.75": 0.4133,
}


def test_forty_tasks_with_published_ground_truth_and_shapes():
    assert len(BENCHMARK_TASKS) == 40
    for task_id, mi in PUBLISHED.items():
        assert BENCHMARK_TASKS[task_id].mutual_information == pytest.approx(mi, abs=1e-4)
    for task in BENCHMARK_TASKS.values():
        X, Y = task.sample(7, random_state=0)
        assert X.shape == (7, task.dim_x) and Y.shape == (7, task.dim_y)
        assert np.all(np.isfinite(X)) and np.all(np.isfinite(Y))


def test_additive_uniform_mi_equals_numerical_integral():
    eps = 0.75
    # Y = X + N: h(Y) by quadrature of the trapezoidal density, I = h(Y) - log(2 eps)
    def p(y):
        return max(0.0, min(1.0, y + eps) - max(0.0, y - eps)) / (2 * eps)

    h_y, _ = integrate.quad(lambda y: -p(y) * np.log(p(y)) if p(y) > 0 else 0.0,
                            -eps, 1 + eps, points=[eps, 1 - eps, 1 + eps - 1e-12], limit=200)
    assert additive_uniform(eps).mutual_information == pytest.approx(
        h_y - np.log(2 * eps), abs=1e-6)


def test_student_t_mi_matches_monte_carlo_log_density_ratio():
    task = student_identity(2, 2, 2)
    X, Y = task.sample(40000, random_state=1)
    joint = stats.multivariate_t(np.zeros(4), np.eye(4), df=2).logpdf(np.hstack([X, Y]))
    mx = stats.multivariate_t(np.zeros(2), np.eye(2), df=2).logpdf(X)
    my = stats.multivariate_t(np.zeros(2), np.eye(2), df=2).logpdf(Y)
    assert np.mean(joint - mx - my) == pytest.approx(task.mutual_information, abs=0.02)


def test_gaussian_task_sample_covariance_and_spiral_is_norm_preserving():
    base = multinormal_2pair(3, 3)
    X, Y = base.sample(50000, random_state=2)
    assert np.corrcoef(X[:, 0], Y[:, 0])[0, 1] == pytest.approx(0.8, abs=0.01)
    assert np.corrcoef(X[:, 2], Y[:, 2])[0, 1] == pytest.approx(0.0, abs=0.02)
    Xs, Ys = transform_spiral(base).sample(50000, random_state=2)
    assert np.allclose(np.linalg.norm(Xs, axis=1), np.linalg.norm(X, axis=1))
    assert not np.allclose(Xs, X)


def test_sampling_is_seeded():
    task = BENCHMARK_TASKS["1v1-bimodal-0.75"]
    a, _ = task.sample(20, random_state=3)
    b, _ = task.sample(20, random_state=3)
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        task.sample(0)
