"""Command line: ``nfbst test [data.csv --target y]`` prints the evidence table and writes a PNG.

Without a CSV it runs on the nFBST paper's toy example (y = 8 + x0² + x1·x2 + cos x3 +
exp(x4·x5) + 0.1·x6 + 0·x7 + ε), generated from its formula.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nfbst", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("test", help="test the significance of every input feature")
    t.add_argument("data", nargs="?", help="CSV file with a header row (default: toy example)")
    t.add_argument("--target", help="name of the target column of the CSV")
    t.add_argument("--task", choices=("regression", "classification"), default="regression")
    t.add_argument("--statistic", default="grad", help="grad, deeplift, lrp, lime, ...")
    t.add_argument("--scope", choices=("global", "instance"), default="global")
    t.add_argument("--rule", choices=("quantile", "aggregate"), default="quantile")
    t.add_argument("--alpha", type=float, default=0.05)
    t.add_argument("--correction", choices=("none", "bh"), default="none")
    t.add_argument("--samples", type=int, default=300, help="posterior draws S")
    t.add_argument("--hidden", default="20,20,20", help="hidden widths, comma separated")
    t.add_argument("--inference", choices=("vi", "nuts", "ensemble"), default="vi")
    t.add_argument("--steps", type=int, default=3000, help="VI optimisation steps")
    t.add_argument("--n-toy", type=int, default=5000, help="rows of the toy example")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default="nfbst_out", help="folder for the CSV and the PNG")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _load(args):
    if args.data is None:
        from .datasets import make_toy

        X, y = make_toy(args.n_toy, random_state=args.seed)
        names = [f"x{j}" for j in range(X.shape[1])]
        print(f"No data given: the nFBST paper's toy example, n={len(X)} (x7 is null).")
        return X, y, names, "toy"
    import pandas as pd

    if not os.path.exists(args.data):
        raise SystemExit(f"nfbst: data file not found: {args.data}")
    df = pd.read_csv(args.data)
    if not args.target:
        raise SystemExit(f"nfbst: --target is required; columns are {list(df.columns)}")
    if args.target not in df.columns:
        raise SystemExit(f"nfbst: target {args.target!r} not among columns {list(df.columns)}")
    y = df.pop(args.target).to_numpy()
    non_numeric = [c for c in df.columns if not np.issubdtype(df[c].dtype, np.number)]
    if non_numeric:
        raise SystemExit(f"nfbst: non-numeric feature columns {non_numeric}; encode them first")
    return df.to_numpy(dtype=float), y, [str(c) for c in df.columns], os.path.basename(args.data)


def main(argv=None) -> int:
    """Entry point of the ``nfbst`` command."""
    args = _parser().parse_args(argv)
    from . import NFBST, BayesianMLP

    X, y, names, label = _load(args)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
    verbose = 0 if args.quiet else 1
    model = BayesianMLP(hidden=hidden, task=args.task, inference=args.inference,
                        n_steps=args.steps, random_state=args.seed, verbose=verbose)
    test = NFBST(statistic=args.statistic, model=model, n_posterior_samples=args.samples,
                 rule=args.rule, alpha=args.alpha,
                 correction=None if args.correction == "none" else "bh",
                 random_state=args.seed, verbose=verbose)
    import pandas as pd

    t0 = time.perf_counter()
    test.fit(pd.DataFrame(X, columns=names), y)
    res = test.test(X, scope=args.scope)
    elapsed = time.perf_counter() - t0
    frame = res.to_frame()
    with pd.option_context("display.max_rows", 200, "display.width", 120):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(res.summary())
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"nfbst_{os.path.splitext(label)[0]}_{args.scope}")
    frame.to_csv(stem + ".csv", index=False)
    ax = res.plot()
    ax.figure.tight_layout()
    ax.figure.savefig(stem + ".png", dpi=120)
    print(f"wrote {stem}.csv and {stem}.png ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
