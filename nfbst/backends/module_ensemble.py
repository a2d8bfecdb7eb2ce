"""Deep ensembles and anchored ensembles of any torch module.

``inference="ensemble"`` (Lakshminarayanan, Pritzel & Blundell 2017): ``n_members``
networks, each from its own random initialisation, trained to the MAP under the
N(0, ``prior_scale``²) prior (weight decay; a learned noise sd per member for regression).

``inference="anchored"`` (Pearce, Leibfried & Brintrup 2020, "Uncertainty in neural networks:
approximately Bayesian ensembling"): member m is the MAP under a prior *centred at an anchor*
θ_anc,m ~ N(0, prior_scale²), fitted to targets perturbed with the likelihood noise,
t̃_m = t + σ ε_m (classification: the anchors only). For a linear-Gaussian model every member
is an exact posterior draw (randomise-then-optimise). With ``noise="learned"`` σ is first
the MAP estimate of one network (flat prior on log σ), then held fixed.

All members are trained together: their parameters are stacked ``(M, ...)`` (as
``torch.func.stack_module_state``) and evaluated with one ``vmap`` of ``functional_call`` per
minibatch; their losses are summed, so each member gets exactly the gradients (and Adam
steps) it would get alone on the same minibatches. A module that ``vmap`` cannot run (data-
dependent control flow, in-place buffer updates) falls back to a loop over the members
(``vectorize=None`` decides by a trial call; ``False`` forces the loop); ``diagnostics_``
records which. The members are the draws: ``sample_posterior(S)`` refuses S > ``n_members``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from .base import generator
from .module_base import BankBackend, ModuleProblem, fit_stacked, gaussian_penalty


class ModuleEnsemble(BankBackend):
    """``inference="ensemble"``: independently initialised MAP members, trained side by side.

    Options (``inference_params``): ``n_members`` (5), ``n_epochs`` (None: 2000 optimiser
    steps), ``lr`` (0.01, Adam, cosine decay to lr/100), ``batch_size`` (None: 128 rows, the
    full batch when n <= 128), ``prior_scale`` (1.0), ``noise`` ("learned" or a float in
    the target's units),
    ``vectorize`` (None: vmap when the module allows it; False: a loop over the members).
    """

    name: ClassVar[str] = "ensemble"
    defaults: ClassVar[dict[str, Any]] = dict(
        n_members=5, n_epochs=None, lr=0.01, batch_size=None, prior_scale=1.0,
        noise="learned", vectorize=None)
    initial_params: dict[str, torch.Tensor]

    @classmethod
    def check_options(cls, options: Any) -> dict[str, Any]:
        o = super().check_options(options)
        if o["vectorize"] not in (None, True, False):
            raise ValueError(f"inference_params['vectorize'] of inference={cls.name!r} must be "
                             f"None, True or False, got {o['vectorize']!r}")
        return o

    def check_problem(self, problem: ModuleProblem) -> None:
        if self.o["vectorize"] is False:
            problem.vectorized = False
        elif self.o["vectorize"] is True and not problem.vectorized:
            raise ValueError(f"inference_params['vectorize']=True but torch.func.vmap cannot "
                             f"run this module ({problem.vmap_error}); use vectorize=None")

    def _anchors(self, problem: ModuleProblem, seeds: list[np.random.SeedSequence]
                 ) -> dict[str, torch.Tensor] | None:
        return None

    def _targets(self, problem: ModuleProblem, seeds: list[np.random.SeedSequence],
                 sd: float | None) -> torch.Tensor | None:
        return None

    def fit(self, problem: ModuleProblem, seed: np.random.SeedSequence) -> ModuleEnsemble:
        o = self.o
        M = int(o["n_members"])
        init_seed, batch_seed, anchor_seed, noise_seed = seed.spawn(4)
        params = problem.init_params(init_seed.spawn(M))
        self.initial_params = {k: v.clone() for k, v in params.items()}
        reg = problem.task == "regression"
        fixed = problem.noise_sd(o["noise"])
        sd = fixed
        if reg and fixed is None and self.name == "anchored":  # sigma: the MAP of one network
            p1 = problem.init_params([noise_seed])
            _, log_sd1, _ = fit_stacked(problem, p1, torch.zeros(1, dtype=problem.dtype,
                                                                 device=problem.device),
                                        gaussian_penalty(o["prior_scale"]), o,
                                        generator(batch_seed), desc="anchored noise")
            assert log_sd1 is not None
            sd = float(torch.exp(log_sd1[0]))
        anchor_seeds = anchor_seed.spawn(M)
        anchors = self._anchors(problem, anchor_seeds)
        targets = self._targets(problem, anchor_seeds, sd)
        learn = reg and sd is None
        log_sd0 = torch.zeros(M, dtype=problem.dtype, device=problem.device) if learn else None
        params, log_sd, losses = fit_stacked(
            problem, params, log_sd0, gaussian_penalty(o["prior_scale"], anchors), o,
            generator(batch_seed), targets=targets,
            fixed_log_sd=None if sd is None else math.log(sd), desc=self.name)
        self.bank = params
        if not reg:
            self.noise = None
        elif log_sd is not None:
            self.noise = torch.exp(log_sd)
        else:
            assert sd is not None
            self.noise = torch.full((M,), sd, dtype=problem.dtype, device=problem.device)
        self.info = dict(loss_history=losses, vectorized=problem.vectorized,
                         vmap_error=problem.vmap_error, n_members=M)
        if sd is not None and reg:
            self.info["noise_sd_standardised"] = sd
        return self


class ModuleAnchored(ModuleEnsemble):
    """``inference="anchored"``: anchored MAP members with target noise (Pearce et al. 2020).

    Options as ``"ensemble"`` (``n_members`` default 5); see the module docstring.
    """

    name: ClassVar[str] = "anchored"

    def _anchors(self, problem: ModuleProblem, seeds: list[np.random.SeedSequence]
                 ) -> dict[str, torch.Tensor]:
        rows = []
        for sd in seeds:
            g = generator(sd)
            rows.append(float(self.o["prior_scale"]) * torch.randn(
                problem.n_params, generator=g, dtype=problem.dtype))
        return problem.unflatten(torch.stack(rows).to(problem.device))

    def _targets(self, problem: ModuleProblem, seeds: list[np.random.SeedSequence],
                 sd: float | None) -> torch.Tensor | None:
        if problem.task != "regression":
            return None
        assert sd is not None
        rows = []
        for s in seeds:  # after the anchor: a stream of its own
            g = generator(s.spawn(1)[0])
            rows.append(sd * torch.randn(problem.n, generator=g, dtype=problem.dtype))
        return problem.t[None, :] + torch.stack(rows).to(problem.device)
