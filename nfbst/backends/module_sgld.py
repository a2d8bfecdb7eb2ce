"""Preconditioned SGLD chains on the parameters of any torch module (``inference="sgld"``).

The scheme of ``BayesianMLP(inference="sgld")`` (:mod:`nfbst.backends.sgld`; Welling & Teh
2011) on the module's log posterior (:func:`~nfbst.backends.module_base.log_posterior`):
``n_chains`` chains advanced together (one ``vmap``'d forward per minibatch), gradients by
autograd on minibatches of ``batch_size`` rows (likelihood scaled by n / batch). Burn-in
(``warmup_steps``): a quarter of RMSprop ascent towards the mode (step ``lr``), then
Langevin steps under the inverse-Fisher metric while the late burn-in's per-chain variance
is recorded; that regularised variance (capped at ``FISHER_CAP`` times the inverse Fisher)
becomes the frozen metric G of the ``n_steps`` sampling steps per chain,
θ ← θ + ε/2 · G ∇log p + sqrt(ε G) ξ with ε = ``step_size``, thinned to ``num_samples``
draws in total. A constant metric needs no correction term; the fixed step inflates a
Gaussian posterior's variance by roughly ε/4 and minibatch noise adds to it (full batches
avoid that). The default ε = 0.05 is smaller than the MLP backend's 0.25: on the digits CNN
(13 706 parameters, minibatches of 64 or 128) ε = 0.25 and 0.1 diverged, 0.05 reached 0.955
test accuracy (``benchmarks/bench_network.py``). R̂/ESS in ``diagnostics_``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from probconstraints._progress import progress

from .base import generator
from .hmc import ChainStreams
from .module_base import ChainBankBackend, ModuleProblem, log_posterior, value_and_grad
from .sgld import EMA, FISHER_CAP


class ModuleSGLD(ChainBankBackend):
    """``inference="sgld"``: preconditioned SGLD chains on minibatches.

    Options (``inference_params``): ``n_chains`` (4), ``num_samples`` (200, in total),
    ``n_steps`` (2000 sampling steps per chain), ``warmup_steps`` (1000), ``batch_size``
    (None: 128 rows, the full batch when n <= 128), ``lr`` (0.01, the burn-in climb),
    ``step_size`` (0.05), ``prior_scale`` (1.0), ``noise`` ("learned" or a float).
    """

    name: ClassVar[str] = "sgld"
    defaults: ClassVar[dict[str, Any]] = dict(
        n_chains=4, num_samples=200, n_steps=2000, warmup_steps=1000, batch_size=None,
        lr=0.01, step_size=0.05, prior_scale=1.0, noise="learned")

    @classmethod
    def check_options(cls, options: Any) -> dict[str, Any]:
        o = super().check_options(options)
        keep = math.ceil(int(o["num_samples"]) / int(o["n_chains"]))
        if int(o["n_steps"]) < keep:
            raise ValueError(f"inference_params['n_steps']={o['n_steps']!r} of inference="
                             f"'sgld' (steps per chain) must be >= the {keep} draws kept per "
                             "chain")
        if int(o["warmup_steps"]) < 20:
            raise ValueError(f"inference_params['warmup_steps'] of inference='sgld' must be "
                             f">= 20, got {o['warmup_steps']!r}")
        return o

    def fit(self, problem: ModuleProblem, seed: np.random.SeedSequence) -> ModuleSGLD:
        o = self.o
        C = int(o["n_chains"])
        keep = math.ceil(int(o["num_samples"]) / C)
        thin = int(o["n_steps"]) // keep
        init_seed, batch_seed, run_seed = seed.spawn(3)
        P, log_post = log_posterior(problem, o["prior_scale"], o["noise"])
        grad_fn = value_and_grad(log_post)
        theta = problem.flatten(problem.init_params(init_seed.spawn(C)))
        if P > problem.n_params:
            theta = torch.cat([theta, torch.zeros(C, 1, dtype=theta.dtype,
                                                  device=theta.device)], 1)
        rng = ChainStreams([generator(s) for s in run_seed.spawn(C)], theta.dtype,
                           theta.device)
        batch_gen = generator(batch_seed)
        prior_prec = torch.full((P,), 1.0 / float(o["prior_scale"]) ** 2, dtype=theta.dtype,
                                device=theta.device)
        if P > problem.n_params:
            prior_prec[-1] = 1.0
        batches: list[torch.Tensor] = []

        def grad(th: torch.Tensor) -> torch.Tensor:
            if not batches:
                batches.extend(problem.batches(o["batch_size"], batch_gen))
            idx = batches.pop(0)
            return grad_fn(th, None if len(idx) == problem.n else idx)[1]

        eps = float(o["step_size"])
        warm = int(o["warmup_steps"])
        climb, fisher = warm // 4, warm // 2
        V = torch.zeros_like(theta)
        w_n, w_mean, w_m2 = 0, torch.zeros_like(theta), torch.zeros_like(theta)
        samples = torch.empty(C, keep, P, dtype=theta.dtype, device=theta.device)
        G: torch.Tensor | None = None
        for k in progress(range(warm + keep * thin), verbose=problem.verbose, desc="SGLD",
                          leave=False):
            g = grad(theta)
            if k < warm:
                V = EMA * V + (1 - EMA) * g.square()
            if k < climb:  # RMSprop ascent towards the mode (bias-corrected average)
                v_hat = V / (1 - EMA ** (k + 1))
                theta = theta + float(o["lr"]) * g / (v_hat.sqrt() + 1e-8)
                continue
            if k < fisher:
                G = 1.0 / (V / (1 - EMA ** (k + 1)) + prior_prec)
            elif k == warm:  # metric := regularised late burn-in variance, capped
                var = w_m2 / max(w_n - 1, 1)
                G = (w_n / (w_n + 5.0)) * var + 1e-3 * (5.0 / (w_n + 5.0))
                G = torch.minimum(G, FISHER_CAP / (V / (1 - EMA ** k) + prior_prec))
            assert G is not None  # set from the end of the climb on
            theta = theta + 0.5 * eps * G * g + (eps * G).sqrt() * rng.randn(P)
            if fisher <= k < warm:
                w_n += 1
                delta = theta - w_mean
                w_mean = w_mean + delta / w_n
                w_m2 = w_m2 + delta * (theta - w_mean)
            j = k - warm + 1
            if k >= warm and j % thin == 0:
                samples[:, j // thin - 1] = theta
        if not bool(torch.isfinite(samples).all()):
            raise FloatingPointError("SGLD diverged (non-finite draws); raise warmup_steps, "
                                     "lower lr or step_size")
        self.store_chains(problem, samples, o["noise"], dict(thin=thin, step_size=eps))
        return self
