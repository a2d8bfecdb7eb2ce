"""Front doors: ``entropy``, ``mutual_information`` and ``conditional_mutual_information``.

One call shape for every estimator; the result is an :class:`~infotheory.estimate.Estimate`
(a float in nats with ``.bits``, ``.ci``, ``.method`` and ``.n``).

Methods
-------
discrete (labels of any dtype)
    ``"plugin"``, ``"miller_madow"``, ``"james_stein"``, ``"nsb"`` (:mod:`infotheory.discrete`).
continuous, k-NN (:mod:`infotheory.knn`)
    ``"ksg"`` (= ``"ksg1"``), ``"ksg2"`` -- textbook Kraskov et al. (2004) on standardised data;
    ``"kl"`` -- Kozachenko-Leonenko entropy; ``"mixed"`` -- Ross (2014), one continuous and one
    discrete variable; ``"copula_ksg"`` -- see below.
continuous, closed form (:mod:`infotheory.gaussian`)
    ``"gaussian"`` (CCA) and ``"gaussian_copula"`` (the same on normal scores).
neural (:mod:`infotheory.neural`, MI only)
    ``"mine"``, ``"nwj"``, ``"infonce"``, ``"smile"``, ``"doe"``.
``"auto"``
    Both discrete: Miller-Madow when there are at least 5 samples per observed joint cell,
    NSB otherwise. Continuous and discrete: ``"mixed"`` on normal scores. Both continuous,
    dx + dy <= 20: the largest of four estimates of quantities that are all <= I(X;Y):
    ``"copula_ksg"`` of (X, Y); the Gaussian-copula estimate; ``"copula_ksg"`` of the
    *radial* summaries (||Z_X||, ||Z_Y||) of the normal scores (a 1-D variable is kept as it
    is); and, when X or Y has more than one column and n >= 200, a *cross-fitted kernel-CCA*
    term: the rows are split in halves, a ridge CCA (ridge 0.01) between
    [Z, 300 random Fourier features of Z] of X and of Y (Gaussian kernel, bandwidth sqrt(d))
    is fitted on one half, KSG (k=1) runs on the normal scores of its first min(dx, dy)
    canonical variates of the other half, and the two halves are averaged; the bias of that
    whole pipeline is measured by running it on a Gaussian sample with the correlation matrix
    of the normal scores (exact MI known) and subtracted. By the data-processing inequality
    I(f(X); g(Y)) <= I(X;Y) for maps fitted on other rows, and the k-NN estimates are biased
    downwards, so the largest is the least biased. The radial term catches dependence carried
    by a shared scale (elliptical heavy tails, the Student-t tasks); the kernel-CCA term
    catches dependence that a diffeomorphism has bent away from the coordinate axes (spirals:
    their margins are still N(0, I), so no per-coordinate normalisation can help). The
    earlier correction of that term (a Gaussian reference with the correlation of the
    *variates*) read nonlinear variates as extra channels and over-corrected by +0.4 to +0.7
    nats on rotated Gaussian tasks of :mod:`infotheory.task_generator`; the pipeline
    reference was chosen on the generator's selection seeds. Measured on held-out seeds
    (``results/info_estimator_benchmark``): spirals and heavy-tailed Student-t tasks are
    still read low (up to -0.8 nats), which the interval and the verdict report (below).
    Cost at n = 5,000, one thread: see ``benchmarks/bench_infotheory.py --auto-only``. Above
    dx + dy = 20: ``"gaussian_copula"`` (k-NN estimates there are biased by -0.3 to -0.9 nats
    on the 25 x 25 benchmark tasks, and the bias correction of ``"copula_ksg"`` over-shoots
    at 50 x 50). Entropy of continuous data: ``"kl"``.

Interval and verdict
--------------------
``ci="auto"`` (the default of :func:`mutual_information`) attaches an interval where it costs
nothing extra: for continuous ``"auto"`` the calibrated interval of
:func:`infotheory.reliability.auto_interval` (statistical error of the chosen estimate plus
an allowance, wider upwards, for the k-NN bias where the dependence is far from Gaussian and
the dimension high; constants fitted on the generator's selection seeds), for the discrete and
Gaussian methods the analytic one; other methods need ``ci="bootstrap"``. Every MI estimate
carries ``Estimate.reliability``: ``"ok"`` or the reasons it may be off by more than 0.15 nats
(estimators behind ``auto`` disagree beyond their intervals, dependence far from Gaussian in
several dimensions, n too small for the dimension, a value near ln n, fewer samples than
joint cells of labels). With ``method="auto"``, floats that hold only a few integer values
(labels stored as 0.0/1.0/2.0) are read as labels, with a line in ``Estimate.notes``, and a
variable mixing such columns with continuous ones must declare its type with ``discrete=``;
a method named by the caller reads floats as its data type says.

``"copula_ksg"`` makes KSG invariant under increasing transforms of each coordinate and removes
most of its high-dimensional bias: (1) every coordinate is replaced by its normal scores
(MI is invariant under invertible per-variable maps); (2) KSG is run with ``k`` (default 1);
(3) its bias is estimated on Gaussian samples with the same correlation matrix, whose MI is
known exactly (1 to 5 replicates, more at small n), and subtracted; (4) for MI the result is
not allowed to fall below the Gaussian-copula estimate, which for one-dimensional X and Y is a
lower bound on the MI.

Inputs
------
Arrays, lists, pandas Series and DataFrames. pandas columns are read one by one: numbers
(nullable ``Int64``/``Float64``/``boolean`` included) as numbers, text (pandas 3's ``str``),
``category`` and object columns as labels; missing values (``pd.NA``, NaN, None) are refused
with the column's name. Floats are continuous unless ``discrete`` says otherwise, and
discrete methods refuse continuous floats (see :mod:`infotheory.discrete`). Data of any
magnitude (1e-300 to 1e300) is scaled safely before any neighbour search or covariance, so MI
is scale invariant in practice as in theory. Keyword options that the chosen method would
ignore are refused with a TypeError naming them; ``n_jobs=None`` means 1 and ``random_state``
takes None, an int, a RandomState or a Generator; nothing touches the global random state of
numpy, torch or ``random`` when ``random_state`` is given.

Intervals
---------
``ci="bootstrap"`` for the k-NN estimators recomputes the whole estimator on half-samples
drawn without replacement (``n // 2`` rows, ``n_resamples`` times) and returns
``estimate + (quantiles - mean)`` of those replicates. The per-point k-NN terms are not
independent (each point's counts depend on its neighbours), so resampling the terms
understates the spread; resampling rows with replacement would create duplicate points at
distance 0, which k-NN estimators read as strong dependence. For a mean of n terms a
half-sample without replacement has exactly the variance of the full estimate
(``(1 - m/n) / m = 1/n`` at ``m = n/2``: half-sampling, McCarthy 1969), and for the
estimator it carries the dependence between terms along; centring on the replicates' mean
removes the extra small-sample bias of the halves. Coverage on tasks with known MI is
measured in ``results/info_knn_coverage``. ``ci="analytic"`` keeps the normal interval of the
mean of the per-point terms, which treats them as independent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, SupportsFloat, TypeAlias, TypedDict

import numpy as np
from numpy.typing import ArrayLike
from threadpoolctl import threadpool_limits

from probconstraints._random import RandomStateLike, check_random_state, check_random_state_arg

from . import discrete as _discrete
from . import gaussian as _gaussian
from . import knn as _knn
from . import reliability as _reliability
from ._validation import (
    check_continuous,
    check_discrete_labels,
    check_k,
    check_labels,
    check_n_jobs,
    check_same_length,
    check_verbose,
)
from .estimate import Estimate, analytic_interval, bootstrap_interval

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .neural import NeuralOptions

__all__ = ["CMICall", "EntropyCall", "MICall", "conditional_mutual_information", "entropy",
           "mutual_information", "register_cmi_estimator", "register_entropy_estimator",
           "register_mi_estimator"]

DISCRETE = _discrete.DISCRETE_METHODS
KNN_MI = ("ksg", "ksg1", "ksg2", "copula_ksg")
GAUSS = ("gaussian", "gaussian_copula")
NEURAL = ("mine", "nwj", "infonce", "smile", "doe")
#: above this total dimension dx + dy, "auto" MI uses the Gaussian copula instead of k-NN
AUTO_MAX_KNN_DIM = 20
#: smallest sample for the cross-fitted kernel-CCA term of "auto" (each half fits a CCA)
AUTO_CCA_MIN_N = 200

#: a confidence interval (low, high) in nats
Interval: TypeAlias = tuple[float, float]
#: what an estimator handler returns: the estimate in nats, the interval (None when no
#: interval was asked for) and the details stored in ``Estimate.details``
HandlerResult: TypeAlias = tuple[SupportsFloat, "Interval | None", dict[str, Any]]
#: ``discrete=``: None (from the dtypes), one bool for all variables, or one bool per variable
Discrete: TypeAlias = "bool | Sequence[bool] | None"


# ----------------------------------------------------------------------------- helpers
def _is_discrete(arr: np.ndarray) -> bool:
    return np.asarray(arr).dtype.kind not in "fc"


#: a float column with integer values only and at most this many distinct ones reads as labels
FLOAT_LABEL_MAX_LEVELS = 10


def _float_label_columns(arr: np.ndarray) -> np.ndarray:
    """Per column of a float array: True where it holds only integer values, at most
    FLOAT_LABEL_MAX_LEVELS distinct ones and more than one (labels stored as 0.0/1.0/2.0)."""
    a = arr.reshape(len(arr), -1)
    out = np.zeros(a.shape[1], dtype=bool)
    if a.dtype.kind != "f" or not np.all(np.isfinite(a)):
        return out
    for j in range(a.shape[1]):
        col = a[:, j]
        if np.all(col == np.round(col)):
            levels = len(np.unique(col))
            out[j] = 1 < levels <= FLOAT_LABEL_MAX_LEVELS
    return out


def _kinds(arrays: Sequence[np.ndarray], names: Sequence[str], discrete: Discrete,
           notes: list[str] | None = None) -> list[bool]:
    """Per-variable discreteness: from dtype, or forced by ``discrete`` (bool or sequence).

    With ``notes`` (the caller asked for ``method="auto"``) and without ``discrete``, a float
    variable whose columns all hold a few integer values (labels stored as floats) is read as
    labels, with a line added to ``notes``; one that mixes such columns with continuous ones
    is refused (its type must be declared). A method named by the caller reads floats as its
    data type says.
    """
    if discrete is None:
        kinds = []
        for arr, name in zip(arrays, names):
            if arr.dtype.kind != "f" or notes is None:
                kinds.append(_is_discrete(arr))
                continue
            labels = _float_label_columns(arr)
            if labels.all():
                levels = [len(np.unique(c)) for c in arr.reshape(len(arr), -1).T]
                if notes is not None:
                    notes.append(f"{name} holds floats with only integer values ({max(levels)} "
                                 f"distinct at most): read as discrete labels; pass "
                                 f"discrete=False to treat them as numbers")
                kinds.append(True)
            elif labels.any() and arr.ndim == 2 and len(labels) > 1:
                raise ValueError(
                    f"{name} mixes label-like float columns {np.flatnonzero(labels).tolist()} "
                    f"(a few integer values) with continuous columns "
                    f"{np.flatnonzero(~labels).tolist()}; declare the type with discrete= "
                    f"(one bool per variable), or estimate the two kinds of columns separately")
            else:
                kinds.append(False)
        return kinds
    if isinstance(discrete, bool | np.bool_):
        return [bool(discrete)] * len(arrays)
    flags = list(discrete)
    if len(flags) != len(arrays):
        raise ValueError(f"discrete must be None, a bool or {len(arrays)} bools "
                         f"(one per {', '.join(names)}); got {discrete!r}")
    return [bool(f) for f in flags]


def _as_array(x: object, name: str) -> np.ndarray:
    if x is None:
        raise TypeError(f"{name} must be an array-like; got None")
    return check_labels(x, name)


def _check_common(ci: str | None, confidence: float, n_resamples: int,
                  random_state: RandomStateLike, n_jobs: int | None,
                  allow_auto: bool = False) -> int:
    """Validate the shared keyword arguments before any work; return n_jobs as an int."""
    if ci not in (None, "bootstrap", "analytic") and not (allow_auto and ci == "auto"):
        options = "None, 'auto', 'bootstrap' or 'analytic'" if allow_auto \
            else "None, 'bootstrap' or 'analytic'"
        raise ValueError(f"ci must be {options}; got {ci!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float | np.floating) \
            or not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1; got {confidence!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) \
            or n_resamples < 2:
        raise ValueError(f"n_resamples must be an integer >= 2; got {n_resamples!r}")
    check_random_state_arg(random_state)
    return check_n_jobs(n_jobs)


def _check_labels_not_continuous(arrays: Sequence[np.ndarray], names: Sequence[str],
                                 kinds: Sequence[bool], method: str) -> None:
    """Refuse continuous floats in the variables treated as discrete (see
    :func:`infotheory._validation.check_discrete_labels`)."""
    for arr, name, disc in zip(arrays, names, kinds):
        if disc:
            check_discrete_labels(arr, name, f"discrete=True or method={method!r}")


def _check_choice(method: str, allowed: Sequence[str], what: str) -> None:
    if method not in allowed:
        raise ValueError(f"method for {what} must be one of {allowed}; got {method!r}")


def _default_k(k: int | None, method: str) -> int:
    if k is None:
        return 1 if method == "copula_ksg" else 3
    return k


def _interval(ci: str | None, value: float, *, std_error: float | None = None,
              statistic: Callable[[np.ndarray], SupportsFloat] | None = None, n: int,
              confidence: float, n_resamples: int, random_state: RandomStateLike,
              method: str) -> Interval | None:
    if ci is None:
        return None
    if ci == "analytic":
        if std_error is None:
            raise ValueError(f"ci='analytic' is not available for method={method!r}; "
                             f"use ci='bootstrap'")
        return analytic_interval(value, std_error, confidence)
    if ci == "bootstrap":
        if statistic is None:
            raise ValueError(f"ci='bootstrap' is not available for method={method!r}; "
                             f"use ci='analytic'")
        return bootstrap_interval(statistic, n, n_resamples=n_resamples, confidence=confidence,
                                  random_state=random_state)
    raise ValueError(f"ci must be None, 'bootstrap' or 'analytic'; got {ci!r}")


def _half_sample_interval(ci: str | None, value: float, terms: np.ndarray | None, shift: float,
                          recompute: Callable[[np.ndarray, int], float], *, confidence: float,
                          n_resamples: int, random_state: RandomStateLike, method: str,
                          n: int | None = None) -> Interval | None:
    """k-NN interval: ``"analytic"`` from the per-point terms (independence assumed),
    ``"bootstrap"`` by recomputing the estimator on half-samples (see the module notes)."""
    if ci is None:
        return None
    if ci != "bootstrap":
        if terms is None:
            raise ValueError(f"ci={ci!r} for method={method!r} needs the per-point terms; "
                             f"got terms=None")
        return _terms_interval(ci, terms, shift, confidence=confidence,
                               n_resamples=n_resamples, random_state=random_state,
                               method=method)
    if n is None:
        if terms is None:
            raise ValueError(f"ci='bootstrap' for method={method!r} needs the per-point terms "
                             f"or n; got neither")
        n = len(terms)
    else:
        n = int(n)
    if n < 8:
        raise ValueError(f"ci='bootstrap' for k-NN estimators needs n >= 8; got n={n}")
    if int(n_resamples) < 2:
        raise ValueError(f"n_resamples must be >= 2; got {n_resamples}")
    level = float(confidence)
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1; got {confidence}")
    rng = check_random_state(random_state)
    # a stream of its own, so the interval does not change the estimate's random draws
    rng = check_random_state(rng.randint(2**31) + 7919)
    reps = np.array([recompute(np.sort(rng.choice(n, n // 2, replace=False)),
                               rng.randint(2**31)) for _ in range(int(n_resamples))])
    alpha = (1.0 - level) / 2.0
    centre = float(np.mean(reps))
    return (float(value + np.quantile(reps, alpha) - centre),
            float(value + np.quantile(reps, 1.0 - alpha) - centre))


def _radial(z: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of normal scores (a 1-D variable is returned as it is)."""
    return z if z.shape[1] == 1 else np.linalg.norm(z, axis=1, keepdims=True)


#: random Fourier features per variable of the cross-fitted CCA term of "auto"
AUTO_CCA_FEATURES = 300
#: ridge added to the standardised feature covariances of that CCA
AUTO_CCA_RIDGE = 1e-2


def _random_features(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[z, sqrt(2/D) cos(z W + b)]: the scores and D random Fourier features of a Gaussian
    kernel of bandwidth sqrt(d), about the distance between rows of d normal scores."""
    d = z.shape[1]
    W = rng.standard_normal((d, AUTO_CCA_FEATURES)) / np.sqrt(d)
    b = rng.uniform(0.0, 2.0 * np.pi, AUTO_CCA_FEATURES)
    return np.hstack([z, np.sqrt(2.0 / AUTO_CCA_FEATURES) * np.cos(z @ W + b)])


def _cca_projections(zx: np.ndarray, zy: np.ndarray, fit: np.ndarray, apply: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Kernel CCA (random features, ridge) fitted on rows ``fit``, applied to rows ``apply``:
    the first min(dx, dy) canonical variates of X and of Y on the ``apply`` rows."""
    feats = []
    for z in (zx, zy):
        F = _random_features(z, rng)
        mu, sd = F[fit].mean(0), F[fit].std(0) + 1e-12
        feats.append((F - mu) / sd)
    Fx, Fy = feats
    m = len(fit)
    cxx = Fx[fit].T @ Fx[fit] / m + AUTO_CCA_RIDGE * np.eye(Fx.shape[1])
    cyy = Fy[fit].T @ Fy[fit] / m + AUTO_CCA_RIDGE * np.eye(Fy.shape[1])
    cxy = Fx[fit].T @ Fy[fit] / m
    lx, ly = np.linalg.cholesky(cxx), np.linalg.cholesky(cyy)
    whitened = np.linalg.solve(lx, np.linalg.solve(ly, cxy.T).T)      # Lx^-1 Cxy Ly^-T
    u, _, vt = np.linalg.svd(whitened)
    r = min(zx.shape[1], zy.shape[1])
    wx = np.linalg.solve(lx.T, u[:, :r])
    wy = np.linalg.solve(ly.T, vt[:r].T)
    return Fx[apply] @ wx, Fy[apply] @ wy


def _cross_fitted_cca_terms(zx: np.ndarray, zy: np.ndarray, k: int, seed: int,
                            n_jobs: int) -> np.ndarray:
    """KSG of the normal scores of kernel-CCA variates, cross-fitted: per-point terms (raw).

    The rows are split in two halves; the CCA fitted on one half maps the other half, whose
    MI is then estimated by KSG on normal scores, and the other way round. The maps are
    functions of X alone and of Y alone, fitted on rows that are not evaluated, so by data
    processing the estimate targets a quantity <= I(X;Y) however the fit went.
    """
    rng = np.random.default_rng(seed)
    with threadpool_limits(limits=1):
        perm = rng.permutation(len(zx))
        halves = (np.sort(perm[: len(zx) // 2]), np.sort(perm[len(zx) // 2:]))
        terms = []
        for fit, apply in (halves, halves[::-1]):
            gx, hy = _cca_projections(zx, zy, fit, apply, rng)
            scores = [_gaussian.copula_normalize(gx), _gaussian.copula_normalize(hy)]
            px, py = _prep(scores, int(rng.integers(2**31)))
            terms.append(_knn.ksg_terms(px, py, k=k, n_jobs=n_jobs))
    return np.concatenate(terms)


def _kcca_pipeline_bias(zx: np.ndarray, zy: np.ndarray, k: int, seed: int,
                        n_jobs: int) -> float:
    """Bias of the whole cross-fitted kernel-CCA pipeline on a Gaussian sample with the
    correlation matrix of the normal scores (whose MI is known exactly).

    Correcting the variates' KSG with a Gaussian of *their* correlation (the earlier design)
    reads nonlinear variates (x^2 with y^2) as extra channels and over-corrects by up to
    +0.7 nats on rotated Gaussian tasks of the task generator; running the same fit on a
    Gaussian reference measures the bias of the fit and of the k-NN step together.
    """
    rng = np.random.default_rng(seed)
    dx = zx.shape[1]
    corr = np.corrcoef(np.hstack([zx, zy]), rowvar=False)
    ref = rng.standard_normal((len(zx), len(corr))) @ np.linalg.cholesky(corr).T
    truth = _gaussian.gaussian_mi_from_covariance(corr, dx)
    rx, ry = _gaussian.copula_normalize(ref[:, :dx]), _gaussian.copula_normalize(ref[:, dx:])
    return float(np.mean(_cross_fitted_cca_terms(rx, ry, k, int(rng.integers(2**31)),
                                                 n_jobs))) - truth


def _auto_continuous(Xc: np.ndarray, Yc: np.ndarray, k: int, random_state: RandomStateLike,
                     n_jobs: int) -> tuple[float, np.ndarray | None, float, dict[str, Any]]:
    """``auto`` for continuous X, Y with dx + dy <= 20: value, per-point terms, shift, details.

    The largest of estimates of quantities that are all <= I(X;Y): copula-KSG of (X, Y), the
    Gaussian-copula estimate, copula-KSG of the radial summaries of the normal scores and,
    when X or Y has more than one column and n >= AUTO_CCA_MIN_N, cross-fitted copula-KSG of
    kernel-CCA variates (see the module notes).
    """
    rng = check_random_state(random_state)
    terms, bias, scores = _copula_ksg([Xc, Yc], k, "mi", rng.randint(2**31), n_jobs)
    cands: dict[str, tuple[float, np.ndarray | None, float]] = {
        "copula_ksg": (float(np.mean(terms)) - bias, terms, -bias),
             "gaussian_copula": (_gaussian.gaussian_mutual_information(*scores), None, 0.0)}
    if max(Xc.shape[1], Yc.shape[1]) > 1:
        r_terms, r_bias, _ = _copula_ksg([_radial(scores[0]), _radial(scores[1])], k, "mi",
                                         rng.randint(2**31), n_jobs)
        cands["radial_copula_ksg"] = (float(np.mean(r_terms)) - r_bias, r_terms, -r_bias)
        if len(Xc) >= AUTO_CCA_MIN_N:
            c_terms = _cross_fitted_cca_terms(scores[0], scores[1], k, rng.randint(2**31),
                                              n_jobs)
            c_bias = _kcca_pipeline_bias(scores[0], scores[1], k, rng.randint(2**31), n_jobs)
            cands["kcca_copula_ksg"] = (float(np.mean(c_terms)) - c_bias, c_terms, -c_bias)
    chosen = max(cands, key=lambda name: cands[name][0])
    value, t, shift = cands[chosen]
    details: dict[str, Any] = {name: c[0] for name, c in cands.items()}
    n = len(Xc)
    for name, (_, ct, _) in cands.items():   # standard errors, per-point terms independent
        details[f"{name}_se"] = (float(np.std(ct) / np.sqrt(n)) if ct is not None else
                                 float(np.sqrt(np.sum(_gaussian.canonical_correlations(
                                     *scores) ** 2) / n)))
    return value, t, shift, dict(details, chosen=chosen, k=k, reference_bias=bias)


def _plugin_local_se(codes: Sequence[np.ndarray], terms: Sequence[tuple[int, Sequence[int]]],
                     n: int) -> float:
    """Delta-method standard error of a plug-in entropy combination from local log-terms."""
    local = np.zeros(n)
    for sign, idx in terms:
        joint = _discrete.encode_labels(*[codes[i] for i in idx])
        p = np.bincount(joint)[joint] / n
        local -= sign * np.log(p)
    return float(np.std(local) / np.sqrt(n))


def _terms_interval(ci: str | None, terms: np.ndarray, shift: float, *, confidence: float,
                    n_resamples: int, random_state: RandomStateLike,
                    method: str) -> Interval | None:
    """Interval of ``mean(terms) + shift`` treating the per-sample terms as independent."""
    n = len(terms)
    value = float(np.mean(terms)) + shift
    return _interval(ci, value, std_error=float(np.std(terms) / np.sqrt(n)),
                     statistic=lambda idx: float(np.mean(terms[idx])) + shift, n=n,
                     confidence=confidence, n_resamples=n_resamples,
                     random_state=random_state, method=method)


def _prep(arrays: Sequence[np.ndarray], random_state: RandomStateLike,
          standardize: bool = True) -> list[np.ndarray]:
    rng = check_random_state(random_state)
    return [_knn.prepare_continuous(a, f"xs[{i}]", standardize=standardize,
                                    random_state=rng.randint(2**31))
            for i, a in enumerate(arrays)]


def _copula_ksg(arrays: Sequence[np.ndarray], k: int, kind: str, random_state: RandomStateLike,
                n_jobs: int) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """Bias-corrected KSG on normal scores; ``kind`` is "mi" or "cmi". Returns value, terms."""
    rng = check_random_state(random_state)
    scores = [_gaussian.copula_normalize(a) for a in arrays]
    prepared = _prep(scores, rng.randint(2**31))
    # (X, Y) or (X, Y, Z): the two term functions differ in arity
    fn: Callable[..., np.ndarray] = _knn.ksg_terms if kind == "mi" else _knn.ksg_cmi_terms
    terms = fn(*prepared, k=k, n_jobs=n_jobs)
    dims = np.cumsum([0] + [a.shape[1] for a in scores])
    with np.errstate(divide="ignore", invalid="ignore"):     # constant column: NaN, see below
        corr = np.atleast_2d(np.corrcoef(np.hstack(scores), rowvar=False))
    try:
        if not np.all(np.isfinite(corr)):
            raise np.linalg.LinAlgError
        chol = np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        names = "X and Y" if kind == "mi" else "X, Y and Z"
        raise ValueError(f"method='copula_ksg' needs the normal scores of {names} to have a "
                         f"non-singular correlation matrix; got a singular one: a column is "
                         f"constant, or an increasing or decreasing function of other columns "
                         f"(then the MI is infinite). Remove that column") from None
    # a few reference replicates at small n, where one replicate's variance would dominate
    ref_means = []
    for _ in range(int(np.clip(20000 // len(terms), 1, 5))):
        ref = rng.standard_normal((len(terms), len(corr))) @ chol.T
        ref_arrays = [ref[:, dims[i]:dims[i + 1]] for i in range(len(arrays))]
        ref_means.append(np.mean(fn(*_prep(ref_arrays, rng.randint(2**31)), k=k, n_jobs=n_jobs)))
    if kind == "mi":
        truth = _gaussian.gaussian_mi_from_covariance(corr, dims[1])
    else:
        truth = _gaussian.gaussian_cmi_from_covariance(corr, dims[1], dims[2] - dims[1])
    bias = float(np.mean(ref_means)) - truth
    return terms, bias, scores


# ----------------------------------------------------------------------------- calls
class _CommonOptions(TypedDict):
    """The interval options every estimator passes on (see :meth:`MICall.interval`)."""

    confidence: float
    n_resamples: int
    random_state: RandomStateLike
    method: str


class _CallHelpers:
    """The helpers of :class:`EntropyCall`, :class:`MICall` and :class:`CMICall`."""

    n: int
    method: str
    k: int | None
    ci: str | None
    confidence: float
    n_resamples: int
    random_state: RandomStateLike

    def neighbours(self) -> int:
        """The checked neighbour order ``k`` (default 3; 1 for ``"copula_ksg"``)."""
        return check_k(_default_k(self.k, self.method), self.n)

    def interval(self, value: float, *, std_error: float | None = None,
                 statistic: Callable[[np.ndarray], SupportsFloat] | None = None,
                 n: int | None = None) -> Interval | None:
        """The requested interval (None when ``ci`` is None): ``"analytic"`` from
        ``std_error``, ``"bootstrap"`` by resampling the rows given to ``statistic(idx)``."""
        return _interval(self.ci, value, std_error=std_error, statistic=statistic,
                         n=self.n if n is None else n, **self._common())

    def half_sample_interval(self, value: float, terms: np.ndarray | None, shift: float,
                             recompute: Callable[[np.ndarray, int], float],
                             n: int | None = None) -> Interval | None:
        """k-NN interval: per-point ``terms`` (analytic) or ``recompute(idx, seed)`` on
        half-samples (bootstrap); see the module notes."""
        return _half_sample_interval(self.ci, value, terms, shift, recompute, n=n,
                                     **self._common())

    def _common(self) -> _CommonOptions:
        return dict(confidence=self.confidence, n_resamples=self.n_resamples,
                    random_state=self.random_state, method=self.method)


#: what a registered handler may ask for (see the ``register_*_estimator`` functions)
_DATA = ("discrete", "continuous", "any")


def _check_registration(table: Mapping[str, object], name: str, handler: object,
                        data: str) -> None:
    """Refuse a taken or reserved name, a handler that is not callable, an unknown ``data``."""
    if not isinstance(name, str) or name == "auto" or name in table:
        raise ValueError(f"name must be a new method name (not 'auto' nor one of "
                         f"{tuple(table)}); got {name!r}")
    if not callable(handler):
        raise TypeError(f"handler must be callable; got {handler!r}")
    if data not in _DATA:
        raise ValueError(f"data must be one of {_DATA}; got {data!r}")


def _auto_discrete_method(arrays: Sequence[np.ndarray], n: int) -> str:
    """``"auto"`` for labels: Miller-Madow with >= 5 samples per observed joint cell, else NSB."""
    cells = len(np.unique(_discrete.encode_labels(*arrays)))
    return "miller_madow" if n >= 5 * cells else "nsb"


def _result(value: SupportsFloat, interval: Interval | None, details: Mapping[str, Any] | None,
            *, method: str, n: int, ci: str | None, confidence: float,
            quantity: str = "mutual_information", reliability: str = "ok",
            notes: Sequence[str] = ()) -> Estimate:
    """The one place where the front doors build their :class:`Estimate`."""
    return Estimate(value, method=method, n=n, quantity=quantity, ci=interval,
                    ci_level=confidence if interval is not None else None,
                    ci_method=ci if interval is not None else None, details=details,
                    reliability=reliability, notes=notes)


# ----------------------------------------------------------------------------- entropy
def entropy(X: ArrayLike, method: str = "auto", *, k: int | None = None,
            discrete: Discrete = None, n_categories: ArrayLike | None = None,
            ci: str | None = None, confidence: float = 0.95, n_resamples: int = 200,
            random_state: RandomStateLike = None, n_jobs: int | None = None) -> Estimate:
    """Entropy H(X) (discrete) or differential entropy h(X) (continuous), in nats.

    Parameters
    ----------
    X : array-like of shape (n,) or (n, d)
        Labels of any dtype (discrete) or floats (continuous).
    method : str, default="auto"
        One of ``"auto"``, ``"plugin"``, ``"miller_madow"``, ``"james_stein"``, ``"nsb"``,
        ``"kl"`` (Kozachenko-Leonenko) or ``"gaussian"``.
    k : int, optional
        Neighbour order of ``"kl"`` (default 3).
    discrete : bool, optional
        Force the data type; by default float arrays are continuous, everything else discrete.
    n_categories : int, optional
        Alphabet size for ``"james_stein"`` / ``"nsb"``.
    ci : {None, "bootstrap", "analytic"}
        Interval to attach (``Estimate.ci``).
    confidence : float, default=0.95
    n_resamples : int, default=200
        Bootstrap replicates.
    random_state : None, int, RandomState or Generator
        Seed of jitter and resampling.
    n_jobs : int or None, default=None
        Threads of the neighbour searches: None means 1, -1 all cores.

    Returns
    -------
    Estimate

    Examples
    --------
    >>> round(entropy(["a", "b", "c", "d"], method="plugin").bits, 6)
    2.0
    >>> rng = np.random.default_rng(0)
    >>> h = entropy(rng.standard_normal(4000), method="kl", random_state=0)
    >>> bool(abs(float(h) - 0.5 * np.log(2 * np.pi * np.e)) < 0.05)
    True
    """
    _check_choice(method, ("auto", *_ENTROPY_ESTIMATORS), "entropy")
    n_jobs = _check_common(ci, confidence, n_resamples, random_state, n_jobs)
    x = _as_array(X, "X")
    n = x.shape[0]
    notes: list[str] = []
    (is_disc,) = _kinds([x], ["X"], discrete, notes if method == "auto" else None)
    spec = None if method == "auto" else _ENTROPY_ESTIMATORS[method]
    if spec is not None and spec.data == "discrete":
        is_disc = True
    _check_labels_not_continuous([x], ["X"], [is_disc], method)
    if spec is None:
        method = _auto_discrete_method([x], n) if is_disc else "kl"
        spec = _ENTROPY_ESTIMATORS[method]
    if spec.data == "continuous":
        x = check_continuous(x, "X")
    call = EntropyCall(x=x, n=n, method=method, discrete=is_disc, k=k,
                       n_categories=n_categories, ci=ci, confidence=confidence,
                       n_resamples=n_resamples, random_state=random_state, n_jobs=n_jobs)
    value, interval, details = spec.handler(call)
    return _result(value, interval, details, method=method, n=n, ci=ci, confidence=confidence,
                   quantity="entropy", notes=notes)


@dataclass(frozen=True)
class EntropyCall(_CallHelpers):
    """What an entropy estimator registered with :func:`register_entropy_estimator` receives.

    The front door has validated every argument, resolved ``"auto"`` and read the data.

    Attributes
    ----------
    x : ndarray
        One row per sample: a 2-D float array for ``data="continuous"`` estimators, labels
        (or floats) as read for ``"discrete"`` and ``"any"``.
    n : int
        Number of samples.
    method : str
        The method name (what ``"auto"`` resolved to).
    discrete : bool
        Whether X is treated as discrete.
    k, n_categories, ci, confidence, n_resamples, random_state, n_jobs
        The caller's arguments (``n_jobs`` as an int).
    """

    x: np.ndarray
    n: int
    method: str
    discrete: bool
    k: int | None
    n_categories: ArrayLike | None
    ci: str | None
    confidence: float
    n_resamples: int
    random_state: RandomStateLike
    n_jobs: int


#: an entropy estimator: ``handler(call) -> (value, interval, details)``
EntropyHandler: TypeAlias = Callable[[EntropyCall], HandlerResult]


class _EntropyEstimator(NamedTuple):
    handler: EntropyHandler
    data: str


#: method name -> estimator, in the order of ``ENTROPY_METHODS``
_ENTROPY_ESTIMATORS: dict[str, _EntropyEstimator] = {}


def register_entropy_estimator(name: str, handler: EntropyHandler, *,
                               data: str = "continuous") -> EntropyHandler:
    """Make ``handler`` available as ``entropy(X, method=name)``.

    The same contract as :func:`register_mi_estimator`, for one variable.

    Parameters
    ----------
    name : str
        The new method name (not ``"auto"`` nor one already registered).
    handler : callable
        ``handler(call: EntropyCall) -> (value, interval, details)``: the estimate in nats,
        the interval (``call.interval(...)`` or ``call.half_sample_interval(...)``; None when
        ``call.ci`` is None) and a dict stored in ``Estimate.details``.
    data : {"continuous", "discrete", "any"}, default="continuous"
        ``"continuous"``: X arrives as a 2-D float array (numbers are read as floats, text is
        refused); ``"discrete"``: X is treated as labels (continuous floats are refused);
        ``"any"``: as read, the handler checks it.

    Returns
    -------
    handler

    Examples
    --------
    >>> from infotheory.api import EntropyCall
    >>> def halved_plugin(call: EntropyCall):  # half the plug-in entropy, as a demonstration
    ...     return entropy(call.x, "plugin") / 2, None, {}
    >>> _ = register_entropy_estimator("halved_plugin", halved_plugin, data="discrete")
    >>> round(entropy(["a", "b"] * 10, "halved_plugin").bits, 6)
    0.5
    >>> del _ENTROPY_ESTIMATORS["halved_plugin"]       # (keep the doctest side-effect free)
    """
    _check_registration(_ENTROPY_ESTIMATORS, name, handler, data)
    _ENTROPY_ESTIMATORS[name] = _EntropyEstimator(handler, data)
    return handler


def _entropy_discrete(call: EntropyCall) -> HandlerResult:
    x, method, n_categories = call.x, call.method, call.n_categories
    value = _discrete.discrete_entropy(x, method, n_categories=n_categories)
    se = _plugin_local_se([_discrete.encode_labels(x)], [(1, [0])], call.n)
    stat = lambda idx: _discrete.discrete_entropy(  # noqa: E731
        x[idx], method, n_categories=n_categories)
    return value, call.interval(value, std_error=se, statistic=stat), {}


def _entropy_gaussian(call: EntropyCall) -> HandlerResult:
    Xc = call.x
    value = _gaussian.gaussian_entropy(Xc)
    interval = call.interval(value, std_error=float(np.sqrt(Xc.shape[1] / (2.0 * call.n))),
                             statistic=lambda idx: _gaussian.gaussian_entropy(Xc[idx]))
    return value, interval, {}


def _entropy_kl(call: EntropyCall) -> HandlerResult:
    Xc, n_jobs = call.x, call.n_jobs
    k = call.neighbours()
    # h(X) = h(X / c) + d log c: the k-NN search runs on data scaled to |x| <= 1
    Xp, log_scale = _knn.prepare_continuous(Xc, "X", standardize=False, return_log_scale=True,
                                            random_state=check_random_state(
                                                call.random_state).randint(2**31))
    terms = _knn.kl_entropy_terms(Xp, k, "euclidean", n_jobs) + log_scale

    def recompute(idx: np.ndarray, seed: int) -> float:
        Xh, ls = _knn.prepare_continuous(Xc[idx], "X", standardize=False,
                                         return_log_scale=True, random_state=seed)
        return float(np.mean(_knn.kl_entropy_terms(Xh, min(k, len(idx) - 1), "euclidean",
                                                   n_jobs))) + ls

    value = float(np.mean(terms))
    return value, call.half_sample_interval(value, terms, 0.0, recompute), {"k": k}


# the handler table: one line per method
for _name in DISCRETE:
    register_entropy_estimator(_name, _entropy_discrete, data="discrete")
register_entropy_estimator("kl", _entropy_kl)
register_entropy_estimator("gaussian", _entropy_gaussian)
del _name
#: the built-in entropy methods (the table may hold more: :func:`register_entropy_estimator`)
ENTROPY_METHODS = ("auto", *_ENTROPY_ESTIMATORS)


# ----------------------------------------------------------------------------- MI
def mutual_information(X: ArrayLike, Y: ArrayLike, method: str = "auto", *,
                       k: int | None = None, discrete: Discrete = None,
                       n_categories: ArrayLike | None = None, ci: str | None = "auto",
                       confidence: float = 0.95, n_resamples: int = 200,
                       random_state: RandomStateLike = None, n_jobs: int | None = None,
                       verbose: int = 0, **neural_options: Unpack[NeuralOptions]) -> Estimate:
    """Mutual information I(X;Y) in nats, with the same call for every estimator.

    Parameters
    ----------
    X : array-like of shape (n,) or (n, dx)
    Y : array-like of shape (n,) or (n, dy)
        Labels of any dtype (discrete) or floats (continuous).
    method : str, default="auto"
        See the module docstring for the list and what ``"auto"`` picks.
    k : int, optional
        Neighbour order of the k-NN methods (default 3; 1 for ``"copula_ksg"``).
    discrete : bool or (bool, bool), optional
        Force the data type of X and Y; by default float arrays are continuous.
    n_categories : (int, int), optional
        Alphabet sizes for ``"james_stein"`` / ``"nsb"``.
    ci : {"auto", None, "bootstrap", "analytic"}, default="auto"
        Interval to attach. ``"auto"``: the calibrated interval of continuous ``"auto"``
        and the analytic one of the discrete and Gaussian methods (both cheap), none for the
        other methods. k-NN: ``"bootstrap"`` recomputes the estimator on half-samples
        (accounts for the dependence between per-point terms; see the module notes),
        ``"analytic"`` treats the per-point terms as independent. Neural intervals resample
        the held-out rows with the trained critic fixed.
    confidence : float, default=0.95
    n_resamples : int, default=200
    random_state : None, int, RandomState or Generator
        Seed of jitter, reference samples, resampling and network training.
    n_jobs : int or None, default=None
        Threads of the neighbour searches (torch threads of the neural methods): None means 1,
        -1 all cores.
    verbose : int, default=0
        Progress bar for neural training when > 0.
    **neural_options
        Only for the neural methods: passed to :class:`infotheory.neural.NeuralMIEstimator`
        (``critic``, ``hidden``, ``batch_size``, ``max_steps``, ...). Any other keyword is
        refused with a TypeError naming it.

    Returns
    -------
    Estimate
        The estimate in nats with ``.ci`` (see ``ci``), ``.reliability`` (``"ok"`` or the
        reasons it may be off by more than 0.15 nats) and ``.notes`` (how the input was read
        when that differs from its dtype).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(2000)
    >>> mi = mutual_information(x, y, method="ksg", random_state=0)
    >>> bool(abs(float(mi) - (-0.5 * np.log(1 - 0.64))) < 0.05)
    True
    >>> auto = mutual_information(x, y, random_state=0)
    >>> truth = -0.5 * np.log(1 - 0.64)
    >>> bool(auto.ci[0] < truth < auto.ci[1]), auto.reliability
    (True, 'ok')
    >>> round(float(mutual_information(["a", "b"] * 50, [0, 1] * 50, method="plugin")), 4)
    0.6931
    """
    _check_choice(method, ("auto", *_MI_ESTIMATORS), "mutual_information")
    n_jobs = _check_common(ci, confidence, n_resamples, random_state, n_jobs, allow_auto=True)
    verbose = check_verbose(verbose)
    _check_neural_options(method, neural_options)
    x, y = _as_array(X, "X"), _as_array(Y, "Y")
    n = check_same_length(X=x, Y=y)
    notes: list[str] = []
    dx, dy = _kinds([x, y], ["X", "Y"], discrete, notes if method == "auto" else None)
    spec = None if method == "auto" else _MI_ESTIMATORS[method]
    if spec is not None and spec.data == "discrete":
        dx = dy = True
    _check_labels_not_continuous([x, y], ["X", "Y"], [dx, dy], method)
    if spec is None:
        method, spec = _auto_mi_estimator(x, y, n, dx, dy)
    if spec.data == "continuous":
        x, y = _continuous_pair(x, y, dx, dy, method)
    ci = _resolve_ci(ci, method, spec)
    call = MICall(x=x, y=y, n=n, method=method, discrete=(dx, dy), k=k,
                  n_categories=n_categories, ci=ci, confidence=confidence,
                  n_resamples=n_resamples, random_state=random_state, n_jobs=n_jobs,
                  verbose=verbose, options=neural_options)
    value, interval, details = spec.handler(call)
    details = dict(details)
    reliability = details.pop("reliability", None)
    if reliability is None:
        both_continuous = not (dx or dy) and spec.data == "continuous"
        cells = None if both_continuous or not (dx and dy) else len(np.unique(
            _discrete.encode_labels(x, y)))
        reliability = _reliability.generic_verdict(
            float(value), n, x.size // n + y.size // n, continuous=both_continuous,
            cells=cells)
    return _result(value, interval, details, method=method, n=n, ci=ci, confidence=confidence,
                   reliability=reliability, notes=notes)


def _resolve_ci(ci: str | None, method: str, spec: _MIEstimator) -> str | None:
    """``ci="auto"``: the calibrated interval of continuous ``auto``, the analytic one of the
    discrete and Gaussian methods (cheap), none for the others (ask for ``"bootstrap"``)."""
    if ci != "auto":
        return ci
    if spec.handler is _mi_auto_continuous:
        return "calibrated"
    if method in DISCRETE or method in GAUSS:
        return "analytic"
    return None


def _auto_mi_estimator(x: np.ndarray, y: np.ndarray, n: int, dx: bool,
                       dy: bool) -> tuple[str, _MIEstimator]:
    """What ``method="auto"`` picks for MI (see the module notes): (method name, estimator)."""
    if dx and dy:
        method = _auto_discrete_method([x, y], n)
    elif dx or dy:
        method = "mixed"
    elif x.size // n + y.size // n > AUTO_MAX_KNN_DIM:
        method = "gaussian_copula"
    else:     # reported as "copula_ksg", estimated as the largest of four lower estimates
        return "copula_ksg", _MIEstimator(_mi_auto_continuous, "continuous")
    return method, _MI_ESTIMATORS[method]


def _continuous_pair(x: np.ndarray, y: np.ndarray, dx: bool, dy: bool,
                     method: str) -> tuple[np.ndarray, np.ndarray]:
    """X and Y as 2-D float arrays, or the error that names the discrete one or the
    constant column."""
    if dx or dy:
        check_continuous(x if dx else y, "X" if dx else "Y")  # text: a TypeError naming it
        raise ValueError(f"method={method!r} needs continuous X and Y; got a discrete "
                         f"{'X' if dx else 'Y'} (dtype {(x if dx else y).dtype}); pass "
                         "discrete=False to treat numeric labels as numbers")
    out = check_continuous(x, "X"), check_continuous(y, "Y")
    for arr, name in zip(out, "XY"):
        constant = np.flatnonzero(np.all(arr == arr[:1], axis=0))
        if len(constant) and len(arr) > 1:
            raise ValueError(f"{name} column {int(constant[0])} is constant (every value "
                             f"{float(arr[0, constant[0]])!r}); it carries no information and "
                             f"method={method!r} cannot use it: drop it")
    return out


def _check_neural_options(method: str, options: Mapping[str, object]) -> None:
    """Refuse keyword options that the chosen method would ignore, naming them."""
    if not options:
        return
    if method not in NEURAL:
        raise TypeError(f"unknown keyword option(s) {sorted(options)} for method={method!r}; "
                        f"extra keywords are only for the neural methods {NEURAL}")
    from .neural import NeuralMIEstimator

    allowed = set(NeuralMIEstimator().get_params()) - {"bound", "random_state", "verbose",
                                                        "n_jobs"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"unknown keyword option(s) {unknown} for method={method!r}; the "
                        f"neural options are {sorted(allowed)}")


# ----------------------------------------------------------------------------- MI estimators
@dataclass(frozen=True)
class MICall(_CallHelpers):
    """What an MI estimator registered with :func:`register_mi_estimator` receives.

    The front door has validated every argument, resolved ``"auto"`` and read the data.

    Attributes
    ----------
    x, y : ndarray
        One row per sample: 2-D float arrays for ``data="continuous"`` estimators, labels
        (or floats) as read for ``"discrete"`` and ``"any"``.
    n : int
        Number of samples.
    method : str
        The method name (what ``"auto"`` resolved to).
    discrete : (bool, bool)
        Whether X and Y are treated as discrete.
    k, n_categories, ci, confidence, n_resamples, random_state, n_jobs, verbose
        The caller's arguments (``n_jobs`` as an int).
    options : dict
        Extra keyword options (only the neural methods accept any).
    """

    x: np.ndarray
    y: np.ndarray
    n: int
    method: str
    discrete: tuple[bool, bool]
    k: int | None
    n_categories: ArrayLike | None
    ci: str | None
    confidence: float
    n_resamples: int
    random_state: RandomStateLike
    n_jobs: int
    verbose: int
    options: NeuralOptions


#: an MI estimator: ``handler(call) -> (value, interval, details)``
MIHandler: TypeAlias = Callable[[MICall], HandlerResult]


class _MIEstimator(NamedTuple):
    handler: MIHandler
    data: str


#: method name -> estimator, in the order of ``MI_METHODS``
_MI_ESTIMATORS: dict[str, _MIEstimator] = {}


def register_mi_estimator(name: str, handler: MIHandler, *,
                          data: str = "continuous") -> MIHandler:
    """Make ``handler`` available as ``mutual_information(X, Y, method=name)``.

    Parameters
    ----------
    name : str
        The new method name (not ``"auto"`` nor one already registered).
    handler : callable
        ``handler(call: MICall) -> (value, interval, details)``: the estimate in nats, the
        interval (``call.interval(...)`` or ``call.half_sample_interval(...)``; None when
        ``call.ci`` is None) and a dict stored in ``Estimate.details``.
    data : {"continuous", "discrete", "any"}, default="continuous"
        ``"continuous"``: X and Y arrive as 2-D float arrays (discrete data is refused before
        the handler runs); ``"discrete"``: both are treated as labels (continuous floats are
        refused); ``"any"``: as read, the handler checks them.

    Returns
    -------
    handler

    Examples
    --------
    See ``CONTRIBUTING.md`` ("Adding an MI estimator").
    """
    _check_registration(_MI_ESTIMATORS, name, handler, data)
    _MI_ESTIMATORS[name] = _MIEstimator(handler, data)
    return handler


def _mi_discrete(call: MICall) -> HandlerResult:
    x, y, method = call.x, call.y, call.method
    value = _discrete.discrete_mutual_information(x, y, method, n_categories=call.n_categories)
    codes = [_discrete.encode_labels(x), _discrete.encode_labels(y)]
    se = _plugin_local_se(codes, [(1, [0]), (1, [1]), (-1, [0, 1])], call.n)
    stat = lambda idx: _discrete.discrete_mutual_information(  # noqa: E731
        x[idx], y[idx], method, n_categories=call.n_categories)
    return value, call.interval(value, std_error=se, statistic=stat), {}


def _mi_mixed(call: MICall) -> HandlerResult:
    dx, dy = call.discrete
    if dx == dy:
        raise ValueError("method='mixed' needs one discrete and one continuous variable; "
                         f"got discrete X={dx}, discrete Y={dy}")
    cont, labels = (call.y, call.x) if dx else (call.x, call.y)
    k = call.neighbours()
    scores = _gaussian.copula_normalize(check_continuous(cont, "X" if dy else "Y"))
    cont_c = check_continuous(cont, "X" if dy else "Y")
    codes = _discrete.encode_labels(labels)
    (cp,) = _prep([scores], call.random_state)
    terms = _knn.mixed_terms(cp, codes, k, call.n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        (ch,) = _prep([_gaussian.copula_normalize(cont_c[idx])], seed)
        return float(np.mean(_knn.mixed_terms(ch, _discrete.encode_labels(codes[idx]), k,
                                              call.n_jobs)))

    value = np.mean(terms)
    return value, call.half_sample_interval(value, terms, 0.0, recompute), {"k": k}


def _mi_ksg(call: MICall) -> HandlerResult:
    Xc, Yc = call.x, call.y
    k = call.neighbours()
    variant = 2 if call.method == "ksg2" else 1
    Xp, Yp = _prep([Xc, Yc], call.random_state)
    terms = _knn.ksg_terms(Xp, Yp, k, variant, call.n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        xh, yh = _prep([Xc[idx], Yc[idx]], seed)
        return float(np.mean(_knn.ksg_terms(xh, yh, k, variant, call.n_jobs)))

    value = np.mean(terms)
    return value, call.half_sample_interval(value, terms, 0.0, recompute), {"k": k}


def _mi_auto_continuous(call: MICall) -> HandlerResult:
    Xc, Yc = call.x, call.y
    k = call.neighbours()
    value, terms, shift, details = _auto_continuous(Xc, Yc, k, call.random_state, call.n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        return _auto_continuous(Xc[idx], Yc[idx], k, seed, call.n_jobs)[0]

    dims = Xc.shape[1], Yc.shape[1]
    if call.ci == "calibrated":
        interval: Interval | None = _reliability.auto_interval(value, details, *dims, call.n,
                                                                call.confidence)
    elif terms is None and call.ci == "analytic":      # the Gaussian-copula estimate won
        interval = _gaussian_interval(call, value, [_gaussian.copula_normalize(Xc),
                                                    _gaussian.copula_normalize(Yc)])
    else:
        interval = call.half_sample_interval(value, terms, shift, recompute, n=call.n)
    verdict = _reliability.auto_verdict(value, details, *dims, call.n, call.confidence)
    return value, interval, dict(details, reliability=verdict)


def _mi_copula_ksg(call: MICall) -> HandlerResult:
    Xc, Yc = call.x, call.y
    k = call.neighbours()
    terms, bias, scores = _copula_ksg([Xc, Yc], k, "mi", call.random_state, call.n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        t, b, sc = _copula_ksg([Xc[idx], Yc[idx]], k, "mi", seed, call.n_jobs)
        return max(float(np.mean(t)) - b, _gaussian.gaussian_mutual_information(*sc))

    knn_value = float(np.mean(terms)) - bias
    gauss = _gaussian.gaussian_mutual_information(*scores)
    details = dict(k=k, ksg=knn_value, reference_bias=bias, gaussian_copula=gauss)
    if gauss > knn_value:
        return gauss, _gaussian_interval(call, gauss, scores), dict(details,
                                                                      chosen="gaussian_copula")
    return (knn_value, call.half_sample_interval(knn_value, terms, -bias, recompute),
            dict(details, chosen="ksg"))


def _mi_gaussian(call: MICall) -> HandlerResult:
    Xc, Yc = call.x, call.y
    data = [Xc, Yc] if call.method == "gaussian" else [_gaussian.copula_normalize(Xc),
                                                       _gaussian.copula_normalize(Yc)]
    value = _gaussian.gaussian_mutual_information(*data)
    return value, _gaussian_interval(call, value, data), {}


def _mi_neural(call: MICall) -> HandlerResult:
    from .neural import NeuralMIEstimator

    est = NeuralMIEstimator(bound=call.method, random_state=call.random_state,
                            verbose=call.verbose, n_jobs=call.n_jobs,
                            **call.options).fit(call.x, call.y)
    interval = call.interval(est.estimate_, statistic=est.held_out_statistic, n=est.n_test_)
    return est.estimate_, interval, dict(train_curve=est.history_, steps=est.n_steps_)


def _gaussian_interval(call: MICall, value: float,
                       data: Sequence[np.ndarray]) -> Interval | None:
    rho = _gaussian.canonical_correlations(*data)
    n = data[0].shape[0]
    return call.interval(value, std_error=float(np.sqrt(np.sum(rho**2) / n)),
                         statistic=lambda idx: _gaussian.gaussian_mutual_information(
                             data[0][idx], data[1][idx]), n=n)


# the handler table: one line per method (see CONTRIBUTING.md, "Adding an MI estimator")
for _name in DISCRETE:
    register_mi_estimator(_name, _mi_discrete, data="discrete")
for _name in ("ksg", "ksg1", "ksg2"):
    register_mi_estimator(_name, _mi_ksg)
register_mi_estimator("copula_ksg", _mi_copula_ksg)
register_mi_estimator("mixed", _mi_mixed, data="any")
for _name in GAUSS:
    register_mi_estimator(_name, _mi_gaussian)
for _name in NEURAL:
    register_mi_estimator(_name, _mi_neural)
del _name
#: the built-in MI methods (the handler table may hold more: :func:`register_mi_estimator`)
MI_METHODS = ("auto", *_MI_ESTIMATORS)


# ----------------------------------------------------------------------------- CMI
def conditional_mutual_information(X: ArrayLike, Y: ArrayLike, Z: ArrayLike,
                                   method: str = "auto", *, k: int | None = None,
                                   discrete: Discrete = None,
                                   n_categories: ArrayLike | None = None, ci: str | None = None,
                                   confidence: float = 0.95, n_resamples: int = 200,
                                   random_state: RandomStateLike = None,
                                   n_jobs: int | None = None) -> Estimate:
    """Conditional mutual information I(X;Y|Z) in nats.

    Parameters
    ----------
    X, Y, Z : array-like of shape (n,) or (n, d)
        All discrete (labels of any dtype) or all continuous (floats).
    method : str, default="auto"
        ``"auto"``, a discrete method, ``"ksg"`` (Frenzel-Pompe), ``"copula_ksg"``,
        ``"gaussian"`` or ``"gaussian_copula"``. ``"auto"`` picks Miller-Madow/NSB for labels
        and ``"copula_ksg"`` for floats.
    k : int, optional
        Neighbour order (default 3; 1 for ``"copula_ksg"``).
    discrete : bool or (bool, bool, bool), optional
    n_categories : (int, int, int), optional
    ci : {None, "bootstrap", "analytic"}
    confidence : float, default=0.95
    n_resamples : int, default=200
    random_state : None, int, RandomState or Generator
    n_jobs : int or None, default=None
        Threads of the neighbour searches: None means 1, -1 all cores.

    Returns
    -------
    Estimate

    Examples
    --------
    >>> x = np.array([0, 1, 0, 1] * 25)
    >>> z = np.array([0, 0, 1, 1] * 25)
    >>> round(conditional_mutual_information(x, x ^ z, z, method="plugin").bits, 6)
    1.0
    """
    _check_choice(method, ("auto", *_CMI_ESTIMATORS), "conditional_mutual_information")
    n_jobs = _check_common(ci, confidence, n_resamples, random_state, n_jobs)
    arrays = [_as_array(a, name) for a, name in zip((X, Y, Z), "XYZ")]
    n = check_same_length(X=arrays[0], Y=arrays[1], Z=arrays[2])
    notes: list[str] = []
    kinds = _kinds(arrays, ["X", "Y", "Z"], discrete, notes if method == "auto" else None)
    spec = None if method == "auto" else _CMI_ESTIMATORS[method]
    if spec is not None and spec.data == "discrete":
        kinds = [True, True, True]
    _check_labels_not_continuous(arrays, ["X", "Y", "Z"], kinds, method)
    if spec is None:
        method = _auto_cmi_method(arrays, n, kinds)
        spec = _CMI_ESTIMATORS[method]
    if spec.data == "continuous":
        arrays = _continuous_triple(arrays, kinds, method)
    x, y, z = arrays
    call = CMICall(x=x, y=y, z=z, n=n, method=method, discrete=(kinds[0], kinds[1], kinds[2]),
                   k=k, n_categories=n_categories, ci=ci, confidence=confidence,
                   n_resamples=n_resamples, random_state=random_state, n_jobs=n_jobs)
    value, interval, details = spec.handler(call)
    return _result(value, interval, details, method=method, n=n, ci=ci, confidence=confidence,
                   quantity="conditional_mutual_information", notes=notes)


def _auto_cmi_method(arrays: Sequence[np.ndarray], n: int, kinds: Sequence[bool]) -> str:
    """What ``method="auto"`` picks for CMI: Miller-Madow/NSB for labels, copula-KSG for
    floats; mixed kinds are refused."""
    if all(kinds):
        return _auto_discrete_method(arrays, n)
    if not any(kinds):
        return "copula_ksg"
    raise ValueError("conditional MI of mixed discrete and continuous variables is not "
                     f"supported; got discrete (X, Y, Z) = {tuple(kinds)}")


def _continuous_triple(arrays: Sequence[np.ndarray], kinds: Sequence[bool],
                       method: str) -> list[np.ndarray]:
    """X, Y and Z as 2-D float arrays, or the error that names the discrete ones."""
    if any(kinds):
        raise ValueError(f"method={method!r} needs continuous X, Y and Z; got discrete "
                         f"(X, Y, Z) = {tuple(kinds)}")
    return [check_continuous(a, name) for a, name in zip(arrays, "XYZ")]


@dataclass(frozen=True)
class CMICall(_CallHelpers):
    """What a CMI estimator registered with :func:`register_cmi_estimator` receives.

    The front door has validated every argument, resolved ``"auto"`` and read the data.

    Attributes
    ----------
    x, y, z : ndarray
        One row per sample: 2-D float arrays for ``data="continuous"`` estimators, labels
        (or floats) as read for ``"discrete"`` and ``"any"``.
    n : int
        Number of samples.
    method : str
        The method name (what ``"auto"`` resolved to).
    discrete : (bool, bool, bool)
        Whether X, Y and Z are treated as discrete.
    k, n_categories, ci, confidence, n_resamples, random_state, n_jobs
        The caller's arguments (``n_jobs`` as an int).
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    n: int
    method: str
    discrete: tuple[bool, bool, bool]
    k: int | None
    n_categories: ArrayLike | None
    ci: str | None
    confidence: float
    n_resamples: int
    random_state: RandomStateLike
    n_jobs: int


#: a CMI estimator: ``handler(call) -> (value, interval, details)``
CMIHandler: TypeAlias = Callable[[CMICall], HandlerResult]


class _CMIEstimator(NamedTuple):
    handler: CMIHandler
    data: str


#: method name -> estimator, in the order of ``CMI_METHODS``
_CMI_ESTIMATORS: dict[str, _CMIEstimator] = {}


def register_cmi_estimator(name: str, handler: CMIHandler, *,
                           data: str = "continuous") -> CMIHandler:
    """Make ``handler`` available as ``conditional_mutual_information(X, Y, Z, method=name)``.

    The same contract as :func:`register_mi_estimator`, for three variables.

    Parameters
    ----------
    name : str
        The new method name (not ``"auto"`` nor one already registered).
    handler : callable
        ``handler(call: CMICall) -> (value, interval, details)``: the estimate in nats, the
        interval (``call.interval(...)`` or ``call.half_sample_interval(...)``; None when
        ``call.ci`` is None) and a dict stored in ``Estimate.details``.
    data : {"continuous", "discrete", "any"}, default="continuous"
        ``"continuous"``: X, Y and Z arrive as 2-D float arrays (discrete data is refused
        before the handler runs); ``"discrete"``: all three are treated as labels (continuous
        floats are refused); ``"any"``: as read, the handler checks them.

    Returns
    -------
    handler

    Examples
    --------
    >>> from infotheory.api import CMICall
    >>> def chain_rule(call: CMICall):  # I(X;Y|Z) = I(X;(Y,Z)) - I(X;Z), plug-in
    ...     yz = np.column_stack([call.y, call.z])
    ...     value = (mutual_information(call.x, yz, "plugin")
    ...              - mutual_information(call.x, call.z, "plugin"))
    ...     return value, None, {}
    >>> _ = register_cmi_estimator("chain_rule", chain_rule, data="discrete")
    >>> x, z = np.array([0, 1, 0, 1] * 25), np.array([0, 0, 1, 1] * 25)
    >>> round(conditional_mutual_information(x, x ^ z, z, method="chain_rule").bits, 6)
    1.0
    >>> del _CMI_ESTIMATORS["chain_rule"]       # (keep the doctest side-effect free)
    """
    _check_registration(_CMI_ESTIMATORS, name, handler, data)
    _CMI_ESTIMATORS[name] = _CMIEstimator(handler, data)
    return handler


def _cmi_discrete(call: CMICall) -> HandlerResult:
    x, y, z, method, n_categories = call.x, call.y, call.z, call.method, call.n_categories
    value = _discrete.discrete_conditional_mutual_information(x, y, z, method,
                                                              n_categories=n_categories)
    codes = [_discrete.encode_labels(a) for a in (x, y, z)]
    se = _plugin_local_se(codes, [(1, [0, 2]), (1, [1, 2]), (-1, [0, 1, 2]), (-1, [2])], call.n)
    stat = lambda idx: _discrete.discrete_conditional_mutual_information(  # noqa: E731
        x[idx], y[idx], z[idx], method, n_categories=n_categories)
    return value, call.interval(value, std_error=se, statistic=stat), {}


def _cmi_ksg(call: CMICall) -> HandlerResult:
    cont, n_jobs = [call.x, call.y, call.z], call.n_jobs
    k = call.neighbours()
    xp, yp, zp = _prep(cont, call.random_state)
    terms = _knn.ksg_cmi_terms(xp, yp, zp, k=k, n_jobs=n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        xh, yh, zh = _prep([a[idx] for a in cont], seed)
        return float(np.mean(_knn.ksg_cmi_terms(xh, yh, zh, k=k, n_jobs=n_jobs)))

    value = float(np.mean(terms))
    return value, call.half_sample_interval(value, terms, 0.0, recompute), {"k": k}


def _cmi_copula_ksg(call: CMICall) -> HandlerResult:
    cont, n_jobs = [call.x, call.y, call.z], call.n_jobs
    k = call.neighbours()
    terms, bias, _ = _copula_ksg(cont, k, "cmi", call.random_state, n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        t, b, _ = _copula_ksg([a[idx] for a in cont], k, "cmi", seed, n_jobs)
        return float(np.mean(t)) - b

    value = float(np.mean(terms)) - bias
    return (value, call.half_sample_interval(value, terms, -bias, recompute),
            {"k": k, "reference_bias": bias})


def _cmi_gaussian(call: CMICall) -> HandlerResult:
    cont = [call.x, call.y, call.z]
    data = cont if call.method == "gaussian" else [_gaussian.copula_normalize(a) for a in cont]
    value = _gaussian.gaussian_conditional_mutual_information(*data)
    stat = lambda idx: _gaussian.gaussian_conditional_mutual_information(  # noqa: E731
        *[a[idx] for a in data])
    return value, call.interval(value, statistic=stat), {}


# the handler table: one line per method
for _name in DISCRETE:
    register_cmi_estimator(_name, _cmi_discrete, data="discrete")
for _name in ("ksg", "ksg1"):
    register_cmi_estimator(_name, _cmi_ksg)
register_cmi_estimator("copula_ksg", _cmi_copula_ksg)
for _name in GAUSS:
    register_cmi_estimator(_name, _cmi_gaussian)
del _name
#: the built-in CMI methods (the table may hold more: :func:`register_cmi_estimator`)
CMI_METHODS = ("auto", *_CMI_ESTIMATORS)
