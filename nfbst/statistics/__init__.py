"""Attribution statistics η computed for all posterior draws at once.

A statistic is a callable ``fn(draws, X, target=None, **options) -> Tensor (S, n, d)``
where ``draws`` is a :class:`~nfbst.posterior.PosteriorDraws` and ``X`` an ``(n, d)`` tensor in
the user's units. Built-in statistics are looked up by name; users add their own with
:func:`register_statistic`, or pass a callable straight to ``NFBST(statistic=...)``.

Built-in: ``"grad"`` (signed input gradient), ``"deeplift"`` (rescale rule), ``"lrp"``
(epsilon, gamma, z+ or alpha-beta rules), ``"input_x_gradient"``, ``"integrated_gradients"``
(captum's quadratures) and ``"lime"`` (``lime``'s tabular explainer). Each runs batched over
the stacked weights of a :class:`~nfbst.posterior.PosteriorDraws` and equals the captum/lime
method run on every ``draws.module(i)``; for any other draws object with ``__len__`` and
``module(i)`` (e.g. a Bayesian CNN) it falls back to that per-draw loop
(:func:`per_draw_attributions`, with a progress bar). The choice is made in one place,
:func:`nfbst.statistics._base.batched_statistic`, which each statistic module applies to its
batched rule together with its batching needs (:class:`~nfbst.statistics._base.RowBatching`:
memory per row, budget per batch); the rows are batched there too, so a rule computes one
block of rows. A new statistic is one module plus one ``register_statistic`` line below.

Examples
--------
>>> import torch
>>> from nfbst.statistics import register_statistic, get_statistic
>>> def doubled_gradient(draws, X, target=None):
...     return 2 * get_statistic("grad")(draws, X, target=target)
>>> _ = register_statistic("doubled_gradient", doubled_gradient)
>>> get_statistic("doubled_gradient") is doubled_gradient
True
"""

from __future__ import annotations

from ._base import Statistic
from ._batching import statistic_row_blocks
from .captum_fallback import per_draw_attributions
from .deeplift import deeplift
from .gradient import gradient, input_gradient
from .input_x_gradient import input_x_gradient
from .integrated_gradients import integrated_gradients
from .lime import lime
from .lrp import lrp

_REGISTRY: dict[str, Statistic] = {}


def register_statistic(name: str, fn: Statistic, overwrite: bool = False) -> Statistic:
    """Register ``fn(draws, X, target=None, **options) -> (S, n, d)`` under ``name``."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"statistic name must be a non-empty str, got {name!r}")
    if not callable(fn):
        raise TypeError(f"statistic {name!r} must be callable, got {type(fn).__name__}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"statistic {name!r} is already registered (pass overwrite=True)")
    _REGISTRY[name] = fn
    return fn


def get_statistic(name_or_fn: str | Statistic) -> Statistic:
    """Resolve a registered name (or pass a callable through)."""
    if callable(name_or_fn):
        return name_or_fn
    if name_or_fn not in _REGISTRY:
        raise ValueError(
            f"unknown statistic {name_or_fn!r}; registered: {sorted(_REGISTRY)}"
        )
    return _REGISTRY[name_or_fn]


def available_statistics() -> list[str]:
    """Names of the registered statistics."""
    return sorted(_REGISTRY)


register_statistic("grad", input_gradient)
register_statistic("gradient", input_gradient)
register_statistic("deeplift", deeplift)
register_statistic("lrp", lrp)
register_statistic("input_x_gradient", input_x_gradient)
register_statistic("integrated_gradients", integrated_gradients)
register_statistic("lime", lime)

__all__ = [
    "register_statistic",
    "get_statistic",
    "available_statistics",
    "gradient",
    "input_gradient",
    "deeplift",
    "lrp",
    "input_x_gradient",
    "integrated_gradients",
    "lime",
    "per_draw_attributions",
    "statistic_row_blocks",
]
