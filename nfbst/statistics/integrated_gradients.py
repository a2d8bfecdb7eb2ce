"""Integrated Gradients statistic for every posterior draw at once.

IG (Sundararajan et al. 2017): ``(x - x0) * ∫_0^1 ∇f(x0 + α (x - x0)) dα``, approximated
with captum's quadratures (``riemann_left|right|middle|trapezoid`` or ``gausslegendre``,
the default). The first layer is linear along the path, so its pre-activations are
interpolated instead of recomputed, and the weighted sum over steps is taken before the
final product with the first weight matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ._base import BlockRule, RowBatching, batched_statistic
from ._batching import resolve_baselines, slice_rows
from ._functional import integrated_gradients_rule
from ._propagation import (
    backprop_to_first_layer,
    derivative_multiplier,
    first_layer,
    hidden_pre_activations,
)
from ._targets import output_selector
from .captum_fallback import per_draw_attributions

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ..posterior import PosteriorDraws
    from ._base import ModuleDraws, TargetLike
    from ._batching import BaselinesLike

METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid",
           "gausslegendre")


def quadrature(method: str, n_steps: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points ``alphas`` in [0, 1] and step weights of captum's path integral rules.

    Examples
    --------
    >>> quadrature("riemann_right", 4)[0]
    array([0.25, 0.5 , 0.75, 1.  ])
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)):
        raise TypeError(f"n_steps must be an int, got {type(n_steps).__name__}")
    if n_steps < (1 if method == "gausslegendre" else 2):
        raise ValueError(f"n_steps must be >= 2 (>= 1 for gausslegendre), got {n_steps}")
    n = int(n_steps)
    if method == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (1 + x), 0.5 * w
    steps = np.full(n, 1.0 / n)
    if method == "riemann_trapezoid":  # as captum: end steps halved, alphas on [0, 1]
        steps[0] /= 2
        steps[-1] /= 2
        return np.linspace(0, 1, n), steps
    if method == "riemann_left":
        return np.linspace(0, 1 - 1 / n, n), steps
    if method == "riemann_middle":
        return np.linspace(1 / (2 * n), 1 - 1 / (2 * n), n), steps
    return np.linspace(1 / n, 1, n), steps


def _per_draw(draws: ModuleDraws, X: Any, n_steps: int, method: str,
              **options: Any) -> torch.Tensor:
    """captum's ``IntegratedGradients`` on each draw, after the same quadrature checks."""
    quadrature(method, n_steps)
    return per_draw_attributions(draws, X, "integrated_gradients", n_steps=n_steps,
                                 method=method, **options)


def _row_cost(draws: PosteriorDraws, options: Mapping[str, Any]) -> int:
    """Three temporaries per hidden unit, path point and draw."""
    width = sum(W.shape[1] for W in draws.weights)
    return 3 * len(draws) * int(options["n_steps"]) * width


@torch.no_grad()
@batched_statistic(per_draw=_per_draw, rows=RowBatching(row_cost=_row_cost, budget=2**23),
                   functional=integrated_gradients_rule)
def integrated_gradients(draws: PosteriorDraws, X: torch.Tensor, target: TargetLike = None,
                         baselines: BaselinesLike = None, n_steps: int = 50,
                         method: str = "gausslegendre", batch_size: int | None = None,
                         verbose: int = 0) -> BlockRule:
    """Integrated Gradients of the target output for all draws: ``(S, n, d)``.

    Equals captum's ``IntegratedGradients(...).attribute(X, baselines, target, n_steps,
    method)`` on each ``draws.module(i)``.

    Parameters
    ----------
    draws : PosteriorDraws, FunctionalDraws or any object with ``__len__`` and ``module(i)``
        Functional draws of any module run in one ``vmap`` backward per row batch (all path
        points together); other draws fall back to captum's ``IntegratedGradients`` per draw.
    X : array-like of shape (n, d), in the user's units
    target : None, int, "predicted" or int array (n,)
        The output explained, fixed along the path.
    baselines : None, float, array (d,), (1, d) or (n, d)
        Start of the path; ``None`` is zero.
    n_steps : int
        Quadrature points (captum's default 50).
    method : str
        ``"gausslegendre"`` (default) or ``"riemann_left|right|middle|trapezoid"``.
    batch_size : int, optional
        Rows processed at a time.
    verbose : int
        Progress bar on the per-draw fallback path; 0 silences it.

    Returns
    -------
    Tensor of shape (S, n, d); sums over ``j`` to ``f_s(x) - f_s(baseline)`` up to the
    quadrature error.

    Examples
    --------
    >>> import torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.tensor([[[2.0, -1.0]]])]; b = [torch.zeros(1, 1)]
    >>> eta = integrated_gradients(PosteriorDraws(W, b), torch.tensor([[1.0, 1.0]]))
    >>> torch.allclose(eta[0, 0], torch.tensor([2.0, -1.0]))
    True
    """
    alphas, steps = quadrature(method, n_steps)
    B = resolve_baselines(draws, X, baselines)
    S, T = len(draws), len(alphas)
    a = torch.as_tensor(alphas, dtype=draws.dtype, device=draws.device).view(1, T, 1, 1)
    w = torch.as_tensor(steps, dtype=draws.dtype, device=draws.device).view(1, T, 1, 1)

    # all path points of a row batch go through each layer in one batched product
    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        B_rows = slice_rows(B, rows)
        m = X_rows.shape[0]
        z_x, z_b = first_layer(draws, X_rows), first_layer(draws, B_rows)  # (S, m|1, h0)
        z0 = (z_b[:, None] + a * (z_x - z_b)[:, None]).reshape(S, T * m, -1)
        mult = [derivative_multiplier(draws.activation, z)
                for z in hidden_pre_activations(draws, z0)]
        seed = output_selector(draws, X_rows, target_rows)
        seed = seed[:, None].expand(S, T, m, seed.shape[-1]).reshape(S, T * m, -1)
        delta = backprop_to_first_layer(draws.weights, seed, mult).view(S, T, m, -1)
        acc = (delta * w).sum(1)  # (S, m, h0): quadrature before the widest product
        return torch.mul(torch.bmm(acc, draws.weights[0]), X_rows - B_rows)

    return block
