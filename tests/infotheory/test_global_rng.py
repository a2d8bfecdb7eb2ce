"""No infotheory estimator touches the global random state of torch, numpy or ``random``.

Every estimator is called with an int, a RandomState and a Generator ``random_state``; the
global states before and after must be identical (the neural critics are initialised from a
local ``torch.Generator`` through ``probconstraints._random.isolated_rng``).
"""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch

import infotheory as it
from infotheory.audiovisual.modality import discretize
from infotheory.audiovisual.speech import add_noise
from infotheory.neural import NeuralMIEstimator
from probconstraints._progress import progress

RNG = np.random.default_rng(1)
N = 300
X = RNG.standard_normal((N, 2))
Y = X[:, :1] + RNG.standard_normal((N, 1))
Z = RNG.standard_normal(N)
LAB = RNG.integers(0, 3, N)
TINY = dict(max_steps=20, eval_every=10, batch_size=32)

ESTIMATORS = {
    "entropy kl": lambda rs: it.entropy(X, random_state=rs, ci="bootstrap", n_resamples=3),
    "entropy discrete": lambda rs: it.entropy(LAB, ci="bootstrap", n_resamples=3,
                                              random_state=rs),
    **{f"MI {m}": (lambda rs, m=m: it.mutual_information(X, Y, method=m, random_state=rs,
                                                         ci="bootstrap", n_resamples=3))
       for m in ("auto", "ksg", "ksg2", "copula_ksg", "gaussian", "gaussian_copula")},
    "MI mixed": lambda rs: it.mutual_information(X, LAB, random_state=rs),
    **{f"MI {b}": (lambda rs, b=b: it.mutual_information(X, Y, method=b, random_state=rs,
                                                         **TINY))
       for b in ("mine", "nwj", "infonce", "smile", "doe")},
    "CMI auto": lambda rs: it.conditional_mutual_information(X, Y, Z, random_state=rs),
    "CMI ksg": lambda rs: it.conditional_mutual_information(X, Y, Z, method="ksg",
                                                            random_state=rs),
    "kl_entropy": lambda rs: it.kl_entropy(X, random_state=rs),
    "ksg_mutual_information": lambda rs: it.ksg_mutual_information(X, Y, random_state=rs),
    "ksg_conditional_mutual_information": lambda rs: it.ksg_conditional_mutual_information(
        X, Y, Z, random_state=rs),
    "mixed_mutual_information": lambda rs: it.mixed_mutual_information(X, LAB, random_state=rs),
    "NeuralMIEstimator separable": lambda rs: NeuralMIEstimator(random_state=rs,
                                                                **TINY).fit(X, Y),
    "NeuralMIEstimator joint": lambda rs: NeuralMIEstimator(critic="joint", random_state=rs,
                                                            **TINY).fit(X, Y),
    "discretize": lambda rs: discretize(X, 3, random_state=rs),
    "add_noise": lambda rs: add_noise(np.sin(np.arange(500.0)), 10.0, random_state=rs),
}


def _states():
    return np.random.get_state(), random.getstate(), torch.get_rng_state()  # noqa: NPY002


def _same(a, b):
    (np_a, py_a, t_a), (np_b, py_b, t_b) = a, b
    return (all(np.array_equal(u, v) if isinstance(u, np.ndarray) else u == v
                for u, v in zip(np_a, np_b))
            and py_a == py_b and torch.equal(t_a, t_b))


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimator_leaves_global_torch_numpy_and_random_state_unchanged(name):
    for rs in (3, np.random.RandomState(3), np.random.default_rng(3)):
        before = _states()
        ESTIMATORS[name](rs)
        assert _same(before, _states()), f"{name} changed a global RNG (random_state={rs!r})"


def test_same_int_seed_gives_the_same_neural_estimate_whatever_the_global_torch_state():
    torch.manual_seed(1)
    a = NeuralMIEstimator(random_state=5, **TINY).fit(X, Y).estimate_
    torch.manual_seed(2)
    b = NeuralMIEstimator(random_state=5, **TINY).fit(X, Y).estimate_
    assert a == b


def test_progress_bar_is_off_by_default_and_in_logs_and_rare_when_asked(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    for verbose in (0, 1):  # 1: a bar on a terminal only; this "stderr" is a log
        list(progress(range(500), verbose=verbose, desc="quiet"))
    assert log.getvalue() == ""
    list(progress(range(500), verbose=2, desc="steps", file=log))
    assert 0 < log.getvalue().count("\r") <= 3      # start and end, not one per step
