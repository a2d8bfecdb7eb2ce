"""CONTRIBUTING.md's worked example of a posterior backend, run as written.

The ``map-backend`` code block is written to a temporary module, registered for the test only
(``monkeypatch`` restores the registry) and used through ``BayesianMLP(inference="map")``.
Truths: its mode matches L-BFGS on the hand-written gradient of the log posterior
(``StackedMLP.log_post_grad``, not the autograd the example optimises with); a point mass
gives every draw the same weights, and its FBST evidence is exactly 0 for a statistic that is
not 0 (Ev = 1 where it is exactly 0).
"""

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from nfbst import NFBST, BayesianMLP
from nfbst.backends import available, base
from nfbst.backends.base import stacked_model

DOC = Path(__file__).resolve().parents[2] / "CONTRIBUTING.md"


def _example_code() -> str:
    text = DOC.read_text()
    m = re.search(r"<!-- example: map-backend[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert m, "CONTRIBUTING.md lost its map-backend example block"
    return m.group(1)


@pytest.fixture
def map_backend(tmp_path, monkeypatch):
    (tmp_path / "contrib_map_backend.py").write_text(_example_code())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    # the one registration line of the guide, with the temporary module's name
    base.register("map", "contrib_map_backend:MAPBackend")
    yield
    sys.modules.pop("contrib_map_backend", None)


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] + 0.1 * rng.normal(size=n)  # x2 irrelevant
    return X, y


def test_contributing_map_backend_registers_and_reaches_the_mode_lbfgs_finds(map_backend):
    assert "map" in available()
    X, y = _data()
    bnn = BayesianMLP(hidden=(6,), activation="tanh", inference="map", n_steps=1500, lr=0.05,
                      noise=0.2, prior_scale=1.0, random_state=0).fit(X, y)
    be = bnn.backend_
    model = stacked_model(be.layer_sizes, be.s)
    Z = torch.as_tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32).double()
    t = torch.as_tensor((y - y.mean()) / y.std(), dtype=torch.float32).double()

    def neg_log_post(x):  # the hand-written gradient, not the autograd the example uses
        lp, g = model.log_post_grad(torch.as_tensor(x)[None], Z, t)
        return -float(lp[0]), -g[0].numpy()

    theta = be.theta[0].numpy()
    ref = minimize(neg_log_post, theta, jac=True, method="L-BFGS-B",
                   options=dict(gtol=1e-10, maxiter=5000))
    assert neg_log_post(theta)[0] - ref.fun < 1e-3 * abs(ref.fun)
    out = model.forward(be.theta, Z)[0, :, 0]
    out_ref = model.forward(torch.as_tensor(ref.x)[None], Z)[0, :, 0]
    assert float((out - out_ref).square().mean().sqrt()) < 0.02
    # a point mass: every draw the same, in the user's units, fitting the signal
    draws = bnn.sample_posterior(7, random_state=1)
    assert len(draws) == 7
    for W in draws.weights:
        assert torch.equal(W, W[:1].expand_as(W))
    pred = draws.forward(X).detach().numpy()[0, :, 0]
    assert np.mean((pred - y) ** 2) < 0.1 * np.var(y)


def test_contributing_map_backend_point_mass_has_zero_evidence_and_round_trips(
        map_backend, tmp_path):
    X, y = _data(80, seed=1)
    model = BayesianMLP(hidden=(4,), activation="tanh", inference="map", n_steps=200,
                        random_state=0)
    res = NFBST(model=model, n_posterior_samples=20, calibration="none", holdout=None,
                random_state=0).fit(X, y).test(scope="instance")
    # all draws equal and the gradient non-zero: the tangential set holds every draw
    assert res.evidence.shape == (80, 3)
    np.testing.assert_array_equal(res.evidence, 0.0)
    bnn = BayesianMLP(hidden=(4,), inference="map", n_steps=50, random_state=0).fit(X, y)
    bnn.save(str(tmp_path / "m"))
    again = BayesianMLP.load(str(tmp_path / "m"))
    np.testing.assert_array_equal(again.predict(X), bnn.predict(X))


def test_contributing_map_backend_is_gone_after_the_test():
    assert "map" not in available()
    with pytest.raises(ValueError, match="inference must be one of"):
        BayesianMLP(inference="map").fit(*_data(20))
