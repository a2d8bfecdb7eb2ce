"""Clustering-based modality information: I(A;T), I(V;T), I(A,V;T), I(A;V), co-information, PID.

Continuous audio and video features are quantised by k-means into discrete units (the
"clustering-based approach" of Chen et al. 2024, arXiv:2409.19575, whose details are not
public; here k is swept so that the dependence of every quantity on the codebook size is
visible). Mutual informations use the discrete estimators of :mod:`infotheory.discrete`
(Miller-Madow by default); the PID atoms use the relative-frequency table of (A, V, T).
Inputs already discrete (1-D integer or string labels) are used as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from probconstraints._progress import progress
from probconstraints._random import RandomStateLike, check_random_state_arg
from probconstraints._validation import check_choice, check_int, check_verbose

from .._validation import check_continuous, check_labels, check_n_jobs, check_same_length
from ..decomposition import (
    PID_MEASURES,
    PIDResult,
    PIDSolverOptions,
    co_information,
    partial_information_decomposition,
)
from ..discrete import discrete_entropy, discrete_mutual_information, encode_labels

__all__ = ["ModalityAnalysis", "discretize", "modality_information"]

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def discretize(X: ArrayLike, n_clusters: int, *, random_state: RandomStateLike = None,
               n_init: int = 1, standardize: bool = True, max_fit_samples: int = 20000,
               n_jobs: int | None = None) -> np.ndarray:
    """Quantise feature vectors into ``n_clusters`` k-means units.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Continuous features (finite).
    n_clusters : int
        Codebook size k.
    random_state : None, int, RandomState or Generator
        Seed of the k-means initialisation and of the fitting subsample.
    n_init : int
        k-means restarts.
    standardize : bool
        Scale each feature to unit variance first.
    max_fit_samples : int
        Fit the codebook on at most this many rows (drawn at random), then assign all rows.
    n_jobs : int or None, default=None
        Threads of the k-means BLAS/OpenMP pools: None means 1 (oversubscribed cores slow
        k-means down many-fold), -1 all cores.

    Returns
    -------
    ndarray of shape (n,), int
        Unit index of each row.

    Examples
    --------
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2)) * 10]
    >>> len(set(discretize(X, 2, random_state=0)))
    2
    """
    data = check_continuous(X, "X")
    n_clusters = check_int(n_clusters, "n_clusters", 1, len(data))
    if standardize:
        data = StandardScaler().fit_transform(data)
    check_random_state_arg(random_state)
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(2**31 - 1))
    rng = np.random.default_rng(random_state)
    fit = data if len(data) <= max_fit_samples else data[rng.choice(len(data),
                                                                    max_fit_samples, False)]
    seed = int(rng.integers(2**31 - 1))
    with threadpool_limits(limits=check_n_jobs(n_jobs)):
        km = KMeans(n_clusters=int(n_clusters), n_init=n_init, random_state=seed).fit(fit)
        labels: np.ndarray = km.predict(data)
        return labels


def _is_labels(x: ArrayLike) -> bool:
    arr = np.asarray(x)
    return arr.ndim == 1 and arr.dtype.kind in "iubUSO"


@dataclass
class ModalityAnalysis:
    """Result of :func:`modality_information`.

    Attributes
    ----------
    table : DataFrame
        One row per codebook size: ``k``, ``H(T)``, ``I(A;T)``, ``I(V;T)``, ``I(A,V;T)``,
        ``I(A;V)``, ``co-information`` (estimator ``method``) and, per PID measure m,
        ``m:redundancy``, ``m:unique A``, ``m:unique V``, ``m:synergy`` (plug-in table).
    pids : dict
        (k, measure) -> :class:`~infotheory.decomposition.PIDResult`.
    names : (str, str, str)
        Names of the audio, video and text streams.
    unit : str
    method : str
    """

    table: pd.DataFrame
    pids: dict[tuple[int | str, str], PIDResult] = field(default_factory=dict)
    names: tuple[str, str, str] = ("audio", "video", "text")
    unit: str = "nats"
    method: str = "miller_madow"

    def pid(self, k: int | str | None = None, measure: str | None = None) -> PIDResult:
        """The PID at codebook size ``k`` (default the last of the sweep) for ``measure``
        (default the first in alphabetical order)."""
        measures = sorted({key[1] for key in self.pids})
        if not measures:
            raise ValueError("no PID was computed (pid_measures was empty)")
        k = self.table["k"].iloc[-1] if k is None else k
        measure = measures[0] if measure is None else measure
        if (k, measure) not in self.pids:
            raise ValueError(f"(k, measure) must be one of {sorted(self.pids, key=str)}; "
                             f"got {(k, measure)!r}")
        return self.pids[(k, measure)]

    def plot(self, measure: str | None = None) -> Figure:
        """Draw the sweep: the informations against the codebook size k and, when a PID was
        computed, its atoms against k and the Venn-style diagram at the last k.

        Parameters
        ----------
        measure : str, optional
            PID measure to draw (default the first in alphabetical order of those computed).

        Returns
        -------
        matplotlib.figure.Figure
            One panel without PID, three with it.

        Examples
        --------
        >>> t = np.arange(200) % 4
        >>> len(modality_information(t, t // 2, t).plot().axes)
        3
        """
        import matplotlib.pyplot as plt

        t = self.table
        na, nv, nt = self.names
        ks = [str(k) for k in t["k"]]
        has_pid = bool(self.pids)
        # drawn at the size it is shown (a 10-inch figure fits a documentation page unscaled),
        # so that every text is >= 9 pt there; legends sit below their panels
        fig, axes = plt.subplots(1, 3 if has_pid else 1, figsize=(10.5 if has_pid else 4.5, 4.6),
                                 squeeze=False)
        ax = axes[0, 0]
        series = {f"I({na};{nt})": "I(A;T)", f"I({nv};{nt})": "I(V;T)",
                  f"I({na},{nv};{nt})": "I(A,V;T)", f"I({na};{nv})": "I(A;V)",
                  "co-information": "co-information"}
        for label, col in series.items():
            ax.plot(ks, t[col], marker="o", label=label)
        ax.axhline(t["H(T)"].iloc[0], color="k", ls=":", label=f"H({nt})")
        ax.set_xlabel("k-means units per modality")
        ax.set_ylabel(f"information ({self.unit})")
        ax.legend(fontsize=9, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  frameon=False)
        ax.set_title(f"estimator: {self.method}", fontsize=10)
        if has_pid:
            measure = measure or sorted({m for _, m in self.pids})[0]
            parts = ["redundancy", "unique A", "unique V", "synergy"]
            names = ["redundancy", f"unique {na}", f"unique {nv}", "synergy"]
            colors = ["#7b68ee", "#e4572e", "#29b6f6", "#76b041"]
            bottom = np.zeros(len(t))
            ax = axes[0, 1]
            for part, name, c in zip(parts, names, colors):
                vals = t[f"{measure}:{part}"].to_numpy(dtype=float)
                ax.bar(ks, vals, bottom=bottom, color=c, label=name)
                bottom += vals
            ax.set_xlabel("k-means units per modality")
            ax.set_ylabel(f"I({na},{nv};{nt}) ({self.unit}, plug-in)")
            ax.set_title(f"PID [{measure}]", fontsize=10)
            ax.legend(fontsize=9, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                      frameon=False)
            self.pid(t["k"].iloc[-1], measure).plot(ax=axes[0, 2], kind="venn")
            axes[0, 2].set_title(f"k = {ks[-1]}, PID [{measure}]", fontsize=10)
        fig.tight_layout()
        return fig


def modality_information(audio: ArrayLike, video: ArrayLike, text: ArrayLike,
                         n_clusters: int | Iterable[int] = (4, 8, 16, 32), *,
                         method: str = "miller_madow", pid_measures: Sequence[str] = ("imin",),
                         base: float | None = None,
                         names: tuple[str, str, str] = ("audio", "video", "text"),
                         random_state: RandomStateLike = None, n_init: int = 1,
                         n_jobs: int | None = None, pid_kwargs: PIDSolverOptions | None = None,
                         n_shuffles: int = 0, verbose: int = 0) -> ModalityAnalysis:
    """Information that audio and video units carry about text units, over a k sweep.

    Parameters
    ----------
    audio, video : array-like of shape (n, d) or (n,)
        Continuous features (quantised by k-means for every k) or 1-D discrete labels.
    text : array-like of shape (n,)
        Text units (phonemes, visemes, characters, words...) aligned with the frames.
    n_clusters : int or sequence of int
        Codebook sizes k (the same for audio and video).
    method : {"plugin", "miller_madow", "james_stein", "nsb"}
        Discrete estimator of the entropies and mutual informations.
    pid_measures : sequence of {"imin", "broja", "mmi"}
        PID measures to compute on the plug-in (A, V, T) table ( () to skip).
    base : float, optional
        Logarithm base; None for nats, 2 for bits.
    names : (str, str, str)
        Display names.
    random_state : int or None
        Seed of the k-means runs.
    n_init : int
        k-means restarts.
    n_jobs : int or None, default=None
        k-means threads (see :func:`discretize`).
    pid_kwargs : dict, optional
        Extra arguments of :func:`~infotheory.decomposition.pid_pmf` (BROJA ``tol``,
        ``max_iter``); BROJA on 64 x 64 x 40 tables takes tens of seconds.
    n_shuffles : int
        If > 0, also estimate the text MIs after randomly permuting the text (averaged over
        ``n_shuffles`` permutations): columns ``null I(A;T)``, ``null I(V;T)``,
        ``null I(A,V;T)`` (estimator ``method``) and ``null plug-in I(A,V;T)``. The true
        values are 0, so they show the estimator's bias at each k; the plug-in one is the
        bias that inflates the PID atoms (mostly synergy).
    verbose : int
        1 shows a progress bar over k on a terminal, 2 also in logs
        (``probconstraints._progress``).

    Returns
    -------
    ModalityAnalysis

    Examples
    --------
    >>> from infotheory.audiovisual import make_av_corpus
    >>> c = make_av_corpus(3000, random_state=0)
    >>> res = modality_information(c.audio, c.video, c.phonemes, n_clusters=[8], random_state=0)
    >>> row = res.table.iloc[0]
    >>> bool(row["I(A;T)"] > row["I(V;T)"])
    True
    """
    labels = check_labels(text, "text")
    a_given, v_given = _is_labels(audio), _is_labels(video)
    a = check_labels(audio, "audio") if a_given else check_continuous(audio, "audio")
    v = check_labels(video, "video") if v_given else check_continuous(video, "video")
    check_same_length(audio=a, video=v, text=labels)
    for m in pid_measures:
        check_choice(m, "each of pid_measures", PID_MEASURES)
    verbose = check_verbose(verbose)
    ks: list[int | str] = ([n_clusters] if isinstance(n_clusters, int | np.integer)
                           else list(n_clusters))
    if a_given and v_given:
        ks = ["given"]
    rng = np.random.default_rng(random_state)
    seeds = rng.integers(2**31 - 1, size=(len(ks), 2))
    log_b = 1.0 if base is None else float(np.log(base))
    unit = "nats" if base is None else ("bits" if base == 2 else f"log base {base:g}")
    na, nv, nt = names
    rows: list[dict[str, object]] = []
    pids: dict[tuple[int | str, str], PIDResult] = {}
    h_t = discrete_entropy(labels, method=method) / log_b
    for i, k in enumerate(progress(ks, verbose=verbose, desc="codebook sizes")):
        ua = a if a_given else discretize(a, int(k), random_state=int(seeds[i, 0]),
                                          n_init=n_init, n_jobs=n_jobs)
        uv = v if v_given else discretize(v, int(k), random_state=int(seeds[i, 1]),
                                          n_init=n_init, n_jobs=n_jobs)
        joint = np.column_stack([encode_labels(ua), encode_labels(uv)])
        row: dict[str, object] = {
            "k": k, "H(T)": h_t,
            "I(A;T)": discrete_mutual_information(ua, labels, method=method) / log_b,
            "I(V;T)": discrete_mutual_information(uv, labels, method=method) / log_b,
            "I(A,V;T)": discrete_mutual_information(joint, labels, method=method) / log_b,
            "I(A;V)": discrete_mutual_information(ua, uv, method=method) / log_b,
            "co-information": co_information(ua, uv, labels, method=method) / log_b}
        if n_shuffles > 0:
            nulls = np.zeros(4)
            for _ in range(n_shuffles):
                perm = labels[rng.permutation(len(labels))]
                nulls += [discrete_mutual_information(ua, perm, method=method),
                          discrete_mutual_information(uv, perm, method=method),
                          discrete_mutual_information(joint, perm, method=method),
                          discrete_mutual_information(joint, perm, method="plugin")]
            nulls /= n_shuffles * log_b
            row.update(dict(zip(["null I(A;T)", "null I(V;T)", "null I(A,V;T)",
                                 "null plug-in I(A,V;T)"], nulls)))
        for m in pid_measures:
            r = partial_information_decomposition(ua, uv, labels, measure=m, base=base,
                                                  source_names=(na, nv), target_name=nt,
                                                  **(pid_kwargs or {}))
            pids[(k, m)] = r
            row.update({f"{m}:redundancy": r.redundancy, f"{m}:unique A": r.unique_a,
                        f"{m}:unique V": r.unique_v, f"{m}:synergy": r.synergy})
        rows.append(row)
    return ModalityAnalysis(pd.DataFrame(rows), pids, (na, nv, nt), unit, method)

