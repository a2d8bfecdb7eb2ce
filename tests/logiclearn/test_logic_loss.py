"""Distributional loss against scipy's truncated normal; σ schedule."""

import numpy as np
import pytest
import torch
from scipy import stats

import logiclearn as ll


@pytest.mark.parametrize("sigma", [0.1, 1.0, 3.0])
def test_truncated_loss_is_truncnorm_negative_log_density_of_zero(sigma):
    S = np.array([0.0, 0.05, 0.3, 1.0, 4.0])
    # density at 0 of N(S, sigma^2) truncated to [0, inf)
    logpdf = stats.truncnorm.logpdf(0.0, a=(0 - S) / sigma, b=np.inf, loc=S, scale=sigma)
    logpdf0 = stats.truncnorm.logpdf(0.0, a=0.0, b=np.inf, loc=0.0, scale=sigma)
    got = ll.truncated_gaussian_nll(torch.tensor(S, dtype=torch.float64), sigma).numpy()
    np.testing.assert_allclose(got, -(logpdf - logpdf0), rtol=1e-7, atol=1e-10)


def test_truncated_loss_is_zero_at_zero_cost_and_increasing():
    S = torch.linspace(0, 5, 101, dtype=torch.float64)
    L = ll.truncated_gaussian_nll(S, 0.5)
    assert L[0] == 0 and torch.all(L[1:] > 0) and torch.all(torch.diff(L) > 0)


def test_gaussian_fallback_is_half_squared_cost_over_variance():
    assert ll.gaussian_nll(torch.tensor([0.3]), 0.5).item() == pytest.approx(0.5 * 0.09 / 0.25)
    assert ll.constraint_loss(torch.tensor([0.3]), "linear").item() == pytest.approx(0.3)
    with pytest.raises(ValueError, match="constraint loss must be one of"):
        ll.constraint_loss(torch.tensor([0.3]), "hinge")


def test_sigma_schedule_shrinks_monotonically_to_target():
    s = ll.SigmaSchedule(init=2.0, target=0.1)
    seq = [s.step(c) for c in [1.2, 2.0, 0.8, 0.5, 0.05, 0.9]]
    assert seq == pytest.approx([1.44, 1.44, 0.64, 0.25, 0.1, 0.1])


def test_sigma_arguments_are_validated():
    with pytest.raises(ValueError, match="sigma"):
        ll.SigmaSchedule(init=0.0)
    with pytest.raises(ValueError, match="target must be <="):
        ll.SigmaSchedule(init=0.1, target=1.0)
    with pytest.raises(ValueError, match="mean_cost"):
        ll.SigmaSchedule().step(float("nan"))
    with pytest.raises(ValueError, match="sigma"):
        ll.truncated_gaussian_nll(torch.zeros(1), -1.0)


@pytest.mark.parametrize("kind", ["truncated", "gaussian", "linear"])
def test_constraint_loss_derivative_matches_autograd(kind):
    from logiclearn.loss import constraint_loss, constraint_loss_derivative

    s = torch.linspace(0, 3, 31, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(constraint_loss(s, kind, 0.4).sum(), [s])
    torch.testing.assert_close(constraint_loss_derivative(s.detach(), kind, 0.4), g)
