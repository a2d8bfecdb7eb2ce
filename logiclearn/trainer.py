"""LogicTrainer: supervised loss plus a logical constraint, optimised by alternating SGDA.

Per minibatch (Li et al., ICLR 2023, §1.5 of the summary): the labelled batch and every view
of the unlabelled batch go through the model in one forward pass; (1) a τ step on the detached
outputs (descent for ∨ duals, ascent for ∧ duals), (2) a θ step on
``supervised + constraint_weight · E[constraint loss]``. At the end of each epoch σ shrinks
towards its target.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeAlias, cast

import numpy as np
import torch
from torch import nn

from probconstraints._progress import progress
from probconstraints._random import (
    RandomStateLike,
    check_random_state_arg,
    isolated_rng,
    torch_generator,
)
from probconstraints._validation import (
    Choice,
    Constraint,
    Float,
    InvalidParameterError,
    OfType,
    Verbose,
    check_float,
    check_int,
    validate_params,
)

from .encodings import Encoding, get_encoding, prepare
from .formula import EncodingProtocol, Formula, Penalty, Term, check_formula
from .loss import CONSTRAINT_LOSSES, ConstraintLoss, SigmaSchedule

__all__ = ["LogicTrainer", "split_unlabeled"]

#: an unlabelled batch: one view, or views followed by optional example ids
UnlabeledBatch: TypeAlias = torch.Tensor | Sequence[torch.Tensor]
#: ``constraint(outputs, batch) -> Formula``; outputs: one Term per view (a bare Term for one)
ConstraintFn: TypeAlias = Callable[[Term | tuple[Term, ...], UnlabeledBatch], Formula]
#: ``loss(outputs, targets) -> scalar``
SupervisedLoss: TypeAlias = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class BatchLoader(Protocol):
    """An iterable of batches with a length (a ``DataLoader``, a list of batches ...)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


_SUPERVISED: dict[str, SupervisedLoss] = {"cross_entropy": nn.functional.cross_entropy,
                                          "mse": nn.functional.mse_loss}

#: the training hyper-parameters that :class:`LogicTrainer` and
#: :class:`~logiclearn.ConstrainedClassifier` share, declared once (scikit-learn's
#: ``_parameter_constraints`` idea; checked by :func:`probconstraints._validation.validate_params`)
TRAINING_PARAMETERS: dict[str, Constraint] = {
    "encoding_params": OfType(dict, "a dict", allow_none=True),
    "constraint_weight": Float(0, low_inclusive=True),
    "lr": Float(0, low_inclusive=True),
    "weight_decay": Float(0, low_inclusive=True),
    "sigma_init": Float(0),
    "sigma_target": Float(0),
    "random_state": check_random_state_arg,
    "verbose": Verbose(),
}


def _check_supervised_loss(loss: object, name: str) -> object:
    """A name of :data:`_SUPERVISED` or a callable ``loss(outputs, targets) -> scalar``."""
    if callable(loss) or (isinstance(loss, str) and loss in _SUPERVISED):
        return loss
    raise InvalidParameterError(f"{name} must be one of {sorted(_SUPERVISED)} or callable; "
                                f"got {loss!r}")


def split_unlabeled(batch: UnlabeledBatch) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """Split an unlabelled batch into its views and its example ids.

    A batch is a tensor (one view, no ids) or a tuple/list ``(view_1, ..., view_m[, index])``
    whose last element, if it is a 1-D integer tensor, holds the example ids.

    Examples
    --------
    >>> import torch
    >>> from logiclearn.trainer import split_unlabeled
    >>> views, idx = split_unlabeled((torch.zeros(2, 3), torch.tensor([4, 7])))
    >>> len(views), idx.tolist()
    (1, [4, 7])
    """
    if isinstance(batch, torch.Tensor):
        return [batch], None
    if not isinstance(batch, (tuple, list)) or not batch:
        raise TypeError(
            f"unlabelled batch must be a tensor or a tuple of tensors, got {type(batch).__name__}"
        )
    batch = list(batch)
    index = None
    last = batch[-1]
    if isinstance(last, torch.Tensor) and not torch.is_floating_point(last) and last.ndim == 1:
        index = batch.pop()
    for i, v in enumerate(batch):
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"view {i} of the unlabelled batch must be a tensor, got {type(v)}")
    sizes = [len(v) for v in batch]
    if len(set(sizes)) > 1:
        raise ValueError(f"the views of an unlabelled batch must have the same number of rows, "
                         f"got {sizes}")
    if not batch:
        raise ValueError("unlabelled batch has example ids but no view")
    if index is not None and len(index) != sizes[0]:
        raise ValueError(f"unlabelled batch has {sizes[0]} rows per view but {len(index)} "
                         "example ids")
    return batch, index


class _FormulaBuilder:
    """``build(outputs, batch)``: the checked formula of ``constraint`` on the model's outputs
    (one tensor per view), in negation normal form (see :data:`encodings.base.FormulaBuilder`).
    """

    __slots__ = ("constraint",)

    def __init__(self, constraint: ConstraintFn) -> None:
        self.constraint = constraint

    def __call__(self, outputs: Sequence[torch.Tensor], batch: UnlabeledBatch) -> Formula:
        terms = [Term(p) for p in outputs]
        formula = self.constraint(terms[0] if len(terms) == 1 else tuple(terms), batch)
        check_formula(formula, "the formula returned by constraint")
        bs, n_rows = formula.batch_size, len(outputs[-1])
        if bs is not None and bs != n_rows:
            raise ValueError(
                f"constraint returned a formula over {bs} instances, but the unlabelled batch "
                f"has {n_rows} rows; atoms must be batch first, shape (B,) or (B, k)"
            )
        return prepare(formula)


class LogicTrainer:
    """Train any ``torch.nn.Module`` with a supervised loss and a logical constraint.

    The trainer knows nothing about particular encodings: it asks the encoding for its hooks
    (see :mod:`logiclearn.encodings.base`): ``before_step`` (the dual τ step), ``penalty``,
    ``after_step`` (the multipliers of ``'pd'``), ``default_loss`` and ``needs_index``.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place.
    constraint : callable, list or None
        ``constraint(outputs, batch) -> Formula``; ``outputs`` is a :class:`Term` (one view) or
        a tuple of Terms (one per view) of the model's outputs on the unlabelled batch, and
        ``batch`` the raw unlabelled batch. The formula must be about the batch's instances
        (batch size B, or quantified). ``None`` trains supervised only. A list holds several
        constraints, each on its own subset of the data: its items are callables or
        ``(callable, weight)`` pairs (weight 1 when omitted; the term of constraint k is
        ``constraint_weight · weight_k · loss_k``); :meth:`fit` then takes one unlabelled
        loader per constraint, and each constraint gets its own encoding (its own duals) and
        σ schedule.
    encoding : str or Encoding
        A registered name (``'dual'`` — the paper —, ``'dl2'``, ``'product'``,
        ``'lukasiewicz'``, ``'godel'``, ``'pd'``, ``'semantic'``) or an encoding object.
    encoding_params : dict, optional
        Constructor arguments of a named encoding, e.g. ``{'lr': 1.0}`` (the τ step of
        ``'dual'``) or ``{'lr': 0.01, 'update_freq': 10}`` (the multipliers of ``'pd'``).
    constraint_weight : float
        Weight λ of the constraint term (``supervised + λ · constraint``).
    constraint_loss : {'auto', 'truncated', 'gaussian', 'linear'}
        Map from cost to loss; ``'auto'`` asks the encoding (``'truncated'`` for the dual
        encoding, ``'linear'`` — the plain cost — for the baselines).
    sigma_init, sigma_target : float
        σ schedule of the distributional loss (σ only shrinks, from ``sigma_init`` towards
        ``sigma_target``). The default 0.5 (the authors' MNIST code keeps σ = 1) is measured
        on the rotated-digits task (``python -m experiments run logic_shortcut_diagnosis``):
        with σ = 1 the cross-entropy suppresses the hidden class before the constraint's
        consequent can raise it, and the disjunction over the other nine classes (cheaper
        under any τ) wins on 2-3 seeds in 10 whatever the τ step; σ = 0.5 makes the
        constraint's gradient at cost ≈ 1 about 3.5x stronger (as λ = 2-3 does) and the
        intended branch wins on 10/10.
    loss : {'cross_entropy', 'mse'} or callable
        Supervised loss ``loss(outputs, y)``.
    lr, weight_decay : float
        Adam hyper-parameters for θ.
    random_state : None, int, numpy RandomState or Generator
        Seeds a ``torch.Generator`` under which :meth:`fit` runs the model (dropout) and the
        loaders (shuffling); ``None`` seeds it from fresh entropy. The caller's global torch,
        numpy and ``random`` generators are left as they were in every case.
    compile_constraint : bool
        Compile the constraint's part of each step with ``torch.compile`` (the ``'dual'``
        encoding; inductor needs a C++ compiler on CPU): the call of ``constraint`` on the
        outputs, the τ step, the penalty and its gradient with respect to the outputs become
        one compiled function (see :meth:`DualEncoding.penalty_from_outputs`). The first
        batch of each output shape runs eagerly, the second compiles (seconds to a minute,
        once per trainer, formula structure and output shape; at most four); the steps after
        are faster on small networks, where the constraint's many small kernels dominate
        (``benchmarks/bench_logiclearn.py``). Results equal the default path's to float
        rounding. A constraint the compiler cannot trace whole, one whose formula changes
        structure, or a quantified formula runs eagerly.
    verbose : int
        0 (default): silent; 1: a progress bar over epochs with the epoch's losses, on a
        terminal only; 2: also in a log (redrawn at most every 10 s). See
        :mod:`probconstraints._progress`.

    Attributes
    ----------
    history_ : list of dict
        Per epoch: ``supervised``, ``constraint``, ``mean_cost``, ``sigma`` and ``val``.
    best_epoch_, best_score_ : int, float
        Checkpoint kept by the validation metric (when one is given).
    encoding_ : Encoding
        The encoding with its state (duals of ``'dual'``, multipliers of ``'pd'``); with a
        list of constraints, the first constraint's.
    encodings_, schedules_ : list
        With a list of constraints: one encoding and one σ schedule per constraint.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> g = torch.Generator().manual_seed(0)
    >>> model = torch.nn.Linear(2, 2)
    >>> X, y = torch.randn(32, 2, generator=g), torch.randint(0, 2, (32,), generator=g)
    >>> U = torch.randn(32, 2, generator=g)
    >>> labeled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), 16)
    >>> unlabeled = torch.utils.data.DataLoader(ll.IndexedDataset(U), 16)
    >>> def fn(out, batch):   # class 1 is at least as likely as class 0
    ...     p = out.softmax(-1)
    ...     return p[:, 1] >= p[:, 0]
    >>> trainer = ll.LogicTrainer(model, fn, encoding="dual", random_state=0)
    >>> len(trainer.fit(labeled, unlabeled, epochs=2).history_)
    2

    Several constraints, each on its own data, with their own weights:

    >>> V = torch.randn(20, 2, generator=g)
    >>> other = torch.utils.data.DataLoader(ll.IndexedDataset(V), 10)
    >>> def fn2(out, batch):  # class 0 is at least as likely as class 1
    ...     p = out.softmax(-1)
    ...     return p[:, 0] >= p[:, 1]
    >>> trainer = ll.LogicTrainer(model, [(fn, 1.0), (fn2, 0.5)], random_state=0)
    >>> sorted(trainer.fit(labeled, [unlabeled, other], epochs=1).history_[0])[:4]
    ['constraint', 'constraint_0', 'constraint_1', 'mean_cost']
    """

    #: the hyper-parameters checked at construction, declared once
    _parameter_checks: dict[str, Constraint] = {
        **TRAINING_PARAMETERS,
        "constraint_loss": Choice(("auto", *CONSTRAINT_LOSSES)),
        "loss": _check_supervised_loss,
        "compile_constraint": OfType(bool, "a bool"),
    }

    best_score_: float  # set by fit
    best_epoch_: int | None

    def __init__(self, model: nn.Module,
                 constraint: ConstraintFn | Sequence[ConstraintFn | tuple[ConstraintFn, float]]
                 | None = None, *,
                 encoding: str | Encoding = "dual",
                 encoding_params: dict[str, Any] | None = None,
                 constraint_weight: float = 1.0, constraint_loss: str = "auto",
                 sigma_init: float = 0.5, sigma_target: float = 0.5,
                 loss: str | SupervisedLoss = "cross_entropy",
                 lr: float = 1e-3, weight_decay: float = 0.0,
                 random_state: RandomStateLike = None,
                 verbose: int = 0, compile_constraint: bool = False) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        pairs = _constraint_pairs(constraint)
        validate_params(locals(), self._parameter_checks)
        self.model, self.constraint, self.encoding = model, constraint, encoding
        self.encoding_params = encoding_params
        self.constraint_weight = float(constraint_weight)
        self.constraint_loss = constraint_loss
        self.sigma_init, self.sigma_target = sigma_init, sigma_target
        self.loss, self.lr, self.weight_decay = loss, lr, weight_decay
        self.random_state, self.verbose = random_state, verbose
        self._pairs = pairs  # None: one constraint (or none); else [(fn, weight), ...]
        self.encodings_ = [get_encoding(encoding, **(encoding_params or {}))
                           if isinstance(encoding, str) or i == 0 else copy.deepcopy(encoding)
                           for i in range(len(pairs) if pairs else 1)]
        self.encoding_ = self.encodings_[0]
        self.compile_constraint = compile_constraint
        if compile_constraint:
            for enc in self.encodings_:
                use_compile = getattr(enc, "use_compile", None)
                if use_compile is None:
                    raise ValueError(f"compile_constraint=True: the encoding {enc!r} has "
                                     "no use_compile hook (no compiled step)")
                use_compile(True)
        self.schedules_ = [SigmaSchedule(sigma_init, sigma_target)
                           for _ in range(len(pairs) if pairs else 1)]
        self.schedule_ = self.schedules_[0]
        self.optimizer_ = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        self._supervised = _SUPERVISED[loss] if isinstance(loss, str) else loss
        kind = constraint_loss if constraint_loss != "auto" else self.encoding_.default_loss
        if kind not in CONSTRAINT_LOSSES:
            raise ValueError(f"{type(self.encoding_).__name__}.default_loss must be one of "
                             f"{CONSTRAINT_LOSSES}, got {kind!r}")
        self.constraint_loss_ = kind
        self.n_steps_ = 0
        self.history_: list[dict[str, float]] = []
        self._build: _FormulaBuilder | None = None
        self._builds = [_FormulaBuilder(fn) for fn, _ in pairs] if pairs else []

    # -- one step ----------------------------------------------------------------------------
    @property
    def _closs(self) -> ConstraintLoss:
        return ConstraintLoss(self.constraint_loss_, self.schedule_.sigma)

    def _builder(self, constraint: ConstraintFn) -> _FormulaBuilder:
        """The formula builder of ``constraint`` (one object while the constraint is the same,
        so that encodings can cache their compiled step on it)."""
        b = self._build
        if b is None or b.constraint is not constraint:
            b = self._build = _FormulaBuilder(constraint)
        return b

    def step(self, labeled_batch: Sequence[torch.Tensor] | None = None,
             unlabeled_batch: UnlabeledBatch | Sequence[UnlabeledBatch | None] | None = None,
             ) -> dict[str, float]:
        """One SGDA step on a labelled batch ``(X, y)`` and an unlabelled batch; returns losses.

        Examples
        --------
        >>> import torch
        >>> import logiclearn as ll
        >>> model = torch.nn.Linear(3, 2)
        >>> t = ll.LogicTrainer(model, lambda out, b: out[:, 0] <= 0.0)
        >>> out = t.step((torch.randn(4, 3), torch.tensor([0, 1, 0, 1])),
        ...              (torch.randn(5, 3), torch.arange(5)))
        >>> sorted(out)
        ['constraint', 'loss', 'mean_cost', 'supervised']
        """
        if self._pairs is not None:
            return self._step_several(labeled_batch, unlabeled_batch)
        if not _all_training(self.model):  # train() is a no-op otherwise
            self.model.train()
        inputs: list[torch.Tensor] = []
        sizes: list[int] = []
        yl: torch.Tensor | None = None
        if labeled_batch is not None:
            if not (isinstance(labeled_batch, (tuple, list)) and len(labeled_batch) == 2):
                raise TypeError("labelled batch must be a pair (X, y), got "
                                f"{type(labeled_batch).__name__}")
            xl, yl = labeled_batch
            if len(xl) != len(yl):
                raise ValueError(f"labelled batch has {len(xl)} inputs but {len(yl)} targets")
            inputs.append(xl)
            sizes.append(len(xl))
        index: torch.Tensor | None = None
        constraint = cast("ConstraintFn | None", self.constraint)
        unl = cast("UnlabeledBatch | None", unlabeled_batch)
        enc = self.encoding_
        if constraint is not None and unl is not None:
            views, index = split_unlabeled(unl)
            if enc.needs_index and index is None:
                raise ValueError(
                    f"the {enc.name!r} encoding keeps state per example: the unlabelled batch "
                    "must end with a 1-D integer tensor of example ids (see ll.IndexedDataset)"
                )
            inputs += views
            sizes += [len(v) for v in views]
        if not inputs:
            raise ValueError("step needs a labelled batch, an unlabelled batch, or both")
        out = self.model(torch.cat(inputs) if len(inputs) > 1 else inputs[0])
        parts = _split_rows(out, sizes)
        sup = self._supervised(parts.pop(0), yl) if yl is not None else None
        cons: torch.Tensor | None = None
        penalty: Penalty | None = None
        mean_cost = float("nan")
        if constraint is not None and unl is not None:
            build, closs = self._builder(constraint), self._closs
            penalty = _penalty(enc, build, parts, unl, index, closs)
            cons = penalty.value
            mc = penalty.mean_cost
            mean_cost = float(mc if mc is not None else penalty.cost.detach().mean())
            if not math.isfinite(mean_cost):
                raise ValueError("the constraint's cost is NaN or inf; check the model outputs")
        w = self.constraint_weight
        self.optimizer_.zero_grad(set_to_none=True)
        sup_value = float(sup.detach()) if sup is not None else 0.0
        if penalty is not None and penalty.outputs_grad is not None:
            # the encoding computed the penalty's gradient with respect to the outputs: one
            # backward pass from the supervised loss and the outputs (no extra autograd node)
            assert cons is not None  # (a penalty was computed)
            cons_value = float(cons.detach() if cons.requires_grad else cons)
            loss_value = sup_value + w * cons_value if sup is not None else w * cons_value
            _backward_with_outputs_grad(sup, parts, penalty.outputs_grad, w)
        else:
            if cons is None:
                assert sup is not None  # without a constraint term the labelled batch was given
                loss = sup
            else:
                weighted = cons if w == 1.0 else w * cons
                loss = weighted if sup is None else sup + weighted
            loss.backward()
            loss_value = float(loss.detach())
            cons_value = float(cons.detach()) if cons is not None else 0.0
        self.optimizer_.step()
        if penalty is not None:
            enc.after_step(penalty)
        self.n_steps_ += 1
        return {"loss": loss_value, "supervised": sup_value, "constraint": cons_value,
                "mean_cost": mean_cost}

    def _step_several(self, labeled_batch: Sequence[torch.Tensor] | None,
                      unlabeled_batch: Any) -> dict[str, float]:
        """:meth:`step` with a list of constraints: ``unlabeled_batch`` holds one batch (or
        None) per constraint; one forward pass for all, one backward pass of
        ``supervised + Σ_k λ w_k loss_k``."""
        assert self._pairs is not None
        k = len(self._pairs)
        if unlabeled_batch is None:
            unlabeled_batch = [None] * k
        if not isinstance(unlabeled_batch, (list, tuple)) or len(unlabeled_batch) != k:
            raise ValueError(
                f"with {k} constraints, the unlabelled batch must be a list of {k} batches (one "
                f"per constraint, None to skip one), got "
                + (f"a list of {len(unlabeled_batch)}" if isinstance(unlabeled_batch,
                                                                     (list, tuple))
                   else type(unlabeled_batch).__name__))
        if not _all_training(self.model):
            self.model.train()
        inputs: list[torch.Tensor] = []
        sizes: list[int] = []
        yl: torch.Tensor | None = None
        if labeled_batch is not None:
            if not (isinstance(labeled_batch, (tuple, list)) and len(labeled_batch) == 2):
                raise TypeError("labelled batch must be a pair (X, y), got "
                                f"{type(labeled_batch).__name__}")
            xl, yl = labeled_batch
            if len(xl) != len(yl):
                raise ValueError(f"labelled batch has {len(xl)} inputs but {len(yl)} targets")
            inputs.append(xl)
            sizes.append(len(xl))
        parsed: list[tuple[int, list[int], Any, torch.Tensor | None]] = []
        for i, unl in enumerate(unlabeled_batch):
            if unl is None:
                continue
            views, index = split_unlabeled(unl)
            enc = self.encodings_[i]
            if enc.needs_index and index is None:
                raise ValueError(
                    f"constraint {i}: the {enc.name!r} encoding keeps state per example: its "
                    "unlabelled batch must end with a 1-D integer tensor of example ids")
            parsed.append((i, [len(v) for v in views], unl, index))
            inputs += views
            sizes += [len(v) for v in views]
        if not inputs:
            raise ValueError("step needs a labelled batch, an unlabelled batch, or both")
        out = self.model(torch.cat(inputs) if len(inputs) > 1 else inputs[0])
        parts = _split_rows(out, sizes)
        sup = self._supervised(parts.pop(0), yl) if yl is not None else None
        total: torch.Tensor | None = sup
        rec = {"supervised": float(sup.detach()) if sup is not None else 0.0,
               "constraint": 0.0, "mean_cost": 0.0}
        penalties = []
        for i, vsizes, unl, index in parsed:
            mine, parts = parts[:len(vsizes)], parts[len(vsizes):]
            enc, build = self.encodings_[i], self._builds[i]
            closs = ConstraintLoss(self.constraint_loss_, self.schedules_[i].sigma)
            penalty = _penalty(enc, build, mine, unl, index, closs)
            mc = penalty.mean_cost
            mean_cost = float(mc if mc is not None else penalty.cost.detach().mean())
            if not math.isfinite(mean_cost):
                raise ValueError(f"constraint {i}'s cost is NaN or inf; check the model outputs")
            w = self.constraint_weight * self._pairs[i][1]
            term: torch.Tensor | None
            if penalty.outputs_grad is not None:  # a surrogate with that gradient
                surrogate = [(o * g).sum() for o, g in zip(mine, penalty.outputs_grad)
                             if o.requires_grad]
                value = float(penalty.value.detach())
                term = w * torch.stack(surrogate).sum() if surrogate else None
            else:
                term = w * penalty.value
                value = float(penalty.value.detach())
            if term is not None:
                total = term if total is None else total + term
            rec[f"constraint_{i}"], rec[f"mean_cost_{i}"] = value, mean_cost
            rec["constraint"] += w * value
            penalties.append((i, penalty))
        rec["mean_cost"] = (float(np.mean([rec[f"mean_cost_{i}"] for i, _ in penalties]))
                            if penalties else float("nan"))
        self.optimizer_.zero_grad(set_to_none=True)
        if total is not None and total.requires_grad:
            total.backward()
        self.optimizer_.step()
        for i, penalty in penalties:
            self.encodings_[i].after_step(penalty)
        self.n_steps_ += 1
        rec["loss"] = rec["supervised"] + rec["constraint"]
        return rec

    # -- epochs --------------------------------------------------------------------------------
    def fit(self, labeled: BatchLoader | None = None,
            unlabeled: BatchLoader | Sequence[BatchLoader | None] | None = None,
            epochs: int = 10,
            val_metric: Callable[[nn.Module], float] | None = None) -> LogicTrainer:
        """Train for ``epochs`` passes over the longer of the two loaders (the other cycles).

        Parameters
        ----------
        labeled : iterable of (X, y) batches, optional
        unlabeled : iterable of unlabelled batches, optional
            See :func:`split_unlabeled` for the batch layout. With a list of constraints, a
            list of loaders, one per constraint (None for a constraint to skip).
        epochs : int
        val_metric : callable, optional
            ``val_metric(model) -> float``, higher is better; the best epoch's weights are
            restored at the end.

        Returns
        -------
        self
        """
        epochs = check_int(epochs, "epochs", 1)
        if self._pairs is not None and unlabeled is not None:
            k = len(self._pairs)
            if not isinstance(unlabeled, (list, tuple)) or len(unlabeled) != k:
                raise ValueError(
                    f"with {k} constraints, unlabeled must be a list of {k} loaders (one per "
                    "constraint, in the order of the constraints), got "
                    + (f"a list of {len(unlabeled)}" if isinstance(unlabeled, (list, tuple))
                       else f"one {type(unlabeled).__name__}"))
            for i, u in enumerate(unlabeled):
                if u is not None and not hasattr(u, "__len__"):
                    raise TypeError(f"unlabeled[{i}] must be a loader with a length, got "
                                    f"{type(u).__name__}")
            if all(u is None for u in unlabeled):
                unlabeled = None
        if labeled is None and unlabeled is None:
            raise ValueError("fit needs a labelled loader, an unlabelled loader, or both")
        if self.constraint is not None and unlabeled is None:
            name = describe_constraint(self.constraint)
            warnings.warn(
                f"LogicTrainer.fit: the constraint {name} is ignored: it is learnt from "
                f"unlabelled data, and unlabeled is None. Pass unlabelled batches (see "
                f"ll.IndexedDataset), or constraint=None for supervised training",
                UserWarning, stacklevel=2)
        if val_metric is not None and not callable(val_metric):
            raise TypeError(f"val_metric must be callable, got {type(val_metric).__name__}")
        gen = torch_generator(self.random_state)
        if gen is None:  # fresh entropy, not the caller's global generator
            gen = torch_generator(np.random.default_rng())
        with isolated_rng(gen):
            self._fit(labeled, unlabeled, int(epochs), val_metric)
        return self

    def _fit(self, labeled: BatchLoader | None,
             unlabeled: BatchLoader | Sequence[BatchLoader | None] | None, epochs: int,
             val_metric: Callable[[nn.Module], float] | None) -> None:
        best_state: dict[str, Any] | None = None
        self.best_score_, self.best_epoch_ = -math.inf, None
        several = self._pairs is not None
        loaders: list[BatchLoader | None] = (
            list(cast(Sequence[BatchLoader | None], unlabeled)) if several and unlabeled
            is not None else [cast(BatchLoader | None, unlabeled)])
        n_steps = max([len(labeled) if labeled is not None else 0]
                      + [len(u) for u in loaders if u is not None])
        keys = ["supervised", "constraint", "mean_cost"]
        if several:
            keys += [f"{name}_{i}" for i, u in enumerate(loaders) if u is not None
                     for name in ("constraint", "mean_cost")]
        bar = progress(range(epochs), self.verbose, desc="LogicTrainer epoch")
        for epoch in bar:
            it_l = _cycle(labeled)
            its = [_cycle(u) for u in loaders]
            rec = dict.fromkeys(keys, 0.0)
            for _ in range(n_steps):
                unl = [next(it) if it else None for it in its]
                out = self.step(next(it_l) if it_l else None, unl if several else unl[0])
                for k in rec:
                    rec[k] += out[k] / n_steps
            if several:
                for i, u in enumerate(loaders):
                    if u is not None:
                        rec[f"sigma_{i}"] = self.schedules_[i].step(rec[f"mean_cost_{i}"])
            elif self.constraint is not None and unlabeled is not None:
                rec["sigma"] = self.schedule_.step(rec["mean_cost"])
            if val_metric is not None:
                self.model.eval()
                with torch.no_grad():
                    score = float(val_metric(self.model))
                rec["val"] = score
                if score > self.best_score_:
                    self.best_score_, self.best_epoch_ = score, epoch
                    best_state = copy.deepcopy(self.model.state_dict())
            self.history_.append(rec)
            # shown at the bar's next redraw (refresh=False keeps verbose=2's 10 s pace in logs)
            bar.set_postfix({k: round(v, 4) for k, v in rec.items() if math.isfinite(v)},
                            refresh=False)
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.model.eval()


#: the C++ engine's entry that ``torch.autograd.backward`` calls after its argument checks
_run_backward: Callable[..., Any] | None = getattr(torch.autograd.graph, "_engine_run_backward",
                                                  None)


def _backward_with_outputs_grad(sup: torch.Tensor | None, outputs: list[torch.Tensor],
                                grads: Sequence[torch.Tensor], weight: float) -> None:
    """One backward pass of ``sup + weight · penalty`` given the penalty's gradient ``grads``
    with respect to ``outputs`` (what :attr:`Penalty.outputs_grad` holds).

    The outputs are blocks of one ``split`` of the model's output (as is the supervised
    loss's input): the gradients meet in its one backward node, which concatenates them."""
    if len(grads) != len(outputs):
        raise ValueError(f"Penalty.outputs_grad has {len(grads)} tensors for {len(outputs)} "
                         "outputs; it needs one gradient per output")
    roots: list[torch.Tensor] = [] if sup is None else [sup]
    root_grads: list[torch.Tensor] = [] if sup is None else [torch.ones_like(sup)]
    for o, g in zip(outputs, grads):
        if o.requires_grad:
            roots.append(o)
            root_grads.append(g if weight == 1.0 else weight * g)
    if not roots:
        return
    if _run_backward is not None and all(type(t) is torch.Tensor for t in roots) and all(
            type(g) is torch.Tensor and g.shape == t.shape for t, g in zip(roots, root_grads)):
        # torch.autograd.backward without its Python argument checks (``_make_grads``: about
        # 10 us for three roots); the engine checks shapes, dtypes and devices itself
        _run_backward(tuple(roots), tuple(root_grads), False, False, (),
                      allow_unreachable=True, accumulate_grad=True)
    else:
        torch.autograd.backward(roots, root_grads)


def _all_training(model: nn.Module) -> bool:
    """``all(m.training for m in model.modules())`` without the generators of ``modules()``."""
    stack, seen = [model], {id(model)}
    while stack:
        m = stack.pop()
        if not m.training:
            return False
        for c in m._modules.values():
            if c is not None and id(c) not in seen:  # (shared or cyclic submodules: once)
                seen.add(id(c))
                stack.append(c)
    return True


def _split_rows(out: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """``list(out.split(sizes))``: one view per block, one autograd node for them all."""
    if len(sizes) == 1:
        return [out]
    return list(out.split(sizes))


def _cycle(loader: BatchLoader | None) -> Iterator[Any] | None:
    if loader is None:
        return None

    def gen() -> Iterator[Any]:
        while True:
            yield from loader

    return gen()


def describe_constraint(constraint: object) -> str:
    """A constraint (or a list of them) by name, for messages: ``'fn'``, ``['f', 'g']``."""
    def name(fn: object) -> str:
        fn = fn[0] if isinstance(fn, (list, tuple)) else fn
        return getattr(fn, "__name__", type(fn).__name__)

    if isinstance(constraint, (list, tuple)):
        return str([name(c) for c in constraint])
    return repr(name(constraint))


def _penalty(enc: EncodingProtocol, build: _FormulaBuilder, outputs: list[torch.Tensor],
             batch: UnlabeledBatch, index: torch.Tensor | None, closs: ConstraintLoss) -> Penalty:
    """The encoding's penalty of one batch: its optional ``penalty_from_outputs`` (the compiled
    step of ``'dual'``) if it has one that answers, else ``before_step`` then ``penalty``."""
    from_outputs = getattr(enc, "penalty_from_outputs", None)
    penalty = from_outputs(build, outputs, batch, index, closs) if from_outputs else None
    if penalty is None:
        f = build(outputs, batch)
        enc.before_step(f, index, closs)
        penalty = enc.penalty(f, index, closs)
    return cast(Penalty, penalty)


def _constraint_pairs(constraint: object) -> list[tuple[ConstraintFn, float]] | None:
    """``None`` for one constraint (or none); the checked ``(fn, weight)`` pairs of a list."""
    if constraint is None or callable(constraint):
        return None
    if not isinstance(constraint, (list, tuple)):
        raise TypeError(f"constraint must be callable, a list of constraints or None, got "
                        f"{type(constraint).__name__}")
    if not constraint:
        raise ValueError("constraint is an empty list; give at least one constraint or None")
    pairs = []
    for i, item in enumerate(constraint):
        if callable(item):
            fn, weight = item, 1.0
        elif isinstance(item, (list, tuple)) and len(item) == 2 and callable(item[0]):
            fn, weight = item[0], check_float(item[1], f"the weight of constraint {i}", 0,
                                                 low_inclusive=True)
        else:
            raise TypeError(f"constraint {i} must be a callable or a (callable, weight) pair, "
                            f"got {item!r}")
        pairs.append((cast(ConstraintFn, fn), weight))
    return pairs
