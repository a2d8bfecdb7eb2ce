"""Benchmark distributions with known mutual information (Czyz et al., NeurIPS 2023).

A numpy/scipy re-implementation of the 40 tasks of the ``benchmark-mi`` package ("Beyond
Normal", arXiv:2306.11078): Gaussian (dense and sparse "2-pair"), Student-t, additive uniform
noise, and those distributions pushed through MI-preserving maps (half-cube, normal CDF, asinh,
wiggly, bimodal inverse CDFs, Swiss roll, spiral). Samples differ from the JAX streams of
``benchmark-mi``; the distributions and their exact MI are the same.

Examples
--------
>>> task = BENCHMARK_TASKS["multinormal-sparse-3-3-2-2.0"]
>>> X, Y = task.sample(100, random_state=0)
>>> X.shape, Y.shape, round(task.mutual_information, 4)
((100, 3), (100, 3), 1.0217)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln, ndtr

from probconstraints._random import RandomStateLike

from .gaussian import gaussian_mi_from_covariance  # public here too

__all__ = [
    "BENCHMARK_TASKS",
    "Task",
    "additive_uniform",
    "bimodal",
    "bivariate_normal",
    "gaussian_mi_from_covariance",
    "multinormal_2pair",
    "multinormal_dense",
    "student_identity",
    "swissroll",
    "transform_asinh",
    "transform_half_cube",
    "transform_normal_cdf",
    "transform_spiral",
    "transform_wiggly",
]

Sampler = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
#: a map applied to an (n, d) sample (the MI-preserving transforms)
_Map = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Task:
    """A joint distribution of (X, Y) with exactly known mutual information.

    Attributes
    ----------
    task_id : str
        Identifier following ``benchmark-mi`` (e.g. ``"spiral-multinormal-sparse-3-3-2-2.0"``).
    name : str
        Human-readable name.
    dim_x, dim_y : int
        Dimensions of X and Y.
    mutual_information : float
        I(X;Y) in nats.
    family : str
        ``"normal"``, ``"student"``, ``"additive"`` or ``"transformed"``.
    """

    task_id: str
    name: str
    dim_x: int
    dim_y: int
    mutual_information: float
    family: str
    sampler: Sampler = field(repr=False, compare=False)

    def sample(self, n: int, random_state: RandomStateLike = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` samples; returns X of shape (n, dim_x) and Y of shape (n, dim_y).

        Examples
        --------
        >>> X, Y = bivariate_normal(0.5).sample(10, random_state=1)
        >>> X.shape
        (10, 1)
        """
        if int(n) < 1:
            raise ValueError(f"n must be a positive integer; got {n}")
        rng = np.random.default_rng(random_state)
        return self.sampler(int(n), rng)


def _gaussian_sampler(cov: np.ndarray, dim_x: int) -> Sampler:
    chol = np.linalg.cholesky(cov)

    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        xy = rng.standard_normal((n, cov.shape[0])) @ chol.T
        return xy[:, :dim_x], xy[:, dim_x:]

    return sample


def _normal_task(task_id: str, name: str, cov: ArrayLike, dim_x: int) -> Task:
    cov = np.asarray(cov, dtype=float)
    return Task(task_id, name, dim_x, cov.shape[0] - dim_x,
                gaussian_mi_from_covariance(cov, dim_x), "normal", _gaussian_sampler(cov, dim_x))


def bivariate_normal(correlation: float = 0.75) -> Task:
    """Bivariate normal with correlation rho; I = -1/2 log(1 - rho^2)."""
    cov = np.array([[1.0, correlation], [correlation, 1.0]])
    return _normal_task(f"1v1-normal-{correlation}", "Bivariate normal 1 x 1", cov, 1)


def multinormal_dense(dim_x: int, dim_y: int, off_diag: float = 0.5) -> Task:
    """Gaussian with unit variances and every correlation equal to ``off_diag``."""
    d = dim_x + dim_y
    cov = np.eye(d) * (1 - off_diag) + off_diag
    return _normal_task(f"multinormal-dense-{dim_x}-{dim_y}-{off_diag}",
                        f"Multinormal {dim_x} x {dim_y} (dense)", cov, dim_x)


def multinormal_2pair(dim_x: int, dim_y: int, strength: float = 2.0) -> Task:
    """Sparse Gaussian latent-variable model: X_i, Y_i share Z_i for i < 2 (corr 0.8)."""
    d = dim_x + dim_y
    cov = np.eye(d) * (1.0 + strength**2)  # epsilon = 1, eta = lambda = strength
    for i in range(2):
        cov[i, dim_x + i] = cov[dim_x + i, i] = strength**2
    sd = np.sqrt(np.diag(cov))
    cov = cov / np.outer(sd, sd)
    return _normal_task(f"multinormal-sparse-{dim_x}-{dim_y}-2-{strength}",
                        f"Multinormal {dim_x} x {dim_y} (2-pair)", cov, dim_x)


def _student_entropy(k: int, dof: float) -> float:
    """h of a standard k-variate Student-t (Arellano-Valle et al. 2013, eq. 7)."""
    half = 0.5 * (dof + k)
    return (-gammaln(half) + gammaln(0.5 * dof) + 0.5 * k * np.log(dof * np.pi)
            + half * (digamma(half) - digamma(0.5 * dof)))


def student_identity(dim_x: int, dim_y: int, dof: int) -> Task:
    """Multivariate Student-t with identity dispersion: dependence only through the scale."""
    mi = (_student_entropy(dim_x, dof) + _student_entropy(dim_y, dof)
          - _student_entropy(dim_x + dim_y, dof))

    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, dim_x + dim_y))
        w = rng.chisquare(dof, size=(n, 1))
        xy = z / np.sqrt(w / dof)
        return xy[:, :dim_x], xy[:, dim_x:]

    return Task(f"student-identity-{dim_x}-{dim_y}-{dof}",
                f"Student-t {dim_x} x {dim_y} (dof={dof})", dim_x, dim_y, float(mi), "student",
                sample)


def additive_uniform(epsilon: float) -> Task:
    """X ~ U(0, 1), Y = X + U(-eps, eps); I = eps - log(2 eps) if eps <= 1/2 else 1/(4 eps)."""
    mi = 0.25 / epsilon if epsilon > 0.5 else epsilon - np.log(2 * epsilon)

    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        return x, x + rng.uniform(-epsilon, epsilon, size=(n, 1))

    return Task(f"1v1-additive-{epsilon}", f"Uniform 1 x 1 (additive noise, eps={epsilon})",
                1, 1, float(mi), "additive", sample)


def _transform(base: Task, fx: _Map, fy: _Map, prefix: str, label: str) -> Task:
    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = base.sampler(n, rng)
        return fx(x), fy(y)

    x0, y0 = sample(2, np.random.default_rng(0))
    return Task(f"{prefix}-{base.task_id}", f"{label} @ {base.name}", x0.shape[1], y0.shape[1],
                base.mutual_information, "transformed", sample)


def transform_half_cube(base: Task) -> Task:
    """Apply x -> x sqrt(|x|) to every coordinate (heavier tails, same MI)."""
    f = lambda v: v * np.sqrt(np.abs(v))  # noqa: E731
    return _transform(base, f, f, "half_cube", "Half-cube")


def transform_normal_cdf(base: Task) -> Task:
    """Apply the standard normal CDF to every coordinate (uniform margins)."""
    return _transform(base, ndtr, ndtr, "normal_cdf", "Normal CDF")


def transform_asinh(base: Task) -> Task:
    """Apply asinh to every coordinate (lighter tails)."""
    return _transform(base, np.arcsinh, np.arcsinh, "asinh", "Asinh")


def _wiggly_x(x: np.ndarray) -> np.ndarray:
    return x + 0.4 * np.sin(x) + 0.2 * np.sin(1.7 * x + 1) + 0.03 * np.sin(3.3 * x - 2.5)


def _wiggly_y(y: np.ndarray) -> np.ndarray:
    return y - 0.4 * np.sin(0.4 * y) + 0.17 * np.sin(1.3 * y + 3.5) + 0.02 * np.sin(4.3 * y - 2.5)


def transform_wiggly(base: Task) -> Task:
    """Apply monotone sums of sines (the ``wiggly`` maps of benchmark-mi)."""
    return _transform(base, _wiggly_x, _wiggly_y, "wiggly", "Wiggly")


def _so_generator(n: int, i: int, j: int) -> np.ndarray:
    g = np.zeros((n, n))
    g[i, j], g[j, i] = 1.0, -1.0
    return g


def _spiral(generator: np.ndarray, speed: float) -> _Map:
    """x -> expm(speed * |x|^2 * G) x, a diffeomorphism (rotation angle grows with radius)."""
    # G generates a plane rotation, so expm(t G) is a rotation by angle t in that plane.
    i, j = np.argwhere(generator > 0)[0]

    def f(v: np.ndarray) -> np.ndarray:
        t = speed * np.sum(v**2, axis=1)
        c, s = np.cos(t), np.sin(t)
        out = v.copy()
        out[:, i] = c * v[:, i] + s * v[:, j]
        out[:, j] = -s * v[:, i] + c * v[:, j]
        return out

    return f


def transform_spiral(base: Task, speed: float = 1.0) -> Task:
    """Spiral diffeomorphism on X (plane 0-1) and Y (plane 1-2), speed normalised by dimension."""
    if base.dim_x < 2 or base.dim_y < 3:
        raise ValueError(f"spiral needs dim_x >= 2 and dim_y >= 3; got {base.dim_x}, "
                         f"{base.dim_y}")
    fx = _spiral(_so_generator(base.dim_x, 0, 1), speed / base.dim_x)
    fy = _spiral(_so_generator(base.dim_y, 1, 2), speed / base.dim_y)
    return _transform(base, fx, fy, "spiral", "Spiral")


def _inverse_mixture_cdf(weights: Sequence[float], means: Sequence[float]) -> _Map:
    grid = np.linspace(min(means) - 12.0, max(means) + 12.0, 200_001)
    cdf = sum(w * ndtr(grid - m) for w, m in zip(weights, means))
    return lambda u: np.interp(u, cdf, grid)


def bimodal(correlation: float = 0.75) -> Task:
    """Bivariate normal pushed to uniform margins, then to bimodal Gaussian-mixture margins."""
    base = transform_normal_cdf(bivariate_normal(correlation))
    fx = _inverse_mixture_cdf([0.3, 0.7], [0.0, 5.0])
    fy = _inverse_mixture_cdf([0.5, 0.5], [-1.0, 3.0])
    task = _transform(base, fx, fy, "bimodal", "Bimodal")
    return Task(f"1v1-bimodal-{correlation}", "Bimodal 1 x 1", 1, 1, task.mutual_information,
                "transformed", task.sampler)


def swissroll(correlation: float = 0.75) -> Task:
    """Uniform-margin bivariate normal with X embedded as a 2-D Swiss roll."""
    base = transform_normal_cdf(bivariate_normal(correlation))

    def roll(x: np.ndarray) -> np.ndarray:
        t = 1.5 * np.pi * (1 + 2 * x[:, 0])
        return np.column_stack([t * np.cos(t), t * np.sin(t)]) / 21.0

    return _transform(base, roll, lambda y: y, "swissroll_x", "Swiss roll")


def _benchmark_tasks() -> dict[str, Task]:
    sparse = {d: multinormal_2pair(d, d) for d in (2, 3, 5, 25)}
    tasks = [
        bivariate_normal(0.75),
        transform_normal_cdf(bivariate_normal(0.75)),
        additive_uniform(0.1),
        additive_uniform(0.75),
        bimodal(0.75),
        transform_wiggly(bivariate_normal(0.75)),
        transform_half_cube(bivariate_normal(0.75)),
        student_identity(1, 1, 1),
        transform_asinh(student_identity(1, 1, 1)),
        swissroll(0.75),
        *[multinormal_dense(d, d) for d in (2, 3, 5, 25, 50)],
        *sparse.values(),
        student_identity(2, 2, 1),
        student_identity(2, 2, 2),
        student_identity(3, 3, 2),
        student_identity(3, 3, 3),
        student_identity(5, 5, 2),
        student_identity(5, 5, 3),
        *[transform_normal_cdf(sparse[d]) for d in (3, 5, 25)],
        *[transform_half_cube(sparse[d]) for d in (3, 5, 25)],
        *[transform_spiral(sparse[d]) for d in (3, 5, 25)],
        *[transform_spiral(transform_normal_cdf(sparse[d])) for d in (3, 5, 25)],
        transform_asinh(student_identity(2, 2, 1)),
        transform_asinh(student_identity(3, 3, 2)),
        transform_asinh(student_identity(5, 5, 2)),
    ]
    return {t.task_id: t for t in tasks}


#: The 40 tasks of benchmark-mi, keyed by task id, in the order of its ground-truth table.
BENCHMARK_TASKS: dict[str, Task] = _benchmark_tasks()
