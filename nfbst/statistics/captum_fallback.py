"""Per-draw attributions with captum or lime, for draws the batched MLP rules do not cover.

Any draws object with ``__len__`` and ``module(i)`` (returning a ``torch.nn.Module`` that maps
a batch of inputs to outputs), e.g. the draws of a Bayesian CNN, is explained by running the
reference implementation on each sampled network in turn, with a progress bar. The
registered statistics name their per-draw method with :func:`captum_per_draw`, and
:func:`~nfbst.statistics._base.batched_statistic` calls it when ``draws`` is not a
:class:`~nfbst.posterior.PosteriorDraws`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from probconstraints._progress import progress

from ._batching import check_draws, per_draw_input, row_batches
from ._targets import per_draw_targets
from .lime import lime_tabular_per_draw

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ._base import ModuleDraws, TargetLike

CAPTUM_METHODS = ("deeplift", "lrp", "integrated_gradients", "input_x_gradient", "grad",
                  "saliency", "captum_lime")
METHODS = CAPTUM_METHODS + ("lime",)


def _captum_explainer(method: str, net: torch.nn.Module, rule: str = "epsilon",
                      epsilon: float = 1e-9, gamma: float = 0.25, eps: float = 1e-10) -> Any:
    from captum.attr import (
        LRP,
        DeepLift,
        InputXGradient,
        IntegratedGradients,
        Lime,
        Saliency,
    )
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule, GammaRule

    if method == "deeplift":
        return DeepLift(net, eps=eps)
    if method == "lrp":
        if rule == "alpha_beta" or not isinstance(rule, str):
            raise ValueError("the per-draw LRP fallback takes one rule of 'epsilon', 'gamma' "
                             f"or 'zplus' for all layers, got {rule!r}")
        make = {"epsilon": lambda: EpsilonRule(epsilon), "gamma": lambda: GammaRule(gamma),
                "zplus": Alpha1_Beta0_Rule}
        if rule not in make:
            raise ValueError(f"rule must be 'epsilon', 'gamma' or 'zplus', got {rule!r}")
        from captum.attr._utils.lrp_rules import IdentityRule

        from ..functional_draws import FixedDropout

        for m in net.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                m.rule = make[rule]()
            elif isinstance(m, FixedDropout):
                m.rule = IdentityRule()  # a fixed dropout mask passes relevance on
            elif isinstance(m, (torch.nn.Flatten, torch.nn.Unflatten)):
                raise ValueError(
                    f"captum's LRP cannot pass relevance through a {type(m).__name__} module "
                    "(its backward hook changes the shape); reshape in forward instead, e.g. "
                    "x.flatten(1), or use statistic='deeplift'")
        return LRP(net)
    if method == "integrated_gradients":
        return IntegratedGradients(net)
    if method == "input_x_gradient":
        return InputXGradient(net)
    if method in ("grad", "saliency"):
        return Saliency(net)
    return Lime(net)


def _flat_rows_shape(draws: object, X: torch.Tensor) -> tuple[int, ...] | None:
    """The draws' ``input_shape`` when ``X`` holds its rows flattened ``(n, prod(shape))``."""
    shape = getattr(draws, "input_shape", None)
    if not isinstance(shape, tuple) or len(shape) < 2 or X.ndim != 2:
        return None
    return shape if X.shape[1] == int(np.prod(shape)) else None


def per_draw_attributions(draws: ModuleDraws, X: ArrayLike | torch.Tensor, attribution: str,
                          target: TargetLike = None, verbose: int = 0,
                          batch_size: int | None = None, **options: Any) -> torch.Tensor:
    """Run a captum method (or lime's tabular explainer) on every ``draws.module(i)``.

    Parameters
    ----------
    draws : object with ``__len__`` and ``module(i)``
        ``module(i)`` returns draw ``i`` as a ``torch.nn.Module``.
    X : array-like or Tensor of shape (n, ...)
        Inputs in the network's units (images keep their shape).
    attribution : str
        ``"deeplift"``, ``"lrp"``, ``"integrated_gradients"``, ``"input_x_gradient"``,
        ``"grad"``/``"saliency"`` (``Saliency(abs=False)``), ``"captum_lime"`` (captum's
        ``Lime``) or ``"lime"`` (the ``lime`` package's ``LimeTabularExplainer`` on the
        flattened inputs, see :func:`nfbst.statistics.lime.lime`).
    target : None, int, "predicted" or int array (n,)
        The output explained; ``None`` with several outputs is the posterior-mean class.
    verbose : int
        0 hides the progress bar over draws.
    batch_size : int, optional
        Rows given to the captum method at a time.
    **options
        ``baselines``, ``n_steps``, ``method`` (IG), ``eps`` (DeepLift), ``rule``,
        ``epsilon``, ``gamma`` (LRP), ``n_samples`` (captum Lime), or the options of
        :func:`nfbst.statistics.lime.lime` for ``"lime"``.

    Returns
    -------
    Tensor of shape (S, n, ...) like ``X``: flat rows ``(n, d)`` of draws whose
    ``input_shape`` is an image are reshaped for captum and the result flattened back.

    Examples
    --------
    >>> import torch
    >>> class Draws:
    ...     def __len__(self): return 2
    ...     def module(self, i): return torch.nn.Linear(3, 1).requires_grad_(False)
    >>> per_draw_attributions(Draws(), torch.zeros(4, 3), "grad", verbose=0).shape
    torch.Size([2, 4, 3])
    """
    method = attribution
    if method not in METHODS:
        raise ValueError(f"attribution must be one of {METHODS}, got {method!r}")
    S = check_draws(draws)
    X = per_draw_input(draws, X)
    flat = _flat_rows_shape(draws, X)
    if flat is not None:  # flat (n, d) rows of an image module: captum sees the images
        X = X.reshape(X.shape[0], *flat)
        B0 = options.get("baselines")
        if B0 is not None and not isinstance(B0, (int, float)):
            B0 = torch.as_tensor(np.asarray(B0) if not torch.is_tensor(B0) else B0)
            options["baselines"] = B0.reshape(-1, *flat)
        out = per_draw_attributions(draws, X, attribution, target=target, verbose=verbose,
                                    batch_size=batch_size, **options)
        return out.reshape(S, X.shape[0], -1)
    if method == "lime":
        return lime_tabular_per_draw(draws, X, target=target, verbose=verbose, **options)
    tgt = per_draw_targets(draws, X, target, verbose=verbose)
    ctor = {k: options.pop(k) for k in ("rule", "epsilon", "gamma", "eps") if k in options}
    if "baselines" in options and options["baselines"] is not None:
        B = options["baselines"]
        B = B if torch.is_tensor(B) else torch.as_tensor(np.asarray(B))
        B = B.to(dtype=X.dtype, device=X.device)
        options["baselines"] = B if B.ndim == X.ndim else B.expand(1, *X.shape[1:])
    if method in ("grad", "saliency"):
        options["abs"] = False
    per_row = int(np.prod(X.shape[1:])) * max(int(options.get("n_steps", 1)), 1)
    out = torch.empty(S, *X.shape, dtype=X.dtype, device=X.device)
    for i in progress(range(S), verbose, desc=f"{method} per draw"):
        net = draws.module(i)
        explainer = _captum_explainer(method, net, **ctor)
        for sl in row_batches(X.shape[0], batch_size, per_row_cost=per_row, budget=2**22):
            opts = dict(options)
            B = opts.get("baselines")
            if torch.is_tensor(B) and B.shape[0] == X.shape[0] and B.shape[0] > 1:
                opts["baselines"] = B[sl]
            tb = None if tgt is None else tgt[sl]
            out[i, sl] = explainer.attribute(X[sl], target=tb, **opts).detach()
    return out


def captum_per_draw(attribution: str, ignore: tuple[str, ...] = ()
                    ) -> Callable[..., torch.Tensor]:
    """The per-draw path of a statistic: :func:`per_draw_attributions` with ``attribution``.

    ``ignore`` names options of the batched rule that the per-draw method does not take.

    Examples
    --------
    >>> import torch
    >>> class Draws:
    ...     def __len__(self): return 2
    ...     def module(self, i): return torch.nn.Linear(3, 1).requires_grad_(False)
    >>> captum_per_draw("grad")(Draws(), torch.zeros(4, 3), verbose=0).shape
    torch.Size([2, 4, 3])
    """
    if attribution not in METHODS:
        raise ValueError(f"attribution must be one of {METHODS}, got {attribution!r}")

    def per_draw(draws: ModuleDraws, X: ArrayLike | torch.Tensor, **options: Any
                 ) -> torch.Tensor:
        for name in ignore:
            options.pop(name, None)
        return per_draw_attributions(draws, X, attribution, **options)

    per_draw.__name__ = f"{attribution}_per_draw"
    return per_draw
