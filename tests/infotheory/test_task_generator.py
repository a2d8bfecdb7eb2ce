"""The seeded task generator: exact MI of its families, reproducibility, the seed split."""

import numpy as np
import pytest

from infotheory import gaussian_mutual_information
from infotheory.task_generator import HELD_OUT_SEEDS, SELECTION_SEEDS, random_task, random_tasks
from infotheory.tasks import additive_uniform, student_identity


def _seeds_where(predicate, limit=400):
    return [s for s in range(limit) if predicate(random_task(s))]


def test_selection_and_held_out_seeds_are_disjoint_and_large():
    assert not set(SELECTION_SEEDS) & set(HELD_OUT_SEEDS)
    assert len(SELECTION_SEEDS) >= 1000 and len(HELD_OUT_SEEDS) >= 1000


def test_same_seed_gives_the_same_task_and_samples():
    a, b = random_task(7), random_task(7)
    assert a.task_id == b.task_id and a.mutual_information == b.mutual_information
    xa, ya = a.sample(50, random_state=1)
    xb, yb = b.sample(50, random_state=1)
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert len({t.task_id for t in random_tasks(range(40))}) == 40


def test_generator_covers_the_families_dimensions_and_maps():
    tasks = random_tasks(range(300))
    dims = np.array([max(t.dim_x, t.dim_y) for t in tasks])
    assert dims.min() == 1 and dims.max() == 10
    assert 0.55 < np.mean(dims <= 5) < 0.8
    families = {t.family for t in tasks}
    assert families == {"generated-normal", "generated-student", "generated-additive"}
    ids = " ".join(t.task_id for t in tasks)
    for token in ("spiral", "rotate", "half_cube", "normal_cdf", "asinh", "wiggly", "power",
                  "exp", "+"):                               # "+": a composition of two maps
        assert token in ids, token
    for t in tasks[:60]:
        X, Y = t.sample(300, random_state=0)
        assert np.all(np.isfinite(X)) and np.all(np.isfinite(Y))
        assert 0.0 < t.mutual_information < 5.0


def test_untransformed_gaussian_task_mi_matches_the_sample_covariance():
    # the closed form -1/2 sum log(1 - rho_i^2) against the Gaussian MI of a large sample
    seeds = _seeds_where(lambda t: t.family == "generated-normal" and t.task_id.endswith("id|id"))
    assert len(seeds) >= 3
    for s in seeds[:3]:
        task = random_task(s)
        X, Y = task.sample(200_000, random_state=0)
        assert float(gaussian_mutual_information(X, Y)) == pytest.approx(
            task.mutual_information, abs=0.01)


def test_student_task_mi_is_gaussian_part_plus_the_identity_student_term():
    # a Student-t task whose maps are all per-coordinate: its copula MI is invariant, and with
    # no Gaussian part its truth equals the identity-dispersion closed form of tasks.py
    for s in _seeds_where(lambda t: t.family == "generated-student"):
        task = random_task(s)
        dof = int(task.task_id.split("-")[1].removeprefix("student"))
        pure = student_identity(task.dim_x, task.dim_y, dof).mutual_information
        assert task.mutual_information >= pure - 1e-12
        if abs(task.mutual_information - pure) < 1e-12:
            return
    pytest.fail("no pure-scale Student-t task among the first seeds")


def test_additive_task_mi_is_the_closed_form():
    seeds = _seeds_where(lambda t: t.family == "generated-additive", limit=100)
    task = random_task(seeds[0])
    eps = float(task.task_id.split("eps")[1])
    assert task.mutual_information == pytest.approx(
        additive_uniform(eps).mutual_information, abs=0.01)   # eps is rounded in the id


def test_random_task_refuses_a_negative_or_non_integer_seed():
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            random_task(bad)
