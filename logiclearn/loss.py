"""Distributional loss of a formula's cost: truncated-Gaussian likelihood of cost 0, σ schedule.

The cost ``S >= 0`` is treated as a random quantity whose target distribution is the Dirac at
0 (Li et al., ICLR 2023): the loss is ``-log`` of the density at 0 of ``N(S, σ²)`` truncated to
``[0, ∞)``, up to a constant chosen so that the loss is 0 at ``S = 0``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["truncated_gaussian_nll", "gaussian_nll", "constraint_loss",
           "constraint_loss_derivative", "SigmaSchedule", "CONSTRAINT_LOSSES"]

CONSTRAINT_LOSSES = ("truncated", "gaussian", "linear")


def _check_sigma(sigma: float) -> float:
    sigma = float(sigma)
    if not sigma > 0 or math.isinf(sigma):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma}")
    return sigma


def truncated_gaussian_nll(cost: torch.Tensor, sigma: float) -> torch.Tensor:
    """``S²/(2σ²) + log(1 + erf(S / (σ√2)))`` elementwise, 0 at ``S = 0``.

    Equals ``-log φ(-S/σ) / (σ Φ(S/σ))`` (the truncated-normal density of 0 with location S)
    minus its value at ``S = 0``.

    Parameters
    ----------
    cost : Tensor
        Non-negative costs.
    sigma : float
        Scale σ > 0.

    Returns
    -------
    Tensor of the shape of ``cost``.

    Examples
    --------
    >>> import torch
    >>> from logiclearn.loss import truncated_gaussian_nll
    >>> truncated_gaussian_nll(torch.tensor([0.0, 1.0]), 1.0)
    tensor([0.0000, 1.0204])
    """
    sigma = _check_sigma(sigma)
    return 0.5 * (cost / sigma) ** 2 + torch.log1p(torch.erf(cost / (sigma * math.sqrt(2.0))))


def gaussian_nll(cost: torch.Tensor, sigma: float) -> torch.Tensor:
    """Plain Gaussian fallback ``S² / (2σ²)``.

    Examples
    --------
    >>> import torch
    >>> from logiclearn.loss import gaussian_nll
    >>> gaussian_nll(torch.tensor([2.0]), 1.0)
    tensor([2.])
    """
    sigma = _check_sigma(sigma)
    return 0.5 * (cost / sigma) ** 2


def constraint_loss(cost: torch.Tensor, kind: str = "truncated",
                    sigma: float = 1.0) -> torch.Tensor:
    """Per-instance loss of a cost: ``'truncated'``, ``'gaussian'`` or ``'linear'`` (the cost).

    Examples
    --------
    >>> import torch
    >>> from logiclearn.loss import constraint_loss
    >>> constraint_loss(torch.tensor([0.5]), "linear")
    tensor([0.5000])
    """
    if kind == "truncated":
        return truncated_gaussian_nll(cost, sigma)
    if kind == "gaussian":
        return gaussian_nll(cost, sigma)
    if kind == "linear":
        return cost
    raise ValueError(f"constraint loss must be one of {CONSTRAINT_LOSSES}, got {kind!r}")


def constraint_loss_derivative(cost: torch.Tensor, kind: str = "truncated",
                               sigma: float = 1.0) -> torch.Tensor:
    """Derivative of :func:`constraint_loss` with respect to the cost, elementwise.

    For ``'truncated'``: ``S/σ² + √(2/π) exp(-S²/(2σ²)) / (σ (1 + erf(S/(σ√2))))``.

    Examples
    --------
    >>> import torch
    >>> from logiclearn.loss import constraint_loss_derivative
    >>> constraint_loss_derivative(torch.tensor([0.0, 1.0]), "gaussian", 0.5)
    tensor([0., 4.])
    """
    if kind == "linear":
        return torch.ones_like(cost)
    sigma = _check_sigma(sigma)
    if kind == "gaussian":
        return cost / sigma**2
    if kind == "truncated":
        # sqrt(2/pi) exp(-z²/2) / (1 + erf(z/√2)) = sqrt(2/pi) / erfcx(-z/√2): fewer kernels,
        # and no 0/0 far in the tail
        z = cost / sigma
        return (z + math.sqrt(2.0 / math.pi) / torch.special.erfcx(z * -math.sqrt(0.5))) / sigma
    raise ValueError(f"constraint loss must be one of {CONSTRAINT_LOSSES}, got {kind!r}")


class SigmaSchedule:
    """σ update at the end of each epoch: ``σ <- clamp(mean_cost², min=target, max=σ)``.

    σ only shrinks, from ``init`` towards ``target``, as the constraint error falls.

    Parameters
    ----------
    init : float
        Initial σ.
    target : float
        Smallest σ.

    Examples
    --------
    >>> from logiclearn.loss import SigmaSchedule
    >>> s = SigmaSchedule(init=1.0, target=0.1)
    >>> s.step(0.5), s.step(0.9), s.step(0.01)
    (0.25, 0.25, 0.1)
    """

    def __init__(self, init: float = 1.0, target: float = 0.1):
        self.init, self.target = _check_sigma(init), _check_sigma(target)
        if self.target > self.init:
            raise ValueError(f"sigma target must be <= sigma init, got {target} > {init}")
        self.sigma = self.init

    def step(self, mean_cost: float) -> float:
        """Update σ from the epoch's mean cost and return it."""
        mean_cost = float(mean_cost)
        if not math.isfinite(mean_cost) or mean_cost < 0:
            raise ValueError(f"mean_cost must be a finite number >= 0, got {mean_cost}")
        self.sigma = min(max(mean_cost**2, self.target), self.sigma)
        return self.sigma
