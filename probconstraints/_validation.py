"""The one hyper-parameter dialect of the distribution (``infotheory`` and ``logiclearn`` use
it; ``nfbst`` will).

Errors name the argument and the value received, in one wording: ``"<name> must be <what>;
got <value>"``, raised as :class:`InvalidParameterError`, which is both a ValueError and a
TypeError (as scikit-learn's own), so ``except ValueError`` and ``except TypeError`` both catch
it. ``verbose`` is an int >= 0; a bool is refused (``verbose=True`` is not a level).

A class declares its parameters once, as scikit-learn's ``_parameter_constraints``: a mapping
argument name -> constraint (:class:`Int`, :class:`Float`, :class:`Choice`, :class:`Verbose`,
:class:`OfType` or any callable ``(value, name) -> value``), checked by the one validator
:func:`validate_params`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar, overload

__all__ = [
    "Choice",
    "Constraint",
    "Float",
    "Int",
    "InvalidParameterError",
    "OfType",
    "Verbose",
    "check_choice",
    "check_float",
    "check_int",
    "check_verbose",
    "validate_params",
]

_T = TypeVar("_T")


class InvalidParameterError(ValueError, TypeError):
    """A hyper-parameter of the wrong type or value (both a ValueError and a TypeError, as
    scikit-learn's own ``InvalidParameterError``)."""


def _fail(name: str, what: str, value: object) -> InvalidParameterError:
    return InvalidParameterError(f"{name} must be {what}; got {value!r}")


@overload
def check_int(value: object, name: str, low: int | None = None, high: int | None = None,
              allow_none: Literal[False] = False) -> int: ...


@overload
def check_int(value: object, name: str, low: int | None = None, high: int | None = None,
              *, allow_none: bool) -> int | None: ...


def check_int(value: object, name: str, low: int | None = None, high: int | None = None,
              allow_none: bool = False) -> int | None:
    """An ``int`` (bools and non-integral numbers refused), within ``[low, high]``.

    Examples
    --------
    >>> check_int(200, "n_resamples", 2)
    200
    >>> try:
    ...     check_int(2.5, "n_resamples", 2)
    ... except TypeError as exc:
    ...     print(exc)
    n_resamples must be an integer >= 2; got 2.5
    >>> check_int(None, "max_iter", 1, allow_none=True) is None
    True
    """
    what = "an integer" + (f" >= {low}" if low is not None else "") + (
        f" and <= {high}" if high is not None else "")
    if allow_none:
        what = "None or " + what
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(name, what, value)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise _fail(name, what, value)
    return v


@overload
def check_float(value: object, name: str, low: float | None = None, high: float | None = None,
                low_inclusive: bool = False, high_inclusive: bool = False,
                allow_none: Literal[False] = False) -> float: ...


@overload
def check_float(value: object, name: str, low: float | None = None, high: float | None = None,
                low_inclusive: bool = False, high_inclusive: bool = False,
                *, allow_none: bool) -> float | None: ...


def check_float(value: object, name: str, low: float | None = None, high: float | None = None,
                low_inclusive: bool = False, high_inclusive: bool = False,
                allow_none: bool = False) -> float | None:
    """A finite real number (bools, NaN and infinities refused) in the interval given by
    ``low`` and ``high`` (open unless ``low_inclusive`` / ``high_inclusive``).

    Examples
    --------
    >>> check_float(0.95, "confidence", 0, 1)
    0.95
    >>> try:
    ...     check_float(1.5, "confidence", 0, 1)
    ... except ValueError as exc:
    ...     print(exc)
    confidence must be a finite number > 0 and < 1; got 1.5
    """
    parts = []
    if low is not None:
        parts.append((">= " if low_inclusive else "> ") + f"{low:g}")
    if high is not None:
        parts.append(("<= " if high_inclusive else "< ") + f"{high:g}")
    what = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if allow_none:
        what = "None or " + what
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, what, value)
    v = float(value)
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v >= low if low_inclusive else v > low
    if ok and high is not None:
        ok = v <= high if high_inclusive else v < high
    if not ok:
        raise _fail(name, what, value)
    return v


def check_choice(value: _T, name: str, choices: Collection[object]) -> _T:
    """``value`` if it is one of ``choices`` (``True`` is not ``1``; unhashable values fail
    cleanly).

    Examples
    --------
    >>> check_choice("bootstrap", "ci", (None, "bootstrap", "analytic"))
    'bootstrap'
    >>> try:
    ...     check_choice("x", "ci", (None, "bootstrap", "analytic"))
    ... except ValueError as exc:
    ...     print(exc)
    ci must be one of (None, 'bootstrap', 'analytic'); got 'x'
    """
    if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        raise _fail(name, f"one of {tuple(choices)!r}", value)
    return value


def check_verbose(verbose: object, name: str = "verbose") -> int:
    """``verbose`` as an int >= 0 (0: silent, 1: a bar on a terminal, 2: also in logs); a bool
    is refused.

    Examples
    --------
    >>> check_verbose(1)
    1
    >>> try:
    ...     check_verbose(True)
    ... except TypeError as exc:
    ...     print(exc)
    verbose must be an integer >= 0; got True
    """
    return check_int(verbose, name, 0)


# ------------------------------------------------------------------ declared constraints
@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]`` (see :func:`check_int`)."""

    low: int | None = None
    high: int | None = None
    allow_none: bool = False

    def __call__(self, value: object, name: str) -> int | None:
        return check_int(value, name, self.low, self.high, allow_none=self.allow_none)


@dataclass(frozen=True)
class Float:
    """A finite real number in an interval (see :func:`check_float`)."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = False
    high_inclusive: bool = False
    allow_none: bool = False

    def __call__(self, value: object, name: str) -> float | None:
        return check_float(value, name, self.low, self.high, self.low_inclusive,
                           self.high_inclusive, allow_none=self.allow_none)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of values (see :func:`check_choice`)."""

    choices: tuple[object, ...]

    def __call__(self, value: object, name: str) -> object:
        return check_choice(value, name, self.choices)


@dataclass(frozen=True)
class Verbose:
    """A verbosity level: an int >= 0, a bool refused (see :func:`check_verbose`)."""

    def __call__(self, value: object, name: str) -> int:
        return check_verbose(value, name)


@dataclass(frozen=True)
class OfType:
    """An instance of ``types`` (``None`` too if ``allow_none``); ``what`` names them."""

    types: type | tuple[type, ...]
    what: str
    allow_none: bool = False

    def __call__(self, value: object, name: str) -> object:
        if (value is None and self.allow_none) or (
                value is not None and isinstance(value, self.types)):
            return value
        raise _fail(name, ("None or " if self.allow_none else "") + self.what, value)


#: a declared constraint: one of the classes above or any ``(value, name) -> value``
Constraint: TypeAlias = Callable[[Any, str], Any]


def validate_params(params: Mapping[str, object],
                    constraints: Mapping[str, Constraint]) -> dict[str, Any]:
    """Check every declared parameter once; return the checked values by name.

    ``params`` holds at least the declared names (extra names are not checked). The checks
    run in declaration order, so the first bad parameter is the one named.

    Examples
    --------
    >>> spec = {"epochs": Int(1), "lr": Float(0, low_inclusive=True), "verbose": Verbose()}
    >>> validate_params({"epochs": 3, "lr": 0.01, "verbose": 0}, spec)
    {'epochs': 3, 'lr': 0.01, 'verbose': 0}
    >>> try:
    ...     validate_params({"epochs": 3, "lr": 0.01, "verbose": True}, spec)
    ... except TypeError as exc:
    ...     print(exc)
    verbose must be an integer >= 0; got True
    """
    return {name: check(params[name], name) for name, check in constraints.items()}
