"""The formula language in one module: terms, atoms, connectives ``& | ~ >>``, n-ary
``all_of``/``any_of``, quantifiers, and the protocol of the encodings that give a formula its
cost, with their registry.

A :class:`Term` wraps a tensor of model outputs whose first axis is the batch. Arithmetic,
indexing and tensor methods (``softmax``, ``sum``, ``max`` ...) give new terms; comparisons
give :class:`Atom` formulas instead of Boolean tensors.

Every atom compares an expression ``e = lhs - rhs`` with 0:

=========  ==================  ==========================  ===================
atom       written             holds when                  DL2 cost (Fischer 2019)
=========  ==================  ==========================  ===================
``le``     ``a <= b``          ``e <= 0``                  ``max(e, 0)``
``lt``     ``lt(a, b, m)``     ``e <= -m`` (``e < 0`` if   ``max(e + m, 0)``
                               ``m == 0``)
``eq``     ``a == b``          ``e == 0``                  ``|e|``
=========  ==================  ==========================  ===================

Atoms have shape ``()``, ``(B,)`` (one value per instance of the batch) or ``(B, k)``; a
``(B, k)`` atom is a *vector atom* whose k columns count as k children of the enclosing
``all_of``/``any_of``. Negation is pushed down to atoms by :meth:`Formula.nnf` (De Morgan), so
every formula has a cost under every encoding: ``~(e <= 0)`` is ``-e < 0``, ``~(e <= -m)`` is
``-(e + m) < 0``, ``~(e < 0)`` is ``-e <= 0`` and ``~(e == 0)`` is ``e < 0 | -e < 0``.

An encoding (:class:`EncodingProtocol`; the base class :class:`logiclearn.Encoding` and the
encodings of :mod:`logiclearn.encodings` implement it) turns a formula into a cost; the
encodings register themselves by name in :data:`ENCODINGS`, which ``Formula.cost("dual")`` and
:class:`~logiclearn.LogicTrainer` resolve through :func:`get_encoding`. The language and the
protocol it is encoded through live here together, so that no module of logiclearn imports one
that imports it back (the encodings import this module, never the reverse).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol, TypeAlias, TypeVar, cast, overload

import torch

from probconstraints._registry import Registry

from .ops import softmax as _softmax

__all__ = [
    "Term", "term", "as_expr",
    "Formula", "Atom", "And", "Or", "Not", "ForAll", "Exists",
    "le", "ge", "lt", "gt", "eq", "all_of", "any_of", "implies", "forall", "exists",
    "stack_columns", "check_formula",
    "Penalty", "LossFn", "EncodingProtocol", "ENCODINGS", "register_encoding", "get_encoding",
    "check_encoding",
]


# ------------------------------------------------------------------------------ terms
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
    >>> from logiclearn.formula import as_expr, term
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
        return le(self, other)

    def __ge__(self, other: Term | torch.Tensor | float) -> Atom:
        return ge(self, other)

    def __lt__(self, other: Term | torch.Tensor | float) -> Atom:
        return lt(self, other)

    def __gt__(self, other: Term | torch.Tensor | float) -> Atom:
        return gt(self, other)

    # an Atom, not a bool: a Term compares into a formula (the point of the class)
    def __eq__(self, other: Term | torch.Tensor | float) -> Atom:  # type: ignore[override]
        return eq(self, other)

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


# --------------------------------------------------------------------------- formulas
#: an operand of an atom: a Term, a tensor or a real number
Operand: TypeAlias = Term | torch.Tensor | float


def stack_columns(parts: list[torch.Tensor]) -> torch.Tensor:
    """Stack per-child values ``()``, ``(B,)`` or ``(B, k)`` into one ``(B, K)`` (or ``(K,)``).

    Parameters
    ----------
    parts : list of Tensor
        Children's costs or truth values.

    Returns
    -------
    Tensor
        Last axis runs over the children (a vector child contributes its k columns).

    Examples
    --------
    >>> import torch
    >>> from logiclearn.formula import stack_columns
    >>> stack_columns([torch.zeros(4), torch.ones(4, 2)]).shape
    torch.Size([4, 3])
    """
    if len(parts) == 1 and parts[0].ndim == 2:  # one vector child: its columns, no copy
        return parts[0]
    lead = [p.shape[:1] if p.ndim == 2 else p.shape for p in parts]
    if all(ld == lead[0] for ld in lead):  # fast path: one batch size, no broadcasting
        return torch.cat([p if p.ndim == 2 else p.unsqueeze(-1) for p in parts], dim=-1)
    batch = torch.broadcast_shapes(*lead)
    cols = []
    for p in parts:
        if p.ndim == 2:
            cols.append(p.expand(*batch, p.shape[1]) if batch else p)
        else:
            cols.append(p.expand(batch).unsqueeze(-1))
    return torch.cat(cols, dim=-1)


class Formula:
    """Base class of formulas; combine with ``&`` (and), ``|`` (or), ``~`` (not), ``>>`` (implies).

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.2, 0.7]))
    >>> f = (x >= 0.5) >> (x <= 0.9)
    >>> f.holds().tolist()
    [True, True]
    """

    name: str | None = None
    #: set on formulas known to be in negation normal form (no :class:`Not` inside)
    _is_nnf: bool = False

    # -- combinators -----------------------------------------------------------------------
    def __and__(self, other: Formula) -> And:
        return And([self, other])

    def __or__(self, other: Formula) -> Or:
        return Or([self, other])

    def __invert__(self) -> Not:
        return Not(self)

    def __rshift__(self, other: Formula) -> Or:
        return implies(self, other)

    def __bool__(self) -> bool:
        raise TypeError(
            "a Formula has no Python truth value; use & | ~ >> instead of and/or/not, "
            "and .holds() to evaluate it"
        )

    def named(self, name: str) -> Formula:
        """Give the formula a name (used by diagnostics as branch label); returns ``self``."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        self.name = name
        return self

    # -- semantics -------------------------------------------------------------------------
    @property
    def batch_size(self) -> int | None:
        """Number of instances (``None`` for a formula about one assignment)."""
        raise NotImplementedError

    def holds(self, tol: float = 0.0) -> torch.Tensor:
        """Boolean truth per instance; atoms are relaxed by ``tol`` (exact logic at ``tol=0``).

        Examples
        --------
        >>> import torch
        >>> import logiclearn as ll
        >>> x = ll.term(torch.tensor([0.0, 1.0]))
        >>> (~(x == 0)).holds().tolist()
        [False, True]
        """
        check_formula(self)
        return self._truth(float(tol))

    def cost(self, encoding: str | EncodingProtocol = "dual", **kwargs: Any) -> torch.Tensor:
        """Differentiable cost under an encoding name or object (see ``get_encoding``).

        Examples
        --------
        >>> import torch
        >>> import logiclearn as ll
        >>> x = ll.term(torch.tensor([0.2, 0.7]))
        >>> ((x >= 0.5) | (x <= 0.1)).cost("dl2").tolist()
        [0.030000001192092896, 0.0]
        """
        return get_encoding(encoding).cost(self, **kwargs)

    def nnf(self) -> Formula:
        """Equivalent formula in negation normal form (no :class:`Not` left).

        Examples
        --------
        >>> import torch
        >>> import logiclearn as ll
        >>> x = ll.term(torch.tensor([0.3]))
        >>> g = (~((x <= 0.5) & (x >= 0.1))).nnf()
        >>> type(g).__name__, g.holds().tolist()
        ('Or', [False])
        """
        if _negation_free(self):  # already in negation normal form: no copy
            self._is_nnf = True
            return self
        return _nnf(self, False)

    def _truth(self, tol: float) -> torch.Tensor:
        """Boolean truth per instance with atoms relaxed by ``tol`` (no argument checks)."""
        raise NotImplementedError


def _as_formula(f: object, name: str) -> Formula:
    if not isinstance(f, Formula):
        raise TypeError(f"{name} must be a logiclearn Formula, got {type(f).__name__}")
    return f


def check_formula(formula: object, name: str = "formula") -> Formula:
    """Return ``formula`` if it can be evaluated on its own; raise a clear error otherwise.

    A formula must be a :class:`Formula`, and a vector atom (shape ``(B, k)``) must sit inside
    ``all_of``/``any_of``, which say whether all or any of its k columns must hold.

    Parameters
    ----------
    formula : Formula
    name : str
        Name used in the error message.

    Returns
    -------
    Formula

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> p = ll.term(torch.rand(4, 3))
    >>> type(ll.check_formula(ll.any_of(p >= 0.5))).__name__
    'Or'
    >>> ll.check_formula(p >= 0.5)
    Traceback (most recent call last):
    ...
    ValueError: formula: a vector atom of shape (4, 3) must sit inside all_of/any_of, ...
    """
    if not isinstance(formula, Formula):
        raise TypeError(f"{name} must be a logiclearn Formula, got {type(formula).__name__}")
    if isinstance(formula, Atom) and formula.expr.ndim == 2:
        raise ValueError(
            f"{name}: a vector atom of shape {tuple(formula.expr.shape)} must sit inside "
            "all_of/any_of, which say whether all or any of its columns must hold"
        )
    return formula


class Atom(Formula):
    """Comparison ``e <= 0`` (``kind='le'``), ``e <= -margin`` (``'lt'``) or ``e == 0`` (``'eq'``).

    Parameters
    ----------
    kind : {'le', 'lt', 'eq'}
    expr : Tensor of shape (), (B,) or (B, k)
        ``lhs - rhs``.
    margin : float
        Strictness margin of ``'lt'`` atoms (0 means a plain strict inequality).

    Examples
    --------
    >>> import torch
    >>> from logiclearn.formula import Atom
    >>> Atom("le", torch.tensor([-1.0, 2.0])).atom_cost().tolist()
    [0.0, 2.0]
    """

    KINDS = ("le", "lt", "eq")

    def __init__(self, kind: str, expr: Operand, margin: float = 0.0,
                 name: str | None = None) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        expr = as_expr(expr, "expr")
        if not isinstance(expr, torch.Tensor):
            expr = torch.tensor(expr, dtype=torch.get_default_dtype())
        if expr.ndim > 2:
            raise ValueError(
                "an atom must have shape (), (B,) or (B, k) (batch first); "
                f"got shape {tuple(expr.shape)}"
            )
        margin = float(margin)
        if not margin >= 0 or margin == float("inf"):
            raise ValueError(f"margin must be a finite number >= 0, got {margin}")
        self.kind, self.expr, self.margin, self.name = kind, expr, margin, name

    @property
    def batch_size(self) -> int | None:
        return int(self.expr.shape[0]) if self.expr.ndim else None

    def atom_cost(self, detach: bool = False) -> torch.Tensor:
        """DL2 translation cost: 0 exactly where the atom holds (up to the boundary of ``lt``)."""
        e = self.expr.detach() if detach else self.expr
        if self.kind == "le":
            return torch.relu(e)
        if self.kind == "lt":
            return torch.relu(e + self.margin)
        return e.abs()

    def _truth(self, tol: float) -> torch.Tensor:
        e = self.expr.detach()
        if self.kind == "le":
            return e <= tol
        if self.kind == "lt":
            return (e + self.margin <= tol) if self.margin > 0 else (e < tol)
        return e.abs() <= tol

    def negated(self) -> Formula:
        """The atom's negation as a negation-free formula."""
        e = self.expr
        if self.kind == "le":
            return Atom("lt", -e)
        if self.kind == "lt":
            return Atom("lt", -(e + self.margin)) if self.margin > 0 else Atom("le", -e)
        return Or([Atom("lt", e), Atom("lt", -e)])

    def __repr__(self) -> str:
        m = f", margin={self.margin}" if self.kind == "lt" else ""
        return f"Atom({self.kind}, shape={tuple(self.expr.shape)}{m})"


class _Connective(Formula):
    symbol = "?"
    #: set by :func:`implies` on the ``~a | b`` it builds (read by :func:`logiclearn.report`)
    is_implication: bool = False

    def __init__(self, children: Formula | Iterable[Formula],
                 labels: Iterable[str] | None = None, name: str | None = None) -> None:
        if isinstance(children, Formula):
            children = [children]
        try:
            children = list(children)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__} expects an iterable of Formulas, "
                f"got {type(children).__name__}"
            ) from None
        if not children:
            raise ValueError(f"{type(self).__name__} needs at least one child formula, got none")
        for i, c in enumerate(children):
            _as_formula(c, f"child {i} of {type(self).__name__}")
        sizes = set()  # a loop, not a comprehension with :=, so that torch.compile traces it
        for c in children:
            s = c.batch_size
            if s is not None:
                sizes.add(s)
        if len(sizes) > 1:
            raise ValueError(
                f"children of {type(self).__name__} must share one batch size, got {sorted(sizes)}"
            )
        self.children: list[Formula] = children
        self.labels = tuple(labels) if labels is not None else None
        self.name = name
        self._batch_size = sizes.pop() if sizes else None

    @property
    def batch_size(self) -> int | None:
        return self._batch_size

    def label(self, i: int) -> str:
        """Label of child ``i``: its name, else the connective's label, else its index."""
        c = self.children[i]
        if c.name:
            return c.name
        if isinstance(c, Not) and c.child.name:
            return "not " + c.child.name
        if self.labels is not None:
            return self.labels[i]
        return str(i)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.children))})"


class And(_Connective):
    """Conjunction of child formulas (vector atoms contribute one child per column).

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([[0.1, 0.9]]))
    >>> ll.And([x <= 1.0, x[:, 0] <= 0.5]).holds().tolist()
    [True]
    """

    def _truth(self, tol: float) -> torch.Tensor:
        return stack_columns([c._truth(tol) for c in self.children]).all(-1)


class Or(_Connective):
    """Disjunction of child formulas (vector atoms contribute one child per column).

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([[0.1, 0.9]]))
    >>> ll.Or([x >= 0.8]).holds().tolist()
    [True]
    """

    def _truth(self, tol: float) -> torch.Tensor:
        return stack_columns([c._truth(tol) for c in self.children]).any(-1)


class Not(Formula):
    """Negation; removed by :meth:`Formula.nnf` before a cost is computed.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.Not(ll.term(torch.tensor([1.0])) <= 0).holds().tolist()
    [True]
    """

    def __init__(self, child: Formula, name: str | None = None) -> None:
        self.child = check_formula(child, "negated formula")
        self.name = name

    @property
    def batch_size(self) -> int | None:
        return self.child.batch_size

    def _truth(self, tol: float) -> torch.Tensor:
        return ~self.child._truth(tol)

    def __repr__(self) -> str:
        return f"Not({self.child!r})"


class _Quantifier(Formula):
    def __init__(self, child: Formula, name: str | None = None) -> None:
        self.child = check_formula(child, "quantified formula")
        if self.child.batch_size is None:
            raise ValueError("a quantifier needs a formula with a batch axis (shape (B,)), got "
                             "a formula about one assignment (scalar atoms)")
        self.name = name

    @property
    def batch_size(self) -> int | None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.child!r})"


class ForAll(_Quantifier):
    """The child formula holds for every instance of the batch.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.forall(ll.term(torch.tensor([0.1, 0.2])) <= 0.5).holds().item()
    True
    """

    def _truth(self, tol: float) -> torch.Tensor:
        return self.child._truth(tol).all()


class Exists(_Quantifier):
    """The child formula holds for at least one instance of the batch.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.exists(ll.term(torch.tensor([0.1, 0.9])) >= 0.5).holds().item()
    True
    """

    def _truth(self, tol: float) -> torch.Tensor:
        return self.child._truth(tol).any()


def _negation_free(f: Formula) -> bool:
    if isinstance(f, Atom):
        return True
    if isinstance(f, Not):
        return False
    if isinstance(f, _Connective):
        return all(_negation_free(c) for c in f.children)
    if isinstance(f, _Quantifier):
        return _negation_free(f.child)
    raise TypeError(f"unknown formula type {type(f).__name__}")


def _nnf(f: Formula, neg: bool) -> Formula:
    if isinstance(f, Not):
        out = _nnf(f.child, not neg)
    elif isinstance(f, Atom):
        out = f.negated() if neg else f
    elif isinstance(f, _Connective):
        kids = [_nnf(c, neg) for c in f.children]
        labels = [f.label(i) for i in range(len(f.children))]
        if neg:
            labels = ["not " + lab for lab in labels]
        cls = (Or if isinstance(f, And) else And) if neg else type(f)
        out = cls(kids, labels=labels)
    elif isinstance(f, _Quantifier):
        qcls = (Exists if isinstance(f, ForAll) else ForAll) if neg else type(f)
        out = qcls(_nnf(f.child, neg))
    else:  # pragma: no cover - all Formula subclasses are handled above
        raise TypeError(f"unknown formula type {type(f).__name__}")
    if f.name and not isinstance(f, Not):
        out.name = ("not " + f.name) if neg else f.name
    out._is_nnf = True
    return out


# -- constructors --------------------------------------------------------------------------
def _diff(a: Operand, b: Operand) -> torch.Tensor | float:
    ea, eb = as_expr(a, "left operand"), as_expr(b, "right operand")
    if not isinstance(ea, torch.Tensor) and not isinstance(eb, torch.Tensor):
        raise TypeError("at least one side of an atom must be a Term or a tensor, got "
                        f"{type(a).__name__} and {type(b).__name__}")
    try:
        return ea - eb
    except RuntimeError as err:
        sa = tuple(ea.shape) if isinstance(ea, torch.Tensor) else ()
        sb = tuple(eb.shape) if isinstance(eb, torch.Tensor) else ()
        raise ValueError(f"atom sides must broadcast, got shapes {sa} and {sb}") from err


def le(a: Operand, b: Operand) -> Atom:
    """Atom ``a <= b`` with cost ``max(a - b, 0)``.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.le(ll.term(torch.tensor([1.0, 3.0])), 2.0).atom_cost().tolist()
    [0.0, 1.0]
    """
    return Atom("le", _diff(a, b))


def ge(a: Operand, b: Operand) -> Atom:
    """Atom ``a >= b`` with cost ``max(b - a, 0)``.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.ge(ll.term(torch.tensor([1.0, 3.0])), 2.0).atom_cost().tolist()
    [1.0, 0.0]
    """
    return Atom("le", _diff(b, a))


def lt(a: Operand, b: Operand, margin: float = 0.0) -> Atom:
    """Strict atom ``a < b``; with ``margin > 0`` it means ``a <= b - margin``.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.lt(ll.term(torch.tensor([0.95])), 1.0, margin=0.1).atom_cost()
    tensor([0.0500])
    """
    return Atom("lt", _diff(a, b), margin)


def gt(a: Operand, b: Operand, margin: float = 0.0) -> Atom:
    """Strict atom ``a > b``; with ``margin > 0`` it means ``a >= b + margin``.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.gt(ll.term(torch.tensor([0.5])), 0.0, margin=0.1).holds().tolist()
    [True]
    """
    return Atom("lt", _diff(b, a), margin)


def eq(a: Operand, b: Operand) -> Atom:
    """Atom ``a == b`` with cost ``|a - b|``.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.eq(ll.term(torch.tensor([0.75])), 1.0).atom_cost().tolist()
    [0.25]
    """
    return Atom("eq", _diff(a, b))


def _children(formulas: tuple[Formula | Iterable[Formula], ...]) -> Iterable[Formula]:
    """The children of ``all_of(*formulas)``: the formulas, or the one iterable given."""
    if len(formulas) == 1 and not isinstance(formulas[0], Formula):
        return formulas[0]
    # several arguments are formulas; the connective refuses (naming it) any that is not
    return cast("tuple[Formula, ...]", formulas)


def all_of(*formulas: Formula | Iterable[Formula], name: str | None = None) -> And:
    """n-ary conjunction; accepts formulas or one iterable of them.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> d = ll.term(torch.tensor([[1.0, 2.0, 3.0]]))
    >>> ll.all_of(d[:, i] <= d[:, i + 1] for i in range(2)).holds().tolist()
    [True]
    """
    return And(_children(formulas), name=name)


def any_of(*formulas: Formula | Iterable[Formula], name: str | None = None) -> Or:
    """n-ary disjunction; accepts formulas or one iterable of them.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> p = ll.term(torch.tensor([[0.1, 0.9]]))
    >>> ll.any_of(p == 1.0, p == 0.0).cost("dual").tolist()
    [0.10000000149011612]
    """
    return Or(_children(formulas), name=name)


def implies(antecedent: Formula, consequent: Formula) -> Or:
    """``antecedent >> consequent`` as ``~antecedent | consequent``; branches are labelled.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.0, 1.0]))
    >>> ll.implies(x >= 0.5, x >= 0.9).holds().tolist()
    [True, True]
    """
    a = _as_formula(antecedent, "antecedent")
    c = _as_formula(consequent, "consequent")
    out = Or([Not(a), c], labels=("antecedent false", "consequent true"))
    out.is_implication = True
    return out


def forall(formula: Formula, name: str | None = None) -> ForAll:
    """Universal quantifier over the batch axis.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.forall(ll.term(torch.tensor([0.1, 0.9])) <= 0.5).holds().item()
    False
    """
    return ForAll(formula, name=name)


def exists(formula: Formula, name: str | None = None) -> Exists:
    """Existential quantifier over the batch axis.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.exists(ll.term(torch.tensor([0.1, 0.9])) <= 0.5).holds().item()
    True
    """
    return Exists(formula, name=name)


# ------------------------------------------------------------------ the encoding protocol
#: map from per-instance costs to per-instance losses (it may also have a ``derivative``)
LossFn: TypeAlias = Callable[[torch.Tensor], torch.Tensor]


class Penalty(NamedTuple):
    """What an encoding's ``penalty`` returns (see :class:`EncodingProtocol`).

    Attributes
    ----------
    value : Tensor, shape ()
        Differentiable term added (times λ) to the supervised loss.
    cost : Tensor, shape (B,) or ()
        Per-instance cost (for the σ schedule and the history).
    extra : object
        Anything the encoding's ``after_step`` needs (``None`` by default).
    outputs_grad : tuple of Tensor, optional
        Only from ``penalty_from_outputs``: the gradient of ``value`` with respect
        to each of the ``outputs`` it was given, computed with the value. ``value`` then needs
        no autograd graph: the trainer adds ``λ · outputs_grad`` to the outputs' gradient in
        its one backward pass. ``None`` (the default): ``value`` is differentiated by autograd.
    mean_cost : Tensor, shape (), optional
        ``cost.mean()`` when the encoding computed it already (the trainer's readout);
        ``None``: the trainer computes it.

    Examples
    --------
    >>> import torch
    >>> from logiclearn.formula import Penalty
    >>> p = Penalty(torch.tensor(0.5), torch.tensor([0.0, 1.0]))
    >>> p.extra is None and p.outputs_grad is None and p.mean_cost is None
    True
    """

    value: torch.Tensor
    cost: torch.Tensor
    extra: object = None
    outputs_grad: tuple[torch.Tensor, ...] | None = None
    mean_cost: torch.Tensor | None = None


class EncodingProtocol(Protocol):
    """What :class:`~logiclearn.LogicTrainer` and :meth:`Formula.cost` need of an encoding.

    Required: the attributes ``name`` (str), ``default_loss`` (the cost -> loss map, one of
    ``'linear'``, ``'truncated'``, ``'gaussian'``, used when the trainer's
    ``constraint_loss='auto'``) and ``needs_index`` (bool: unlabelled batches must carry
    example ids), and the methods below. Optional (looked up when present):
    ``penalty_from_outputs(build, outputs, batch, index, loss_fn)``, ``use_compile(flag)`` and
    ``state_dict()``. :class:`logiclearn.Encoding` implements all of them; subclass it, or
    write any object with these members (:func:`check_encoding` names what is missing).
    """

    name: str
    default_loss: str
    needs_index: bool

    def cost(self, formula: Formula, index: torch.Tensor | None = None,
             detach: bool = False) -> torch.Tensor:
        """Cost of ``formula``: shape ``(B,)`` per instance, or ``()`` when quantified."""
        ...

    def before_step(self, formula: Formula, index: torch.Tensor | None,
                    loss_fn: LossFn) -> None:
        """Run on each batch before the model's step."""
        ...

    def penalty(self, formula: Formula, index: torch.Tensor | None,
                loss_fn: LossFn) -> Penalty:
        """The differentiable constraint term of a batch."""
        ...

    def after_step(self, penalty: Penalty) -> None:
        """Run on each batch after the model's step."""
        ...


#: the members every encoding has: (attributes, methods) of :class:`EncodingProtocol`
_ENCODING_ATTRIBUTES = ("name", "default_loss", "needs_index")
_ENCODING_METHODS = ("cost", "before_step", "penalty", "after_step")


def check_encoding(encoding: object, name: str = "encoding") -> EncodingProtocol:
    """``encoding`` if it has every member of :class:`EncodingProtocol`; else a TypeError that
    names the missing ones.

    Examples
    --------
    >>> class Half:
    ...     name, default_loss, needs_index = "half", "linear", False
    ...     def cost(self, formula, index=None, detach=False): ...
    >>> try:
    ...     check_encoding(Half())
    ... except TypeError as exc:
    ...     print(str(exc).split(", which ")[1])
    lacks the methods before_step, penalty, after_step. Subclass logiclearn.Encoding to inherit them
    """
    attrs = [a for a in _ENCODING_ATTRIBUTES if not hasattr(encoding, a)]
    methods = [m for m in _ENCODING_METHODS if not callable(getattr(encoding, m, None))]
    if not attrs and not methods:
        return cast(EncodingProtocol, encoding)
    expected = (f"{name} must be a str or an Encoding (the members of logiclearn.Encoding: "
                f"attributes {', '.join(_ENCODING_ATTRIBUTES)}; methods "
                f"{', '.join(_ENCODING_METHODS)}); got {type(encoding).__name__}")
    if len(attrs) + len(methods) == len(_ENCODING_ATTRIBUTES) + len(_ENCODING_METHODS):
        raise TypeError(expected)
    lacks = " and ".join(
        ([f"the attributes {', '.join(attrs)}"] if attrs else [])
        + ([f"the methods {', '.join(methods)}"] if methods else []))
    raise TypeError(f"{expected}, which lacks {lacks}. Subclass logiclearn.Encoding to "
                    f"inherit them")


# ------------------------------------------------------------------- the encoding registry
#: name -> factory ``factory(**params) -> Encoding``; ``ENCODINGS.names()`` lists them
ENCODINGS: Registry[Callable[..., EncodingProtocol]] = Registry("encoding")
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
    :class:`EncodingProtocol` (as :class:`logiclearn.Encoding`).

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


def get_encoding(encoding: str | EncodingProtocol = "dual",
                 **params: Any) -> EncodingProtocol:
    """A fresh encoding from its name (with ``params``), or ``encoding`` itself if it is one.

    Parameters
    ----------
    encoding : str or Encoding
        An object with the members of :class:`EncodingProtocol` (checked, naming what is
        missing), or a registered name: ``'dual'``, ``'dl2'``, ``'product'`` (alias ``'fuzzy'``),
        ``'lukasiewicz'``, ``'godel'``, ``'pd'``, ``'semantic'`` (``ENCODINGS.names()``).
    **params
        Keyword arguments of the encoding's constructor, e.g. ``lr`` of ``'dual'``.

    Returns
    -------
    EncodingProtocol

    Examples
    --------
    >>> import logiclearn as ll
    >>> ll.get_encoding("fuzzy")
    FuzzyEncoding(tnorm='product')
    >>> ll.get_encoding("dual", lr=0.5).lr
    0.5
    """
    if not isinstance(encoding, str):
        check_encoding(encoding)
        if params:
            raise TypeError(
                f"encoding parameters {sorted(params)} can only be given with an encoding "
                f"name, not with the encoding object {encoding!r}"
            )
        return encoding
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
