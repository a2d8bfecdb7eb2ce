"""Test-time guarantees: outputs that satisfy the constraint, whatever the network learned.

* :func:`most_probable_satisfying` — for Boolean constraints over categorical outputs, the most
  probable joint assignment (under the network's independent softmax outputs) whose one-hot
  outputs satisfy the formula: exact by enumeration of every joint assignment up to
  ``max_assignments``; beyond, a documented approximation (exact over each output's top-r
  values) or a clear error.
* :func:`project_linear` — for linear real-valued constraints ``A y <= b``, ``A_eq y = b_eq``,
  the nearest satisfying output in Euclidean distance (Dykstra's alternating projections, a
  small QP per row solved for all rows at once).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import torch
from numpy.typing import ArrayLike

from probconstraints._validation import check_float, check_int

from .formula import Formula, Term, check_formula

__all__ = ["Enforced", "most_probable_satisfying", "project_linear", "ASSIGNMENT_LOGIT"]

#: logit of the values an assignment does not choose: softmax gives exactly 0 for them (and
#: exactly 1 for the chosen value) in float32 and float64
ASSIGNMENT_LOGIT = -1e4

ConstraintFn: TypeAlias = Callable[[Any, Any], Formula]


@dataclass
class Enforced:
    """Result of :func:`most_probable_satisfying`.

    Attributes
    ----------
    assignment : LongTensor of shape (B, M)
        The value of each of the M categorical outputs (views in order, each split into
        groups of ``n_values``).
    satisfied : BoolTensor of shape (B,)
        Whether the assignment satisfies the formula: always True when ``exact``; under the
        approximation, False where no assignment over the top-r values does (the
        assignment is then the unconstrained argmax).
    log_prob : Tensor of shape (B,)
        The assignment's log-probability under the network's softmax outputs.
    n_assignments : int
        Joint assignments enumerated per instance.
    exact : bool
        Whether every joint assignment was enumerated.
    """

    assignment: torch.Tensor
    satisfied: torch.Tensor
    log_prob: torch.Tensor
    n_assignments: int
    exact: bool


def _repeat_batch(batch: Any, c: int) -> Any:
    """Every row of every tensor in ``batch`` repeated ``c`` times (row i -> rows ic..ic+c-1)."""
    if isinstance(batch, torch.Tensor):
        return batch.repeat_interleave(c, 0)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_repeat_batch(b, c) for b in batch)
    return batch


def most_probable_satisfying(logits: torch.Tensor | Sequence[torch.Tensor],
                             constraint: ConstraintFn, batch: Any = None, *,
                             n_values: int | None = None, exact: bool = True,
                             max_assignments: int = 2 ** 16, tol: float = 1e-6,
                             chunk_rows: int = 2 ** 14) -> Enforced:
    """The most probable joint assignment of categorical outputs that satisfies the formula.

    Each view's logits ``(B, W)`` hold ``W / n_values`` categorical outputs (one when
    ``n_values`` is None); their softmax probabilities are taken as independent. Every joint
    assignment is scored by its log-probability and checked by calling ``constraint`` on it
    written as logits (0 at the chosen value, :data:`ASSIGNMENT_LOGIT` elsewhere, so that
    their softmax is exactly one-hot); the best satisfying one is returned.

    Parameters
    ----------
    logits : Tensor or sequence of Tensors
        One ``(B, W_v)`` tensor of logits per view, as the model outputs them.
    constraint : callable
        ``constraint(outputs, batch) -> Formula``, as :class:`LogicTrainer` takes it.
    batch : optional
        Passed to ``constraint`` with each tensor in it repeated once per assignment (pass
        only what the constraint reads, e.g. example ids, not images).
    n_values : int, optional
        Values per categorical output, when a view holds several.
    exact : bool
        True (default): enumerate every joint assignment, and raise a ValueError naming the
        size when there are more than ``max_assignments``. False: when there are more,
        enumerate exactly over each output's top-r most probable values, the largest r with
        ``r ** M <= max_assignments`` — an approximation: the best satisfying assignment may
        lie outside, and an instance with no satisfying assignment inside keeps its argmax
        (``satisfied`` False there).
    max_assignments : int
        Most joint assignments enumerated per instance.
    tol : float
        Atom tolerance when checking an assignment.
    chunk_rows : int
        Most (instance, assignment) rows given to ``constraint`` at once.

    Returns
    -------
    Enforced

    Examples
    --------
    Two digits (values 0..3) whose sum must be 3; the network prefers (2, 2), which sums to 4:

    >>> import torch
    >>> import logiclearn as ll
    >>> logits = torch.tensor([[0.0, 1.0, 3.0, 0.0, 0.0, 2.0, 3.0, 0.0]])  # 2 outputs, 4 values
    >>> def sums_to_3(out, batch):
    ...     p = out.reshape(-1, 2, 4).softmax(-1)
    ...     return ll.any_of(ll.all_of(p[:, 0, i] == 1, p[:, 1, 3 - i] == 1) for i in range(4))
    >>> res = ll.most_probable_satisfying(logits, sums_to_3, n_values=4)
    >>> res.assignment.tolist(), res.satisfied.tolist()
    ([[2, 1]], [True])
    """
    views = [logits] if isinstance(logits, torch.Tensor) else list(logits)
    if not views or not all(isinstance(v, torch.Tensor) for v in views):
        raise TypeError("logits must be a tensor or a non-empty sequence of tensors")
    if not callable(constraint):
        raise TypeError(f"constraint must be callable, got {type(constraint).__name__}")
    if not isinstance(exact, bool):
        raise TypeError(f"exact must be a bool, got {exact!r}")
    max_assignments = check_int(max_assignments, "max_assignments", 1)
    chunk_rows = check_int(chunk_rows, "chunk_rows", 1)
    tol = check_float(tol, "tol", 0, low_inclusive=True)
    if n_values is not None:
        n_values = check_int(n_values, "n_values", 1)
    n = len(views[0])
    shapes = []  # per view: (number of outputs, values per output)
    for i, v in enumerate(views):
        if v.ndim != 2 or len(v) != n:
            raise ValueError(f"view {i} of logits must have shape (B, W) with B = {n}, got "
                             f"{tuple(v.shape)}")
        k = v.shape[1] if n_values is None else n_values
        if v.shape[1] % k:
            raise ValueError(f"n_values={k} does not divide the width {v.shape[1]} of view {i}")
        shapes.append((v.shape[1] // k, k))
    logp = torch.cat([torch.log_softmax(v.detach().reshape(n, m, k).double(), -1)
                      .reshape(n, m * k) for v, (m, k) in zip(views, shapes)], 1)
    sizes = [k for m, k in shapes for _ in range(m)]  # values of each of the M outputs
    n_vars = len(sizes)
    total = math.prod(sizes)
    if total <= max_assignments:
        r_values = sizes
        is_exact = True
    elif exact:
        raise ValueError(
            f"exact enforcement enumerates every joint assignment: {total:,} here "
            f"({n_vars} categorical outputs with {sorted(set(sizes))} values), more than "
            f"max_assignments={max_assignments:,}; raise max_assignments, or pass exact=False "
            "for the approximation (exact enumeration over each output's top-r values)")
    else:
        r = max(1, int(math.floor(max_assignments ** (1.0 / n_vars) + 1e-9)))
        while (r + 1) ** n_vars <= max_assignments:  # (floating-point floor)
            r += 1
        r_values = [min(r, k) for k in sizes]
        is_exact = False
    offsets = np.cumsum([0, *sizes[:-1]])
    # candidate values of each output per instance: all values, or the top-r by probability
    cand = []
    for j, (k, r) in enumerate(zip(sizes, r_values)):
        block = logp[:, offsets[j]:offsets[j] + k]
        cand.append(torch.arange(k).expand(n, k) if r == k
                    else block.topk(r, dim=1).indices)
    n_assign = math.prod(r_values)
    grids = torch.cartesian_prod(*[torch.arange(r) for r in r_values]).reshape(n_assign, n_vars)
    best = torch.full((n,), -math.inf, dtype=torch.float64)
    best_assign = torch.stack([logp[:, o:o + k].argmax(1) for o, k in zip(offsets, sizes)], 1)
    found = torch.zeros(n, dtype=torch.bool)
    per_chunk = max(1, chunk_rows // max(n, 1))
    for start in range(0, n_assign, per_chunk):
        g = grids[start:start + per_chunk]  # (c, M) indices into the candidates
        c = len(g)
        values = torch.stack([cand[j][:, g[:, j]] for j in range(n_vars)], -1)  # (n, c, M)
        score = torch.stack([logp[:, offsets[j]:offsets[j] + sizes[j]].gather(1, values[..., j])
                             for j in range(n_vars)], -1).sum(-1)  # (n, c)
        truth = _holds(values.reshape(n * c, n_vars), shapes, views, constraint,
                       _repeat_batch(batch, c), tol, n * c).reshape(n, c)
        score = score.masked_fill(~truth, -math.inf)
        top, arg = score.max(1)
        better = top > best
        best = torch.where(better, top, best)
        best_assign[better] = values[better, arg[better]]
        found |= truth.any(1)
    log_prob = torch.stack([logp[:, offsets[j]:offsets[j] + sizes[j]]
                            .gather(1, best_assign[:, j:j + 1])[:, 0]
                            for j in range(n_vars)], -1).sum(-1)
    return Enforced(assignment=best_assign, satisfied=found, log_prob=log_prob,
                    n_assignments=n_assign, exact=is_exact)


def _holds(values: torch.Tensor, shapes: list[tuple[int, int]], views: list[torch.Tensor],
           constraint: ConstraintFn, batch: Any, tol: float, rows: int) -> torch.Tensor:
    """Truth of ``constraint`` on each row's assignment (written as one-hot logits)."""
    outs = []
    col = 0
    for (m, k), v in zip(shapes, views):
        oh = torch.nn.functional.one_hot(values[:, col:col + m], k).to(v.dtype)
        outs.append(((1.0 - oh) * ASSIGNMENT_LOGIT).reshape(rows, m * k))
        col += m
    terms = [Term(o) for o in outs]
    with torch.no_grad():
        f = constraint(terms[0] if len(terms) == 1 else tuple(terms), batch)
    check_formula(f, "the formula returned by constraint")
    if f.batch_size is None:
        raise ValueError("enforcement needs a formula with one truth value per instance "
                         "(shape (B,)); the constraint returned a quantified or scalar formula")
    return f._truth(tol).reshape(rows)


def project_linear(y: ArrayLike | torch.Tensor, A: ArrayLike | None = None,
                   b: ArrayLike | None = None, A_eq: ArrayLike | None = None,
                   b_eq: ArrayLike | None = None, *, max_iter: int = 10_000,
                   tol: float = 1e-9) -> torch.Tensor:
    """The nearest point (Euclidean) to each row of ``y`` with ``A z <= b`` and ``A_eq z = b_eq``.

    Solves ``min ||z - y||^2`` subject to the linear constraints, for every row at once, by
    Dykstra's alternating projections onto the half-spaces and the affine subspace (exact in
    the limit; stopped when the largest violation and the last change are below ``tol``).

    Parameters
    ----------
    y : array-like or Tensor of shape (B, d)
        Real-valued outputs.
    A, b : array-like of shapes (m, d) and (m,), optional
        Inequalities ``A z <= b``.
    A_eq, b_eq : array-like of shapes (q, d) and (q,), optional
        Equalities ``A_eq z = b_eq`` (of full row rank).
    max_iter : int
    tol : float

    Returns
    -------
    Tensor of shape (B, d)
        In ``y``'s dtype (float64 arithmetic inside).

    Warns
    -----
    RuntimeWarning
        When ``max_iter`` sweeps leave a violation above ``tol`` (e.g. an empty feasible set).

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ll.project_linear(torch.tensor([[2.0, 2.0], [0.0, 0.0]]), A=[[1.0, 1.0]], b=[1.0])
    tensor([[0.5000, 0.5000],
            [0.0000, 0.0000]])
    """
    yt = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y, dtype=np.float64))
    if yt.ndim != 2:
        raise ValueError(f"y must have shape (B, d), got {tuple(yt.shape)}")
    if not torch.is_floating_point(yt):
        yt = yt.double()
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_float(tol, "tol", 0)
    d = yt.shape[1]
    z = yt.detach().double().clone()

    def mat(M: ArrayLike | None, v: ArrayLike | None, name: str) -> tuple[torch.Tensor,
                                                                          torch.Tensor]:
        if (M is None) != (v is None):
            raise ValueError(f"{name} and its right-hand side go together; got one of them")
        if M is None:
            return torch.zeros(0, d, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)
        Mt = torch.as_tensor(np.asarray(M, dtype=np.float64))
        vt = torch.as_tensor(np.asarray(v, dtype=np.float64)).reshape(-1)
        if Mt.ndim != 2 or Mt.shape[1] != d or len(vt) != len(Mt):
            raise ValueError(f"{name} must have shape (m, {d}) with a right-hand side of m "
                             f"entries, got {tuple(Mt.shape)} and {tuple(vt.shape)}")
        if not (torch.isfinite(Mt).all() and torch.isfinite(vt).all()):
            raise ValueError(f"{name} and its right-hand side must be finite")
        return Mt, vt

    Ai, bi = mat(A, b, "A")
    Ae, be = mat(A_eq, b_eq, "A_eq")
    norms = (Ai ** 2).sum(1)
    if (norms == 0).any():
        raise ValueError("A has a zero row (a constraint on no output)")
    pinv_e = torch.linalg.pinv(Ae) if len(Ae) else None
    incr = torch.zeros(len(Ai), *z.shape, dtype=torch.float64)
    for _ in range(max_iter):
        prev = z
        for i in range(len(Ai)):
            t = z + incr[i]
            viol = (t @ Ai[i] - bi[i]).clamp(min=0.0)
            z_new = t - viol[:, None] * Ai[i] / norms[i]
            incr[i] = t - z_new
            z = z_new
        if pinv_e is not None:
            z = z - (z @ Ae.T - be) @ pinv_e.T
        worst = _violation(z, Ai, bi, Ae, be)
        if worst <= tol and float((z - prev).abs().max()) <= tol:
            break
    else:
        worst = _violation(z, Ai, bi, Ae, be)
        if worst > tol:
            warnings.warn(f"project_linear: {max_iter} sweeps leave a violation of {worst:.3g} "
                          f"> tol={tol:g}; is the feasible set empty?", RuntimeWarning,
                          stacklevel=2)
    return z.to(yt.dtype)


def _violation(z: torch.Tensor, Ai: torch.Tensor, bi: torch.Tensor, Ae: torch.Tensor,
               be: torch.Tensor) -> float:
    worst = 0.0
    if len(Ai):
        worst = max(worst, float((z @ Ai.T - bi).clamp(min=0.0).max()))
    if len(Ae):
        worst = max(worst, float((z @ Ae.T - be).abs().max()))
    return worst
