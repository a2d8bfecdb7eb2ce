"""Terms: tensors of model outputs that compare into atoms (``<=``, ``>=``, ``==``, ``<``, ``>``).

A :class:`Term` wraps a tensor whose first axis is the batch. Arithmetic, indexing and tensor
methods (``softmax``, ``sum``, ``max`` ...) give new terms; comparisons give
:class:`~logiclearn.formula.Atom` formulas instead of Boolean tensors.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from .ops import softmax as _softmax

if TYPE_CHECKING:  # annotations only: formula.py imports this module
    from .formula import Atom

__all__ = ["Term", "term", "as_expr", "register_comparisons"]

# atom constructors for <=, >=, <, >, ==; logiclearn.formula registers them at import, so that
# terms.py does not import formula.py (which imports this module)
_COMPARISONS: dict[str, Callable[..., Atom]] = {}


def register_comparisons(**constructors: Callable[..., Atom]) -> None:
    """Set the atom constructors behind ``Term``'s comparisons (``le``, ``ge``, ``lt``, ``gt``,
    ``eq``); :mod:`logiclearn.formula` calls it once.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> type(ll.term(torch.zeros(2)) <= 1.0).__name__
    'Atom'
    """
    unknown = set(constructors) - {"le", "ge", "lt", "gt", "eq"}
    if unknown:
        raise ValueError(f"comparisons must be among le, ge, lt, gt, eq; got {sorted(unknown)}")
    _COMPARISONS.update(constructors)


def as_expr(x: object, name: str = "term") -> torch.Tensor | float:
    """Return the tensor (or Python number) behind ``x``; refuse anything else.

    Parameters
    ----------
    x : Term, Tensor or real number
        Operand of an atom or of term arithmetic.
    name : str
        Name used in the error message.

    Returns
    -------
    Tensor or float

    Examples
    --------
    >>> import torch
    >>> from logiclearn.terms import as_expr, term
    >>> as_expr(term(torch.ones(2))).shape
    torch.Size([2])
    >>> as_expr(0.5)
    0.5
    """
    if isinstance(x, Term):
        return x.value
    if isinstance(x, torch.Tensor):
        if not torch.is_floating_point(x):
            x = x.to(torch.get_default_dtype())
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        x = float(x)
        if x != x or x in (float("inf"), float("-inf")):
            raise ValueError(f"{name} must be finite, got {x}")
        return x
    raise TypeError(
        f"{name} must be a logiclearn Term, a torch.Tensor or a real number, "
        f"got {type(x).__name__}"
    )


def _wrap(x: Any) -> Any:
    return Term(x) if isinstance(x, torch.Tensor) and torch.is_floating_point(x) else x


def _unwrap(x: Any) -> Any:
    if isinstance(x, Term):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


class Term:
    """A real-valued tensor of model outputs, batch first, used to write atoms.

    Parameters
    ----------
    value : Tensor
        Floating-point tensor; its first axis (if any) is the batch of instances.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> p = ll.term(torch.tensor([[0.2, 0.8], [0.9, 0.1]]))
    >>> atom = p[:, 1] >= 0.5          # an Atom, not a Boolean tensor
    >>> atom.holds().tolist()
    [True, False]
    """

    __slots__ = ("value",)
    value: torch.Tensor
    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    def __init__(self, value: Term | torch.Tensor) -> None:
        if isinstance(value, Term):
            value = value.value
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"Term value must be a torch.Tensor, got {type(value).__name__}; "
                "wrap model outputs, e.g. ll.term(model(x))"
            )
        if not torch.is_floating_point(value):
            raise TypeError(f"Term value must be a floating-point tensor, got dtype {value.dtype}")
        self.value = value

    # -- tensor-like behaviour -------------------------------------------------------------
    @property
    def shape(self) -> torch.Size:
        """Shape of the underlying tensor."""
        return self.value.shape

    def __getattr__(self, name: str) -> Any:
        if name == "value" or name.startswith("__"):  # not set yet (copy, pickle)
            raise AttributeError(name)
        attr = getattr(self.value, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args: Any, **kwargs: Any) -> Any:
            out = attr(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
            if isinstance(out, tuple):  # e.g. max(dim) -> (values, indices)
                return type(out)(_wrap(o) for o in out)
            return _wrap(out)

        return method

    def softmax(self, dim: int = -1) -> Term:
        """Softmax along ``dim`` (a fast path; see :func:`logiclearn.ops.softmax`)."""
        return Term(_softmax(self.value, dim))

    def __getitem__(self, key: Any) -> Term:
        return Term(self.value[_unwrap(key)])

    def __repr__(self) -> str:
        return f"Term(shape={tuple(self.value.shape)})"

    def __len__(self) -> int:
        return len(self.value)

    # -- arithmetic ----------------------------------------------------------------------
    def __add__(self, other: Term | torch.Tensor | float) -> Term:
        return Term(self.value + as_expr(other, "operand"))

    def __radd__(self, other: Term | torch.Tensor | float) -> Term:
        return Term(as_expr(other, "operand") + self.value)

    def __sub__(self, other: Term | torch.Tensor | float) -> Term:
        return Term(self.value - as_expr(other, "operand"))

    def __rsub__(self, other: Term | torch.Tensor | float) -> Term:
        return Term(as_expr(other, "operand") - self.value)

    def __mul__(self, other: Term | torch.Tensor | float) -> Term:
        return Term(self.value * as_expr(other, "operand"))

    def __rmul__(self, other: Term | torch.Tensor | float) -> Term:
        return Term(as_expr(other, "operand") * self.value)

    def __truediv__(self, other: Term | torch.Tensor | float) -> Term:
        return Term(self.value / as_expr(other, "operand"))

    def __rtruediv__(self, other: Term | torch.Tensor | float) -> Term:
        return Term(as_expr(other, "operand") / self.value)

    def __neg__(self) -> Term:
        return Term(-self.value)

    def __abs__(self) -> Term:
        return Term(self.value.abs())

    # -- comparisons give atoms ------------------------------------------------------------
    def __le__(self, other: Term | torch.Tensor | float) -> Atom:
        return _COMPARISONS["le"](self, other)

    def __ge__(self, other: Term | torch.Tensor | float) -> Atom:
        return _COMPARISONS["ge"](self, other)

    def __lt__(self, other: Term | torch.Tensor | float) -> Atom:
        return _COMPARISONS["lt"](self, other)

    def __gt__(self, other: Term | torch.Tensor | float) -> Atom:
        return _COMPARISONS["gt"](self, other)

    # an Atom, not a bool: a Term compares into a formula (the point of the class)
    def __eq__(self, other: Term | torch.Tensor | float) -> Atom:  # type: ignore[override]
        return _COMPARISONS["eq"](self, other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError(
            "a Term has no truth value; compare it (<=, >=, ==) to build an Atom and "
            "combine atoms with &, |, ~, >>"
        )


def term(value: torch.Tensor) -> Term:
    """Wrap a tensor of model outputs as a :class:`Term`.

    Parameters
    ----------
    value : Tensor
        Floating-point tensor, batch first. NaN or inf entries are refused.

    Returns
    -------
    Term

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.term(torch.zeros(3, 2)).shape
    torch.Size([3, 2])
    """
    t = Term(value)
    if not bool(torch.isfinite(t.value).all()):
        raise ValueError("term value must be finite; got NaN or inf entries")
    return t
