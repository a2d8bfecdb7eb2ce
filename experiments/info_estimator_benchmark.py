"""MI estimator `auto` on generated tasks (selection and held-out seeds) and on Czyz et al.'s tasks.

Three tables, n = 5,000 per task:

1. **selection seeds** -- random tasks of :mod:`infotheory.task_generator` drawn from
   ``SELECTION_SEEDS`` (the first ``--selection`` of them). The design of ``auto`` (its
   candidates, the kernel-CCA bias correction) was compared on these, and the constants of its
   interval and verdict (:data:`infotheory.reliability.AUTO_CALIBRATION`) are fitted on them
   here (:func:`calibrate`, ``calibration.md``).
2. **held-out seeds** -- random tasks from ``HELD_OUT_SEEDS`` (the first ``--held-out``),
   never used for a choice: the figures a user can expect (error, coverage of the interval,
   hit rate of the verdict).
3. **fixed tasks** -- the 40 tasks of "Beyond Normal" (:data:`infotheory.BENCHMARK_TASKS`),
   ``--fixed-seeds`` seeds each, kept apart as a third table.

Each run records what ``auto`` returned (estimate, interval, verdict, time on one thread) and
the value and standard error of every estimate behind it (``Estimate.details``), so
``--rerender`` rebuilds every table from ``runs.csv`` with the library's current constants.
Writes ``runs.csv``, ``selection.csv/.md``, ``held_out.csv/.md``, ``fixed.csv/.md``,
``summary.csv/.md``, ``calibration.csv/.md`` and ``designs.csv/.md`` (the nested designs of
``auto``, from the recorded terms).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from experiments._common import parse_args, write_command, write_table
from infotheory import BENCHMARK_TASKS, mutual_information
from infotheory.reliability import (
    AUTO_CALIBRATION,
    auto_interval,
    auto_verdict,
    generic_verdict,
)
from infotheory.task_generator import HELD_OUT_SEEDS, SELECTION_SEEDS, random_task
from probconstraints._progress import progress

NAME = "info_estimator_benchmark"
TARGET_MAE, TARGET_MAX = 0.05, 0.15
#: the estimates behind ``auto`` (columns of runs.csv, with ``<name>_se``)
CANDIDATES = ("copula_ksg", "gaussian_copula", "radial_copula_ksg", "kcca_copula_ksg")
QUICK_FIXED = ["1v1-normal-0.75", "multinormal-sparse-3-3-2-2.0"]
SPLITS = ("selection", "held-out", "fixed")
#: coverage the interval constants must reach on the selection seeds (margin for new tasks)
CALIBRATION_COVERAGE = 0.96


def _options(parser):
    parser.add_argument("--n", type=int, default=None, help="samples per task (default 5000)")
    parser.add_argument("--selection", type=int, default=None,
                        help="selection seeds (default 100; 4 with --quick)")
    parser.add_argument("--held-out", type=int, default=None,
                        help="held-out seeds (default 100; 4 with --quick)")
    parser.add_argument("--fixed-seeds", type=int, default=None,
                        help="seeds per fixed task (default 3; 1 with --quick)")
    parser.add_argument("--splits", default=",".join(SPLITS),
                        help="comma-separated subset of selection,held-out,fixed to run")
    parser.add_argument("--rerender", action="store_true",
                        help="rebuild the tables from the runs.csv in --out")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="worker processes over the runs (default 1)")
    parser.add_argument("--verbose", type=int, default=0)


def selection_seeds(count: int) -> list[int]:
    """The first ``count`` selection seeds (the only ones :func:`calibrate` accepts)."""
    return list(SELECTION_SEEDS[:count])


def held_out_seeds(count: int) -> list[int]:
    """The first ``count`` held-out seeds."""
    return list(HELD_OUT_SEEDS[:count])


def _plan(args):
    """List of (split, task key, sample seed)."""
    quick = args.quick
    n_sel = args.selection if args.selection is not None else (4 if quick else 100)
    n_held = args.held_out if args.held_out is not None else (4 if quick else 100)
    n_fixed = args.fixed_seeds if args.fixed_seeds is not None else (1 if quick else 3)
    splits = set(args.splits.split(","))
    plan = []
    if "selection" in splits:
        plan += [("selection", s, s) for s in selection_seeds(n_sel)]
    if "held-out" in splits:
        plan += [("held-out", s, s) for s in held_out_seeds(n_held)]
    if "fixed" in splits:
        tasks = QUICK_FIXED if quick else list(BENCHMARK_TASKS)
        plan += [("fixed", t, s) for t in tasks for s in range(n_fixed)]
    return plan


def _one(split, key, seed, n):
    task = BENCHMARK_TASKS[key] if split == "fixed" else random_task(int(key))
    X, Y = task.sample(n, random_state=seed)
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        est = mutual_information(X, Y, random_state=seed)
        seconds = time.perf_counter() - start
    lo, hi = est.ci if est.ci is not None else (np.nan, np.nan)
    row = dict(split=split, task=task.task_id, seed=seed, family=task.family,
               dim_x=task.dim_x, dim_y=task.dim_y, truth=task.mutual_information, n=n,
               estimate=float(est), error=float(est) - task.mutual_information, ci_low=lo,
               ci_high=hi, reliability=est.reliability, method=est.method, seconds=seconds,
               chosen=est.details.get("chosen", est.method))
    for name in CANDIDATES:
        row[name] = est.details.get(name, np.nan)
        row[f"{name}_se"] = est.details.get(f"{name}_se", np.nan)
    return row


def run(args) -> pd.DataFrame:
    n = args.n or (1000 if args.quick else 5000)
    plan = _plan(args)
    jobs = (delayed(_one)(split, key, seed, n)
            for split, key, seed in progress(plan, verbose=args.verbose, desc=NAME))
    return pd.DataFrame(Parallel(n_jobs=args.n_jobs or 1)(jobs))


# ----------------------------------------------------------------------------- calibration
def _details(row) -> dict:
    d = {"chosen": row["chosen"]}
    for name in CANDIDATES:
        if pd.notna(row.get(name, np.nan)):
            d[name] = float(row[name])
            d[f"{name}_se"] = float(row[f"{name}_se"])
    return d


def apply_calibration(runs: pd.DataFrame, params=None) -> pd.DataFrame:
    """Interval and verdict of every ``auto`` run (continuous, dx + dy <= 20) recomputed
    from its recorded details with ``params`` (default: the library's constants)."""
    out = runs.copy()
    lows, highs, verdicts = [], [], []
    for _, row in runs.iterrows():
        if pd.isna(row.get("copula_ksg", np.nan)):     # not the k-NN auto: analytic interval
            lows.append(row.ci_low)
            highs.append(row.ci_high)
            verdicts.append(generic_verdict(row.estimate, int(row.n),
                                            int(row.dim_x + row.dim_y), continuous=True))
            continue
        d = _details(row)
        dx, dy, n = int(row.dim_x), int(row.dim_y), int(row.n)
        lo, hi = auto_interval(row.estimate, d, dx, dy, n, params=params)
        lows.append(lo)
        highs.append(hi)
        verdicts.append(auto_verdict(row.estimate, d, dx, dy, n, params=params))
    out["ci_low"], out["ci_high"], out["reliability"] = lows, highs, verdicts
    out["covered"] = (out.ci_low <= out.truth) & (out.truth <= out.ci_high)
    out["flagged"] = out.reliability != "ok"
    return out


def _check_selection_only(rows: pd.DataFrame) -> None:
    seeds = set(rows.seed.astype(int))
    if (rows.split != "selection").any() or not seeds <= set(SELECTION_SEEDS):
        raise ValueError("calibrate takes the runs of selection seeds only; got splits "
                         f"{sorted(set(rows.split))} and seeds outside SELECTION_SEEDS: "
                         f"{sorted(seeds - set(SELECTION_SEEDS))[:5]}")


def calibrate(rows: pd.DataFrame) -> dict[str, float]:
    """Fit the interval and verdict constants of ``auto`` on runs of selection seeds.

    Interval: the smallest mean width with coverage >= CALIBRATION_COVERAGE over a grid of
    (LOW, NONGAUSS, PER_DIM), STAT_FACTOR and HIGH kept. Verdict: over a grid of (DISAGREE,
    NONGAUSS_LIMIT, NONGAUSS_MIN_DIM, MAX_DIM), the fewest false alarms (flagged with
    |error| <= 0.15) among the settings that flag >= 90 % of the tasks with |error| > 0.15.
    Refuses rows of any other split or seed (the held-out seeds are never used for a choice).
    """
    _check_selection_only(rows)
    rows = rows[rows.copula_ksg.notna()]
    base = dict(AUTO_CALIBRATION)
    best = None
    for low, ng, per_dim in itertools.product((0.01, 0.02, 0.03, 0.05, 0.08),
                                              (0.0, 0.25, 0.5, 0.75, 1.0, 1.25),
                                              (0.0, 0.005, 0.01, 0.02, 0.03)):
        p = dict(base, LOW=low, NONGAUSS=ng, PER_DIM=per_dim)
        r = apply_calibration(rows, p)
        cover, width = r.covered.mean(), (r.ci_high - r.ci_low).mean()
        if cover >= CALIBRATION_COVERAGE and (best is None or width < best[0]):
            best = (width, p)
    params = best[1] if best is not None else base
    bad = rows.error.abs() > TARGET_MAX
    best_v = None
    for dis, ngl, ngd, mdim in itertools.product((0.03, 0.05, 0.1, 0.2),
                                                 (0.1, 0.15, 0.2, 0.3, 0.5),
                                                 (2, 3, 4, 6), (8, 10, 12, 14, 21)):
        p = dict(params, DISAGREE=dis, NONGAUSS_LIMIT=ngl, NONGAUSS_MIN_DIM=ngd, MAX_DIM=mdim)
        flagged = apply_calibration(rows, p).flagged
        hit = flagged[bad].mean() if bad.any() else 1.0
        false = int((flagged & ~bad).sum())
        if hit >= 0.9 and (best_v is None or false < best_v[0]):
            best_v = (false, p)
    return best_v[1] if best_v is not None else params


# ----------------------------------------------------------------------------- tables
def _dim_group(row) -> str:
    return "dim <= 5" if max(row.dim_x, row.dim_y) <= 5 else "dim 6-10" \
        if max(row.dim_x, row.dim_y) <= 10 else "dim 25-50"


def per_task(runs: pd.DataFrame, split: str) -> pd.DataFrame:
    block = runs[runs.split == split]
    if not len(block):
        return pd.DataFrame()
    agg = block.groupby(["task", "dim_x", "dim_y", "truth"], sort=False).agg(
        estimate=("estimate", "mean"), error=("error", "mean"),
        worst_abs_error=("error", lambda e: float(np.max(np.abs(e)))),
        coverage=("covered", "mean"), flagged=("flagged", "mean"),
        seconds=("seconds", "mean"), chosen=("chosen", lambda c: c.mode().iloc[0]),
        reliability=("reliability", lambda r: r.iloc[0])).reset_index()
    return agg


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    runs = runs.assign(group=runs.apply(_dim_group, axis=1))
    for split in SPLITS:
        for group in ("dim <= 5", "dim 6-10", "dim 25-50", "all"):
            b = runs[runs.split == split]
            if group != "all":
                b = b[b.group == group]
            if not len(b):
                continue
            err = b.error.abs()
            bad = err > TARGET_MAX
            with_ci = b[b.ci_low.notna()]
            rows.append({
                "split": split, "tasks": b.task.nunique(), "runs": len(b), "dims": group,
                "MAE": err.mean(), "max |error|": err.max(),
                "runs off > 0.15": int(bad.sum()),
                "coverage of 95 % interval": with_ci.covered.mean() if len(with_ci) else np.nan,
                "mean interval width": (with_ci.ci_high - with_ci.ci_low).mean()
                if len(with_ci) else np.nan,
                "verdict hit rate (|error| > 0.15)": b.flagged[bad].mean() if bad.any()
                else np.nan,
                "false alarms (|error| <= 0.15)": b.flagged[~bad].mean(),
                "median seconds": b.seconds.median()})
    return pd.DataFrame(rows)


#: the nested designs of ``auto`` compared on the selection seeds: the terms of the largest
DESIGNS = {"auto: max of all four terms": CANDIDATES,
           "without the kernel-CCA term (the previous auto)": CANDIDATES[:3],
           "copula-KSG floored at the Gaussian copula": CANDIDATES[:2]}


def design_table(runs: pd.DataFrame) -> pd.DataFrame:
    """MAE and worst |error| of each nested design, from the recorded terms. The design was
    chosen on the selection rows (lowest MAE on dim <= 5, then dim 6-10); the held-out rows
    are shown for the record only."""
    runs = runs[runs.copula_ksg.notna() & runs.split.isin(["selection", "held-out"])]
    runs = runs.assign(group=runs.apply(_dim_group, axis=1))
    rows = []
    for split, group in itertools.product(("selection", "held-out"), ("dim <= 5", "dim 6-10")):
        block = runs[(runs.split == split) & (runs.group == group)]
        if not len(block):
            continue
        for label, terms in DESIGNS.items():
            err = (block[list(terms)].max(axis=1) - block.truth).abs()
            rows.append({"design": label, "split": split, "dims": group, "runs": len(block),
                         "MAE": err.mean(), "max |error|": err.max(),
                         "runs off > 0.15": int((err > TARGET_MAX).sum())})
    return pd.DataFrame(rows)


def _notes(runs: pd.DataFrame, fitted: dict | None) -> str:
    lines = []
    for split in ("selection", "held-out"):
        seeds = sorted(runs[runs.split == split].seed.astype(int))
        if seeds:
            lines.append(f"- {split} seeds: {len(seeds)} tasks, seeds {seeds[0]}..{seeds[-1]} "
                         f"({'SELECTION_SEEDS' if split == 'selection' else 'HELD_OUT_SEEDS'}"
                         " of infotheory.task_generator).")
    low = runs[(runs.split == "held-out") & (runs[["dim_x", "dim_y"]].max(axis=1) <= 5)]
    if len(low):
        mae, worst = low.error.abs().mean(), low.error.abs().max()
        lines.append(f"- Targets on held-out tasks of dim <= 5: MAE {mae:.3f} (target <= "
                     f"{TARGET_MAE}: {'met' if mae <= TARGET_MAE else 'NOT met'}), worst "
                     f"{worst:.3f} (target <= {TARGET_MAX}: "
                     f"{'met' if worst <= TARGET_MAX else 'NOT met'}).")
    held = runs[runs.split == "held-out"]
    if len(held):
        cov = held[held.ci_low.notna()].covered.mean()
        bad = held.error.abs() > TARGET_MAX
        hit = held.flagged[bad].mean() if bad.any() else float("nan")
        lines.append(f"- Held-out coverage of the 95 % interval: {cov:.1%} (target >= 90 %); "
                     f"verdict fires on {hit:.0%} of the {int(bad.sum())} held-out tasks off by "
                     f"more than 0.15 (target >= 80 %) and on "
                     f"{held.flagged[~bad].mean():.0%} of the others.")
    five = runs[(runs.dim_x == 5) & (runs.dim_y == 5) & (runs.n == 5000)]
    if len(five):
        lines.append(f"- Time of auto on 5 x 5, n = 5000, one thread, inside this run (shared "
                     f"machine, not a benchmark): median {five.seconds.median():.2f} s over "
                     f"{len(five)} runs. The decisive timing: `python "
                     f"benchmarks/bench_infotheory.py --auto-only --threads 1`.")
    if fitted is not None:
        diff = {k: (AUTO_CALIBRATION[k], v) for k, v in fitted.items()
                if AUTO_CALIBRATION.get(k) != v}
        lines.append("- Constants fitted on the selection seeds "
                     + ("equal the library's AUTO_CALIBRATION." if not diff else
                        f"differ from the library's (library, fitted): {diff}."))
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(NAME, argv, description=__doc__.splitlines()[0], add_arguments=_options)
    if args.rerender:
        runs = pd.read_csv(args.out / "runs.csv")
    else:
        runs = run(args)
        runs.to_csv(args.out / "runs.csv", index=False)
    runs = apply_calibration(runs)          # interval and verdict with the current constants
    runs.to_csv(args.out / "runs.csv", index=False)
    sel = runs[runs.split == "selection"]
    fitted = calibrate(sel) if len(sel) and sel.copula_ksg.notna().any() else None
    if fitted is not None:
        write_table(pd.DataFrame([{"constant": k, "library": AUTO_CALIBRATION[k],
                                   "fitted on selection seeds": v} for k, v in fitted.items()]),
                    args.out, "calibration", floatfmt=".3g",
                    title="Interval and verdict constants of auto, fitted on selection seeds")
    titles = {"selection": "Selection seeds (used to choose auto's design and constants)",
              "held-out": "Held-out seeds (never used for a choice)",
              "fixed": "Fixed tasks of Czyz et al. (Beyond Normal)"}
    for split, stem in zip(SPLITS, ("selection", "held_out", "fixed")):
        table = per_task(runs, split)
        if len(table):
            write_table(table, args.out, stem, floatfmt=".3f",
                        title=f"{titles[split]}: auto, n = {int(runs.n.iloc[0])}")
    designs = design_table(runs)
    if len(designs):
        write_table(designs, args.out, "designs", floatfmt=".3f",
                    title="Nested designs of auto (chosen on the selection seeds)")
    write_table(summary(runs), args.out, "summary", floatfmt=".3f",
                title="auto: error, interval coverage and verdict per split",
                notes=_notes(runs, fitted))
    if not args.rerender:
        write_command(args)
    if args.verbose:
        print((args.out / "summary.md").read_text())
    return runs


if __name__ == "__main__":
    main()
