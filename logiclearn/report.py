"""The shortcut report card: which branch of each constraint a model uses, and its concepts.

:func:`report` runs a model on data, builds each constraint's formula on its outputs and
counts, per constraint: how often the formula holds, how often each branch of each
disjunction made it true (for an implication ``a >> b``: its antecedent and consequent, and
*vacuous* satisfactions, where the antecedent is false), how often a branch was the *only*
true one, and — given concept labels — the concept-quality metrics of rsbench (Bortolotti et
al., NeurIPS 2024 Datasets & Benchmarks): concept accuracy, macro F1 and concept collapse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from probconstraints._validation import check_float, check_int

from .formula import And, Atom, Exists, ForAll, Formula, Not, Or, Term, check_formula

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure

__all__ = ["Report", "report", "concept_metrics"]

#: ``constraint(outputs, batch) -> Formula``, as :class:`~logiclearn.LogicTrainer` takes it
ConstraintFn: TypeAlias = Callable[[Any, Any], Formula]

TABLE_COLUMNS = ["constraint", "node", "kind", "branch", "rate", "only"]
SUMMARY_COLUMNS = ["constraint", "n", "satisfied", "vacuous", "concept_accuracy",
                   "concept_f1", "concept_collapse"]


@dataclass
class Report:
    """Result of :func:`report`.

    Attributes
    ----------
    table : DataFrame
        One row per branch of every disjunction of every constraint: ``constraint`` (its
        name), ``node`` (the disjunction's name or tree path), ``kind`` (``'disjunct'``, or
        ``'antecedent false'`` / ``'consequent true'`` for an implication), ``branch`` (its
        label), ``rate`` (fraction of instances where the branch holds) and ``only``
        (fraction where it is the only true branch of its disjunction: for ``'antecedent
        false'``, the vacuous-only satisfactions, consequent false).
    summary : DataFrame
        One row per constraint: ``n`` (instances), ``satisfied`` (fraction where the formula
        holds), ``vacuous`` (fraction of instances where some implication of the formula has a
        false antecedent; NaN without implications), ``concept_accuracy``, ``concept_f1`` and
        ``concept_collapse`` (NaN without concept labels; see :func:`concept_metrics`).
    per_instance : dict of str to ndarray of bool
        Per constraint, the truth of the formula on each instance.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    per_instance: dict[str, NDArray[np.bool_]]

    def plot(self) -> Figure:
        """A figure: branch rates (and only-branch rates) per constraint, and the summary.

        Returns a :class:`matplotlib.figure.Figure` built without pyplot (nothing is shown;
        save it with ``fig.savefig``).

        Examples
        --------
        >>> import torch
        >>> import logiclearn as ll
        >>> model = torch.nn.Identity()
        >>> def rule(out, batch):
        ...     return (out[:, 0] >= 0.5) >> (out[:, 1] >= 0.5)
        >>> rep = ll.report(model, rule, torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]]))
        >>> fig = rep.plot()
        >>> len(fig.axes)
        2
        """
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 3.5 + 0.25 * max(len(self.table), 1)))
        ax_b, ax_s = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        t = self.table
        labels = [f"{c}: {n} / {b}" for c, n, b in zip(t["constraint"], t["node"], t["branch"])]
        y = np.arange(len(t))
        ax_b.barh(y - 0.2, t["rate"], 0.4, label="branch holds")
        ax_b.barh(y + 0.2, t["only"], 0.4, label="only this branch holds")
        ax_b.set_yticks(y, labels, fontsize=7)
        ax_b.invert_yaxis()
        ax_b.set_xlim(0, 1)
        ax_b.set_xlabel("fraction of instances")
        ax_b.set_title("branches of each disjunction")
        ax_b.legend(fontsize=7, loc="lower right")
        metrics = ["satisfied", "vacuous", "concept_accuracy", "concept_f1", "concept_collapse"]
        s = self.summary
        x = np.arange(len(metrics))
        width = 0.8 / max(len(s), 1)
        for i, row in enumerate(s.itertuples(index=False)):
            vals = [float(getattr(row, m)) for m in metrics]
            ax_s.bar(x + (i - (len(s) - 1) / 2) * width, np.nan_to_num(vals), width,
                     label=str(row.constraint))
        ax_s.set_xticks(x, [m.replace("concept_", "concept\n") for m in metrics], fontsize=7)
        ax_s.set_ylim(0, 1)
        ax_s.set_title("per constraint")
        ax_s.legend(fontsize=7)
        fig.tight_layout()
        return fig


def concept_metrics(pred: ArrayLike, true: ArrayLike, n_values: int) -> dict[str, float]:
    """rsbench's concept metrics of predicted against true concept values.

    Parameters
    ----------
    pred, true : array-like of int, same shape
        Predicted and true concept values (all concepts pooled), each in ``0 .. n_values-1``.
    n_values : int
        Number of values a concept takes (``k``).

    Returns
    -------
    dict
        ``concept_accuracy`` (fraction of equal entries), ``concept_f1`` (F1 averaged over the
        values present in ``true`` or ``pred``, as scikit-learn's macro average) and
        ``concept_collapse`` ``= 1 - (values predicted at least once) / k``: the share of the
        concept's values that the model never outputs (0: every value used; ``1 - 1/k``: one
        value for everything), as rsbench's ``Cls`` from the concept confusion matrix.

    Examples
    --------
    >>> from logiclearn.report import concept_metrics
    >>> m = concept_metrics([0, 0, 0, 1], [0, 1, 2, 1], n_values=4)
    >>> m["concept_accuracy"], m["concept_collapse"]
    (0.5, 0.5)
    """
    from sklearn.metrics import f1_score

    k = check_int(n_values, "n_values", 1)
    p, t = np.asarray(pred).ravel(), np.asarray(true).ravel()
    if p.shape != t.shape:
        raise ValueError(f"pred and true must have the same size, got {p.size} and {t.size}")
    for name, a in (("pred", p), ("true", t)):
        if a.size and (a.min() < 0 or a.max() >= k):
            raise ValueError(f"{name} concept values must lie in 0..{k - 1} (n_values={k}), "
                             f"got values in {a.min()}..{a.max()}")
    return {"concept_accuracy": float(np.mean(p == t)),
            "concept_f1": float(f1_score(t, p, average="macro", zero_division=0.0)),
            "concept_collapse": 1.0 - len(np.unique(p)) / k}


def _views(batch: Any, name: str) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    from .trainer import split_unlabeled

    try:
        return split_unlabeled(batch)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err}") from None


def _slice(batch: Any, rows: slice) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch[rows]
    return type(batch)(b[rows] for b in batch)


def _branch_rows(f: Formula, path: str, tol: float,
                 rows: list[tuple[str, str, str, NDArray[np.bool_], NDArray[np.bool_]]],
                 vacuous: list[NDArray[np.bool_]]) -> None:
    """Per disjunction of ``f``: (node, kind, label, branch truth, only-branch truth)."""
    node = f.name or path
    if isinstance(f, Or):
        truths = []
        for c in f.children:
            t = c._truth(tol)
            if isinstance(c, Atom) and t.ndim == 2:
                t = t.any(-1)
            truths.append(np.atleast_1d(t.detach().cpu().numpy()))
        stacked = np.stack(np.broadcast_arrays(*truths), -1)
        count = stacked.sum(-1)
        implication = getattr(f, "is_implication", False)
        for i in range(len(truths)):
            kind = ("antecedent false", "consequent true")[i] if implication else "disjunct"
            rows.append((node, kind, f.label(i), stacked[..., i], stacked[..., i] & (count == 1)))
        if implication:
            vacuous.append(stacked[..., 0])
    if isinstance(f, (And, Or)):
        for i, c in enumerate(f.children):
            _branch_rows(c, f"{path}/{i}", tol, rows, vacuous)
    elif isinstance(f, (Not, ForAll, Exists)):
        _branch_rows(f.child, f"{path}/0", tol, rows, vacuous)


def _as_list(value: Any, n: int, name: str, what: str) -> list[Any]:
    """``value`` if it is a list of ``n`` items, else ``[value] * n`` (one for all)."""
    if isinstance(value, list):
        if len(value) != n:
            raise ValueError(f"{name} is a list of {len(value)} {what} but there are {n} "
                             "constraints; give one per constraint (or one for all)")
        return value
    return [value] * n


def _predicted_concepts(outputs: list[torch.Tensor], n_values: int | None) -> NDArray[np.int64]:
    cols = []
    for o in outputs:
        o2 = o.reshape(len(o), -1)
        k = o2.shape[1] if n_values is None else n_values
        if o2.shape[1] % k:
            raise ValueError(f"n_values={k} does not divide the model's output width "
                             f"{o2.shape[1]}")
        cols.append(o2.reshape(len(o), -1, k).argmax(-1))
    return torch.cat(cols, 1).cpu().numpy()


def report(model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
           constraint: ConstraintFn | Sequence[ConstraintFn] | Mapping[str, ConstraintFn],
           data: Any, concepts: ArrayLike | list[ArrayLike | None] | None = None, *,
           n_values: int | None = None, tol: float = 1e-2,
           batch_size: int | None = None) -> Report:
    """The shortcut report card of ``model`` on each constraint.

    Parameters
    ----------
    model : torch.nn.Module or callable
        Maps one view ``(B, ...)`` to outputs ``(B, ...)``; run in eval mode, without
        gradients (its training mode is restored afterwards).
    constraint : callable, list of callables or dict of name to callable
        ``constraint(outputs, batch) -> Formula`` as :class:`~logiclearn.LogicTrainer` takes
        it: ``outputs`` is a :class:`~logiclearn.Term` (one view) or a tuple of Terms (one per
        view), ``batch`` the data (views and optional example ids). Unnamed constraints are
        called ``'constraint 0'``, ``'constraint 1'`` ...
    data : tensor, tuple of tensors, or list of them
        The instances, laid out as an unlabelled batch (views, then optionally a 1-D integer
        tensor of example ids; see :func:`logiclearn.trainer.split_unlabeled`). With several
        constraints, a list gives each constraint its own data (write the views of one
        batch as a tuple); anything else is shared by all.
    concepts : array-like of int, list of them, or None
        True concept values per instance, shape ``(B,)`` or ``(B, M)``: the predicted concepts
        are the argmax of each view's outputs split into groups of ``n_values`` (each view
        its own concept when ``n_values`` is None), all views concatenated: ``M`` concepts.
        With several constraints, a list gives each constraint its own (``None`` for none).
    n_values : int, optional
        Number of values per concept, when a view's output holds several concepts (e.g. 20
        outputs = two digits of 10 values).
    tol : float
        Atom tolerance (as in :func:`logiclearn.satisfaction`).
    batch_size : int, optional
        Evaluate in chunks of this many instances (all at once by default).

    Returns
    -------
    Report
        ``.table`` (branches), ``.summary`` (per constraint) and ``.plot()``.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> model = torch.nn.Identity()          # outputs = the data: [p(rain), p(wet)]
    >>> def rule(out, batch):
    ...     return (out[:, 0] >= 0.5) >> (out[:, 1] >= 0.5)
    >>> data = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> rep = ll.report(model, {"rain -> wet": rule}, data)
    >>> rep.summary[["satisfied", "vacuous"]].values.tolist()
    [[0.75, 0.5]]
    >>> rep.table[["kind", "rate", "only"]].values.tolist()
    [['antecedent false', 0.5, 0.25], ['consequent true', 0.5, 0.25]]
    """
    if not (isinstance(model, nn.Module) or callable(model)):
        raise TypeError(f"model must be a torch.nn.Module or callable, got {type(model).__name__}")
    if isinstance(constraint, Mapping):
        names, fns = [str(k) for k in constraint], list(constraint.values())
    elif isinstance(constraint, (list, tuple)):
        fns = list(constraint)
        names = [f"constraint {i}" for i in range(len(fns))]
    else:
        fns, names = [cast(ConstraintFn, constraint)], ["constraint 0"]
    if not fns:
        raise ValueError("constraint must name at least one constraint, got none")
    for nm, fn in zip(names, fns):
        if not callable(fn):
            raise TypeError(f"constraint {nm!r} must be callable, got {type(fn).__name__}")
    tol = check_float(tol, "tol", 0, low_inclusive=True)
    if n_values is not None:
        n_values = check_int(n_values, "n_values", 1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", 1)
    # with several constraints a list gives one item per constraint (a tuple holds the views)
    several = len(fns) > 1
    datas = _as_list(data, len(fns), "data", "datasets") if several else [data]
    concept_list = (_as_list(concepts, len(fns), "concepts", "concept arrays") if several
                    else [concepts])
    for nm, d in zip(names, datas):  # check every batch before running the model
        _views(d, f"data of {nm!r}")
    was_training = model.training if isinstance(model, nn.Module) else None
    if isinstance(model, nn.Module):
        model.eval()
    table: list[tuple[Any, ...]] = []
    summary: list[dict[str, Any]] = []
    per_instance: dict[str, NDArray[np.bool_]] = {}
    try:
        for nm, fn, d, conc in zip(names, fns, datas, concept_list):
            res = _one(model, fn, nm, d, conc, n_values, tol, batch_size)
            table += res[0]
            summary.append(res[1])
            per_instance[nm] = res[2]
    finally:
        if isinstance(model, nn.Module) and was_training:
            model.train()
    return Report(table=pd.DataFrame(table, columns=TABLE_COLUMNS),
                  summary=pd.DataFrame(summary, columns=SUMMARY_COLUMNS),
                  per_instance=per_instance)


def _one(model: Callable[[torch.Tensor], torch.Tensor], fn: ConstraintFn, name: str,
         data: Any, concepts: ArrayLike | None, n_values: int | None, tol: float,
         batch_size: int | None) -> tuple[list[tuple[Any, ...]], dict[str, Any],
                                          NDArray[np.bool_]]:
    views, _ = _views(data, f"data of {name!r}")
    n = len(views[0])
    step = batch_size or max(n, 1)
    truth: list[NDArray[np.bool_]] = []
    branch: dict[tuple[str, str, str], tuple[list[NDArray[np.bool_]], list[NDArray[np.bool_]]]]
    branch = {}
    vac: list[NDArray[np.bool_]] = []
    outs: list[list[torch.Tensor]] = []
    for start in range(0, n, step):
        chunk = _slice(data, slice(start, start + step))
        cviews, _ = _views(chunk, f"data of {name!r}")
        with torch.no_grad():
            out = [model(v) for v in cviews]
        outs.append(out)
        terms = [Term(o) for o in out]
        f = fn(terms[0] if len(terms) == 1 else tuple(terms), chunk)
        check_formula(f, f"the formula returned by constraint {name!r}")
        if f.batch_size is not None and f.batch_size != len(cviews[0]):
            raise ValueError(f"constraint {name!r} returned a formula over {f.batch_size} "
                             f"instances for {len(cviews[0])} rows of data")
        truth.append(np.broadcast_to(np.atleast_1d(f._truth(tol).cpu().numpy()),
                                     (len(cviews[0]),)))
        rows: list[tuple[str, str, str, NDArray[np.bool_], NDArray[np.bool_]]] = []
        v: list[NDArray[np.bool_]] = []
        _branch_rows(f, "root", tol, rows, v)
        for node, kind, lab, t, only in rows:
            acc = branch.setdefault((node, kind, lab), ([], []))
            acc[0].append(np.broadcast_to(t, (len(cviews[0]),)))
            acc[1].append(np.broadcast_to(only, (len(cviews[0]),)))
        if v:
            vac.append(np.any(np.stack(np.broadcast_arrays(*v)), 0))
    per_inst = np.concatenate(truth) if truth else np.zeros(0, dtype=bool)
    rows_out = [(name, node, kind, lab, float(np.mean(np.concatenate(t))),
                 float(np.mean(np.concatenate(o))))
                for (node, kind, lab), (t, o) in branch.items()]
    summ: dict[str, Any] = {
        "constraint": name, "n": n, "satisfied": float(np.mean(per_inst)) if n else np.nan,
        "vacuous": float(np.mean(np.concatenate(vac))) if vac else np.nan,
        "concept_accuracy": np.nan, "concept_f1": np.nan, "concept_collapse": np.nan}
    if concepts is not None:
        pred = np.concatenate([_predicted_concepts(o, n_values) for o in outs])
        true = np.asarray(concepts)
        if true.ndim == 1:
            true = true[:, None]
        n_views = len(outs[0]) if outs else 0
        if true.ndim != 2 or true.shape != pred.shape:
            raise ValueError(
                f"concepts of constraint {name!r} have shape {np.asarray(concepts).shape}, but "
                f"the model's outputs give {pred.shape[1]} concept(s) per instance for {n} "
                f"instances ({n_views} view(s)"
                + (f", {n_values} values per concept" if n_values else ", one concept each")
                + f"): expected shape ({n}, {pred.shape[1]})"
                + ("" if n_values else "; pass n_values to split an output into several "
                   "concepts"))
        if not np.issubdtype(true.dtype, np.integer):
            raise TypeError(f"concepts must be integers, got dtype {true.dtype}")
        k = n_values if n_values is not None else int(outs[0][0].reshape(
            len(outs[0][0]), -1).shape[1])
        summ.update(concept_metrics(pred, true, k))
    return rows_out, summ, per_inst
