"""The paper's encoding (Li et al., ICLR 2023): connectives as convex combinations with duals τ.

``S_τ(a_1 ∧ … ∧ a_k) = Σ_i softmax(τ^∧)_i S(a_i)`` and the same for ∨ with its own τ^∨. The
τ are stored per connective (keyed by its position in the negation-normal-form tree) and per
training example. SGDA *descends* τ^∨ and *ascends* τ^∧, so at the saddle point ∨ costs the
minimum and ∧ the maximum of its children's costs. Without example ids the encoding returns
that saddle value directly.
"""

from __future__ import annotations

import torch

from ..formula import And, Atom, Or, stack_columns
from ..registry import register_encoding
from .base import Encoding, FoldContext, prepare

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

    def __init__(self):
        self.logits: dict = {}

    def gather(self, key, k: int, index: torch.Tensor) -> torch.Tensor:
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

    def update(self, key, index: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """Add ``delta`` (shape ``(len(index), k)``) to the logits of ``index``; returns the
        updated rows."""
        table = self.logits[key]
        rows = table[index] + delta.to(table.dtype)
        table[index] = rows
        return rows

    def state_dict(self) -> dict:
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
        self._fresh: dict = {}  # weights after the last τ step, for the same batch's θ step

    def before_step(self, formula, index, loss_fn) -> None:
        """The τ step of SGDA (see :meth:`dual_step`) with this encoding's ``lr``."""
        self.dual_step(formula, index, loss_fn, self.lr)

    def state_dict(self) -> dict:
        """The per-example dual logits (see :meth:`DualStore.state_dict`)."""
        return self.store.state_dict()

    def __repr__(self):
        return f"DualEncoding(lr={self.lr})"

    def _combine(self, costs, path, ctx, kind):
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
        return (torch.softmax(logits, -1).to(costs.dtype) * costs).sum(-1)

    def conj(self, costs, path, ctx):
        return self._combine(costs, path, ctx, "and")

    def disj(self, costs, path, ctx):
        return self._combine(costs, path, ctx, "or")

    def dual_step(self, formula, index, loss_fn=None, lr: float | None = None) -> None:
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

    # -- the τ step without autograd: record the fold, then apply the chain rule by hand ----
    def _tape(self, f, path, index):
        """Detached fold that records ``(cost, (key, w, children, costs))`` per connective."""
        if isinstance(f, Atom):
            c = f.atom_cost(True)
            if c.ndim == 0:
                raise _NotTaped
            return c, None
        if not isinstance(f, (And, Or)):
            raise _NotTaped
        parts, kids, col = [], [], 0
        for i, child in enumerate(f.children):
            c, node = self._tape(child, path + (i,), index)
            parts.append(c)
            width = c.shape[-1] if c.ndim == 2 else 1
            if node is not None:
                kids.append((col, node))
            col += width
        costs = stack_columns(parts)
        if costs.ndim < 2:
            raise _NotTaped
        key = ("and" if isinstance(f, And) else "or", path)
        w = torch.softmax(self.store.gather(key, costs.shape[-1], index), -1).to(costs.dtype)
        cost = (w * costs).sum(-1)
        return cost, (key, w, kids, costs, cost)

    def _tape_backward(self, node, g, index, lr):
        key, w, kids, costs, cost = node
        # d loss / d logit_j = g * w_j (S_j - S) for S = sum_j softmax(logit)_j S_j
        grad = g[:, None] * w * (costs - cost[:, None])
        sign = -1.0 if key[0] == "or" else 1.0
        for col, child in kids:
            self._tape_backward(child, g * w[:, col], index, lr)
        rows = self.store.update(key, index, sign * lr * grad)
        # the θ step that follows uses these weights: keep them for the same batch
        self._fresh[key] = (index, torch.softmax(rows, -1))

    def _dual_step_autograd(self, f, index, loss_fn, lr):
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
