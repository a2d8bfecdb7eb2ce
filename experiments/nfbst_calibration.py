"""nFBST calibration and power: type-I error of null features and power vs effect size.

Not in the paper (shared/papers/nfbst.md §3.4: no type-I error, power or multiple-testing
results are reported). Data: y = Σ_j β_j x_j + ε, X ~ U(−1, 1)^10, ε ~ N(0, 1), n = 200,
β = (0.1, 0.2, 0.3, 0.4, 0.6, 0, 0, 0, 0, 0). Over many seeds: the share of null features with
global Grad-nFBST evidence < α (type-I error) and of relevant ones (power), for mean-field VI,
NUTS and a 3-run VI ensemble, before and after Benjamini-Hochberg across the 10 features; the
OLS t-test (exact for this model) is the reference.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from experiments._common import parse_args, save_figure, write_command, write_table
from experiments._nfbst import instance_evidence, q_gs

NAME = "nfbst_calibration"
BETA = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0])
ALPHA = 0.05


def _args(parser):
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--steps", type=int, default=500, help="VI steps per run")


def _models(quick, steps=500):
    """(label, BayesianMLP params) of the posteriors compared."""
    steps = 150 if quick else steps
    nuts = dict(inference="nuts", num_samples=20 if quick else 150,
                warmup_steps=20 if quick else 100)
    lin = dict(hidden=())
    mlp = dict(hidden=(5,), activation="tanh")
    return [
        ("linear / VI", dict(lin, n_steps=steps)),
        ("linear / NUTS", dict(lin, **nuts)),
        ("linear / VI ensemble", dict(lin, inference="ensemble", n_ensemble=3, n_steps=steps)),
        ("MLP 1×5 / VI", dict(mlp, n_steps=steps)),
        ("MLP 1×5 / VI ensemble", dict(mlp, inference="ensemble", n_ensemble=3,
                                       n_steps=steps)),
    ]


def main(argv=None):
    from scipy.stats import false_discovery_control

    from nfbst import BayesianMLP
    from nfbst.baselines import ols_t_test

    args = parse_args(NAME, argv, __doc__.splitlines()[0], _args)
    q = args.quick
    seeds = 2 if q else args.seeds
    n = 60 if q else args.n
    d = len(BETA)
    S = 20 if q else 100
    t0 = time.time()
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        X = rng.uniform(-1, 1, size=(n, d))
        y = X @ BETA + rng.standard_normal(n)
        evid = {"OLS t-test (reference)": np.asarray(ols_t_test(X, y).p_value)}
        for label, params in _models(q, args.steps):
            bnn = BayesianMLP(batch_size=None, random_state=seed, **params).fit(X, y)
            draws = bnn.sample_posterior(S)
            evid[label] = q_gs(instance_evidence(draws, X[:50], "grad"), 0.5)
        for label, ev in evid.items():
            bh = false_discovery_control(np.clip(ev, 0, 1), method="bh")
            for j in range(d):
                rows.append(dict(seed=seed, method=label, feature=j, beta=BETA[j],
                                 evidence=ev[j], reject=ev[j] < ALPHA,
                                 reject_bh=bh[j] < ALPHA))
    long = pd.DataFrame(rows)
    summary = _summary(long)
    notes = (f"{seeds} seeds × 5 null features = {5 * seeds} null tests per method; n = {n}; "
             f"S = {S} posterior draws; {150 if q else args.steps} VI steps per run; "
             f"α = {ALPHA}; global evidence = Q-GS (λ = 0.5) of the "
             "instance-wise Grad-nFBST evidence on 50 training points. Under an exact "
             "posterior the evidence of a linear coefficient is the two-sided Wald p-value "
             "(nfbst.md §1.8), so type-I error ≈ α is the calibrated answer. NUTS is run on the "
             "linear model only (one 1×5 MLP NUTS fit took over two minutes on this shared "
             "machine). FDR = share of BH rejections that are null, averaged over seeds. "
             f"Run time {time.time() - t0:.0f} s.")
    write_table(long, args.out, "calibration_long", floatfmt=".4g")
    write_table(summary, args.out, "calibration", title="Type-I error, power and FDR",
                notes=notes, floatfmt=".3f")
    _figure(long, args.out)
    write_command(args)
    return summary


def _summary(long):
    out = []
    for method, g in long.groupby("method", sort=False):
        null, rel = g[g.beta == 0], g[g.beta > 0]
        fdr = []
        for _, s in g.groupby("seed"):
            r = s[s.reject_bh]
            fdr.append((r.beta == 0).mean() if len(r) else 0.0)
        row = dict(method=method, type1=null.reject.mean(), type1_bh=null.reject_bh.mean(),
                   power=rel.reject.mean(), power_bh=rel.reject_bh.mean(), fdr_bh=np.mean(fdr),
                   null_evidence_mean=null.evidence.mean())
        for b in sorted(rel.beta.unique()):
            row[f"power β={b:g}"] = rel[rel.beta == b].reject.mean()
        out.append(row)
    return pd.DataFrame(out)


def _figure(long, out):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for method, g in long.groupby("method", sort=False):
        pw = g.groupby("beta").reject.mean()
        axes[0].plot(pw.index, pw.values, marker="o", ms=3, label=method)
        null = np.sort(g[g.beta == 0].evidence.values)
        axes[1].plot(null, np.arange(1, len(null) + 1) / len(null), label=method)
    axes[0].axhline(ALPHA, color="k", ls=":", lw=0.8)
    axes[0].set_xlabel("effect size β (noise sd 1)")
    axes[0].set_ylabel(f"rejection rate at α = {ALPHA}")
    axes[0].set_title("power (β > 0) and type-I error (β = 0)")
    axes[0].legend(fontsize=6)
    axes[1].plot([0, 1], [0, 1], color="k", ls=":", lw=0.8)
    axes[1].set_xlabel("evidence of a null feature")
    axes[1].set_ylabel("empirical CDF")
    axes[1].set_title("null evidence vs Uniform(0, 1)")
    fig.tight_layout()
    save_figure(fig, out, "calibration")


if __name__ == "__main__":
    main()
