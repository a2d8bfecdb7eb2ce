"""Input × Gradient statistic: ``x_j · ∂f(x)/∂x_j`` for every posterior draw at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ._base import BlockRule, batched_statistic
from ._functional import input_x_gradient_rule
from .captum_fallback import captum_per_draw
from .gradient import GRADIENT_ROWS, gradient_block

if TYPE_CHECKING:
    from ..posterior import PosteriorDraws
    from ._base import TargetLike


@torch.no_grad()
@batched_statistic(per_draw=captum_per_draw("input_x_gradient"), rows=GRADIENT_ROWS,
                   functional=input_x_gradient_rule)
def input_x_gradient(draws: PosteriorDraws, X: torch.Tensor, target: TargetLike = None,
                     batch_size: int | None = None, verbose: int = 0) -> BlockRule:
    """Input times the input gradient of the target output, for all draws: ``(S, n, d)``.

    Equals captum's ``InputXGradient`` on each ``draws.module(i)``.

    Parameters
    ----------
    draws : PosteriorDraws, FunctionalDraws or any object with ``__len__`` and ``module(i)``
        Functional draws of any module run in one ``vmap`` backward; other draws fall back
        to captum's ``InputXGradient`` per draw.
    X : array-like of shape (n, d), in the user's units
    target : None, int, "predicted" or int array (n,)
        The output explained (see :func:`nfbst.statistics._targets.output_selector`).
    batch_size : int, optional
        Rows processed at a time.
    verbose : int
        Progress bar on the per-draw fallback path; 0 silences it.

    Returns
    -------
    Tensor of shape (S, n, d).

    Examples
    --------
    >>> import torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.tensor([[[2.0, -1.0]]])]; b = [torch.zeros(1, 1)]
    >>> input_x_gradient(PosteriorDraws(W, b), torch.tensor([[3.0, 3.0]]))[0, 0]
    tensor([ 6., -3.])
    """
    grad = gradient_block(draws)

    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        return grad(X_rows, target_rows, rows).mul_(X_rows)

    return block
