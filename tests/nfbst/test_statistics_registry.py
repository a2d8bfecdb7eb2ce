"""Statistics are found by name; a user's statistic registered by name is used end to end."""

import numpy as np
import pytest
import torch

import nfbst.statistics as statistics
from nfbst.statistics import available_statistics, get_statistic, register_statistic
from nfbst.statistics._synthetic import random_draws


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry, so registrations do not leak between tests."""
    monkeypatch.setattr(statistics, "_REGISTRY", dict(statistics._REGISTRY))
    return statistics._REGISTRY


def test_builtin_statistics_are_registered_by_the_issue_names():
    names = set(available_statistics())
    assert {"grad", "deeplift", "lrp", "lime", "integrated_gradients",
            "input_x_gradient"} <= names
    assert get_statistic("deeplift") is statistics.deeplift
    assert get_statistic("lime") is statistics.lime


def _shifted_gradient(calls):
    def fn(draws, X, target=None, shift=0.0):
        calls.append(shift)
        eta = get_statistic("grad")(draws, X, target=target)
        eta[..., 0] = 0.0  # feature 0: exactly the null for every draw
        eta[..., 1] = shift  # feature 1: far from the null for every draw
        return eta
    return fn


def test_user_statistic_registered_by_name_is_called_with_its_options(registry):
    calls = []
    fn = register_statistic("shifted_gradient", _shifted_gradient(calls))
    draws = random_draws(5, 3, (4,))
    X = torch.randn(6, 3, dtype=torch.float64)
    eta = get_statistic("shifted_gradient")(draws, X, shift=7.0)
    assert calls == [7.0] and eta.shape == (5, 6, 3)
    assert (eta[..., 1] == 7.0).all()
    with pytest.raises(ValueError, match="already registered"):
        register_statistic("shifted_gradient", fn)
    register_statistic("shifted_gradient", get_statistic("lrp"), overwrite=True)
    assert get_statistic("shifted_gradient") is statistics.lrp
    with pytest.raises(ValueError, match="unknown statistic"):
        get_statistic("no_such_statistic")
    with pytest.raises(TypeError, match="callable"):
        register_statistic("bad", 3)


def test_user_statistic_flows_into_nfbst_evidence(registry):
    significance = pytest.importorskip("nfbst.significance")
    calls = []
    register_statistic("shifted_gradient", _shifted_gradient(calls))
    draws = random_draws(40, 3, (4,), random_state=1)
    X = np.random.default_rng(0).normal(size=(6, 3))
    test = significance.NFBST.from_draws(draws, statistic="shifted_gradient",
                                         statistic_options={"shift": 5.0})
    eta = test.statistic_samples(X)
    assert eta.shape == (40, 6, 3) and np.all(eta[..., 1] == 5.0)
    res = test.test(X, scope="instance")
    assert len(calls) == 2
    ev = np.asarray(res.evidence)
    assert ev.shape == (6, 3)
    np.testing.assert_array_equal(ev[:, 0], 1.0)  # all draws at the null
    np.testing.assert_array_equal(ev[:, 1], 0.0)  # all draws at 5, away from the null
