"""What a registered estimator receives: the call objects and their interval helpers.

The front doors of :mod:`infotheory.api` validate every argument, resolve ``"auto"``, read the
data and hand an :class:`EntropyCall`, :class:`MICall` or :class:`CMICall` to the estimator's
handler, which returns ``(value, interval, details)`` (see ``CONTRIBUTING.md``, "Adding an MI
estimator"). The intervals are described in the module notes of :mod:`infotheory.api`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, SupportsFloat, TypeAlias, TypedDict

import numpy as np
from numpy.typing import ArrayLike

from probconstraints._random import RandomStateLike, check_random_state

from . import gaussian as _gaussian
from ._validation import check_k
from .estimate import analytic_interval, bootstrap_interval

if TYPE_CHECKING:
    from .neural import NeuralOptions

__all__ = ["CMICall", "CMIHandler", "EntropyCall", "EntropyHandler", "Estimator",
           "HandlerResult", "Interval", "MICall", "MIHandler"]

#: a confidence interval (low, high) in nats
Interval: TypeAlias = tuple[float, float]
#: what an estimator handler returns: the estimate in nats, the interval (None when no
#: interval was asked for) and the details stored in ``Estimate.details``
HandlerResult: TypeAlias = tuple[SupportsFloat, "Interval | None", dict[str, Any]]


def _default_k(k: int | None, method: str) -> int:
    if k is None:
        return 1 if method in ("copula_ksg", "auto") else 3
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
    rng = check_random_state(random_state)
    # a stream of its own, so the interval does not change the estimate's random draws
    rng = check_random_state(rng.randint(2**31) + 7919)
    reps = np.array([recompute(np.sort(rng.choice(n, n // 2, replace=False)),
                               rng.randint(2**31)) for _ in range(n_resamples)])
    alpha = (1.0 - float(confidence)) / 2.0
    centre = float(np.mean(reps))
    return (float(value + np.quantile(reps, alpha) - centre),
            float(value + np.quantile(reps, 1.0 - alpha) - centre))

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
        """The checked neighbour order ``k`` (default 3; 1 for ``"copula_ksg"`` and the
        continuous ``"auto"``)."""
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
        The method name (what ``"auto"`` resolved to; ``"auto"`` itself for the continuous
        composite of :mod:`infotheory.auto`).
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
        The method name (what ``"auto"`` resolved to; ``"auto"`` itself for the continuous
        composite of :mod:`infotheory.auto`).
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
        The method name (what ``"auto"`` resolved to; ``"auto"`` itself for the continuous
        composite of :mod:`infotheory.auto`).
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


class Estimator(NamedTuple):
    """A registered estimator: its handler and the data it receives (``"continuous"``,
    ``"discrete"`` or ``"any"``; see :func:`infotheory.api.register_mi_estimator`)."""

    handler: Callable[..., HandlerResult]
    data: str


def gaussian_mi_interval(call: MICall, value: float,
                         data: Sequence[np.ndarray]) -> Interval | None:
    """The interval of the Gaussian MI of ``data`` (analytic: from the canonical correlations)."""
    rho = _gaussian.canonical_correlations(*data)
    n = data[0].shape[0]
    return call.interval(value, std_error=float(np.sqrt(np.sum(rho**2) / n)),
                         statistic=lambda idx: _gaussian.gaussian_mutual_information(
                             data[0][idx], data[1][idx]), n=n)
