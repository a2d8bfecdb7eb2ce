"""Progress bars on request, the same way in ``nfbst``, ``infotheory`` and ``logiclearn``.

``verbose=0`` (the default): no bar. ``verbose=1``: a tqdm bar when stderr is a terminal, none
in a non-terminal log (no carriage-return lines piling up in CI logs or files). ``verbose>=2``:
a bar also in logs, redrawn at most every 10 seconds.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

__all__ = ["progress", "show_progress"]


def show_progress(verbose) -> bool:
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


def progress(iterable=None, verbose=0, **kwargs):
    """``tqdm(iterable, **kwargs)``, disabled or slowed down as ``verbose`` says.

    Examples
    --------
    >>> sum(progress(range(3), verbose=0))
    3
    """
    show = show_progress(verbose)
    if show and verbose >= 2 and not getattr(sys.stderr, "isatty", lambda: False)():
        kwargs.setdefault("mininterval", 10.0)
    return tqdm(iterable, disable=not show, **kwargs)
