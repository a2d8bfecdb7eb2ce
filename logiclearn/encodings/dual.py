"""The paper's encoding (Li et al., ICLR 2023): connectives as convex combinations with duals τ.

``S_τ(a_1 ∧ … ∧ a_k) = Σ_i softmax(τ^∧)_i S(a_i)`` and the same for ∨ with its own τ^∨. The
τ are stored per connective (keyed by its position in the negation-normal-form tree) and per
training example. SGDA *descends* τ^∨ and *ascends* τ^∧, so at the saddle point ∨ costs the
minimum and ∧ the maximum of its children's costs. Without example ids the encoding returns
that saddle value directly.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import torch

from ..formula import And, Atom, Formula, Or, stack_columns
from ..ops import softmax
from ..registry import register_encoding
from .base import DualKey, Encoding, FoldContext, LossFn, Path, Penalty, prepare

__all__ = ["DualEncoding", "DualStore"]


class DualStore:
    """Per-example dual logits, one ``(n_examples, k)`` tensor per connective.

    Logits start at 0 (uniform weights); the table grows as larger example ids appear.

    Examples
    --------
    >>> import torch
    >>> from logiclearn.encodings.dual import DualStore
    >>> store = DualStore()
    >>> store.gather(("or", ()), 3, torch.tensor([0, 5])).shape
    torch.Size([2, 3])
    >>> store.logits[("or", ())].shape
    torch.Size([6, 3])
    """

    def __init__(self) -> None:
        self.logits: dict[DualKey, torch.Tensor] = {}

    def gather(self, key: DualKey, k: int, index: torch.Tensor) -> torch.Tensor:
        """Logits of connective ``key`` (k children) for the examples ``index``."""
        table = self.logits.get(key)
        if table is not None and table.shape[1] == k:
            try:  # fast path: every id already has a row
                return table[index]
            except IndexError:
                pass
        n = int(index.max()) + 1 if index.numel() else 0
        if table is None:
            table = torch.zeros(max(n, 1), k)
        elif table.shape[1] != k:
            raise ValueError(
                f"connective {key} had {table.shape[1]} children and now has {k}; the "
                "constraint must build the same formula structure at every step"
            )
        if table.shape[0] < n:
            table = torch.cat([table, torch.zeros(n - table.shape[0], k)])
        self.logits[key] = table
        return table[index]

    def update(self, key: DualKey, index: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """Add ``delta`` (shape ``(len(index), k)``) to the logits of ``index``; returns the
        updated rows."""
        table = self.logits[key]
        rows = table[index] + delta.to(table.dtype)
        table[index] = rows
        return rows

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Plain dict of tensors keyed by ``'or:0.1'`` style strings (for ``torch.save``)."""
        return {f"{kind}:{'.'.join(map(str, path))}": t.clone()
                for (kind, path), t in self.logits.items()}


@register_encoding("dual")
class DualEncoding(Encoding):
    """Dual-variable encoding; ``cost(formula, index)`` uses the stored τ of ``index``.

    In training (:class:`LogicTrainer`) each batch first takes a τ step on the detached costs
    (:meth:`dual_step`, the :meth:`before_step` hook), then the model's step on
    ``mean(loss_fn(S_τ))`` with the updated τ. The default map from cost to loss is the
    truncated-Gaussian likelihood of the paper.

    Parameters
    ----------
    lr : float
        Step size of the τ update; each example's τ follows the gradient of its own loss
        term (not of a batch mean), so the step does not depend on the batch size.
    store : DualStore, optional
        Where the duals live (a new one by default).

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.2, 0.9]))
    >>> f = (x >= 0.5) | (x <= 0.0)
    >>> enc = ll.get_encoding("dual")
    >>> [round(v, 3) for v in enc.cost(f).tolist()]     # saddle value: min over the disjuncts
    [0.2, 0.0]
    >>> [round(v, 3) for v in enc.cost(f, index=torch.tensor([0, 1])).tolist()]  # uniform τ
    [0.25, 0.45]
    """

    name = "dual"
    default_loss = "truncated"
    needs_index = True

    def __init__(self, lr: float = 0.1, store: DualStore | None = None):
        lr = float(lr)
        if not lr > 0 or lr == float("inf"):
            raise ValueError(f"lr (the τ step size) must be a finite number > 0, got {lr}")
        if store is not None and not isinstance(store, DualStore):
            raise TypeError(f"store must be a DualStore, got {type(store).__name__}")
        self.lr = lr
        self.store = store if store is not None else DualStore()
        # weights after the last τ step (with the example ids), for the same batch's θ step
        self._fresh: dict[DualKey, tuple[torch.Tensor, torch.Tensor]] = {}
        # (formula, index, root node) of the last hand-taped τ step
        self._last_tape: tuple[Formula, torch.Tensor, _Node] | None = None

    def before_step(self, formula: Formula, index: torch.Tensor | None,
                    loss_fn: LossFn) -> None:
        """The τ step of SGDA (see :meth:`dual_step`) with this encoding's ``lr``."""
        self.dual_step(formula, index, loss_fn, self.lr)

    def penalty(self, formula: Formula, index: torch.Tensor | None,
                loss_fn: LossFn) -> Penalty:
        """``mean(loss_fn(S_τ))`` with the τ of the step just taken, as one autograd node.

        After a hand-taped τ step on the same formula and batch (:meth:`before_step`), the
        cost is refolded with the new weights without autograd, and its gradient with respect
        to each atom's expression is applied in one backward node (chain rule through the
        convex combinations, by hand), instead of a graph of small ops per connective. Values
        and gradients equal the generic path's (:meth:`Encoding.penalty`), which is used
        otherwise (quantifiers, a ``loss_fn`` without ``derivative``).
        """
        tape, self._last_tape = self._last_tape, None
        deriv = getattr(loss_fn, "derivative", None)
        if (tape is None or deriv is None or tape[1] is not index
                or tape[0] is not prepare(formula)):
            return super().penalty(formula, index, loss_fn)
        self._fresh.clear()
        root = tape[2]
        with torch.no_grad():
            cost = _refold(root)
            value = loss_fn(cost).mean()
        leaves: list[Atom] = []
        _collect_atoms(root, leaves)
        exprs = [a.expr for a in leaves]
        if not any(e.requires_grad for e in exprs):
            return Penalty(value, cost)
        return Penalty(_TapedPenalty.apply(value, (root, cost, deriv, leaves), *exprs), cost)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The per-example dual logits (see :meth:`DualStore.state_dict`)."""
        return self.store.state_dict()

    def __repr__(self) -> str:
        return f"DualEncoding(lr={self.lr})"

    def _combine(self, costs: torch.Tensor, path: Path, ctx: FoldContext,
                 kind: str) -> torch.Tensor:
        if ctx.index is None or costs.ndim < 2:
            return costs.max(-1).values if kind == "and" else costs.min(-1).values
        key = (kind, path)
        fresh = self._fresh.pop(key, None)
        if fresh is not None and fresh[0] is ctx.index and ctx.leaves is None:
            return (fresh[1].to(costs.dtype) * costs).sum(-1)
        logits = self.store.gather(key, costs.shape[-1], ctx.index)
        if ctx.leaves is not None:
            logits = logits.clone().requires_grad_(True)
            ctx.leaves[key] = logits
        return (softmax(logits).to(costs.dtype) * costs).sum(-1)

    def conj(self, costs: torch.Tensor, path: Path, ctx: FoldContext) -> torch.Tensor:
        return self._combine(costs, path, ctx, "and")

    def disj(self, costs: torch.Tensor, path: Path, ctx: FoldContext) -> torch.Tensor:
        return self._combine(costs, path, ctx, "or")

    def dual_step(self, formula: Formula, index: torch.Tensor | None,
                  loss_fn: LossFn | None = None, lr: float | None = None) -> None:
        """One τ step on detached atom costs: descent for ∨ duals, ascent for ∧ duals.

        Parameters
        ----------
        formula : Formula
        index : LongTensor of shape (B,)
            Example ids of the batch.
        loss_fn : callable, optional
            Map from the per-instance cost to the per-instance loss (identity by default).
            Each example's τ receives the gradient of its own loss term.
        lr : float, optional
            Step size of the τ update (the encoding's ``lr`` by default).

        Examples
        --------
        >>> import torch
        >>> import logiclearn as ll
        >>> x = ll.term(torch.tensor([0.2]))
        >>> f = (x >= 0.5) | (x <= 0.0)
        >>> enc = ll.get_encoding("dual")
        >>> idx = torch.tensor([0])
        >>> for _ in range(200):
        ...     enc.dual_step(f, idx, lr=10.0)
        >>> round(enc.cost(f, index=idx).item(), 3)   # -> min(0.3, 0.2)
        0.2
        """
        if not isinstance(index, torch.Tensor) or index.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"index must be an integer tensor of example ids, got {type(index)}")
        lr = self.lr if lr is None else float(lr)
        f = prepare(formula)
        self._last_tape = None
        with torch.no_grad():
            try:
                cost, node = self._tape(f, (), index)
            except _NotTaped:
                node = None
        if node is None:  # quantifiers, scalar atoms or no connective: the general path
            self._dual_step_autograd(f, index, loss_fn, lr)
            return
        with torch.no_grad():
            deriv = getattr(loss_fn, "derivative", None) if loss_fn is not None else None
            if loss_fn is None:
                g = torch.ones_like(cost)
            elif deriv is not None:
                g = deriv(cost)
            else:
                with torch.enable_grad():
                    c = cost.detach().requires_grad_(True)
                    (g,) = torch.autograd.grad(loss_fn(c).sum(), [c])
            self._tape_backward(node, g, index, lr)
        self._last_tape = (f, index, node)

    # -- the τ step without autograd: record the fold, then apply the chain rule by hand ----
    def _tape(self, f: Formula, path: Path,
              index: torch.Tensor) -> tuple[torch.Tensor, _Node | None]:
        """Detached fold that records a :class:`_Node` (weights, children, atoms) per connective."""
        if isinstance(f, Atom):
            c = f.atom_cost(True)
            if c.ndim == 0:
                raise _NotTaped
            return c, None
        if not isinstance(f, (And, Or)):
            raise _NotTaped
        parts: list[torch.Tensor] = []
        kids: list[tuple[int, _Node]] = []
        atoms: list[tuple[int, int, Atom]] = []
        col = 0
        for i, child in enumerate(f.children):
            c, node = self._tape(child, path + (i,), index)
            parts.append(c)
            width = c.shape[-1] if c.ndim == 2 else 1
            if node is not None:
                kids.append((col, node))
            elif isinstance(child, Atom):  # (_tape returns no node only for an atom)
                atoms.append((col, width, child))
            col += width
        costs = stack_columns(parts)
        if costs.ndim < 2:
            raise _NotTaped
        key = ("and" if isinstance(f, And) else "or", path)
        logits = self.store.gather(key, costs.shape[-1], index)
        w = softmax(logits).to(costs.dtype)
        cost = (w * costs).sum(-1)
        return cost, _Node(key, logits, w, kids, atoms, costs, cost)

    def _tape_backward(self, node: _Node, g: torch.Tensor, index: torch.Tensor,
                       lr: float) -> None:
        # d loss / d logit_j = g * w_j (S_j - S) for S = sum_j softmax(logit)_j S_j;
        # gw_j = g * w_j is also the gradient of the loss with respect to child j's cost
        gw = g[:, None] * node.w
        sign = -1.0 if node.key[0] == "or" else 1.0
        for col, child in node.kids:
            self._tape_backward(child, gw[:, col], index, lr)
        rows = torch.addcmul(node.logits.to(gw.dtype), gw, node.costs - node.cost[:, None],
                             value=sign * lr).to(node.logits.dtype)
        self.store.logits[node.key][index] = rows
        # the θ step that follows uses these weights: keep them for the same batch
        node.w_new = softmax(rows)
        self._fresh[node.key] = (index, node.w_new)

    def _dual_step_autograd(self, f: Formula, index: torch.Tensor, loss_fn: LossFn | None,
                            lr: float) -> None:
        ctx = FoldContext(index, detach=True, leaves={})
        cost = self._fold(f, (), ctx)
        if not ctx.leaves:
            return
        loss = (loss_fn(cost) if loss_fn is not None else cost).sum()
        if not loss.requires_grad:
            return
        keys = list(ctx.leaves)
        grads = torch.autograd.grad(loss, [ctx.leaves[k] for k in keys], allow_unused=True)
        with torch.no_grad():
            for key, g in zip(keys, grads):
                if g is not None:
                    sign = -1.0 if key[0] == "or" else 1.0
                    self.store.update(key, index, sign * lr * g)


class _NotTaped(Exception):
    """The formula needs the general (autograd) τ step: quantifiers or scalar atoms."""


class _Node:
    """One connective of a taped fold: its dual key, weights before/after the τ step, the
    columns of its connective children (``kids``) and of its atoms, and its children's costs."""

    __slots__ = ("key", "logits", "w", "kids", "atoms", "costs", "cost", "w_new", "cost_new")

    def __init__(self, key: DualKey, logits: torch.Tensor, w: torch.Tensor,
                 kids: list[tuple[int, _Node]], atoms: list[tuple[int, int, Atom]],
                 costs: torch.Tensor, cost: torch.Tensor):
        self.key, self.logits, self.w, self.kids, self.atoms = key, logits, w, kids, atoms
        # w_new and cost_new hold the weights and cost after the τ step (set by the step)
        self.costs, self.cost, self.w_new, self.cost_new = costs, cost, w, cost


def _refold(node: _Node) -> torch.Tensor:
    """The node's cost with the weights after the τ step (children refolded first)."""
    costs = node.costs
    if node.kids:
        costs = costs.clone()
        for col, kid in node.kids:
            costs[:, col] = _refold(kid)
    node.cost_new = (node.w_new.to(costs.dtype) * costs).sum(-1)
    return node.cost_new


def _collect_atoms(node: _Node, out: list[Atom]) -> None:
    out.extend(a for _, _, a in node.atoms)
    for _, kid in node.kids:
        _collect_atoms(kid, out)


def _atom_grad(atom: Atom, coef: torch.Tensor) -> torch.Tensor:
    """``coef * d atom_cost / d expr`` (the subgradients autograd takes for relu and abs)."""
    e = atom.expr.detach()
    if atom.kind == "le":
        return coef * (e > 0).to(coef.dtype)
    if atom.kind == "lt":
        return coef * ((e + atom.margin) > 0).to(coef.dtype)
    return coef * e.sgn()


def _backward_node(node: _Node, g: torch.Tensor, grads: list[torch.Tensor]) -> None:
    gw = g[:, None] * node.w_new.to(g.dtype)  # d penalty / d children's costs, (B, K)
    for col, width, atom in node.atoms:
        coef = gw[:, col:col + width] if atom.expr.ndim == 2 else gw[:, col]
        grads.append(_atom_grad(atom, coef))
    for col, kid in node.kids:
        _backward_node(kid, gw[:, col], grads)


#: what the taped penalty's backward needs: root node, cost, d loss / d cost, atoms in order
_Tape: TypeAlias = tuple[_Node, torch.Tensor, LossFn, list[Atom]]


class _TapedPenalty(torch.autograd.Function):
    """``mean(loss(S_τ))`` as one node whose inputs are the atoms' expressions."""

    @staticmethod
    def forward(ctx: Any, value: torch.Tensor, tape: _Tape, *exprs: torch.Tensor) -> torch.Tensor:
        ctx.tape = tape
        ctx.needs = [e.requires_grad for e in exprs]
        return value.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        root, cost, deriv, leaves = ctx.tape
        ctx.tape = None
        g = grad.expand(cost.shape) / cost.numel() * deriv(cost)  # mean, then the loss
        grads: list[torch.Tensor] = []
        _backward_node(root, g, grads)
        return (None, None, *[gr if need else None for gr, need in zip(grads, ctx.needs)])
