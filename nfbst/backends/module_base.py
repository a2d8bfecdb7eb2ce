"""Posterior backends of any torch module (``BayesianNetwork(inference=...)``): the protocol
and what every backend shares.

A module backend is one posterior method for a user's ``nn.Module`` (``"vi"``,
``"ensemble"``, ``"anchored"``, ``"laplace"``, ``"sgld"``, ``"hmc"``), one file
``nfbst/backends/module_<name>.py`` defining a :class:`ModuleBackend` subclass, registered with
``register(name, "module:Class", kind="module")`` in ``nfbst/backends/__init__.py``.

The backend owns its settings: ``ModuleBackend.defaults`` lists every option and its default
(as laplace-torch's ``backend_kwargs``); ``BayesianNetwork(inference_params={...})`` is checked
against it before any work, and an unknown option is an error naming the option and the
backend. The model is the same for every backend: N(0, ``prior_scale``²) on every parameter;
regression: a Gaussian likelihood on the *standardised* target with a learned or fixed sd
(``noise``, given in the target's units); classification: a categorical likelihood on the
logits.

:class:`ModuleProblem` is what a backend receives: the architecture (``template``, in
``eval()`` mode: dropout off, BatchNorm on its stored statistics; the posterior is over the
parameters only), the inputs shaped ``(n, *input_shape)``, the targets, and a forward of C
stacked parameter sets (:meth:`ModuleProblem.forward`): one ``torch.func.vmap`` of
``functional_call`` when the module allows it, else a loop over the sets (the choice is made
once, by a trial call, and recorded in ``vectorized``).
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from probconstraints._progress import progress
from probconstraints._random import isolated_rng

from .base import generator, take_last

Params = dict[str, torch.Tensor]

DEFAULT_BATCH = 128
DEFAULT_STEPS = 2000  # n_epochs=None: enough epochs for this many optimiser steps
_HALF_NORMAL_CONST = math.log(2.0) - 0.5 * math.log(2 * math.pi)


# ------------------------------------------------------------------------ the problem
@dataclass
class ModuleProblem:
    """What a module backend fits: architecture, data and the shared model.

    Attributes
    ----------
    template : nn.Module
        The architecture in ``eval()`` mode with the fit's dtype and device.
    make_module : callable
        ``make_module(gen)``: a freshly initialised copy (a factory's output, or the module
        with every ``reset_parameters()`` re-run) drawing from the torch generator ``gen``.
    X : Tensor ``(n, *input_shape)``
    t : Tensor ``(n,)``
        Standardised targets (regression) or class indices (classification).
    task : {"regression", "classification"}
    n_outputs : int
    y_scale : float
        The target's sd (1 for classification): a ``noise`` given in the target's units is
        divided by it.
    verbose : int
    """

    template: nn.Module
    make_module: Callable[[torch.Generator], nn.Module]
    X: torch.Tensor
    t: torch.Tensor
    task: str
    n_outputs: int
    y_scale: float = 1.0
    verbose: int = 0
    vectorized: bool = True
    vmap_error: str | None = None
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = [k for k, _ in self.template.named_parameters()]
        self.shapes = {k: tuple(p.shape) for k, p in self.template.named_parameters()}
        self.buffers = {k: b.detach() for k, b in self.template.named_buffers()}
        self._sizes = [math.prod(self.shapes[k]) for k in self.names]

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def dtype(self) -> torch.dtype:
        return self.X.dtype

    @property
    def device(self) -> torch.device:
        return self.X.device

    @property
    def n_params(self) -> int:
        """Parameters of one network."""
        return int(sum(self._sizes))

    # ----------------------------------------------------------- parameters
    def init_params(self, seeds: Sequence[np.random.SeedSequence]) -> Params:
        """One freshly initialised parameter set per seed, stacked ``(C, ...)``."""
        nets = [self.make_module(generator(sd)).to(self.device, self.dtype) for sd in seeds]
        params, _ = torch.func.stack_module_state(nets)
        return {k: params[k].detach() for k in self.names}

    def flatten(self, params: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Stacked parameters ``(C, ...)`` as rows ``(C, P)`` in ``names`` order."""
        C = next(iter(params.values())).shape[0]
        return torch.cat([params[k].reshape(C, -1) for k in self.names], 1)

    def unflatten(self, theta: torch.Tensor) -> Params:
        """Inverse of :meth:`flatten` (views of ``theta``)."""
        C = theta.shape[0]
        parts = torch.split(theta, self._sizes, dim=1)
        return {k: v.reshape(C, *self.shapes[k]) for k, v in zip(self.names, parts)}

    # -------------------------------------------------------------- forward
    def _call(self, p: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self.template, (dict(p), self.buffers), (x,))

    def forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        """Outputs ``(C, b, k)`` of C stacked parameter sets on rows ``X`` ``(b, *shape)``;
        differentiable in the parameters."""
        if self.vectorized:
            out = torch.func.vmap(self._call, in_dims=(0, None))(dict(params), X)
        else:
            C = next(iter(params.values())).shape[0]
            out = torch.stack([self._call({k: v[c] for k, v in params.items()}, X)
                               for c in range(C)])
        return out.reshape(out.shape[0], out.shape[1], -1)

    def check_vmap(self) -> None:
        """Decide once whether :meth:`forward` can use ``vmap`` (a trial on 2 sets, 2 rows)."""
        p = {k: v.detach()[None].expand(2, *v.shape).clone()
             for k, v in self.template.named_parameters()}
        try:
            with torch.no_grad():
                torch.func.vmap(self._call, in_dims=(0, None))(p, self.X[:2])
            self.vectorized, self.vmap_error = True, None
        except Exception as exc:  # noqa: BLE001 - any failure of vmap means: loop instead
            self.vectorized = False
            self.vmap_error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"

    # ---------------------------------------------------------------- model
    def noise_sd(self, noise: str | float) -> float | None:
        """A fixed noise sd in standardised units (None when learned or classification)."""
        if self.task != "regression" or isinstance(noise, str):
            return None
        return float(noise) / self.y_scale

    def nll(self, out: torch.Tensor, t: torch.Tensor, log_sd: torch.Tensor | float | None
            ) -> torch.Tensor:
        """Negative log likelihood per set ``(C,)``, summed over the rows of ``t``.

        ``t``: ``(b,)``, or ``(C, b)`` per-set regression targets; ``log_sd``: the log noise
        sd per set ``(C,)`` or a float (regression).
        """
        if self.task == "classification":
            logp = torch.log_softmax(out, -1)
            return -logp.gather(2, t.view(1, -1, 1).expand(out.shape[0], -1, 1)).sum((1, 2))
        assert log_sd is not None  # regression always has a noise sd
        ls = log_sd if torch.is_tensor(log_sd) else torch.tensor(float(log_sd),
                                                                 dtype=out.dtype,
                                                                 device=out.device)
        r = (t.reshape(-1, t.shape[-1]) - out[..., 0]) * torch.exp(-ls).reshape(-1, 1)
        n = t.shape[-1]
        return 0.5 * r.square().sum(1) + n * ls.reshape(-1) + 0.5 * n * math.log(2 * math.pi)

    def epochs(self, n_epochs: int | None, batch_size: int | None) -> tuple[int, int]:
        """``(epochs, steps per epoch)``; ``n_epochs=None``: enough epochs for
        ``DEFAULT_STEPS`` = 2000 optimiser steps."""
        b = min(self.n, batch_size or DEFAULT_BATCH)
        per_epoch = -(-self.n // b)
        return (int(n_epochs) if n_epochs is not None else -(-DEFAULT_STEPS // per_epoch),
                per_epoch)

    def batches(self, batch_size: int | None, gen: torch.Generator) -> list[torch.Tensor]:
        """One epoch's row indices in minibatches (a fresh permutation from ``gen``);
        ``batch_size=None``: ``DEFAULT_BATCH`` = 128 rows (the full batch when n <= 128)."""
        n = self.n
        b = min(n, batch_size or DEFAULT_BATCH)
        if b == n:
            return [torch.arange(n, device=self.device)]
        perm = torch.randperm(n, generator=gen).to(self.device)
        return list(torch.split(perm, b))


def module_factory(module: nn.Module | Callable[[], nn.Module]
                   ) -> Callable[[torch.Generator], nn.Module]:
    """``make(gen)``: a fresh, seeded module from a zero-argument factory, or from a module
    by re-running every ``reset_parameters()`` on a copy (torch's global generator is set
    from ``gen`` only inside, :func:`probconstraints._random.isolated_rng`)."""
    def make(gen: torch.Generator) -> nn.Module:
        with isolated_rng(gen):
            if isinstance(module, nn.Module):
                net = copy.deepcopy(module)
                for m in net.modules():
                    reset = getattr(m, "reset_parameters", None)
                    if callable(reset):
                        reset()
            else:
                net = module()
        return net

    return make


def unreset_parameters(module: nn.Module) -> list[str]:
    """Parameters no ``reset_parameters()`` re-draws (they keep the module's values)."""
    covered: set[str] = set()
    for name, m in module.named_modules():
        if callable(getattr(m, "reset_parameters", None)):
            prefix = f"{name}." if name else ""
            covered.update(prefix + k for k, _ in m.named_parameters())
    return [k for k, _ in module.named_parameters() if k not in covered]


# ------------------------------------------------------------------------- options
def _check_int(name: str, value: Any, backend: str, low: int, none: bool = False) -> None:
    if none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"inference_params[{name!r}] of inference={backend!r} must be an int "
                         f">= {low}{' or None' if none else ''}, got {value!r}")


def _check_positive(name: str, value: Any, backend: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"inference_params[{name!r}] of inference={backend!r} must be a "
                         f"positive float, got {value!r}")


class ModuleBackend(ABC):
    """One posterior method for any torch module; settings in ``defaults``.

    Subclasses set ``name`` and ``defaults`` and implement :meth:`fit`, :meth:`draws`,
    :meth:`state_dict` and :meth:`load_state_dict`; they may extend :meth:`check_options`
    (option values) and :meth:`check_problem` (what the method cannot do with this module
    or data), both called before any training.
    """

    name: ClassVar[str] = "base"
    #: every option and its default; ``inference_params`` may set any of them
    defaults: ClassVar[dict[str, Any]] = {}
    #: options checked as ints >= the value (None allowed when listed in ``NONE_OK``)
    INTS: ClassVar[dict[str, int]] = {"n_epochs": 1, "batch_size": 1, "n_members": 1,
                                      "num_samples": 1, "warmup_steps": 0, "n_chains": 1,
                                      "n_steps": 1}
    NONE_OK: ClassVar[tuple[str, ...]] = ("batch_size", "n_epochs")
    POSITIVE: ClassVar[tuple[str, ...]] = ("lr", "prior_scale", "init_scale", "step_size")

    def __init__(self, **options: Any) -> None:
        self.o = self.check_options(options)

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The defaults updated with ``options``; unknown names and bad values refused."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(cls.defaults))
        if unknown:
            raise ValueError(f"inference={cls.name!r} has no option(s) {unknown}; its options "
                             f"are {sorted(cls.defaults)}")
        o = {**cls.defaults, **options}
        for k, v in o.items():
            if k in cls.INTS:
                _check_int(k, v, cls.name, cls.INTS[k], none=k in cls.NONE_OK)
            elif k in cls.POSITIVE:
                _check_positive(k, v, cls.name)
        if "noise" in o and not (isinstance(o["noise"], str) and o["noise"] == "learned"):
            if isinstance(o["noise"], str):
                raise ValueError(f"inference_params['noise'] of inference={cls.name!r} must be "
                                 f"'learned' or a positive float, got {o['noise']!r}")
            _check_positive("noise", o["noise"], cls.name)
        return o

    def check_problem(self, problem: ModuleProblem) -> None:  # noqa: B027 (optional hook)
        """Raise ``ValueError`` for a module or data this method cannot handle (default:
        every module and data set is accepted)."""

    @abstractmethod
    def fit(self, problem: ModuleProblem, seed: np.random.SeedSequence) -> ModuleBackend:
        """Fit to ``problem``, drawing from ``seed``; returns ``self``."""

    def n_available(self) -> int | None:
        """How many distinct draws exist (None: unlimited)."""
        return None

    @abstractmethod
    def draws(self, n: int, gen: torch.Generator) -> tuple[Params, torch.Tensor | None]:
        """``n`` parameter sets ``(n, ...)`` and the noise sd ``(n,)`` in standardised units
        (None for classification)."""

    @abstractmethod
    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """``(tensors, meta)``: a dict of tensors and a JSON-serialisable dict."""

    @abstractmethod
    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> ModuleBackend:
        """Inverse of :meth:`state_dict`; returns ``self``."""

    def diagnostics(self) -> dict[str, Any]:
        """JSON-able facts of the fit (losses, tuned precisions, R̂, ...)."""
        return dict(getattr(self, "info", {}))


class BankBackend(ModuleBackend):
    """A backend whose draws are a fixed bank of parameter sets (ensemble members, sampler
    draws, pre-drawn Laplace samples); ``draws(n)`` returns the last ``n``."""

    bank: Params
    noise: torch.Tensor | None
    info: dict[str, Any]

    def n_available(self) -> int:
        return int(next(iter(self.bank.values())).shape[0])

    def draws(self, n: int, gen: torch.Generator) -> tuple[Params, torch.Tensor | None]:
        sl = take_last(n, self.n_available(), f"inference={self.name!r}")
        return ({k: v[sl] for k, v in self.bank.items()},
                None if self.noise is None else self.noise[sl])

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {f"bank.{k}": v for k, v in self.bank.items()}
        if self.noise is not None:
            tensors["noise"] = self.noise
        return tensors, {"info": self.info}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> BankBackend:
        self.bank = {k[5:]: v for k, v in tensors.items() if k.startswith("bank.")}
        self.noise = tensors.get("noise")
        self.info = dict(meta.get("info", {}))
        return self


# ---------------------------------------------------------------- shared training loop
def fit_stacked(problem: ModuleProblem, params: Params, log_sd: torch.Tensor | None,
                penalty: Callable[[Params], torch.Tensor], o: Mapping[str, Any],
                gen: torch.Generator, targets: torch.Tensor | None = None,
                fixed_log_sd: float | None = None, desc: str = "fit"
                ) -> tuple[Params, torch.Tensor | None, list[float]]:
    """MAP-style training of C parameter sets side by side (Adam, cosine-decayed ``lr``).

    Set c minimises ``(n/b · NLL_batch(c) + penalty(params)[c]) / n``; the sets' losses are
    summed, so their gradients (and Adam's elementwise steps) are independent: the result is
    that of training each set alone on the same minibatches. ``targets`` ``(C, n)``: per-set
    targets (anchored ensembles' perturbed targets); ``log_sd`` ``(C,)``: learned noise.
    """
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    opt_params: list[torch.Tensor] = list(leaves.values())
    if log_sd is not None:
        log_sd = log_sd.detach().clone().requires_grad_(True)
        opt_params.append(log_sd)
    opt = torch.optim.Adam(opt_params, lr=float(o["lr"]))
    n = problem.n
    epochs, steps_per_epoch = problem.epochs(o["n_epochs"], o["batch_size"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=epochs * steps_per_epoch, eta_min=0.01 * float(o["lr"]))
    losses: list[float] = []
    C = next(iter(params.values())).shape[0]
    for _ in progress(range(epochs), verbose=problem.verbose, desc=desc, leave=False):
        total = 0.0
        for idx in problem.batches(o["batch_size"], gen):
            out = problem.forward(leaves, problem.X[idx])
            t = problem.t[idx] if targets is None else targets[:, idx]
            nll = problem.nll(out, t, log_sd if log_sd is not None else fixed_log_sd)
            loss = ((n / len(idx)) * nll + penalty(leaves)).sum() / n
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) / C
        losses.append(total / steps_per_epoch)
    if not math.isfinite(losses[-1]):
        raise FloatingPointError(f"{desc}: the fit diverged (non-finite loss); lower lr")
    return ({k: v.detach() for k, v in leaves.items()},
            None if log_sd is None else log_sd.detach(), losses)


def gaussian_penalty(prior_scale: float, anchors: Params | None = None
                     ) -> Callable[[Params], torch.Tensor]:
    """``‖θ_c − anchor_c‖² / (2 prior_scale²)`` per set (anchor 0 by default)."""
    var = float(prior_scale) ** 2

    def penalty(params: Params) -> torch.Tensor:
        tot: torch.Tensor | None = None
        for k, v in params.items():
            d = v if anchors is None else v - anchors[k]
            s = d.reshape(d.shape[0], -1).square().sum(1)
            tot = s if tot is None else tot + s
        assert tot is not None
        return 0.5 * tot / var

    return penalty


def log_posterior(problem: ModuleProblem, prior_scale: float, noise: str | float
                  ) -> tuple[int, Callable[..., torch.Tensor]]:
    """``(P, log_post)``: the model's log posterior of flat rows ``theta (C, P)``
    (``P`` = parameters, plus the log noise sd last when it is learned, with a HalfNormal(1)
    prior on the standardised sd and the Jacobian of ``sd = exp(u)``), for the samplers.

    ``log_post(theta, idx=None)``: on the rows ``idx`` (all by default), the likelihood
    scaled by ``n / len(idx)``.
    """
    learn = problem.task == "regression" and isinstance(noise, str)
    fixed = problem.noise_sd(noise)
    P = problem.n_params + int(learn)
    var = float(prior_scale) ** 2

    def log_post(theta: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        w = theta[:, :problem.n_params]
        X, t = (problem.X, problem.t) if idx is None else (problem.X[idx], problem.t[idx])
        out = problem.forward(problem.unflatten(w), X)
        u: torch.Tensor | float | None = theta[:, -1] if learn else (
            None if fixed is None else math.log(fixed))
        ll = -problem.nll(out, t, u) * (problem.n / t.shape[0])
        lp = ll - 0.5 * w.square().sum(1) / var
        if learn:
            uu = theta[:, -1]
            lp = lp + _HALF_NORMAL_CONST - 0.5 * torch.exp(2 * uu) + uu
        return lp

    return P, log_post


def value_and_grad(log_post: Callable[..., torch.Tensor]
                   ) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """``theta -> (log_post(theta) (C,), its gradient (C, P))`` by autograd (rows independent)."""
    def f(theta: torch.Tensor, *args: Any) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            th = theta.detach().requires_grad_(True)
            lp = log_post(th, *args)
            (g,) = torch.autograd.grad(lp.sum(), th)
        return lp.detach(), g

    return f


class ChainBankBackend(BankBackend):
    """A sampler of flat rows ``theta (C, P)`` (:func:`log_posterior`): stores the kept
    draws ``(C, S, P)`` as the bank (draw s of chain c at ``s·C + c``: the last draws are the
    latest of every chain) with R̂/ESS of the parameters and outputs in ``diagnostics_``."""

    def store_chains(self, problem: ModuleProblem, samples: torch.Tensor, noise: str | float,
                     info: dict[str, Any]) -> None:
        from .diagnostics import summarize, warn_if_unconverged

        C, S, P = samples.shape
        pooled = samples.transpose(0, 1).reshape(S * C, P)
        learn = P > problem.n_params
        self.bank = {k: v.clone() for k, v in
                     problem.unflatten(pooled[:, :problem.n_params]).items()}
        if problem.task != "regression":
            self.noise = None
        elif learn:
            self.noise = torch.exp(pooled[:, -1]).clone()
        else:
            fixed = problem.noise_sd(noise)
            self.noise = torch.full((S * C,), float(fixed or 1.0), dtype=samples.dtype,
                                    device=samples.device)
        X = problem.X
        rows = X[np.linspace(0, X.shape[0] - 1, min(X.shape[0], 200)).round().astype(int)]
        with torch.no_grad():
            out = problem.forward(problem.unflatten(pooled[:, :problem.n_params]), rows)
            if problem.task == "classification":
                out = torch.softmax(out, -1)
        out = out.reshape(S, C, -1).transpose(0, 1)
        diag = summarize(samples, out, identifiable=False) if S >= 4 else {}
        self.info = {**diag, **info, "n_params": problem.n_params}
        if diag:
            warn_if_unconverged(diag, f"BayesianNetwork(inference={self.name!r})")
