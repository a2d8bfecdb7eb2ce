"""Argument checks shared by logiclearn's public classes."""

from __future__ import annotations

import math
import numbers

__all__ = ["check_number", "check_int", "check_verbose"]


def check_number(value: object, name: str, low: float = -math.inf, strict: bool = False) -> float:
    """``float(value)`` if it is a finite real number ``>= low`` (``> low`` if ``strict``).

    Examples
    --------
    >>> check_number(0.5, "lr", 0.0, strict=True)
    0.5
    >>> check_number("0.5", "lr")
    Traceback (most recent call last):
    ...
    TypeError: lr must be a real number, got '0.5' (str)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    ok = math.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        bound = "" if low == -math.inf else f" {'>' if strict else '>='} {low:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return value


def check_int(value: object, name: str, low: int = 1) -> int:
    """``int(value)`` if it is an integer ``>= low`` (not a bool, not a float).

    Examples
    --------
    >>> check_int(3, "epochs")
    3
    >>> check_int(2.5, "epochs")
    Traceback (most recent call last):
    ...
    TypeError: epochs must be an integer, got 2.5 (float)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_verbose(verbose: object) -> int:
    """``verbose`` as an int >= 0 (0: silent, 1: a bar on a terminal, 2: also in logs)."""
    return check_int(verbose, "verbose", 0)
