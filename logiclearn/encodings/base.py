"""Common machinery of encodings: fold a negation-normal-form formula into a cost tensor."""

from __future__ import annotations

import torch

from ..formula import And, Atom, Exists, ForAll, Formula, Or, _check_root, stack_columns

__all__ = ["Encoding", "prepare"]


def prepare(formula) -> Formula:
    """Check ``formula`` and return it in negation normal form.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> from logiclearn.encodings.base import prepare
    >>> x = ll.term(torch.tensor([1.0]))
    >>> type(prepare(~(x <= 0))).__name__
    'Atom'
    """
    if not isinstance(formula, Formula):
        raise TypeError(f"formula must be a logiclearn Formula, got {type(formula).__name__}")
    _check_root(formula)
    return formula if getattr(formula, "_is_nnf", False) else formula.nnf()


class _Context:
    __slots__ = ("index", "detach", "leaves")

    def __init__(self, index=None, detach=False, leaves=None):
        self.index, self.detach, self.leaves = index, detach, leaves


class Encoding:
    """Base class: a cost ``>= 0`` per instance, 0 where the formula holds.

    Subclasses define :meth:`conj` and :meth:`disj` over a ``(..., K)`` tensor of children's
    costs and may transform atom costs with :meth:`atom`. Quantifiers: ``forall`` is the mean
    cost over the batch (the expectation of the training objective, 0 iff every instance is
    satisfied) and ``exists`` the minimum.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.2, 0.7]))
    >>> ll.get_encoding("godel").cost((x >= 0.5) & (x <= 0.6)).tolist()
    [0.30000001192092896, 0.09999996423721313]
    """

    name = "base"

    def cost(self, formula, index=None, detach: bool = False) -> torch.Tensor:
        """Cost of ``formula``: shape ``(B,)`` per instance, or ``()`` when quantified.

        Parameters
        ----------
        formula : Formula
        index : LongTensor of shape (B,), optional
            Ids of the instances (used by the dual encoding's per-example duals).
        detach : bool
            Detach atom costs from the model's graph.

        Returns
        -------
        Tensor
        """
        return self._fold(prepare(formula), (), _Context(index, detach))

    def _fold(self, f, path, ctx):
        if isinstance(f, Atom):
            return self.atom(f.atom_cost(ctx.detach))
        if isinstance(f, (And, Or)):
            costs = stack_columns([self._fold(c, path + (i,), ctx) for i, c in
                                   enumerate(f.children)])
            if isinstance(f, And):
                return self.conj(costs, path, ctx)
            return self.disj(costs, path, ctx)
        if isinstance(f, ForAll):
            return self._fold(f.child, path + (0,), ctx).mean()
        if isinstance(f, Exists):
            return self._fold(f.child, path + (0,), ctx).min()
        raise TypeError(f"formula in negation normal form expected, got {type(f).__name__}")

    def atom(self, cost: torch.Tensor) -> torch.Tensor:
        """Transform an atom's DL2 cost (identity by default)."""
        return cost

    def conj(self, costs, path, ctx):  # pragma: no cover - abstract
        raise NotImplementedError

    def disj(self, costs, path, ctx):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"
