"""Registry of encodings by name, so that a new encoding is one file that registers itself.

:data:`ENCODINGS` is a :class:`probconstraints._registry.Registry`, the distribution's one
registry helper: a name already taken is refused unless ``overwrite=True``, and
``ENCODINGS.names()`` lists what is registered.

This module imports nothing else from logiclearn: :mod:`logiclearn.formula` uses it to resolve
``formula.cost("dual")`` and :mod:`logiclearn.encodings` fills it, without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from probconstraints._registry import Registry

if TYPE_CHECKING:  # annotations only: importing the encodings here would be a cycle
    from .encodings.base import Encoding

__all__ = ["ENCODINGS", "register_encoding", "get_encoding"]

#: name -> factory ``factory(**params) -> Encoding``; ``ENCODINGS.names()`` lists them
ENCODINGS: Registry[Callable[..., Encoding]] = Registry("encoding")
#: other name -> registered name
_ALIASES: Registry[str] = Registry("encoding alias")


_F = TypeVar("_F", bound=Callable[..., Any])


@overload
def register_encoding(name: str, factory: None = None, aliases: Iterable[str] = (), *,
                      overwrite: bool = False) -> Callable[[_F], _F]: ...
@overload
def register_encoding(name: str, factory: _F, aliases: Iterable[str] = (), *,
                      overwrite: bool = False) -> _F: ...
def register_encoding(name: str, factory: Callable[..., Any] | None = None,
                      aliases: Iterable[str] = (), *,
                      overwrite: bool = False) -> Callable[..., Any]:
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
    overwrite : bool, default=False
        Replace an encoding (or alias) already registered under the name; without it, a
        taken name is refused.

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
    >>> "max-or" in ll.ENCODINGS.names()
    True
    >>> _ = ll.ENCODINGS.unregister("max-or")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"encoding name must be a non-empty str, got {name!r}")

    def add(f: _F) -> _F:
        if not callable(f):
            raise TypeError(f"encoding factory must be callable, got {type(f).__name__}")
        ENCODINGS.register(name.lower(), f, overwrite=overwrite)
        for a in aliases:
            _ALIASES.register(a.lower(), name.lower(), overwrite=overwrite)
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
        ``'lukasiewicz'``, ``'godel'``, ``'pd'``, ``'semantic'`` (``ENCODINGS.names()``).
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
    key = _ALIASES[encoding.lower()] if encoding.lower() in _ALIASES else encoding.lower()
    if key not in ENCODINGS:
        raise ValueError(
            f"encoding must be one of {sorted(ENCODINGS.names())} (aliases "
            f"{sorted(_ALIASES.names())}), "
            f"got {encoding!r}"
        )
    try:
        return ENCODINGS[key](**params)
    except TypeError as err:
        raise TypeError(f"invalid parameters {sorted(params)} for encoding {key!r}: {err}") \
            from None
