"""Gradient statistic: signed ∂f(x)/∂x_j for every draw (nFBST paper Eq. 16)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ._base import BlockRule, RowBatching, batched_statistic, mlp_cost, run_row_blocks
from ._batching import check_finite, check_target_length
from ._functional import gradient_rule
from ._propagation import backprop_with_multipliers, derivative_multiplier
from ._targets import output_selector
from .captum_fallback import captum_per_draw

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ..posterior import PosteriorDraws
    from ._base import TargetLike

#: The gradient's temporaries: two per hidden unit (pre-activation, multiplier) and row.
GRADIENT_ROWS = RowBatching(row_cost=mlp_cost(2))


def backprop_to_input(draws: PosteriorDraws, pre: list[torch.Tensor],
                      seed: torch.Tensor) -> torch.Tensor:
    """Back-propagate output weights ``seed`` ``(S, n, k)`` to the input: ``(S, n, d)``.

    ``pre`` are the hidden pre-activations returned by ``draws.forward(X, return_hidden=True)``.
    The backward pass is analytic and batched over the draws (one ``bmm`` per layer).
    """
    mult = [derivative_multiplier(draws.activation, z) for z in pre]
    return backprop_with_multipliers(draws.weights, seed, mult)


def gradient_block(draws: PosteriorDraws) -> BlockRule:
    """The gradient of a batch of rows: the block rule of :func:`gradient`."""

    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        _, pre = draws.forward(X_rows, return_hidden=True)
        return backprop_to_input(draws, pre, output_selector(draws, X_rows, target_rows))

    return block


def gradient(draws: PosteriorDraws, X: ArrayLike | torch.Tensor, target: TargetLike = None,
             batch_size: int | None = None) -> torch.Tensor:
    """Input gradient of the target output for all draws at once.

    Parameters
    ----------
    draws : PosteriorDraws
    X : array-like of shape (n, d), in the user's units
    target : None, int, "predicted" or int array (n,)
        The output explained (see :func:`nfbst.statistics._targets.output_selector`).
    batch_size : int, optional
        Rows processed at a time (bounds memory at ``S * batch_size * width`` floats);
        ``None``: all rows at once.

    Returns
    -------
    Tensor of shape (S, n, d): ∂f_s(x_i)/∂x_ij in output units per input unit.

    Examples
    --------
    >>> import torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.tensor([[[2.0, -1.0]]])]; b = [torch.zeros(1, 1)]
    >>> gradient(PosteriorDraws(W, b), torch.zeros(3, 2))[0, 0]
    tensor([ 2., -1.])
    """
    Xt = check_finite(draws.as_tensor(X))
    check_target_length(target, Xt.shape[0])
    return run_row_blocks(gradient_block(draws), draws, Xt, target, GRADIENT_ROWS,
                          Xt.shape[0] if batch_size is None else batch_size, {})


@batched_statistic(per_draw=captum_per_draw("grad"), rows=GRADIENT_ROWS,
                   functional=gradient_rule)
def input_gradient(draws: PosteriorDraws, X: torch.Tensor, target: TargetLike = None,
                   batch_size: int | None = None, verbose: int = 0) -> BlockRule:
    """Signed input gradient ``(S, n, d)``: batched for MLP draws, one ``vmap`` backward for
    other :class:`~nfbst.functional_draws.FunctionalDraws`, captum ``Saliency`` otherwise.

    Examples
    --------
    >>> import torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.tensor([[[2.0, -1.0]]])]; b = [torch.zeros(1, 1)]
    >>> input_gradient(PosteriorDraws(W, b), torch.zeros(1, 2))[0, 0]
    tensor([ 2., -1.])
    """
    return gradient_block(draws)
