"""Which input features does each task still depend on significantly after a merge?

For every task ``t`` the nFBST evidence of ``H0: η_j = 0`` (η the attribution statistic,
e.g. the input gradient) is computed on that task's data for the expert and for the merged
network: instance-wise evidence from the posterior draws (``evidence_value`` over the draw
axis), then the Q-GS rule (global evidence = median of the instance-wise evidence, nFBST
paper §1.7), both by :meth:`nfbst.NFBST.test` on ``NFBST.from_draws``. A feature *keeps*,
*loses* or *gains* significance when the expert's and the merged model's global evidence fall
on different sides of ``alpha``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike, NDArray

from probconstraints._progress import progress
from probconstraints._random import RandomStateLike, check_random_state_arg, seed_sequence

from .._validation import check_features, check_float, check_int
from ..posterior import PosteriorDraws
from ..significance import NFBST
from ..statistics import get_statistic
from ._state import StateLike
from .posteriors import MeanFieldPosterior

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from ..statistics._base import TargetLike

#: A model diagnosed for a task: a posterior, its draws, or a state dict (expert's spread).
Model = MeanFieldPosterior | PosteriorDraws | StateLike

CHANGES = ("kept", "lost", "gained", "absent")


@dataclass
class MergeDiagnosis:
    """Per task and feature, the global nFBST evidence of the expert and the merged model.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (task, feature): ``evidence_expert``, ``evidence_merged`` (and
        ``evidence_base``), ``significant_*``, ``change`` in {"kept", "lost", "gained",
        "absent"}, mean absolute statistic ``effect_*``, and ``relevant`` when given.
    evidence_expert, evidence_merged : ndarray of shape (T, d)
    evidence_base : ndarray of shape (T, d) or None
    alpha : float
    task_names, feature_names : list of str
    """

    table: pd.DataFrame
    evidence_expert: NDArray[np.float64]
    evidence_merged: NDArray[np.float64]
    evidence_base: NDArray[np.float64] | None
    alpha: float
    task_names: list[str]
    feature_names: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The per (task, feature) table (a copy)."""
        return self.table.copy()

    def summary(self) -> pd.DataFrame:
        """Per task: how many features were kept, lost, gained or absent.

        With ``relevant`` known also ``relevant_lost`` (truly relevant features significant
        for the expert but not after the merge), ``null_gained`` (null features that became
        significant), and the recall / false-positive counts of expert and merged model.
        """
        rows = []
        for task, g in self.table.groupby("task", sort=False):
            row = {"task": task}
            for c in CHANGES:
                row[c] = int((g["change"] == c).sum())
            if "relevant" in g:
                rel = g["relevant"].to_numpy(bool)
                se = g["significant_expert"].to_numpy(bool)
                sm = g["significant_merged"].to_numpy(bool)
                row.update(
                    relevant_lost=int((rel & se & ~sm).sum()),
                    null_gained=int((~rel & ~se & sm).sum()),
                    recall_expert=float(se[rel].mean()) if rel.any() else np.nan,
                    recall_merged=float(sm[rel].mean()) if rel.any() else np.nan,
                    false_pos_expert=int((se & ~rel).sum()),
                    false_pos_merged=int((sm & ~rel).sum()),
                )
            rows.append(row)
        return pd.DataFrame(rows)

    def plot(self, ax: Axes | None = None, title: str | None = None) -> Figure | SubFigure:
        """Heat map features × (task, expert | merged) of the evidence; returns the Figure.

        Dark cells have small evidence (significant); ``*`` marks evidence < alpha; a red
        frame on the merged cell marks a feature that lost significance, a blue frame one
        that gained it. (With ``ax`` in a ``SubFigure``, that subfigure is returned.)
        """
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        T, d = self.evidence_expert.shape
        fig: Figure | SubFigure
        M = np.empty((d, 2 * T))
        M[:, 0::2] = self.evidence_expert.T
        M[:, 1::2] = self.evidence_merged.T
        if ax is None:
            fig, ax = plt.subplots(figsize=(1.0 + 0.9 * 2 * T, 1.0 + 0.35 * d))
        else:
            fig = ax.figure
        im = ax.imshow(M, cmap="magma", vmin=0.0, vmax=1.0, aspect="auto")
        for j in range(d):
            for c in range(2 * T):
                if M[j, c] < self.alpha:
                    ax.text(c, j, "*", ha="center", va="center", color="white", fontsize=11)
        for t in range(T):
            for j in range(d):
                se = self.evidence_expert[t, j] < self.alpha
                sm = self.evidence_merged[t, j] < self.alpha
                if se != sm:
                    ax.add_patch(Rectangle(
                        (2 * t + 1 - 0.45, j - 0.45), 0.9, 0.9, fill=False, lw=2,
                        edgecolor="tab:red" if se else "tab:blue",
                    ))
        ax.set_xticks(range(2 * T))
        ax.set_xticklabels(
            [f"{n}\n{r}" for n in self.task_names for r in ("expert", "merged")], fontsize=8
        )
        ax.set_yticks(range(d))
        ax.set_yticklabels(self.feature_names, fontsize=8)
        for t in range(1, T):
            ax.axvline(2 * t - 0.5, color="white", lw=2)
        fig.colorbar(im, ax=ax, label="global evidence Ev(H0) (Q-GS median)")
        ax.set_title(title or f"evidence, * < {self.alpha:g}; red: lost, blue: gained",
                     fontsize=9)
        return fig


def _pick(model: Any, t: int, T: int, name: str) -> Any:
    if isinstance(model, (list, tuple)):
        if len(model) != T:
            raise ValueError(f"{name} must have one entry per task ({T}), got {len(model)}")
        return model[t]
    return model


def _draws_for(model: object, t: int, experts: Sequence[object], n_draws: int, seed: int,
               name: str) -> PosteriorDraws:
    """PosteriorDraws of ``model`` for task ``t`` (a state dict takes expert t's spread)."""
    if isinstance(model, PosteriorDraws):
        return model
    if isinstance(model, MeanFieldPosterior):
        return model.sample(n_draws, random_state=seed)
    if isinstance(model, Mapping):
        expert = experts[t]
        if not isinstance(expert, MeanFieldPosterior):
            raise TypeError(
                f"{name} is a state dict: its posterior spread is taken from the expert's "
                f"MeanFieldPosterior, but experts[{t}] is {type(expert).__name__}"
            )
        return expert.with_mean(model).sample(n_draws, random_state=seed)
    raise TypeError(
        f"{name} must be a MeanFieldPosterior, PosteriorDraws or state dict (or a list of "
        f"them per task), got {type(model).__name__}"
    )


def _global_evidence(draws: PosteriorDraws, X: NDArray[Any], statistic: str | Callable[..., Any],
                     target: TargetLike, bandwidth: str | float | Callable[..., Any], seed: int
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Q-GS global evidence (λ = 0.5: the median instance-wise evidence) of H0: η_j = 0 by
    :meth:`nfbst.NFBST.test`, and the mean absolute statistic over draws and rows: ``(d,)``."""
    test = NFBST.from_draws(draws, statistic=statistic, bandwidth=bandwidth, rule="quantile",
                            quantile_lambda=0.5, calibration="none", random_state=seed,
                            verbose=0)
    eta = test.statistic_samples(X, target=target)  # (S, n, d)
    ev = test.test(X, scope="global", target=target).evidence
    return ev, np.abs(eta.astype(np.float64)).mean(axis=(0, 1))


def diagnose_merge(
    base: Model | Sequence[Model] | None,
    experts: Sequence[MeanFieldPosterior | PosteriorDraws],
    merged: Model | Sequence[Model],
    data_per_task: Sequence[ArrayLike | torch.Tensor | tuple[Any, ...]], *,
    statistic: str | Callable[..., Any] = "grad", alpha: float = 0.05, n_draws: int = 200,
    targets: Sequence[TargetLike] | None = None, relevant: Sequence[ArrayLike] | None = None,
    feature_names: Sequence[str] | None = None, task_names: Sequence[str] | None = None,
    bandwidth: str | float | Callable[..., Any] = "silverman",
    random_state: RandomStateLike = 0,
    verbose: int = 0,
) -> MergeDiagnosis:
    """nFBST evidence per feature for each task's expert and the merged model, compared.

    Parameters
    ----------
    base : MeanFieldPosterior, PosteriorDraws, state dict or None
        The shared pre-trained model, evaluated as a reference (``evidence_base``); a state
        dict takes expert ``t``'s posterior spread. ``None`` skips it.
    experts : list of MeanFieldPosterior or PosteriorDraws
        The fine-tuned posterior of every task.
    merged : MeanFieldPosterior, PosteriorDraws or state dict, or a list of them per task
        The merged network. A :class:`MeanFieldPosterior` (e.g. from
        :func:`nfbst.merging.bayesian_merge`) uses its own spread; a state dict (the output
        of any merging function) is given expert ``t``'s posterior spread on task ``t``.
    data_per_task : list of array-like (n_t, d) or of (X_t, y_t) tuples
        Where each task's statistic is evaluated.
    statistic : str or callable, default "grad"
        A registered statistic (:func:`nfbst.statistics.get_statistic`) or
        ``fn(draws, X, target=None) -> (S, n, d)``.
    alpha : float, default 0.05
        A feature is significant when its global evidence is below ``alpha``.
    n_draws : int, default 200
        Posterior draws per model and task (mean-field posteriors and state dicts).
    targets : list, optional
        The output explained per task (see :func:`nfbst.statistics.gradient`). Default:
        ``None`` for single-output networks, output ``t`` for task ``t`` otherwise.
    relevant : list of array-like, optional
        Per task, the truly relevant features (boolean mask ``(d,)`` or indices); adds the
        ``relevant`` column and the counts of :meth:`MergeDiagnosis.summary`.
    feature_names, task_names : list of str, optional
    bandwidth : str or float
        KDE bandwidth of :func:`nfbst.evidence_value`.
    random_state : None, int, RandomState or Generator, default 0
        Seeds the draws; expert and merged model of a task share their normal deviates.
    verbose : int, default 0
        1 shows a progress bar over tasks (on a terminal; 2 also in logs).

    Returns
    -------
    MergeDiagnosis
        ``.table`` (DataFrame), ``.summary()``, ``.plot()``.

    Examples
    --------
    >>> import torch
    >>> from nfbst.merging import MeanFieldPosterior, task_arithmetic, diagnose_merge
    >>> def post(w):
    ...     m = {"0.weight": torch.tensor([w]), "0.bias": torch.zeros(1)}
    ...     return MeanFieldPosterior(m, {k: torch.full_like(v, 0.05) for k, v in m.items()})
    >>> e1, e2, base = post([1.0, 0.0]), post([0.0, 1.0]), post([0.0, 0.0])
    >>> merged = task_arithmetic(base.mean, [e1.mean, e2.mean], scaling=0.5)
    >>> X = torch.randn(20, 2)
    >>> diag = diagnose_merge(base, [e1, e2], merged, [X, X], n_draws=100)
    >>> diag.table["change"].tolist()     # averaging makes each task use the other feature
    ['kept', 'gained', 'gained', 'kept']
    """
    if isinstance(experts, (Mapping, MeanFieldPosterior, PosteriorDraws)) or not isinstance(
        experts, Sequence
    ) or len(experts) == 0:
        raise TypeError(
            f"experts must be a non-empty list of posteriors, got {type(experts).__name__}"
        )
    T = len(experts)
    if not isinstance(data_per_task, Sequence) or len(data_per_task) != T:
        raise ValueError(
            f"data_per_task must be a list of {T} data sets (one per expert), got "
            f"{type(data_per_task).__name__}"
        )
    alpha = check_float(alpha, "alpha", 0, 1)
    n_draws = check_int(n_draws, "n_draws", 2)
    check_int(verbose, "verbose", 0)
    check_random_state_arg(random_state)
    if not (isinstance(bandwidth, str) or callable(bandwidth)):
        check_float(bandwidth, "bandwidth", 0)
    get_statistic(statistic)  # an unknown name fails before any work
    seeds = seed_sequence(random_state).spawn(T)
    rows: list[dict[str, Any]] = []
    ev_e: list[NDArray[np.float64]] = []
    ev_m: list[NDArray[np.float64]] = []
    ev_b: list[NDArray[np.float64]] = []
    eff_e: list[NDArray[np.float64]] = []
    eff_m: list[NDArray[np.float64]] = []
    d: int | None = None
    for t in progress(range(T), verbose, desc="diagnose_merge"):
        data = data_per_task[t]
        X = data[0] if isinstance(data, tuple) else data
        X = X.detach().cpu().double().numpy() if torch.is_tensor(X) else X
        X = check_features(X, d, name=f"data_per_task[{t}]")
        d = X.shape[1]
        seed = int(seeds[t].generate_state(1)[0])
        de = _draws_for(experts[t], t, experts, n_draws, seed, f"experts[{t}]")
        dm = _draws_for(_pick(merged, t, T, "merged"), t, experts, n_draws, seed, "merged")
        if de.n_features != d:
            raise ValueError(f"data_per_task[{t}] has {d} features, experts[{t}] expects "
                             f"{de.n_features}")
        if targets is not None:
            target = _pick(list(targets), t, T, "targets")
        else:
            target = None if de.n_outputs == 1 else t
        e_exp, a_exp = _global_evidence(de, X, statistic, target, bandwidth, seed)
        e_mer, a_mer = _global_evidence(dm, X, statistic, target, bandwidth, seed)
        ev_e.append(e_exp)
        ev_m.append(e_mer)
        eff_e.append(a_exp)
        eff_m.append(a_mer)
        if base is not None:
            db = _draws_for(_pick(base, t, T, "base"), t, experts, n_draws, seed, "base")
            ev_b.append(_global_evidence(db, X, statistic, target, bandwidth, seed)[0])
    assert d is not None  # set by the first of the T >= 1 tasks
    E_exp, E_mer = np.stack(ev_e), np.stack(ev_m)
    E_base = np.stack(ev_b) if ev_b else None
    tn = list(task_names) if task_names is not None else [f"task{t}" for t in range(T)]
    fn = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(d)]
    if len(tn) != T or len(fn) != d:
        raise ValueError(f"task_names needs {T} and feature_names {d} entries, got "
                         f"{len(tn)} and {len(fn)}")
    rel = None
    if relevant is not None:
        if len(relevant) != T:
            raise ValueError(f"relevant must have one entry per task ({T}), got {len(relevant)}")
        rel = np.zeros((T, d), bool)
        for t, r in enumerate(relevant):
            ra = np.asarray(r)
            if ra.dtype == bool:
                if ra.shape != (d,):
                    raise ValueError(f"relevant[{t}] must be a mask of shape ({d},)")
                rel[t] = ra
            else:
                rel[t, ra.astype(int)] = True
    for t in range(T):
        se, sm = E_exp[t] < alpha, E_mer[t] < alpha
        for j in range(d):
            change = ("kept" if sm[j] else "lost") if se[j] else ("gained" if sm[j] else "absent")
            row: dict[str, Any] = {"task": tn[t], "feature": fn[j]}
            if E_base is not None:
                row["evidence_base"] = float(E_base[t, j])
            row.update(
                evidence_expert=float(E_exp[t, j]), evidence_merged=float(E_mer[t, j]),
                significant_expert=bool(se[j]), significant_merged=bool(sm[j]), change=change,
                effect_expert=float(eff_e[t][j]), effect_merged=float(eff_m[t][j]),
            )
            if rel is not None:
                row["relevant"] = bool(rel[t, j])
            rows.append(row)
    return MergeDiagnosis(pd.DataFrame(rows), E_exp, E_mer, E_base, float(alpha), tn, fn)
