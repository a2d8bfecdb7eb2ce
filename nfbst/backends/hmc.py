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

import numpy as np
import torch
from tqdm.auto import tqdm

from .._threads import threads_for
from ._stacked import StackedMLP
from .base import ChainBackend, generator
from .diagnostics import summarize, warn_if_unconverged

TARGET_ACCEPT = 0.8
MAX_LEAPFROG = 1024
DIVERGENCE = 1000.0  # energy error that counts as a divergent trajectory (as in Stan)


# --------------------------------------------------------------------------- sampler
class DualAveraging:
    """Per-chain step-size adaptation (Hoffman & Gelman 2014, Eq. 6; γ=0.05, t0=10, κ=0.75)."""

    def __init__(self, eps: torch.Tensor, target: float = TARGET_ACCEPT):
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


def adaptation_windows(num_warmup: int):
    """Stan's warm-up schedule: ``(init, term, window_ends)`` (iterations are 0-based)."""
    if num_warmup >= 150:
        init, term, base = 75, 50, 25
    else:
        # at least 10 terminal iterations: the final step size averages over them
        init, term = int(0.15 * num_warmup), max(int(0.1 * num_warmup), 10)
        base = num_warmup - init - term
    ends, start, size, stop = [], init, base, num_warmup - term
    while start < stop:
        end = start + size
        if end + 2 * size > stop:
            end = stop
        ends.append(end)
        start, size = end, 2 * size
    return init, term, ends


def _energy(lp, p, inv_mass):
    return -lp + 0.5 * (p.square() * inv_mass).sum(1)


def _trajectory(logp_grad, theta, lp, g, p, eps, inv_mass, n_steps, uturn: bool):
    """Leapfrog every chain for ``n_steps`` (C,) steps (or until its first U-turn).

    Chains that are done keep their state while the others continue (masked lock-step).
    Returns the end state, its log density, gradient, momentum and the steps taken.
    """
    C = theta.shape[0]
    th, pp, gg, ll = theta, p, g, lp
    e = eps[:, None]
    e_inv_mass = e * inv_mass
    active = n_steps > 0
    taken = torch.zeros(C, dtype=torch.long)
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


def _diverged(lp0, p0, lp1, p1, inv_mass):
    """Energy error above 1000 or non-finite: a divergent trajectory (as in Stan)."""
    dH = _energy(lp1, p1, inv_mass) - _energy(lp0, p0, inv_mass)
    return ~torch.isfinite(dH) | (dH > DIVERGENCE)


def _accept_prob(lp0, p0, lp1, p1, inv_mass):
    log_a = _energy(lp0, p0, inv_mass) - _energy(lp1, p1, inv_mass)
    a = torch.exp(torch.clamp(log_a, max=0.0))
    return torch.nan_to_num(a, nan=0.0)


def _initial_step_size(logp_grad, theta, lp, g, inv_mass, gen):
    """Per chain, double or halve ε until one leapfrog step's acceptance crosses 1/2
    (Hoffman & Gelman 2014, Alg. 4)."""
    C = theta.shape[0]
    eps = torch.ones(C, dtype=theta.dtype)
    p = torch.randn(theta.shape, generator=gen, dtype=theta.dtype) / inv_mass.sqrt()
    one = torch.ones(C, dtype=torch.long)

    def log_ratio(eps):
        th, l1, _, p1, _ = _trajectory(logp_grad, theta, lp, g, p, eps, inv_mass, one, False)
        r = _energy(lp, p, inv_mass) - _energy(l1, p1, inv_mass)
        return torch.nan_to_num(r, nan=-math.inf)

    r = log_ratio(eps)
    direction = torch.where(r > math.log(0.5), 1.0, -1.0).to(theta.dtype)
    searching = torch.ones(C, dtype=torch.bool)
    for _ in range(60):
        eps = torch.where(searching, eps * 2.0 ** direction, eps)
        r = log_ratio(eps)
        searching = searching & (direction * r > direction * math.log(0.5))
        if not bool(searching.any()):
            break
    return eps


def run_hmc(logp_grad, theta0, num_warmup: int, num_keep: int, gen: torch.Generator,
            verbose: int = 0, desc: str = "HMC"):
    """Adaptive HMC on ``C = theta0.shape[0]`` independent chains advanced in lock-step.

    Parameters
    ----------
    logp_grad : callable
        ``theta (C, P) -> (log density (C,), gradient (C, P))``, rows independent.
    theta0 : Tensor
        Starting points ``(C, P)``.
    num_warmup, num_keep : int
        Warm-up iterations (adaptation; discarded) and kept draws per chain.
    gen : torch.Generator

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
    dtype = theta0.dtype
    theta = theta0.clone()
    lp, g = logp_grad(theta)
    if not bool(torch.isfinite(lp).all()):
        raise FloatingPointError("HMC: non-finite log density at the starting points")
    inv_mass = torch.ones(C, P, dtype=dtype)
    eps = _initial_step_size(logp_grad, theta, lp, g, inv_mass, gen)
    da = DualAveraging(eps)
    init, term, ends = adaptation_windows(num_warmup) if num_warmup > 0 else (0, 0, [])
    w_count, w_mean, w_m2 = 0, torch.zeros(C, P, dtype=dtype), torch.zeros(C, P, dtype=dtype)
    lengths: list[torch.Tensor] = []
    recent: list[int] = []  # U-turn step counts in warm-up
    samples = torch.empty(C, num_keep, P, dtype=dtype)
    acc_sum = torch.zeros(C, dtype=dtype)
    steps_sum = 0
    n_div = torch.zeros(C, dtype=torch.long)
    T = None
    full = torch.full((C,), MAX_LEAPFROG, dtype=torch.long)
    for it in tqdm(range(num_warmup + num_keep), disable=not verbose, desc=desc, leave=False):
        warm = it < num_warmup
        if not warm and T is None:
            eps = da.final if num_warmup > 0 else eps
            T = torch.cat(lengths) if lengths else 10 * eps
        p = torch.randn(C, P, generator=gen, dtype=dtype) / inv_mass.sqrt()
        if warm:
            # outside the terminal window a trajectory stops at 2x the recent median U-turn
            # length: the lock-step batch then waits for no straggler, and warm-up needs
            # exploration, not exact U-turns (the recorded lengths all come from the
            # terminal window, uncapped)
            terminal = it >= num_warmup - term
            n_steps = full if terminal or not recent else torch.full_like(
                full, int(min(MAX_LEAPFROG, max(8, 2 * float(np.median(recent[-4 * C:]))))))
        else:
            pick = torch.randint(len(T), (C,), generator=gen)
            n_steps = torch.ceil(T[pick] / eps).long().clamp(1, MAX_LEAPFROG)
        th1, lp1, g1, p1, taken = _trajectory(
            logp_grad, theta, lp, g, p, eps, inv_mass, n_steps, uturn=warm)
        div = _diverged(lp, p, lp1, p1, inv_mass)
        a = _accept_prob(lp, p, lp1, p1, inv_mass)
        accept = torch.rand(C, generator=gen, dtype=dtype) < a
        theta = torch.where(accept[:, None], th1, theta)
        lp = torch.where(accept, lp1, lp)
        g = torch.where(accept[:, None], g1, g)
        if warm:
            recent.extend(taken[~div].tolist())  # capped ones too, so the cap can grow
            if it >= num_warmup - term:
                ok = ~div
                lengths.append((taken * eps)[ok])
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
                    eps = _initial_step_size(logp_grad, theta, lp, g, inv_mass, gen)
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
        trajectory_lengths=T if T is not None else torch.empty(0),
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
    def check_settings(cls, s: dict) -> None:
        cls.check_chains(s)

    def fit(self, Z, t, seed):
        s = self.s
        model = self._model()
        C = int(s["n_chains"])
        keep = math.ceil(int(s["num_samples"]) / C)
        Z = Z.double().cpu()  # small networks: the sampler runs on the CPU
        t = t.double().cpu() if s["task"] == "regression" else t.cpu()
        init_seed, run_seed = seed.spawn(2)
        theta0 = model.init(C, generator(init_seed), dtype=torch.float64)

        def logp_grad(theta):
            return model.log_post_grad(theta, Z, t)

        work = C * Z.shape[0] * max(self.layer_sizes)
        with threads_for(work, Z.device):
            samples, info = run_hmc(logp_grad, theta0, int(s["warmup_steps"]), keep,
                                    generator(run_seed), s["verbose"], desc="HMC")
        self.samples = samples
        self.diagnostics = _diagnostics(model, samples, Z, identifiable=len(self.layer_sizes) == 2)
        self.diagnostics.update(
            step_size=info["step_size"].tolist(), accept_rate=info["accept_rate"],
            mean_leapfrog=info["mean_leapfrog"], n_divergent=info["n_divergent"],
        )
        warn_if_unconverged(self.diagnostics, "BayesianMLP(inference='hmc')")
        return self


def _diagnostics(model: StackedMLP, samples: torch.Tensor, Z: torch.Tensor,
                 identifiable: bool) -> dict:
    """R̂/ESS of the parameters and of the outputs at (up to 500 of) the training rows."""
    C, S, P = samples.shape
    rows = Z[np.linspace(0, Z.shape[0] - 1, min(Z.shape[0], 500)).round().astype(int)]
    with torch.no_grad():
        out = model.forward(samples.reshape(C * S, P), rows)  # (C·S, m, k)
        if model.task == "classification":
            out = torch.softmax(out, -1)
    return summarize(samples, out.reshape(C, S, -1), identifiable)
