"""Batched multi-chain HMC for the stacked MLP (``inference="hmc"``).

All chains advance in one forward/backward pass: the state is a ``(C, P)`` tensor, one row per
chain (:class:`~nfbst.backends._stacked.StackedMLP`). Warm-up follows Stan: per-chain step
size by dual averaging (Hoffman & Gelman 2014, Alg. 5, target acceptance 0.8) and a diagonal
mass matrix from the regularised sample variance over doubling windows (75 / 25·2^k / 50
iterations). The trajectory length is learned in warm-up as in empirical HMC (Wu, Stoehr &
Robert 2018): during the terminal window every trajectory runs until its first U-turn
(``(θ_l − θ_0)·M⁻¹p_l < 0``) and its length in time units is recorded; while sampling each
chain draws its length from that empirical distribution (a random, state-independent number
of leapfrog steps, so plain Metropolis correction keeps the posterior invariant).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from probconstraints._progress import progress

from .._threads import threads_for
from ._stacked import StackedMLP
from .base import ChainBackend, Settings, generator, stacked_model
from .diagnostics import summarize, warn_if_unconverged

TARGET_ACCEPT = 0.8
MAX_LEAPFROG = 1024
DIVERGENCE = 1000.0  # energy error that counts as a divergent trajectory (as in Stan)

#: ``theta (C, P) -> (log density (C,), gradient (C, P))``, rows independent.
LogPGrad = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


# --------------------------------------------------------------------------- sampler
class ChainStreams:
    """One random stream per chain: chain c's numbers never depend on the other chains.

    Draws are made on the CPU from chain c's ``torch.Generator`` and moved to ``device``, so
    a group of chains gives the same draws whether it runs alone, beside others (joblib tasks)
    or on a GPU.
    """

    def __init__(self, gens: Iterable[torch.Generator], dtype: torch.dtype,
                 device: torch.device | str) -> None:
        self.gens, self.dtype, self.device = list(gens), dtype, torch.device(device)

    @classmethod
    def spawn(cls, gen: torch.Generator, C: int, dtype: torch.dtype,
              device: torch.device | str = "cpu") -> ChainStreams:
        """``C`` streams seeded from one generator (for a single-generator caller)."""
        seeds = torch.randint(2**62, (C,), generator=gen).tolist()
        return cls([torch.Generator().manual_seed(int(v)) for v in seeds], dtype, device)

    def randn(self, P: int) -> torch.Tensor:
        """``(C, P)`` standard normals, row c from chain c."""
        return torch.stack([torch.randn(P, generator=g, dtype=self.dtype)
                            for g in self.gens]).to(self.device)

    def rand(self) -> torch.Tensor:
        """``(C,)`` uniforms."""
        return torch.cat([torch.rand(1, generator=g, dtype=self.dtype)
                          for g in self.gens]).to(self.device)

    def randint(self, highs: Sequence[int]) -> torch.Tensor:
        """``(C,)`` integers, ``[0, highs[c])`` for chain c."""
        return torch.cat([torch.randint(int(h), (1,), generator=g)
                          for g, h in zip(self.gens, highs)])


class DualAveraging:
    """Per-chain step-size adaptation (Hoffman & Gelman 2014, Eq. 6; γ=0.05, t0=10, κ=0.75)."""

    def __init__(self, eps: torch.Tensor, target: float = TARGET_ACCEPT) -> None:
        self.target = target
        self.restart(eps)

    def restart(self, eps: torch.Tensor) -> None:
        self.mu = torch.log(10 * eps)
        self.m = 0
        self.h_bar = torch.zeros_like(eps)
        self.log_eps_bar = torch.zeros_like(eps)

    def update(self, accept: torch.Tensor) -> torch.Tensor:
        """Feed the acceptance probabilities ``(C,)``; returns the next step sizes."""
        self.m += 1
        w = 1.0 / (self.m + 10)
        self.h_bar = (1 - w) * self.h_bar + w * (self.target - accept)
        log_eps = self.mu - math.sqrt(self.m) / 0.05 * self.h_bar
        eta = self.m ** -0.75
        self.log_eps_bar = eta * log_eps + (1 - eta) * self.log_eps_bar
        return torch.exp(log_eps)

    @property
    def final(self) -> torch.Tensor:
        return torch.exp(self.log_eps_bar)


def adaptation_windows(num_warmup: int) -> tuple[int, int, list[int]]:
    """Stan's warm-up schedule: ``(init, term, window_ends)`` (iterations are 0-based)."""
    if num_warmup >= 150:
        init, term, base = 75, 50, 25
    else:
        # at least 10 terminal iterations: the final step size averages over them
        init, term = int(0.15 * num_warmup), max(int(0.1 * num_warmup), 10)
        base = num_warmup - init - term
    ends: list[int] = []
    start, size, stop = init, base, num_warmup - term
    while start < stop:
        end = start + size
        if end + 2 * size > stop:
            end = stop
        ends.append(end)
        start, size = end, 2 * size
    return init, term, ends


def _energy(lp: torch.Tensor, p: torch.Tensor, inv_mass: torch.Tensor) -> torch.Tensor:
    return -lp + 0.5 * (p.square() * inv_mass).sum(1)


def _trajectory(logp_grad: LogPGrad, theta: torch.Tensor, lp: torch.Tensor, g: torch.Tensor,
                p: torch.Tensor, eps: torch.Tensor, inv_mass: torch.Tensor,
                n_steps: torch.Tensor, uturn: bool
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Leapfrog every chain for ``n_steps`` (C,) steps (or until its first U-turn).

    Chains that are done keep their state while the others continue (masked lock-step).
    Returns the end state, its log density, gradient, momentum and the steps taken.
    """
    C = theta.shape[0]
    th, pp, gg, ll = theta, p, g, lp
    e = eps[:, None]
    e_inv_mass = e * inv_mass
    active = n_steps > 0
    taken = torch.zeros(C, dtype=torch.long, device=theta.device)
    all_moving = 0 if uturn else int(n_steps.min())  # steps every chain takes
    for k in range(int(n_steps.max())):
        p_half = pp + 0.5 * e * gg
        th_new = th + e_inv_mass * p_half
        ll_new, g_new = logp_grad(th_new)
        p_new = p_half + 0.5 * e * g_new
        if k < all_moving:  # no chain has stopped yet
            th, pp, gg, ll = th_new, p_new, g_new, ll_new
            taken += 1
            continue
        if k == all_moving:  # chains whose n_steps == all_moving are done already
            active = active & (taken < n_steps)
        a = active[:, None]
        th = torch.where(a, th_new, th)
        pp = torch.where(a, p_new, pp)
        gg = torch.where(a, g_new, gg)
        ll = torch.where(active, ll_new, ll)
        taken += active
        stop = taken >= n_steps
        if uturn:  # first U-turn, or a non-finite state (nan compares False)
            stop = stop | ~(((th - theta) * inv_mass * pp).sum(1) >= 0)
        active = active & ~stop
        if not bool(active.any()):
            break
    return th, ll, gg, pp, taken


def _diverged(lp0: torch.Tensor, p0: torch.Tensor, lp1: torch.Tensor, p1: torch.Tensor,
              inv_mass: torch.Tensor) -> torch.Tensor:
    """Energy error above 1000 or non-finite: a divergent trajectory (as in Stan)."""
    dH = _energy(lp1, p1, inv_mass) - _energy(lp0, p0, inv_mass)
    return ~torch.isfinite(dH) | (dH > DIVERGENCE)


def _accept_prob(lp0: torch.Tensor, p0: torch.Tensor, lp1: torch.Tensor, p1: torch.Tensor,
                 inv_mass: torch.Tensor) -> torch.Tensor:
    log_a = _energy(lp0, p0, inv_mass) - _energy(lp1, p1, inv_mass)
    a = torch.exp(torch.clamp(log_a, max=0.0))
    return torch.nan_to_num(a, nan=0.0)


def _initial_step_size(logp_grad: LogPGrad, theta: torch.Tensor, lp: torch.Tensor,
                       g: torch.Tensor, inv_mass: torch.Tensor, gen: ChainStreams
                       ) -> torch.Tensor:
    """Per chain, double or halve ε until one leapfrog step's acceptance crosses 1/2
    (Hoffman & Gelman 2014, Alg. 4)."""
    C = theta.shape[0]
    eps = torch.ones(C, dtype=theta.dtype, device=theta.device)
    p = gen.randn(theta.shape[1]) / inv_mass.sqrt()
    one = torch.ones(C, dtype=torch.long, device=theta.device)

    def log_ratio(eps: torch.Tensor) -> torch.Tensor:
        th, l1, _, p1, _ = _trajectory(logp_grad, theta, lp, g, p, eps, inv_mass, one, False)
        r = _energy(lp, p, inv_mass) - _energy(l1, p1, inv_mass)
        return torch.nan_to_num(r, nan=-math.inf)

    r = log_ratio(eps)
    direction = torch.where(r > math.log(0.5), 1.0, -1.0).to(theta.dtype)
    searching = torch.ones(C, dtype=torch.bool, device=theta.device)
    for _ in range(60):
        eps = torch.where(searching, eps * 2.0 ** direction, eps)
        r = log_ratio(eps)
        searching = searching & (direction * r > direction * math.log(0.5))
        if not bool(searching.any()):
            break
    return eps


def run_hmc(logp_grad: LogPGrad, theta0: torch.Tensor, num_warmup: int, num_keep: int,
            gen: torch.Generator | ChainStreams, verbose: int = 0, desc: str = "HMC"
            ) -> tuple[torch.Tensor, dict[str, Any]]:
    """Adaptive HMC on ``C = theta0.shape[0]`` independent chains advanced in lock-step.

    Parameters
    ----------
    logp_grad : callable
        ``theta (C, P) -> (log density (C,), gradient (C, P))``, rows independent.
    theta0 : Tensor
        Starting points ``(C, P)``.
    num_warmup, num_keep : int
        Warm-up iterations (adaptation; discarded) and kept draws per chain.
    gen : torch.Generator or ChainStreams
        One generator (``C`` chain streams are seeded from it) or the chains' own streams.

    Returns
    -------
    samples : Tensor ``(C, num_keep, P)``
    info : dict
        ``step_size`` (C,), ``inv_mass`` (C, P), ``accept_rate``, ``mean_leapfrog``,
        ``n_divergent`` (while sampling), ``trajectory_lengths`` (the learned distribution).

    Examples
    --------
    >>> import torch
    >>> scale = torch.tensor([1.0, 10.0], dtype=torch.float64)
    >>> def logp_grad(th):
    ...     return -0.5 * (th / scale).square().sum(1), -th / scale**2
    >>> g = torch.Generator().manual_seed(0)
    >>> x, _ = run_hmc(logp_grad, torch.zeros(4, 2, dtype=torch.float64), 200, 500, g)
    >>> x.reshape(-1, 2).std(0).div(scale).sub(1).abs().max().item() < 0.1
    True
    """
    C, P = theta0.shape
    dtype, device = theta0.dtype, theta0.device
    rng = gen if isinstance(gen, ChainStreams) else ChainStreams.spawn(gen, C, dtype, device)
    if len(rng.gens) != C:
        raise ValueError(f"gen holds {len(rng.gens)} chain streams for {C} chains")
    theta = theta0.clone()
    lp, g = logp_grad(theta)
    if not bool(torch.isfinite(lp).all()):
        raise FloatingPointError("HMC: non-finite log density at the starting points")
    inv_mass = torch.ones(C, P, dtype=dtype, device=device)
    eps = _initial_step_size(logp_grad, theta, lp, g, inv_mass, rng)
    da = DualAveraging(eps)
    init, term, ends = adaptation_windows(num_warmup) if num_warmup > 0 else (0, 0, [])
    w_count = 0
    w_mean = torch.zeros(C, P, dtype=dtype, device=device)
    w_m2 = torch.zeros(C, P, dtype=dtype, device=device)
    # per chain: U-turn step counts in warm-up and trajectory lengths of the terminal window
    recent: list[list[int]] = [[] for _ in range(C)]
    lengths: list[list[float]] = [[] for _ in range(C)]
    samples = torch.empty(C, num_keep, P, dtype=dtype, device=device)
    acc_sum = torch.zeros(C, dtype=dtype, device=device)
    steps_sum = 0
    n_div = torch.zeros(C, dtype=torch.long, device=device)
    T: list[torch.Tensor] | None = None  # per chain, the learned trajectory lengths
    full = torch.full((C,), MAX_LEAPFROG, dtype=torch.long, device=device)
    for it in progress(range(num_warmup + num_keep), verbose=verbose, desc=desc, leave=False):
        warm = it < num_warmup
        if not warm and T is None:
            eps = da.final if num_warmup > 0 else eps
            eps_cpu = eps.cpu().tolist()
            T = [torch.tensor(lengths[c] or [10 * eps_cpu[c]], dtype=dtype) for c in range(C)]
        p = rng.randn(P) / inv_mass.sqrt()
        if warm:
            # outside the terminal window a trajectory stops at 2x the chain's recent median
            # U-turn length: the lock-step batch then waits for no straggler, and warm-up
            # needs exploration, not exact U-turns (the recorded lengths all come from the
            # terminal window, uncapped)
            terminal = it >= num_warmup - term
            n_steps = full if terminal else torch.tensor(
                [MAX_LEAPFROG if not r else int(min(MAX_LEAPFROG, max(8, 2 * float(
                    np.median(r[-8:]))))) for r in recent], dtype=torch.long, device=device)
        else:
            assert T is not None  # set at the first sampling iteration
            pick = rng.randint([len(Tc) for Tc in T])
            length = torch.stack([Tc[k] for Tc, k in zip(T, pick.tolist())]).to(device)
            n_steps = torch.ceil(length / eps).long().clamp(1, MAX_LEAPFROG)
        th1, lp1, g1, p1, taken = _trajectory(
            logp_grad, theta, lp, g, p, eps, inv_mass, n_steps, uturn=warm)
        div = _diverged(lp, p, lp1, p1, inv_mass)
        a = _accept_prob(lp, p, lp1, p1, inv_mass)
        accept = rng.rand() < a
        theta = torch.where(accept[:, None], th1, theta)
        lp = torch.where(accept, lp1, lp)
        g = torch.where(accept[:, None], g1, g)
        if warm:
            taken_c, div_c = taken.tolist(), div.tolist()
            length_c = (taken * eps).tolist()
            for c in range(C):
                if not div_c[c]:
                    recent[c].append(taken_c[c])  # capped ones too, so the cap can grow
                    if it >= num_warmup - term:
                        lengths[c].append(length_c[c])
            eps = da.update(a)
            if init <= it < num_warmup - term:
                w_count += 1
                delta = theta - w_mean
                w_mean = w_mean + delta / w_count
                w_m2 = w_m2 + delta * (theta - w_mean)
                if it + 1 in ends:
                    var = w_m2 / max(w_count - 1, 1)
                    inv_mass = (w_count / (w_count + 5.0)) * var + 1e-3 * (5.0 / (w_count + 5.0))
                    w_count, w_mean, w_m2 = 0, torch.zeros_like(w_mean), torch.zeros_like(w_m2)
                    eps = _initial_step_size(logp_grad, theta, lp, g, inv_mass, rng)
                    da.restart(eps)
        else:
            samples[:, it - num_warmup] = theta
            acc_sum += a
            steps_sum += int(taken.sum())
            n_div += div
    info = dict(
        step_size=eps, inv_mass=inv_mass,
        accept_rate=float(acc_sum.mean() / max(num_keep, 1)),
        mean_leapfrog=steps_sum / max(num_keep * C, 1),
        n_divergent=int(n_div.sum()),
        trajectory_lengths=torch.cat(T) if T is not None else torch.empty(0),
    )
    return samples, info


# --------------------------------------------------------------------------- backend
class HMCBackend(ChainBackend):
    """``inference="hmc"``: ``n_chains`` adaptive HMC chains in one batched pass.

    Keeps ``ceil(num_samples / n_chains)`` draws per chain after ``warmup_steps`` warm-up
    iterations; stores split-R̂ / bulk ESS in ``diagnostics_`` and warns when R̂ > 1.05.
    """

    name = "hmc"

    @classmethod
    def check_settings(cls, s: Settings) -> None:
        cls.check_chains(s)

    def fit(self, Z: torch.Tensor, t: torch.Tensor, seed: np.random.SeedSequence
            ) -> HMCBackend:
        s = self.s
        model = self._model()
        C = int(s["n_chains"])
        keep = math.ceil(int(s["num_samples"]) / C)
        Z = Z.double()  # on the fit's device (BayesianMLP(device=...))
        t = t.double() if s["task"] == "regression" else t
        init_seed, run_seed = seed.spawn(2)
        theta0 = model.init(C, generator(init_seed), dtype=torch.float64).to(Z.device)
        parts = self.run_chain_groups(_hmc_group, theta0, run_seed.spawn(C), Z, t,
                                      int(s["warmup_steps"]), keep)
        samples = torch.cat([smp for smp, _ in parts]).cpu()
        infos = [info for _, info in parts]
        sizes = [smp.shape[0] for smp, _ in parts]
        self.samples = samples
        self.diagnostics = _diagnostics(model, samples, Z.cpu(),
                                        identifiable=len(self.layer_sizes) == 2)
        self.diagnostics.update(
            step_size=torch.cat([i["step_size"] for i in infos]).tolist(),
            accept_rate=float(np.average([i["accept_rate"] for i in infos], weights=sizes)),
            mean_leapfrog=float(np.average([i["mean_leapfrog"] for i in infos], weights=sizes)),
            n_divergent=sum(i["n_divergent"] for i in infos),
        )
        warn_if_unconverged(self.diagnostics, "BayesianMLP(inference='hmc')")
        return self


def _hmc_group(layer_sizes: Sequence[int], s: Settings, theta0: torch.Tensor,
               seeds: Sequence[np.random.SeedSequence], Z: torch.Tensor, t: torch.Tensor,
               num_warmup: int, keep: int) -> tuple[torch.Tensor, dict[str, Any]]:
    """A group of chains, advanced together (a task of :meth:`ChainBackend.run_chain_groups`):
    chain c draws from its own stream ``seeds[c]``, so its draws do not depend on the group."""
    model = stacked_model(layer_sizes, s)
    rng = ChainStreams([generator(sd) for sd in seeds], theta0.dtype, theta0.device)

    def logp_grad(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return model.log_post_grad(theta, Z, t)

    with threads_for(theta0.shape[0] * Z.shape[0] * max(layer_sizes), Z.device):
        samples, info = run_hmc(logp_grad, theta0, num_warmup, keep, rng, s["verbose"],
                                desc="HMC")
    info = {k: v.cpu() if torch.is_tensor(v) else v for k, v in info.items()}
    return samples.cpu(), info


def _diagnostics(model: StackedMLP, samples: torch.Tensor, Z: torch.Tensor,
                 identifiable: bool) -> dict[str, Any]:
    """R̂/ESS of the parameters and of the outputs at (up to 500 of) the training rows."""
    C, S, P = samples.shape
    rows = Z[np.linspace(0, Z.shape[0] - 1, min(Z.shape[0], 500)).round().astype(int)]
    with torch.no_grad():
        out = model.forward(samples.reshape(C * S, P), rows)  # (C·S, m, k)
        if model.task == "classification":
            out = torch.softmax(out, -1)
    return summarize(samples, out.reshape(C, S, -1), identifiable)
