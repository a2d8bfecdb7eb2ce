"""The dCRT's networks of y without each unit (nfbst.distill)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

from nfbst import BayesianMLP
from nfbst.distill import (
    SeparateDistillations,
    StackedDistillations,
    StackedMeanFieldMLP,
    fit_distillations,
)
from nfbst.variational import MeanFieldMLP, fit_mean_field

SETTINGS = dict(batch_size=None, lr=0.01, lr_step=None, lr_gamma=0.5, n_steps=60, verbose=0)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_one_stacked_copy_trains_exactly_as_one_mean_field_network(task):
    rng = np.random.default_rng(0)
    Z = torch.as_tensor(rng.normal(size=(50, 3)), dtype=torch.float32)
    t = (torch.as_tensor(rng.normal(size=50), dtype=torch.float32) if task == "regression"
         else torch.as_tensor(rng.integers(0, 3, 50)))
    sizes = (3, 8, 1 if task == "regression" else 3)
    one = MeanFieldMLP(sizes, "tanh", task, 1.0, "learned", 0.01, seed=5)
    stacked = StackedMeanFieldMLP(torch.ones(1, 3), sizes, "tanh", task, 1.0, "learned", 0.01,
                                  seed=5)
    np.testing.assert_allclose(fit_mean_field(stacked, Z, t, SETTINGS),
                               fit_mean_field(one, Z, t, SETTINGS), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stacked.loc.detach()[0], one.loc.detach(), rtol=1e-4, atol=1e-6)


def _linear(n=400, seed=1):
    rng = np.random.default_rng(seed)
    C = np.array([[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1.0]])
    X = rng.multivariate_normal(np.zeros(3), C, size=n)
    return X, 1.0 * X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=n)


def test_each_stacked_network_is_blind_to_its_unit_and_fits_the_rest():
    X, y = _linear()
    units = [np.array([0]), np.array([1]), np.array([2])]
    template = BayesianMLP(hidden=(10,), activation="tanh", n_steps=800)
    dist = fit_distillations(template, X, y, units, random_state=0)
    assert isinstance(dist, StackedDistillations)
    R = dist.residuals(X, y)[..., 0]  # (n, G)
    X2 = X.copy()
    X2[:, 0] += 3.0                   # moving x0 moves every network but the one without it
    R2 = dist.residuals(X2, y)[..., 0]
    np.testing.assert_allclose(R2[:, 0], R[:, 0], atol=1e-6)
    assert np.abs(R2[:, 1] - R[:, 1]).mean() > 0.5
    for g, cols in enumerate(units):  # against least squares on the other columns
        others = np.delete(X, cols, 1)
        ols = y - LinearRegression().fit(others, y).predict(others)
        assert np.corrcoef(R[:, g], ols)[0, 1] > 0.95


def test_separate_fits_for_other_networks_agree_with_the_stacked_ones():
    X, y = _linear(300)
    units = [np.array([0]), np.array([1, 2])]
    template = BayesianMLP(hidden=(10,), activation="tanh", n_steps=800, reparam="weight")
    dist = fit_distillations(template, X, y, units, random_state=0)
    assert isinstance(dist, SeparateDistillations)
    stacked = fit_distillations(BayesianMLP(hidden=(10,), activation="tanh", n_steps=800),
                                X, y, units, random_state=0)
    a, b = dist.residuals(X, y)[..., 0], stacked.residuals(X, y)[..., 0]
    for g in range(2):
        assert np.corrcoef(a[:, g], b[:, g])[0, 1] > 0.95


def test_stacked_classification_residuals_are_onehot_minus_probabilities():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] > 0, "yes", "no")
    dist = fit_distillations(BayesianMLP(hidden=(8,), n_steps=400, task="classification"),
                             X, y, [np.array([0]), np.array([1])], random_state=0)
    R = dist.residuals(X, y)  # (n, G, 2)
    assert R.shape == (300, 2, 2)
    np.testing.assert_allclose(R.sum(-1), 0.0, atol=1e-6)  # probabilities sum to 1
    # the network that sees x0 explains y; the one blind to it does not
    assert np.abs(R[:, 1]).mean() < 0.5 * np.abs(R[:, 0]).mean()
