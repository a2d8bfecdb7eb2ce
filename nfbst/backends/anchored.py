"""Anchored ensembles with target noise (``inference="anchored"``).

Pearce, Leibfried & Brintrup (2020), "Uncertainty in neural networks: approximately
Bayesian ensembling": member m is the MAP of the network under a prior *centred at an
anchor* θ_anc,m ~ N(0, prior_scale²), fitted to targets perturbed with likelihood noise,
t̃_m = t + σ ε_m:

    θ_m = argmin  Σ_i (t̃_m,i − f(x_i; θ))² / (2σ²) + ‖θ − θ_anc,m‖² / (2 prior_scale²).

For a linear-Gaussian model each θ_m is an exact posterior draw (randomise-then-optimise);
for a network it is an approximation. The ``n_ensemble`` members are the draws: all are
trained together in one batched pass (Adam, ``n_steps`` full-batch steps, cosine-decayed
``lr``). With ``noise="learned"`` σ is first estimated by a MAP fit with the HalfNormal(1)
prior on σ, then held fixed; classification uses the anchors only (no target noise).
``sample_posterior(S)`` refuses S > ``n_ensemble``: repeating members would fake draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from probconstraints._progress import progress

from .._parallel import effective_n_jobs, parallel_map
from .._threads import threads_for
from ._stacked import StackedMLP
from .base import Backend, Settings, WeightSets, chain_groups, generator, take_last


class AnchoredBackend(Backend):
    """``inference="anchored"``: ``n_ensemble`` anchored MAP fits with target noise."""

    name = "anchored"
    members: torch.Tensor
    noise: float
    loss_history: NDArray[np.float64] | None

    def _model(self, noise: str | float) -> StackedMLP:
        s = self.s
        return StackedMLP(self.layer_sizes, s["activation"], s["task"], s["prior_scale"], noise)

    def fit(self, Z: torch.Tensor, t: torch.Tensor, seed: np.random.SeedSequence
            ) -> AnchoredBackend:
        s = self.s
        reg = s["task"] == "regression"
        Z = Z.double()  # on the fit's device (BayesianMLP(device=...))
        t = t.double() if reg else t
        M = int(s["n_ensemble"])
        noise_seed, member_seed = seed.spawn(2)
        if reg and isinstance(s["noise"], str):
            with threads_for(Z.shape[0] * max(self.layer_sizes), Z.device):
                self.noise = _map_noise(self._model("learned"), Z, t, s, generator(noise_seed))
        else:
            self.noise = float(s["noise"]) if reg else 1.0
        # member m's start, anchor and target noise from its own stream: the members do
        # not depend on how they are split among joblib workers (n_jobs)
        seeds = member_seed.spawn(M)
        n_jobs = s.get("n_jobs") if Z.device.type == "cpu" else 1
        groups = chain_groups(M, effective_n_jobs(n_jobs))
        parts = parallel_map(
            _fit_group, [(self.layer_sizes, s, self.noise, [seeds[m] for m in g], Z, t)
                         for g in groups],
            n_jobs=n_jobs, names=[f"anchored members {g[0]}-{g[-1]}" for g in groups],
            desc="anchored members")
        self.members = torch.cat([members for members, _ in parts])
        sizes = np.array([len(g) for g in groups], dtype=np.float64)
        self.loss_history = (np.stack([loss for _, loss in parts]) * sizes[:, None]).sum(0) / M
        return self

    def n_available(self) -> int:
        return self.members.shape[0]

    def draws(self, n: int, gen: torch.Generator) -> WeightSets:
        M = self.members.shape[0]
        sl = take_last(n, M, f"inference='anchored' with n_ensemble={M} members")
        return self._model(self.noise).to_weights(self.members[sl])

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {"members": self.members}, {"noise": self.noise}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> AnchoredBackend:
        self.members = tensors["members"]
        self.noise = meta["noise"]
        self.loss_history = None
        return self


def _fit_group(layer_sizes: Sequence[int], s: Settings, noise: float,
               seeds: Sequence[np.random.SeedSequence], Z: torch.Tensor, t: torch.Tensor
               ) -> tuple[torch.Tensor, NDArray[np.float32]]:
    """Anchored MAP fits of a group of members (a task of ``parallel_map``): ``(members (G,
    P) on the CPU, mean loss per step)``; groups from :func:`~nfbst.backends.base.chain_groups`."""
    reg = s["task"] == "regression"
    model = StackedMLP(layer_sizes, s["activation"], s["task"], s["prior_scale"], noise)
    dev = Z.device
    starts: list[torch.Tensor] = []
    anchor_rows: list[torch.Tensor] = []
    noises: list[torch.Tensor] = []
    for sd in seeds:
        init_seed, anchor_seed = sd.spawn(2)
        starts.append(model.init(1, generator(init_seed), dtype=torch.float64))
        gen = generator(anchor_seed)
        anchor_rows.append(s["prior_scale"] * torch.randn(1, model.n_params, generator=gen,
                                                          dtype=torch.float64))
        if reg:
            noises.append(noise * torch.randn(1, Z.shape[0], generator=gen,
                                              dtype=torch.float64))
    theta, anchors = torch.cat(starts).to(dev), torch.cat(anchor_rows).to(dev)
    targets = t[None, :] + torch.cat(noises).to(dev) if reg else t
    with threads_for(len(seeds) * Z.shape[0] * max(layer_sizes), dev):
        members, losses = _fit_anchored(model, theta, anchors, Z, targets, s)
    return members.cpu(), losses


def _fit_anchored(model: StackedMLP, theta: torch.Tensor, anchors: torch.Tensor,
                  Z: torch.Tensor, targets: torch.Tensor, s: Settings
                  ) -> tuple[torch.Tensor, NDArray[np.float32]]:
    """Minimise every member's anchored loss (summed over members, per row) with Adam."""
    theta = theta.clone().requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=s["lr"])
    steps = int(s["n_steps"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=0.01 * s["lr"])
    n = Z.shape[0]
    prior_var = s["prior_scale"] ** 2
    losses = torch.empty(steps, device=Z.device)
    for k in progress(range(steps), verbose=s["verbose"], desc="anchored", leave=False):
        out = model.forward(theta, Z)  # (M, n, k)
        if model.task == "classification":
            logp = torch.log_softmax(out, -1)
            nll = -logp.gather(2, targets.view(1, -1, 1).expand(out.shape[0], -1, 1)).sum((1, 2))
        else:
            nll = 0.5 * (targets - out[..., 0]).square().sum(1) / model.fixed_noise_sd()**2
        anchor = 0.5 * (theta - anchors).square().sum(1) / prior_var
        loss = (nll + anchor).sum() / n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses[k] = loss.detach() / theta.shape[0]
    if not torch.isfinite(losses[-1]):
        raise FloatingPointError("anchored ensemble diverged (non-finite loss); lower lr")
    return theta.detach(), losses.cpu().numpy()


def _map_noise(model: StackedMLP, Z: torch.Tensor, t: torch.Tensor, s: Settings,
               gen: torch.Generator) -> float:
    """Noise sd of the MAP network under the HalfNormal(1) prior (standardised units)."""
    theta = model.init(1, gen, dtype=torch.float64).to(Z.device).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=s["lr"])
    steps = int(s["n_steps"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=0.01 * s["lr"])
    for _ in range(steps):
        loss = -model.log_post(theta, Z, t).sum() / Z.shape[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    sd = float(torch.exp(theta[0, -1].detach()))
    if not math.isfinite(sd):
        raise FloatingPointError("anchored ensemble: the noise MAP fit diverged; lower lr")
    return sd
