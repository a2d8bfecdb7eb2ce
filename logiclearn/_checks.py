"""Argument checks and progress reporting shared by logiclearn's public classes."""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterator, Sequence
from typing import IO, Any, Generic, TypeVar

__all__ = ["check_number", "check_int", "check_verbose", "Progress"]

_T = TypeVar("_T")


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
    """``verbose`` as an int >= 0 (0: silent, 1: progress)."""
    return check_int(verbose, "verbose", 0)


class Progress(Generic[_T]):
    """Epoch progress: a tqdm bar on a terminal, at most ~20 plain lines otherwise, or nothing.

    A bar redraws with carriage returns, which fill a log file or a CI page with hundreds of
    lines; when standard error is not a terminal each report is one plain line instead.

    Examples
    --------
    >>> list(Progress(range(3), verbose=0, desc="demo"))
    [0, 1, 2]
    """

    def __init__(self, iterable: Sequence[_T], verbose: int, desc: str,
                 file: IO[str] | None = None):
        self.iterable, self.verbose, self.desc = iterable, int(verbose), desc
        self.file = file if file is not None else sys.stderr
        self.total = len(iterable)
        self._bar: Any = None  # a tqdm bar (tqdm ships no type information)
        if self.verbose and _isatty(self.file):
            from tqdm.auto import tqdm

            self._bar = tqdm(iterable, desc=desc, file=self.file)
        self._i, self._every = 0, max(1, math.ceil(self.total / 20))

    def __iter__(self) -> Iterator[_T]:
        if self._bar is not None:
            yield from self._bar
            return
        for i, item in enumerate(self.iterable, 1):
            self._i = i
            yield item

    def set_postfix(self, values: dict[str, object]) -> None:
        """Report ``values`` for the current item."""
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.set_postfix(values)
            return
        if self._i % self._every == 0 or self._i == self.total:
            text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in values.items())
            print(f"{self.desc} {self._i}/{self.total}: {text}", file=self.file, flush=True)


def _isatty(f: IO[str]) -> bool:
    try:
        return bool(f.isatty())
    except (AttributeError, ValueError):
        return False
