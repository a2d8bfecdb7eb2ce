"""Distributional loss of a formula's cost: truncated-Gaussian likelihood of cost 0, σ schedule.

The cost ``S >= 0`` is treated as a random quantity whose target distribution is the Dirac at
0 (Li et al., ICLR 2023): the loss is ``-log`` of the density at 0 of ``N(S, σ²)`` truncated to
``[0, ∞)``, up to a constant chosen so that the loss is 0 at ``S = 0``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["truncated_gaussian_nll", "gaussian_nll", "constraint_loss",
           "constraint_loss_derivative", "loss_kernel", "loss_derivative_kernel",
           "ConstraintLoss", "SigmaSchedule", "CONSTRAINT_LOSSES"]

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
    return loss_kernel(cost, "truncated", _check_sigma(sigma))


def gaussian_nll(cost: torch.Tensor, sigma: float) -> torch.Tensor:
    """Plain Gaussian fallback ``S² / (2σ²)``.

    Examples
    --------
    >>> import torch
    >>> from logiclearn.loss import gaussian_nll
    >>> gaussian_nll(torch.tensor([2.0]), 1.0)
    tensor([2.])
    """
    return loss_kernel(cost, "gaussian", _check_sigma(sigma))


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
    if kind not in CONSTRAINT_LOSSES:
        raise ValueError(f"constraint loss must be one of {CONSTRAINT_LOSSES}, got {kind!r}")
    return loss_kernel(cost, kind, sigma if kind == "linear" else _check_sigma(sigma))


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
    if kind not in CONSTRAINT_LOSSES:
        raise ValueError(f"constraint loss must be one of {CONSTRAINT_LOSSES}, got {kind!r}")
    return loss_derivative_kernel(cost, kind, sigma if kind == "linear" else _check_sigma(sigma))


def loss_kernel(cost: torch.Tensor, kind: str, sigma: float | torch.Tensor) -> torch.Tensor:
    """:func:`constraint_loss` without argument checks; ``sigma`` may be a 0-d tensor (so that
    compiled code does not specialise on its value).

    Examples
    --------
    >>> import torch
    >>> from logiclearn.loss import loss_kernel
    >>> loss_kernel(torch.tensor([1.0]), "truncated", torch.tensor(1.0))
    tensor([1.0204])
    """
    if kind == "truncated":
        return 0.5 * (cost / sigma) ** 2 + torch.log1p(torch.erf(cost / (sigma * math.sqrt(2.0))))
    if kind == "gaussian":
        return 0.5 * (cost / sigma) ** 2
    return cost


def loss_derivative_kernel(cost: torch.Tensor, kind: str,
                           sigma: float | torch.Tensor) -> torch.Tensor:
    """:func:`constraint_loss_derivative` without argument checks (``sigma`` as in
    :func:`loss_kernel`).

    Examples
    --------
    >>> import torch
    >>> from logiclearn.loss import loss_derivative_kernel
    >>> loss_derivative_kernel(torch.tensor([2.0]), "gaussian", 2.0)
    tensor([0.5000])
    """
    if kind == "linear":
        return torch.ones_like(cost)
    if kind == "gaussian":
        return cost / sigma**2
    # sqrt(2/pi) exp(-z²/2) / (1 + erf(z/√2)) = sqrt(2/pi) / erfcx(-z/√2): fewer kernels, and
    # no 0/0 far in the tail
    z = cost / sigma
    return (z + math.sqrt(2.0 / math.pi) / torch.special.erfcx(z * -math.sqrt(0.5))) / sigma


class ConstraintLoss:
    """Per-instance map from cost to loss of one ``kind`` and ``sigma``, with its derivative.

    What :class:`~logiclearn.LogicTrainer` hands the encodings (``loss_fn``); they may call it,
    its :meth:`derivative`, or read ``kind`` and ``sigma`` to compute both themselves.

    Examples
    --------
    >>> import torch
    >>> from logiclearn.loss import ConstraintLoss
    >>> ConstraintLoss("gaussian", 0.5).derivative(torch.tensor([1.0]))
    tensor([4.])
    """

    __slots__ = ("kind", "sigma")

    def __init__(self, kind: str, sigma: float) -> None:
        self.kind, self.sigma = kind, sigma

    def __call__(self, cost: torch.Tensor) -> torch.Tensor:
        if self.kind == "truncated" and cost.requires_grad:
            return _TruncatedNLL.apply(cost, self.sigma)  # one autograd node, not eight
        return constraint_loss(cost, self.kind, self.sigma)

    def derivative(self, cost: torch.Tensor) -> torch.Tensor:
        """d loss / d cost, elementwise."""
        return constraint_loss_derivative(cost, self.kind, self.sigma)


class _TruncatedNLL(torch.autograd.Function):
    """:func:`truncated_gaussian_nll` with its closed-form derivative as the backward."""

    @staticmethod
    def forward(ctx: Any, cost: torch.Tensor, sigma: float) -> torch.Tensor:
        ctx.save_for_backward(cost)
        ctx.sigma = sigma
        return constraint_loss(cost, "truncated", sigma)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (cost,) = ctx.saved_tensors
        return grad * constraint_loss_derivative(cost, "truncated", ctx.sigma), None


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

    def __init__(self, init: float = 1.0, target: float = 0.1) -> None:
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
