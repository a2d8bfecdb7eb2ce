"""Gradient statistics of any module, batched over the draws with ``torch.func``.

For a :class:`~nfbst.functional_draws.FunctionalDraws` that is not the stacked MLP (a CNN, an
ensemble of user networks, MC-dropout masks), the input gradient of every draw is one
backward pass through :meth:`~nfbst.functional_draws.FunctionalDraws.forward_each`: the rows
are repeated once per draw, all draws run in one ``vmap`` of ``functional_call``, and the
gradient of the selected outputs' sum with respect to the repeated rows is, draw by draw
and row by row, that draw's input gradient (rows and draws do not interact in ``eval()``
mode). Gradient, input × gradient and integrated gradients (all path points of a row batch in
the same pass) are built on it; :func:`~nfbst.statistics._base.batched_statistic` sends such
draws here, and any other draws object to the captum loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from ._base import BlockRule, RowBatching
from ._targets import output_selector

if TYPE_CHECKING:
    from ..functional_draws import FunctionalDraws
    from ._base import TargetLike


def activation_size(draws: FunctionalDraws) -> int:
    """Elements of the outputs of every leaf module for one row (one draw)."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(
        lambda mod, args, out: sizes.append(out.numel() if torch.is_tensor(out) else 0))
        for m in draws.template.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            draws.module(0)  # checks the draw index machinery once
            draws.template(torch.zeros(1, *draws.input_shape, dtype=draws.dtype,
                                       device=draws.device))
    finally:
        for h in hooks:
            h.remove()
    return sum(sizes)


def functional_row_cost(draws: FunctionalDraws, options: Mapping[str, Any]) -> int:
    """Elements kept for the backward pass per row: S × (input + every activation) × 2,
    times the path points of integrated gradients (``n_steps``)."""
    steps = int(options.get("n_steps", 1) or 1)
    return 2 * len(draws) * steps * (draws.n_features + activation_size(draws))


#: Row batches of the functional rules: about 64 MB of float32 temporaries per batch.
FUNCTIONAL_ROWS = RowBatching(row_cost=functional_row_cost, budget=2**24)


def draw_gradients(draws: FunctionalDraws, X_rows: torch.Tensor, seed: torch.Tensor
                   ) -> torch.Tensor:
    """∂(seed · f_s(x_i))/∂x_i for every draw s and row i: ``(S, b, d)``, one backward.

    ``X_rows`` is ``(b, d)`` (shared by the draws) or ``(S, b, d)``; ``seed`` ``(S, b, k)``
    weighs the outputs (one-hot: the explained output).
    """
    S = len(draws)
    Xs = (X_rows.expand(S, *X_rows.shape) if X_rows.ndim == 2 else X_rows)
    Xs = Xs.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = draws.forward_each(Xs)
        (grad,) = torch.autograd.grad((out * seed).sum(), Xs)
    return grad


def gradient_rule(draws: FunctionalDraws, X: torch.Tensor, target: TargetLike = None,
                  **options: Any) -> BlockRule:
    """Block rule of the input gradient (captum ``Saliency(abs=False)``)."""

    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        return draw_gradients(draws, X_rows, output_selector(draws, X_rows, target_rows))

    return block


def input_x_gradient_rule(draws: FunctionalDraws, X: torch.Tensor, target: TargetLike = None,
                          **options: Any) -> BlockRule:
    """Block rule of input × gradient (captum ``InputXGradient``)."""
    grad = gradient_rule(draws, X)

    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        return grad(X_rows, target_rows, rows).mul_(X_rows)

    return block


def integrated_gradients_rule(draws: FunctionalDraws, X: torch.Tensor,
                              target: TargetLike = None, baselines: Any = None,
                              n_steps: int = 50, method: str = "gausslegendre",
                              **options: Any) -> BlockRule:
    """Block rule of integrated gradients (captum ``IntegratedGradients``, same quadrature):
    the gradients at all path points of a row batch in one backward pass."""
    from ._batching import resolve_baselines, slice_rows
    from .integrated_gradients import quadrature

    alphas, steps = quadrature(method, n_steps)
    B = resolve_baselines(draws, X, baselines)
    S, T = len(draws), len(alphas)
    a = torch.as_tensor(alphas, dtype=draws.dtype, device=draws.device).view(T, 1, 1)
    w = torch.as_tensor(steps, dtype=draws.dtype, device=draws.device).view(1, T, 1, 1)

    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        B_rows = slice_rows(B, rows)
        m, d = X_rows.shape
        path = (B_rows[None] + a * (X_rows - B_rows)[None]).reshape(T * m, d)  # (T m, d)
        seed = output_selector(draws, X_rows, target_rows)  # fixed along the path
        seed = seed[:, None].expand(S, T, m, seed.shape[-1]).reshape(S, T * m, -1)
        grads = draw_gradients(draws, path, seed).view(S, T, m, d)
        return (grads * w).sum(1) * (X_rows - B_rows)

    return block
