"""Type-I error of the held-out CRT with each conditional sampler, on real X (semi-synthetic y).

The statistic is fixed and cheap so that many seeds are affordable: a scikit-learn
histogram gradient-boosting regressor (``--model mlp``: a one-hidden-layer MLP of 32 units,
which extrapolates off the data's support as nFBST's network does) fitted on 70 % of the
rows; T = −mean squared error on the other 30 %; each null column of those rows is redrawn
K = 100 times from its conditional model (fitted on all rows' X, as ``NFBST`` fits it on the
rows given to fit), and p = (1 + #{T_null >= T_obs}) / (K + 1) — the held-out CRT nFBST
runs, with a cheaper model.

X is the real table as a user passes it; y is a nonlinear function of 2–3 chosen columns plus
noise, so every other column is a true null. Data sets: diabetes (``load_diabetes``, scaled;
"sex" is binary), concrete and energy (UCI, ``../shared/data/uci``; concrete has zero-inflated
columns, energy a discrete design), breast cancer (first 10 columns).

Split: the ``"auto"`` rule is chosen on diabetes + concrete, seeds 0–24 (``tune``); it is
reported on diabetes + concrete seeds 1000–1044 and on energy + breast cancer seeds
1000–1044 (``held-out``). The per-column models are computed once per (data set, seed,
column); a configuration picks one of them per column.

Run::

    OMP_NUM_THREADS=1 PYTHONPATH=. flock /tmp/heavy.lock \
        .venv/bin/python benchmarks/crt_samplers_study.py [--model mlp]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nfbst import conditionals
from nfbst.conditionals import TypedConditional, infer_kinds

UCI = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "uci"
ALPHA, K = 0.05, 100
THRESHOLDS = (0.05, 0.10, 0.20, 0.30)
#: the rule chosen on the tuning split (base model : hurdle threshold), as nfbst.conditionals
#: (its fallback to "gaussian" for few rows per quadratic term never applies to these tables)
AUTO = f"quadratic:{conditionals.HURDLE_MIN_FRACTION}"


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def load(name: str) -> tuple[np.ndarray, list[int], object]:
    """X, the signal columns and the function f(X) of them."""
    if name == "diabetes":
        X = load_diabetes().data  # bmi 2, bp 3, s5 8

        def f(X: np.ndarray) -> np.ndarray:
            return np.sin(1.5 * _z(X[:, 2])) + 0.5 * _z(X[:, 8]) ** 2 + _z(X[:, 3]) * _z(X[:, 8])
        return X, [2, 3, 8], f
    if name == "concrete":
        X = np.loadtxt(UCI / "concrete" / "data.txt")[:, :8]  # cement 0, water 3, fine agg. 6

        def f(X: np.ndarray) -> np.ndarray:  # age (7, integer days) stays a null
            return _z(X[:, 0]) + np.sin(_z(X[:, 3])) + 0.5 * _z(X[:, 6]) ** 2
        return X, [0, 3, 6], f
    if name == "energy":
        X = np.loadtxt(UCI / "energy" / "data.txt")[:, :8]  # compactness 0, glazing area 6

        def f(X: np.ndarray) -> np.ndarray:
            return _z(X[:, 0]) ** 2 + np.sin(2 * _z(X[:, 6]))
        return X, [0, 6], f
    if name == "breast_cancer":
        X = load_breast_cancer().data[:, :10]  # radius 0, concavity 6, symmetry 8

        def f(X: np.ndarray) -> np.ndarray:
            return np.tanh(_z(X[:, 0])) + 0.5 * _z(X[:, 6]) ** 2 + np.sin(_z(X[:, 8]))
        return X, [0, 6, 8], f
    raise ValueError(name)


def column_models(X: np.ndarray) -> tuple[list[str], dict[str, TypedConditional]]:
    """Kinds and one fitted conditional per model family (each column's own model)."""
    d = X.shape[1]
    groups = [np.array([j]) for j in range(d)]
    kinds = infer_kinds(X, groups)
    conds = {}
    C = conditionals.LOGISTIC_C
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for m in ("gaussian", "residual_permutation"):
            conds[m] = TypedConditional(X, groups, models={g: m for g in range(d)},
                                        random_state=0)
        for m in ("hurdle", "quadratic"):
            conds[m] = TypedConditional(X, groups, continuous=m, random_state=0)
        conds["neighbours"] = TypedConditional(
            X, groups, random_state=0,
            models={g: "neighbours" for g in range(d) if kinds[g] in ("integer", "continuous")})
        conds["typed"] = TypedConditional(X, groups, continuous="gaussian", random_state=0)
        conditionals.LOGISTIC_C = 1.0  # the stronger ridge penalty, for comparison
        conds["typed_C1"] = TypedConditional(X, groups, continuous="gaussian", random_state=0)
        conditionals.LOGISTIC_C = C
    for w in caught:
        print("  warning:", str(w.message)[:150])
    return kinds, conds


def make_model(kind: str, seed: int) -> object:
    """The fixed statistic's regressor: boosted trees, or a small MLP (which, as nFBST's
    network, extrapolates off the data's support instead of saturating)."""
    if kind == "hgb":
        return HistGradientBoostingRegressor(max_iter=100, max_leaf_nodes=15,
                                             early_stopping=False, random_state=seed)
    return make_pipeline(StandardScaler(), MLPRegressor(
        hidden_layer_sizes=(32,), alpha=1e-3, learning_rate_init=0.01, max_iter=300,
        random_state=seed))


def run_dataset(name: str, seeds: range, split: str, model: str = "hgb") -> list[dict]:
    X, signal, f = load(name)
    n, d = X.shape
    kinds, conds = column_models(X)
    fracmin = [float(np.mean(X[:, j] == X[:, j].min())) for j in range(d)]
    print(f"{name}: n={n}, kinds={kinds}, share at min={np.round(fracmin, 2).tolist()}")
    nulls = [j for j in range(d) if j not in signal]
    mu = f(X)
    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        y = mu + 0.5 * mu.std() * rng.standard_normal(n)
        perm = rng.permutation(n)
        tr, te = perm[: int(0.7 * n)], perm[int(0.7 * n):]
        reg = make_model(model, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg.fit(X[tr], y[tr])
        Xte, yte = X[te], y[te]
        T_obs = -np.mean((reg.predict(Xte) - yte) ** 2)
        for j in nulls:
            # the model each family gives this column (typed: non-continuous columns only)
            family = {"gaussian": "gaussian", "residual_permutation": "residual_permutation"}
            if kinds[j] in ("integer", "continuous"):
                family["neighbours"] = "neighbours"
            if kinds[j] == "continuous":
                family["hurdle"] = "hurdle"
                family["quadratic"] = "quadratic"
            else:
                family["typed"] = conds["typed"].models_[j]
                if family["typed"] == "logistic":
                    family["typed_C1"] = "logistic"
            for fam, sampler in family.items():
                draws = conds[fam](Xte, j, K, np.random.default_rng([seed, j]))[..., 0]
                Xk = np.repeat(Xte[None], K, 0)
                Xk[..., j] = draws
                T_null = -np.mean((reg.predict(Xk.reshape(-1, d)).reshape(K, -1) - yte) ** 2,
                                  axis=1)
                p = (1 + np.sum(T_null >= T_obs - 1e-12 * abs(T_obs))) / (K + 1)
                rows.append({"dataset": name, "split": split, "seed": seed, "column": j,
                             "kind": kinds[j], "fracmin": fracmin[j], "model": sampler,
                             "family": fam, "p": p})
    return rows


def config_pvalues(df: pd.DataFrame, config: str) -> pd.DataFrame:
    """One p-value per (data set, seed, null column) under a configuration.

    ``gaussian`` = today (Gaussian everywhere); ``typed+M`` = typed models for binary,
    discrete and integer columns and M for continuous ones; ``auto:base:t`` = hurdle when
    the share at the minimum is >= t, else base; a ``C1:`` prefix fits the logistic models
    with C = 1 instead of ``LOGISTIC_C``.
    """
    if config == "gaussian":
        sel = df["family"] == "gaussian"
    else:
        cont = df["kind"] == "continuous"
        fam = "typed"
        if config.startswith("C1:"):  # logistic models with C = 1
            fam, config = "typed_C1", config[3:]
        has = df.groupby(["dataset", "seed", "column"])["family"].transform(
            lambda f: (f == fam).any())
        typed = (~cont) & ((df["family"] == fam) | (~has & (df["family"] == "typed")))
        if config.startswith("typed+"):
            m = config[len("typed+"):]
            sel = typed | (cont & (df["family"] == m))
        else:  # auto:base:t
            _, base, t = config.split(":")
            hurdle = df["fracmin"] >= float(t)
            sel = typed | (cont & hurdle & (df["family"] == "hurdle")) | (
                cont & ~hurdle & (df["family"] == base))
    return df[sel]


def table(df: pd.DataFrame, configs: list[str], by: list[str]) -> str:
    lines = ["| " + " | ".join(by) + " | " + " | ".join(configs) + " |",
             "|" + "---|" * (len(by) + len(configs))]
    keys = df[by].drop_duplicates().sort_values(by).itertuples(index=False)
    for key in keys:
        mask = np.ones(len(df), dtype=bool)
        for b, v in zip(by, key):
            mask &= (df[b] == v).to_numpy()
        cells = []
        for c in configs:
            sub = config_pvalues(df[mask], c)
            rej = sub["p"] <= ALPHA
            N = len(sub)
            pr = float(rej.mean())
            cells.append(f"{pr:.3f} ± {np.sqrt(pr * (1 - pr) / N):.3f} (N={N})")
        lines.append("| " + " | ".join(str(k) for k in key) + " | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-tune", type=int, default=25)
    ap.add_argument("--n-test", type=int, default=45)
    ap.add_argument("--out", default="/tmp/crt_samplers_study.csv")
    ap.add_argument("--from-csv", help="print the tables of a saved run's p-values")
    ap.add_argument("--model", choices=("hgb", "mlp"), default="hgb",
                    help="the statistic's regressor (hgb: boosted trees; mlp: a small MLP)")
    args = ap.parse_args()
    t0 = time.process_time()
    if args.from_csv:
        df = pd.read_csv(args.from_csv)
    else:
        rows = []
        for name in ("diabetes", "concrete"):
            rows += run_dataset(name, range(args.n_tune), "tune", args.model)
        for name in ("diabetes", "concrete", "energy", "breast_cancer"):
            rows += run_dataset(name, range(1000, 1000 + args.n_test), "held-out", args.model)
        df = pd.DataFrame(rows)
        df.to_csv(args.out, index=False)
    base = ["gaussian", "typed+gaussian", "typed+residual_permutation", "typed+quadratic",
            "typed+hurdle", "typed+neighbours"]
    autos = [f"auto:{b}:{t}" for b in ("gaussian", "residual_permutation", "quadratic")
             for t in THRESHOLDS]
    print(f"\n## Tuning split (diabetes + concrete, seeds 0-{args.n_tune - 1}): type-I at "
          "alpha = 0.05\n")
    tune = df[df["split"] == "tune"]
    print(table(tune, base, ["dataset"]))
    print()
    print(table(tune, autos[:4], ["dataset"]))
    print()
    print(table(tune, autos[4:8], ["dataset"]))
    print()
    print(table(tune, autos[8:], ["dataset"]))
    print(f"\n## Held-out (seeds 1000-{999 + args.n_test}; energy and breast cancer are "
          "held-out data sets)\n")
    held = df[df["split"] == "held-out"]
    print(table(held, base + ["C1:typed+residual_permutation", f"auto:{AUTO}"], ["dataset"]))
    print("\n## Held-out, per null column\n")
    print(table(held, ["gaussian", "typed+residual_permutation", "typed+quadratic",
                       "typed+hurdle", "typed+neighbours", f"auto:{AUTO}"],
                ["dataset", "column", "kind"]))
    print(f"\nCPU time: {time.process_time() - t0:.0f} s")


if __name__ == "__main__":
    main()
