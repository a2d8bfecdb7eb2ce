"""Front doors: ``entropy``, ``mutual_information`` and ``conditional_mutual_information``.

One call shape for every estimator; the result is an :class:`~infotheory.estimate.Estimate`
(a float in nats with ``.bits``, ``.ci``, ``.method`` and ``.n``).

This module only validates, reads the data, resolves ``"auto"`` and dispatches: each front door
looks the method up in its :class:`~probconstraints._registry.Registry` (method name -> handler;
``register_*_estimator`` adds one, :func:`available_estimators` lists them) and hands the
handler a call object of :mod:`infotheory._calls`. The handlers live with their estimators:
:mod:`infotheory._handlers` (discrete, k-NN, Gaussian, neural), :mod:`infotheory.copula_ksg`
and :mod:`infotheory.auto` (the continuous ``"auto"`` composite).

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
    dx + dy <= 20: the composite of :mod:`infotheory.auto`, reported as ``method="auto"``
    (no single method reproduces it) with the candidate that won in ``details["chosen"]``
    and every candidate's value and standard error in ``details``; it is the largest of
    four estimates of quantities that are all <= I(X;Y):
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
most of its high-dimensional bias (:mod:`infotheory.copula_ksg`).

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

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, SupportsFloat, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from probconstraints._random import RandomStateLike, check_random_state_arg
from probconstraints._registry import Registry
from probconstraints._validation import check_choice, check_float, check_int, check_verbose

from . import _handlers
from . import discrete as _discrete
from . import reliability as _reliability
from ._calls import (
    CMICall,
    CMIHandler,
    EntropyCall,
    EntropyHandler,
    Estimator,
    HandlerResult,
    Interval,
    MICall,
    MIHandler,
)
from ._validation import (
    check_continuous,
    check_discrete_labels,
    check_labels,
    check_n_jobs,
    check_same_length,
)
from .auto import AUTO_CCA_MIN_N, AUTO_MAX_KNN_DIM, auto_discrete_method, mi_auto_continuous
from .copula_ksg import cmi_copula_ksg, mi_copula_ksg
from .estimate import Estimate

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .neural import NeuralOptions

__all__ = ["AUTO_CCA_MIN_N", "AUTO_MAX_KNN_DIM", "CMICall", "CMIHandler", "EntropyCall",
           "EntropyHandler", "HandlerResult", "Interval", "MICall", "MIHandler",
           "available_estimators", "conditional_mutual_information", "entropy",
           "mutual_information", "register_cmi_estimator", "register_entropy_estimator",
           "register_mi_estimator"]

DISCRETE = _discrete.DISCRETE_METHODS
GAUSS = ("gaussian", "gaussian_copula")
NEURAL = ("mine", "nwj", "infonce", "smile", "doe")
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
    check_choice(ci, "ci", (None, "auto", "bootstrap", "analytic") if allow_auto
                 else (None, "bootstrap", "analytic"))
    check_float(confidence, "confidence", 0.0, 1.0)
    check_int(n_resamples, "n_resamples", 2)
    check_random_state_arg(random_state)
    return check_n_jobs(n_jobs)


def _check_labels_not_continuous(arrays: Sequence[np.ndarray], names: Sequence[str],
                                 kinds: Sequence[bool], method: str) -> None:
    """Refuse continuous floats in the variables treated as discrete (see
    :func:`infotheory._validation.check_discrete_labels`)."""
    for arr, name, disc in zip(arrays, names, kinds):
        if disc:
            check_discrete_labels(arr, name, f"discrete=True or method={method!r}")



#: what a registered handler may ask for (see the ``register_*_estimator`` functions)
_DATA = ("discrete", "continuous", "any")


def _check_handler(handler: object, data: str) -> None:
    """Refuse a handler that is not callable and an unknown ``data``."""
    if not callable(handler):
        raise TypeError(f"handler must be callable; got {handler!r}")
    check_choice(data, "data", _DATA)


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
    check_choice(method, "method", available_estimators("entropy"))
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
        method = auto_discrete_method([x], n) if is_disc else "kl"
        spec = _ENTROPY_ESTIMATORS[method]
    if spec.data == "continuous":
        x = check_continuous(x, "X")
    call = EntropyCall(x=x, n=n, method=method, discrete=is_disc, k=k,
                       n_categories=n_categories, ci=ci, confidence=confidence,
                       n_resamples=n_resamples, random_state=random_state, n_jobs=n_jobs)
    value, interval, details = spec.handler(call)
    return _result(value, interval, details, method=method, n=n, ci=ci, confidence=confidence,
                   quantity="entropy", notes=notes)



#: method name -> estimator, in the order of ``ENTROPY_METHODS``
_ENTROPY_ESTIMATORS: Registry[Estimator] = Registry("entropy estimator", reserved=("auto",))


def register_entropy_estimator(name: str, handler: EntropyHandler, *, data: str = "continuous",
                               overwrite: bool = False) -> EntropyHandler:
    """Make ``handler`` available as ``entropy(X, method=name)``.

    The same contract as :func:`register_mi_estimator`, for one variable.

    Parameters
    ----------
    name : str
        The new method name (not ``"auto"``; a registered name needs ``overwrite=True``).
    handler : callable
        ``handler(call: EntropyCall) -> (value, interval, details)``: the estimate in nats,
        the interval (``call.interval(...)`` or ``call.half_sample_interval(...)``; None when
        ``call.ci`` is None) and a dict stored in ``Estimate.details``.
    data : {"continuous", "discrete", "any"}, default="continuous"
        ``"continuous"``: X arrives as a 2-D float array (numbers are read as floats, text is
        refused); ``"discrete"``: X is treated as labels (continuous floats are refused);
        ``"any"``: as read, the handler checks it.

    overwrite : bool, default=False
        Replace an estimator already registered under ``name`` (refused otherwise).

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
    >>> _ = _ENTROPY_ESTIMATORS.unregister("halved_plugin")   # (keep the doctest side-effect free)
    """
    _check_handler(handler, data)
    _ENTROPY_ESTIMATORS.register(name, Estimator(handler, data), overwrite=overwrite)
    return handler

# the handler table: one line per method
for _name in DISCRETE:
    register_entropy_estimator(_name, _handlers.entropy_discrete, data="discrete")
register_entropy_estimator("kl", _handlers.entropy_kl)
register_entropy_estimator("gaussian", _handlers.entropy_gaussian)
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
        Neighbour order of the k-NN methods (default 3; 1 for ``"copula_ksg"`` and ``"auto"``).
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
    check_choice(method, "method", available_estimators("mutual_information"))
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


def _resolve_ci(ci: str | None, method: str, spec: Estimator) -> str | None:
    """``ci="auto"``: the calibrated interval of continuous ``auto``, the analytic one of the
    discrete and Gaussian methods (cheap), none for the others (ask for ``"bootstrap"``)."""
    if ci != "auto":
        return ci
    if spec.handler is mi_auto_continuous:
        return "calibrated"
    if method in DISCRETE or method in GAUSS:
        return "analytic"
    return None


def _auto_mi_estimator(x: np.ndarray, y: np.ndarray, n: int, dx: bool,
                       dy: bool) -> tuple[str, Estimator]:
    """What ``method="auto"`` picks for MI (see the module notes): (method name, estimator)."""
    if dx and dy:
        method = auto_discrete_method([x, y], n)
    elif dx or dy:
        method = "mixed"
    elif x.size // n + y.size // n > AUTO_MAX_KNN_DIM:
        method = "gaussian_copula"
    else:     # the composite: reported as "auto", its winning candidate in details["chosen"]
        return "auto", Estimator(mi_auto_continuous, "continuous")
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
#: method name -> estimator, in the order of ``MI_METHODS``
_MI_ESTIMATORS: Registry[Estimator] = Registry("MI estimator", reserved=("auto",))


def register_mi_estimator(name: str, handler: MIHandler, *, data: str = "continuous",
                          overwrite: bool = False) -> MIHandler:
    """Make ``handler`` available as ``mutual_information(X, Y, method=name)``.

    Parameters
    ----------
    name : str
        The new method name (not ``"auto"``; a registered name needs ``overwrite=True``).
    handler : callable
        ``handler(call: MICall) -> (value, interval, details)``: the estimate in nats, the
        interval (``call.interval(...)`` or ``call.half_sample_interval(...)``; None when
        ``call.ci`` is None) and a dict stored in ``Estimate.details``.
    data : {"continuous", "discrete", "any"}, default="continuous"
        ``"continuous"``: X and Y arrive as 2-D float arrays (discrete data is refused before
        the handler runs); ``"discrete"``: both are treated as labels (continuous floats are
        refused); ``"any"``: as read, the handler checks them.

    overwrite : bool, default=False
        Replace an estimator already registered under ``name`` (refused otherwise).

    Returns
    -------
    handler

    Examples
    --------
    See ``CONTRIBUTING.md`` ("Adding an MI estimator").
    """
    _check_handler(handler, data)
    _MI_ESTIMATORS.register(name, Estimator(handler, data), overwrite=overwrite)
    return handler


# the handler table: one line per method (see CONTRIBUTING.md, "Adding an MI estimator")
for _name in DISCRETE:
    register_mi_estimator(_name, _handlers.mi_discrete, data="discrete")
for _name in ("ksg", "ksg1", "ksg2"):
    register_mi_estimator(_name, _handlers.mi_ksg)
register_mi_estimator("copula_ksg", mi_copula_ksg)
register_mi_estimator("mixed", _handlers.mi_mixed, data="any")
for _name in GAUSS:
    register_mi_estimator(_name, _handlers.mi_gaussian)
for _name in NEURAL:
    register_mi_estimator(_name, _handlers.mi_neural)
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
    check_choice(method, "method", available_estimators("conditional_mutual_information"))
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
        return auto_discrete_method(arrays, n)
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



#: method name -> estimator, in the order of ``CMI_METHODS``
_CMI_ESTIMATORS: Registry[Estimator] = Registry("CMI estimator", reserved=("auto",))


def register_cmi_estimator(name: str, handler: CMIHandler, *, data: str = "continuous",
                           overwrite: bool = False) -> CMIHandler:
    """Make ``handler`` available as ``conditional_mutual_information(X, Y, Z, method=name)``.

    The same contract as :func:`register_mi_estimator`, for three variables.

    Parameters
    ----------
    name : str
        The new method name (not ``"auto"``; a registered name needs ``overwrite=True``).
    handler : callable
        ``handler(call: CMICall) -> (value, interval, details)``: the estimate in nats, the
        interval (``call.interval(...)`` or ``call.half_sample_interval(...)``; None when
        ``call.ci`` is None) and a dict stored in ``Estimate.details``.
    data : {"continuous", "discrete", "any"}, default="continuous"
        ``"continuous"``: X, Y and Z arrive as 2-D float arrays (discrete data is refused
        before the handler runs); ``"discrete"``: all three are treated as labels (continuous
        floats are refused); ``"any"``: as read, the handler checks them.

    overwrite : bool, default=False
        Replace an estimator already registered under ``name`` (refused otherwise).

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
    >>> _ = _CMI_ESTIMATORS.unregister("chain_rule")       # (keep the doctest side-effect free)
    """
    _check_handler(handler, data)
    _CMI_ESTIMATORS.register(name, Estimator(handler, data), overwrite=overwrite)
    return handler


# the handler table: one line per method
for _name in DISCRETE:
    register_cmi_estimator(_name, _handlers.cmi_discrete, data="discrete")
for _name in ("ksg", "ksg1"):
    register_cmi_estimator(_name, _handlers.cmi_ksg)
register_cmi_estimator("copula_ksg", cmi_copula_ksg)
for _name in GAUSS:
    register_cmi_estimator(_name, _handlers.cmi_gaussian)
del _name
#: the built-in CMI methods (the table may hold more: :func:`register_cmi_estimator`)
CMI_METHODS = ("auto", *_CMI_ESTIMATORS)


def available_estimators(quantity: str = "mutual_information") -> tuple[str, ...]:
    """The method names a front door accepts now: ``"auto"`` and every registered estimator.

    Parameters
    ----------
    quantity : {"mutual_information", "entropy", "conditional_mutual_information"}
        Which front door.

    Returns
    -------
    tuple of str
        The built-in methods first (``MI_METHODS``, ``ENTROPY_METHODS``, ``CMI_METHODS``),
        then the ones registered with ``register_*_estimator``, in registration order.

    Examples
    --------
    >>> available_estimators("entropy")
    ('auto', 'plugin', 'miller_madow', 'james_stein', 'nsb', 'kl', 'gaussian')
    """
    registries = {"mutual_information": _MI_ESTIMATORS, "entropy": _ENTROPY_ESTIMATORS,
                  "conditional_mutual_information": _CMI_ESTIMATORS}
    check_choice(quantity, "quantity", tuple(registries))
    return ("auto", *registries[quantity].names())
