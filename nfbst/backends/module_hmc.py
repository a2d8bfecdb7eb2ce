"""Adaptive HMC on the parameters of a small torch module (``inference="hmc"``).

The sampler of ``BayesianMLP(inference="hmc")`` (:func:`nfbst.backends.hmc.run_hmc`: step
size by dual averaging, diagonal mass matrix from windowed warm-up variances, trajectory
lengths learned from U-turns), run on ``n_chains`` chains of the module's log posterior
(N(0, ``prior_scale``²) prior on every parameter; regression with ``noise="learned"``: the
log noise sd as one more coordinate, HalfNormal(1) prior on the standardised sd), all chains
in one batched forward (``vmap`` of ``functional_call``) and full-batch gradients by
autograd. Split-R̂ and bulk ESS of the parameters and of the outputs at up to 200 training
rows are in ``diagnostics_`` (a ``UserWarning`` when R̂ > 1.05; weights of a network with
hidden units are not identifiable, so R̂ is checked on the outputs).

Refused above ``MAX_PARAMS`` = 5000 parameters: full-batch HMC needs thousands of gradient
evaluations per kept draw there; use ``"sgld"``, ``"laplace"`` or ``"vi"``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from .base import generator
from .hmc import ChainStreams, run_hmc
from .module_base import ChainBankBackend, ModuleProblem, log_posterior, value_and_grad

MAX_PARAMS = 5000


class ModuleHMC(ChainBankBackend):
    """``inference="hmc"``: adaptive HMC chains on a module of at most 5000 parameters.

    Options (``inference_params``): ``num_samples`` (200, in total over the chains),
    ``warmup_steps`` (200 per chain), ``n_chains`` (4), ``prior_scale`` (1.0), ``noise``
    ("learned" or a float in the target's units).
    """

    name: ClassVar[str] = "hmc"
    defaults: ClassVar[dict[str, Any]] = dict(num_samples=200, warmup_steps=200, n_chains=4,
                                              prior_scale=1.0, noise="learned")

    def check_problem(self, problem: ModuleProblem) -> None:
        if problem.n_params > MAX_PARAMS:
            raise ValueError(f"inference='hmc' is limited to MAX_PARAMS={MAX_PARAMS} "
                             f"parameters; this module has {problem.n_params}: use 'sgld', "
                             "'laplace' or 'vi'")

    def fit(self, problem: ModuleProblem, seed: np.random.SeedSequence) -> ModuleHMC:
        o = self.o
        C = int(o["n_chains"])
        keep = math.ceil(int(o["num_samples"]) / C)
        init_seed, run_seed = seed.spawn(2)
        P, log_post = log_posterior(problem, o["prior_scale"], o["noise"])
        theta0 = problem.flatten(problem.init_params(init_seed.spawn(C)))
        if P > problem.n_params:
            theta0 = torch.cat([theta0, torch.zeros(C, 1, dtype=theta0.dtype,
                                                    device=theta0.device)], 1)
        rng = ChainStreams([generator(s) for s in run_seed.spawn(C)], theta0.dtype,
                           theta0.device)
        samples, info = run_hmc(value_and_grad(log_post), theta0, int(o["warmup_steps"]),
                                keep, rng, problem.verbose, desc="HMC")
        self.store_chains(problem, samples.detach(), o["noise"], dict(
            step_size=info["step_size"].tolist(), accept_rate=info["accept_rate"],
            mean_leapfrog=info["mean_leapfrog"], n_divergent=info["n_divergent"]))
        return self
