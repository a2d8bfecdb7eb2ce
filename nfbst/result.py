"""The outcome of an nFBST test: evidence values with decisions, tables and plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._validation import check_float
from .multiple_testing import benjamini_hochberg

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class SignificanceResult:
    """FBST evidence values of "feature j does not matter" at one scope.

    The evidence value Ev(H0) = 1 − P(η ∈ tangential set | data) is small when the data
    speak against H0 (the feature matters). It is the FBST e-value of Pereira & Stern, not a
    Bayes factor, and unrelated to the Vovk/Shafer "e-values" of game-theoretic testing.

    Attributes
    ----------
    evidence : ndarray
        ``(n, d)`` for ``scope="instance"``, ``(r, d)`` for ``"local"``, ``(d,)`` for
        ``"global"``.
    scope : str
    feature_names : list of str
    statistic : str
        Name of the attribution statistic.
    statistic_mean, statistic_sd : ndarray
        Posterior summaries of the statistic, same shape as ``evidence``: per instance its
        posterior mean and sd; per region or globally, for the default rule ``"mean"`` the
        posterior mean and sd of the statistic averaged over the rows, for the Q-GS rule
        (``"quantile"``) the mean over the rows of |posterior mean| and of the posterior sd,
        for the aggregated rule the posterior mean and sd of the mean squared statistic.
        ``statistic_labels`` names them.
    correction : None or "bh"
        Benjamini–Hochberg across features (per row) when deciding significance.
    region_names : list of str, optional
        Row labels for ``scope="local"``.
    details : dict
        ``n_draws``, ``n_rows``, ``rule``; with the CRT ``pvalue_mc_sd`` and its
        settings; ``evidence_mc_sd`` (the bootstrap sd of the evidence over the posterior
        draws: global and local scopes, rules "mean" and "aggregate"); ``evidence_upper``
        (the largest evidence the S draws cannot tell apart from the one reported, 95 %);
        ``groups`` (name -> columns) when groups were tested; ``not_testable``
        (name -> reason) for features or groups with NaN values.
    p_value : ndarray, optional
        Conditional-randomization p-values (``NFBST(calibration="crt")``), same shape as
        ``evidence``; when present, :meth:`significant` decides on them, and
        ``details["pvalue_mc_sd"]`` holds their Monte Carlo sd.
    """

    evidence: NDArray[np.float64]
    scope: str
    feature_names: list[str]
    statistic: str
    statistic_mean: NDArray[np.float64]
    statistic_sd: NDArray[np.float64]
    correction: str | None = None
    alpha: float = 0.05
    region_names: list[str] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    statistic_labels: tuple[str, str] = ("statistic_mean", "statistic_sd")
    p_value: NDArray[np.float64] | None = None

    @property
    def not_testable(self) -> dict[str, str]:
        """Features (or groups) that could not be tested, with the reason (NaN values)."""
        return dict(self.details.get("not_testable", {}))

    @property
    def decision_values(self) -> NDArray[np.float64]:
        """What decisions are taken on: the CRT p-values if present, else the evidence."""
        return self.evidence if self.p_value is None else self.p_value

    def adjusted_evidence(self) -> NDArray[np.float64]:
        """Decision values (p-values if calibrated, else evidence) after the correction
        across features (if any)."""
        if self.correction is None:
            return self.decision_values
        if self.correction == "bh":
            return _bh_finite(self.decision_values, self.alpha)[0]
        raise ValueError(f"correction must be None or 'bh', got {self.correction!r}")

    def significant(self, alpha: float | None = None) -> NDArray[np.bool_]:
        """Boolean array: (adjusted) p-value, or evidence when uncalibrated, < alpha, i.e.
        H0 "no effect" rejected."""
        alpha = check_float(self.alpha if alpha is None else alpha, "alpha", 0, 1)
        if self.correction == "bh":
            return _bh_finite(self.decision_values, alpha)[1]
        return self.adjusted_evidence() < alpha

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """A table: one row per feature (global) or per (row, feature) otherwise."""
        alpha = self.alpha if alpha is None else alpha
        sig = self.significant(alpha)
        cols: dict[str, np.ndarray] = {
            "evidence": self.evidence,
            self.statistic_labels[0]: self.statistic_mean,
            self.statistic_labels[1]: self.statistic_sd,
        }
        if self.p_value is not None:
            cols["p_value"] = self.p_value
            cols["p_value_mc_sd"] = np.broadcast_to(
                self.details.get("pvalue_mc_sd", np.nan), self.p_value.shape)
        if self.correction is not None:
            adjusted = "adjusted_p_value" if self.p_value is not None else "adjusted_evidence"
            cols[adjusted] = self.adjusted_evidence()
        cols[f"significant@{alpha:g}"] = sig
        for key in ("evidence_mc_sd", "evidence_upper"):
            if key in self.details:
                cols[key] = np.broadcast_to(self.details[key], self.evidence.shape)
        untestable = self.details.get("not_testable")
        if untestable:
            note = np.array([untestable.get(f, "") for f in self.feature_names], dtype=object)
            cols["note"] = np.broadcast_to(note, self.evidence.shape)
        if self.evidence.ndim == 1:
            df = pd.DataFrame(cols, index=pd.Index(self.feature_names, name="feature"))
            return df.reset_index()
        rows: list[str] | list[int] = self.region_names or list(range(self.evidence.shape[0]))
        index = pd.MultiIndex.from_product(
            [rows, self.feature_names], names=["region" if self.scope == "local" else "row",
                                               "feature"]
        )
        df = pd.DataFrame({k: np.asarray(v).ravel() for k, v in cols.items()}, index=index)
        return df.reset_index()

    def summary(self, alpha: float | None = None) -> str:
        """A few lines of text: scope, statistic, and the significant features."""
        alpha = self.alpha if alpha is None else alpha
        sig = self.significant(alpha)
        lines = [
            f"nFBST ({self.statistic} statistic), scope={self.scope}, alpha={alpha:g}"
            + (", CRT p-values" if self.p_value is not None else ", evidence values")
            + (", Benjamini-Hochberg across features" if self.correction == "bh" else ""),
        ]
        if self.evidence.ndim == 1:
            names = [f for f, s in zip(self.feature_names, sig) if s]
            lines.append(f"significant features ({len(names)}/{len(sig)}): {', '.join(names)}")
        else:
            rate = sig.mean(0)
            lines.append("fraction of rows significant per feature:")
            lines += [f"  {f}: {r:.3f}" for f, r in zip(self.feature_names, rate)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"SignificanceResult(scope={self.scope!r}, statistic={self.statistic!r}, "
            f"evidence shape={self.evidence.shape})"
        )

    def plot(self, ax: Axes | None = None, alpha: float | None = None) -> Axes:
        """Decision values per feature with the alpha line; returns the matplotlib ``Axes``.

        Global: a bar and a dot per feature (red when significant), so values of exactly 0
        — the most significant — stay visible. Local: one row of dots per region, labelled.
        Instance: a box plot per feature over the rows. The figure is at most 14 inches wide;
        with many features only every k-th name is written.
        """
        import matplotlib.pyplot as plt

        alpha = self.alpha if alpha is None else alpha
        d = len(self.feature_names)
        if ax is None:
            _, ax = plt.subplots(figsize=(min(14.0, max(4.0, 0.5 * d + 2)), 3.5))
        x = np.arange(d)
        ev = self.adjusted_evidence()
        if ev.ndim == 1:
            sig = self.significant(alpha)
            colors = np.where(sig, "tab:red", "tab:gray")
            ax.bar(x, ev, color=colors, alpha=0.5)
            ax.scatter(x, ev, c=colors, s=18, zorder=3)
        elif self.scope == "local":
            names = self.region_names or [f"region{i}" for i in range(ev.shape[0])]
            offsets = np.linspace(-0.25, 0.25, ev.shape[0]) if ev.shape[0] > 1 else [0.0]
            for row, name, off in zip(ev, names, offsets):
                ax.plot(x + off, row, "o", ms=4, label=str(name))
        else:
            ax.boxplot(ev, positions=x, widths=0.6, showfliers=False)
        ax.axhline(alpha, color="tab:red", ls="--", lw=1, label=f"alpha = {alpha:g}")
        step = max(1, int(np.ceil(d / 40)))
        ax.set_xticks(x[::step], list(self.feature_names)[::step],
                      rotation=45 if d > 10 else 0)
        ax.set_ylim(-0.03, 1.03)
        kind = "p-value (CRT)" if self.p_value is not None else "evidence"
        label = f"adjusted {kind}" if self.correction else (
            kind if self.p_value is not None else "evidence Ev(H0)")
        ax.set_ylabel(label)
        ax.set_title(f"nFBST, {self.statistic} statistic, {self.scope} scope")
        ax.legend(loc="upper left", fontsize="small")
        return ax


def _bh_finite(values: NDArray[np.float64], alpha: float
               ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Benjamini–Hochberg along the last axis over the finite values only (NaN: untested)."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if finite.all():
        return benjamini_hochberg(values, alpha=alpha, axis=-1)
    adjusted = np.full(values.shape, np.nan)
    reject = np.zeros(values.shape, dtype=bool)
    for index in np.ndindex(values.shape[:-1]):
        keep = finite[index]
        if keep.any():
            a, r = benjamini_hochberg(values[index][keep], alpha=alpha, axis=-1)
            adjusted[index + (keep,)] = a
            reject[index + (keep,)] = r
    return adjusted, reject
