"""Derivatives of the hidden activations of :mod:`nfbst.posterior`: one table, two forms.

:data:`DERIVATIVES` maps an activation's name to its derivative written two ways:

- ``of_input(z)`` from the pre-activation ``z`` alone, for the attribution rules (gradient,
  DeepLIFT near ``z0 = z``, Integrated Gradients), which keep only the pre-activations;
- ``of_output(z, h)`` from ``z`` and the activation's output ``h = act(z)`` already computed
  in a forward pass, for the hand-written log-posterior gradient of the samplers
  (:class:`nfbst.backends._stacked.StackedMLP`): tanh and sigmoid then cost one product.

The two forms are the same function rounded differently (``1 - tanh(z)²`` vs ``1 - h²`` is
one ``tanh`` apart; GELU's ``Φ(z) + z φ(z)`` is summed in a different order); each user keeps
the form it always had, so its results stay bit-identical.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

_SQRT_2 = math.sqrt(2)
_SQRT_2PI = math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class ActivationDerivative:
    """``act'`` of one activation, from the pre-activation or from (pre-activation, output)."""

    of_input: Callable[[torch.Tensor], torch.Tensor]
    of_output: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _relu(z: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
    return (z > 0).to(z.dtype)


def _tanh(z: torch.Tensor) -> torch.Tensor:
    t = torch.tanh(z)
    return 1 - t * t


def _sigmoid(z: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


def _gelu(z: torch.Tensor) -> torch.Tensor:
    cdf = 0.5 * (1 + torch.erf(z / _SQRT_2))
    pdf = torch.exp(-0.5 * z * z) / _SQRT_2PI
    return cdf + z * pdf


def _gelu_of_output(z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return torch.special.ndtr(z) + z * torch.exp(-0.5 * z.square()) / _SQRT_2PI


DERIVATIVES: dict[str, ActivationDerivative] = {
    "relu": ActivationDerivative(_relu, _relu),
    "tanh": ActivationDerivative(_tanh, lambda z, h: 1 - h.square()),
    "sigmoid": ActivationDerivative(_sigmoid, lambda z, h: h * (1 - h)),
    "gelu": ActivationDerivative(_gelu, _gelu_of_output),
}


def activation_derivative(name: str, z: torch.Tensor) -> torch.Tensor:
    """d act(z) / dz elementwise, for the activations of :mod:`nfbst.posterior`.

    Examples
    --------
    >>> activation_derivative("tanh", torch.zeros(2))
    tensor([1., 1.])
    """
    if name not in DERIVATIVES:
        raise ValueError(f"no derivative for activation {name!r}")
    return DERIVATIVES[name].of_input(z)
