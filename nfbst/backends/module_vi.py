"""Mean-field Gaussian VI (Bayes-by-backprop) on every parameter of any torch module.

Blundell et al. (2015): q(θ) = Π N(μ_j, softplus(ρ_j)²) over every parameter of the module,
prior N(0, ``prior_scale``²), the ELBO's KL in closed form (the Gaussian-to-Gaussian KL,
summed), the expected log likelihood by one Monte Carlo sample per step, Adam on (μ, ρ) and,
for regression with ``noise="learned"``, a point estimate of the log noise sd.

Gradient estimator (``reparam``):

- ``"local"`` (default): the local reparameterisation trick (Kingma, Salimans & Welling
  2015) on every ``nn.Linear`` and ``nn.Conv1d/2d/3d`` layer that owns exactly ``weight``
  (and ``bias``), has no parametrisation and is called once per forward (counted in a trial
  call): the layer's pre-activations are sampled, N(F(x; μ), F(x²; σ²)), with ``F`` the
  layer's own ``F.linear`` / ``_conv_forward`` (padding modes included), an independent draw
  per row. Every other parameter (norm layers, custom ``nn.Parameter``, layers called twice)
  uses plain reparameterised weights, θ = μ + σ ε, one draw per step shared by the batch.
  ``diagnostics_["local_reparam_layers"]`` names the layers of each kind.
- ``"weight"``: plain reparameterised weights for every parameter.

``sample_posterior`` draws parameter sets from q (unlimited).
"""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable
from typing import Any, ClassVar, cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from probconstraints._progress import progress

from .base import generator
from .module_base import ModuleBackend, ModuleProblem, Params

_LR_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _inverse_softplus(x: float) -> float:
    return x + math.log(-math.expm1(-x))


def local_reparam_layers(problem: ModuleProblem) -> list[str]:
    """Names of the layers that take the local reparameterisation (see the module docstring)."""
    calls: dict[str, int] = {}
    handles = []
    candidates = {}
    for name, m in problem.template.named_modules():
        own = sorted(k for k, _ in m.named_parameters(recurse=False))
        if (type(m) in _LR_TYPES and own in (["weight"], ["bias", "weight"])
                and not hasattr(m, "parametrizations")):
            candidates[name] = m

            def hook(mod: nn.Module, inp: Any, out: Any, name: str = name) -> None:
                calls[name] = calls.get(name, 0) + 1

            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            problem.template(problem.X[:2])
    finally:
        for h in handles:
            h.remove()
    return [name for name in candidates if calls.get(name, 0) == 1]


class _LocalState:
    """Per step: each local-reparam layer's (μ_W, σ_W, μ_b, σ_b) and the noise generator."""

    def __init__(self, gen: torch.Generator) -> None:
        self.gen = gen
        self.layers: dict[str, tuple[torch.Tensor, torch.Tensor,
                                     torch.Tensor | None, torch.Tensor | None]] = {}


def _local_forward(name: str, state: _LocalState) -> Callable[..., torch.Tensor]:
    def forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
        wm, ws, bm, bs = state.layers[name]
        if isinstance(self, nn.Linear):
            mean = F.linear(x, wm, bm)
            var = F.linear(x * x, ws * ws, None if bs is None else bs * bs)
        else:
            # a ConvNd's own _conv_forward: its padding mode applies to x and x²
            conv = cast(Callable[..., torch.Tensor], self._conv_forward)
            mean = conv(x, wm, bm)
            var = conv(x * x, ws * ws, None if bs is None else bs * bs)
        eps = torch.randn(mean.shape, generator=state.gen, dtype=mean.dtype,
                          device="cpu").to(mean.device)
        return mean + (var + 1e-16).sqrt() * eps

    return forward


class ModuleVI(ModuleBackend):
    """``inference="vi"``: mean-field Gaussian VI on every parameter of the module.

    Options (``inference_params``): ``n_epochs`` (None: 2000 optimiser steps), ``lr`` (0.01,
    Adam, cosine decay to lr/100), ``batch_size`` (None: 128 rows, the full batch when
    n <= 128), ``prior_scale`` (1.0), ``noise`` ("learned": a point estimate; or a float in
    the target's units),
    ``init_scale`` (0.001: the initial σ), ``reparam`` ("local" or "weight").
    """

    name: ClassVar[str] = "vi"
    defaults: ClassVar[dict[str, Any]] = dict(
        n_epochs=None, lr=0.01, batch_size=None, prior_scale=1.0, noise="learned",
        init_scale=1e-3, reparam="local")
    loc: Params
    rho: Params
    log_sd: torch.Tensor | None
    info: dict[str, Any]

    @classmethod
    def check_options(cls, options: Any) -> dict[str, Any]:
        o = super().check_options(options)
        if o["reparam"] not in ("local", "weight"):
            raise ValueError(f"inference_params['reparam'] of inference='vi' must be 'local' "
                             f"or 'weight', got {o['reparam']!r}")
        return o

    def fit(self, problem: ModuleProblem, seed: np.random.SeedSequence) -> ModuleVI:
        o = self.o
        init_seed, batch_seed, noise_seed = seed.spawn(3)
        start = problem.init_params([init_seed])
        loc = {k: v[0].clone().requires_grad_(True) for k, v in start.items()}
        rho0 = _inverse_softplus(float(o["init_scale"]))
        rho = {k: torch.full_like(v, rho0).requires_grad_(True) for k, v in loc.items()}
        reg = problem.task == "regression"
        fixed = problem.noise_sd(o["noise"])
        log_sd = (torch.zeros((), dtype=problem.dtype, device=problem.device,
                              requires_grad=True) if reg and fixed is None else None)
        gen = generator(noise_seed)
        state = _LocalState(gen)
        net = copy.deepcopy(problem.template)
        local = local_reparam_layers(problem) if o["reparam"] == "local" else []
        modules = dict(net.named_modules())
        for name in local:
            mod = modules[name]
            mod.forward = types.MethodType(_local_forward(name, state), mod)
        local_params = {f"{name}.{k}" if name else k for name in local
                        for k in ("weight", "bias")}
        buffers = problem.buffers
        leaves = [*loc.values(), *rho.values()] + ([log_sd] if log_sd is not None else [])
        opt = torch.optim.Adam(leaves, lr=float(o["lr"]))
        n = problem.n
        epochs, per_epoch = problem.epochs(o["n_epochs"], o["batch_size"])
        batch_gen = generator(batch_seed)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=epochs * per_epoch, eta_min=0.01 * float(o["lr"]))
        prior_var = float(o["prior_scale"]) ** 2
        log_prior = math.log(float(o["prior_scale"]))
        n_total = sum(v.numel() for v in loc.values())
        losses: list[float] = []
        for _ in progress(range(epochs), verbose=problem.verbose, desc="VI", leave=False):
            total = 0.0
            for idx in problem.batches(o["batch_size"], batch_gen):
                sd = {k: F.softplus(r) for k, r in rho.items()}
                sampled = {}
                for k in loc:
                    if k not in local_params:
                        eps = torch.randn(loc[k].shape, generator=gen, dtype=loc[k].dtype,
                                          device="cpu").to(loc[k].device)
                        sampled[k] = loc[k] + sd[k] * eps
                for name in local:
                    pre = f"{name}." if name else ""
                    b = pre + "bias"
                    state.layers[name] = (loc[pre + "weight"], sd[pre + "weight"],
                                          loc.get(b), sd.get(b))
                out = torch.func.functional_call(net, (sampled, buffers), (problem.X[idx],))
                out = out.reshape(1, out.shape[0], -1)
                nll = problem.nll(out, problem.t[idx], log_sd if log_sd is not None
                                  else (None if fixed is None else math.log(fixed)))[0]
                kl = torch.stack([((sd[k].square() + loc[k].square()) / (2 * prior_var)
                                   - torch.log(sd[k])).sum() for k in loc]).sum()
                kl = kl + n_total * (log_prior - 0.5)
                loss = ((n / len(idx)) * nll + kl) / n
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach())
            losses.append(total / per_epoch)
        if not math.isfinite(losses[-1]):
            raise FloatingPointError("VI diverged (non-finite loss); lower lr")
        self.loc = {k: v.detach() for k, v in loc.items()}
        self.rho = {k: v.detach() for k, v in rho.items()}
        if reg:
            self.log_sd = (log_sd.detach() if log_sd is not None else
                           torch.tensor(math.log(fixed or 1.0), dtype=problem.dtype))
        else:
            self.log_sd = None
        self.info = dict(loss_history=losses, local_reparam_layers=local,
                         weight_reparam_parameters=sorted(set(loc) - local_params))
        return self

    def draws(self, n: int, gen: torch.Generator) -> tuple[Params, torch.Tensor | None]:
        out = {}
        for k, m in self.loc.items():
            eps = torch.randn((n, *m.shape), generator=gen, dtype=m.dtype).to(m.device)
            out[k] = m[None] + F.softplus(self.rho[k])[None] * eps
        noise = None if self.log_sd is None else torch.exp(self.log_sd).expand(n).clone()
        return out, noise

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {f"loc.{k}": v for k, v in self.loc.items()}
        tensors.update({f"rho.{k}": v for k, v in self.rho.items()})
        if self.log_sd is not None:
            tensors["log_sd"] = self.log_sd
        return tensors, {"info": self.info}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> ModuleVI:
        self.loc = {k[4:]: v for k, v in tensors.items() if k.startswith("loc.")}
        self.rho = {k[4:]: v for k, v in tensors.items() if k.startswith("rho.")}
        self.log_sd = tensors.get("log_sd")
        self.info = dict(meta.get("info", {}))
        return self
