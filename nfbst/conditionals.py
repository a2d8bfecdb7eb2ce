"""Conditional models x_G | x_{-G} that respect each column's type, for the CRT.

The conditional randomization test (:mod:`nfbst.crt`) is exactly valid only when the
redrawn copies of x_G follow x_G | x_{-G}. The linear-Gaussian model of
:class:`~nfbst.crt.GroupConditional` draws values a binary, discrete or categorical column
never takes (0.37 for sex, 2.6 floors), and smooths over a point mass (concrete's slag and
fly ash are 0 in half the rows); the network then sees inputs unlike any real row, its loss
moves for that reason alone, and the test rejects true nulls (pooled type-I 0.083 at
α = 0.05 on real tables; see ``benchmarks/crt_samplers_study.py``).

Models, one per group (``TypedConditional.models_``), chosen from the group's kind
(:func:`infer_kinds`, or given):

* ``"logistic"`` — binary, categorical (a one-hot block) and discrete (few numeric values)
  groups: scikit-learn's ``LogisticRegression`` (L2, ``C=LOGISTIC_C``, lbfgs; multinomial
  for more than two levels) of the group's level (each distinct row of its columns in the reference
  rows) on the standardised other columns. Draws are observed levels only, with the fitted
  probabilities. The ridge penalty keeps the fit finite under perfect separation (the
  probabilities then approach 0/1: the column is nearly determined, and its p-value nearly
  1, as it should be), and a level seen in one row is simply a class of one member, with a
  small probability. An ordinal model has fewer parameters, but the discrete columns of real
  tables are often not ordered in their effect on the others (orientation, glazing
  distribution), and the multinomial fit costs milliseconds at these sizes.
* ``"rounded_residuals"`` — integer columns with many values (counts, ages): the linear
  conditional mean plus resampled residuals, moved to the nearest observed value, so draws
  are integers inside the observed range, on its grid (concrete's ages 1, 3, 7, 14, 28, …).
* ``"neighbours"`` (continuous or integer columns) — the column's value in one of the
  :data:`NEIGHBOURS` reference rows nearest in the standardised other columns (the row
  itself excluded): nonparametric, always on the observed support, but wider than the true
  conditional by the spread of the neighbours' other columns.
* continuous columns, one of :data:`CONTINUOUS_MODELS`: ``"gaussian"`` (today's linear
  Gaussian), ``"residual_permutation"`` (linear mean plus permuted/resampled residuals, the
  marginal shape kept), ``"quadratic"`` (the least-squares regression on the other columns,
  their squares and pairwise products, plus resampled residuals inflated by
  sqrt(n / (n − terms)), clipped to the observed range: for columns that others determine
  through a product or ratio, as diabetes' cholesterol fractions s1–s4), and ``"hurdle"`` for
  a point mass at the minimum (zero-inflated amounts): a logistic model of
  P(x = min | others), then the rest by the quadratic regression (linear when the rows above
  the minimum are fewer than :data:`QUADRATIC_ROWS_PER_TERM` per term) fitted on the rows
  above the minimum, with resampled residuals, clipped to the observed range.
  ``continuous="auto"`` takes ``"hurdle"`` when at least :data:`HURDLE_MIN_FRACTION` (10 %)
  of the reference values sit at the minimum, else ``"quadratic"`` when there are at least
  :data:`QUADRATIC_ROWS_PER_TERM` reference rows per regression term, else ``"gaussian"``.
  Chosen by the type-I error (α = 0.05) of the held-out CRT measured in
  ``benchmarks/crt_samplers_study.py`` with two fixed statistics, boosted trees and a small
  MLP (chosen on diabetes and concrete seeds 0–24; reported on seeds 1000–1044 and on energy
  and breast cancer, held out). On the tuning split the quadratic mean brought diabetes from
  0.143 (Gaussian) / 0.183 (residual permutation) to 0.069 with trees, and from 0.223 to
  0.063 with the MLP; the hurdle rule brought concrete from 0.072 (quadratic everywhere) to
  0.048 with trees, and from 0.240 to 0.208 with the MLP; the threshold made no difference
  between 0.10 and 0.30 (concrete's point masses hold 37–55 % of the rows, the other columns
  at most 8 %; 0.05 also catches diabetes' s4, at 6 %, for the worse). Held out, trees:
  0.004–0.063 on every data set (Gaussian today: up to 0.114); MLP: energy 0.285 → 0.015,
  breast cancer 0.121 → 0.041, diabetes 0.244 → 0.079, concrete 0.427 → 0.129 — concrete and
  diabetes stay above α + 0.02 with a network: the MLP, which extrapolates off the data's
  support, detects conditional errors the trees ignore. Columns the others determine through
  something no quadratic captures stay anti-conservative (diabetes' s1 and s2, total and LDL
  cholesterol, which also depend on exp(s5): held out 0.18 and 0.11 with trees, 0.04 and
  0.18 with the MLP): the diagnostic below warns about every column the others nearly
  determine. ``"neighbours"`` was worse than the quadratic model everywhere with the MLP
  (diabetes 0.406, energy 0.093), its conditionals being too wide.
* a group of several continuous columns (image patches) is :class:`GroupConditional`
  (``"gaussian"`` or ``"residual_permutation"``); a group whose columns mix kinds falls back
  to it too, with a warning naming the group.

Diagnostic (:meth:`TypedConditional.diagnostics`): two two-sample Kolmogorov–Smirnov
distances between the real values of each column of a group and values redrawn for the same
rows (pooled over 10 draws): of the values themselves (``ks``: off-support draws, wrong
shapes — a Gaussian draw of a 0/1 column, a smoothed point mass) and of the values less a
quadratic regression on the other columns fitted on the reference rows (``ks_residual``: a
wrong dependence on x_{-G} — the linear model of diabetes' s1, which the other columns fix
through a ratio, has ``ks_residual`` 0.36, the quadratic model 0.04). Both are cheap (one
least-squares fit and a few sorts per column). A group where either exceeds
``max(0.1, 1.95 sqrt(1/n + 1/m))`` (0.1, or the two-sample KS critical value at level 0.001
for n real and m redrawn values when that is larger) is flagged, with a warning at
construction naming its columns and both distances. The check cannot see a dependence that
no quadratic captures.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .crt import GroupConditional
from .tabular import COLUMN_KINDS, numeric_kind

if TYPE_CHECKING:
    import pandas as pd

    from probconstraints._random import RandomStateLike

#: Models of a single continuous column (``continuous=`` and ``"auto"``'s candidates).
CONTINUOUS_MODELS = ("gaussian", "residual_permutation", "quadratic", "hurdle", "neighbours")
MODELS = ("logistic", "rounded_residuals", "gaussian", "residual_permutation", "quadratic",
          "hurdle", "neighbours")
#: Models that fit each kind of a one-column group (first: the default); a group of several
#: columns takes ``"logistic"`` when categorical, else the two linear models.
KIND_MODELS: dict[str, tuple[str, ...]] = {
    "binary": ("logistic", "gaussian", "residual_permutation"),
    "categorical": ("logistic", "gaussian", "residual_permutation"),
    "discrete": ("logistic", "gaussian", "residual_permutation"),
    "integer": ("rounded_residuals", "logistic", "neighbours", "gaussian",
                "residual_permutation"),
    "continuous": CONTINUOUS_MODELS,
}
#: ``continuous="auto"``: the hurdle model when at least this share of the values is the minimum.
HURDLE_MIN_FRACTION = 0.10
#: ``continuous="auto"``: the quadratic model needs this many reference rows per term
#: (1 + p + p (p + 1) / 2 for p other columns), else the Gaussian one is used.
QUADRATIC_ROWS_PER_TERM = 5
#: The diagnostic warns when a quadratic regression on the other columns explains more than
#: this share of a column's variance: the CRT then hinges on the model's exactness.
DETERMINED_R2 = 0.99
#: Inverse L2 penalty of the logistic models (standardised predictors): weak, so a column the
#: others (nearly) determine keeps a (nearly) degenerate conditional; C = 1 shrinks energy's
#: wall area to P(true level) 0.57 where C = 100 gives 0.96 (the study compares both).
LOGISTIC_C = 100.0
#: The KS distance above which a group's conditional model is flagged (at least).
KS_THRESHOLD = 0.1
#: ``"neighbours"``: draws among the column's values in this many nearest reference rows.
NEIGHBOURS = 10
_DIAG_ROWS, _DIAG_DRAWS = 1000, 10


def _is_one_hot(B: NDArray[np.float64]) -> bool:
    return bool(np.isin(B, (0.0, 1.0)).all() and np.all(B.sum(1) == 1))


def infer_kinds(X_ref: ArrayLike, groups: list[NDArray[np.intp]],
                discrete_levels: int = 10) -> list[str]:
    """One kind of :data:`COLUMN_KINDS` per group, from the values of plain arrays.

    A group of two or more columns that is a one-hot block (0/1 entries, each row summing
    to 1) is ``"categorical"``; one column with 2 values ``"binary"``, with at most
    ``discrete_levels`` values ``"discrete"``, integer-valued with more ``"integer"``, else
    ``"continuous"``. Any other group of several columns (image patches) is
    ``"continuous"``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.arange(40) % 2, np.arange(40) % 4, np.arange(40),
    ...                      np.linspace(0, 1, 40), np.eye(2)[np.arange(40) % 2]])
    >>> infer_kinds(X, [np.array([j]) for j in range(4)] + [np.array([4, 5])])
    ['binary', 'discrete', 'integer', 'continuous', 'categorical']
    """
    from probconstraints._validation import check_int

    check_int(discrete_levels, "discrete_levels", 2)
    X = np.asarray(X_ref, dtype=np.float64)
    kinds = []
    for g in groups:
        B = X[:, np.asarray(g, dtype=np.intp)]
        if B.shape[1] >= 2:
            kinds.append("categorical" if _is_one_hot(B) else "continuous")
        else:
            kinds.append(numeric_kind(B[:, 0], discrete_levels))
    return kinds


def _n_quadratic(p: int) -> int:
    """Terms of the quadratic design on p predictors: 1, p linear, p (p + 1) / 2 products."""
    return 1 + p + p * (p + 1) // 2


def _resample(R: NDArray[np.float64], n: int, n_draws: int,
              rng: np.random.Generator) -> NDArray[np.float64]:
    """``(K, n)`` residuals: permutations of ``R`` when it has n entries, else resampled."""
    rows = (np.stack([rng.permutation(n) for _ in range(n_draws)]) if len(R) == n
            else rng.integers(0, len(R), size=(n_draws, n)))
    return R[rows]


class TypedConditional:
    """x_G | x_{-G} for each group with a model that respects the group's kind.

    Parameters
    ----------
    X_ref : array (n, d)
        Reference rows the models are fitted on (the rows given to fit).
    groups : list of int arrays
        The columns of each group (a single column, a one-hot block, an image patch).
    kinds : list of str, optional
        One of :data:`COLUMN_KINDS` per group (default: :func:`infer_kinds`).
    models : dict {group index: model name}, optional
        Per-group overrides of the model (:data:`KIND_MODELS` lists those that fit a kind).
    continuous : {"auto", "gaussian", "residual_permutation", "quadratic", "hurdle"}
        The model of single continuous columns (see the module docstring for ``"auto"``);
        groups of several continuous columns take it when it is ``"gaussian"`` or
        ``"residual_permutation"``, else ``"gaussian"``.
    random_state : None, int, RandomState or Generator
        Seeds the draws of the construction-time diagnostic.
    names : list of str, optional
        A name per group for messages (e.g. the column's; default ``"group g"``).

    Attributes
    ----------
    columns : list of int arrays
        Per group, the columns it resamples (columns constant in ``X_ref`` left out).
    kinds_ : list of str
    models_ : list of str
        Per group, the model used.
    levels_ : list of arrays or None
        Per ``"logistic"`` group, its levels (distinct rows of its columns, ``(L, |G|)``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x0 = rng.normal(size=500)
    >>> x1 = (rng.random(500) < 1 / (1 + np.exp(-2 * x0))).astype(float)
    >>> x2 = np.where(rng.random(500) < 0.3, 0.0, np.exp(rng.normal(size=500)))
    >>> cond = TypedConditional(np.column_stack([x0, x1, x2]),
    ...                         [np.array([0]), np.array([1]), np.array([2])], random_state=0)
    >>> cond.kinds_, cond.models_
    (['continuous', 'binary', 'continuous'], ['quadratic', 'logistic', 'hurdle'])
    >>> draws = cond(np.column_stack([x0, x1, x2])[:4], 1, 3, rng)
    >>> draws.shape, sorted(np.unique(draws).tolist())
    ((3, 4, 1), [0.0, 1.0])
    """

    def __init__(self, X_ref: ArrayLike, groups: list[NDArray[np.intp]],
                 kinds: list[str] | None = None, models: dict[int, str] | None = None,
                 continuous: str = "auto", random_state: RandomStateLike = None,
                 names: list[str] | None = None) -> None:
        from probconstraints._random import check_random_state_arg
        from probconstraints._validation import check_choice

        check_choice(continuous, "continuous", ("auto", *CONTINUOUS_MODELS))
        check_random_state_arg(random_state)
        X = np.asarray(X_ref, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X_ref must be 2-d (n, d); got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X_ref has NaN or infinite values")
        n, d = X.shape
        groups = [np.asarray(g, dtype=np.intp) for g in groups]
        if names is not None and len(names) != len(groups):
            raise ValueError(f"names must give one name per group ({len(groups)}); "
                             f"got {len(names)}")
        #: how messages name each group ("group 3", or the caller's name, e.g. a column)
        self.labels = ([f"group {g}" for g in range(len(groups))] if names is None
                       else [repr(str(name)) for name in names])
        if kinds is None:
            kinds = infer_kinds(X, groups)
        elif len(kinds) != len(groups):
            raise ValueError(f"kinds must give one kind per group ({len(groups)}); "
                             f"got {len(kinds)}")
        for g, kind in enumerate(kinds):
            check_choice(kind, f"kinds[{g}]", COLUMN_KINDS)
        models = dict(models or {})
        for g in models:
            if isinstance(g, bool) or not isinstance(g, (int, np.integer)) \
                    or not 0 <= g < len(groups):
                raise ValueError(f"models keys must be group indices 0..{len(groups) - 1}; "
                                 f"got {g!r}")
            if models[g] not in MODELS:
                raise ValueError(f"models[{g}] ({self.labels[g]}, columns {groups[g].tolist()}) "
                                 f"must be one of {MODELS}; got {models[g]!r}")
        self._ref_rows = X
        self.continuous = continuous
        self.random_state = random_state
        self.constant = X.std(0) == 0
        varying = np.flatnonzero(~self.constant)
        self._mean = X.mean(0)
        self._scale = np.where(self.constant, 1.0, X.std(0))
        self.columns: list[NDArray[np.intp]] = []
        self.others: list[NDArray[np.intp]] = []
        self.kinds_: list[str] = list(kinds)
        self.models_: list[str] = []
        self.levels_: list[NDArray[np.float64] | None] = []
        self._fits: list[dict[str, Any]] = []
        for g, G in enumerate(groups):
            cols = np.asarray([j for j in G if not self.constant[j]], dtype=np.intp)
            others = np.setdiff1d(varying, G)
            if cols.size and n < others.size + 2:
                raise ValueError(
                    f"the conditional model of {self.labels[g]} given the other columns needs more "
                    f"rows than predictors + 1; got {n} rows for {others.size} predictors")
            self.columns.append(cols)
            self.others.append(others)
            model = self._choose(g, G, X, kinds[g], models.get(g))
            self.models_.append(model)
            self.levels_.append(None)
            self._fits.append(self._fit(g, G, X, model) if cols.size else {})
        self.diagnostics_ = self.diagnostics()
        bad = self.diagnostics_[~self.diagnostics_["ok"]]
        for _, row in bad.iterrows():
            warnings.warn(
                f"the conditional model of {self.labels[row['group']]} (columns "
                f"{row['columns']}, "
                f"kind {row['kind']!r}, model {row['model']!r}) fits badly: the KS distance "
                f"between its real and redrawn values is {row['ks']:.3f} (of their "
                f"residuals from a quadratic regression on the other columns "
                f"{row['ks_residual']:.3f}) > {row['threshold']:.3f}; its CRT p-value may be "
                "anti-conservative",
                UserWarning, stacklevel=2)
        near = self.diagnostics_[self.diagnostics_["r2"] > DETERMINED_R2]
        for _, row in near.iterrows():
            warnings.warn(
                f"{self.labels[row['group']]} (columns {row['columns']}) is nearly determined "
                "by the "
                f"other columns (quadratic R² {row['r2']:.4f}): its CRT has little power, "
                "and its validity hinges on the conditional model being exact",
                UserWarning, stacklevel=2)

    def _choose(self, g: int, G: NDArray[np.intp], X: NDArray[np.float64], kind: str,
                override: str | None) -> str:
        """The model of group g: the override (checked against the kind) or the default."""
        cols = self.columns[g]
        if G.size >= 2 and kind != "categorical":
            per_column = {numeric_kind(X[:, j]) for j in cols}
            numeric = {"discrete", "integer", "continuous"}
            if len(per_column) > 1 and not per_column <= numeric:
                warnings.warn(
                    f"{self.labels[g]} (columns {G.tolist()}) mixes kinds {sorted(per_column)}: it "
                    "is resampled by the linear model of GroupConditional, whose draws may "
                    "leave the columns' support", UserWarning, stacklevel=3)
            allowed: tuple[str, ...] = ("gaussian", "residual_permutation")
        else:
            allowed = KIND_MODELS[kind]
        if override is not None:
            if override not in allowed:
                raise ValueError(
                    f"models[{g}] = {override!r} does not fit {self.labels[g]} (columns "
                    f"{G.tolist()}, kind {kind!r}): choose one of {allowed}")
            return override
        if G.size >= 2 and kind != "categorical":
            return self.continuous if self.continuous in allowed else "gaussian"
        if kind != "continuous":
            return allowed[0]
        if self.continuous != "auto":
            return self.continuous
        x = X[:, G[0]]
        if np.mean(x == x.min()) >= HURDLE_MIN_FRACTION:
            return "hurdle"
        if len(x) >= QUADRATIC_ROWS_PER_TERM * _n_quadratic(self.others[g].size):
            return "quadratic"
        return "gaussian"

    def _predictors(self, X: NDArray[np.float64], g: int) -> NDArray[np.float64]:
        """The standardised other columns of group g (a zero column when there are none)."""
        o = self.others[g]
        if o.size == 0:
            return np.zeros((X.shape[0], 1))
        Z: NDArray[np.float64] = (X[:, o] - self._mean[o]) / self._scale[o]
        return Z

    @staticmethod
    def _design(Z: NDArray[np.float64], model: str) -> NDArray[np.float64]:
        """[1, Z] (linear models) or [1, Z, z_i z_k for i <= k] (``"quadratic"``)."""
        parts = [np.ones((len(Z), 1)), Z]
        if model == "quadratic":
            i, k = np.triu_indices(Z.shape[1])
            parts.append(Z[:, i] * Z[:, k])
        return np.column_stack(parts)

    def _fit(self, g: int, G: NDArray[np.intp], X: NDArray[np.float64],
             model: str) -> dict[str, Any]:
        from sklearn.linear_model import LogisticRegression

        cols = self.columns[g]
        Z = self._predictors(X, g)
        if model in ("gaussian", "residual_permutation"):
            return {"group": GroupConditional(
                X, [G], "gaussian" if model == "gaussian" else "permutation")}
        if model == "logistic":
            levels, label = np.unique(X[:, cols], axis=0, return_inverse=True)
            self.levels_[g] = levels
            clf = LogisticRegression(C=LOGISTIC_C, max_iter=2000).fit(Z, label.ravel())
            return {"clf": clf}
        x = X[:, cols[0]]
        if model in ("rounded_residuals", "quadratic"):
            A = self._design(Z, model)
            if len(x) < A.shape[1] + 2:
                raise ValueError(
                    f"model {model!r} of {self.labels[g]} needs more rows than its {A.shape[1]} "
                    f"regression terms + 1; got {len(x)} rows")
            coef = np.linalg.lstsq(A, x, rcond=None)[0]
            # in-sample residuals inflated to the unbiased residual variance's scale
            resid = (x - A @ coef) * np.sqrt(len(x) / (len(x) - A.shape[1]))
            return {"coef": coef, "resid": resid, "range": (x.min(), x.max()),
                    "values": np.unique(x)}
        if model == "neighbours":
            from sklearn.neighbors import NearestNeighbors

            k = min(NEIGHBOURS, len(x) - 1)
            return {"nn": NearestNeighbors(n_neighbors=k + 1).fit(Z), "x": x, "k": k}
        # hurdle: P(x = min | others), then the rows above the minimum by the quadratic
        # regression when they are at least QUADRATIC_ROWS_PER_TERM per term, else linear
        low = x == x.min()
        design = ("quadratic" if (~low).sum() >= QUADRATIC_ROWS_PER_TERM * _n_quadratic(
            Z.shape[1]) else "linear")
        A = self._design(Z, design)
        clf = LogisticRegression(C=LOGISTIC_C, max_iter=2000).fit(Z, low.astype(int))
        coef = np.linalg.lstsq(A[~low], x[~low], rcond=None)[0]
        m = int((~low).sum())
        resid = (x[~low] - A[~low] @ coef) * np.sqrt(m / max(m - A.shape[1], 1))
        return {"clf": clf, "coef": coef, "resid": resid, "design": design,
                "min": x.min(), "range": (x[~low].min(), x.max())}

    @property
    def testable(self) -> NDArray[np.bool_]:
        """Per group: whether it has a column that varies in the reference rows."""
        return np.array([c.size > 0 for c in self.columns])

    def predict_proba(self, X: ArrayLike, g: int) -> NDArray[np.float64]:
        """``(n, L)`` probabilities of group g's levels (``levels_[g]``) for the rows of X
        (``"logistic"`` groups), or ``(n, 2)`` of (above, at) the minimum (``"hurdle"``)."""
        if self.models_[g] not in ("logistic", "hurdle") or not self.columns[g].size:
            raise ValueError(f"{self.labels[g]} uses model {self.models_[g]!r}, which has no "
                             "class probabilities")
        Xa = np.asarray(X, dtype=np.float64)
        proba: NDArray[np.float64] = self._fits[g]["clf"].predict_proba(
            self._predictors(Xa, g))
        return proba

    def __call__(self, X: NDArray[np.float64], g: int, n_draws: int,
                 rng: np.random.Generator) -> NDArray[np.float64]:
        """``n_draws`` joint draws of group ``g``'s varying columns: ``(K, n, |columns[g]|)``."""
        X = np.asarray(X, dtype=np.float64)
        n, model, fit = X.shape[0], self.models_[g], self._fits[g]
        if model in ("gaussian", "residual_permutation"):
            out: NDArray[np.float64] = fit["group"](X, 0, n_draws, rng)
            return out
        if model == "logistic":
            levels = self.levels_[g]
            assert levels is not None
            cum = np.cumsum(self.predict_proba(X, g), axis=1)  # (n, L)
            u = rng.random((n_draws, n))
            idx = np.minimum((u[..., None] > cum[None]).sum(-1), len(levels) - 1)
            drawn: NDArray[np.float64] = levels[idx]
            return drawn
        if model == "neighbours":
            dist, idx = fit["nn"].kneighbors(self._predictors(X, g))  # (n, k + 1)
            # the row itself (distance 0) is not its own neighbour
            keep = np.where((dist[:, :1] == 0), idx[:, 1:], idx[:, :-1])  # (n, k)
            pick = keep[np.arange(n), rng.integers(0, fit["k"], size=(n_draws, n))]
            nb: NDArray[np.float64] = fit["x"][pick][..., None]
            return nb
        A = self._design(self._predictors(X, g), fit.get("design", model))
        lo, hi = fit["range"]
        x = A @ fit["coef"] + _resample(fit["resid"], n, n_draws, rng)  # (K, n)
        if model == "rounded_residuals":  # the nearest observed value
            v = fit["values"]
            i = np.clip(np.searchsorted(v, x), 1, len(v) - 1)
            x = np.where(x - v[i - 1] <= v[i] - x, v[i - 1], v[i])
        elif model == "quadratic":
            x = np.clip(x, lo, hi)
        else:  # hurdle
            at_min = rng.random((n_draws, n)) < self.predict_proba(X, g)[:, 1]
            x = np.where(at_min, fit["min"], np.clip(x, lo, hi))
        result: NDArray[np.float64] = x[..., None]
        return result

    def diagnostics(self, X: ArrayLike | None = None) -> pd.DataFrame:
        """One row per group: kind, model, the KS distances between real and redrawn values
        (``ks``: of the values; ``ks_residual``: of the values less a quadratic regression
        on the other columns, fitted on the reference rows, linear when the reference rows
        are fewer than 5 per term; each the largest over the group's columns), the
        threshold, ``ok`` (both distances at most the threshold), and ``r2`` (the share of
        variance that regression explains, smallest over the columns).

        Computed on ``X`` (default: the reference rows; at most 1000 rows, 10 draws each),
        with draws seeded by ``random_state``. Groups that are not testable get NaN, ok.
        """
        import pandas as pd
        from scipy.stats import ks_2samp

        from probconstraints._random import generators

        Xd = self._ref_rows if X is None else np.asarray(X, dtype=np.float64)
        rng = generators(self.random_state, 1)[0]
        if len(Xd) > _DIAG_ROWS:
            Xd = Xd[rng.choice(len(Xd), _DIAG_ROWS, replace=False)]
        ref = self._ref_rows
        if len(ref) > 5 * _DIAG_ROWS:
            ref = ref[rng.choice(len(ref), 5 * _DIAG_ROWS, replace=False)]
        n = len(Xd)
        m = n * _DIAG_DRAWS
        threshold = max(KS_THRESHOLD, 1.95 * np.sqrt(1 / n + 1 / m))
        rows = []
        for g, cols in enumerate(self.columns):
            ks = ks_resid = r2 = np.nan
            if cols.size:
                draws = self(Xd, g, _DIAG_DRAWS, rng)  # (K, n, |G|)
                ks = max(float(ks_2samp(Xd[:, c], draws[..., i].ravel()).statistic)
                         for i, c in enumerate(cols))
                # the same after removing a flexible regression on the other columns
                model = "quadratic" if _n_quadratic(self.others[g].size) * 5 <= \
                    len(ref) else "linear"
                A_ref = self._design(self._predictors(ref, g), model)
                B = np.linalg.lstsq(A_ref, ref[:, cols], rcond=None)[0]
                fitted = self._design(self._predictors(Xd, g), model) @ B  # (n, |G|)
                ks_resid = max(float(ks_2samp(Xd[:, c] - fitted[:, i],
                                              (draws[..., i] - fitted[:, i]).ravel()).statistic)
                               for i, c in enumerate(cols))
                resid = ref[:, cols] - A_ref @ B
                r2 = float(1 - (resid.var(0) / ref[:, cols].var(0)).min())
            worst = max(ks, ks_resid)
            rows.append({"group": g, "columns": cols.tolist(), "kind": self.kinds_[g],
                         "model": self.models_[g], "ks": ks, "ks_residual": ks_resid,
                         "threshold": threshold, "ok": bool(not worst > threshold),
                         "r2": r2})
        return pd.DataFrame(rows)
