"""Laplace approximation of any torch module through laplace-torch (``inference="laplace"``).

The MAP network is trained first (Adam under the N(0, ``prior_scale``²) prior, a learned
noise sd for regression, the ensemble's training loop with one member), then laplace-torch
(Daxberger et al. 2021, "Laplace Redux") fits a Gauss-Newton posterior around it:

- ``subset_of_weights="all"``: every parameter, with ``hessian_structure`` ``"full"`` (at
  most ``FULL_MAX_PARAMS`` parameters), ``"kron"`` (KFAC; every parametrised layer must be
  ``nn.Linear`` or ``nn.Conv2d``, what laplace-torch's curvlinops KFAC supports) or
  ``"diag"``; default ``"full"`` up to ``AUTO_FULL_PARAMS`` parameters, else ``"kron"``;
- ``subset_of_weights="last_layer"``: the last layer only (it must be an ``nn.Linear``
  called once and producing the output; found by a trial call), the others fixed at the MAP.

With ``tune_prior=True`` the scalar prior precision (and, for a learned noise, the noise sd)
maximises laplace-torch's marginal likelihood; the mean stays the MAP (as laplace-torch does).
``num_samples`` parameter sets are drawn at fit from a seeded generator and kept (the bank):
they are the draws, pushed through the *nonlinear* network. That is the known weakness of
sampled weight-space Laplace on deep nets (Immer et al. 2021; laplace-torch recommends its
linearised predictive, which gives no parameter draws): the directions the GGN barely sees
keep the prior's width, and weights drawn there wreck the function. On the digits CNN of
``benchmarks/bench_network.py`` all weights (KFAC or diagonal) gave 0.23-0.30 test accuracy,
the last layer 0.946; hence ``subset_of_weights="last_layer"`` by default (laplace-torch's
default too). ``diagnostics_`` holds the
structure, the tuned prior precision and the noise sd. Anything laplace-torch cannot do with
the module (above) is refused before the MAP fit.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .base import generator, preserve_global_rng
from .laplace import _import_laplace, _optimise_marglik
from .module_base import BankBackend, ModuleProblem, fit_stacked, gaussian_penalty

FULL_MAX_PARAMS = 10_000  # a (P, P) precision beyond this is refused (memory, Cholesky)
AUTO_FULL_PARAMS = 2000   # hessian_structure=None: full up to here, KFAC beyond
KFAC_LAYERS = (nn.Linear, nn.Conv2d)


class _Column(nn.Module):
    """A regression module returning ``(n,)`` as ``(n, 1)`` for laplace-torch."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0], -1)


def _last_layer(problem: ModuleProblem) -> str:
    """The name of the last parametrised module called in a forward, checked for laplace."""
    order: list[str] = []
    handles = []
    for name, m in problem.template.named_modules():
        if any(True for _ in m.parameters(recurse=False)):
            def hook(mod: nn.Module, inp: Any, out: Any, name: str = name) -> None:
                order.append(name)

            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            problem.template(problem.X[:2])
    finally:
        for h in handles:
            h.remove()
    last = order[-1]
    mod = dict(problem.template.named_modules())[last]
    if not isinstance(mod, nn.Linear) or order.count(last) != 1:
        raise ValueError(f"inference='laplace' with subset_of_weights='last_layer' needs a "
                         f"module whose last parametrised layer is an nn.Linear called once; "
                         f"its last is {last!r} ({type(mod).__name__}, called "
                         f"{order.count(last)} times): use subset_of_weights='all'")
    return last


class ModuleLaplace(BankBackend):
    """``inference="laplace"``: laplace-torch's GGN Laplace around the MAP.

    Options (``inference_params``): ``subset_of_weights`` ("last_layer", laplace-torch's
    default, or "all"),
    ``hessian_structure`` (None: auto; "full", "kron", "diag"), ``tune_prior`` (True:
    marginal likelihood), ``num_samples`` (300 kept draws), and for the MAP fit ``n_epochs``
    (None: 2000 optimiser steps), ``lr`` (0.01), ``batch_size`` (None: 128 rows),
    ``prior_scale`` (1.0), ``noise``
    ("learned" or a float in the target's units).
    """

    name: ClassVar[str] = "laplace"
    defaults: ClassVar[dict[str, Any]] = dict(
        subset_of_weights="last_layer", hessian_structure=None, tune_prior=True, num_samples=300,
        n_epochs=None, lr=0.01, batch_size=None, prior_scale=1.0, noise="learned")

    @classmethod
    def check_options(cls, options: Any) -> dict[str, Any]:
        o = super().check_options(options)
        if o["subset_of_weights"] not in ("all", "last_layer"):
            raise ValueError(f"inference_params['subset_of_weights'] of inference='laplace' "
                             f"must be 'all' or 'last_layer', got {o['subset_of_weights']!r}")
        if o["hessian_structure"] not in (None, "full", "kron", "diag"):
            raise ValueError(f"inference_params['hessian_structure'] of inference='laplace' "
                             f"must be None, 'full', 'kron' or 'diag', got "
                             f"{o['hessian_structure']!r}")
        if not isinstance(o["tune_prior"], bool):
            raise ValueError(f"inference_params['tune_prior'] of inference='laplace' must be "
                             f"True or False, got {o['tune_prior']!r}")
        return o

    def _structure(self, problem: ModuleProblem) -> str:
        s = self.o["hessian_structure"]
        if s is not None:
            return str(s)
        if self.o["subset_of_weights"] == "last_layer":
            return "full"
        return "full" if problem.n_params <= AUTO_FULL_PARAMS else "kron"

    def check_problem(self, problem: ModuleProblem) -> None:
        _import_laplace()
        structure = self._structure(problem)
        if self.o["subset_of_weights"] == "last_layer":
            last = _last_layer(problem)
            mod = dict(problem.template.named_modules())[last]
            P = sum(p.numel() for p in mod.parameters())
        else:
            P = problem.n_params
            if structure == "kron":
                bad = [f"{name} ({type(m).__name__})"
                       for name, m in problem.template.named_modules()
                       if any(True for _ in m.parameters(recurse=False))
                       and not isinstance(m, KFAC_LAYERS)]
                if bad:
                    raise ValueError(
                        "inference='laplace' with hessian_structure='kron' (KFAC) supports "
                        f"only nn.Linear and nn.Conv2d layers; this module has {bad}: use "
                        "hessian_structure='diag', or subset_of_weights='last_layer'")
        if structure == "full" and P > FULL_MAX_PARAMS:
            raise ValueError(f"inference='laplace' with hessian_structure='full' on {P} "
                             f"parameters: above FULL_MAX_PARAMS={FULL_MAX_PARAMS} the "
                             "(P, P) precision is refused; use 'kron', 'diag' or "
                             "subset_of_weights='last_layer'")

    def fit(self, problem: ModuleProblem, seed: np.random.SeedSequence) -> ModuleLaplace:
        Laplace = _import_laplace()
        o = self.o
        reg = problem.task == "regression"
        init_seed, batch_seed, sample_seed = seed.spawn(3)
        fixed = problem.noise_sd(o["noise"])
        learn = reg and fixed is None
        params = problem.init_params([init_seed])
        params, log_sd, losses = fit_stacked(
            problem, params,
            torch.zeros(1, dtype=problem.dtype, device=problem.device) if learn else None,
            gaussian_penalty(o["prior_scale"]), o, generator(batch_seed),
            fixed_log_sd=None if fixed is None else math.log(fixed), desc="laplace MAP")
        sigma = (float(torch.exp(log_sd[0])) if log_sd is not None else
                 (fixed if fixed is not None else 1.0))
        net = problem.make_module(torch.Generator().manual_seed(0)).to(
            device=problem.device, dtype=problem.dtype).eval()
        net.load_state_dict({k: v[0] for k, v in params.items()}, strict=False)
        for k, b in problem.buffers.items():  # the template's buffers, as in the fit
            net.get_buffer(k).copy_(b)
        model: nn.Module = _Column(net) if reg else net
        prefix = "net." if reg else ""
        structure = self._structure(problem)
        prec0 = 1.0 / float(o["prior_scale"]) ** 2
        kwargs: dict[str, Any] = {}
        if o["subset_of_weights"] == "last_layer":
            kwargs["last_layer_name"] = prefix + _last_layer(problem)
        t = problem.t
        with preserve_global_rng():
            la = Laplace(model, "regression" if reg else "classification",
                         subset_of_weights=o["subset_of_weights"], hessian_structure=structure,
                         sigma_noise=sigma, prior_precision=prec0, **kwargs)
            la.fit(torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(problem.X, t[:, None] if reg else t.long()),
                batch_size=256))
            prior_precision, sigma = prec0, sigma
            if o["tune_prior"]:
                prior_precision, sigma = _optimise_marglik(la, prec0, sigma, learn)
            gen = generator(sample_seed, device=problem.device)
            N = int(o["num_samples"])
            samples = la.sample(N, generator=gen).detach()
        bank = {k: v.expand(N, *v.shape[1:]).clone() for k, v in params.items()}
        if o["subset_of_weights"] == "last_layer":
            last = kwargs["last_layer_name"][len(prefix):]
            names = [f"{last}.{k}" if last else k
                     for k, _ in dict(net.named_modules())[last].named_parameters()]
        else:
            names = [k[len(prefix):] for k, p in model.named_parameters() if p.requires_grad]
        pos = 0
        for k in names:
            size = bank[k][0].numel()
            bank[k] = samples[:, pos:pos + size].reshape(N, *bank[k].shape[1:]).to(
                problem.dtype)
            pos += size
        if pos != samples.shape[1]:
            raise RuntimeError(f"laplace-torch returned {samples.shape[1]} sampled weights, "
                               f"the layout expects {pos}")
        self.bank = bank
        self.noise = (torch.full((N,), sigma, dtype=problem.dtype, device=problem.device)
                      if reg else None)
        self.info = dict(loss_history=losses, structure=structure,
                         subset_of_weights=o["subset_of_weights"],
                         prior_precision=prior_precision, n_laplace_params=pos,
                         noise_sd_standardised=sigma if reg else None)
        return self
