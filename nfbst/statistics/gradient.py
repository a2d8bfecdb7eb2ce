"""Gradient statistic: signed ∂f(x)/∂x_j for every draw (nFBST paper Eq. 16)."""

from __future__ import annotations

import torch

from ._base import batched_statistic
from ._batching import mlp_row_cost
from ._propagation import backprop_with_multipliers, derivative_multiplier
from ._targets import output_selector
from .captum_fallback import captum_per_draw


def backprop_to_input(draws, pre, seed: torch.Tensor) -> torch.Tensor:
    """Back-propagate output weights ``seed`` ``(S, n, k)`` to the input: ``(S, n, d)``.

    ``pre`` are the hidden pre-activations returned by ``draws.forward(X, return_hidden=True)``.
    The backward pass is analytic and batched over the draws (one ``bmm`` per layer).
    """
    mult = [derivative_multiplier(draws.activation, z) for z in pre]
    return backprop_with_multipliers(draws.weights, seed, mult)


@torch.no_grad()
def gradient(draws, X, target=None, batch_size: int | None = None) -> torch.Tensor:
    """Input gradient of the target output for all draws at once.

    Parameters
    ----------
    draws : PosteriorDraws
    X : array-like of shape (n, d), in the user's units
    target : None, int, "predicted" or int array (n,)
        The output explained (see :func:`nfbst.statistics._targets.output_selector`).
    batch_size : int, optional
        Rows processed at a time (bounds memory at ``S * batch_size * width`` floats).

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
    X = draws.as_tensor(X)
    n = X.shape[0]
    step = n if batch_size is None else int(batch_size)
    out = torch.empty(len(draws), n, draws.n_features, dtype=draws.dtype, device=draws.device)
    for start in range(0, n, max(step, 1)):
        xb = X[start:start + step]
        _, pre = draws.forward(xb, return_hidden=True)
        tb = target
        if target is not None and not isinstance(target, (int, str)):
            tb = torch.as_tensor(target)[start:start + step]
        seed = output_selector(draws, xb, tb)
        out[:, start:start + step] = backprop_to_input(draws, pre, seed)
    return out


@batched_statistic(per_draw=captum_per_draw("grad"))
def input_gradient(draws, X, target=None, batch_size: int | None = None, verbose: int = 1):
    """Signed input gradient ``(S, n, d)``: batched for MLP draws, captum ``Saliency`` otherwise.

    Examples
    --------
    >>> import torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.tensor([[[2.0, -1.0]]])]; b = [torch.zeros(1, 1)]
    >>> input_gradient(PosteriorDraws(W, b), torch.zeros(1, 2))[0, 0]
    tensor([ 2., -1.])
    """
    if batch_size is None:  # a few MB of temporaries per batch, reused
        batch_size = max(1, 2**21 // mlp_row_cost(draws))
    return gradient(draws, X, target=target, batch_size=batch_size)
