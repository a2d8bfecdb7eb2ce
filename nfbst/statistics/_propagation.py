"""Batched forward and backward passes through the stacked MLP weights of all draws.

The attribution rules (gradient, DeepLIFT, Integrated Gradients) all back-propagate an output
seed ``(S, n, k)`` through the hidden layers, multiplying by a per-unit factor at each
activation: the derivative for the gradient, the secant slope for DeepLIFT's rescale rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from ._activations import activation_derivative

if TYPE_CHECKING:
    from ..posterior import PosteriorDraws


def backprop_to_first_layer(weights: Sequence[torch.Tensor], seed: torch.Tensor,
                            multipliers: Sequence[torch.Tensor]) -> torch.Tensor:
    """Back-propagate ``seed`` ``(S, n, k)`` to the first layer's outputs ``(S, n, h_0)``.

    ``multipliers[l]`` ``(S, n, h_l)`` scales the signal crossing hidden activation ``l``.
    With a single (linear) layer the seed itself is returned.
    """
    delta = seed
    for l in range(len(weights) - 1, 0, -1):
        delta = torch.bmm(delta, weights[l]) * multipliers[l - 1]
    return delta


def backprop_with_multipliers(weights: Sequence[torch.Tensor], seed: torch.Tensor,
                              multipliers: Sequence[torch.Tensor]) -> torch.Tensor:
    """Back-propagate ``seed`` ``(S, n, k)`` to the input ``(S, n, d)``."""
    return torch.bmm(backprop_to_first_layer(weights, seed, multipliers), weights[0])


def hidden_pre_activations(draws: PosteriorDraws, z0: torch.Tensor) -> list[torch.Tensor]:
    """Hidden pre-activations ``[z_0, ..., z_{L-2}]`` given the first one ``z0`` ``(S, m, h_0)``.

    Mirrors :meth:`nfbst.posterior.PosteriorDraws.forward` after its first GEMM (and without
    the output layer), so that a path of inputs whose first pre-activations are known in
    closed form (Integrated Gradients) skips the widest layer.
    """
    act = draws.act_fn
    pre = [z0]
    for W, b in zip(draws.weights[1:-1], draws.biases[1:-1]):
        pre.append(torch.baddbmm(b[:, None, :], act(pre[-1]), W.transpose(1, 2)))
    return pre[: len(draws.weights) - 1]


def derivative_multiplier(name: str, z: torch.Tensor) -> torch.Tensor:
    """The activation's derivative at ``z``; a boolean mask for ReLU (no float copy)."""
    return z > 0 if name == "relu" else activation_derivative(name, z)


def first_layer(draws: PosteriorDraws, X: torch.Tensor) -> torch.Tensor:
    """First-layer pre-activations ``(S, n, h_0)`` of ``X`` ``(n, d)`` for all draws."""
    return torch.einsum("nd,sod->sno", X, draws.weights[0]) + draws.biases[0][:, None, :]
