"""nFBST calibration: type-I error and power of every posterior backend, rule and CRT.

Not in the paper (shared/papers/nfbst.md §3.4 reports no type-I error or power). Settings:
linear (y = 0.25 x0 + 0.15 x1 + 0.1 x2 + ε, d = 6) and nonlinear (y = 0.5 sin(1.5 x0) +
0.3 x1 x2 + 0.3 (x3² − 1) + ε, d = 7: a mostly monotone, an interaction and a non-monotone
effect) × independent and equicorrelated (ρ = 0.6) Gaussian inputs × n = 200 and 1000;
ε ~ N(0, 1); the last three features are null. Per seed and posterior backend a Bayesian MLP
(1×20 tanh) is fitted and every global rule is read as a test at α: the evidence of the
paper's Q-GS rule, of the aggregated and of the average statistic (gradient), the CRT with
the attribution rule, the CRT with the predictive loss on the training rows, and the CRT with
the loss on 30 % held-out rows (the library default). Reference: the oracle F-test in a basis
that contains the true function.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy import stats

import experiments._nfbst  # noqa: F401  (one thread per process)
from experiments._common import parse_args, save_figure, write_command, write_table

NAME = "nfbst_calibration"
NULLS = 3
KINDS = {
    "linear": ["linear 0.25", "linear 0.15", "linear 0.10"],
    "nonlinear": ["sin(1.5 x0)", "interaction x1x2", "interaction x1x2", "quadratic x3²"],
}
BACKENDS = ("vi", "ensemble", "laplace", "sgld", "anchored", "hmc")


def _args(parser):
    parser.add_argument("--seeds", type=int, default=45,
                        help="seeds of the first backend's held-out CRT (every setting)")
    parser.add_argument("--seeds-large-full", type=int, default=10,
                        help="seeds at n = 1000 with every method of the first backend")
    parser.add_argument("--seeds-backends", type=int, default=15,
                        help="seeds at n = 200 for the other backends")
    parser.add_argument("--seeds-per-backend", default="hmc=5",
                        help="overrides of --seeds-backends, e.g. hmc=5,laplace=10")
    parser.add_argument("--seeds-default", type=int, default=15,
                        help="seeds at n = 200 for NFBST() with every default")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated inference backends (unavailable ones skipped); "
                             "the first is run on every setting")
    parser.add_argument("--randomizations", type=int, default=100)
    parser.add_argument("--held-out-only", action="store_true",
                        help="run only the library default (CRT, loss, held-out rows) per "
                             "backend: a cheaper study of one more backend's validity")
    parser.add_argument("--sizes", default="small,large",
                        help="which sample sizes to run: small (n = 200), large (n = 1000)")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="joblib workers over the seeds (processes; -1: all cores)")


def make_data(kind: str, rho: float, n: int, rng: np.random.Generator):
    """(X, y, effect labels per feature) of one calibration setting."""
    d = len(KINDS[kind]) + NULLS
    cov = np.full((d, d), rho) + (1 - rho) * np.eye(d)
    X = rng.multivariate_normal(np.zeros(d), cov, size=n)
    if kind == "linear":
        f = 0.25 * X[:, 0] + 0.15 * X[:, 1] + 0.10 * X[:, 2]
    else:
        f = 0.5 * np.sin(1.5 * X[:, 0]) + 0.3 * X[:, 1] * X[:, 2] + 0.3 * (X[:, 3] ** 2 - 1)
    return X, f + rng.standard_normal(n), KINDS[kind] + ["null"] * NULLS


def oracle_pvalues(kind: str, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """F-test of "no term involving x_j" in a linear basis that contains the true function."""
    d = X.shape[1]
    cols = [(f"x{j}", {j}, X[:, j]) for j in range(d)]
    if kind == "nonlinear":
        cols += [("sin", {0}, np.sin(1.5 * X[:, 0])), ("x1x2", {1, 2}, X[:, 1] * X[:, 2]),
                 ("x3sq", {3}, X[:, 3] ** 2)]
    A = np.column_stack([np.ones(len(y))] + [c[2] for c in cols])

    def rss(M):
        beta = np.linalg.lstsq(M, y, rcond=None)[0]
        return float(np.sum((y - M @ beta) ** 2))

    full, df_full = rss(A), len(y) - A.shape[1]
    p = np.empty(d)
    for j in range(d):
        keep = [0] + [i + 1 for i, c in enumerate(cols) if j not in c[1]]
        q = A.shape[1] - len(keep)
        F = (rss(A[:, keep]) - full) / q / (full / df_full)
        p[j] = stats.f.sf(F, q, df_full)
    return p


def _model(backend: str, quick: bool, seed: int):
    from nfbst import BayesianMLP

    params = dict(hidden=(20,), activation="tanh", inference=backend, random_state=seed,
                  n_steps=150 if quick else 1000)
    if backend == "ensemble":
        params["n_ensemble"] = 3
    if backend == "anchored":  # one member per draw: as many members as draws (S = 100)
        params["n_ensemble"] = 20 if quick else 100
    if quick and backend in ("hmc", "nuts"):
        params.update(num_samples=20, warmup_steps=20)
    return BayesianMLP(**params)


def available_backends(names) -> list[str]:
    """The backends of ``names`` that this version of BayesianMLP knows."""
    out = []
    for name in names:
        try:
            _model(name, True, 0)._settings()
        except ValueError:
            continue
        out.append(name)
    return out


def run_seed(kind, rho, n, seed, backends, K, quick, S, full=True, library_default=False):
    """Methods on one data set: a list of result rows (one per method × feature).

    ``full=False`` runs only the library default (CRT, loss, held-out rows) per backend;
    ``library_default=True`` adds ``NFBST()`` with every default, network included.
    """
    import warnings

    from nfbst import NFBST

    rng = np.random.default_rng([int(rho * 10), n, seed, len(KINDS[kind])])
    X, y, effects = make_data(kind, rho, n, rng)
    rows = []

    def add(method, backend, p, seconds):
        for j, (e, pj) in enumerate(zip(effects, p)):
            rows.append(dict(setting=f"{kind}, ρ={rho:g}, n={n}", kind=kind, rho=rho, n=n,
                             seed=seed, method=method, backend=backend, feature=j, effect=e,
                             p=float(pj), seconds=seconds))

    add("oracle F-test", "-", oracle_pvalues(kind, X, y), 0.0)
    common = dict(n_posterior_samples=S, n_randomizations=K, random_state=seed)
    for backend in backends:
        t0 = time.perf_counter()
        held = NFBST(model=_model(backend, quick, seed), holdout=0.3, **common).fit(X, y)
        add("CRT, loss, 30% held-out rows", backend,
            held.test(calibration="crt").p_value, time.perf_counter() - t0)
        if backend == "vi":  # one network per feature: shown for the default backend
            t0 = time.perf_counter()
            dist = NFBST(model=_model(backend, quick, seed), holdout=None, calibration="dcrt",
                         **common).fit(X, y)
            add("distilled CRT, every row", backend, dist.test().p_value,
                time.perf_counter() - t0)
        if not full:
            continue
        t0 = time.perf_counter()
        test = NFBST(model=_model(backend, quick, seed), holdout=None, **common).fit(X, y)
        fit_s = time.perf_counter() - t0
        for rule in ("quantile", "aggregate", "mean"):
            add(f"evidence, rule={rule}", backend,
                test.test(X, y, rule=rule, calibration="none").evidence, fit_s)
        if n <= 200:  # K × n × S attributions: shown on the small settings only
            add("CRT, attribution rule=aggregate, training rows", backend,
                test.test(X, y, rule="aggregate", calibration="crt",
                          crt_statistic="rule").p_value, fit_s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the in-sample warning, on purpose
            add("CRT, loss, training rows", backend,
                test.test(X, y, calibration="crt").p_value, fit_s)
    if library_default:
        t0 = time.perf_counter()
        res = NFBST(random_state=seed).fit(X, y).test(X)
        add("NFBST() defaults", "default", res.decision_values, time.perf_counter() - t0)
    return rows


def summarize(long: pd.DataFrame) -> pd.DataFrame:
    """Per setting and method: type-I at 0.05/0.10 with MC sd, KS to uniform, power by effect."""
    out = []
    for (setting, method, backend), g in long.groupby(["setting", "method", "backend"],
                                                      sort=False):
        null = g[g.effect == "null"].p.to_numpy()
        t05, t10 = (null < 0.05).mean(), (null < 0.10).mean()
        row = dict(setting=setting, method=method, backend=backend, null_tests=len(null),
                   type1_05=t05, type1_05_mc_sd=np.sqrt(0.05 * 0.95 / len(null)),
                   type1_10=t10, ks_uniform=stats.kstest(null, "uniform").statistic,
                   seconds_per_fit=g.seconds.mean())
        for effect, ge in g[g.effect != "null"].groupby("effect", sort=False):
            row[f"power {effect}"] = (ge.p < 0.05).mean()
        out.append(row)
    return pd.DataFrame(out)


def run_jobs(jobs, K, quick, S, n_jobs=None) -> list:
    """:func:`run_seed` of every job, side by side on ``n_jobs`` joblib workers.

    Each data set and fit is seeded by its own job (``seed`` and the setting), so the rows
    are identical for any ``n_jobs`` or joblib backend (``joblib.parallel_config(backend=
    "dask")`` runs the study on a Dask cluster); a failed job stops the study with an error
    naming it.
    """
    from nfbst._parallel import parallel_map

    jobs = [job for job in jobs if job[4]]
    names = [f"{kind}, rho={rho:g}, n={n}, seed={s}, backends={','.join(bk)}"
             for kind, rho, n, s, bk, _, _ in jobs]
    return parallel_map(run_seed, [(kind, rho, n, s, bk, K, quick, S, full, lib)
                                   for kind, rho, n, s, bk, full, lib in jobs],
                        n_jobs=n_jobs, names=names, desc="calibration jobs")


def main(argv=None):
    args = parse_args(NAME, argv, __doc__.splitlines()[0], _args)
    q = args.quick
    backends = available_backends(["vi"] if q else args.backends.split(","))
    K = 19 if q else args.randomizations
    S = 20 if q else 100
    n_small, n_large = (60, 120) if q else (200, 1000)
    seeds_of = {b: args.seeds_backends for b in backends[1:]}
    for item in filter(None, args.seeds_per_backend.split(",")):
        name, _, count = item.partition("=")
        seeds_of[name.strip()] = int(count)
    jobs = []  # (kind, rho, n, seed, backends, full, library_default)
    for kind in KINDS:
        for rho in (0.0, 0.6):
            for s in range(2 if q else args.seeds):
                full = not args.held_out_only
                if "small" in args.sizes.split(","):
                    jobs.append((kind, rho, n_small, s, backends[:1], full,
                                 not q and s < args.seeds_default))
                others = [b for b in backends[1:] if s < (1 if q else seeds_of.get(b, 0))]
                if others and "small" in args.sizes.split(","):
                    jobs.append((kind, rho, n_small, s, others, full, False))
                if "large" in args.sizes.split(","):
                    jobs.append((kind, rho, n_large, s, backends[:1],
                                 full and s < args.seeds_large_full, False))
    t0 = time.time()
    parts = run_jobs(jobs, K, q, S, n_jobs=args.n_jobs)
    long = pd.DataFrame([r for part in parts for r in part])
    summary = summarize(long)
    valid = summary.pivot_table(index=["method", "backend"], columns="setting",
                                values="type1_05", sort=False)
    notes = (f"Bayesian MLP 1×20 tanh (VI: {150 if q else 1000} steps); S = {S} draws; "
             f"K = {K} randomizations (p-value resolution {1 / (K + 1):.3f}); statistic: "
             "input gradient; α = 0.05. Null tests per cell = seeds × 3 null features; the "
             "Monte Carlo sd of a type-I rate of 0.05 is in `type1_05_mc_sd`. CRT samplers "
             "use the Gaussian x_j | x_-j model fitted to all rows (exact for these data). "
             f"Backends: {', '.join(backends)} at n = {n_small}; {backends[0]} at "
             f"n = {n_large}. Seeds: see COMMAND (--seeds etc.). "
             f"Run time {time.time() - t0:.0f} s.")
    write_table(long, args.out, "calibration_long", floatfmt=".4g")
    write_table(summary, args.out, "calibration", title="Type-I error and power per setting",
                notes=notes, floatfmt=".3f")
    write_table(valid.reset_index(), args.out, "type1_by_setting",
                title="Type-I error at α = 0.05 (rows: method; columns: setting)",
                notes=notes, floatfmt=".3f")
    _qq_figure(long, args.out)
    write_command(args)
    return summary


def _qq_figure(long, out):
    """QQ plot of null p-values / evidence against Uniform(0, 1), one panel per setting."""
    import matplotlib.pyplot as plt

    settings = list(dict.fromkeys(long.setting))
    cols = min(4, len(settings))
    rows = -(-len(settings) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.3 * rows), squeeze=False)
    methods = list(dict.fromkeys(long.method))
    backends = list(dict.fromkeys(long.backend))
    colors = dict(zip(methods, plt.get_cmap("tab10").colors))
    styles = dict(zip(backends, ["-", "--", ":", "-.", (0, (5, 1)), (0, (1, 3)),
                                 (0, (3, 1, 1, 1))]))
    for ax, setting in zip(axes.flat, settings):
        g = long[(long.setting == setting) & (long.effect == "null")]
        for (method, backend), gm in g.groupby(["method", "backend"], sort=False):
            p = np.sort(gm.p.to_numpy())
            u = (np.arange(1, len(p) + 1) - 0.5) / len(p)
            ax.plot(u, p, lw=1.6 if "held-out" in method else 0.9, color=colors[method],
                    ls=styles[backend], label=f"{method} [{backend}]")
        ax.plot([0, 1], [0, 1], color="k", ls=":", lw=0.8)
        ax.set_title(setting, fontsize=8)
        ax.set_xlabel("Uniform quantile")
        ax.set_ylabel("null p-value / evidence")
    for ax in list(axes.flat)[len(settings):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=6)
    fig.tight_layout(rect=(0, 0.12 + 0.01 * len(labels) / 2, 1, 1))
    save_figure(fig, out, "calibration_qq")


if __name__ == "__main__":
    main()
