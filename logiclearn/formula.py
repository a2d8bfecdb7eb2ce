"""Formulas over terms: atoms, connectives ``& | ~ >>``, n-ary ``all_of``/``any_of``, quantifiers.

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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import torch

from .registry import get_encoding
from .terms import Term, as_expr, register_comparisons

if TYPE_CHECKING:  # annotations only: the encodings import this module
    from .encodings.base import Encoding

__all__ = [
    "Formula", "Atom", "And", "Or", "Not", "ForAll", "Exists",
    "le", "ge", "lt", "gt", "eq", "all_of", "any_of", "implies", "forall", "exists",
    "stack_columns", "check_formula",
]

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

    def cost(self, encoding: str | Encoding = "dual", **kwargs: Any) -> torch.Tensor:
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


register_comparisons(le=le, ge=ge, lt=lt, gt=gt, eq=eq)
