"""The encoding protocol, and the fold of a negation-normal-form formula into a cost tensor.

:class:`LogicTrainer` only talks to an encoding through this protocol, so a new encoding is
one file (a subclass registered with :func:`logiclearn.register_encoding`) that the trainer does
not need to know about:

* ``default_loss`` — the map from cost to loss when the trainer's ``constraint_loss='auto'``;
* ``needs_index`` — whether unlabelled batches must carry example ids;
* ``before_step(formula, index, loss_fn)`` — run before the model's step (the dual τ step);
* ``penalty(formula, index, loss_fn) -> Penalty`` — the term added to the supervised loss;
* ``after_step(penalty)`` — run after the model's step (the multipliers' ascent of ``'pd'``);
* ``state_dict()`` — the encoding's own learned state (duals, multipliers);
* ``use_compile(flag)`` — optional: a compiled training step (``'dual'`` has one);
* ``penalty_from_outputs(build, outputs, batch, index, loss_fn)`` — optional: ``before_step``
  and ``penalty`` in one call from the model's outputs and the formula's builder (the
  compiled step of ``'dual'`` builds the formula inside its compiled function); ``None``
  (the default) lets the trainer build the formula and call the two hooks.

Encodings with their own variables also own their step sizes (``DualEncoding(lr=...)``,
``PrimalDualEncoding(lr=..., update_freq=...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import torch

from ..formula import (
    And,
    Atom,
    Exists,
    ForAll,
    Formula,
    LossFn,
    Or,
    Penalty,
    check_formula,
    stack_columns,
)

__all__ = ["Encoding", "Penalty", "FoldContext", "prepare", "LossFn", "Path", "DualKey",
           "FormulaBuilder"]

#: position of a sub-formula in the negation-normal-form tree (child indices from the root)
Path: TypeAlias = tuple[int, ...]
#: a connective's key in the dual store: ``('and' or 'or', path)``
DualKey: TypeAlias = tuple[str, Path]
#: ``build(outputs, batch) -> Formula``: the checked formula, in negation normal form, of the
#: model's outputs on an unlabelled batch (one tensor per view) and the raw batch
FormulaBuilder: TypeAlias = Callable[[Sequence[torch.Tensor], Any], Formula]


def prepare(formula: Formula) -> Formula:
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
    check_formula(formula)
    return formula if getattr(formula, "_is_nnf", False) else formula.nnf()


class FoldContext:
    """State of one fold: example ids, whether atoms are detached, dual leaves to collect."""

    __slots__ = ("index", "detach", "leaves")

    def __init__(self, index: torch.Tensor | None = None, detach: bool = False,
                 leaves: dict[DualKey, torch.Tensor] | None = None) -> None:
        self.index, self.detach, self.leaves = index, detach, leaves


class Encoding:
    """Base class: a cost ``>= 0`` per instance, 0 where the formula holds, plus training hooks.

    Subclasses define :meth:`conj` and :meth:`disj` over a ``(..., K)`` tensor of children's
    costs and may transform atom costs with :meth:`atom`. Quantifiers: ``forall`` is the mean
    cost over the batch (the expectation of the training objective, 0 iff every instance is
    satisfied) and ``exists`` the minimum. The hooks default to a stateless penalty
    ``mean(loss_fn(cost))``.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.2, 0.7]))
    >>> ll.get_encoding("godel").cost((x >= 0.5) & (x <= 0.6)).tolist()
    [0.30000001192092896, 0.09999996423721313]
    """

    name = "base"
    #: cost -> loss map used when the trainer's ``constraint_loss`` is ``'auto'``
    default_loss = "linear"
    #: whether the unlabelled batches must end with example ids
    needs_index = False

    def cost(self, formula: Formula, index: torch.Tensor | None = None,
             detach: bool = False) -> torch.Tensor:
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
        return self._fold(prepare(formula), (), FoldContext(index, detach))

    # -- training hooks (the protocol LogicTrainer uses) ---------------------------------------
    def before_step(self, formula: Formula, index: torch.Tensor | None,
                    loss_fn: LossFn) -> None:
        """Hook run on each batch before the model's step (nothing by default).

        Parameters
        ----------
        formula : Formula
            In negation normal form (see :func:`prepare`).
        index : LongTensor of shape (B,) or None
            Example ids of the unlabelled batch.
        loss_fn : callable
            Map from the per-instance cost to the per-instance loss.
        """

    def penalty(self, formula: Formula, index: torch.Tensor | None,
                loss_fn: LossFn) -> Penalty:
        """Differentiable constraint term of a batch: ``mean(loss_fn(cost))`` by default.

        Examples
        --------
        >>> import torch
        >>> import logiclearn as ll
        >>> x = ll.term(torch.tensor([0.2, 0.7]))
        >>> p = ll.get_encoding("dl2").penalty(x >= 0.5, None, lambda c: c)
        >>> round(p.value.item(), 3), [round(v, 3) for v in p.cost.tolist()]
        (0.15, [0.3, 0.0])
        """
        cost = self.cost(formula, index=index)
        return Penalty(loss_fn(cost).mean(), cost)

    def after_step(self, penalty: Penalty) -> None:
        """Hook run on each batch after the model's step (nothing by default)."""

    def penalty_from_outputs(self, build: FormulaBuilder, outputs: Sequence[torch.Tensor],
                             batch: Any, index: torch.Tensor | None,
                             loss_fn: LossFn) -> Penalty | None:
        """Optional: :meth:`before_step` and :meth:`penalty` of one batch in one call.

        Given the model's ``outputs`` (one tensor per view of the unlabelled ``batch``) and
        ``build`` (``build(outputs, batch)`` is the checked formula in negation normal form),
        an encoding may compute its step without the trainer building the formula (the
        compiled step of ``'dual'`` builds it inside one compiled function). ``None`` (the
        default) means: build the formula and call :meth:`before_step` and :meth:`penalty`.
        The returned :class:`Penalty` may carry its gradient with respect to the ``outputs``
        (``outputs_grad``) instead of an autograd graph.
        """
        return None

    def use_compile(self, flag: bool = True) -> None:
        """Run the training step's constraint arithmetic through ``torch.compile``.

        Only encodings with a compiled path accept ``True`` (``'dual'``); the default refuses.
        """
        if flag:
            raise ValueError(f"the {self.name!r} encoding has no compiled step; "
                             "compile_constraint=True needs an encoding that has one ('dual')")

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The encoding's learned state as a dict of tensors (empty by default)."""
        return {}

    # -- the fold ------------------------------------------------------------------------------
    def _fold(self, f: Formula, path: Path, ctx: FoldContext) -> torch.Tensor:
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

    def conj(self, costs: torch.Tensor, path: Path, ctx: FoldContext) -> torch.Tensor:
        """Cost of a conjunction from its children's costs ``(..., K)``."""
        raise NotImplementedError(f"{type(self).__name__} must define conj(costs, path, ctx)")

    def disj(self, costs: torch.Tensor, path: Path, ctx: FoldContext) -> torch.Tensor:
        """Cost of a disjunction from its children's costs ``(..., K)``."""
        raise NotImplementedError(f"{type(self).__name__} must define disj(costs, path, ctx)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
