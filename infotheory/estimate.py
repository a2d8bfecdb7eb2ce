"""The :class:`Estimate` result shared by every estimator, and its confidence intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, SupportsFloat

import numpy as np
from scipy.stats import norm

from probconstraints._random import RandomStateLike, check_random_state
from probconstraints._validation import check_float, check_int

from ._validation import convert_base

__all__ = ["Estimate", "analytic_interval", "bootstrap_interval"]

_LN2 = math.log(2.0)


class Estimate(float):
    """An information estimate in nats that behaves as a float and carries its provenance.

    ``float(est)`` (or any arithmetic) uses the value in nats; ``est.bits`` converts.

    Parameters
    ----------
    value : float
        The estimate in nats.
    method : str
        Name of the estimator that produced it (``"ksg"``, ``"miller_madow"``, ...).
    n : int
        Number of samples it was computed from.
    quantity : str, default="mutual_information"
        What was estimated (``"entropy"``, ``"mutual_information"``,
        ``"conditional_mutual_information"``).
    ci : tuple of float, optional
        Confidence interval (low, high) in nats, when one was asked for.
    ci_level : float, optional
        Coverage of ``ci`` (e.g. 0.95).
    ci_method : str, optional
        ``"bootstrap"`` or ``"analytic"``.
    details : dict, optional
        Estimator-specific extras (k, the bound used, training curves, ...).
    reliability : str, default="ok"
        ``"ok"``, or the reasons why the estimate may be off by more than its interval
        suggests (see :mod:`infotheory.reliability`).
    notes : sequence of str, optional
        How the input was read, when it was not what its dtype says (e.g. float labels).

    Examples
    --------
    >>> est = Estimate(np.log(2), method="plugin", n=100)
    >>> round(float(est), 4), round(est.bits, 4), est.ci is None
    (0.6931, 1.0, True)
    >>> est + 1.0 > 1.5
    True
    """

    method: str
    n: int
    quantity: str
    ci: tuple[float, float] | None
    ci_level: float | None
    ci_method: str | None
    details: dict[str, Any]
    reliability: str
    notes: tuple[str, ...]

    def __new__(cls, value: SupportsFloat, *, method: str, n: int,
                quantity: str = "mutual_information",
                ci: Sequence[SupportsFloat] | None = None, ci_level: float | None = None,
                ci_method: str | None = None,
                details: Mapping[str, Any] | None = None, reliability: str = "ok",
                notes: Sequence[str] = ()) -> Estimate:
        obj = super().__new__(cls, float(value))
        obj.method = str(method)
        obj.n = int(n)
        obj.quantity = str(quantity)
        obj.ci = None if ci is None else (float(ci[0]), float(ci[1]))
        obj.ci_level = None if ci_level is None else float(ci_level)
        obj.ci_method = ci_method
        obj.details = dict(details or {})
        obj.reliability = str(reliability)
        obj.notes = tuple(str(note) for note in notes)
        return obj

    @property
    def nats(self) -> float:
        """The estimate in nats (same as ``float(self)``)."""
        return float(self)

    @property
    def bits(self) -> float:
        """The estimate in bits."""
        return float(self) / _LN2

    @property
    def ci_bits(self) -> tuple[float, float] | None:
        """The confidence interval in bits, or None."""
        return None if self.ci is None else (self.ci[0] / _LN2, self.ci[1] / _LN2)

    def to(self, base: float) -> float:
        """The estimate in the unit of logarithm ``base`` (2 for bits, 10 for hartleys)."""
        return convert_base(float(self), base)

    def __repr__(self) -> str:
        text = f"Estimate({float(self):.6g} nats, method={self.method!r}, n={self.n}"
        if self.ci is not None:
            text += f", ci={self.ci_level:.0%} [{self.ci[0]:.6g}, {self.ci[1]:.6g}]"
        if self.reliability != "ok":
            text += f", reliability={self.reliability!r}"
        return text + ")"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Callable[..., Estimate], tuple[object, ...]]:
        return (_rebuild, (float(self), self.method, self.n, self.quantity, self.ci,
                           self.ci_level, self.ci_method, self.details, self.reliability,
                           self.notes))


def _rebuild(value: float, method: str, n: int, quantity: str, ci: tuple[float, float] | None,
             ci_level: float | None, ci_method: str | None, details: dict[str, Any],
             reliability: str = "ok", notes: Sequence[str] = ()) -> Estimate:
    return Estimate(value, method=method, n=n, quantity=quantity, ci=ci, ci_level=ci_level,
                    ci_method=ci_method, details=details, reliability=reliability, notes=notes)


def analytic_interval(value: float, std_error: float,
                      confidence: float = 0.95) -> tuple[float, float]:
    """Normal-approximation interval ``value +/- z * std_error``.

    Examples
    --------
    >>> lo, hi = analytic_interval(1.0, 0.1, 0.95)
    >>> round(lo, 3), round(hi, 3)
    (0.804, 1.196)
    """
    z = norm.ppf(0.5 + check_float(confidence, "confidence", 0.0, 1.0) / 2.0)
    return float(value - z * std_error), float(value + z * std_error)


def bootstrap_interval(statistic: Callable[[np.ndarray], SupportsFloat], n: int, *,
                       n_resamples: int = 200, confidence: float = 0.95,
                       random_state: RandomStateLike = None) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(indices)`` over resampled row indices.

    Parameters
    ----------
    statistic : callable
        Maps an index array of length ``n`` (drawn with replacement) to a float.
    n : int
        Number of rows.
    n_resamples : int, default=200
        Bootstrap replicates.
    confidence : float, default=0.95
        Coverage.
    random_state : int, RandomState or None
        Seed of the resampling.

    Returns
    -------
    (low, high) : tuple of float

    Examples
    --------
    >>> x = np.arange(100.0)
    >>> lo, hi = bootstrap_interval(lambda i: x[i].mean(), 100, random_state=0)
    >>> lo < 49.5 < hi
    True
    """
    level = check_float(confidence, "confidence", 0.0, 1.0)
    n_resamples = check_int(n_resamples, "n_resamples", 2)
    rng = check_random_state(random_state)
    reps = np.array([statistic(rng.randint(0, n, size=n)) for _ in range(n_resamples)])
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(reps, alpha)), float(np.quantile(reps, 1.0 - alpha))
