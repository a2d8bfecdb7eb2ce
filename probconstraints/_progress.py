"""Progress bars on request, the same way in ``nfbst``, ``infotheory`` and ``logiclearn``.

``verbose=0`` (the default): no bar. ``verbose=1``: a tqdm bar when stderr is a terminal, none
in a non-terminal log (no carriage-return lines piling up in CI logs or files). ``verbose>=2``:
a bar also in logs, redrawn at most every 10 seconds.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, TypeVar, overload

__all__ = ["ProgressBar", "progress", "show_progress"]

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)


class ProgressBar(Protocol[_T_co]):
    """What callers use of the tqdm bar that :func:`progress` returns (for type checking)."""

    def __iter__(self) -> Iterator[_T_co]: ...

    def update(self, n: float = 1) -> bool | None: ...

    def close(self) -> None: ...

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True,
                    **kwargs: Any) -> None: ...


def show_progress(verbose: int) -> bool:
    """Whether a bar is drawn at this ``verbose`` level (see the module docstring).

    Examples
    --------
    >>> show_progress(0)
    False
    >>> show_progress(2)
    True
    """
    if not verbose:
        return False
    if verbose >= 2:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


@overload
def progress(iterable: Iterable[_T], verbose: int = 0, **kwargs: Any) -> ProgressBar[_T]: ...


@overload
def progress(iterable: None = None, verbose: int = 0, **kwargs: Any) -> ProgressBar[Any]: ...


def progress(iterable: Iterable[Any] | None = None, verbose: int = 0,
             **kwargs: Any) -> ProgressBar[Any]:
    """``tqdm(iterable, **kwargs)``, disabled or slowed down as ``verbose`` says.

    Examples
    --------
    >>> sum(progress(range(3), verbose=0))
    3
    """
    show = show_progress(verbose)
    if show and verbose >= 2 and not getattr(sys.stderr, "isatty", lambda: False)():
        kwargs.setdefault("mininterval", 10.0)
    with warnings.catch_warnings():
        # in a notebook without ipywidgets tqdm.auto warns once ("IProgress not found", with
        # the path of its own file) and falls back to the text bar, which is what we draw
        warnings.filterwarnings("ignore", message="IProgress not found")
        from tqdm.auto import tqdm
    return tqdm(iterable, disable=not show, **kwargs)
