"""The ``"auto"`` composite of :func:`~infotheory.mutual_information` and what ``"auto"``
picks elsewhere.

For continuous X and Y with dx + dy <= :data:`AUTO_MAX_KNN_DIM`, ``"auto"`` is the largest of
estimates of quantities that are all <= I(X;Y): copula-KSG of (X, Y)
(:mod:`infotheory.copula_ksg`), the Gaussian-copula estimate, copula-KSG of the radial
summaries of the normal scores and, when X or Y has more than one column and n >=
:data:`AUTO_CCA_MIN_N`, a cross-fitted kernel-CCA term (the full description is in the module
notes of :mod:`infotheory.api`). Every candidate and its standard error is recorded in
``Estimate.details`` with the name of the one that won (``details["chosen"]``); the interval
and the verdict come from :mod:`infotheory.reliability`. For labels ``"auto"`` picks
Miller-Madow or NSB (:func:`auto_discrete_method`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from probconstraints._random import RandomStateLike, check_random_state

from . import discrete as _discrete
from . import gaussian as _gaussian
from . import knn as _knn
from . import reliability as _reliability
from ._calls import HandlerResult, Interval, MICall, gaussian_mi_interval
from .copula_ksg import copula_ksg_terms

__all__ = ["AUTO_CCA_FEATURES", "AUTO_CCA_MIN_N", "AUTO_CCA_RIDGE", "AUTO_MAX_KNN_DIM",
           "auto_continuous", "auto_discrete_method", "mi_auto_continuous"]

#: above this total dimension dx + dy, "auto" MI uses the Gaussian copula instead of k-NN
AUTO_MAX_KNN_DIM = 20
#: smallest sample for the cross-fitted kernel-CCA term of "auto" (each half fits a CCA)
AUTO_CCA_MIN_N = 200


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
            px, py = _knn.prepare_many(scores, int(rng.integers(2**31)))
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


def auto_continuous(Xc: np.ndarray, Yc: np.ndarray, k: int, random_state: RandomStateLike,
                     n_jobs: int) -> tuple[float, np.ndarray | None, float, dict[str, Any]]:
    """``auto`` for continuous X, Y (dx + dy <= AUTO_MAX_KNN_DIM): value, terms, shift, details.

    The largest of estimates of quantities that are all <= I(X;Y): copula-KSG of (X, Y), the
    Gaussian-copula estimate, copula-KSG of the radial summaries of the normal scores and,
    when X or Y has more than one column and n >= AUTO_CCA_MIN_N, cross-fitted copula-KSG of
    kernel-CCA variates (see the module notes of :mod:`infotheory.api`).
    """
    rng = check_random_state(random_state)
    terms, bias, scores = copula_ksg_terms([Xc, Yc], k, "mi", rng.randint(2**31), n_jobs)
    cands: dict[str, tuple[float, np.ndarray | None, float]] = {
        "copula_ksg": (float(np.mean(terms)) - bias, terms, -bias),
        "gaussian_copula": (_gaussian.gaussian_mutual_information(*scores), None, 0.0)}
    if max(Xc.shape[1], Yc.shape[1]) > 1:
        r_terms, r_bias, _ = copula_ksg_terms([_radial(scores[0]), _radial(scores[1])], k,
                                              "mi", rng.randint(2**31), n_jobs)
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


def mi_auto_continuous(call: MICall) -> HandlerResult:
    """``mutual_information(X, Y)`` for continuous X and Y, dx + dy <= AUTO_MAX_KNN_DIM: the
    composite, its interval (``call.ci == "calibrated"``:
    :func:`~infotheory.reliability.auto_interval`) and its verdict."""
    Xc, Yc = call.x, call.y
    k = call.neighbours()
    value, terms, shift, details = auto_continuous(Xc, Yc, k, call.random_state, call.n_jobs)

    def recompute(idx: np.ndarray, seed: int) -> float:
        return auto_continuous(Xc[idx], Yc[idx], k, seed, call.n_jobs)[0]

    dims = Xc.shape[1], Yc.shape[1]
    if call.ci == "calibrated":
        interval: Interval | None = _reliability.auto_interval(value, details, *dims, call.n,
                                                                call.confidence)
    elif terms is None and call.ci == "analytic":      # the Gaussian-copula estimate won
        interval = gaussian_mi_interval(call, value, [_gaussian.copula_normalize(Xc),
                                                      _gaussian.copula_normalize(Yc)])
    else:
        interval = call.half_sample_interval(value, terms, shift, recompute, n=call.n)
    verdict = _reliability.auto_verdict(value, details, *dims, call.n, call.confidence)
    return value, interval, dict(details, reliability=verdict)


def auto_discrete_method(arrays: Sequence[np.ndarray], n: int) -> str:
    """``"auto"`` for labels: Miller-Madow with >= 5 samples per observed joint cell, else NSB."""
    cells = len(np.unique(_discrete.encode_labels(*arrays)))
    return "miller_madow" if n >= 5 * cells else "nsb"
