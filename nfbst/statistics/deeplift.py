"""DeepLIFT statistic (rescale rule) for every posterior draw at once.

DeepLIFT (Shrikumar et al. 2017) replaces each activation's derivative by the secant slope
``(act(z) - act(z0)) / (z - z0)`` between the input's and the baseline's pre-activations, so
the attributions sum exactly to ``f(x) - f(baseline)`` (completeness). This is captum's
``DeepLift`` rule for ReLU/Tanh/Sigmoid modules (``multiply_by_inputs=True``); GELU gets the
same rescale rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from ._activations import activation_derivative
from ._base import BlockRule, RowBatching, batched_statistic, mlp_cost
from ._batching import resolve_baselines, slice_rows
from ._propagation import backprop_with_multipliers
from ._targets import output_selector
from .captum_fallback import captum_per_draw

if TYPE_CHECKING:
    from ..posterior import PosteriorDraws
    from ._base import TargetLike
    from ._batching import BaselinesLike


def rescale_multipliers(act: Callable[[torch.Tensor], torch.Tensor], name: str, z: torch.Tensor,
                        z0: torch.Tensor, eps: float) -> torch.Tensor:
    """Secant slope of the activation between ``z0`` and ``z``; the derivative where close."""
    dz = z - z0
    close = dz.abs() < eps
    slope = (act(z) - act(z0)) / torch.where(close, torch.ones_like(dz), dz)
    return torch.where(close, activation_derivative(name, z), slope)


@torch.no_grad()
@batched_statistic(per_draw=captum_per_draw("deeplift"), rows=RowBatching(row_cost=mlp_cost(3)))
def deeplift(draws: PosteriorDraws, X: torch.Tensor, target: TargetLike = None,
             baselines: BaselinesLike = None, eps: float = 1e-10,
             batch_size: int | None = None, verbose: int = 0) -> BlockRule:
    """DeepLIFT attributions of the target output for all draws: ``(S, n, d)``.

    Parameters
    ----------
    draws : PosteriorDraws or any object with ``__len__`` and ``module(i)``
        Stacked MLP draws use the batched rule; other draws fall back to captum's
        ``DeepLift`` on each ``draws.module(i)``.
    X : array-like of shape (n, d), in the user's units
    target : None, int, "predicted" or int array (n,)
        The output explained; ``None`` is the single regression output or the class the
        posterior mean predicts.
    baselines : None, float, array (d,), (1, d) or (n, d)
        Reference input; ``None`` is the zero baseline (captum's default).
    eps : float
        Pre-activation differences below ``eps`` use the derivative (captum's ``eps``).
    batch_size : int, optional
        Rows processed at a time; ``None`` picks a size bounding memory.
    verbose : int
        Progress bar on the per-draw fallback path; 0 silences it.

    Returns
    -------
    Tensor of shape (S, n, d): ``(x_j - baseline_j) * multiplier_j``, summing over ``j`` to
    ``f_s(x) - f_s(baseline)``.

    Examples
    --------
    >>> import torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.ones(2, 3, 2), torch.ones(2, 1, 3)]
    >>> b = [torch.zeros(2, 3), torch.zeros(2, 1)]
    >>> eta = deeplift(PosteriorDraws(W, b), torch.tensor([[1.0, 2.0]]))
    >>> eta[0, 0]
    tensor([3., 6.])
    """
    B = resolve_baselines(draws, X, baselines)

    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        B_rows = slice_rows(B, rows)
        _, pre_x = draws.forward(X_rows, return_hidden=True)
        _, pre_b = draws.forward(B_rows, return_hidden=True)
        mult = [rescale_multipliers(draws.act_fn, draws.activation, zx, zb, eps)
                for zx, zb in zip(pre_x, pre_b)]
        seed = output_selector(draws, X_rows, target_rows)
        return torch.mul(backprop_with_multipliers(draws.weights, seed, mult), X_rows - B_rows)

    return block
