"""The built-in estimators as handlers of the entropy, MI and CMI front doors.

Each handler adapts one estimator module (:mod:`~infotheory.discrete`, :mod:`~infotheory.knn`,
:mod:`~infotheory.gaussian`, :mod:`~infotheory.neural`) to the call contract of
:mod:`infotheory._calls`; :mod:`infotheory.api` registers them, one line per method. The
copula-KSG and ``"auto"`` handlers live with their estimators (:mod:`infotheory.copula_ksg`,
:mod:`infotheory.auto`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from probconstraints._random import check_random_state

from . import discrete as _discrete
from . import gaussian as _gaussian
from . import knn as _knn
from ._calls import CMICall, EntropyCall, HandlerResult, MICall, gaussian_mi_interval
from ._validation import check_continuous

__all__ = ["cmi_discrete", "cmi_gaussian", "cmi_ksg", "entropy_discrete", "entropy_gaussian",
           "entropy_kl", "mi_discrete", "mi_gaussian", "mi_ksg", "mi_mixed", "mi_neural"]


def _plugin_local_se(codes: Sequence[np.ndarray], terms: Sequence[tuple[int, Sequence[int]]],
                     n: int) -> float:
    """Delta-method standard error of a plug-in entropy combination from local log-terms."""
    local = np.zeros(n)
    for sign, idx in terms:
        joint = _discrete.encode_labels(*[codes[i] for i in idx])
        p = np.bincount(joint)[joint] / n
        local -= sign * np.log(p)
    return float(np.std(local) / np.sqrt(n))

def entropy_discrete(call: EntropyCall) -> HandlerResult:
    x, method, n_categories = call.x, call.method, call.n_categories
    value = _discrete.discrete_entropy(x, method, n_categories=n_categories)
    se = _plugin_local_se([_discrete.encode_labels(x)], [(1, [0])], call.n)
    stat = lambda idx: _discrete.discrete_entropy(  # noqa: E731
        x[idx], method, n_categories=n_categories)
    return value, call.interval(value, std_error=se, statistic=stat), {}


def entropy_gaussian(call: EntropyCall) -> HandlerResult:
    Xc = call.x
    value = _gaussian.gaussian_entropy(Xc)
    interval = call.interval(value, std_error=float(np.sqrt(Xc.shape[1] / (2.0 * call.n))),
                             statistic=lambda idx: _gaussian.gaussian_entropy(Xc[idx]))
    return value, interval, {}


def entropy_kl(call: EntropyCall) -> HandlerResult:
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


def mi_discrete(call: MICall) -> HandlerResult:
    x, y, method = call.x, call.y, call.method
    value = _discrete.discrete_mutual_information(x, y, method, n_categories=call.n_categories)
    codes = [_discrete.encode_labels(x), _discrete.encode_labels(y)]
    se = _plugin_local_se(codes, [(1, [0]), (1, [1]), (-1, [0, 1])], call.n)
    stat = lambda idx: _discrete.discrete_mutual_information(  # noqa: E731
        x[idx], y[idx], method, n_categories=call.n_categories)
    return value, call.interval(value, std_error=se, statistic=stat), {}


def mi_mixed(call: MICall) -> HandlerResult:
    dx, dy = call.discrete
    if dx == dy:
        raise ValueError("method='mixed' needs one discrete and one continuous variable; "
                         f"got discrete X={dx}, discrete Y={dy}")
    cont, labels = (call.y, call.x) if dx else (call.x, call.y)
    k = call.neighbours()
    scores = _gaussian.copula_normalize(check_continuous(cont, "X" if dy else "Y"))
    cont_c = check_continuous(cont, "X" if dy else "Y")
    codes = _discrete.encode_labels(labels)
    (cp,) = _knn.prepare_many([scores], call.random_state)
    terms = _knn.mixed_terms(cp, codes, k, call.n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        (ch,) = _knn.prepare_many([_gaussian.copula_normalize(cont_c[idx])], seed)
        return float(np.mean(_knn.mixed_terms(ch, _discrete.encode_labels(codes[idx]), k,
                                              call.n_jobs)))

    value = np.mean(terms)
    return value, call.half_sample_interval(value, terms, 0.0, recompute), {"k": k}


def mi_ksg(call: MICall) -> HandlerResult:
    Xc, Yc = call.x, call.y
    k = call.neighbours()
    variant = 2 if call.method == "ksg2" else 1
    Xp, Yp = _knn.prepare_many([Xc, Yc], call.random_state)
    terms = _knn.ksg_terms(Xp, Yp, k, variant, call.n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        xh, yh = _knn.prepare_many([Xc[idx], Yc[idx]], seed)
        return float(np.mean(_knn.ksg_terms(xh, yh, k, variant, call.n_jobs)))

    value = np.mean(terms)
    return value, call.half_sample_interval(value, terms, 0.0, recompute), {"k": k}


def mi_gaussian(call: MICall) -> HandlerResult:
    Xc, Yc = call.x, call.y
    data = [Xc, Yc] if call.method == "gaussian" else [_gaussian.copula_normalize(Xc),
                                                       _gaussian.copula_normalize(Yc)]
    value = _gaussian.gaussian_mutual_information(*data)
    return value, gaussian_mi_interval(call, value, data), {}


def mi_neural(call: MICall) -> HandlerResult:
    from .neural import NeuralMIEstimator

    est = NeuralMIEstimator(bound=call.method, random_state=call.random_state,
                            verbose=call.verbose, n_jobs=call.n_jobs,
                            **call.options).fit(call.x, call.y)
    interval = call.interval(est.estimate_, statistic=est.held_out_statistic, n=est.n_test_)
    return est.estimate_, interval, dict(train_curve=est.history_, steps=est.n_steps_)


def cmi_discrete(call: CMICall) -> HandlerResult:
    x, y, z, method, n_categories = call.x, call.y, call.z, call.method, call.n_categories
    value = _discrete.discrete_conditional_mutual_information(x, y, z, method,
                                                              n_categories=n_categories)
    codes = [_discrete.encode_labels(a) for a in (x, y, z)]
    se = _plugin_local_se(codes, [(1, [0, 2]), (1, [1, 2]), (-1, [0, 1, 2]), (-1, [2])], call.n)
    stat = lambda idx: _discrete.discrete_conditional_mutual_information(  # noqa: E731
        x[idx], y[idx], z[idx], method, n_categories=n_categories)
    return value, call.interval(value, std_error=se, statistic=stat), {}


def cmi_ksg(call: CMICall) -> HandlerResult:
    cont, n_jobs = [call.x, call.y, call.z], call.n_jobs
    k = call.neighbours()
    xp, yp, zp = _knn.prepare_many(cont, call.random_state)
    terms = _knn.ksg_cmi_terms(xp, yp, zp, k=k, n_jobs=n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        xh, yh, zh = _knn.prepare_many([a[idx] for a in cont], seed)
        return float(np.mean(_knn.ksg_cmi_terms(xh, yh, zh, k=k, n_jobs=n_jobs)))

    value = float(np.mean(terms))
    return value, call.half_sample_interval(value, terms, 0.0, recompute), {"k": k}


def cmi_gaussian(call: CMICall) -> HandlerResult:
    cont = [call.x, call.y, call.z]
    data = cont if call.method == "gaussian" else [_gaussian.copula_normalize(a) for a in cont]
    value = _gaussian.gaussian_conditional_mutual_information(*data)
    stat = lambda idx: _gaussian.gaussian_conditional_mutual_information(  # noqa: E731
        *[a[idx] for a in data])
    return value, call.interval(value, statistic=stat), {}
