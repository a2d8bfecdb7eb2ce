"""Derivatives of the hidden activations, evaluated on pre-activations."""

import math

import torch


def activation_derivative(name: str, z: torch.Tensor) -> torch.Tensor:
    """d act(z) / dz elementwise, for the activations of :mod:`nfbst.posterior`."""
    if name == "relu":
        return (z > 0).to(z.dtype)
    if name == "tanh":
        t = torch.tanh(z)
        return 1 - t * t
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    if name == "gelu":
        cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
        pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        return cdf + z * pdf
    raise ValueError(f"no derivative for activation {name!r}")
