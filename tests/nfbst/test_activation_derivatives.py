"""The one activation-derivative table: both forms equal autograd's derivative."""

import pytest
import torch

from nfbst.posterior import ACTIVATIONS
from nfbst.statistics._activations import DERIVATIVES, activation_derivative


def test_derivative_table_covers_every_posterior_activation():
    assert set(DERIVATIVES) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_both_derivative_forms_equal_autograd(name):
    z = torch.linspace(-4, 4, 81, dtype=torch.float64)[:-1] + 0.05  # no relu kink at 0
    zg = z.clone().requires_grad_(True)
    act = ACTIVATIONS[name][0]
    (expected,) = torch.autograd.grad(act(zg).sum(), zg)
    h = act(z)
    torch.testing.assert_close(DERIVATIVES[name].of_input(z), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(DERIVATIVES[name].of_output(z, h), expected, rtol=0, atol=1e-12)


def test_unknown_activation_is_refused_by_name():
    with pytest.raises(ValueError, match="'swish'"):
        activation_derivative("swish", torch.zeros(1))
