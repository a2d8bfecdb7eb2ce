"""Registry of encodings by name, so that a new encoding is one file that registers itself.

This module imports nothing else from logiclearn: :mod:`logiclearn.formula` uses it to resolve
``formula.cost("dual")`` and :mod:`logiclearn.encodings` fills it, without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:  # annotations only: importing the encodings here would be a cycle
    from .encodings.base import Encoding

__all__ = ["ENCODINGS", "register_encoding", "get_encoding"]

#: name -> factory ``factory(**params) -> Encoding``
ENCODINGS: dict[str, Callable[..., Encoding]] = {}
_ALIASES: dict[str, str] = {}


_F = TypeVar("_F", bound=Callable[..., Any])


@overload
def register_encoding(name: str, factory: None = None,
                      aliases: Iterable[str] = ()) -> Callable[[_F], _F]: ...
@overload
def register_encoding(name: str, factory: _F, aliases: Iterable[str] = ()) -> _F: ...
def register_encoding(name: str, factory: Callable[..., Any] | None = None,
                      aliases: Iterable[str] = ()) -> Callable[..., Any]:
    """Register ``factory`` (a class or function returning an encoding) under ``name``.

    Usable as a class decorator. An encoding is any object with the methods of
    :class:`logiclearn.Encoding` (``cost``, ``before_step``, ``penalty``, ``after_step``).

    Parameters
    ----------
    name : str
        Lower-case name users pass to ``LogicTrainer(encoding=...)``.
    factory : callable, optional
        ``factory(**params)``; when omitted, the decorated class.
    aliases : iterable of str
        Other names for the same encoding.

    Returns
    -------
    The factory (so that the decorator leaves the class unchanged).

    Examples
    --------
    >>> import logiclearn as ll
    >>> @ll.register_encoding("max-or")
    ... class MaxOr(ll.DL2Encoding):      # DL2 but with min for disjunction
    ...     def disj(self, costs, path, ctx):
    ...         return costs.min(-1).values
    >>> type(ll.get_encoding("max-or")).__name__
    'MaxOr'
    >>> _ = ll.ENCODINGS.pop("max-or")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"encoding name must be a non-empty str, got {name!r}")

    def add(f: _F) -> _F:
        if not callable(f):
            raise TypeError(f"encoding factory must be callable, got {type(f).__name__}")
        ENCODINGS[name.lower()] = f
        for a in aliases:
            _ALIASES[a.lower()] = name.lower()
        return f

    return add(factory) if factory is not None else add


def _is_encoding(obj: object) -> bool:
    return all(callable(getattr(obj, m, None))
               for m in ("cost", "before_step", "penalty", "after_step"))


def get_encoding(encoding: str | Encoding = "dual", **params: Any) -> Encoding:
    """A fresh encoding from its name (with ``params``), or ``encoding`` itself if it is one.

    Parameters
    ----------
    encoding : str or Encoding
        A registered name: ``'dual'``, ``'dl2'``, ``'product'`` (alias ``'fuzzy'``),
        ``'lukasiewicz'``, ``'godel'``, ``'pd'``, ``'semantic'`` (see :data:`ENCODINGS`).
    **params
        Keyword arguments of the encoding's constructor, e.g. ``lr`` of ``'dual'``.

    Returns
    -------
    Encoding

    Examples
    --------
    >>> import logiclearn as ll
    >>> ll.get_encoding("fuzzy")
    FuzzyEncoding(tnorm='product')
    >>> ll.get_encoding("dual", lr=0.5).lr
    0.5
    """
    if not isinstance(encoding, str):
        if _is_encoding(encoding):
            if params:
                raise TypeError(
                    f"encoding parameters {sorted(params)} can only be given with an encoding "
                    f"name, not with the encoding object {encoding!r}"
                )
            return encoding
        raise TypeError(
            "encoding must be a str or an Encoding (an object with cost, before_step, penalty "
            f"and after_step), got {type(encoding).__name__}"
        )
    key = _ALIASES.get(encoding.lower(), encoding.lower())
    if key not in ENCODINGS:
        raise ValueError(
            f"encoding must be one of {sorted(ENCODINGS)} (aliases {sorted(_ALIASES)}), "
            f"got {encoding!r}"
        )
    try:
        return ENCODINGS[key](**params)
    except TypeError as err:
        raise TypeError(f"invalid parameters {sorted(params)} for encoding {key!r}: {err}") \
            from None
