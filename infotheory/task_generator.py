"""Random tasks with known mutual information, drawn from a seed.

:data:`~infotheory.tasks.BENCHMARK_TASKS` is a fixed list of 40 tasks; an estimator tuned on
it can fit the list rather than the problem. :func:`random_task` draws a random member of the
same families instead -- Gaussian pairs (sparse or dense, random canonical correlations and
random rotations), multivariate Student-t (random degrees of freedom and dispersion), additive
uniform noise -- pushed through random MI-preserving maps: per-coordinate monotone warps
(half-cube, normal CDF, asinh, wiggly, random powers, exp), random rotations, spirals with a
random plane and speed, and compositions of two of them. Dimensions run from 1 to 10.

Every map acts on X alone or on Y alone and is invertible, so I(X;Y) is that of the base
distribution, which is known in closed form:

* Gaussian with canonical correlations rho_i: ``-1/2 sum log(1 - rho_i^2)``;
* Student-t with dispersion Sigma and nu degrees of freedom: the Gaussian MI of Sigma plus the
  MI of the identity-dispersion Student-t (whitening X and Y separately is invertible; the
  entropy of a t with dispersion Sigma is that of the identity one plus ``1/2 log det Sigma``);
* X ~ U(0, 1), Y = X + U(-eps, eps): ``eps - log(2 eps)`` (eps <= 1/2), ``1/(4 eps)`` above.

Seeds are split once for all: :data:`SELECTION_SEEDS` choose the design of ``auto`` and
calibrate its interval and verdict; :data:`HELD_OUT_SEEDS` are only reported on.

Examples
--------
>>> task = random_task(3)
>>> X, Y = task.sample(500, random_state=0)
>>> X.shape == (500, task.dim_x) and Y.shape == (500, task.dim_y)
True
>>> task.task_id == random_task(3).task_id          # the same seed, the same task
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from scipy.special import ndtr
from scipy.stats import special_ortho_group

from .gaussian import gaussian_mi_from_covariance
from .tasks import Task, _student_entropy, _wiggly_x, _wiggly_y

#: a map applied to an (n, d) sample
_Map = Callable[[np.ndarray], np.ndarray]

__all__ = ["HELD_OUT_SEEDS", "SELECTION_SEEDS", "random_task", "random_tasks"]

#: seeds that may be used to choose or calibrate anything in ``auto`` (0 to 9,999)
SELECTION_SEEDS = range(0, 10_000)
#: seeds that are only reported on, never used for a choice (100,000 to 109,999)
HELD_OUT_SEEDS = range(100_000, 110_000)


def _rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    return np.eye(1) if d == 1 else special_ortho_group.rvs(d, random_state=rng)


def _canonical_covariance(dx: int, dy: int, mi: float, pairs: int,
                          rng: np.random.Generator) -> np.ndarray:
    """Covariance of (X, Y) with ``pairs`` canonical correlations sharing ``mi`` nats at
    random, then random rotations and scales within X and within Y (MI unchanged)."""
    share = rng.dirichlet(np.ones(pairs)) * mi
    rho = np.sqrt(1.0 - np.exp(-2.0 * share))
    cov = np.eye(dx + dy)
    for i, r in enumerate(rho):
        cov[i, dx + i] = cov[dx + i, i] = r
    A = np.zeros((dx + dy, dx + dy))
    A[:dx, :dx] = _rotation(dx, rng) * np.exp(rng.uniform(-1.0, 1.0, dx))
    A[dx:, dx:] = _rotation(dy, rng) * np.exp(rng.uniform(-1.0, 1.0, dy))
    return A @ cov @ A.T


def _scale(v: np.ndarray) -> np.ndarray:
    """Per-column robust scale of a probe sample (median absolute value)."""
    return np.median(np.abs(v), axis=0) + 1e-12


def _warp(name: str, probe: np.ndarray, rng: np.random.Generator) -> _Map:
    """A random per-coordinate increasing map; its scale is fixed from a probe sample."""
    s = _scale(probe)
    if name == "half_cube":
        return lambda v: v * np.sqrt(np.abs(v))
    if name == "normal_cdf":        # only on light tails: ndtr saturates to 1.0 beyond 8.3
        return lambda v: ndtr(v / (1.5 * s))
    if name == "asinh":
        return lambda v: np.arcsinh(v / s)
    if name == "wiggly":
        return _wiggly_x if rng.random() < 0.5 else _wiggly_y
    if name == "power":
        p = rng.uniform(0.4, 2.5)
        return lambda v: np.sign(v) * np.abs(v / s) ** p
    if name == "exp":               # only on light tails
        c = rng.uniform(0.3, 1.0)
        return lambda v: np.exp(c * v / s)
    raise ValueError(f"unknown warp {name!r}")


#: warps for any base; the light-tailed ones are added for Gaussian bases
_WARPS = ("half_cube", "asinh", "wiggly", "power")
_LIGHT_TAIL_WARPS = ("normal_cdf", "exp")


def _spiral(d: int, probe: np.ndarray, rng: np.random.Generator) -> tuple[_Map, str]:
    """x -> rotation by angle speed * |x / s|^2 / d in a random plane (a diffeomorphism)."""
    i, j = rng.choice(d, 2, replace=False)
    speed = rng.uniform(0.3, 1.5)
    s2 = float(np.median(np.sum(probe**2, axis=1))) / d + 1e-12

    def f(v: np.ndarray) -> np.ndarray:
        t = speed * np.sum(v**2, axis=1) / (s2 * d)
        c, s = np.cos(t), np.sin(t)
        out = v.copy()
        out[:, i] = c * v[:, i] + s * v[:, j]
        out[:, j] = -s * v[:, i] + c * v[:, j]
        return out

    return f, f"spiral{i}{j}@{speed:.2f}"


def _rotate(Q: np.ndarray) -> _Map:
    return lambda v: v @ Q.T


def _side_map(probe: np.ndarray, gaussian_base: bool,
              rng: np.random.Generator) -> tuple[_Map, str]:
    """No map, one or a composition of two random invertible maps of one variable, given a
    probe sample of it: (function, label)."""
    d = probe.shape[1]
    steps: list[_Map] = []
    labels: list[str] = []
    for position in range(int(rng.integers(0, 3))):
        light = gaussian_base and position == 0
        kinds = ["warp"] + (["rotate"] if d >= 2 else []) \
            + (["spiral"] if d >= 2 and gaussian_base else [])
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "warp":
            names = _WARPS + (_LIGHT_TAIL_WARPS if light else ())
            name = names[int(rng.integers(len(names)))]
            step = _warp(name, probe, rng)
            labels.append(name)
        elif kind == "rotate":
            step = _rotate(_rotation(d, rng))
            labels.append("rotate")
        else:
            step, label = _spiral(d, probe, rng)
            labels.append(label)
        steps.append(step)
        probe = step(probe)

    def apply(v: np.ndarray) -> np.ndarray:
        for step in steps:
            v = step(v)
        return v

    return apply, "+".join(labels) or "id"


def _dims(rng: np.random.Generator) -> tuple[int, int]:
    """Two thirds of the tasks with both dimensions <= 5, the rest with the larger in 6-10."""
    top = int(rng.integers(1, 6)) if rng.random() < 2 / 3 else int(rng.integers(6, 11))
    other = int(rng.integers(1, top + 1))
    return (top, other) if rng.random() < 0.5 else (other, top)


def random_task(seed: int) -> Task:
    """The random task of ``seed``: a joint law of (X, Y) with exactly known MI.

    Parameters
    ----------
    seed : int
        Non-negative integer; see :data:`SELECTION_SEEDS` and :data:`HELD_OUT_SEEDS`.

    Returns
    -------
    Task
        ``task_id`` is ``"gen<seed>-<family>-<dx>x<dy>-<maps of X>|<maps of Y>"``; ``family``
        is ``"generated-normal"``, ``"generated-student"`` or ``"generated-additive"``.

    Examples
    --------
    >>> task = random_task(0)
    >>> task.task_id.startswith("gen0-") and task.mutual_information > 0
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    rng = np.random.default_rng([int(seed), 20231])
    u = rng.random()
    if u < 0.08:                                           # additive uniform noise, 1 x 1
        eps = float(rng.uniform(0.05, 1.5))
        mi = 0.25 / eps if eps > 0.5 else eps - np.log(2 * eps)

        def sample_additive(n: int, g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            x = g.uniform(0.0, 1.0, size=(n, 1))
            return x, x + g.uniform(-eps, eps, size=(n, 1))

        return Task(f"gen{seed}-additive-1x1-eps{eps:.2f}", f"Additive uniform eps={eps:.2f}",
                    1, 1, float(mi), "generated-additive", sample_additive)
    dx, dy = _dims(rng)
    student = u < 0.35
    pairs = int(rng.integers(1, min(dx, dy) + 1)) if rng.random() < 0.5 \
        else min(dx, dy, int(rng.integers(1, 3)))
    gauss_mi = float(rng.uniform(0.05, 1.5 if student else 2.0))
    if student and rng.random() < 0.3:
        gauss_mi = 0.0                                     # dependence through the scale only
    cov = _canonical_covariance(dx, dy, gauss_mi, pairs, rng)
    chol = np.linalg.cholesky(cov)
    mi = gaussian_mi_from_covariance(cov, dx)
    dof = int(rng.choice([1, 2, 3, 5, 8])) if student else 0
    if student:
        mi += (_student_entropy(dx, dof) + _student_entropy(dy, dof)
               - _student_entropy(dx + dy, dof))

    def base(n: int, g: np.random.Generator) -> np.ndarray:
        xy = g.standard_normal((n, dx + dy)) @ chol.T
        if student:
            xy = xy / np.sqrt(g.chisquare(dof, size=(n, 1)) / dof)
        return xy

    probe = base(2000, rng)
    fx, lx = _side_map(probe[:, :dx], not student, rng)
    fy, ly = _side_map(probe[:, dx:], not student, rng)

    def sample(n: int, g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        xy = base(n, g)
        return fx(xy[:, :dx]), fy(xy[:, dx:])

    family = f"student{dof}" if student else "normal"
    return Task(f"gen{seed}-{family}-{dx}x{dy}-{lx}|{ly}",
                f"generated {family} {dx} x {dy} ({pairs} pairs), X: {lx}, Y: {ly}",
                dx, dy, float(mi), "generated-student" if student else "generated-normal",
                sample)


def random_tasks(seeds: Iterable[int]) -> list[Task]:
    """:func:`random_task` of every seed.

    Examples
    --------
    >>> [t.task_id.split("-")[0] for t in random_tasks([0, 1])]
    ['gen0', 'gen1']
    """
    return [random_task(int(s)) for s in seeds]
