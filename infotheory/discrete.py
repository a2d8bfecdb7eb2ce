"""Entropy and mutual information of discrete label arrays (plug-in and bias-corrected).

Every function accepts array-likes of labels of any dtype (integers, strings, objects); a 2-D
array of shape (n, d) is one multivariate variable whose rows are the joint labels. Results are
in nats unless ``base`` is given (``base=2`` for bits).

Methods
-------
``"plugin"``
    Maximum-likelihood (empirical frequency) estimate; biased downwards for entropy.
``"miller_madow"``
    Plug-in plus the first-order bias correction ``(m - 1) / (2 n)``, m the number of
    observed categories (Miller 1955).
``"james_stein"``
    Plug-in on frequencies shrunk towards the uniform distribution over the alphabet
    (Hausser & Strimmer 2009, JMLR 10:1469). Joint quantities shrink the joint table over the
    product alphabet and take its marginals, as in that paper's ``mi.shrink``.
``"nsb"``
    Posterior mean of the entropy under the Nemenman-Shafee-Bialek mixture of Dirichlet priors
    (Nemenman, Shafee & Bialek 2002, NIPS 14), integrated numerically over the concentration.

Continuous floats are refused: a float array with non-integer values, more than half of them
distinct, raises a ValueError naming the argument (every value would be its own label, so the
"MI" of independent continuous data would be the log of the sample size). Integer-valued floats
and repeated values pass; bin continuous data first, or use the k-NN estimators of
:mod:`infotheory.knn` (``mutual_information(..., method="ksg")``).

The alphabet size K used by James-Stein and NSB is ``n_categories`` when given, otherwise the
number of observed categories of each variable (and their product for joint quantities).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln, logsumexp, polygamma

from probconstraints._validation import check_choice

from ._validation import check_discrete_labels, check_labels, check_same_length, convert_base

__all__ = [
    "DISCRETE_METHODS",
    "discrete_conditional_mutual_information",
    "discrete_entropy",
    "discrete_joint_entropy",
    "discrete_mutual_information",
    "encode_labels",
]

DISCRETE_METHODS = ("plugin", "miller_madow", "james_stein", "nsb")


def _factorize_column(col: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(col, sort=False, use_na_sentinel=True)
    return codes.astype(np.int64), len(uniques)


def _encode_one(arr: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense integer codes 0..m-1 for the rows of one validated label array."""
    if arr.ndim == 1:
        return _factorize_column(arr)
    codes, card = _factorize_column(arr[:, 0])
    for j in range(1, arr.shape[1]):
        nxt, k = _factorize_column(arr[:, j])
        codes, card = _factorize_column(codes * k + nxt)
    return codes, card


def encode_labels(*xs: ArrayLike) -> np.ndarray:
    """Jointly code the rows of one or more label arrays as integers 0..m-1.

    Parameters
    ----------
    *xs : array-like of shape (n,) or (n, d)
        Labels of any dtype (integers, floats, strings, objects). Two samples receive the same
        code exactly when they agree in every column of every array.

    Returns
    -------
    codes : ndarray of shape (n,), dtype int64
        Dense codes, numbered in order of first appearance; ``codes.max() + 1`` is the number
        of distinct joint labels.

    Examples
    --------
    >>> encode_labels(["a", "b", "a"], [1, 1, 1])
    array([0, 1, 0])
    >>> encode_labels([[0, 1], [0, 1], [1, 0]])
    array([0, 0, 1])
    """
    if len(xs) == 0:
        raise ValueError("encode_labels needs at least one label array; got none")
    arrays = [check_labels(x, f"xs[{i}]") for i, x in enumerate(xs)]
    check_same_length(**{f"xs[{i}]": a for i, a in enumerate(arrays)})
    codes, card = _encode_one(arrays[0])
    for arr in arrays[1:]:
        nxt, k = _encode_one(arr)
        codes, card = _factorize_column(codes * k + nxt)
    return codes


def _prepare(xs: Sequence[ArrayLike], names: Sequence[str],
             n_categories: ArrayLike | None) -> tuple[list[np.ndarray], list[float]]:
    """Validate and code each variable; return codes and alphabet sizes."""
    arrays = [check_discrete_labels(check_labels(x, name), name, "a discrete estimator")
              for x, name in zip(xs, names)]
    check_same_length(**dict(zip(names, arrays)))
    coded = [_encode_one(a) for a in arrays]
    codes = [c for c, _ in coded]
    sizes: list[float] = [k for _, k in coded]
    if n_categories is not None:
        given = np.atleast_1d(n_categories)
        if given.shape != (len(xs),):
            raise ValueError(f"n_categories must give one alphabet size per variable "
                             f"({len(xs)}); got {n_categories!r}")
        for name, k_obs, k in zip(names, sizes, given):
            if not float(k).is_integer() or k < k_obs:
                raise ValueError(f"n_categories for {name} must be an integer >= the {k_obs} "
                                 f"observed categories; got {k}")
        sizes = [float(k) for k in given]
    return codes, [float(k) for k in sizes]


def _joint_counts(codes_list: Sequence[np.ndarray]) -> np.ndarray:
    if len(codes_list) == 1:
        joint = codes_list[0]
    else:
        joint = codes_list[0]
        for c in codes_list[1:]:
            joint, _ = _factorize_column(joint * (c.max() + 1) + c)
    counts = np.bincount(joint)
    return counts[counts > 0]


def _plugin(counts: np.ndarray) -> float:
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def _miller_madow(counts: np.ndarray) -> float:
    n = counts.sum()
    return _plugin(counts) + (len(counts) - 1) / (2.0 * n)


def _js_lambda(counts: np.ndarray, K: float) -> float:
    """Hausser-Strimmer shrinkage intensity towards the uniform target 1/K."""
    n = counts.sum()
    if n <= 1 or K <= 1:
        return 1.0 if K > 1 else 0.0
    theta = counts / n
    m = len(counts)
    denom = (n - 1) * (np.sum((theta - 1.0 / K) ** 2) + (K - m) / K**2)
    if denom <= 0:
        return 0.0
    return float(np.clip((1.0 - np.sum(theta**2)) / denom, 0.0, 1.0))


def _js_entropy(counts: np.ndarray, K: float, lam: float) -> float:
    """Entropy of (1 - lam) * theta + lam / K over an alphabet of K cells (m observed)."""
    n = counts.sum()
    p = (1.0 - lam) * counts / n + lam / K
    h = -np.sum(p * np.log(p))
    n_empty = K - len(counts)
    if lam > 0 and n_empty > 0:
        q = lam / K
        h -= n_empty * q * np.log(q)
    return float(h)


def _nsb_entropy(counts: np.ndarray, K: float) -> float:
    """NSB posterior mean entropy, integrating over log concentration alpha = K * beta."""
    N = float(counts.sum())
    m = len(counts)
    if K <= 1:
        return 0.0
    values, mult = np.unique(counts, return_counts=True)
    values = values.astype(float)
    mult = mult.astype(float)

    def log_weight_and_mean(log_alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        alpha = np.exp(log_alpha)[:, None]  # (g, 1)
        beta = alpha / K
        loglik = (gammaln(alpha) - gammaln(N + alpha)
                  + np.sum(mult * (gammaln(values + beta) - gammaln(beta)), axis=1, keepdims=True))
        # prior flat in the a-priori entropy xi(beta) = psi(K beta + 1) - psi(beta + 1)
        dxi = K * polygamma(1, alpha + 1) - polygamma(1, beta + 1)
        logw = loglik + np.log(np.maximum(dxi, 1e-300)) + np.log(beta)
        mean = (digamma(N + alpha + 1)
                - np.sum(mult * (values + beta) * digamma(values + beta + 1), axis=1,
                         keepdims=True) / (N + alpha)
                - (K - m) * beta / (N + alpha) * digamma(beta + 1))
        return logw[:, 0], mean[:, 0]

    lo, hi = np.log(1e-6), np.log(1e6) + np.log(max(K, N))
    grid = np.linspace(lo, hi, 800)
    logw, _ = log_weight_and_mean(grid)
    keep = grid[logw > logw.max() - 40.0]
    step = grid[1] - grid[0]
    fine = np.linspace(keep.min() - step, keep.max() + step, 2000)
    logw, mean = log_weight_and_mean(fine)
    w = np.exp(logw - logsumexp(logw))
    return float(np.sum(w * mean))


def _entropy_of_codes(codes_list: Sequence[np.ndarray], sizes: Sequence[float], method: str,
                      lam: float | None = None) -> float:
    counts = _joint_counts(codes_list)
    K = float(np.prod(sizes))
    if method == "plugin":
        return _plugin(counts)
    if method == "miller_madow":
        return _miller_madow(counts)
    if method == "nsb":
        return _nsb_entropy(counts, K)
    if lam is None:
        lam = _js_lambda(counts, K)
    return _js_entropy(counts, K, lam)


def _combination(codes: Sequence[np.ndarray], sizes: Sequence[float], method: str,
                 terms: Sequence[tuple[int, Sequence[int]]]) -> float:
    """Sum of signed entropies of subsets of variables, JS sharing the full-joint shrinkage."""
    lam = None
    if method == "james_stein":
        lam = _js_lambda(_joint_counts(codes), float(np.prod(sizes)))
    total = 0.0
    for sign, idx in terms:
        total += sign * _entropy_of_codes([codes[i] for i in idx], [sizes[i] for i in idx],
                                          method, lam)
    return total


def discrete_entropy(x: ArrayLike, method: str = "plugin", *, n_categories: ArrayLike | None = None,
                     base: float | None = None) -> float:
    """Entropy H(X) of a label array.

    Parameters
    ----------
    x : array-like of shape (n,) or (n, d)
        Labels of any dtype; the rows of a 2-D array are joint labels.
    method : {"plugin", "miller_madow", "james_stein", "nsb"}
        Estimator (see the module docstring).
    n_categories : int, optional
        Alphabet size K for James-Stein and NSB; default the number of observed labels.
    base : float, optional
        Logarithm base of the result; None for nats, 2 for bits.

    Returns
    -------
    float
        The entropy estimate.

    Examples
    --------
    >>> round(discrete_entropy(["a", "b", "a", "b"], base=2), 6)
    1.0
    >>> discrete_entropy([0, 0, 1, 2], method="miller_madow") > discrete_entropy([0, 0, 1, 2])
    True
    """
    method = check_choice(method, "method", DISCRETE_METHODS)
    codes, sizes = _prepare([x], ["x"], n_categories)
    return convert_base(_combination(codes, sizes, method, [(1, [0])]), base)


def discrete_joint_entropy(*xs: ArrayLike, method: str = "plugin",
                           n_categories: ArrayLike | None = None,
                           base: float | None = None) -> float:
    """Joint entropy H(X1, ..., Xm) of several label arrays.

    Parameters
    ----------
    *xs : array-like of shape (n,) or (n, d)
        Label arrays of equal length.
    method : {"plugin", "miller_madow", "james_stein", "nsb"}
        Estimator; the alphabet of the joint is the product of the variables' alphabets.
    n_categories : sequence of int, optional
        One alphabet size per variable; default the observed counts of distinct labels.
    base : float, optional
        Logarithm base; None for nats.

    Returns
    -------
    float

    Examples
    --------
    >>> round(discrete_joint_entropy([0, 0, 1, 1], [0, 1, 0, 1], base=2), 6)
    2.0
    """
    if len(xs) == 0:
        raise ValueError("discrete_joint_entropy needs at least one label array; got none")
    method = check_choice(method, "method", DISCRETE_METHODS)
    names = [f"xs[{i}]" for i in range(len(xs))]
    codes, sizes = _prepare(xs, names, n_categories)
    return convert_base(_combination(codes, sizes, method, [(1, list(range(len(xs))))]), base)


def discrete_mutual_information(x: ArrayLike, y: ArrayLike, method: str = "plugin", *,
                                n_categories: ArrayLike | None = None,
                                base: float | None = None) -> float:
    """Mutual information I(X;Y) = H(X) + H(Y) - H(X,Y) of two label arrays.

    Bias-corrected methods may return small negative values for independent variables; they
    are not clipped, so that averages over repetitions stay unbiased.

    Parameters
    ----------
    x, y : array-like of shape (n,) or (n, d)
        Labels of any dtype, equal length.
    method : {"plugin", "miller_madow", "james_stein", "nsb"}
        Entropy estimator applied to each term (James-Stein shrinks the joint table and uses its
        marginals, Hausser & Strimmer 2009).
    n_categories : (int, int), optional
        Alphabet sizes of x and y; default the observed ones.
    base : float, optional
        Logarithm base; None for nats.

    Returns
    -------
    float

    Examples
    --------
    >>> x = ["a", "b", "a", "b"]
    >>> round(discrete_mutual_information(x, x, base=2), 6)
    1.0
    >>> round(discrete_mutual_information(x, [0, 0, 1, 1]), 6)
    0.0
    """
    method = check_choice(method, "method", DISCRETE_METHODS)
    codes, sizes = _prepare([x, y], ["x", "y"], n_categories)
    terms = [(1, [0]), (1, [1]), (-1, [0, 1])]
    return convert_base(_combination(codes, sizes, method, terms), base)


def discrete_conditional_mutual_information(x: ArrayLike, y: ArrayLike, z: ArrayLike,
                                            method: str = "plugin", *,
                                            n_categories: ArrayLike | None = None,
                                            base: float | None = None) -> float:
    """Conditional mutual information I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z).

    Parameters
    ----------
    x, y, z : array-like of shape (n,) or (n, d)
        Labels of any dtype, equal length.
    method : {"plugin", "miller_madow", "james_stein", "nsb"}
        Entropy estimator applied to each term.
    n_categories : (int, int, int), optional
        Alphabet sizes of x, y and z; default the observed ones.
    base : float, optional
        Logarithm base; None for nats.

    Returns
    -------
    float

    Examples
    --------
    >>> x = [0, 1, 0, 1]
    >>> z = [0, 0, 1, 1]
    >>> y = [0, 1, 1, 0]          # y = x XOR z
    >>> round(discrete_conditional_mutual_information(x, y, z, base=2), 6)
    1.0
    """
    method = check_choice(method, "method", DISCRETE_METHODS)
    codes, sizes = _prepare([x, y, z], ["x", "y", "z"], n_categories)
    terms = [(1, [0, 2]), (1, [1, 2]), (-1, [0, 1, 2]), (-1, [2])]
    return convert_base(_combination(codes, sizes, method, terms), base)
