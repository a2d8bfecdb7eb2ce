"""Exact semantic loss (Xu et al., ICML 2018) by enumerating the worlds of a small formula.

Each column of each atom of the formula is an independent Boolean variable, true with
probability ``p = 1 - min(cost, 1)`` (for an atom ``p == 1`` on a probability, ``p`` itself);
``~`` is the Boolean complement of its operand. Atoms of equal kind, margin and values (e.g.
``p[:, 3] == 1`` written twice) are one variable. The cost is ``-log P(formula)``, the weighted
model count; it is 0 exactly on satisfying assignments when the atoms are crisp (cost 0 or
``>= 1``), the discrete setting the semantic loss is defined for.
"""

from __future__ import annotations

import functools
import itertools
from typing import TypeAlias

import torch

from probconstraints._validation import check_int

from ..formula import (
    And,
    Atom,
    Exists,
    ForAll,
    Formula,
    Not,
    Or,
    check_formula,
    register_encoding,
    stack_columns,
)
from .base import Encoding

__all__ = ["SemanticEncoding"]

#: id of an atom -> (first column, width, vector atom?) in the table of worlds
_Columns: TypeAlias = dict[int, tuple[int, int, bool]]


@register_encoding("semantic", aliases=("semantic-loss",))
class SemanticEncoding(Encoding):
    """Semantic loss ``-log Σ_{w ⊨ φ} Π_i p_i^{w_i} (1 - p_i)^{1 - w_i}`` by enumeration.

    Parameters
    ----------
    max_vars : int
        Refuse formulas with more Boolean variables (2**max_vars worlds are enumerated).

    Notes
    -----
    Logarithms of probabilities are floored at ``log(1e-12)``; the cost is clamped at 0.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> p = ll.term(torch.tensor([[0.5, 0.5]]))
    >>> enc = ll.get_encoding("semantic")
    >>> round(enc.cost(ll.any_of(p == 1)).exp().item(), 4)   # P(a or b) = 1 / (1 - 0.25)
    1.3333
    """

    name = "semantic"

    def __init__(self, max_vars: int = 16) -> None:
        self.max_vars = check_int(max_vars, "max_vars", 1)

    def cost(self, formula: Formula, index: torch.Tensor | None = None,
             detach: bool = False) -> torch.Tensor:
        f = check_formula(formula)
        if isinstance(f, (ForAll, Exists)):
            c = self.cost(f.child, index, detach)
            return c.mean() if isinstance(f, ForAll) else c.min()
        atoms: list[Atom] = []
        alias: dict[int, int] = {}
        _collect(f, atoms, alias)
        probs = [1.0 - a.atom_cost(detach).clamp(max=1.0) for a in atoms]
        widths = [p.shape[-1] if p.ndim == 2 else 1 for p in probs]
        n = sum(widths)
        if n > self.max_vars:
            raise ValueError(
                f"semantic loss enumerates 2**n worlds; formula has n={n} Boolean variables, "
                f"more than max_vars={self.max_vars}"
            )
        worlds = _worlds(n)  # (2^n, n)
        cols: _Columns = {}
        start = 0
        for a, width in zip(atoms, widths):
            cols[id(a)] = (start, width, a.expr.ndim == 2)
            start += width
        for dup, orig in alias.items():
            cols[dup] = cols[orig]
        sat = _truth(f, worlds, cols)  # (2^n,)
        P = stack_columns(probs)  # (B, n) or (n,)
        P = P.clamp(0.0, 1.0)
        w = worlds.to(P.dtype)
        logp = torch.log(P.clamp(min=1e-12))
        log1mp = torch.log((1.0 - P).clamp(min=1e-12))
        world_logmass = logp @ w[sat].T + log1mp @ (1.0 - w[sat]).T  # (B, n_sat)
        if world_logmass.shape[-1] == 0:
            return torch.full(P.shape[:-1], float("inf"), dtype=P.dtype)
        return torch.clamp(-torch.logsumexp(world_logmass, -1), min=0.0)

    def __repr__(self) -> str:
        return f"SemanticEncoding(max_vars={self.max_vars})"


@functools.lru_cache(maxsize=32)
def _worlds(n: int) -> torch.Tensor:
    """All 2**n Boolean assignments, shape ``(2**n, n)`` (cached)."""
    return torch.tensor(list(itertools.product([False, True], repeat=n)), dtype=torch.bool)


def _same(a: Atom, b: Atom) -> bool:
    return (a.kind == b.kind and a.margin == b.margin and a.expr.shape == b.expr.shape
            and bool(torch.equal(a.expr.detach(), b.expr.detach())))


def _collect(f: Formula, atoms: list[Atom], alias: dict[int, int]) -> None:
    if isinstance(f, Atom):
        for a in atoms:
            if a is f or _same(a, f):
                if a is not f:
                    alias[id(f)] = id(a)
                return
        atoms.append(f)
    elif isinstance(f, (And, Or)):
        for c in f.children:
            _collect(c, atoms, alias)
    elif isinstance(f, Not):
        _collect(f.child, atoms, alias)
    else:
        raise ValueError("semantic loss supports quantifiers only at the root of the formula")


def _truth(f: Formula, worlds: torch.Tensor, cols: _Columns) -> torch.Tensor:
    if isinstance(f, Atom):
        start, w, vec = cols[id(f)]
        block = worlds[:, start:start + w]
        return block if vec else block[:, 0]
    if isinstance(f, Not):
        return ~_truth(f.child, worlds, cols)
    if not isinstance(f, (And, Or)):  # quantifiers below the root: refused by _collect
        raise TypeError(f"semantic loss cannot enumerate a {type(f).__name__} here")
    parts = stack_columns([_truth(c, worlds, cols) for c in f.children])
    return parts.all(-1) if isinstance(f, And) else parts.any(-1)
