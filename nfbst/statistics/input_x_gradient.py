"""Input × Gradient statistic: ``x_j · ∂f(x)/∂x_j`` for every posterior draw at once."""

from __future__ import annotations

import torch

from ._base import batched_statistic
from ._batching import check_finite, mlp_row_cost
from .captum_fallback import captum_per_draw
from .gradient import gradient


@torch.no_grad()
@batched_statistic(per_draw=captum_per_draw("input_x_gradient"))
def input_x_gradient(draws, X, target=None, batch_size: int | None = None,
                     verbose: int = 1) -> torch.Tensor:
    """Input times the input gradient of the target output, for all draws: ``(S, n, d)``.

    Equals captum's ``InputXGradient`` on each ``draws.module(i)``.

    Parameters
    ----------
    draws : PosteriorDraws or any object with ``__len__`` and ``module(i)``
        Other draws fall back to captum's ``InputXGradient`` per draw.
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
    X = check_finite(draws.as_tensor(X))
    if batch_size is None:
        batch_size = max(1, 2**21 // mlp_row_cost(draws))
    eta = gradient(draws, X, target=target, batch_size=batch_size)
    return eta.mul_(X)
