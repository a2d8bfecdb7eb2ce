"""Preconditioned stochastic-gradient Langevin dynamics, multi-chain (``inference="sgld"``).

All ``n_chains`` chains advance in one batched pass on a shared minibatch
(:class:`~nfbst.backends._stacked.StackedMLP`), with the likelihood gradient scaled by
n / batch (Welling & Teh 2011). The step is preconditioned by a diagonal G ≈ posterior
variance, so that one step size fits every parameter:

    θ ← θ + (ε/2) G ∇log p̂(θ) + sqrt(ε G) ξ,    ξ ~ N(0, I).

Burn-in (``warmup_steps``): the first quarter climbs towards the mode with RMSprop steps
(an optimiser, no noise); the second quarter runs the Langevin step with the diagonal Fisher
of the minibatch gradients, G = 1 / (V + 1/prior²), V an exponential moving average of
squared stochastic gradients (Ahn, Korattikara & Welling 2012); the second half runs it on
and records the draws, whose regularised per-chain variance (as Stan's mass matrix) becomes
the metric G, capped at ``FISHER_CAP`` = 4 times the Fisher metric (burn-in drift inflates a
sample variance, and an unadjusted Langevin step with too large a metric where the curvature
is high diverges). G is then frozen, so the sampling phase is Langevin with a constant metric and
needs no correction term (unlike pSGLD's moving RMSprop preconditioner, Li et al. 2016,
whose Γ term is usually dropped). ``n_steps`` Langevin steps follow per chain, thinned to
``ceil(num_samples / n_chains)`` kept draws.

Why SGLD and not SGHMC: one step size and no friction to match to the unknown gradient
noise; with the variance metric it mixed well in our checks (1×5 tanh MLP, n = 200: R̂ 1.02,
output ESS ~700 of 1000 draws from 20 000 steps in ~4 s). The fixed step
ε = ``STEP_SIZE`` = 0.25 (in units of the metric) is a compromise: a Gaussian posterior's
variance is inflated by about ε/4 (measured on the linear model: sds within 7 %), and 0.6
diverged. Minibatch gradient noise adds to that bias; full batches (the default up to
4096 rows) avoid it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from probconstraints._progress import progress

from .._threads import threads_for
from .base import ChainBackend, Settings, generator, stacked_model
from .diagnostics import warn_if_unconverged
from .hmc import ChainStreams, _diagnostics

STEP_SIZE = 0.25
EMA = 0.99
FISHER_CAP = 16.0  # the variance metric may exceed the local inverse Fisher only this much


class SGLDBackend(ChainBackend):
    """``inference="sgld"``: ``n_chains`` preconditioned SGLD chains on minibatches."""

    name = "sgld"

    @classmethod
    def check_settings(cls, s: Settings) -> None:
        per_chain = cls.check_chains(s)
        if int(s["n_steps"]) < per_chain:
            raise ValueError(
                f"n_steps={s['n_steps']!r} (Langevin steps per chain) must be >= the "
                f"{per_chain} draws kept per chain"
            )


    def fit(self, Z: torch.Tensor, t: torch.Tensor, seed: np.random.SeedSequence
            ) -> SGLDBackend:
        s = self.s
        model = self._model()
        C = int(s["n_chains"])
        Z = Z.double()  # on the fit's device (BayesianMLP(device=...))
        t = t.double() if s["task"] == "regression" else t
        n = Z.shape[0]
        batch = min(int(s["batch_size"] or (n if n <= 4096 else 1024)), n)
        init_seed, run_seed = seed.spawn(2)
        theta0 = model.init(C, generator(init_seed), dtype=torch.float64).to(Z.device)
        # chain c's Langevin noise from its own stream; the minibatch order is shared by
        # every chain (the batched pass evaluates all chains on one minibatch)
        batch_seed, *chain_seeds = run_seed.spawn(C + 1)
        parts = self.run_chain_groups(_sgld_group, theta0, chain_seeds, Z, t, batch, batch_seed)
        samples = torch.cat(parts).cpu()
        if not bool(torch.isfinite(samples).all()):
            raise FloatingPointError(
                "SGLD diverged (non-finite draws); raise warmup_steps or lower lr")
        self.samples = samples
        self.diagnostics = _diagnostics(model, samples, Z.cpu(),
                                        identifiable=len(self.layer_sizes) == 2)
        self.diagnostics.update(batch_size=batch, thin=int(s["n_steps"]) // samples.shape[1],
                                step_size=STEP_SIZE)
        warn_if_unconverged(self.diagnostics, "BayesianMLP(inference='sgld')")
        return self


def _sgld_group(layer_sizes: Sequence[int], s: Settings, theta: torch.Tensor,
                seeds: Sequence[np.random.SeedSequence], Z: torch.Tensor, t: torch.Tensor,
                batch: int, batch_seed: np.random.SeedSequence) -> torch.Tensor:
    """SGLD on a group of chains (a task of :meth:`ChainBackend.run_chain_groups`):
    draws ``(C, keep, P)``, independent of how the chains are grouped."""
    model = stacked_model(layer_sizes, s)
    C = theta.shape[0]
    keep = math.ceil(int(s["num_samples"]) / int(s["n_chains"]))
    thin = int(s["n_steps"]) // keep
    n = Z.shape[0]
    dev = Z.device
    rng = ChainStreams([generator(sd) for sd in seeds], torch.float64, dev)
    batch_gen = generator(batch_seed)
    prior_prec = torch.full((model.n_params,), 1.0 / s["prior_scale"] ** 2,
                            dtype=torch.float64, device=dev)
    if model.learn_noise:
        prior_prec[-1] = 1.0
    perm: torch.Tensor | None = None
    pos = n

    def grad(theta: torch.Tensor) -> torch.Tensor:
        nonlocal perm, pos
        if batch == n:
            return model.log_post_grad(theta, Z, t)[1]
        if pos + batch > n:
            perm, pos = torch.randperm(n, generator=batch_gen).to(dev), 0
        assert perm is not None  # drawn at the first minibatch
        idx = perm[pos:pos + batch]
        pos += batch
        return model.log_post_grad(theta, Z[idx], t[idx], lik_scale=n / batch)[1]

    warm = int(s["warmup_steps"])
    climb, fisher = warm // 4, warm // 2
    total = warm + keep * thin
    V = torch.zeros_like(theta)
    w_n, w_mean, w_m2 = 0, torch.zeros_like(theta), torch.zeros_like(theta)
    samples = torch.empty(C, keep, model.n_params, dtype=torch.float64, device=dev)
    G: torch.Tensor | None = None  # the metric, set from the end of the climb on
    with threads_for(C * batch * max(layer_sizes), dev):
        for k in progress(range(total), verbose=s["verbose"], desc="SGLD", leave=False):
            g = grad(theta)
            if k < warm:
                V = EMA * V + (1 - EMA) * g.square()
            if k < climb:  # RMSprop ascent towards the mode (bias-corrected average)
                v_hat = V / (1 - EMA ** (k + 1))
                theta = theta + s["lr"] * g / (v_hat.sqrt() + 1e-8)
                continue
            if k < fisher:
                G = 1.0 / (V / (1 - EMA ** (k + 1)) + prior_prec)
            elif k == warm:  # metric := regularised sample variance of the late burn-in,
                var = w_m2 / max(w_n - 1, 1)  # at most FISHER_CAP x the Fisher metric
                G = (w_n / (w_n + 5.0)) * var + 1e-3 * (5.0 / (w_n + 5.0))
                G = torch.minimum(G, FISHER_CAP / (V / (1 - EMA ** k) + prior_prec))
            noise = rng.randn(model.n_params)
            assert G is not None  # warmup_steps >= 20: the climb ends before the metric is used
            theta = theta + 0.5 * STEP_SIZE * G * g + (STEP_SIZE * G).sqrt() * noise
            if fisher <= k < warm:
                w_n += 1
                delta = theta - w_mean
                w_mean = w_mean + delta / w_n
                w_m2 = w_m2 + delta * (theta - w_mean)
            j = k - warm + 1
            if k >= warm and j % thin == 0:
                samples[:, j // thin - 1] = theta
    return samples.cpu()
