"""The outcome of an nFBST test: evidence values with decisions, tables and plots.

One value decides per feature: the CRT p-value when the test was calibrated
(``NFBST(calibration="crt")``, the default), else the FBST evidence, which is then a
descriptive summary and not a calibrated test. :meth:`SignificanceResult.to_frame` names it
in its ``decided_by`` column, :meth:`~SignificanceResult.summary` in its first line and
:meth:`~SignificanceResult.plot` on its axis.

A CRT p-value with K randomizations is a multiple of 1 / (K + 1), so 1 / (K + 1) is the
smallest value it takes: it is reported as "p <= 1/(K+1)" (``p_value_at_floor``), without a
Monte Carlo sd, since the binomial sd sqrt(p (1 − p) / K) describes an estimate inside
(0, 1), not a value no randomized copy reached.
"""

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

#: When one of evidence and p-value is significant and the other is at least this large,
#: :meth:`SignificanceResult.summary` explains the disagreement in one line (0.25: five times
#: the default alpha, not even weak evidence against H0 by the other measure).
DISAGREEMENT_LEVEL = 0.25

#: At most this many names in the summary's list of features not significant, and
#: disagreement lines; beyond, a count.
_MAX_NAMED = 20

_STATISTIC_WORDS = {"grad": "gradient", "gradient": "gradient",
                    "input_x_gradient": "input x gradient",
                    "integrated_gradients": "integrated-gradients", "deeplift": "DeepLIFT",
                    "lime": "LIME", "lrp": "LRP"}


@dataclass
class SignificanceResult:
    """FBST evidence values (and CRT p-values) of "feature j does not matter" at one scope.

    The evidence value Ev(H0) = 1 − P(η ∈ tangential set | data) is small when the data
    speak against H0 (the feature matters). It is the FBST e-value of Pereira & Stern, not a
    Bayes factor, and unrelated to the Vovk/Shafer "e-values" of game-theoretic testing.
    When CRT p-values are present they decide (:attr:`decided_by`); the evidence is then a
    posterior summary shown beside them, not a p-value.

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
        ``n_draws``, ``n_rows``, ``rule``; with the CRT ``n_randomizations`` (K),
        ``crt_statistic``, ``pvalue_mc_sd`` and ``pvalue_resolution`` (1 / (K + 1));
        ``evidence_mc_sd`` (the bootstrap sd of the evidence over the posterior
        draws: global and local scopes, rules "mean" and "aggregate"); ``evidence_upper``
        (the largest evidence the S draws cannot tell apart from the one reported, 95 %);
        ``groups`` (name -> columns) when groups were tested; ``conditional_fit``
        (name -> why) for features whose model of ``x_j | x_-j`` fits badly (their p-values may
        be anti-conservative; the ``note`` column of :meth:`to_frame`); ``not_testable``
        (name -> reason) for features or groups with NaN values. Every key is optional
        here: a result built by hand reports what its details hold.
    p_value : ndarray, optional
        Conditional-randomization p-values (``NFBST(calibration="crt")``), same shape as
        ``evidence``; when present, :meth:`significant` decides on them, and
        ``details["pvalue_mc_sd"]`` holds their Monte Carlo sd.

    Examples
    --------
    >>> import numpy as np
    >>> from nfbst import SignificanceResult
    >>> res = SignificanceResult(
    ...     evidence=np.array([0.40, 0.0, 0.9]), scope="global", feature_names=["a", "b", "c"],
    ...     statistic="grad", statistic_mean=np.array([0.1, 2.0, 0.0]),
    ...     statistic_sd=np.ones(3), p_value=np.array([1 / 101, 0.03, 0.7]),
    ...     details={"n_randomizations": 100, "rule": "mean", "crt_statistic": "loss",
    ...              "pvalue_mc_sd": np.array([0.0099, 0.017, 0.046])})
    >>> res.decided_by
    'p_value'
    >>> res.significant().tolist()
    [True, True, False]
    >>> res.to_frame()[["feature", "p_value_mc_sd", "p_value_at_floor"]]
      feature  p_value_mc_sd  p_value_at_floor
    0       a            NaN              True
    1       b          0.017             False
    2       c          0.046             False
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

    @property
    def decided_by(self) -> str:
        """The column of :meth:`to_frame` that :meth:`significant` compares with alpha:
        ``"p_value"`` or ``"adjusted_p_value"`` (Benjamini–Hochberg) when CRT p-values are
        present, else ``"evidence"`` or ``"adjusted_evidence"``."""
        kind = "evidence" if self.p_value is None else "p_value"
        return kind if self.correction is None else f"adjusted_{kind}"

    @property
    def n_randomizations(self) -> int | None:
        """K, the CRT's randomizations (None without p-values or when details lack it)."""
        if self.p_value is None:
            return None
        K = self.details.get("n_randomizations")
        if K is None and self.details.get("pvalue_resolution"):
            K = round(1.0 / float(self.details["pvalue_resolution"])) - 1
        return None if K is None else int(K)

    @property
    def p_value_floor(self) -> float | None:
        """1 / (K + 1), the smallest p-value K randomizations can give (None if unknown)."""
        K = self.n_randomizations
        return None if K is None else 1.0 / (K + 1)

    def _at_floor(self) -> NDArray[np.bool_] | None:
        """Where the p-value is 1 / (K + 1) (False where NaN); None if K is unknown."""
        floor = self.p_value_floor
        if floor is None or self.p_value is None:
            return None
        p = np.asarray(self.p_value, dtype=np.float64)
        return np.asarray(np.isfinite(p) & (p <= floor * (1 + 1e-9)))

    def _p_value_mc_sd(self) -> NDArray[np.float64]:
        """Monte Carlo sd of the p-values from details (NaN if absent, and at the floor)."""
        assert self.p_value is not None
        sd = np.array(np.broadcast_to(self.details.get("pvalue_mc_sd", np.nan),
                                      self.p_value.shape), dtype=np.float64)
        at_floor = self._at_floor()
        if at_floor is not None:
            sd[at_floor] = np.nan
        return sd

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
        """A table: one row per feature (global) or per (row or region, feature) otherwise.

        The columns that decide come first: ``p_value`` (CRT; or ``evidence`` when
        uncalibrated), its Monte Carlo error, ``adjusted_*`` under a correction,
        ``significant@<alpha>`` and ``decided_by``, the name of the column compared with
        alpha (:attr:`decided_by`). Then, with p-values, the evidence as the posterior
        summary it is, and the posterior summaries of the statistic.

        With p-values and a known K, ``p_value_at_floor`` is True where the p-value is
        1 / (K + 1), the smallest K randomizations give: the p-value is then only known to be
        at most that, and ``p_value_mc_sd`` is NaN there (the binomial sd sqrt(p (1 − p) / K)
        does not describe a value no randomized copy reached); more randomizations give finer
        p-values.

        Parameters
        ----------
        alpha : float, optional
            Level of the ``significant@<alpha>`` column (default: the result's ``alpha``).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import numpy as np
        >>> from nfbst import SignificanceResult
        >>> res = SignificanceResult(
        ...     evidence=np.array([0.04, 0.6]), scope="global", feature_names=["a", "b"],
        ...     statistic="grad", statistic_mean=np.array([1.0, 0.1]),
        ...     statistic_sd=np.array([0.4, 0.3]))
        >>> res.to_frame()[["feature", "evidence", "significant@0.05", "decided_by"]]
          feature  evidence  significant@0.05 decided_by
        0       a      0.04              True   evidence
        1       b      0.60             False   evidence
        """
        alpha = self.alpha if alpha is None else alpha
        sig = self.significant(alpha)
        shape = self.evidence.shape
        evidence_cols: dict[str, Any] = {"evidence": self.evidence}
        for key in ("evidence_mc_sd", "evidence_upper"):
            if key in self.details:
                evidence_cols[key] = np.broadcast_to(self.details[key], shape)
        cols: dict[str, Any] = {}
        if self.p_value is not None:
            cols["p_value"] = self.p_value
            cols["p_value_mc_sd"] = self._p_value_mc_sd()
            at_floor = self._at_floor()
            if at_floor is not None:
                cols["p_value_at_floor"] = at_floor
        else:
            cols.update(evidence_cols)
        if self.correction is not None:
            cols[self.decided_by] = self.adjusted_evidence()
        cols[f"significant@{alpha:g}"] = sig
        cols["decided_by"] = np.full(shape, self.decided_by, dtype=object)
        if self.p_value is not None:
            cols.update(evidence_cols)
        cols[self.statistic_labels[0]] = self.statistic_mean
        cols[self.statistic_labels[1]] = self.statistic_sd
        notes = {**self.details.get("conditional_fit", {}),
                 **self.details.get("not_testable", {})}
        if notes:
            note = np.array([notes.get(f, "") for f in self.feature_names], dtype=object)
            cols["note"] = np.broadcast_to(note, shape)
        if self.evidence.ndim == 1:
            df = pd.DataFrame(cols, index=pd.Index(self.feature_names, name="feature"))
            return df.reset_index()
        rows: list[str] | list[int] = self.region_names or list(range(shape[0]))
        index = pd.MultiIndex.from_product(
            [rows, self.feature_names], names=["region" if self.scope == "local" else "row",
                                               "feature"]
        )
        df = pd.DataFrame({k: np.asarray(v).ravel() for k, v in cols.items()}, index=index)
        return df.reset_index()

    def to_string(self, alpha: float | None = None) -> str:
        """:meth:`to_frame` as text for reading: a p-value at the floor is written
        ``<=0.0099`` (its sd ``-``), the other numbers with 4 significant digits.

        The ``p_value_at_floor`` column is left out: the ``<=`` says it.

        Parameters
        ----------
        alpha : float, optional
            Level of the ``significant@<alpha>`` column (default: the result's ``alpha``).

        Returns
        -------
        str

        Examples
        --------
        >>> import numpy as np
        >>> from nfbst import SignificanceResult
        >>> res = SignificanceResult(
        ...     evidence=np.array([0.29, 0.7]), scope="global", feature_names=["bp", "s6"],
        ...     statistic="grad", statistic_mean=np.array([120.0, 30.0]),
        ...     statistic_sd=np.array([110.0, 114.0]), p_value=np.array([1 / 101, 0.61]),
        ...     details={"n_randomizations": 100, "pvalue_mc_sd": np.array([0.0099, 0.049])},
        ...     statistic_labels=("mean", "sd"))
        >>> print(res.to_string())
        feature  p_value p_value_mc_sd  significant@0.05 decided_by evidence mean  sd
             bp <=0.0099             -              True    p_value     0.29  120 110
             s6     0.61         0.049             False    p_value      0.7   30 114
        """
        frame = self.to_frame(alpha)
        at_floor = frame.pop("p_value_at_floor") if "p_value_at_floor" in frame else None
        for name in frame.columns:
            if frame[name].dtype.kind == "f":
                frame[name] = [_format_number(v) for v in frame[name]]
        if at_floor is not None and at_floor.any():
            floor = self.p_value_floor
            assert floor is not None
            frame.loc[at_floor.to_numpy(), "p_value"] = f"<={floor:.2g}"
        return frame.to_string(index=False)

    def summary(self, alpha: float | None = None) -> str:
        """A few lines of text: what decides, the settings, and the significant features.

        The first line says which value decides: the CRT p-values (a calibrated test; the
        evidence is then a posterior summary, not a p-value) or the FBST evidence
        (descriptive, not a calibrated test). Globally each significant feature is listed
        with its p-value, written ``p <= 1/(K+1)`` at the smallest value K randomizations
        give and ``p = 0.0231 (Monte Carlo sd 0.015)`` otherwise (p-values with 3 significant
        digits, so that none rounds across alpha), and its evidence. Where
        one of evidence and p-value is significant and the other is at least
        :data:`DISAGREEMENT_LEVEL`, one line says why the two can differ, for the evidence
        rule and CRT statistic used (``details["rule"]``, ``details["crt_statistic"]``).

        Parameters
        ----------
        alpha : float, optional
            Level of the decisions (default: the result's ``alpha``).

        Returns
        -------
        str

        Examples
        --------
        >>> import numpy as np
        >>> from nfbst import SignificanceResult
        >>> res = SignificanceResult(
        ...     evidence=np.array([0.38, 0.0, 0.5]), scope="global",
        ...     feature_names=["x0", "x1", "x2"], statistic="grad",
        ...     statistic_mean=np.array([0.3, 2.0, 0.1]), statistic_sd=np.ones(3),
        ...     p_value=np.array([1 / 101, 0.03, 0.7]),
        ...     details={"n_randomizations": 100, "rule": "mean", "crt_statistic": "loss",
        ...              "pvalue_mc_sd": np.array([0.0099, 0.017, 0.046])})
        >>> print(res.summary())  # doctest: +NORMALIZE_WHITESPACE
        decisions on CRT p-values (calibrated test); evidence values are posterior summaries,
        not p-values
        nFBST (grad statistic, mean rule, CRT on the prediction loss, K = 100),
        scope=global, alpha=0.05
        significant features (2/3):
          x0: p <= 0.0099 (the smallest value 100 randomizations give); evidence 0.38
          x1: p = 0.03 (Monte Carlo sd 0.017); evidence 0
        not significant: x2
        raise n_randomizations (K) for p-values finer than 0.0099
        evidence and p-value disagree:
          x0 (significant, evidence 0.38): evidence is a posterior summary of the gradient
          averaged over the rows, whose posterior mean is 0.3 sd from 0; a non-monotone
          effect or an interaction can average to about 0 while the CRT's prediction loss
          sees it
        """
        alpha = check_float(self.alpha if alpha is None else alpha, "alpha", 0, 1)
        sig = self.significant(alpha)
        calibrated = self.p_value is not None
        bh = self.correction == "bh"
        if calibrated:
            lines = [("decisions on Benjamini-Hochberg adjusted CRT p-values" if bh else
                      "decisions on CRT p-values")
                     + " (calibrated test); evidence values are posterior summaries, "
                     "not p-values"]
        else:
            lines = [("decisions on Benjamini-Hochberg adjusted FBST evidence" if bh else
                      "decisions on FBST evidence")
                     + " (descriptive; not a calibrated test)"]
        rule, crt_stat, K = (self.details.get("rule"), self.details.get("crt_statistic"),
                             self.n_randomizations)
        settings = [f"{self.statistic} statistic"]
        settings += [f"{rule} rule"] if rule else []
        settings += [_CRT_WORDS.get(crt_stat, f"CRT on the {crt_stat}")] if (
            calibrated and crt_stat) else []
        settings += [f"K = {K}"] if K is not None else []
        lines.append(f"nFBST ({', '.join(settings)}), scope={self.scope}, alpha={alpha:g}")
        floor = self.p_value_floor
        at_floor = self._at_floor()
        if floor is not None and floor >= alpha:
            lines.append(f"no p-value can be below alpha={alpha:g}: the smallest that "
                         f"{K} randomizations give is {floor:.2g}; raise n_randomizations "
                         f"to at least {min_randomizations(alpha)}")
        if self.evidence.ndim == 1:
            lines += self._global_lines(sig)
        else:
            lines += self._rate_lines(sig)
        if at_floor is not None and at_floor.any() and floor is not None and floor < alpha:
            lines.append(f"raise n_randomizations (K) for p-values finer than {floor:.2g}")
        disagree = self._disagreement_lines(sig, alpha)
        if disagree:
            lines.append("evidence and p-value disagree:")
            lines += disagree
        return "\n".join(lines)

    def _describe_p(self, j: int | tuple[int, ...]) -> str:
        """``p <= 0.0099 (...)`` or ``p = 0.023 (Monte Carlo sd 0.015)`` for one value."""
        assert self.p_value is not None
        p = float(self.p_value[j])
        at_floor, floor = self._at_floor(), self.p_value_floor
        if at_floor is not None and at_floor[j] and floor is not None:
            return (f"p <= {floor:.2g} (the smallest value {self.n_randomizations} "
                    "randomizations give)")
        sd = float(self._p_value_mc_sd()[j])
        return f"p = {p:.3g}" + (f" (Monte Carlo sd {sd:.2g})" if np.isfinite(sd) else "")

    def _global_lines(self, sig: NDArray[np.bool_]) -> list[str]:
        """Per significant feature its deciding value(s) and evidence; the others named."""
        adjusted = self.adjusted_evidence() if self.correction is not None else None
        lines = [f"significant features ({int(sig.sum())}/{len(sig)}):"]
        for j in np.flatnonzero(sig):
            if self.p_value is not None:
                text = self._describe_p(int(j))
                if adjusted is not None:
                    text += f", BH-adjusted {adjusted[j]:.3g}"
                text += f"; evidence {self.evidence[j]:.2g}"
            else:
                text = f"evidence {self.evidence[j]:.2g}"
                mc_sd = self.details.get("evidence_mc_sd")
                if mc_sd is not None and np.isfinite(np.asarray(mc_sd)[j]):
                    text += f" (Monte Carlo sd {np.asarray(mc_sd)[j]:.2g})"
                if adjusted is not None:
                    text += f", BH-adjusted {adjusted[j]:.3g}"
            lines.append(f"  {self.feature_names[j]}: {text}")
        others = [self.feature_names[j] for j in np.flatnonzero(~sig)]
        if others:
            lines.append("not significant: " + (", ".join(others) if len(others) <= _MAX_NAMED
                                                else f"{len(others)} features"))
        return lines

    def _rate_lines(self, sig: NDArray[np.bool_]) -> list[str]:
        """Per feature the share of rows (instance) or the regions (local) significant."""
        if self.scope == "local":
            names = self.region_names or [f"region{i}" for i in range(sig.shape[0])]
            lines = ["regions where each feature is significant:"]
            for j, f in enumerate(self.feature_names):
                where = [str(names[i]) for i in np.flatnonzero(sig[:, j])]
                lines.append(f"  {f}: {len(where)}/{sig.shape[0]}"
                             + (f" ({', '.join(where)})" if where else ""))
        else:
            lines = ["fraction of rows significant per feature:"]
            lines += [f"  {f}: {r:.3f}" for f, r in zip(self.feature_names, sig.mean(0))]
        at_floor, floor = self._at_floor(), self.p_value_floor
        if at_floor is not None and at_floor.any() and floor is not None:
            tested = int(np.isfinite(np.asarray(self.p_value, dtype=np.float64)).sum())
            lines.append(f"{int(at_floor.sum())} of {tested} p-values are at {floor:.2g}, the "
                         f"smallest value {self.n_randomizations} randomizations give")
        return lines

    def _disagreement_lines(self, sig: NDArray[np.bool_], alpha: float) -> list[str]:
        """One line per (region, feature) where the p-value decides one way and the evidence
        speaks strongly the other (global and local scopes)."""
        if self.p_value is None or self.scope == "instance":
            return []
        ev, p = np.asarray(self.evidence), np.asarray(self.p_value)
        with np.errstate(invalid="ignore"):
            missed = sig & (ev >= DISAGREEMENT_LEVEL)  # the CRT sees it, the evidence not
            unseen = ~sig & (ev < alpha) & (p >= DISAGREEMENT_LEVEL)
        lines = []
        where = list(zip(*np.nonzero(missed | unseen)))
        for index in where[:_MAX_NAMED]:
            j = index[-1]
            name = self.feature_names[j]
            if self.scope == "local":
                regions = self.region_names or [f"region{i}" for i in range(ev.shape[0])]
                name += f" in {regions[index[0]]}"
            if missed[index]:
                lines.append(f"  {name} (significant, evidence {ev[index]:.2g}): "
                             + self._why_evidence_misses(index))
            else:
                lines.append(f"  {name} (evidence {ev[index]:.2g}, p = {p[index]:.3g}): "
                             + self._why_crt_misses())
        if len(where) > _MAX_NAMED:
            lines.append(f"  and {len(where) - _MAX_NAMED} more (see to_frame())")
        return lines

    def _statistic_words(self) -> str:
        return _STATISTIC_WORDS.get(self.statistic, f"{self.statistic} statistic")

    def _crt_sees(self) -> str:
        if self.details.get("crt_statistic") == "dcrt":
            return ("x_j explains part of what a network fitted without it leaves "
                    "unexplained (the distilled CRT)")
        if self.details.get("crt_statistic") == "rule":
            return ("the CRT, comparing that summary with its values at x_j redrawn given "
                    "the other columns, finds it larger than chance")
        return "the CRT's prediction loss sees it"

    def _why_evidence_misses(self, index: tuple[int, ...]) -> str:
        """Why a feature the CRT finds can have a large evidence, for the rule used."""
        stat, rule = self._statistic_words(), self.details.get("rule")
        if rule == "quantile":
            lam = self.details.get("quantile_lambda")
            share = (f"fewer than {1 - float(lam):.0%} of the rows" if lam is not None
                     else "only part of the rows")
            return (f"evidence is a quantile over the rows of the per-row evidence of the "
                    f"{stat}; an effect clear in {share} leaves it large while "
                    + self._crt_sees())
        if rule == "aggregate":
            return (f"evidence is a posterior summary of the mean squared {stat}, which is "
                    "never below 0: a small or uncertain effect leaves posterior mass near 0 "
                    "and the evidence large while " + self._crt_sees())
        mean, sd = float(self.statistic_mean[index]), float(self.statistic_sd[index])
        ratio = abs(mean) / sd if sd > 0 else np.inf
        text = f"evidence is a posterior summary of the {stat} averaged over the rows"
        if ratio < 1:
            return (text + f", whose posterior mean is {ratio:.2g} sd from 0; a non-monotone "
                    "effect or an interaction can average to about 0 while " + self._crt_sees())
        return (text + f", whose posterior mean is {ratio:.2g} sd from 0: the posterior of "
                "the network is too wide to exclude 0, while " + self._crt_sees())

    def _why_crt_misses(self) -> str:
        """Why a feature with a small evidence can have a large CRT p-value."""
        stat = self._statistic_words()
        if self.details.get("crt_statistic") == "rule":
            return (f"the posterior is confident the {stat} is not 0, but it is no larger at "
                    "the real x_j than at x_j redrawn given the other columns (this CRT "
                    "statistic cannot see an effect whose attribution does not depend on "
                    "where x_j lies, such as a linear one)")
        if self.details.get("crt_statistic") == "dcrt":
            return (f"the posterior is confident the {stat} is not 0, but x_j explains no "
                    "more of what a network fitted without it leaves unexplained than x_j "
                    "redrawn given the other columns: other, correlated columns carry the "
                    "same signal, or the attribution was learned from noise")
        return (f"the posterior is confident the {stat} is not 0, but redrawing x_j given "
                "the other columns does not worsen prediction: other, correlated columns "
                "carry the same signal, or the attribution was learned from noise")

    def __repr__(self) -> str:
        return (
            f"SignificanceResult(scope={self.scope!r}, statistic={self.statistic!r}, "
            f"evidence shape={self.evidence.shape}, decided_by={self.decided_by!r})"
        )

    def __str__(self) -> str:
        return self.to_string() + "\n" + self.summary()

    def plot(self, ax: Axes | None = None, alpha: float | None = None) -> Axes:
        """Decision values per feature with the alpha line; returns the matplotlib ``Axes``.

        Global: a bar and a dot per feature (red when significant), so values of exactly 0
        — the most significant — stay visible. Local: one row of dots per region, labelled.
        Instance: a box plot per feature over the rows. The figure is at most 14 inches wide;
        with many features only every k-th name is written. The y label and the title say
        which value decides; with CRT p-values a dotted line marks the smallest p-value
        1 / (K + 1) that K randomizations give, and globally the evidence is drawn beside
        them as open diamonds (a posterior summary, not a p-value).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (default: a new figure).
        alpha : float, optional
            The level drawn and used for the colours (default: the result's ``alpha``).

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from nfbst import SignificanceResult
        >>> res = SignificanceResult(
        ...     evidence=np.array([0.4, 0.8]), scope="global", feature_names=["a", "b"],
        ...     statistic="grad", statistic_mean=np.zeros(2), statistic_sd=np.ones(2),
        ...     p_value=np.array([1 / 101, 0.5]), details={"n_randomizations": 100})
        >>> res.plot().get_ylabel()
        'CRT p-value (decides)'
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
            if self.p_value is not None:
                ax.scatter(x, self.evidence, marker="D", s=22, facecolors="none",
                           edgecolors="tab:blue", zorder=4,
                           label="evidence (posterior summary, not a p-value)")
        elif self.scope == "local":
            names = self.region_names or [f"region{i}" for i in range(ev.shape[0])]
            offsets = np.linspace(-0.25, 0.25, ev.shape[0]) if ev.shape[0] > 1 else [0.0]
            for row, name, off in zip(ev, names, offsets):
                ax.plot(x + off, row, "o", ms=4, label=str(name))
        else:
            ax.boxplot(ev, positions=x, widths=0.6, showfliers=False)
        ax.axhline(alpha, color="tab:red", ls="--", lw=1, label=f"alpha = {alpha:g}")
        floor = self.p_value_floor
        if floor is not None:
            ax.axhline(floor, color="black", ls=":", lw=1,
                       label=f"smallest p with K = {self.n_randomizations}: {floor:.2g}")
        step = max(1, int(np.ceil(d / 40)))
        ax.set_xticks(x[::step], list(self.feature_names)[::step],
                      rotation=45 if d > 10 else 0)
        ax.set_ylim(-0.03, 1.03)
        if self.p_value is not None:
            kind, what = "CRT p-value (decides)", "CRT p-values"
        else:
            kind, what = "evidence Ev(H0) (decides; descriptive)", "FBST evidence"
        prefix = "BH-adjusted " if self.correction else ""
        ax.set_ylabel(prefix + kind)
        ax.set_title(f"nFBST, {self.statistic} statistic, {self.scope} scope: decisions on "
                     f"{prefix}{what}", fontsize="medium")
        ax.legend(loc="upper left", fontsize="small")
        return ax


def _format_number(value: float) -> str:
    """4 significant digits; ``-`` for NaN (not testable, or an sd at the p-value floor)."""
    return "-" if not np.isfinite(value) else f"{value:.4g}"


def min_randomizations(alpha: float) -> int:
    """The smallest number of CRT randomizations K whose smallest p-value 1 / (K + 1) is
    below ``alpha``: with fewer, no feature can be significant at ``alpha``.

    Parameters
    ----------
    alpha : float in (0, 1)

    Returns
    -------
    int

    Examples
    --------
    >>> from nfbst.result import min_randomizations
    >>> min_randomizations(0.05), min_randomizations(0.01), min_randomizations(0.03)
    (20, 100, 33)
    """
    alpha = check_float(alpha, "alpha", 0, 1)
    K = max(1, int(np.floor(1.0 / alpha)) - 1)
    while 1.0 / (K + 1) >= alpha:
        K += 1
    return K


#: How the summary names each CRT (``details["crt_statistic"]``).
_CRT_WORDS = {"loss": "CRT on the prediction loss", "rule": "CRT on the attribution rule",
              "dcrt": "distilled CRT on every row"}


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
