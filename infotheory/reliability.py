"""The interval and the ``reliability`` verdict of ``mutual_information(..., method="auto")``.

Pure functions of what ``auto`` records in ``Estimate.details`` (the value of every estimate
behind it and its standard error), so the benchmark experiment can refit the constants from
the recorded runs without re-estimating anything.

Interval (``ci="auto"``, the default of ``auto`` on continuous data)
    ``[v - z s - LOW, v + z s + HIGH + NONGAUSS * (v - g) + PER_DIM * (dx + dy)]`` with ``v``
    the estimate, ``s`` the standard error of its per-point terms times ``STAT_FACTOR`` (the
    Gaussian-reference bias correction is an estimate too, with about the same variance),
    ``g`` the Gaussian-copula estimate and ``z`` the normal quantile of ``confidence``. The
    k-NN terms are biased low where the dependence is far from Gaussian and where the
    dimension is high, so the upper side widens with ``v - g`` and with ``dx + dy``. The
    constants were fitted on the selection seeds of :mod:`infotheory.task_generator` (n =
    5,000) by ``python -m experiments run info_estimator_benchmark`` (``calibration.md``):
    the smallest mean width with at least 96 % coverage there; the held-out seeds report
    the coverage that users can expect.

Verdict (``Estimate.reliability``)
    ``"ok"`` or the reasons, joined by ``"; "``, that the estimate may be off by more than
    0.15 nats:

    * the estimators behind ``auto`` disagree beyond their intervals (copula-KSG against the
      kernel-CCA term, ``DISAGREE`` nats above the sum of their statistical half-widths);
    * the dependence is far from Gaussian where k-NN terms are known to read low
      (``v - g > NONGAUSS_LIMIT`` with ``dx + dy >= NONGAUSS_MIN_DIM``);
    * n is too small for the dimension (``dx + dy > MAX_DIM + 2 log2(n / 5000)``);
    * the value is above what n samples can support (``v > ln n - 1``: a k-NN estimate
      saturates near ln n).

Examples
--------
>>> details = {"copula_ksg": 0.40, "copula_ksg_se": 0.01, "gaussian_copula": 0.39,
...            "gaussian_copula_se": 0.01, "chosen": "copula_ksg"}
>>> auto_verdict(0.40, details, 1, 1, 5000)
'ok'
>>> lo, hi = auto_interval(0.40, details, 1, 1, 5000)
>>> lo < 0.40 < hi
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scipy.stats import norm

__all__ = ["AUTO_CALIBRATION", "auto_interval", "auto_verdict", "generic_verdict"]

#: constants of the interval and the verdict of ``auto`` (fitted on the selection seeds)
AUTO_CALIBRATION: dict[str, float] = {
    "STAT_FACTOR": 1.5,
    "LOW": 0.01,
    "HIGH": 0.0,
    "NONGAUSS": 1.0,
    "PER_DIM": 0.005,
    "DISAGREE": 0.2,
    "NONGAUSS_LIMIT": 0.15,
    "NONGAUSS_MIN_DIM": 4,
    "MAX_DIM": 21,
}


def _z(confidence: float) -> float:
    return float(norm.ppf(0.5 + float(confidence) / 2.0))


def _se(details: Mapping[str, Any], name: str) -> float:
    return float(details.get(f"{name}_se", 0.0))


def auto_interval(value: float, details: Mapping[str, Any], dx: int, dy: int, n: int,
                  confidence: float = 0.95,
                  params: Mapping[str, float] | None = None) -> tuple[float, float]:
    """The calibrated interval of an ``auto`` estimate (see the module notes).

    Parameters
    ----------
    value : float
        The estimate in nats.
    details : mapping
        ``Estimate.details`` of ``auto``: every candidate's value and ``<name>_se``, and
        ``"chosen"``.
    dx, dy : int
        Dimensions of X and Y.
    n : int
        Number of samples.
    confidence : float, default=0.95
    params : mapping, optional
        Constants replacing :data:`AUTO_CALIBRATION` (for the calibration itself).

    Returns
    -------
    (low, high) : tuple of float

    Examples
    --------
    >>> d = {"copula_ksg": 1.0, "copula_ksg_se": 0.02, "gaussian_copula": 0.7,
    ...      "chosen": "copula_ksg"}
    >>> lo, hi = auto_interval(1.0, d, 3, 3, 5000)
    >>> hi - 1.0 > 1.0 - lo        # wider above: non-Gaussian dependence reads low
    True
    """
    p = {**AUTO_CALIBRATION, **(params or {})}
    z = _z(confidence)
    s = p["STAT_FACTOR"] * _se(details, str(details.get("chosen", "")))
    gauss = float(details.get("gaussian_copula", value))
    low = value - z * s - p["LOW"]
    high = value + z * s + p["HIGH"] + p["NONGAUSS"] * max(0.0, value - gauss) \
        + p["PER_DIM"] * (dx + dy)
    return float(low), float(high)


def max_dim(n: int, params: Mapping[str, float] | None = None) -> float:
    """Largest dx + dy that ``auto`` trusts at n samples: ``MAX_DIM`` at n = 5,000, two more
    per doubling of n.

    Examples
    --------
    >>> max_dim(5000), max_dim(20000)
    (21.0, 25.0)
    """
    p = {**AUTO_CALIBRATION, **(params or {})}
    return float(p["MAX_DIM"] + 2.0 * math.log2(max(n, 2) / 5000.0))


def auto_verdict(value: float, details: Mapping[str, Any], dx: int, dy: int, n: int,
                 confidence: float = 0.95, params: Mapping[str, float] | None = None) -> str:
    """``"ok"`` or the reasons why an ``auto`` estimate may be off by more than 0.15 nats.

    Parameters are those of :func:`auto_interval`.

    Returns
    -------
    str

    Examples
    --------
    >>> d = {"copula_ksg": 0.60, "copula_ksg_se": 0.01, "kcca_copula_ksg": 0.90,
    ...      "kcca_copula_ksg_se": 0.01, "gaussian_copula": 0.36, "chosen": "kcca_copula_ksg"}
    >>> print(auto_verdict(0.90, d, 5, 5, 5000).replace("; ", "\\n"))  # doctest: +ELLIPSIS
    estimators behind auto disagree: copula-KSG 0.600 vs kernel-CCA 0.900 nats, beyond ...
    dependence far from Gaussian (0.900 vs Gaussian copula 0.360 nats) in 5 x 5 ...
    """
    p = {**AUTO_CALIBRATION, **(params or {})}
    z = _z(confidence)
    reasons = []
    if "kcca_copula_ksg" in details and "copula_ksg" in details:
        a, b = float(details["copula_ksg"]), float(details["kcca_copula_ksg"])
        allowed = z * p["STAT_FACTOR"] * (_se(details, "copula_ksg")
                                          + _se(details, "kcca_copula_ksg")) + p["DISAGREE"]
        if abs(a - b) > allowed:
            reasons.append(f"estimators behind auto disagree: copula-KSG {a:.3f} vs "
                           f"kernel-CCA {b:.3f} nats, beyond their intervals")
    gauss = float(details.get("gaussian_copula", value))
    if dx + dy >= p["NONGAUSS_MIN_DIM"] and value - gauss > p["NONGAUSS_LIMIT"]:
        reasons.append(f"dependence far from Gaussian ({value:.3f} vs Gaussian copula "
                       f"{gauss:.3f} nats) in {dx} x {dy} dimensions: k-NN estimates read low")
    reasons += _common_reasons(value, dx + dy, n, params)
    return "; ".join(reasons) or "ok"


def _common_reasons(value: float, dim: int, n: int,
                    params: Mapping[str, float] | None = None) -> list[str]:
    reasons = []
    if dim > max_dim(n, params):
        reasons.append(f"n = {n} too small for dx + dy = {dim} (about "
                       f"{max_dim(n, params):.0f} dimensions are trusted at this n; above 20 "
                       f"auto falls back to the Gaussian copula, blind to non-Gaussian "
                       f"dependence)")
    if value > math.log(n) - 1.0:
        reasons.append(f"value {value:.3f} nats is near or above ln n = {math.log(n):.3f}, "
                       f"the most n samples can support")
    return reasons


def generic_verdict(value: float, n: int, dim: int, *, continuous: bool,
                    cells: int | None = None) -> str:
    """The verdict of a method other than continuous ``auto``: the n-for-dimension and ln n
    checks for continuous data, samples per joint cell for labels.

    Parameters
    ----------
    value : float
        The estimate in nats.
    n : int
        Number of samples.
    dim : int
        dx + dy (continuous data).
    continuous : bool
        Whether both variables were read as continuous.
    cells : int, optional
        Number of observed joint cells (labels).

    Returns
    -------
    str

    Examples
    --------
    >>> generic_verdict(0.2, 100, 2, continuous=False, cells=400)
    'n = 100 too small for 400 observed joint cells (fewer than 1 sample per cell)'
    >>> generic_verdict(0.2, 5000, 2, continuous=True)
    'ok'
    """
    reasons = []
    if continuous:
        reasons += _common_reasons(value, dim, n)
    elif cells is not None and n < cells:
        reasons.append(f"n = {n} too small for {cells} observed joint cells (fewer than 1 "
                       f"sample per cell)")
    elif value > math.log(n):
        reasons.append(f"value {value:.3f} nats is above ln n = {math.log(n):.3f}")
    return "; ".join(reasons) or "ok"
