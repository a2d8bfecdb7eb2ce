"""The paper's encoding (Li et al., ICLR 2023): connectives as convex combinations with duals τ.

``S_τ(a_1 ∧ … ∧ a_k) = Σ_i softmax(τ^∧)_i S(a_i)`` and the same for ∨ with its own τ^∨. The
τ are stored per connective (keyed by its position in the negation-normal-form tree) and per
training example. SGDA *descends* τ^∨ and *ascends* τ^∧, so at the saddle point ∨ costs the
minimum and ∧ the maximum of its children's costs. Without example ids the encoding returns
that saddle value directly. ``DualEncoding(step="hedge")`` replaces the SGDA step by a
per-connective exponentiated-gradient step with the same saddle points (see its docstring).
"""

from __future__ import annotations

import functools
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch

from ..formula import And, Atom, Formula, Or, register_encoding
from ..loss import CONSTRAINT_LOSSES, ConstraintLoss, loss_derivative_kernel, loss_kernel
from ..ops import softmax
from .base import (
    DualKey,
    Encoding,
    FoldContext,
    FormulaBuilder,
    LossFn,
    Path,
    Penalty,
    prepare,
)

__all__ = ["DualEncoding", "DualStore", "MASKED_LOGIT", "STEP_RULES"]

#: τ step rules of :class:`DualEncoding` (its ``step`` parameter)
STEP_RULES = ("sgda", "hedge")
#: a dual logit that masks its child out: its softmax weight is exactly 0 in float32. Under
#: ``step="hedge"`` logits at or below ``MASKED_LOGIT / 2`` are left where they are (not
#: clipped back to ``-clip``); under ``step="sgda"`` their step is proportional to their
#: weight, 0, so they stay too.
MASKED_LOGIT = -1e4


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
        # connectives read and written together (the compiled step): one table whose column
        # blocks are the connectives' tables in ``logits`` (views), per tuple of keys
        self._groups: dict[tuple[DualKey, ...],
                           tuple[torch.Tensor, list[torch.Tensor], tuple[int, ...]]] = {}

    def gather(self, key: DualKey, k: int, index: torch.Tensor) -> torch.Tensor:
        """Logits of connective ``key`` (k children) for the examples ``index``."""
        table = self.logits.get(key)
        if table is not None and table.shape[1] == k:
            try:  # fast path: every id already has a row
                return table.index_select(0, index)
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
        table.index_copy_(0, index, rows)
        return rows

    def gather_joint(self, keys: Sequence[DualKey], widths: Sequence[int],
                     index: torch.Tensor) -> torch.Tensor:
        """Logits of the connectives ``keys`` (``widths`` children each) for the examples
        ``index``, side by side: shape ``(len(index), sum(widths))``, one read.

        The connectives' tables become column blocks (views) of one joint table, so that
        :meth:`update_joint` writes them with one call; :attr:`logits` and :meth:`gather`
        see the same values. A table that grew or was replaced since is merged again.

        Examples
        --------
        >>> import torch
        >>> from logiclearn.encodings.dual import DualStore
        >>> store = DualStore()
        >>> keys = [("or", (0,)), ("or", ())]
        >>> store.gather_joint(keys, [3, 2], torch.tensor([1, 4])).shape
        torch.Size([2, 5])
        >>> _ = store.update_joint(keys, torch.tensor([4]), torch.ones(1, 5))
        >>> store.logits[("or", ())][4].tolist()
        [1.0, 1.0]
        """
        keys, widths = tuple(keys), tuple(widths)
        group = self._groups.get(keys)
        if (group is not None and group[2] == widths
                and all(self.logits.get(k) is v for k, v in zip(keys, group[1]))):
            try:  # fast path: the blocks are still views of the joint table, every id has a row
                return group[0].index_select(0, index)
            except IndexError:
                pass
        tables = []
        for k, w in zip(keys, widths):
            self.gather(k, w, index)  # creates or grows the table, checks its width
            tables.append(self.logits[k])
        n = max(t.shape[0] for t in tables)
        joint = torch.cat([torch.cat([t, t.new_zeros(n - t.shape[0], t.shape[1])])
                           if t.shape[0] < n else t for t in tables], dim=1)
        views, col = [], 0
        for k, w in zip(keys, widths):
            views.append(joint[:, col:col + w])
            self.logits[k] = views[-1]
            col += w
        self._groups[keys] = (joint, views, widths)
        return joint.index_select(0, index)

    def update_joint(self, keys: Sequence[DualKey], index: torch.Tensor,
                     rows: torch.Tensor) -> None:
        """Write ``rows`` (shape ``(len(index), sum(widths))``, as from :meth:`gather_joint`
        just before) into the connectives ``keys`` of the examples ``index``."""
        self._groups[tuple(keys)][0].index_copy_(0, index, rows)

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

    For formulas of atoms and connectives (no quantifier), with a loss of
    :class:`~logiclearn.loss.ConstraintLoss`, :meth:`before_step` computes the τ step, the
    penalty with the new τ and the penalty's gradient with respect to each atom's expression
    in one pass with the chain rule written out (no autograd graph per connective); the
    penalty enters autograd as one node whose backward scales those gradients. Other cases
    take the general path (a τ step through autograd, then :meth:`Encoding.penalty`), with
    the same values and gradients.

    Parameters
    ----------
    lr : float
        Step size of the τ update; each example's τ follows the gradient of its own loss
        term (not of a batch mean), so the step does not depend on the batch size.
    store : DualStore, optional
        Where the duals live (a new one by default).
    compile : bool
        Run the training step's constraint arithmetic through ``torch.compile`` (inductor; a
        C++ compiler on CPU): with the trainer, the whole step from the model's outputs
        (:meth:`penalty_from_outputs`: the constraint's formula, τ step, θ penalty and its
        gradient), in :meth:`before_step` the τ step and penalty of a given formula; one
        compiled call per batch instead of dozens of small kernels. Compilation takes seconds
        to a minute; results equal the eager path's to float rounding. Off by default;
        :class:`LogicTrainer` sets it with ``compile_constraint=True``.
    step : {"sgda", "hedge"}
        The τ update rule. ``"sgda"`` (default, the paper's): gradient ascent (∧) / descent
        (∨) of each example's loss in the logits, i.e. for child ``j`` of a connective
        ``τ_j += ± lr · g · Π(ancestors' weights) · w_j · (S_j - S)`` with ``g`` the loss
        derivative at the root, ``w = softmax(τ)`` and ``S = Σ_j w_j S_j`` the connective's
        cost. ``"hedge"``: each connective steps on its own children's detached costs,
        ``τ_j <- clamp(τ_j ± lr · (S_j - S), -clip, clip)`` (``+`` for ∧, ``-`` for ∨),
        an exponentiated-gradient (Hedge) step on the weights; the loss derivative is not
        used. Both have the same saddle points (each ∧ on the max of its children's costs,
        each ∨ on the min). Under ``"sgda"`` the step is proportional to the weight itself
        and to the ancestors' weights: a child whose cost is 0 at first (a conjunct that the
        initial model satisfies) loses its weight within a few visits and cannot get it back
        when its cost later becomes the largest, and the connectives below it stop moving.
        Use ``"hedge"`` for nested or flat conjunctions whose children start at cost 0; with
        the clip every weight stays above ``exp(-2 clip)`` times the largest and recovers
        within about ``2 clip / (lr ΔS)`` visits. See "Why the dual encoding does not learn
        here" in ``results/logic_shortest_distance/bellman/README.md`` (the Bellman
        constraint of shortest distances, 5 seeds: test MSE 1.01 with ``"hedge"``, τ step 10,
        versus 1.62 with ``"sgda"`` and 1.33 without the constraint). Logits at or below
        ``MASKED_LOGIT / 2`` (:data:`MASKED_LOGIT`, set in the store by the user to mask a
        child of an example out) are left untouched.
    clip : float
        Bound of the logits under ``step="hedge"`` (finite, in ``(0, -MASKED_LOGIT / 2)``);
        not used by ``"sgda"``.

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

    Under ``step="hedge"`` a conjunct whose weight went to 0 comes back when its cost becomes
    the largest:

    >>> y = ll.term(torch.tensor([0.0]))
    >>> g = (y <= 1.0) & (y >= -1.0)               # both conjuncts hold: cost 0
    >>> idx = torch.tensor([0])
    >>> enc = ll.get_encoding("dual", lr=1.0, step="hedge", clip=5.0)
    >>> enc.store.logits[("and", ())] = torch.tensor([[-5.0, 5.0]])  # weight ~0 on y <= 1
    >>> h = (ll.term(torch.tensor([3.0])) <= 1.0) & (ll.term(torch.tensor([3.0])) >= -1.0)
    >>> for _ in range(20):                          # now y <= 1 costs 2, y >= -1 costs 0
    ...     enc.dual_step(h, idx)
    >>> round(enc.cost(h, index=idx).item(), 3)    # -> max(2, 0)
    2.0
    """

    name = "dual"
    default_loss = "truncated"
    needs_index = True

    def __init__(self, lr: float = 0.1, store: DualStore | None = None,
                 compile: bool = False, step: str = "sgda", clip: float = 5.0) -> None:
        lr = float(lr)
        if not lr > 0 or lr == float("inf"):
            raise ValueError(f"lr (the τ step size) must be a finite number > 0, got {lr}")
        if store is not None and not isinstance(store, DualStore):
            raise TypeError(f"store must be a DualStore, got {type(store).__name__}")
        if not isinstance(compile, bool):
            raise TypeError(f"compile must be a bool, got {compile!r}")
        if not isinstance(step, str) or step not in STEP_RULES:
            raise ValueError(f"step must be one of {STEP_RULES}, got {step!r}")
        if isinstance(clip, bool) or not isinstance(clip, (int, float)):
            raise TypeError(f"clip must be a number, got {type(clip).__name__}")
        clip = float(clip)
        if not 0 < clip < -MASKED_LOGIT / 2:
            raise ValueError(f"clip (the bound of the logits under step='hedge') must be in "
                             f"(0, {-MASKED_LOGIT / 2:g}), got {clip}")
        self.step = step
        self.clip = clip
        self.lr = lr
        self.store = store if store is not None else DualStore()
        self.compile = compile
        # (formula, index, penalty) of the last fused step, for the same batch's penalty()
        self._pending: tuple[Formula, torch.Tensor, Penalty] | None = None
        self._sigma: tuple[float, torch.Tensor] | None = None  # σ as a 0-d tensor (compiled)
        # the compiled whole steps (penalty_from_outputs), per builder and output shapes
        self._steps: dict[tuple[Any, ...], _WholeStep] = {}
        self._n_compiled = 0
        self._last_plan: _Plan | None = None  # plan of the last _fused call
        self._hedging: float | None = None  # lr while a generic hedge step folds

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()  # compiled functions do not pickle: compile again
        state.update(_steps={}, _n_compiled=0, _pending=None, _last_plan=None, _hedging=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # encodings pickled before the step rules existed: the default rule
        self.__dict__.update({"step": "sgda", "clip": 5.0, "_hedging": None, **state})

    def use_compile(self, flag: bool = True) -> None:
        """Turn the compiled training step on or off (see the ``compile`` parameter)."""
        if not isinstance(flag, bool):
            raise TypeError(f"compile must be a bool, got {flag!r}")
        self.compile = flag

    def before_step(self, formula: Formula, index: torch.Tensor | None,
                    loss_fn: LossFn) -> None:
        """The τ step of SGDA with this encoding's ``lr``; on the fused path also the θ
        penalty of the same batch, which :meth:`penalty` then returns."""
        self._pending = None
        if isinstance(loss_fn, ConstraintLoss) and loss_fn.kind in CONSTRAINT_LOSSES:
            _check_index(index)
            assert index is not None  # (checked)
            f = prepare(formula)
            try:
                pen = self._fused(f, index, loss_fn.kind, loss_fn.sigma, self.lr, theta=True,
                                  compiled=self.compile)
            except _NotFused:
                pass
            else:
                assert pen is not None  # (theta=True returns the penalty)
                self._pending = (f, index, pen)
                return
        self.dual_step(formula, index, loss_fn, self.lr)

    def penalty(self, formula: Formula, index: torch.Tensor | None,
                loss_fn: LossFn) -> Penalty:
        """``mean(loss_fn(S_τ))`` with the τ of the step just taken.

        After a fused :meth:`before_step` on the same formula and batch this is the penalty
        computed there (one autograd node); otherwise the generic fold through autograd
        (:meth:`Encoding.penalty`), with equal values and gradients.
        """
        pending, self._pending = self._pending, None
        if pending is not None and pending[1] is index and pending[0] is prepare(formula):
            return pending[2]
        return super().penalty(formula, index, loss_fn)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The per-example dual logits (see :meth:`DualStore.state_dict`)."""
        return self.store.state_dict()

    def __repr__(self) -> str:
        if self.step == "sgda":
            return f"DualEncoding(lr={self.lr})"
        return f"DualEncoding(lr={self.lr}, step={self.step!r}, clip={self.clip})"

    def _combine(self, costs: torch.Tensor, path: Path, ctx: FoldContext,
                 kind: str) -> torch.Tensor:
        if ctx.index is None or costs.ndim < 2:
            return costs.max(-1).values if kind == "and" else costs.min(-1).values
        key = (kind, path)
        logits = self.store.gather(key, costs.shape[-1], ctx.index)
        if self._hedging is not None:  # the hedge step of this connective (see _hedge_step)
            w = softmax(logits).to(costs.dtype)
            value = (w * costs).sum(-1)
            rows = _hedge_rows(logits, costs, value, 1.0 if kind == "and" else -1.0,
                               self._hedging, self.clip)
            self.store.logits[key].index_copy_(0, ctx.index, rows)
            return value
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
        """One τ step on detached atom costs: descent for ∨ duals, ascent for ∧ duals
        (with the encoding's ``step`` rule; ``"hedge"`` does not use ``loss_fn``).

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
        _check_index(index)
        assert index is not None  # (checked)
        lr = self.lr if lr is None else float(lr)
        f = prepare(formula)
        if loss_fn is None or isinstance(loss_fn, ConstraintLoss):
            kind, sigma = ("linear", 1.0) if loss_fn is None else (loss_fn.kind, loss_fn.sigma)
            try:
                self._fused(f, index, kind, sigma, lr, theta=False)
                return
            except _NotFused:
                pass
        if self.step == "hedge":
            self._hedge_step(f, index, lr)
        else:
            self._dual_step_autograd(f, index, loss_fn, lr)

    # -- the fused step: the chain rule through the convex combinations, written out --------
    def _fused(self, f: Formula, index: torch.Tensor, kind: str, sigma: float, lr: float,
               theta: bool, compiled: bool = False) -> Penalty | None:
        """τ step (and, with ``theta``, the θ penalty) of a formula of atoms and connectives.

        Raises :class:`_NotFused` for quantifiers, scalar atoms or a formula without connective.
        """
        keys: list[DualKey] = []
        kids: list[tuple[tuple[bool, int, int], ...]] = []
        atoms: list[tuple[str, float]] = []
        exprs: list[torch.Tensor] = []
        _walk(f, (), keys, kids, atoms, exprs)
        if not keys:
            raise _NotFused
        plan = self._last_plan = _Plan(tuple(keys), tuple(kids), tuple(atoms), kind, theta,
                                       self.step, self.clip)
        logits = [self.store.gather(key, w, index) for key, w in zip(keys, plan.widths())]
        detached = [e.detach() for e in exprs]
        with torch.no_grad():
            if compiled and theta:
                out = _compiled(plan)(detached, logits, self._sigma_tensor(sigma), lr)
            else:
                out = _sgda(plan, detached, logits, sigma, lr)
        rows, value, cost, grads = out
        for key, r in zip(keys, rows):
            self.store.logits[key].index_copy_(0, index, r)
        if not theta:
            return None
        if any(e.requires_grad for e in exprs):
            value = _PrecomputedGrad.apply(value, grads, *exprs)
        return Penalty(value, cost)

    def _sigma_tensor(self, sigma: float) -> torch.Tensor:
        """σ as a 0-d float32 tensor, so that compiled code does not specialise on its value
        (float32: a float64 0-d input costs a Python guard per call)."""
        if self._sigma is None or self._sigma[0] != sigma:
            self._sigma = (sigma, torch.tensor(float(sigma), dtype=torch.float32))
        return self._sigma[1]

    # -- the compiled whole step: formula, τ step, penalty and its gradient in one call -----
    def penalty_from_outputs(self, build: FormulaBuilder, outputs: Sequence[torch.Tensor],
                             batch: Any, index: torch.Tensor | None,
                             loss_fn: LossFn) -> Penalty | None:
        """With ``compile`` on: the τ step and the penalty of a batch from the model's outputs.

        One compiled function builds the formula (``build``: the user's constraint on the
        outputs), takes the τ step, refolds with the new τ, and returns the penalty with its
        gradient with respect to the outputs (the backward of the constraint's own operations
        included): the compiled steps return a :class:`Penalty` whose ``value`` has no autograd
        graph and whose ``outputs_grad`` holds that gradient, which the trainer adds to the
        outputs' gradient in its single backward pass (no extra autograd node). The first
        batch of each output shape runs eagerly and records the formula's structure; the
        second compiles (``torch.compile(dynamic=False)``, at most four shapes per encoding;
        others stay eager). A constraint that the compiler cannot trace whole, or one whose
        structure changes, runs eagerly. ``None`` (compile off, or a loss that is not a
        :class:`~logiclearn.loss.ConstraintLoss`): the trainer's general path.
        """
        if not (self.compile and isinstance(loss_fn, ConstraintLoss)
                and loss_fn.kind in CONSTRAINT_LOSSES):
            return None
        _check_index(index)
        assert index is not None  # (checked)
        key = (build, *[(o.shape, o.dtype) for o in outputs])
        step = self._steps.get(key)
        if (step is not None and step.plan is not None and step.fn is None and not step.failed
                and self._n_compiled < _MAX_COMPILED):
            step.compile(build)  # second batch of this shape: compile (at the call below)
            self._n_compiled += 1
        if step is not None and step.fn is not None:
            keys = step.keys
            logits = self.store.gather_joint(keys, step.widths, index)  # one read for all
            try:
                # (no torch.no_grad(): the inputs are detached, so the compiled function
                # records nothing for autograd in either grad mode)
                rows, value, cost, mean_cost, grads = step.fn(
                    [o.detach() for o in outputs], batch, logits,
                    self._sigma_tensor(loss_fn.sigma), self.lr)
            except Exception as err:  # noqa: BLE001 - not traceable whole, or a new structure:
                step.fn, step.failed = None, True  # eager (the eager step records the plan)
                warnings.warn(f"compile_constraint: this constraint step could not be compiled "
                              f"({type(err).__name__}: {str(err)[:200]}); it runs eagerly, "
                              "with the same results", RuntimeWarning, stacklevel=2)
            else:
                step.warm = True
                self.store.update_joint(keys, index, rows)  # one write for all connectives
                # the gradient goes with the penalty: the trainer adds it in its backward pass
                return Penalty(value, cost, outputs_grad=tuple(grads), mean_cost=mean_cost)
        # eager: build the formula, fused step without compilation, record the structure
        f = build(outputs, batch)
        self._pending, self._last_plan = None, None
        try:
            pen = self._fused(f, index, loss_fn.kind, loss_fn.sigma, self.lr, theta=True)
        except _NotFused:
            self.dual_step(f, index, loss_fn, self.lr)
            pen = Encoding.penalty(self, f, index, loss_fn)
        plan = self._last_plan
        if step is None or step.plan != plan:
            self._steps[key] = _WholeStep(plan)
        assert pen is not None  # (theta=True returns the penalty)
        return pen

    def _hedge_step(self, f: Formula, index: torch.Tensor, lr: float) -> None:
        """The ``"hedge"`` τ step of any formula (quantifiers included): a detached fold in
        which each connective, once its children's costs are known, steps its own logits."""
        ctx = FoldContext(index, detach=True)
        self._hedging = lr
        try:
            with torch.no_grad():
                self._fold(f, (), ctx)
        finally:
            self._hedging = None

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


def _check_index(index: object) -> None:
    if not isinstance(index, torch.Tensor) or index.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"index must be an integer tensor of example ids, got {type(index)}")


class _NotFused(Exception):
    """The formula needs the general (autograd) path: quantifiers or scalar atoms."""


class _Plan(NamedTuple):
    """Structure of a formula's fused step: connectives in post-order (the root last)."""

    keys: tuple[DualKey, ...]
    #: per connective, its children: (is a connective, index of the connective or atom, width)
    kids: tuple[tuple[tuple[bool, int, int], ...], ...]
    #: per atom: kind and margin
    atoms: tuple[tuple[str, float], ...]
    loss: str
    theta: bool
    step: str = "sgda"  #: the τ rule (DualEncoding's ``step``)
    clip: float = 5.0  #: bound of the logits under ``"hedge"``

    def widths(self) -> list[int]:
        """Number of children (columns of the duals) of each connective."""
        return [sum(w for _, _, w in ch) for ch in self.kids]


def _walk(f: Formula, path: Path, keys: list[DualKey],
          kids: list[tuple[tuple[bool, int, int], ...]], atoms: list[tuple[str, float]],
          exprs: list[torch.Tensor]) -> tuple[bool, int, int]:
    """Record the structure of ``f`` (see :class:`_Plan`); returns its entry in its parent."""
    if isinstance(f, Atom):
        e = f.expr
        if e.ndim == 0:
            raise _NotFused
        atoms.append((f.kind, f.margin))
        exprs.append(e)
        return (False, len(atoms) - 1, e.shape[-1] if e.ndim == 2 else 1)
    if not isinstance(f, (And, Or)):
        raise _NotFused
    ch = tuple(_walk(c, path + (i,), keys, kids, atoms, exprs) for i, c in enumerate(f.children))
    keys.append(("and" if isinstance(f, And) else "or", path))
    kids.append(ch)
    return (True, len(keys) - 1, 1)


def _atom_cost(kind: str, margin: float, e: torch.Tensor) -> torch.Tensor:
    if kind == "le":
        return torch.relu(e)
    if kind == "lt":
        return torch.relu(e + margin)
    return e.abs()


def _atom_grad(kind: str, margin: float, e: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """``coef * d atom_cost / d e`` (the subgradients autograd takes for relu and abs)."""
    if kind == "le":
        return coef * (e > 0).to(coef.dtype)
    if kind == "lt":
        return coef * ((e + margin) > 0).to(coef.dtype)
    return coef * e.sgn()


def _columns(entries: tuple[tuple[bool, int, int], ...], atom_costs: list[torch.Tensor],
             node_costs: list[torch.Tensor]) -> torch.Tensor:
    """Children's costs of one connective as a ``(B, K)`` tensor."""
    parts = [node_costs[i] if node else atom_costs[i] for node, i, _ in entries]
    if len(parts) == 1 and parts[0].ndim == 2:
        return parts[0]
    return torch.cat([p if p.ndim == 2 else p.unsqueeze(-1) for p in parts], dim=-1)


def _hedge_rows(logits: torch.Tensor, children: torch.Tensor, value: torch.Tensor,
                sign: float, lr: float | torch.Tensor, clip: float) -> torch.Tensor:
    """New logits of one connective under ``step="hedge"``: ``clamp(τ + sign lr (S_j - S),
    -clip, clip)``, logits at or below ``MASKED_LOGIT / 2`` left as they are."""
    new = (logits + sign * lr * (children - value[:, None]).to(logits.dtype)).clamp(-clip, clip)
    return torch.where(logits <= MASKED_LOGIT / 2, logits, new)


def _sgda(plan: _Plan, exprs: list[torch.Tensor], logits: list[torch.Tensor],
          sigma: float | torch.Tensor, lr: float
          ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """One fused τ step's arithmetic, without autograd (SGDA, or Hedge: ``plan.step``).

    Returns the new dual logits per connective and, when ``plan.theta``, the penalty
    ``mean(loss(S_τ'))`` with the new τ', the per-instance cost ``S_τ'`` and the penalty's
    gradient with respect to each atom's expression. For ``S = Σ_j softmax(τ)_j S_j``:
    ``d loss / d τ_j = g w_j (S_j - S)`` and ``d loss / d S_j = g w_j`` (``g`` the loss
    derivative), applied from the root down.
    """
    atom_costs = [_atom_cost(k, m, e) for (k, m), e in zip(plan.atoms, exprs)]
    n = len(plan.keys)
    weights: list[torch.Tensor] = []
    children: list[torch.Tensor] = []
    costs: list[torch.Tensor] = []
    for j in range(n):  # fold with the current τ
        c = _columns(plan.kids[j], atom_costs, costs)
        w = softmax(logits[j]).to(c.dtype)
        weights.append(w)
        children.append(c)
        costs.append((w * c).sum(-1))
    g: list[Any] = [None] * n
    g[-1] = loss_derivative_kernel(costs[-1], plan.loss, sigma)
    rows: list[Any] = [None] * n
    for j in reversed(range(n)):  # τ step: descent for ∨, ascent for ∧
        sign = -1.0 if plan.keys[j][0] == "or" else 1.0
        if plan.step == "hedge":  # each connective on its own children's costs
            rows[j] = _hedge_rows(logits[j], children[j], costs[j], sign, lr, plan.clip)
            continue
        gw = g[j][:, None] * weights[j]
        col = 0
        for node, i, width in plan.kids[j]:
            if node:
                g[i] = gw[:, col]
            col += width
        rows[j] = torch.addcmul(logits[j].to(gw.dtype), gw, children[j] - costs[j][:, None],
                                value=sign * lr).to(logits[j].dtype)
    if not plan.theta:
        return rows, costs[-1], costs[-1], []
    new_w: list[torch.Tensor] = []
    new_costs: list[torch.Tensor] = []
    for j in range(n):  # refold with the new τ
        has_kid = any(node for node, _, _ in plan.kids[j])
        c = _columns(plan.kids[j], atom_costs, new_costs) if has_kid else children[j]
        w = softmax(rows[j]).to(c.dtype)
        new_w.append(w)
        new_costs.append((w * c).sum(-1))
    cost = new_costs[-1]
    value = loss_kernel(cost, plan.loss, sigma).mean()
    g = [None] * n
    g[-1] = loss_derivative_kernel(cost, plan.loss, sigma) / cost.numel()
    grads: list[Any] = [None] * len(exprs)
    for j in reversed(range(n)):  # d penalty / d expressions, from the root down
        gw = g[j][:, None] * new_w[j]
        col = 0
        for node, i, width in plan.kids[j]:
            if node:
                g[i] = gw[:, col]
            else:
                kind, margin = plan.atoms[i]
                coef = gw[:, col:col + width] if exprs[i].ndim == 2 else gw[:, col]
                grads[i] = _atom_grad(kind, margin, exprs[i], coef)
            col += width
    return rows, value, cost, grads


#: compiled :func:`_sgda` per formula structure (compiling takes seconds: shared by encodings)
_COMPILED: dict[_Plan, Callable[..., Any]] = {}


def _compiled(plan: _Plan) -> Callable[..., Any]:
    fn = _COMPILED.get(plan)
    if fn is None:
        fn = _COMPILED[plan] = torch.compile(functools.partial(_sgda, plan))
    return fn


def _refold(plan: _Plan, exprs: list[torch.Tensor], rows: list[torch.Tensor]) -> torch.Tensor:
    """Per-instance cost ``S_τ`` of the atoms' expressions with the duals ``rows``."""
    atom_costs = [_atom_cost(k, m, e) for (k, m), e in zip(plan.atoms, exprs)]
    costs: list[torch.Tensor] = []
    for j in range(len(plan.keys)):
        c = _columns(plan.kids[j], atom_costs, costs)
        costs.append((softmax(rows[j]).to(c.dtype) * c).sum(-1))
    return costs[-1]


def _whole(plan: _Plan, build: FormulaBuilder, outputs: list[torch.Tensor], batch: Any,
           joint: torch.Tensor, sigma: torch.Tensor, lr: float
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                      list[torch.Tensor]]:
    """The whole constraint step from the model's outputs (what ``_WholeStep`` compiles).

    Builds the formula, checks that its structure is ``plan``'s, takes the τ step on the
    detached atoms (:func:`_sgda`) with the duals ``joint`` (the connectives' rows side by
    side, :meth:`DualStore.gather_joint`), refolds with the new τ and returns the new dual
    rows (side by side), the penalty, the per-instance cost, its mean and the penalty's
    gradient with respect to ``outputs`` (``torch.func``: the backward of the constraint's
    operations is part of the same graph).
    """
    logits = list(joint.split(plan.widths(), dim=1))

    def penalty(outs: list[torch.Tensor]
                ) -> tuple[torch.Tensor, tuple[list[torch.Tensor], torch.Tensor]]:
        keys: list[DualKey] = []
        kids: list[tuple[tuple[bool, int, int], ...]] = []
        atoms: list[tuple[str, float]] = []
        exprs: list[torch.Tensor] = []
        _walk(build(outs, batch), (), keys, kids, atoms, exprs)
        if (tuple(keys), tuple(kids), tuple(atoms)) != (plan.keys, plan.kids, plan.atoms):
            raise _NotFused  # a new structure (at tracing): the caller steps eagerly
        rows = _sgda(plan._replace(theta=False), [e.detach() for e in exprs], logits, sigma,
                     lr)[0]
        cost = _refold(plan, exprs, rows)
        return loss_kernel(cost, plan.loss, sigma).mean(), (rows, cost.detach())

    grads, (value, (rows, cost)) = torch.func.grad_and_value(penalty, has_aux=True)(outputs)
    return torch.cat(rows, dim=1), value, cost, cost.mean(), grads


#: most output shapes or structures one encoding compiles a whole step for
_MAX_COMPILED = 4
#: inductor options of the whole step (cpp_wrapper: the buffers are allocated and the kernel is
#: called from C++, not from a generated Python function)
_INDUCTOR_OPTIONS: dict[str, Any] = {"cpp_wrapper": True}


class _WholeStep:
    """A formula structure seen for one builder and output shape, and its compiled step."""

    __slots__ = ("plan", "keys", "widths", "fn", "failed", "warm")

    def __init__(self, plan: _Plan | None) -> None:
        self.plan = plan._replace(theta=True) if plan is not None else None
        self.keys = plan.keys if plan is not None else ()
        self.widths = plan.widths() if plan is not None else []
        self.fn: Callable[..., Any] | None = None
        self.failed = False
        self.warm = False  # the compiled function has run (its first call compiles)

    def compile(self, build: FormulaBuilder) -> None:
        assert self.plan is not None
        # a function of its own (a copy of the code object): dynamo keeps its compiled graphs
        # per code object, so this step's cache holds its own graph only
        fn = types.FunctionType(_whole.__code__.replace(), _whole.__globals__, "_whole")
        self.fn = torch.compile(functools.partial(fn, self.plan, build), fullgraph=True,
                                dynamic=False, options=_INDUCTOR_OPTIONS)


class _PrecomputedGrad(torch.autograd.Function):
    """The penalty as one autograd node whose inputs are the atoms' expressions and whose
    backward scales their gradients, computed with the value."""

    @staticmethod
    def forward(ctx: Any, value: torch.Tensor, grads: list[torch.Tensor],
                *exprs: torch.Tensor) -> torch.Tensor:
        ctx.grads = grads
        return value.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        need = ctx.needs_input_grad[2:]
        if grad.numel() == 1 and float(grad) == 1.0:  # λ = 1: the gradients as computed
            return (None, None, *[g if n else None for g, n in zip(ctx.grads, need)])
        return (None, None, *[grad * g if n else None for g, n in zip(ctx.grads, need)])
