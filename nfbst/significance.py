"""``NFBST``: Full Bayesian Significance Testing of input features of a neural network."""

from __future__ import annotations

import inspect
import json
import os

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from ._validation import check_features, check_features_targets
from .bnn import BayesianMLP
from .evidence import evidence_value
from .posterior import PosteriorDraws
from .result import SignificanceResult
from .scopes import aggregate_statistic, quantile_rule, region_masks
from .statistics import get_statistic

SCOPES = ("instance", "local", "global")
RULES = ("quantile", "aggregate")


class NFBST(BaseEstimator):
    """Full Bayesian Significance Test of "feature j does not matter" for a Bayesian network.

    A :class:`~nfbst.BayesianMLP` is fitted, ``n_posterior_samples`` weight sets are drawn,
    an attribution statistic η (gradient, DeepLIFT, LRP, LIME, … or a callable) is computed
    for every draw and instance, and the FBST evidence value of H0: η = 0 is computed from the
    draws (Liu et al., AAAI 2024; Pereira & Stern 1999) per instance, per region or globally.

    Parameters
    ----------
    statistic : str or callable, default "grad"
        A registered statistic name (see :func:`nfbst.statistics.available_statistics`) or
        ``fn(draws, X, target=None, **options) -> (S, n, d)``.
    model : BayesianMLP, optional
        The (unfitted) Bayesian network to use; default ``BayesianMLP(random_state=...)``.
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
    rule : {"quantile", "aggregate"}
        Local/global rule: Q-GS (λ-quantile of instance-wise evidence) or the aggregated
        statistic (mean squared attribution per draw), see :mod:`nfbst.scopes`.
    lambda_ : float, default 0.5
        λ of the Q-GS rule.
    alpha : float, default 0.05
        Default level of :meth:`SignificanceResult.significant`.
    correction : None or "bh"
        Benjamini–Hochberg across features when deciding significance.
    random_state : int or None
    verbose : int

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
    """

    def __init__(
        self,
        statistic="grad",
        model=None,
        n_posterior_samples=300,
        target=None,
        statistic_options=None,
        bandwidth="silverman",
        null=0.0,
        rule="quantile",
        lambda_=0.5,
        alpha=0.05,
        correction=None,
        random_state=None,
        verbose=0,
    ):
        self.statistic = statistic
        self.model = model
        self.n_posterior_samples = n_posterior_samples
        self.target = target
        self.statistic_options = statistic_options
        self.bandwidth = bandwidth
        self.null = null
        self.rule = rule
        self.lambda_ = lambda_
        self.alpha = alpha
        self.correction = correction
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------------------- fit
    def fit(self, X, y):
        """Fit the Bayesian network and draw its posterior; returns ``self``."""
        get_statistic(self.statistic)  # fail early on an unknown name
        if self.model is None:
            model = BayesianMLP(random_state=self.random_state, verbose=self.verbose)
        elif isinstance(self.model, BayesianMLP):
            model = clone(self.model)
            if model.random_state is None:
                model.set_params(random_state=self.random_state)
        else:
            raise TypeError(f"model must be a BayesianMLP or None, got {type(self.model).__name__}")
        feature_names = _feature_names(X)
        X, y = check_features_targets(X, y, task=model.task)
        self.model_ = model.fit(X, y)
        self.draws_ = self.model_.sample_posterior(int(self.n_posterior_samples))
        self.n_features_in_ = X.shape[1]
        self.feature_names_ = feature_names or [f"x{j}" for j in range(X.shape[1])]
        return self

    @classmethod
    def from_draws(cls, draws, feature_names=None, **params) -> NFBST:
        """An NFBST that tests already available posterior draws (no network is fitted).

        ``draws`` is a :class:`PosteriorDraws` or any object with ``__len__`` and
        ``module(i)`` understood by the chosen statistic (e.g. the captum fallback).
        """
        self = cls(**params)
        self.model_ = None
        self.draws_ = draws
        d = draws.n_features if isinstance(draws, PosteriorDraws) else len(feature_names or [])
        if not d:
            raise ValueError("feature_names are required for draws that are not PosteriorDraws")
        self.n_features_in_ = d
        self.feature_names_ = list(feature_names) if feature_names else [f"x{j}" for j in range(d)]
        if len(self.feature_names_) != d:
            raise ValueError(f"feature_names has {len(self.feature_names_)} names for {d} features")
        return self

    def _check_fitted(self):
        if not hasattr(self, "draws_"):
            raise NotFittedError("This NFBST instance is not fitted yet; call fit(X, y) first")

    # ----------------------------------------------------------------- statistic
    def statistic_samples(self, X, target=None) -> np.ndarray:
        """Statistic draws η of shape ``(S, n, d)`` for all posterior draws at once."""
        self._check_fitted()
        X = check_features(X, self.n_features_in_)
        fn = get_statistic(self.statistic)
        target = self.target if target is None else target
        Xt = torch.as_tensor(X, dtype=torch.float32)
        options = dict(self.statistic_options or {})
        if "verbose" in inspect.signature(fn).parameters:
            options.setdefault("verbose", self.verbose)
        eta = fn(self.draws_, Xt, target=target, **options)
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
    def test(self, X, scope="global", regions=None, rule=None, lambda_=None, target=None,
             correction=None) -> SignificanceResult:
        """Evidence values of H0: "feature j does not matter" on ``X``.

        Parameters
        ----------
        X : array-like (n, d)
        scope : {"instance", "local", "global"}
            ``(n, d)``, ``(r, d)`` (needs ``regions``) or ``(d,)`` evidence.
        regions : masks, dict of masks or callable on X (``scope="local"``)
        rule, lambda_, target, correction
            Override the estimator's settings for this call.
        """
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        rule = self.rule if rule is None else rule
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        lam = self.lambda_ if lambda_ is None else lambda_
        correction = self.correction if correction is None else correction
        if correction not in (None, "bh"):
            raise ValueError(f"correction must be None or 'bh', got {correction!r}")
        Xc = check_features(X, getattr(self, "n_features_in_", None))
        eta = self.statistic_samples(Xc, target=target)  # (S, n, d)
        names = None
        if scope == "local":
            if regions is None:
                raise ValueError("scope='local' needs regions (masks or a callable on X)")
            masks, names = region_masks(Xc, regions)
        else:
            masks = np.ones((1, Xc.shape[0]), dtype=bool)
        details = {"n_draws": eta.shape[0], "n_rows": eta.shape[1]}
        if scope == "instance" or rule == "quantile":
            inst = evidence_value(eta, null=self.null, axis=0, bandwidth=self.bandwidth,
                                  verbose=self.verbose)
            mean, sd = eta.mean(0), eta.std(0)
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
            agg = aggregate_statistic(eta, masks)  # (S, r, d)
            ev = evidence_value(agg, null=0.0, axis=0, bandwidth=self.bandwidth,
                                verbose=self.verbose)
            mean, sd = agg.mean(0), agg.std(0)
            labels = ("mean_sq_statistic", "mean_sq_statistic_sd")
        if scope == "global":
            ev, mean, sd = ev[0], mean[0], sd[0]
        stat_name = self.statistic if isinstance(self.statistic, str) else getattr(
            self.statistic, "__name__", "custom")
        return SignificanceResult(
            evidence=np.asarray(ev, dtype=np.float64), scope=scope,
            feature_names=list(self.feature_names_), statistic=stat_name,
            statistic_mean=mean, statistic_sd=sd, correction=correction,
            alpha=self.alpha, region_names=names, details=details, statistic_labels=labels,
        )

    # --------------------------------------------------------------- persistence
    def save(self, path: str) -> None:
        """Save settings (JSON), the network (if fitted here) and the draws (tensors)."""
        self._check_fitted()
        if not isinstance(self.statistic, str):
            raise TypeError("only NFBST objects with a registered statistic name can be saved")
        if not isinstance(self.draws_, PosteriorDraws):
            raise TypeError("only PosteriorDraws can be saved")
        os.makedirs(path, exist_ok=True)
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "model"}
        if params["target"] is not None and not isinstance(params["target"], (int, str)):
            params["target"] = np.asarray(params["target"]).tolist()
        if self.model_ is not None:
            self.model_.save(os.path.join(path, "model"))
        self.draws_.save(os.path.join(path, "draws"))
        with open(os.path.join(path, "nfbst.json"), "w") as fh:
            json.dump({"params": params, "feature_names": self.feature_names_,
                       "has_model": self.model_ is not None}, fh)

    @classmethod
    def load(cls, path: str) -> NFBST:
        """Inverse of :meth:`save`; evidence computed after loading is identical."""
        with open(os.path.join(path, "nfbst.json")) as fh:
            meta = json.load(fh)
        draws = PosteriorDraws.load(os.path.join(path, "draws"))
        model = BayesianMLP.load(os.path.join(path, "model")) if meta["has_model"] else None
        params = meta["params"]
        if model is not None:
            params["model"] = clone(model)
        self = cls.from_draws(draws, feature_names=meta["feature_names"], **params)
        self.model_ = model
        return self


def _feature_names(X):
    cols = getattr(X, "columns", None)
    return [str(c) for c in cols] if cols is not None else None
