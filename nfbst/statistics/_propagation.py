"""Batched forward and backward passes through the stacked MLP weights of all draws.

The attribution rules (gradient, DeepLIFT, Integrated Gradients) all back-propagate an output
seed ``(S, n, k)`` through the hidden layers, multiplying by a per-unit factor at each
activation: the derivative for the gradient, the secant slope for DeepLIFT's rescale rule.
"""

from __future__ import annotations

import torch


def backprop_to_first_layer(weights, seed: torch.Tensor, multipliers) -> torch.Tensor:
    """Back-propagate ``seed`` ``(S, n, k)`` to the first layer's outputs ``(S, n, h_0)``.

    ``multipliers[l]`` ``(S, n, h_l)`` scales the signal crossing hidden activation ``l``.
    With a single (linear) layer the seed itself is returned.
    """
    delta = seed
    for l in range(len(weights) - 1, 0, -1):
        delta = torch.bmm(delta, weights[l]) * multipliers[l - 1]
    return delta


def backprop_with_multipliers(weights, seed: torch.Tensor, multipliers) -> torch.Tensor:
    """Back-propagate ``seed`` ``(S, n, k)`` to the input ``(S, n, d)``."""
    return torch.bmm(backprop_to_first_layer(weights, seed, multipliers), weights[0])


def forward_from_first_layer(draws, z0: torch.Tensor):
    """Outputs ``(S, n, k)`` and hidden pre-activations given the first pre-activation ``z0``.

    Mirrors :meth:`nfbst.posterior.PosteriorDraws.forward` after its first GEMM, so that a
    path of inputs whose first pre-activations are known in closed form (Integrated
    Gradients) skips the widest layer.
    """
    act = draws.act_fn
    z, pre = z0, []
    for W, b in zip(draws.weights[1:], draws.biases[1:]):
        pre.append(z)
        z = torch.baddbmm(b[:, None, :], act(z), W.transpose(1, 2))
    return z, pre


def first_layer(draws, X: torch.Tensor) -> torch.Tensor:
    """First-layer pre-activations ``(S, n, h_0)`` of ``X`` ``(n, d)`` for all draws."""
    return torch.einsum("nd,sod->sno", X, draws.weights[0]) + draws.biases[0][:, None, :]
