"""Posterior backends: effective samples per second of our HMC vs pyro NUTS, and the wall time
of a default nFBST global test with each model configuration.

Part 1 — the 1×5 tanh MLP of the calibration study: d = 5, X ~ N(0, I), n = 200,
y = 0.5 sin(1.5 x0) + 0.3 x1 x2 + N(0, 0.5²). Effective samples per second = the *minimum
bulk ESS over the posterior mean output f(x) at 20 fixed points* (function values are
invariant to the hidden-unit permutations and sign flips that make weight ESS meaningless),
divided by the wall time of the whole fit including warm-up. ESS is computed the same way for
both (split chains, rank-normalised, :func:`nfbst.backends.diagnostics.chain_diagnostics`;
pyro's NUTS is one chain, ours ``n_chains``). Best of ``--repeats`` fits of ours (different
seeds) and one of pyro's (minutes per fit here), the ratio of the bests printed.

Part 2 — ``NFBST(model=...).fit(X, y).test(X, scope="global")`` on Friedman #1, n = 1000,
d = 10, for each configuration in ``CONFIGS`` (edit the dict to add one), best of
``--repeats2`` wall times, ratios to the first entry (the previous default: VI 3×20 and Q-GS,
no randomization test).

Both parts pin torch and the BLAS/OpenMP pools to ``--threads`` (``_timing.pin_threads``,
printed). Run it alone on the machine (timings under load are noise):
.venv/bin/python benchmarks/bench_posteriors.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from _timing import pin_threads

# Part 1: (label, BayesianMLP keyword arguments) on the 1x5 tanh MLP
SAMPLERS = {
    "hmc (ours, 4 chains)": dict(inference="hmc", n_chains=4, num_samples=1000,
                                 warmup_steps=300),
    # pyro takes minutes per fit on this machine: one repeat
    "pyro NUTS": dict(inference="nuts", num_samples=300, warmup_steps=300, repeats=1),
}
# Part 2: (BayesianMLP keyword arguments or None for NFBST's default network, NFBST keyword
# arguments); the first entry is the reference of the ratios. HMC on the 3×20 ReLU network
# ran over 7.5 minutes at this size and is left out.
CONFIGS = {
    "previous default (VI 3x20 ReLU, Q-GS)": (
        dict(), dict(rule="quantile", calibration="none", holdout=None)),
    "library default (VI 1x20 tanh, CRT)": (None, {}),
    "hmc 1x20 tanh, CRT": (dict(inference="hmc", hidden=(20,), activation="tanh"), {}),
}


def mlp_data(seed=0, n=200, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = 0.5 * np.sin(1.5 * X[:, 0]) + 0.3 * X[:, 1] * X[:, 2] + 0.5 * rng.normal(size=n)
    return X, y


def output_ess(bnn, points) -> float:
    """Min bulk ESS of f(x) over ``points``, with the draws split into the sampler's chains."""
    from nfbst.backends.diagnostics import chain_diagnostics

    C = bnn.diagnostics_["n_chains"]
    S = bnn.diagnostics_["n_draws_per_chain"]
    draws = bnn.sample_posterior(C * S)  # draw t of chain c at t*C + c (one chain for NUTS)
    with torch.no_grad():
        out = draws.forward(points)[..., 0].double()  # (C*S, m)
    chains = out.reshape(S, C, -1).transpose(0, 1)  # (C, S, m)
    return float(chain_diagnostics(chains)["ess"].min())


def part1(repeats):
    from nfbst import BayesianMLP

    X, y = mlp_data()
    points = np.random.default_rng(99).normal(size=(20, X.shape[1]))
    best = {}
    print("Part 1: ESS/s, 1x5 tanh MLP, n=200, d=5 (ESS = min bulk ESS of f(x) at 20 points)")
    for label, params in SAMPLERS.items():
        params = dict(params)
        rows = []
        for r in range(params.pop("repeats", repeats)):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # R-hat warnings are reported below
                bnn = BayesianMLP(hidden=(5,), activation="tanh", random_state=r,
                                  **params).fit(X, y)
            sec = time.perf_counter() - t0
            ess = output_ess(bnn, points)
            rows.append(ess / sec)
            print(f"  {label:24s} repeat {r}: {sec:7.1f} s, ESS {ess:7.1f}, "
                  f"ESS/s {ess / sec:8.2f}, R-hat(f) {bnn.diagnostics_['rhat_max_output']:.3f}",
                  flush=True)
        best[label] = max(rows)
    labels = list(best)
    print("  best ESS/s: " + ", ".join(f"{k} {v:.2f}" for k, v in best.items()))
    print(f"  ratio {labels[0]} / {labels[1]}: {best[labels[0]] / best[labels[1]]:.1f}x")


def part2(repeats):
    from sklearn.datasets import make_friedman1

    from nfbst import NFBST, BayesianMLP

    X, y = make_friedman1(n_samples=1000, n_features=10, noise=1.0, random_state=0)
    print("Part 2: NFBST(model).fit(X, y).test(X, scope='global'), Friedman #1, n=1000, d=10")
    best = {}
    for label, (params, test_params) in CONFIGS.items():
        times = []
        for r in range(repeats):
            model = None if params is None else BayesianMLP(**params)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                NFBST(model=model, random_state=r, **test_params).fit(X, y).test(
                    X, scope="global")
            times.append(time.perf_counter() - t0)
            print(f"  {label:24s} repeat {r}: {times[-1]:7.1f} s", flush=True)
        best[label] = min(times)
    first = next(iter(best))
    for label, sec in best.items():
        print(f"  best {label:24s} {sec:7.1f} s   ratio to {first}: {sec / best[first]:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="part 1 (our sampler)")
    parser.add_argument("--repeats2", type=int, default=1, help="part 2, per configuration")
    parser.add_argument("--part", choices=["1", "2", "both"], default="both")
    args = parser.parse_args(argv)
    pin_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}; best of {args.repeats} repeats in part 1 "
          f"(pyro: 1), {args.repeats2} in part 2", flush=True)
    if args.part in ("1", "both"):
        part1(args.repeats)
    if args.part in ("2", "both"):
        part2(args.repeats2)


if __name__ == "__main__":
    main()
