"""nFBST beside its peers on Gaussian, real-X and knockpy designs: type-I, power, FDP, time.

Issue 22, item 5. Every design is semi-synthetic: X is either drawn from a Gaussian or is a
real table passed as a user would pass it (raw units, binary and discrete columns as they
are), and y is generated from a few chosen columns, so that every other column is a true
null (y is independent of it given the other columns). The generating functions are
:func:`make_design` and the ``_f_*`` functions below (also written out in
``results/nfbst_real_tables/README.md``). On the same seeds and data sets, every method
tests every column:

* nFBST: ``NFBST(random_state=seed, **variant).fit(X, y).test()``, decisions on the global
  CRT p-values; one row per entry of :data:`NFBST_VARIANTS` (an entry the installed NFBST
  refuses is skipped with a printed note);
* the OLS t-test (statsmodels, every column, per-coefficient p-values);
* hidimstat 0.4: CFI (an MLP, its default t-test), LOCO (same MLP) and the distilled CRT
  (D0CRT, lasso distillation), p-values as the library returns them;
* knockpy model-X knockoffs (Gaussian knockoffs, lasso statistic) at FDR 0.1: selections.

Reported per design and method: type-I error over the null columns at α = 0.05 (with its
Monte Carlo sd), power over the non-null columns, power and false-discovery proportion at
FDR 0.1 (Benjamini-Hochberg on the p-values; nFBST through ``correction="bh"`` on its
result) beside the knockoffs' selections, and the median wall time per fit.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings
import zlib
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import experiments._nfbst  # noqa: F401  (one thread per process: torch and BLAS)
from experiments._common import REPO_ROOT, parse_args, save_figure, write_command, write_table

NAME = "nfbst_real_tables"
ALPHA = 0.05
FDR = 0.1
UCI_DIR = REPO_ROOT.parent / "shared" / "data" / "uci"

#: keyword arguments of ``NFBST`` compared side by side (one result row each); ``{}`` is
#: the installed default (the distilled CRT with type-aware conditional models). A variant
#: the installed NFBST refuses, or that equals its default, is skipped with a note;
#: ``holdout=0.3, sampler="gaussian"`` is the default before issue 22.
NFBST_VARIANTS: list[dict[str, Any]] = [{}, {"sampler": "gaussian"}, {"holdout": 0.3},
                                       {"holdout": 0.3, "sampler": "gaussian"}]

METHODS = ("nfbst", "ols", "cfi", "loco", "d0crt", "knockoffs")
QUICK_DESIGNS = ("gauss_linear_corr", "diabetes")


# ------------------------------------------------------------------------------- designs
def _z(v: np.ndarray) -> np.ndarray:
    """The column standardised on the whole table (mean 0, sd 1)."""
    v = np.asarray(v, dtype=float)
    return (v - v.mean()) / v.std()


def _equicorrelated(d: int, rho: float, block: int | None = None) -> np.ndarray:
    """Correlation matrix: ``rho`` within blocks of ``block`` columns (all: one block)."""
    block = d if block is None else block
    g = np.arange(d) // block
    return np.where(g[:, None] == g[None, :], rho, 0.0) + (1 - rho) * np.eye(d)


@cache
def load_table(name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Real X of a design, read where it lives (scikit-learn, ``../shared/data/uci``).

    Diabetes is scikit-learn's raw table (``scaled=False``: age in years, sex coded 1/2);
    concrete and energy are the 8 input columns of the UCI files used by the nFBST paper.
    """
    from sklearn.datasets import load_breast_cancer, load_diabetes

    if name == "diabetes":
        b = load_diabetes(scaled=False)
        return np.asarray(b.data, float), tuple(b.feature_names)
    if name == "breast_cancer":
        b = load_breast_cancer()
        return np.asarray(b.data, float), tuple(str(c) for c in b.feature_names)
    if name in ("concrete", "energy"):
        folder = UCI_DIR / name
        if not (folder / "data.txt").is_file():
            raise FileNotFoundError(f"design {name!r} needs {folder}/data.txt (the UCI files "
                                    "of the nFBST paper); run the other designs with "
                                    "--designs")
        data = np.loadtxt(folder / "data.txt")
        features = np.loadtxt(folder / "index_features.txt", dtype=int)
        cols = {"concrete": ("cement", "slag", "fly_ash", "water", "superplasticizer",
                             "coarse_aggregate", "fine_aggregate", "age"),
                "energy": ("X1_compactness", "X2_surface_area", "X3_wall_area",
                           "X4_roof_area", "X5_height", "X6_orientation", "X7_glazing_area",
                           "X8_glazing_distribution")}[name]
        return data[:, features], cols
    raise ValueError(f"no real table named {name!r}")


def _f_diabetes(X: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Signal of ``diabetes`` (see :data:`DESIGNS`): linear, binary, non-monotone terms."""
    f = 0.15 * _z(X[:, 2]) + 0.25 * (X[:, 1] == 2) + 0.3 * np.sin(2 * _z(X[:, 8]))
    return f, [1, 2, 8]


def _f_concrete(X: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Signal of ``concrete``: linear, zero-inflated (a step at 0), skewed (log) terms."""
    f = 0.15 * _z(X[:, 0]) + 0.3 * (X[:, 1] > 0) + 0.1 * _z(np.log(X[:, 7]))
    return f, [0, 1, 7]


def _f_energy(X: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Signal of ``energy``: two discrete columns (one level of X6) and their interaction.

    X1-X5 are functions of the building shape (X1 and X2 each determine it, X2 = X3 + 2 X4
    exactly), so none of them can carry a testable effect; they are nulls here.
    """
    west = X[:, 5] == 5
    f = 0.06 * _z(X[:, 6]) + 0.25 * west + 0.1 * _z(X[:, 6]) * west
    return f, [5, 6]


def _f_breast_cancer(X: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Signal of ``breast_cancer``: linear, hinge and non-monotone terms."""
    f = (0.3 * _z(X[:, 1]) + 0.45 * np.maximum(_z(X[:, 4]), 0.0)
         + 0.4 * np.sin(2 * _z(X[:, 8])))
    return f, [1, 4, 8]


REAL = {"diabetes": _f_diabetes, "concrete": _f_concrete, "energy": _f_energy,
        "breast_cancer": _f_breast_cancer}

#: design name -> one line (the generating function; ε ~ N(0, σ²) added to f)
DESIGNS = {
    "gauss_linear_indep": "X ~ N(0, I_4), n = 200; y = 0.5 x0 + ε, σ = 2.0",
    "gauss_linear_corr": "X ~ N(0, Σ), Σ equicorrelated 0.7 over all 4 columns, n = 200; "
                         "y = 0.5 x0 + ε, σ = 1.25",
    "gauss_nonlinear": "X ~ N(0, Σ), Σ equicorrelated 0.5, d = 7, n = 500; y = 0.5 sin(1.5 x0)"
                       " + 0.3 x1 x2 + 0.3 (x3² − 1) + ε, σ = 1",
    "diabetes": "scikit-learn diabetes (442 × 10, raw units, sex coded 1/2); y = 0.15 z(bmi) "
                "+ 0.25 [sex = 2] + 0.3 sin(2 z(s5)) + ε, σ = 1",
    "concrete": "UCI concrete (1030 × 8); y = 0.15 z(cement) + 0.3 [slag > 0] "
                "+ 0.1 z(log age) + ε, σ = 1",
    "energy": "UCI energy (768 × 8); y = 0.06 z(X7) + 0.25 [X6 = 5] + 0.1 z(X7) [X6 = 5] + ε, "
              "σ = 1",
    "breast_cancer": "scikit-learn breast cancer (569 × 30); y = 0.3 z(mean texture) "
                     "+ 0.45 max(z(mean smoothness), 0) + 0.4 sin(2 z(mean symmetry)) + ε, "
                     "σ = 1",
    "knockpy_blockequi": "knockpy's block-equicorrelated Gaussian (blocks of 5, ρ = 0.5 within, "
                         "0 between), p = 50, n = 600; 5 non-nulls at random columns with "
                         "random signs, |β| = 0.15; y = X β + ε, σ = 1",
}


def make_design(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(X, y, non_null, column names)`` of one design and seed (see :data:`DESIGNS`).

    Each (design, seed) has its own generator, so the data do not depend on which other
    designs or seeds run. Real tables are fixed; only ε varies with the seed.
    """
    if name not in DESIGNS:
        raise ValueError(f"design must be one of {list(DESIGNS)}; got {name!r}")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    non_null: list[int]
    if name.startswith("gauss_linear"):
        rho, sigma = (0.7, 1.25) if name.endswith("corr") else (0.0, 2.0)
        X = rng.multivariate_normal(np.zeros(4), _equicorrelated(4, rho), size=200)
        f, non_null = 0.5 * X[:, 0], [0]
    elif name == "gauss_nonlinear":
        X, sigma = rng.multivariate_normal(np.zeros(7), _equicorrelated(7, 0.5), size=500), 1.0
        f = 0.5 * np.sin(1.5 * X[:, 0]) + 0.3 * X[:, 1] * X[:, 2] + 0.3 * (X[:, 3] ** 2 - 1)
        non_null = [0, 1, 2, 3]
    elif name == "knockpy_blockequi":
        p, sigma = 50, 1.0
        X = rng.multivariate_normal(np.zeros(p), _equicorrelated(p, 0.5, block=5), size=600)
        non_null = sorted(rng.choice(p, size=5, replace=False).tolist())
        beta = np.zeros(p)
        beta[non_null] = 0.15 * rng.choice([-1.0, 1.0], size=5)
        f = X @ beta
    else:
        X, _ = load_table(name)
        f, non_null = REAL[name](X)
        sigma = 1.0
    names = list(load_table(name)[1]) if name in REAL else [f"x{j}" for j in range(X.shape[1])]
    mask = np.zeros(X.shape[1], dtype=bool)
    mask[non_null] = True
    return X, f + sigma * rng.standard_normal(len(f)), mask, names


# ------------------------------------------------------------------------------- methods
def _mlp(seed: int, quick: bool) -> Any:
    """The peers' network: standardised inputs, one tanh layer of 20 (nFBST's default shape)."""
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), MLPRegressor(
        hidden_layer_sizes=(20,), activation="tanh", max_iter=200 if quick else 1000,
        random_state=seed))


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """70 % / 30 % rows (the peers that need held-out rows; nFBST's own default split)."""
    perm = np.random.default_rng([seed, 7]).permutation(n)
    cut = int(round(0.7 * n))
    return perm[:cut], perm[cut:]


def pvalues_ols(X: np.ndarray, y: np.ndarray, seed: int, quick: bool) -> np.ndarray:
    """Per-coefficient t-test p-values of OLS on every column (statsmodels)."""
    import statsmodels.api as sm  # type: ignore[import-untyped]

    return np.asarray(sm.OLS(y, sm.add_constant(X, has_constant="add")).fit().pvalues[1:])


def cfi_feature_types(X: np.ndarray) -> str:
    """``"auto"`` (hidimstat's default) unless a column of at most 10 levels has non-integer
    levels: its default logistic conditional model refuses those as classes ("Unknown label
    type: continuous", energy's glazing area 0.1/0.25/0.4), so every column is then
    modelled as continuous (RidgeCV)."""
    for col in np.asarray(X, float).T:
        levels = np.unique(col)
        if len(levels) <= 10 and not np.array_equal(levels, np.round(levels)):
            return "continuous"
    return "auto"


def pvalues_cfi(X: np.ndarray, y: np.ndarray, seed: int, quick: bool) -> np.ndarray:
    """hidimstat CFI: an MLP fitted on 70 % of the rows, importance and t-test on 30 %."""
    from hidimstat import CFI  # type: ignore[import-untyped]

    tr, te = _split(len(y), seed)
    model = _mlp(seed, quick).fit(X[tr], y[tr])
    cfi = CFI(estimator=model, feature_types=cfi_feature_types(X),
              random_state=seed).fit(X[tr], y[tr])
    cfi.importance(X[te], y[te])
    return np.asarray(cfi.pvalues_, float)


def pvalues_loco(X: np.ndarray, y: np.ndarray, seed: int, quick: bool) -> np.ndarray:
    """hidimstat LOCO: the MLP refitted without each column on 70 %, its test on 30 %."""
    from hidimstat import LOCO

    tr, te = _split(len(y), seed)
    model = _mlp(seed, quick).fit(X[tr], y[tr])
    loco = LOCO(estimator=model).fit(X[tr], y[tr])
    loco.importance(X[te], y[te])
    return np.asarray(loco.pvalues_, float)


def pvalues_d0crt(X: np.ndarray, y: np.ndarray, seed: int, quick: bool) -> np.ndarray:
    """hidimstat distilled CRT (lasso x- and y-distillation), every column kept (no screening)."""
    from hidimstat import D0CRT
    from sklearn.linear_model import LassoCV

    test = D0CRT(estimator=LassoCV(max_iter=10_000), screening_threshold=None,
                 random_state=seed)
    test.fit_importance(X, y)
    return np.asarray(test.pvalues_, float)


def select_knockoffs(X: np.ndarray, y: np.ndarray, seed: int, quick: bool) -> np.ndarray:
    """knockpy model-X knockoffs at FDR 0.1: Gaussian knockoffs (covariance estimated, as a
    user without Σ would), lasso statistic; 1.0 = selected.

    knockpy draws from numpy's global generator only: it is seeded here and restored after.
    """
    from knockpy.knockoff_filter import KnockoffFilter  # type: ignore[import-untyped]

    state = np.random.get_state()  # noqa: NPY002  (knockpy's only generator)
    np.random.seed(seed)  # noqa: NPY002
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sel = KnockoffFilter(ksampler="gaussian", fstat="lasso").forward(X=X, y=y, fdr=FDR)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return np.asarray(sel, float)


PEERS: dict[str, Callable[..., np.ndarray]] = {
    "ols": pvalues_ols, "cfi": pvalues_cfi, "loco": pvalues_loco, "d0crt": pvalues_d0crt,
    "knockoffs": select_knockoffs}
PEER_LABELS = {"ols": "OLS t-test (statsmodels)", "cfi": "CFI, MLP, t-test (hidimstat)",
               "loco": "LOCO, MLP, t-test (hidimstat)", "d0crt": "D0CRT, lasso (hidimstat)",
               "knockoffs": "model-X knockoffs, lasso (knockpy)"}


def variant_label(variant: dict[str, Any]) -> str:
    """``nFBST()`` or ``nFBST(sampler='auto')``."""
    return "nFBST(" + ", ".join(f"{k}={v!r}" for k, v in variant.items()) + ")"


def _nfbst(variant: dict[str, Any], seed: int, quick: bool) -> Any:
    """The (unfitted) NFBST of a variant; quick: a small network, few draws and K = 19."""
    from nfbst import NFBST, BayesianMLP

    params: dict[str, Any] = dict(random_state=seed)
    if quick:
        params.update(model=BayesianMLP(hidden=(20,), activation="tanh", n_steps=150),
                      n_posterior_samples=20, n_randomizations=19)
    return NFBST(**params, **variant)


def nfbst_results(variant: dict[str, Any], X: np.ndarray, y: np.ndarray, seed: int,
                  quick: bool) -> tuple[np.ndarray, np.ndarray]:
    """Global CRT p-values and Benjamini-Hochberg selections at FDR 0.1 of one variant."""
    res = _nfbst(variant, seed, quick).fit(X, y).test()
    bh = dataclasses.replace(res, correction="bh").significant(FDR)
    return np.asarray(res.p_value, float), np.asarray(bh, float)


def supported_variants(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The variants the installed NFBST accepts (construction and fit on a tiny problem);
    a refused one is printed with NFBST's message and skipped."""
    from nfbst import NFBST, BayesianMLP

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    out = []
    for variant in variants:
        if variant and all(NFBST().get_params().get(k, object()) == v
                           for k, v in variant.items()):
            print(f"note: {variant_label(variant)} skipped: it is this NFBST's default")
            continue
        try:
            NFBST(model=BayesianMLP(hidden=(4,), n_steps=5), n_posterior_samples=4,
                  random_state=0, **variant).fit(X, y)
        except (TypeError, ValueError) as err:
            print(f"note: {variant_label(variant)} skipped: this NFBST refuses it ({err})")
            continue
        out.append(variant)
    return out


def bh_select(p: np.ndarray, q: float = FDR) -> np.ndarray:
    """Benjamini-Hochberg selections at level ``q`` (NaN p-values are never selected)."""
    from statsmodels.stats.multitest import multipletests  # type: ignore[import-untyped]

    sel = np.zeros(len(p), dtype=float)
    ok = np.isfinite(p)
    if ok.any():
        sel[ok] = multipletests(p[ok], alpha=q, method="fdr_bh")[0]
    return sel


def run_seed(design: str, seed: int, methods: list[str], variants: list[dict[str, Any]],
             quick: bool) -> list[dict[str, Any]]:
    """Every method on one data set: rows (design, seed, method, feature, p, bh, ...)."""
    X, y, non_null, names = make_design(design, seed)
    rows: list[dict[str, Any]] = []

    def add(method: str, p: np.ndarray, bh: np.ndarray, seconds: float) -> None:
        for j in range(X.shape[1]):
            rows.append(dict(design=design, seed=seed, method=method, feature=names[j],
                             non_null=bool(non_null[j]), p=float(p[j]), bh=bool(bh[j]),
                             seconds=seconds))

    for method in methods:
        if method == "nfbst":
            for variant in variants:
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # e.g. quick mode's few-draws evidence
                    p, bh = nfbst_results(variant, X, y, seed, quick)
                add(variant_label(variant), p, bh, time.perf_counter() - t0)
            continue
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLP convergence, lasso tolerance: on purpose
            value = PEERS[method](X, y, seed, quick)
        seconds = time.perf_counter() - t0
        label = PEER_LABELS[method]
        if method == "cfi" and cfi_feature_types(X) != "auto":
            label += " [feature_types='continuous']"
        if method == "knockoffs":
            add(label, np.full(len(value), np.nan), value > 0, seconds)
        else:
            add(label, value, bh_select(value), seconds)
    return rows


# ------------------------------------------------------------------------------- summary
def summarize(long: pd.DataFrame) -> pd.DataFrame:
    """Per design and method: type-I and power at α = 0.05, power and FDP at FDR 0.1, time.

    ``type1_mc_sd`` is the Monte Carlo sd of a type-I rate of exactly α over that many null
    tests; ``fdp`` is the mean over seeds of false / max(1, selected) (an estimate of the
    FDR). ``worst_null`` is the null column rejected most often at α and ``type1_worst`` its
    rate (over the seeds only: Monte Carlo sd √(α(1 − α)/seeds)). Knockoffs give
    selections, not p-values: their per-feature columns are empty.
    """
    out = []
    for (design, method), g in long.groupby(["design", "method"], sort=False):
        null, alt = g[~g.non_null], g[g.non_null]
        tested = null.p.notna().any()
        by_column = (null.p < ALPHA).groupby(null.feature, sort=False).mean()
        per_seed = g.groupby("seed")
        fdp = per_seed.apply(lambda s: (s.bh & ~s.non_null).sum() / max(1, s.bh.sum()))
        power_bh = per_seed.apply(lambda s: (s.bh & s.non_null).sum() / s.non_null.sum())
        out.append(dict(
            design=design, method=method, seeds=g.seed.nunique(), null_tests=len(null),
            type1_05=(null.p < ALPHA).mean() if tested else np.nan,
            type1_mc_sd=np.sqrt(ALPHA * (1 - ALPHA) / len(null)) if tested else np.nan,
            worst_null=by_column.idxmax() if tested else "",
            type1_worst=by_column.max() if tested else np.nan,
            power_05=(alt.p < ALPHA).mean() if tested else np.nan,
            power_fdr10=power_bh.mean(), fdp_fdr10=fdp.mean(),
            seconds_median=per_seed.seconds.first().median()))
    return pd.DataFrame(out)


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=45, help="seeds per design")
    parser.add_argument("--designs", default=",".join(DESIGNS),
                        help=f"comma-separated designs among {', '.join(DESIGNS)}")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated method families among {', '.join(METHODS)} "
                             "(nfbst runs every entry of NFBST_VARIANTS)")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="joblib workers over the seeds (processes; -1: all cores)")


def _choices(text: str, allowed: Iterable[str], what: str) -> list[str]:
    allowed = list(allowed)
    items = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in allowed]
    if bad or not items:
        raise SystemExit(f"--{what} must be a comma-separated list of {', '.join(allowed)}; "
                         f"got {text!r}")
    return items


def main(argv: list[str] | None = None) -> pd.DataFrame:
    from nfbst._parallel import parallel_map

    args = parse_args(NAME, argv, __doc__.splitlines()[0], _args)
    q = args.quick
    designs = list(QUICK_DESIGNS) if q else _choices(args.designs, DESIGNS, "designs")
    methods = _choices(args.methods, METHODS, "methods")
    seeds = 2 if q else args.seeds
    variants = supported_variants(NFBST_VARIANTS) if "nfbst" in methods else []
    jobs = [(d, s, methods, variants, q) for d in designs for s in range(seeds)]
    t0 = time.time()
    parts = parallel_map(run_seed, jobs, n_jobs=args.n_jobs,
                         names=[f"{d}, seed={s}" for d, s, *_ in jobs], desc="real-table jobs")
    long = pd.DataFrame([r for part in parts for r in part])
    summary = summarize(long)
    skipped = [variant_label(v) for v in NFBST_VARIANTS if v not in variants]
    notes = (f"α = {ALPHA} per feature; FDR level {FDR} (Benjamini-Hochberg on p-values, "
             "knockoff+ for knockpy). type1_mc_sd: Monte Carlo sd of a rate of exactly α over "
             f"`null_tests`. Seeds per design: {seeds}. nFBST "
             + ("quick: 1×20 tanh VI, 150 steps, S = 20, K = 19" if q else "library defaults")
             + (f"; skipped (refused by this NFBST): {', '.join(skipped)}" if skipped else "")
             + f". Designs: see README.md. Run time {time.time() - t0:.0f} s.")
    write_table(long, args.out, "real_tables_long", floatfmt=".4g")
    write_table(summary, args.out, "real_tables",
                title="Type-I error, power, FDP at FDR 0.1 and time, per design and method",
                notes=notes, floatfmt=".3f")
    for value, what in (("type1_05", "Type-I error at α = 0.05"),
                        ("power_05", "Power at α = 0.05")):
        wide = summary.pivot_table(index="method", columns="design", values=value, sort=False)
        write_table(wide.reset_index(), args.out, f"{value.split('_')[0]}_by_design",
                    title=f"{what} (rows: method; columns: design)", notes=notes,
                    floatfmt=".3f")
    _figure(summary, args.out)
    write_command(args)
    return summary


def _figure(summary: pd.DataFrame, out: Path) -> None:
    """Type-I (±2 MC sd) against power at α = 0.05, one panel per design."""
    import matplotlib.pyplot as plt

    designs = list(dict.fromkeys(summary.design))
    methods = list(dict.fromkeys(summary.method))
    cmap = plt.get_cmap("tab10")
    colors = {m: cmap(i % 10) for i, m in enumerate(methods)}
    cols = min(4, len(designs))
    rows = -(-len(designs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.2 * rows), squeeze=False)
    for ax, design in zip(axes.flat, designs):
        g = summary[(summary.design == design) & summary.type1_05.notna()]
        for r in g.itertuples():
            ax.errorbar(r.type1_05, r.power_05, xerr=2 * r.type1_mc_sd, fmt="o",
                        color=colors[r.method], label=r.method, ms=5)
        ax.axvline(ALPHA, color="k", ls=":", lw=0.8)
        ax.axvline(ALPHA + 0.02, color="r", ls=":", lw=0.8)
        ax.set_xlim(-0.01, max(0.3, float(g.type1_05.max()) + 0.05) if len(g) else 0.3)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(design, fontsize=9)
        ax.set_xlabel("type-I at α = 0.05")
        ax.set_ylabel("power at α = 0.05")
    for ax in list(axes.flat)[len(designs):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * len(labels) / 2, 1, 1))
    save_figure(fig, out, "real_tables")


if __name__ == "__main__":
    main()
