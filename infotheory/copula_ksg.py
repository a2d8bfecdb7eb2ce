"""The copula-KSG estimator of MI and CMI: KSG on normal scores with its bias measured on a
Gaussian reference and subtracted.

(1) every coordinate is replaced by its normal scores (MI is invariant under invertible
per-variable maps); (2) KSG is run with ``k`` (default 1); (3) its bias is estimated on Gaussian
samples with the same correlation matrix, whose MI is known exactly (1 to 5 replicates, more at
small n), and subtracted; (4) for MI the result is not allowed to fall below the
Gaussian-copula estimate, which for one-dimensional X and Y is a lower bound on the MI.
Registered as ``method="copula_ksg"`` of :func:`~infotheory.mutual_information` and
:func:`~infotheory.conditional_mutual_information`; the ``"auto"`` composite
(:mod:`infotheory.auto`) builds on :func:`copula_ksg_terms`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from probconstraints._random import RandomStateLike, check_random_state

from . import gaussian as _gaussian
from . import knn as _knn
from ._calls import CMICall, HandlerResult, MICall, gaussian_mi_interval

__all__ = ["cmi_copula_ksg", "copula_ksg_terms", "mi_copula_ksg"]


def copula_ksg_terms(arrays: Sequence[np.ndarray], k: int, kind: str,
                     random_state: RandomStateLike,
                     n_jobs: int) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """KSG on normal scores and its bias; ``kind`` is "mi" (X, Y) or "cmi" (X, Y, Z).

    Returns
    -------
    terms : ndarray of shape (n,)
        The per-point KSG terms of the normal scores (not yet corrected).
    bias : float
        Mean KSG of Gaussian references with the same correlation matrix minus their exact
        MI (or CMI): the estimate is ``terms.mean() - bias``.
    scores : list of ndarray
        The normal scores of each variable.
    """
    rng = check_random_state(random_state)
    scores = [_gaussian.copula_normalize(a) for a in arrays]
    prepared = _knn.prepare_many(scores, rng.randint(2**31))
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
        prepared_ref = _knn.prepare_many(ref_arrays, rng.randint(2**31))
        ref_means.append(np.mean(fn(*prepared_ref, k=k, n_jobs=n_jobs)))
    if kind == "mi":
        truth = _gaussian.gaussian_mi_from_covariance(corr, dims[1])
    else:
        truth = _gaussian.gaussian_cmi_from_covariance(corr, dims[1], dims[2] - dims[1])
    bias = float(np.mean(ref_means)) - truth
    return terms, bias, scores


def mi_copula_ksg(call: MICall) -> HandlerResult:
    """``mutual_information(X, Y, method="copula_ksg")``: the larger of the corrected KSG and
    the Gaussian-copula estimate (``details["chosen"]`` says which)."""
    Xc, Yc = call.x, call.y
    k = call.neighbours()
    terms, bias, scores = copula_ksg_terms([Xc, Yc], k, "mi", call.random_state, call.n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        t, b, sc = copula_ksg_terms([Xc[idx], Yc[idx]], k, "mi", seed, call.n_jobs)
        return max(float(np.mean(t)) - b, _gaussian.gaussian_mutual_information(*sc))

    knn_value = float(np.mean(terms)) - bias
    gauss = _gaussian.gaussian_mutual_information(*scores)
    details = dict(k=k, ksg=knn_value, reference_bias=bias, gaussian_copula=gauss)
    if gauss > knn_value:
        return (gauss, gaussian_mi_interval(call, gauss, scores),
                dict(details, chosen="gaussian_copula"))
    return (knn_value, call.half_sample_interval(knn_value, terms, -bias, recompute),
            dict(details, chosen="ksg"))


def cmi_copula_ksg(call: CMICall) -> HandlerResult:
    """``conditional_mutual_information(X, Y, Z, method="copula_ksg")``: the corrected KSG."""
    cont, n_jobs = [call.x, call.y, call.z], call.n_jobs
    k = call.neighbours()
    terms, bias, _ = copula_ksg_terms(cont, k, "cmi", call.random_state, n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        t, b, _ = copula_ksg_terms([a[idx] for a in cont], k, "cmi", seed, n_jobs)
        return float(np.mean(t)) - b

    value = float(np.mean(terms)) - bias
    return (value, call.half_sample_interval(value, terms, -bias, recompute),
            {"k": k, "reference_bias": bias})
