"""nFBST Table 2: global precision / recall / F1 on Datasets 1-3, nFBST variants and baselines.

Datasets 1-3 (shared/papers/nfbst.md §3.1): y = f0(X) + 0.1·ε with f0 a random ReLU MLP whose
last 50 of 100 inputs are null. Each BNN (3×20, pooled VI ensemble) is fitted on a training
split; global evidence (Q-GS, λ = 0.5) is computed on training points (as the paper did) and on
held-out points, and turned into decisions at two cutoffs (0.05, and 0.5, which the paper's
Table 1 values suggest; the paper states none). Baselines decide at α = 0.05.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from experiments._common import parse_args, save_figure, write_command, write_table
from experiments._nfbst import (
    STATISTICS,
    bayesian_mlp,
    default_test_pvalues,
    instance_evidence,
    precision_recall_f1,
    q_gs,
)

NAME = "nfbst_global_simulations"

# Table 2 of the paper: (dataset, method) -> (precision, recall, F1)
PAPER = {
    (1, "Bootstrap (paper z)"): (0.54, 0.98, 0.70), (1, "LR test (paper)"): (0.91, 0.80, 0.85),
    (1, "t-test (paper)"): (0.96, 0.86, 0.91),
    (2, "Bootstrap (paper z)"): (0.55, 0.98, 0.71), (2, "LR test (paper)"): (0.94, 0.66, 0.78),
    (2, "t-test (paper)"): (0.91, 0.86, 0.89),
    (3, "Bootstrap (paper z)"): (0.51, 1.0, 0.68), (3, "LR test (paper)"): (0.87, 0.54, 0.67),
    (3, "t-test (paper)"): (0.90, 0.54, 0.68),
}
for _d in (1, 2):
    for _s in STATISTICS:
        PAPER[(_d, f"{_s}-nFBST")] = (1.0, 1.0, 1.0)
for _s, _v in zip(STATISTICS, [(0.82, 0.84, 0.83), (0.80, 0.90, 0.85), (0.83, 0.86, 0.84),
                               (0.85, 0.80, 0.82)]):
    PAPER[(3, f"{_s}-nFBST")] = _v


def _args(parser):
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--n-samples", type=int, default=2_000,
                        help="points generated for Datasets 1 and 2 (paper: 10,000)")
    parser.add_argument("--steps", type=int, default=1_000, help="VI steps per ensemble run")


def main(argv=None):
    from sklearn.model_selection import train_test_split

    from nfbst.datasets import make_simulation

    args = parse_args(NAME, argv, __doc__.splitlines()[0], _args)
    q = args.quick
    rows, t0 = [], time.time()
    for ds in args.datasets:
        n_full = {1: 10_000, 2: 10_000, 3: 1_000}[ds]
        n = min(n_full, 600) if q else (args.n_samples if ds < 3 else n_full)
        S = 30 if q else 100
        n_eval = 60 if q else 300
        sim = make_simulation(ds, n_samples=n, random_state=args.seed + ds)
        Xtr, Xte, ytr, yte = train_test_split(sim.X, sim.y, test_size=0.2,
                                              random_state=args.seed)
        bnn = bayesian_mlp(q, args.seed, n_steps=None if q else args.steps).fit(Xtr, ytr)
        mse = float(np.mean((bnn.predict(Xte) - yte) ** 2))
        draws = bnn.sample_posterior(S)
        for label, stat in STATISTICS.items():
            for where, Xe in (("train", Xtr[:n_eval]), ("test", Xte[:n_eval])):
                ev = q_gs(instance_evidence(draws, Xe, stat, quick=q), 0.5)
                for cut in (0.05, 0.5):
                    rows.append(dict(dataset=ds, method=f"{label}-nFBST", evaluated_on=where,
                                     cutoff=cut, **precision_recall_f1(ev < cut, sim.relevant)))
        p = default_test_pvalues(Xtr, ytr, q, args.seed, n_steps=None if q else args.steps)
        rows.append(dict(dataset=ds, method="nFBST default (CRT, held-out)",
                         evaluated_on="held-out 30% of train", cutoff=0.05,
                         **precision_recall_f1(p < 0.05, sim.relevant)))
        for method, p in _baselines(Xtr, ytr, 50 if q else 500, args.seed).items():
            rows.append(dict(dataset=ds, method=method, evaluated_on="train", cutoff=0.05,
                             **precision_recall_f1(p < 0.05, sim.relevant)))
        rows.append(dict(dataset=ds, method="(BNN test MSE)", evaluated_on="test",
                         cutoff=np.nan, precision=mse, recall=np.nan, f1=np.nan))
    df = pd.DataFrame(rows)
    paper = [PAPER.get((r.dataset, r.method)) for r in df.itertuples()]
    df["paper_precision"] = [p[0] if p else np.nan for p in paper]
    df["paper_recall"] = [p[1] if p else np.nan for p in paper]
    df["paper_f1"] = [p[2] if p else np.nan for p in paper]
    notes = (
        f"Datasets generated from their formulas (seed {args.seed}); n = "
        f"{'600' if q else f'{args.n_samples:,} (Datasets 1, 2; paper 10,000)'}"
        " and 1,000 (Dataset 3), "
        "80/20 train/test split. BNN: 3×20 ReLU, 3-run VI ensemble "
        f"({100 if q else args.steps} Adam steps each, batch 512; the paper trains up to "
        "20,000 epochs), "
        f"S = {30 if q else 100} draws (paper 300); global evidence = median of instance-wise "
        f"evidence over {60 if q else 300} training or test points. nFBST decides "
        "'significant' when Q-GS < cutoff. Baselines on the training split at α = 0.05 "
        f"(bootstrap B = {50 if q else 500}). Row '(BNN test MSE)' holds the held-out MSE in "
        "the precision column (paper's appendix: 0.012 / 0.014 / 0.010). The paper's nFBST "
        "rows were evaluated on training points with an unstated cutoff. 'nFBST default': "
        "the library's default test (the same BNN fitted on 70 % of the training split, "
        "conditional randomization p-values, K = 100, on the other 30 %) at α = 0.05. "
        f"Run time {time.time() - t0:.0f} s."
    )
    write_table(df, args.out, "table2", title="Table 2: global precision / recall / F1",
                notes=notes, floatfmt=".2f")
    _figure(df, args.out)
    write_command(args)
    return df


def _baselines(X, y, B, seed):
    """p-values of the paper's baselines (as it ran them) and of the corrected ones."""
    from nfbst import baselines as bl

    return {
        "Bootstrap (paper z)": bl.paper_bootstrap_z_test(
            X, y, n_bootstraps=B, n_samples_per_bootstrap=min(1000, len(X)),
            random_state=seed).p_value,
        "LR test (paper)": bl.paper_likelihood_ratio_test(X, y).p_value,
        "t-test (paper)": bl.paper_t_test(X, y).p_value,
        "OLS t-test": bl.ols_t_test(X, y).p_value,
        "LR test (intercept)": bl.likelihood_ratio_test(X, y).p_value,
        "Bootstrap percentile": bl.bootstrap_test(X, y, n_bootstraps=B,
                                                  random_state=seed).p_value,
    }


def _figure(df, out):
    import matplotlib.pyplot as plt

    sub = df[(df.evaluated_on == "train") & ((df.cutoff == 0.05) | df.cutoff.isna())
             & (df.method != "(BNN test MSE)")]
    datasets = sorted(sub.dataset.unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 4), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        s = sub[sub.dataset == ds]
        y = np.arange(len(s))
        ax.barh(y - 0.2, s.f1, height=0.4, label="ours")
        ax.barh(y + 0.2, s.paper_f1, height=0.4, label="paper")
        ax.set_yticks(y, s.method, fontsize=7)
        ax.set_xlim(0, 1.05)
        ax.set_title(f"Dataset {ds}: F1 (train points, α/cutoff 0.05)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out, "table2_f1")


if __name__ == "__main__":
    main()
