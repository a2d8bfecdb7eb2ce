"""The one registry helper of the distribution: name -> entry.

infotheory's entropy, MI and CMI front doors and logiclearn's encodings each keep one
:class:`Registry` (nfbst's statistics and backends will). One rule for a duplicate name (refused
unless ``overwrite=True``) and one way to list what is registered (:meth:`Registry.names`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["Registry"]

_T = TypeVar("_T")


class Registry(Generic[_T]):
    """A table name -> entry, in registration order.

    Parameters
    ----------
    what : str
        What an entry is, for the error messages (e.g. ``"MI estimator"``).
    reserved : tuple of str, default=()
        Names that can never be registered (``"auto"`` is resolved by the front door).

    Examples
    --------
    >>> table = Registry("MI estimator", reserved=("auto",))
    >>> table.register("binned", len)
    <built-in function len>
    >>> table.names(), "binned" in table
    (('binned',), True)
    >>> table.register("binned", abs)
    Traceback (most recent call last):
    ...
    ValueError: MI estimator 'binned' is already registered; pass overwrite=True to replace it
    >>> table.register("binned", abs, overwrite=True) is table["binned"]
    True
    """

    def __init__(self, what: str, reserved: tuple[str, ...] = ()) -> None:
        self.what = what
        self.reserved = reserved
        self._entries: dict[str, _T] = {}

    def register(self, name: str, entry: _T, *, overwrite: bool = False) -> _T:
        """Store ``entry`` under ``name`` and return it; a taken name needs ``overwrite=True``."""
        if not isinstance(name, str) or not name or name in self.reserved:
            reserved = f" other than {', '.join(map(repr, self.reserved))}" \
                if self.reserved else ""
            raise ValueError(f"name must be a non-empty string{reserved}; got {name!r}")
        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be a bool; got {overwrite!r}")
        if name in self._entries and not overwrite:
            raise ValueError(f"{self.what} {name!r} is already registered; pass "
                             f"overwrite=True to replace it")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> _T:
        """Remove ``name`` and return its entry."""
        if name not in self._entries:
            raise KeyError(f"no {self.what} named {name!r}; registered: {self.names()}")
        return self._entries.pop(name)

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        return tuple(self._entries)

    def copy(self) -> Registry[_T]:
        """An independent copy (tests register into one and drop it afterwards)."""
        out: Registry[_T] = Registry(self.what, self.reserved)
        out._entries = dict(self._entries)
        return out

    def __getitem__(self, name: str) -> _T:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, names={self.names()})"
