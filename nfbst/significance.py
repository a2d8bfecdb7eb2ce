"""``NFBST``: Full Bayesian Significance Testing of input features of a neural network."""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast, overload

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from probconstraints._progress import progress
from probconstraints._random import (
    RandomStateLike,
    check_random_state_arg,
    generators,
    seed_sequence,
)

from . import crt
from ._validation import (
    check_choice,
    check_features,
    check_features_targets,
    check_float,
    check_int,
    check_options,
    load_tensors,
    read_json,
    require_keys,
    validate_estimator_data,
)
from .bnn import BayesianMLP
from .evidence import evidence_mc_sd, evidence_upper_bound, evidence_value, is_dask_array
from .functional_draws import FunctionalDraws
from .groups import GroupsLike, check_groups
from .posterior import DrawsLike, PosteriorDraws
from .result import SignificanceResult
from .scopes import Regions, aggregate_statistic, mean_statistic, quantile_rule, region_masks
from .statistics import get_statistic
from .statistics._base import statistic_parameters
from .statistics._batching import (
    check_dask_features,
    compute_if_lazy,
    lazy_region_means,
    statistic_row_blocks,
)

if TYPE_CHECKING:
    import dask.array as da
    from typing_extensions import Self

    from .crt import ConditionalSampler
    from .distill import Distillations
    from .statistics._base import TargetLike
    from .tabular import TableEncoder

#: ``fn(draws, X, target=None, **options) -> (S, n, d)``, or a registered statistic's name.
StatisticLike: TypeAlias = "str | Callable[..., Any]"

SCOPES = ("instance", "local", "global")
RULES = ("quantile", "aggregate", "mean")
CALIBRATIONS = ("crt", "dcrt", "none")
#: Conditional models by name: typed per column (nfbst.conditionals), or linear (nfbst.crt)
SAMPLER_NAMES = ("auto", *crt.SAMPLERS)
# the default network, chosen by the held-out CRT's power in the calibration experiment: the
# paper's 3×20 ReLU under mean-field VI underfits at n = 200 (power ≈ 0 on a 0.25 linear
# effect), a 1×20 tanh network fits it; HMC on it was no more powerful and 15× slower
DEFAULT_MODEL: dict[str, Any] = dict(hidden=(20,), activation="tanh", n_steps=1000)
PRESETS = {
    # the nFBST paper: Q-GS rule on instance-wise evidence, no calibration, its VI settings
    "paper": dict(rule="quantile", calibration="none", holdout=None),
}


class NFBST(BaseEstimator):
    """Full Bayesian Significance Test of "feature j does not matter" for a Bayesian network.

    A :class:`~nfbst.BayesianMLP` is fitted, ``n_posterior_samples`` weight sets are drawn,
    an attribution statistic η (gradient, DeepLIFT, LRP, LIME, … or a callable) is computed
    for every draw and instance, and the FBST evidence value of H0: η = 0 is computed from the
    draws (Liu et al., AAAI 2024; Pereira & Stern 1999) per instance, per region or globally.
    With ``calibration="crt"`` each feature also gets a conditional randomization p-value
    (:mod:`nfbst.crt`), and decisions are taken on it.

    What each answer means:

    * Instance-wise evidence is the FBST evidence of η(x_i) = 0 under the posterior. For a
      Gaussian posterior of a linear coefficient it equals the two-sided Wald p-value; for a
      network it is a posterior summary, not a p-value.
    * ``rule="quantile"`` (the paper's Q-GS) and ``"aggregate"`` are descriptive: the
      calibration experiment shows Q-GS has no power for networks even under an exact
      posterior, and the aggregated rule sits on the boundary of its support.
    * ``rule="mean"`` is the FBST evidence of the average statistic over the rows (the
      average partial effect for ``"grad"``); under a sampling posterior (``"hmc"``) it is
      close to a p-value for monotone effects, but blind to non-monotone ones and
      interactions (their average derivative is 0).
    * ``calibration="crt"`` is a test: model-X conditional randomization of x_j | x_{-j}
      with the fitted posterior held fixed; exactly valid on held-out rows
      (``holdout=...``) when the conditional model is right, whatever the posterior.
    * ``calibration="dcrt"`` is the same kind of test on every row: the network of y that
      the statistic uses is fitted without x_j (a distillation), so no row is held out.

    Parameters
    ----------
    statistic : str or callable, default "grad"
        A registered statistic name (see :func:`nfbst.statistics.available_statistics`) or
        ``fn(draws, X, target=None, **options) -> (S, n, d)``.
    model : BayesianMLP or estimator, optional
        The (unfitted) Bayesian network to use: a :class:`~nfbst.BayesianMLP`, an
        ``nfbst.network.BayesianNetwork`` (any torch module), or any estimator with
        ``fit(X, y)`` and ``sample_posterior(n) -> FunctionalDraws``. A bare
        ``torch.nn.Module`` is refused (wrap it, or use :meth:`from_draws`). Default
        ``BayesianMLP(hidden=(20,), activation="tanh", n_steps=1000)`` (mean-field VI; the
        most powerful of the networks compared in ``results/nfbst_calibration``), or
        ``BayesianMLP(preset="paper")`` (3×20 ReLU) with ``preset="paper"``.
    n_posterior_samples : int, default 300
        Posterior draws S (the paper pools 3 VI runs × 100 draws).
    target : None, int, "predicted" or int array
        The output explained (classification: the class; see the statistics).
    statistic_options : dict, optional
        Extra keyword arguments of the statistic (e.g. ``{"baselines": ...}`` for DeepLIFT).
    bandwidth : str or float, default "silverman"
        KDE bandwidth for :func:`nfbst.evidence_value` (``"paper_cv"`` for the paper's grid).
    null : float, default 0.0
        Value of η under H0.
    rule : {"mean", "quantile", "aggregate"}, default "mean"
        Local/global evidence rule, see :mod:`nfbst.scopes`: the average statistic per
        draw, Q-GS (λ-quantile of instance-wise evidence; the paper's) or the aggregated
        statistic (mean squared attribution per draw).
    quantile_lambda : float in [0, 1], default 0.5
        λ of the Q-GS rule (``rule="quantile"``): the share of rows whose evidence may
        exceed the reported quantile.
    calibration : {"crt", "dcrt", "none"}, default "crt"
        ``"crt"``: add conditional-randomization p-values (:mod:`nfbst.crt`) to local and
        global results (per instance only when ``test(..., calibration="crt")`` asks);
        ``"dcrt"``: the distilled CRT (:mod:`nfbst.dcrt`) on every row instead of the
        held-out ones — one extra network per feature (or group) fitted without it, so the
        test stays exact with no row set aside (needs ``holdout=None``; global and local
        scopes);
        :meth:`SignificanceResult.significant` then decides on them. ``"none"`` (or
        None): evidence only. The default is the configuration whose type-I error the calibration
        experiment found ≤ α in every setting (``results/nfbst_calibration``).
    crt_statistic : {"loss", "rule"}
        CRT statistic: predictive loss of the posterior mean (uses y; sees every kind of
        effect) or the attribution ``rule`` recomputed at the resampled inputs (no y).
    n_randomizations : int, default 100
        K resampled copies of each column; the p-value resolution is 1 / (K + 1).
    sampler : {"auto", "gaussian", "residual_permutation"}, dict or callable, default "auto"
        Model of x_j | x_{-j} (of a group given the others), fitted on the rows given to
        :meth:`fit`. ``"auto"``: a model that respects each column's kind
        (:class:`nfbst.conditionals.TypedConditional`: logistic for binary, categorical and
        few-valued columns, rounded residuals for integers, a hurdle model for columns
        with a point mass at their minimum, a quadratic regression with resampled residuals
        otherwise; a warning names a column whose model fits badly). ``"gaussian"`` /
        ``"residual_permutation"``: the linear model for every column
        (:mod:`nfbst.crt`). A dict overrides ``"auto"`` per feature, e.g.
        ``{"age": "gaussian"}`` (names of :data:`nfbst.conditionals.MODELS`). A callable
        ``sampler(X, j, n_draws, rng) -> (n_draws, n)`` resamples single columns.
    holdout : float in (0, 1) or None, default 0.3
        Keep this fraction of the rows given to :meth:`fit` out of the network's fit; the
        CRT runs on them (``test()``, or ``test(X)`` with the X given to fit), which makes
        it exact. ``None`` fits on every row (a CRT on training rows is anti-conservative).
    groups : dict of str to list of columns, optional
        Test groups of columns (image patches, one-hot blocks) instead of single columns:
        name -> column indices or names, a partition of the columns (overlaps and columns in
        no group are errors; see :mod:`nfbst.groups`, :func:`~nfbst.groups.image_patches`,
        :func:`~nfbst.groups.prefix_groups`). The evidence of a group is that of the *group
        statistic*, the sum of its columns' attributions per draw and row (for the
        gradient, the derivative along the group's all-ones direction); its CRT resamples
        the group's columns jointly given the other columns (a linear-Gaussian conditional of
        the block, :class:`nfbst.crt.GroupConditional`). Results are indexed by the group
        names. Columns constant in the training rows are left out of their group; a group
        (or, without groups, a column) with no varying column is reported as not testable
        (NaN evidence and p-value, ``details["not_testable"]``, a warning).
    crt_max_draws : int, default 64
        Posterior draws used for the CRT statistic (its cost is linear in them; the test
        is valid for any fixed statistic).
    alpha : float, default 0.05
        Default level of :meth:`SignificanceResult.significant`.
    correction : None or "bh"
        Benjamini–Hochberg across features when deciding significance.
    preset : {None, "paper"}
        ``"paper"``: the paper's configuration (Q-GS, no calibration, the paper's VI
        settings for the default model), for reproducing its tables. It sets ``rule``,
        ``calibration`` and ``holdout``: another non-default value of one of them is a
        ``ValueError`` naming it, never silently overridden (``test(...)`` arguments still
        override per call).
    random_state : None, int, RandomState or Generator
        Seeds the holdout split, the network (when its own ``random_state`` is None), the
        CRT and randomized statistics (LIME's perturbations) unless ``statistic_options``
        sets their own ``random_state``.
    verbose : int, default 0
        0 silent; 1 progress bars on a terminal; 2 also in non-terminal logs (see
        :mod:`probconstraints._progress`).
    n_jobs : int, optional
        Joblib workers for the default network's independent fits and for the CRT (one task
        per feature); None is 1 unless a ``joblib.parallel_config`` context says otherwise.
        Results do not depend on it (:mod:`nfbst._parallel`).

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` given to :meth:`fit` was a DataFrame with string column names;
        :meth:`test` then checks the names and their order as scikit-learn does.
    feature_names_ : list of str
        Names used in results (``x0, x1, ...`` without a DataFrame).
    model_, draws_ :
        The fitted network and its posterior draws. Columns constant in the training rows
        are left out of a :class:`BayesianMLP`'s fit (it standardises its inputs); its
        draws take every column, with zero weights on those.

    Examples
    --------
    >>> from nfbst import NFBST, BayesianMLP
    >>> from nfbst.datasets import make_toy
    >>> X, y = make_toy(500, random_state=0)
    >>> test = NFBST(model=BayesianMLP(hidden=(20,), n_steps=500), n_posterior_samples=100,
    ...              random_state=0).fit(X, y)
    >>> test.statistic_samples(X[:10]).shape
    (100, 10, 8)
    >>> res = test.test(X, scope="global")
    >>> res.evidence.shape
    (8,)
    >>> res = test.test(X, y, scope="global", calibration="crt", n_randomizations=19)
    >>> res.p_value.shape, float(res.p_value.min()) >= 1 / 20
    ((8,), True)
    """

    # fitted attributes (set by fit or from_draws)
    model_: Any
    draws_: DrawsLike

    def __init__(
        self,
        *,
        statistic: StatisticLike = "grad",
        model: Any = None,
        n_posterior_samples: int = 300,
        target: TargetLike = None,
        statistic_options: dict[str, Any] | None = None,
        bandwidth: str | float = "silverman",
        null: float = 0.0,
        rule: Literal["mean", "quantile", "aggregate"] = "mean",
        quantile_lambda: float = 0.5,
        calibration: Literal["crt", "dcrt", "none"] | None = "crt",
        crt_statistic: Literal["loss", "rule"] = "loss",
        n_randomizations: int = 100,
        sampler: str | dict[str, str] | ConditionalSampler = "auto",
        holdout: float | None = 0.3,
        groups: dict[str, Sequence[int] | Sequence[str]] | None = None,
        crt_max_draws: int = 64,
        alpha: float = 0.05,
        correction: Literal["bh"] | None = None,
        preset: Literal["paper"] | None = None,
        random_state: RandomStateLike = None,
        verbose: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.statistic = statistic
        self.model = model
        self.n_posterior_samples = n_posterior_samples
        self.target = target
        self.statistic_options = statistic_options
        self.bandwidth = bandwidth
        self.null = null
        self.rule = rule
        self.quantile_lambda = quantile_lambda
        self.calibration = calibration
        self.crt_statistic = crt_statistic
        self.n_randomizations = n_randomizations
        self.sampler = sampler
        self.holdout = holdout
        self.groups = groups
        self.crt_max_draws = crt_max_draws
        self.alpha = alpha
        self.correction = correction
        self.preset = preset
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ settings
    def _settings(self, **overrides: Any) -> dict[str, Any]:
        """The effective settings: parameters, then the preset, then per-call overrides."""
        s = self.get_params(deep=False)
        if s["preset"] is not None:
            if s["preset"] not in PRESETS:
                raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {s['preset']!r}")
            preset = PRESETS[s["preset"]]
            defaults = type(self)().get_params(deep=False)
            conflicts = [f"{k}={s[k]!r}" for k, v in preset.items()
                         if s[k] != defaults[k] and s[k] != v]
            if conflicts:  # never silently overridden
                sets = ", ".join(f"{k}={v!r}" for k, v in preset.items())
                raise ValueError(
                    f"preset={s['preset']!r} sets {sets} but {', '.join(conflicts)} was given: "
                    "drop the preset or those arguments (or override per call, e.g. "
                    "test(calibration='crt'))")
            s.update(preset)
        s.update({k: v for k, v in overrides.items() if v is not None})
        if s["calibration"] is None:
            s["calibration"] = "none"
        check_choice(s["rule"], "rule", RULES)
        check_choice(s["calibration"], "calibration", CALIBRATIONS)
        check_choice(s["crt_statistic"], "crt_statistic", crt.CRT_STATISTICS)
        _check_sampler(s["sampler"])
        for name in ("n_randomizations", "crt_max_draws", "n_posterior_samples"):
            s[name] = check_int(s[name], name, 1)
        h = s["holdout"]
        if h is not None and (isinstance(h, bool) or not isinstance(h, (float, int))
                              or not 0 < h < 1):
            raise ValueError(f"holdout must be None or a fraction in (0, 1), got {h!r}")
        check_choice(s["correction"], "correction", (None, "bh"))
        s["quantile_lambda"] = check_float(s["quantile_lambda"], "quantile_lambda", 0, 1,
                                           low_inclusive=True, high_inclusive=True)
        s["alpha"] = check_float(s["alpha"], "alpha", 0, 1)
        if s["calibration"] != "none" and 1 / (s["n_randomizations"] + 1) >= s["alpha"]:
            warnings.warn(  # significant() rejects at p < alpha
                f"n_randomizations={s['n_randomizations']} gives p-values of at least "
                f"1/(K+1) = {1 / (s['n_randomizations'] + 1):.3g} >= alpha={s['alpha']:g}: no "
                f"feature can be significant; use n_randomizations >= "
                f"{int(np.floor(1 / s['alpha']))} (more with correction='bh')",
                UserWarning, stacklevel=3)
        s["null"] = check_float(s["null"], "null")
        if not (isinstance(s["bandwidth"], str) or callable(s["bandwidth"])):
            check_float(s["bandwidth"], "bandwidth", 0)
        check_int(s["verbose"], "verbose", 0)
        check_random_state_arg(s["random_state"])
        if s["groups"] is not None and not isinstance(s["groups"], dict):
            raise TypeError(f"groups must be None or a dict of name -> columns, got "
                            f"{type(s['groups']).__name__}")
        if s["statistic_options"] is not None and not isinstance(s["statistic_options"], dict):
            raise TypeError(f"statistic_options must be None or a dict, got "
                            f"{s['statistic_options']!r}")
        return s

    # ----------------------------------------------------------------------- fit
    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Fit the Bayesian network and draw its posterior; returns ``self``.

        With ``holdout`` a random fraction of the rows is kept out of the network's fit
        (``holdout_index_``) for :meth:`test`.
        """
        s = self._settings()
        self._check_statistic_options()  # fail early on an unknown name or option
        if self.model is None:
            model = (BayesianMLP(preset="paper") if s["preset"] == "paper"
                     else BayesianMLP(**DEFAULT_MODEL))
            model.set_params(random_state=self.random_state, verbose=self.verbose,
                             n_jobs=self.n_jobs)
        else:
            model = _check_model(self.model)
            if getattr(model, "random_state", 0) is None:
                model.set_params(random_state=self.random_state)
        encoder = _table_encoder(X)
        if encoder is None or encoder.is_identity:
            feature_names = _feature_names(X)
            X, y = validate_estimator_data(self, X, y, reset=True)
        else:  # text, category or object-bool columns: the network sees the encoded columns
            feature_names = list(encoder.feature_names_out_)
            X, y = validate_estimator_data(self, encoder.transform(X), y, reset=True)
            self.n_features_in_ = len(encoder.feature_names_in_)
            self.feature_names_in_ = np.asarray(encoder.feature_names_in_, dtype=object)
        X, y = check_features_targets(X, y, task=getattr(model, "task", "regression"),
                                      columns=feature_names, constant_ok=True)
        self.encoder_ = encoder
        n = X.shape[0]
        train = np.arange(n)
        if s["calibration"] == "dcrt" and s["holdout"] is not None:
            raise ValueError(
                f"calibration='dcrt' tests on every row (its networks of y leave the tested "
                f"feature out), so it takes no holdout; got holdout={s['holdout']!r}: pass "
                "holdout=None")
        if s["holdout"] is not None:
            n_out = int(round(s["holdout"] * n))
            if n_out < 2 or n - n_out < 2:
                raise ValueError(
                    f"holdout={s['holdout']!r} leaves {n - n_out} training and {n_out} "
                    f"held-out rows of {n}; each needs at least 2"
                )
            perm = generators(self.random_state, 1)[0].permutation(n)
            self.holdout_index_ = np.sort(perm[:n_out])
            train = np.sort(perm[n_out:])
        names = feature_names or [f"x{j}" for j in range(X.shape[1])]
        if s["groups"] is not None:
            _unit_groups(s["groups"], names, encoder)  # before the fit
        constant = np.flatnonzero(np.ptp(X[train], 0) == 0)
        if constant.size:
            warnings.warn(
                f"column(s) {[names[j] for j in constant[:10]]}"
                f"{' ...' if constant.size > 10 else ''} ({constant.size} in all) are constant "
                "in the training rows: the network cannot learn their effect, and test() "
                "reports them as not testable (NaN evidence and p-value)",
                UserWarning, stacklevel=2)
        if constant.size and isinstance(model, BayesianMLP):
            # the MLP standardises its inputs: it is fitted on the varying columns, and its
            # draws get zero first-layer weights for the constant ones (no effect)
            varying = np.setdiff1d(np.arange(X.shape[1]), constant)
            self.model_ = model.fit(X[train][:, varying], y[train])
            self.draws_ = _widen_first_layer(
                self.model_.sample_posterior(int(s["n_posterior_samples"])), varying,
                X.shape[1])
        else:
            self.model_ = model.fit(X[train], y[train])
            self.draws_ = self.model_.sample_posterior(int(s["n_posterior_samples"]))
        width = getattr(self.draws_, "n_features", X.shape[1])
        if width != X.shape[1]:
            raise ValueError(f"the network's draws take {width} features per row, but X has "
                             f"{X.shape[1]} columns (images are passed as flat rows)")
        self.feature_names_ = feature_names or [f"x{j}" for j in range(X.shape[1])]
        self.X_fit_, self.y_fit_ = X, y
        self.train_index_ = train
        self.__dict__.pop("distillers_", None)
        if s["calibration"] == "dcrt":
            self.distillers_ = self._fit_distillers(model, s)
        return self

    def _fit_distillers(self, template: Any, s: dict[str, Any]) -> Distillations:
        """The dCRT's networks of y, one per tested unit without its columns, fitted on
        every row (:mod:`nfbst.distill`)."""
        from .distill import fit_distillations

        _, groups = _unit_groups(s["groups"], self.feature_names_, self.encoder_)
        units = (groups if groups is not None
                 else [np.array([j]) for j in range(self.X_fit_.shape[1])])
        return fit_distillations(template, self.X_fit_, self.y_fit_, units,
                                 random_state=self.random_state, n_jobs=self.n_jobs,
                                 verbose=self.verbose)

    @classmethod
    def from_draws(cls, draws: DrawsLike | Sequence[torch.nn.Module],
                   feature_names: Sequence[str] | None = None, *, task: str | None = None,
                   input_shape: Sequence[int] | None = None, **params: Any) -> Self:
        """An NFBST that tests posterior draws the user already has (no network is fitted).

        Parameters
        ----------
        draws : FunctionalDraws, PosteriorDraws, list of torch.nn.Module, or draws object
            A :class:`~nfbst.functional_draws.FunctionalDraws` (any module: see its
            constructors ``from_modules``, ``from_mc_dropout``, ``from_laplace``,
            ``from_samples`` for pyro or bayesian-torch samples), a list of modules of one
            architecture (a deep ensemble, wrapped with ``FunctionalDraws.from_modules``),
            or any object with ``__len__`` and ``module(i)`` (evidence only, through the
            statistics' per-draw path; give ``feature_names``).
        feature_names : sequence of str, optional
            One name per input column (``prod(input_shape)`` for an image); default
            ``x0, x1, ...``.
        task : {"regression", "classification"}, optional
            For a list of modules: what their outputs are (logits for classification).
            Default: regression for one output; several outputs need it.
        input_shape : tuple of int, optional
            For a list of modules: the shape of one input row, e.g. ``(1, 8, 8)``.
        **params
            :class:`NFBST` parameters.

        Notes
        -----
        Evidence and the CRT p-values (``calibration="crt"``, the default; ``test(X, y)``)
        both work on functional draws: the CRT needs only each draw's prediction. Test on
        rows the network was not trained on: the loss CRT is anti-conservative on training
        rows, and with user-made draws nFBST cannot tell which rows those were.

        Examples
        --------
        >>> import numpy as np, torch
        >>> from torch import nn
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 3)).astype(np.float32); y = 2 * X[:, 0]
        >>> nets = []
        >>> for seed in range(4):                              # a small deep ensemble
        ...     _ = torch.manual_seed(seed)
        ...     net = nn.Linear(3, 1)
        ...     opt = torch.optim.Adam(net.parameters(), lr=0.1)
        ...     for _ in range(200):
        ...         opt.zero_grad()
        ...         loss = ((net(torch.from_numpy(X))[:, 0] - torch.from_numpy(y)) ** 2).mean()
        ...         loss.backward(); opt.step()
        ...     nets.append(net)
        >>> test = NFBST.from_draws(nets, n_randomizations=19, random_state=0)
        >>> Xt = rng.normal(size=(100, 3)); yt = 2 * Xt[:, 0]        # rows not trained on
        >>> res = test.test(Xt, yt)
        >>> float(res.p_value[0]), bool(res.p_value[1:].min() > 0.1)  # x0 matters; x1, x2 not
        (0.05, True)
        """
        if isinstance(draws, torch.nn.Module):
            raise TypeError("draws must be posterior draws or a list of modules; for one "
                            "trained module use FunctionalDraws.from_mc_dropout(module, ...) "
                            "or nfbst.network.BayesianNetwork(module, ...) with NFBST.fit")
        if isinstance(draws, (list, tuple)):
            if task is None:
                with torch.no_grad():
                    first = draws[0] if draws else None
                    shape = input_shape
                    if isinstance(first, torch.nn.Module) and shape is None:
                        from .functional_draws import _infer_input_shape
                        shape = _infer_input_shape(first)
                    k = 1 if not isinstance(first, torch.nn.Module) else int(
                        first.eval()(torch.zeros(1, *(shape or ()))).reshape(1, -1).shape[1])
                if k != 1:
                    raise ValueError(f"the modules have {k} outputs: pass "
                                     "task='classification' (logits) or task='regression'")
                task = "regression"
            draws = FunctionalDraws.from_modules(draws, task=task, input_shape=input_shape,
                                                 meta={"method": "ensemble"})
        elif task is not None or input_shape is not None:
            raise ValueError("task and input_shape describe a list of modules; draws objects "
                             "carry their own")
        assert not isinstance(draws, (list, tuple))  # wrapped above
        self = cls(**params)
        self.model_ = None
        self.draws_ = cast("DrawsLike", draws)
        if isinstance(draws, FunctionalDraws):
            d = draws.n_features
        else:
            d = len(feature_names or [])
            if not d:
                raise ValueError("feature_names are required for draws that are not "
                                 "FunctionalDraws (their input width is unknown)")
        self.n_features_in_ = d
        self.feature_names_ = list(feature_names) if feature_names else [f"x{j}" for j in range(d)]
        if len(self.feature_names_) != d:
            raise ValueError(f"feature_names has {len(self.feature_names_)} names, but the "
                             f"draws take {d} input features per row")
        return self

    def _check_statistic_options(self) -> None:
        """The statistic exists and takes every key of ``statistic_options``."""
        fn = get_statistic(self.statistic)
        options = self.statistic_options or {}
        params = statistic_parameters(fn)
        if params.names is None or params.var_keyword:  # no signature, or **options: no check
            return
        check_options(options, list(params.names),
                      f"statistic {self.statistic!r} (statistic_options)")

    def _check_X(self, X: ArrayLike) -> NDArray[np.float64]:
        """Test-time ``X``: the fitted width, and the fitted column names and order; a table
        with text or category columns is encoded as in :meth:`fit`."""
        encoder = getattr(self, "encoder_", None)
        if encoder is not None and not encoder.is_identity:
            return check_features(encoder.transform(X), len(self.feature_names_))
        if hasattr(self, "feature_names_in_") or hasattr(X, "columns"):
            X = validate_estimator_data(self, X, reset=False)
        return check_features(X, len(self.feature_names_))

    def _check_fitted(self) -> None:
        if not hasattr(self, "draws_"):
            raise NotFittedError("This NFBST instance is not fitted yet; call fit(X, y) first")

    # ----------------------------------------------------------------- statistic
    def statistic_samples(self, X: ArrayLike, target: TargetLike = None) -> NDArray[np.float32]:
        """Statistic draws η of shape ``(S, n, d)`` for all posterior draws at once."""
        self._check_fitted()
        X = self._check_X(X)
        return self._statistic(X, self.target if target is None else target)

    @overload
    def _statistic(self, X: NDArray[np.float64], target: TargetLike) -> NDArray[np.float32]: ...

    @overload
    def _statistic(self, X: da.Array, target: TargetLike) -> da.Array: ...

    def _statistic(self, X: NDArray[np.float64] | da.Array,
                   target: TargetLike) -> NDArray[np.float32] | da.Array:
        fn = get_statistic(self.statistic)
        options = dict(self.statistic_options or {})
        params = statistic_parameters(fn)
        if params.takes("verbose"):
            options.setdefault("verbose", self.verbose)
        if params.takes("random_state") and "random_state" not in options:
            # randomized statistics (LIME) follow NFBST's random_state; an int seed derived
            # from it, so that every call with an int random_state gives the same statistic
            seed = seed_sequence(self.random_state).generate_state(1)[0]
            options["random_state"] = int(seed) % (2**31 - 1)
        if is_dask_array(X):  # lazy (S, n, d), computed by row blocks as evidence needs them
            return statistic_row_blocks(self.draws_, X, fn, target=target, **options)
        eta = fn(self.draws_, torch.as_tensor(X, dtype=torch.float32), target=target, **options)
        eta = eta.detach().cpu().numpy() if torch.is_tensor(eta) else np.asarray(eta)
        expected = (len(self.draws_), X.shape[0], X.shape[1])
        if eta.shape != expected:
            raise ValueError(
                f"statistic returned shape {eta.shape}, expected (S, n, d) = {expected}"
            )
        if not np.all(np.isfinite(eta)):
            raise ValueError("statistic returned NaN or infinite values")
        return eta

    # ---------------------------------------------------------------------- test
    def test(
        self, X: ArrayLike | da.Array | None = None, y: ArrayLike | None = None, *,
        scope: Literal["instance", "local", "global"] = "global",
        regions: Regions | None = None,
        rule: Literal["mean", "quantile", "aggregate"] | None = None,
        quantile_lambda: float | None = None, target: TargetLike = None,
        correction: Literal["bh"] | None = None,
        calibration: Literal["crt", "dcrt", "none"] | None = None,
        n_randomizations: int | None = None,
        crt_statistic: Literal["loss", "rule"] | None = None,
    ) -> SignificanceResult:
        """Evidence values (and, calibrated, p-values) of H0: "feature j does not matter".

        Parameters
        ----------
        X : array-like (n, d) or dask.array, optional
            Rows to test on. Default: the held-out rows when ``holdout`` was set, else the
            rows given to :meth:`fit`. A ``dask.array`` chunked over rows is streamed: the
            statistic and the evidence are computed block by block (memory: a few blocks of
            S × rows × d), for evidence only (``calibration="none"``; regions as masks).
        y : array-like (n,), optional
            Targets of ``X``, needed by ``calibration="crt"`` with ``crt_statistic="loss"``;
            taken from :meth:`fit` when ``X`` is omitted or is exactly the fitted (or
            held-out) rows.
        scope : {"instance", "local", "global"}
            ``(n, d)``, ``(r, d)`` (needs ``regions``) or ``(d,)`` results.
        regions : masks, dict of masks or callable on X (``scope="local"``)
        rule, quantile_lambda, target, correction, calibration, n_randomizations, crt_statistic
            Override the estimator's settings for this call (None keeps them;
            ``calibration="none"`` switches the CRT off).
        """
        self._check_fitted()
        check_choice(scope, "scope", SCOPES)
        s = self._settings(rule=rule, quantile_lambda=quantile_lambda, correction=correction,
                           calibration=calibration, n_randomizations=n_randomizations,
                           crt_statistic=crt_statistic)
        if scope == "instance" and calibration is None:
            s["calibration"] = None  # per-instance CRT only on request: one row, K draws
        rule, lam = s["rule"], s["quantile_lambda"]
        target = self.target if target is None else target
        if is_dask_array(X):
            if s["calibration"] != "none":
                raise ValueError(f"calibration={s['calibration']!r} needs the rows in memory; "
                                 "test a dask X "
                                 "with calibration='none' (evidence), the CRT on a sample")
            check_dask_features(X, self.n_features_in_)
            Xc: NDArray[np.float64] | da.Array = X
            yc: np.ndarray | None = None
            crt_rows: NDArray[np.intp] | None = None
        else:
            Xc, yc, crt_rows = self._test_rows(X, y)
        eta = self._statistic(Xc, target)  # (S, n, d), lazy for a dask X
        unit_names, group_idx, untestable = self._units(Xc, s)
        if group_idx is not None:  # the group statistic: the sum over its varying columns
            eta = _group_statistic(eta, group_idx, untestable["columns"])
        device = getattr(self.draws_, "device", None)  # evidence where the draws live
        names = None
        if scope == "local":
            if regions is None:
                raise ValueError("scope='local' needs regions (masks or a callable on X)")
            masks, names = region_masks(Xc, regions)
        else:
            masks = np.ones((1, Xc.shape[0]), dtype=bool)
        details: dict[str, Any] = {"n_draws": eta.shape[0], "n_rows": eta.shape[1],
                                   "rule": rule}
        if group_idx is not None:
            details["groups"] = dict(zip(unit_names, [g.tolist() for g in group_idx]))
        if scope == "instance" or rule == "quantile":
            inst = evidence_value(eta, null=self.null, axis=0, bandwidth=self.bandwidth,
                                  verbose=self.verbose, device=device)
            inst, mean, sd = compute_if_lazy(inst, eta.mean(0), eta.std(0))
            labels = ("statistic_mean", "statistic_sd")
            if scope == "instance":
                ev = inst
            else:
                ev = quantile_rule(inst, masks, lam)
                mean = np.stack([np.abs(mean[m]).mean(0) for m in masks])
                sd = np.stack([sd[m].mean(0) for m in masks])
                labels = ("mean_abs_statistic", "mean_statistic_sd")
                details["instance_evidence"] = inst
        else:
            if rule == "aggregate":
                agg = lazy_region_means(eta, masks, square=True) if is_dask_array(eta) else \
                    aggregate_statistic(eta, masks)  # (S, r, d)
                null = 0.0
                labels = ("mean_sq_statistic", "mean_sq_statistic_sd")
            else:
                agg = lazy_region_means(eta, masks) if is_dask_array(eta) else \
                    mean_statistic(eta, masks)
                null = self.null
                labels = ("mean_statistic", "mean_statistic_sd")
            (agg,) = compute_if_lazy(agg)
            ev = evidence_value(agg, null=null, axis=0, bandwidth=self.bandwidth,
                                verbose=self.verbose, device=device)
            mean, sd = agg.mean(0), agg.std(0)
        p_value = None
        if s["calibration"] == "dcrt":
            p_value = self._dcrt(np.asarray(Xc), yc, masks, s, instance=scope == "instance",
                                 groups=group_idx, names=list(unit_names))
            details.update(n_randomizations=int(s["n_randomizations"]), crt_statistic="dcrt",
                           pvalue_resolution=1.0 / (s["n_randomizations"] + 1),
                           pvalue_mc_sd=crt.pvalue_mc_sd(p_value, s["n_randomizations"]))
        elif s["calibration"] == "crt":
            rows = np.arange(Xc.shape[0]) if crt_rows is None else crt_rows
            p_value = self._crt(Xc[rows], None if yc is None else yc[rows], eta[:, rows],
                                masks[:, rows], s, target, instance=scope == "instance",
                                groups=group_idx, constant=untestable["columns"],
                                names=list(unit_names))
            if scope == "instance" and crt_rows is not None:
                full = np.full(eta.shape[1:], np.nan)
                full[rows] = p_value
                p_value = full
            details["crt_rows"] = rows
            details.update(n_randomizations=int(s["n_randomizations"]),
                           crt_statistic=s["crt_statistic"],
                           pvalue_resolution=1.0 / (s["n_randomizations"] + 1),
                           pvalue_mc_sd=crt.pvalue_mc_sd(p_value, s["n_randomizations"]))
        if scope != "instance":
            self._evidence_error(ev, None if rule == "quantile" else np.asarray(agg),
                                 self.null if rule == "quantile" else null,
                                 int(eta.shape[0]), details, s)
        mask = untestable["units"]
        if mask.any() and (untestable["evidence"] or p_value is not None):
            ev = np.array(ev, dtype=np.float64)
            if untestable["evidence"]:
                ev[..., mask] = np.nan
            if p_value is not None:
                p_value[..., mask] = np.nan
                details["pvalue_mc_sd"][..., mask] = np.nan
            details["not_testable"] = {unit_names[j]: untestable["reason"]
                                       for j in np.flatnonzero(mask)}
        if scope == "global":
            ev, mean, sd = ev[0], mean[0], sd[0]
            for key in ("evidence_mc_sd", "evidence_upper"):
                if key in details:
                    details[key] = details[key][0]
            if p_value is not None:
                p_value = p_value[0]
                details["pvalue_mc_sd"] = details["pvalue_mc_sd"][0]
        stat_name = self.statistic if isinstance(self.statistic, str) else getattr(
            self.statistic, "__name__", "custom")
        return SignificanceResult(
            evidence=np.asarray(ev, dtype=np.float64), scope=scope,
            feature_names=list(unit_names), statistic=stat_name,
            statistic_mean=mean, statistic_sd=sd, correction=s["correction"],
            alpha=self.alpha, region_names=names, details=details, statistic_labels=labels,
            p_value=p_value,
        )

    def _test_rows(self, X: ArrayLike | None, y: ArrayLike | None
                   ) -> tuple[NDArray[np.float64], np.ndarray | None, NDArray[np.intp] | None]:
        """The rows, their targets (if known) and the rows a CRT may use; see :meth:`test`.

        Passing exactly the rows given to :meth:`fit` with a ``holdout`` restricts the CRT to
        the held-out rows (evidence still uses every row).
        """
        fitted = getattr(self, "X_fit_", None)
        holdout = getattr(self, "holdout_index_", None)
        if X is None:
            if fitted is None:
                raise ValueError("X is required for an NFBST built from draws")
            idx = np.arange(len(fitted)) if holdout is None else holdout
            return fitted[idx], self.y_fit_[idx], None
        X = self._check_X(X)
        if y is not None:
            task = getattr(self.draws_, "task", "regression")
            X, y = check_features_targets(X, y, task=task, constant_ok=True)
        if fitted is None:
            return X, y, None
        if np.array_equal(fitted, X):
            return X, (self.y_fit_ if y is None else y), holdout
        if holdout is not None and np.array_equal(fitted[holdout], X):
            return X, (self.y_fit_[holdout] if y is None else y), None
        return X, y, None

    def _training_rows_among(self, X: NDArray[np.float64]) -> int:
        """How many rows of X were used to fit the network (exact matches)."""
        fitted = getattr(self, "X_fit_", None)
        if fitted is None:
            return 0
        seen = {r.tobytes() for r in fitted[self.train_index_]}
        return sum(r.tobytes() in seen for r in np.ascontiguousarray(X))

    def _evidence_error(self, ev: NDArray[np.float64], agg: NDArray[np.float64] | None,
                        null: float, S: int, details: dict[str, Any],
                        s: dict[str, Any]) -> None:
        """The evidence's Monte Carlo error from S draws, into ``details``, with a warning
        when the draws cannot support a value below ``alpha``.

        ``evidence_upper``: the one-sided 95 % Clopper–Pearson bound of the share of draws
        (:func:`nfbst.evidence.evidence_upper_bound`); ``evidence_mc_sd``: the bootstrap sd
        over the draws (:func:`nfbst.evidence.evidence_mc_sd`; rules ``"mean"`` and
        ``"aggregate"``).
        """
        upper = evidence_upper_bound(ev, S)
        details["evidence_upper"] = upper
        if agg is not None:
            details["evidence_mc_sd"] = evidence_mc_sd(
                agg, null=null, axis=0, bandwidth=self.bandwidth,
                random_state=s["random_state"])
        weak = (np.asarray(ev) < self.alpha) & (upper >= self.alpha)
        if weak.any():
            warnings.warn(
                f"{int(weak.sum())} evidence value(s) below alpha={self.alpha:g} rest on only "
                f"{S} posterior draws: an evidence of {float(np.nanmin(ev)):.3f} from {S} "
                f"draws is compatible with values up to {float(np.nanmax(upper[weak])):.2f} "
                f"(details['evidence_upper']); use more draws (0 of S is below "
                f"{self.alpha:g} from S >= {_min_draws(self.alpha)} draws), and decide on the "
                "CRT p-values", UserWarning, stacklevel=3)

    def _units(self, X: NDArray[np.float64] | da.Array, s: dict[str, Any]
               ) -> tuple[list[str], list[NDArray[np.intp]] | None, dict[str, Any]]:
        """What is tested: names, the groups' columns (None: single columns), untestable.

        A column is untestable when it is constant in the training rows (the rows given to
        :meth:`fit` less the holdout: NaN evidence and p-value); for draws from elsewhere,
        when it is constant in the rows tested (NaN CRT p-value; the evidence stands). A
        group is untestable when all its columns are.
        """
        fitted = getattr(self, "X_fit_", None)
        ref: NDArray[np.float64] | None
        if fitted is not None:
            ref = fitted[self.train_index_]
        elif is_dask_array(X):
            ref = None
        else:
            ref = np.asarray(X)
        d = len(self.feature_names_)
        constant = (np.zeros(d, dtype=bool) if ref is None or len(ref) == 0
                    else np.ptp(ref, 0) == 0)
        names, groups = _unit_groups(s["groups"], self.feature_names_,
                                     getattr(self, "encoder_", None))
        units = constant if groups is None else np.array([constant[g].all() for g in groups])
        # constant in the training rows: nothing learnt, nothing to test; constant only in
        # the rows tested (draws from elsewhere): the evidence stands, the CRT cannot run
        evidence_too = fitted is not None
        where = "training rows" if evidence_too else "rows tested"
        reason = f"constant in the {where}: no variation to test"
        if units.any() and (evidence_too or s["calibration"] == "crt"):
            shown = [names[j] for j in np.flatnonzero(units)[:10]]
            what = "evidence and p-value are" if evidence_too else "CRT p-value is"
            warnings.warn(
                f"{int(units.sum())} of {len(units)} {'groups' if groups else 'columns'} "
                f"are {reason} ({shown}{' ...' if units.sum() > 10 else ''}); their {what} "
                "NaN (details['not_testable'])", UserWarning, stacklevel=3)
        return names, groups, {"columns": constant, "units": units, "reason": reason,
                               "evidence": evidence_too}

    def _group_model(self, sampler: str | dict[str, str], ref: NDArray[np.float64],
                     units: list[NDArray[np.intp]], names: list[str]) -> crt.GroupModel:
        """The fitted model of each unit's columns given the others, from a sampler name:
        the linear models of :class:`nfbst.crt.GroupConditional`, or (``"auto"``, a dict of
        per-unit models) :class:`nfbst.conditionals.TypedConditional`."""
        if isinstance(sampler, str) and sampler in crt.SAMPLERS:
            return crt.GroupConditional(ref, units, "gaussian" if sampler == "gaussian"
                                        else "permutation")
        from .conditionals import TypedConditional

        models: dict[int, str] = {}
        if isinstance(sampler, dict):
            unknown = [k for k in sampler if k not in names]
            if unknown:
                raise ValueError(f"sampler names {unknown}, which are not tested features "
                                 f"(features: {names[:8]}{' ...' if len(names) > 8 else ''})")
            models = {names.index(k): v for k, v in sampler.items()}
        return TypedConditional(ref, units, models=models, random_state=self.random_state,
                                names=names)

    def _dcrt(self, X: NDArray[np.float64], y: np.ndarray | None, masks: NDArray[np.bool_],
              s: dict[str, Any], instance: bool, groups: list[NDArray[np.intp]] | None,
              names: list[str]) -> NDArray[np.float64]:
        """Distilled-CRT p-values ``(r, units)`` on every row of X (:mod:`nfbst.dcrt`)."""
        from .dcrt import GroupSampler, distilled_pvalues

        distillers = getattr(self, "distillers_", None)
        if distillers is None:
            raise ValueError("calibration='dcrt' needs the networks that leave each feature "
                             "out, fitted by fit(): use NFBST(calibration='dcrt', "
                             "holdout=None).fit(X, y)")
        if instance:
            raise ValueError("calibration='dcrt' has no per-instance form; test per "
                             "instance with calibration='crt'")
        if y is None:
            raise ValueError("calibration='dcrt' needs the targets: call test(X, y), or "
                             "test() to use the rows given to fit")
        units = groups if groups is not None else [np.array([j]) for j in range(X.shape[1])]
        R = distillers.residuals(X, y)  # (n, G, c)
        if R.shape[1] != len(units):
            raise ValueError(f"the {R.shape[1]} dCRT networks were fitted for other "
                             f"groups than the {len(units)} tested now; refit")
        ref = getattr(self, "X_fit_", X)
        if callable(s["sampler"]):
            if groups is not None:
                raise TypeError("a callable sampler resamples one column; with groups use "
                                f"sampler='auto' or one of {crt.SAMPLERS}")
            user = s["sampler"]

            def one_column(Xs: NDArray[np.float64], g: int, k: int, rng: np.random.Generator
                           ) -> NDArray[np.float64]:
                return crt.draw_column(user, Xs, g, k, rng)[..., None]

            sampler: GroupSampler = one_column
            columns = units
        else:
            cond = self._group_model(s["sampler"], ref, units, names)
            sampler, columns = cond, cond.columns
        return distilled_pvalues(X, R, sampler, columns, masks=masks,
                                 n_randomizations=s["n_randomizations"],
                                 random_state=self.random_state, verbose=self.verbose)

    def _crt(self, X: NDArray[np.float64], y: np.ndarray | None, eta: NDArray[np.float32],
             masks: NDArray[np.bool_], s: dict[str, Any], target: TargetLike,
             instance: bool, groups: list[NDArray[np.intp]] | None = None,
             constant: NDArray[np.bool_] | None = None,
             names: list[str] | None = None) -> NDArray[np.float64]:
        """CRT p-values ``(r, d)`` (or ``(n, d)`` per instance; ``(r, G)`` for groups); see
        :mod:`nfbst.crt`. Groups, and columns constant in the training rows, go through
        :class:`nfbst.crt.GroupConditional`."""
        if not isinstance(self.draws_, FunctionalDraws):
            raise TypeError(
                "calibration='crt' needs FunctionalDraws (draws evaluated in one batch), got "
                f"{type(self.draws_).__name__}; wrap modules with FunctionalDraws.from_modules "
                "or test with calibration='none'")
        use_loss = s["crt_statistic"] == "loss"
        if use_loss and y is None:
            raise ValueError(
                "calibration='crt' with crt_statistic='loss' needs the targets: call "
                "test(X, y), or test() to use the rows given to fit"
            )
        if instance and not use_loss:
            raise ValueError("crt_statistic='rule' has no per-instance form; use 'loss'")
        if instance:
            masks = np.eye(X.shape[0], dtype=bool)
        empty = np.flatnonzero(masks.sum(1) == 0)
        if empty.size:
            raise ValueError(
                f"region(s) {empty.tolist()} have no held-out rows for the CRT; use larger "
                "regions or a larger holdout"
            )
        n_train = self._training_rows_among(X) if use_loss else 0
        if n_train:
            warnings.warn(
                f"calibration='crt' with crt_statistic='loss' on {n_train} "
                "rows used to fit the network: the loss is smaller on training rows, so the "
                "p-values are anti-conservative; fit with holdout=... and call test()",
                UserWarning, stacklevel=3,
            )
        ref = getattr(self, "X_fit_", None)
        K = int(s["n_randomizations"])
        if groups is not None and not use_loss:
            raise ValueError("groups are tested with crt_statistic='loss'; 'rule' resamples "
                             "one column at a time")
        linear = isinstance(s["sampler"], str) and s["sampler"] in crt.SAMPLERS
        units = groups if groups is not None else [np.array([j]) for j in range(X.shape[1])]
        names = names if names is not None else [f"x{j}" for j in range(len(units))]
        if use_loss and not callable(s["sampler"]) and (
                groups is not None or not linear or (constant is not None and constant.any())):
            assert y is not None  # refused above
            classes = (getattr(self.model_, "classes_", None) if self.model_ is not None
                       else None)
            n_crt = min(len(self.draws_), int(s["crt_max_draws"]))
            return crt.loss_crt_pvalues(
                self.draws_.subset(np.arange(n_crt)), X, y, masks,
                sampler=self._group_model(s["sampler"], X if ref is None else ref, units,
                                          names),
                n_randomizations=K, random_state=self.random_state, classes=classes,
                n_jobs=self.n_jobs, verbose=self.verbose, groups=units)
        if callable(s["sampler"]) or linear:
            sampler = crt.make_sampler(s["sampler"], X if ref is None else ref)
        else:  # one column at a time from the typed models
            model = self._group_model(s["sampler"], X if ref is None else ref, units, names)

            def sampler(Xs: NDArray[np.float64], j: int, k: int, rng: np.random.Generator
                        ) -> NDArray[np.float64]:
                return model(Xs, j, k, rng)[..., 0]

        S = len(self.draws_)
        draws = self.draws_.subset(np.arange(min(S, int(s["crt_max_draws"]))))
        classes = getattr(self.model_, "classes_", None) if self.model_ is not None else None
        if use_loss:  # one joblib task per feature, on the draws' device (nfbst.crt)
            assert y is not None  # refused above
            return crt.loss_crt_pvalues(
                draws, X, y, masks, sampler=sampler, n_randomizations=K,
                random_state=self.random_state, classes=classes, n_jobs=self.n_jobs,
                verbose=self.verbose)
        # crt_statistic="rule": the attribution rule recomputed at the resampled inputs
        Xt = torch.as_tensor(X, dtype=torch.float32)

        def rule_stat(eta_j: NDArray[np.float32]) -> NDArray[np.float64]:  # (S, n) -> (r,)
            return _rule_statistic(eta_j, masks, s["rule"], s["quantile_lambda"], self)

        T_obs = np.stack([rule_stat(eta[:, :, j]) for j in range(X.shape[1])], 1)
        rngs = generators(self.random_state, X.shape[1])  # one stream per feature
        p = np.empty((masks.shape[0], X.shape[1]))
        for j in progress(range(X.shape[1]), self.verbose, desc="CRT"):
            rng = rngs[j]
            xj = crt.draw_column(sampler, X, j, K, rng)  # (K, n)
            Xk = Xt[None].repeat(K, 1, 1)
            Xk[..., j] = torch.as_tensor(xj, dtype=torch.float32)
            # the statistic of K copies at once, in blocks of about 2^22 cells
            n, d = X.shape
            block = max(1, 2**22 // (S * n * d))
            T_parts: list[NDArray[np.float64]] = []
            for k0 in range(0, K, block):
                Xb = Xk[k0:k0 + block].reshape(-1, d).numpy().astype(np.float64)
                eta_b = self._statistic(Xb, _tile_target(target, n, len(Xb) // n))
                eta_b = eta_b[..., j].reshape(S, -1, n)
                T_parts += [rule_stat(eta_b[:, k]) for k in range(eta_b.shape[1])]
            T_null = np.stack(T_parts)
            p[:, j] = crt.crt_pvalues(T_obs[:, j], T_null)
        return p

    # --------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Save settings (JSON), the network (if fitted here), the draws and the fitted rows
        (tensors)."""
        self._check_fitted()
        if not isinstance(self.statistic, str):
            raise TypeError("only NFBST objects with a registered statistic name can be saved")
        if callable(self.sampler):
            raise TypeError("an NFBST with a callable sampler cannot be saved; use a name")
        if not isinstance(self.draws_, FunctionalDraws):
            raise TypeError("only PosteriorDraws or FunctionalDraws can be saved, got "
                            f"{type(self.draws_).__name__}")
        model_kind = _model_kind(self.model_)
        os.makedirs(path, exist_ok=True)
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "model"}
        if params["target"] is not None and not isinstance(params["target"], (int, str)):
            params["target"] = np.asarray(params["target"]).tolist()
        if params["groups"] is not None:  # numpy integers are not JSON
            params["groups"] = {str(k): [c if isinstance(c, str) else int(c) for c in v]
                                for k, v in params["groups"].items()}
        if self.model_ is not None:
            self.model_.save(os.path.join(path, "model"))
        self.draws_.save(os.path.join(path, "draws"))
        rows = None
        if getattr(self, "X_fit_", None) is not None:
            tensors = {"X_fit": torch.as_tensor(self.X_fit_),
                       "train_index": torch.as_tensor(self.train_index_)}
            if hasattr(self, "holdout_index_"):
                tensors["holdout_index"] = torch.as_tensor(self.holdout_index_)
            torch.save(tensors, os.path.join(path, "rows.pt"))
            rows = {"y_fit": np.asarray(self.y_fit_).tolist()}
        with open(os.path.join(path, "nfbst.json"), "w") as fh:
            names_in = getattr(self, "feature_names_in_", None)
            encoder = getattr(self, "encoder_", None)
            json.dump({"params": params, "feature_names": self.feature_names_,
                       "encoder": None if encoder is None else encoder.get_state(),
                       "has_model": self.model_ is not None, "model_kind": model_kind,
                       "draws_kind": ("mlp" if isinstance(self.draws_, PosteriorDraws)
                                      else "functional"), "rows": rows,
                       "feature_names_in": None if names_in is None else list(names_in)}, fh)

    @classmethod
    def load(cls, path: str | os.PathLike[str], module: Any = None) -> Self:
        """Inverse of :meth:`save`; evidence computed after loading is identical.

        Draws of any module (:class:`~nfbst.functional_draws.FunctionalDraws`, a
        :class:`~nfbst.network.BayesianNetwork`) need ``module=``: the architecture (or the
        factory) they were saved from, since code is never unpickled. Every problem (missing
        or corrupt file, tampered keys or shapes) is a :class:`~nfbst._validation.LoadError`
        (a ValueError) naming the file.
        """
        from ._validation import LoadError

        path = os.fspath(path)
        json_path = os.path.join(path, "nfbst.json")
        meta = read_json(json_path)
        require_keys(meta, ("params", "feature_names", "has_model"), json_path)
        params = meta["params"]
        if not isinstance(params, dict):
            raise LoadError(f"cannot load: {json_path} key 'params' must be an object")
        if "lambda_" in params:  # folders saved before the rename
            params["quantile_lambda"] = params.pop("lambda_")
        draws_path = os.path.join(path, "draws")
        functional = meta.get("draws_kind", "mlp") == "functional"
        if functional and module is None:
            raise TypeError(f"{path} holds draws of a user's module: pass module=, the "
                            "architecture (or the factory) they were saved from")
        try:
            draws: FunctionalDraws = (
                FunctionalDraws.load(draws_path, module=module() if not isinstance(
                    module, torch.nn.Module) else module)
                if functional else PosteriorDraws.load(draws_path))
        except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
            if isinstance(exc, LoadError):
                raise
            raise LoadError(f"cannot load: the draws in {draws_path} cannot be read "
                            f"({type(exc).__name__}: {' '.join(str(exc).split())})") from None
        kind = meta.get("model_kind", "mlp" if meta["has_model"] else None)
        model: Any = None
        if kind == "mlp":
            model = BayesianMLP.load(os.path.join(path, "model"))
        elif kind == "network":
            from .network import BayesianNetwork

            model = BayesianNetwork.load(os.path.join(path, "model"), module=module)
        if model is not None:
            params["model"] = clone(model)
        names = meta["feature_names"]
        if not isinstance(names, list) or len(names) != draws.n_features:
            raise LoadError(f"cannot load: {json_path} feature_names {names!r} do not match the "
                            f"{draws.n_features} features of the draws in {draws_path}")
        try:
            self = cls.from_draws(draws, feature_names=names, **params)
            self._settings()
        except (TypeError, ValueError) as exc:
            raise LoadError(f"cannot load: {json_path} has invalid settings: "
                            f"{' '.join(str(exc).split())}") from None
        self.model_ = model
        if meta.get("feature_names_in") is not None:
            self.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        if meta.get("encoder") is not None:
            from .tabular import TableEncoder

            try:
                self.encoder_ = TableEncoder.from_state(meta["encoder"])
            except ValueError as exc:
                raise LoadError(f"cannot load: {json_path} key 'encoder': {exc}") from None
            if self.encoder_.feature_names_out_ != self.feature_names_:
                raise LoadError(f"cannot load: {json_path} key 'encoder' encodes columns "
                                f"{self.encoder_.feature_names_out_[:5]}..., not the draws' "
                                f"{self.feature_names_[:5]}...")
            self.n_features_in_ = len(self.encoder_.feature_names_in_)
        if meta.get("rows") is not None:
            rows_path = os.path.join(path, "rows.pt")
            tensors = load_tensors(rows_path)
            require_keys(tensors, ("X_fit", "train_index"), rows_path, "tensor")
            require_keys(meta["rows"], ("y_fit",), json_path, "rows key")
            self.X_fit_ = tensors["X_fit"].numpy()
            self.y_fit_ = np.asarray(meta["rows"]["y_fit"])
            self.train_index_ = tensors["train_index"].numpy()
            if "holdout_index" in tensors:
                self.holdout_index_ = tensors["holdout_index"].numpy()
            n = len(self.X_fit_)
            index = np.concatenate([self.train_index_, getattr(self, "holdout_index_", [])])
            if (self.X_fit_.ndim != 2 or self.X_fit_.shape[1] != draws.n_features
                    or len(self.y_fit_) != n or (index.size and not (
                        (index >= 0).all() and (index < n).all()))):
                raise LoadError(f"cannot load: {rows_path} (rows of shape "
                                f"{tuple(self.X_fit_.shape)}, {len(self.y_fit_)} targets in "
                                f"{json_path}) does not match the {draws.n_features} features")
        return self


def _model_kind(model: object) -> str | None:
    """How :meth:`NFBST.save` stores the fitted network: ``"mlp"``, ``"network"`` or None."""
    if model is None:
        return None
    if isinstance(model, BayesianMLP):
        return "mlp"
    from .network import BayesianNetwork

    if isinstance(model, BayesianNetwork):
        return "network"
    raise TypeError(f"an NFBST fitted with a {type(model).__name__} cannot be saved: it has no "
                    "save/load of its own (BayesianMLP and BayesianNetwork do); save its draws "
                    "with NFBST.from_draws(...) instead")


def _widen_first_layer(draws: PosteriorDraws, columns: NDArray[np.intp], d: int
                       ) -> PosteriorDraws:
    """MLP draws fitted on ``columns`` of the input, as draws on all ``d`` columns (zero
    first-layer weights for the others)."""
    import dataclasses

    W0 = draws.weights[0]
    wide = W0.new_zeros(W0.shape[0], W0.shape[1], d)
    wide[:, :, torch.as_tensor(columns)] = W0
    return dataclasses.replace(draws, weights=[wide, *draws.weights[1:]])


def _min_draws(alpha: float) -> int:
    """The fewest draws whose evidence 0 has a 95 % upper bound below ``alpha``."""
    return int(np.ceil(np.log(0.05) / np.log1p(-alpha)))


def _group_statistic(eta: Any, groups: list[NDArray[np.intp]],
                     constant: NDArray[np.bool_]) -> Any:
    """η of each group ``(S, n, G)``: the sum of its varying columns' η ``(S, n, d)``."""
    parts = [eta[..., g[~constant[g]]].sum(-1) if (~constant[g]).any()
             else eta[..., g[:1]].sum(-1) * 0 for g in groups]
    if is_dask_array(eta):
        import dask.array as dask_array

        return dask_array.stack(parts, axis=-1)
    return np.stack(parts, axis=-1)


def _check_model(model: object) -> Any:
    """An unfitted copy of ``NFBST(model=...)``: anything with ``fit(X, y)`` and
    ``sample_posterior(n) -> FunctionalDraws`` (a BayesianMLP, nfbst.network.BayesianNetwork)."""
    if isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model is a torch module ({type(model).__name__}), not a Bayesian network: wrap "
            "it as nfbst.network.BayesianNetwork(module, task=..., inference=...) to fit a "
            "posterior, or test draws you already have with NFBST.from_draws (a list of "
            "trained modules, FunctionalDraws.from_mc_dropout / from_laplace / from_samples)")
    if not (callable(getattr(model, "fit", None))
            and callable(getattr(model, "sample_posterior", None))):
        raise TypeError(
            f"model must be a BayesianMLP, an nfbst.network.BayesianNetwork or any estimator "
            f"with fit(X, y) and sample_posterior(n) -> FunctionalDraws, got "
            f"{type(model).__name__}; for draws you already have use NFBST.from_draws")
    if hasattr(model, "get_params"):
        return clone(model)
    return copy.deepcopy(model)


def _check_sampler(sampler: object) -> None:
    """``sampler`` is ``"auto"``, a linear model's name, a callable, or a dict of feature
    name -> model name (:data:`nfbst.conditionals.MODELS`)."""
    if callable(sampler):
        return
    if isinstance(sampler, dict):
        from .conditionals import MODELS

        for name, model in sampler.items():
            if not isinstance(name, str):
                raise TypeError(f"sampler keys must be feature names; got {name!r}")
            check_choice(model, f"sampler[{name!r}]", MODELS)
        return
    if not isinstance(sampler, str):
        raise TypeError(f"sampler must be one of {SAMPLER_NAMES}, a dict of feature name -> "
                        f"model, or a callable; got {sampler!r}")
    check_choice(sampler, "sampler", SAMPLER_NAMES)


def _unit_groups(groups: GroupsLike | None, feature_names: list[str],
                 encoder: TableEncoder | None
                 ) -> tuple[list[str], list[NDArray[np.intp]] | None]:
    """What is tested: names and columns per group (None: every column alone).

    A table's text and category columns are one-hot blocks (:class:`~nfbst.tabular.
    TableEncoder`): each is one unit named after its column, and a user's ``groups`` may name
    such a column (for all its encoded columns) or its encoded columns.
    """
    blocks = ({} if encoder is None or encoder.is_identity
              else {k: v.tolist() for k, v in encoder.groups_.items()})
    if groups is None:
        if not blocks:
            return list(feature_names), None
        groups = blocks
    elif blocks:
        expanded: dict[str, list[Any]] = {g: [c for m in cols for c in (
            blocks[m] if isinstance(m, str) and m in blocks and m not in feature_names
            else [m])] for g, cols in groups.items()}
        groups = cast("GroupsLike", expanded)
    return check_groups(groups, feature_names)


def _table_encoder(X: object) -> TableEncoder | None:
    """The :class:`~nfbst.tabular.TableEncoder` of a DataFrame given to :meth:`NFBST.fit`
    (None for arrays; its warning about one-valued columns is left to fit's own, about the
    training rows)."""
    from .tabular import TableEncoder

    if not hasattr(X, "columns"):
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*has one value", category=UserWarning)
        return TableEncoder().fit(X)


def _feature_names(X: object) -> list[str] | None:
    cols = getattr(X, "columns", None)
    return [str(c) for c in cols] if cols is not None else None


def _rule_statistic(eta_j: NDArray[np.floating[Any]], masks: NDArray[np.bool_], rule: str,
                    quantile_lambda: float, test: NFBST) -> NDArray[np.float64]:
    """CRT statistic of one feature per region from its draws ``eta_j`` (S, n): large = matters.

    ``"mean"``: |posterior mean| / posterior sd of the row-averaged statistic;
    ``"aggregate"``: posterior mean of the mean squared statistic; ``"quantile"``:
    1 − Q-GS evidence.
    """
    if rule == "quantile":
        inst = evidence_value(eta_j, null=test.null, axis=0, bandwidth=test.bandwidth)
        return 1.0 - quantile_rule(inst[:, None], masks, quantile_lambda)[:, 0]
    if rule == "aggregate":
        return aggregate_statistic(eta_j[..., None], masks)[..., 0].mean(0)
    avg = mean_statistic(eta_j[..., None], masks)[..., 0] - test.null  # (S, r)
    return np.abs(avg.mean(0)) / np.maximum(avg.std(0), np.finfo(float).tiny)


def _tile_target(target: TargetLike, n: int, copies: int) -> TargetLike:
    """A per-row ``target`` (length n) repeated for ``copies`` stacked copies of the rows."""
    if target is None or isinstance(target, (str, int, np.integer)):
        return target
    arr = np.asarray(target)
    return np.tile(arr, copies) if arr.ndim == 1 and len(arr) == n else target
