"""Bayesian multi-layer perceptron; the inference is a backend object (:mod:`nfbst.backends`)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from ._validation import check_features, check_features_targets
from .backends import get_backend
from .posterior import PosteriorDraws, check_activation, fold_standardization

PRESETS = {
    # nFBST paper, appendix Table 1 (toy column): Adam lr 0.01, StepLR(50, 0.5), sigma_start
    # 0.1, prior N(0, 0.1^2) (here on standardised weights), fixed likelihood sd 0.1.
    "paper": dict(
        lr=0.01, lr_step=50, lr_gamma=0.5, init_scale=0.1, prior_scale=0.1, noise=0.1
    ),
}


class BayesianMLP(BaseEstimator):
    """Bayesian MLP with Gaussian priors; the posterior comes from one of several backends.

    Inputs (and regression targets) are standardised internally; every output, and the
    :class:`~nfbst.posterior.PosteriorDraws` returned by :meth:`sample_posterior`, is in the
    user's units.

    Parameters
    ----------
    hidden : tuple of int, default (20, 20, 20)
        Hidden layer widths; ``()`` gives Bayesian linear (or softmax) regression.
    activation : {"relu", "tanh", "sigmoid", "gelu"}
    task : {"regression", "classification"}
    inference : {"vi", "ensemble", "hmc", "sgld", "laplace", "anchored", "nuts"}
        The posterior backend (:mod:`nfbst.backends`, one file each).
        ``"vi"``: mean-field Gaussian VI (Bayes-by-backprop, closed-form KL; see
        ``reparam``); fast, but drops posterior correlations (too narrow marginals).
        ``"ensemble"``: ``n_ensemble`` independent VI runs whose draws are pooled.
        ``"hmc"``: ``n_chains`` adaptive HMC chains advanced in one batched pass (step size
        and diagonal mass matrix adapted in warm-up, trajectory length learned from U-turns);
        split-R̂ and bulk ESS in ``diagnostics_``, a ``UserWarning`` when R̂ > 1.05.
        ``"sgld"``: ``n_chains`` stochastic-gradient Langevin chains on minibatches
        (``batch_size``), metric = the burn-in posterior variance (``warmup_steps`` burn-in,
        then ``n_steps`` steps per chain thinned to ``num_samples`` draws); same diagnostics.
        ``"laplace"``: laplace-torch's Gauss-Newton Laplace around the MAP (full GGN up to
        2000 parameters, KFAC beyond; prior precision by marginal likelihood; weight draws
        pushed through the nonlinear network; ``laplace_`` holds the tuned precision).
        ``"anchored"``: ``n_ensemble`` anchored MAP fits with target noise (Pearce et al.
        2020), trained in one batched pass; the members are the draws, so
        ``sample_posterior`` refuses more than ``n_ensemble``.
        ``"nuts"``: one pyro NUTS chain (the reference; slow).
    prior_scale : float
        Standard deviation of the N(0, s²) prior on every weight and bias (standardised units).
    noise : "learned" or float
        Likelihood sd for regression: learned (point estimate in VI, HalfNormal(1) prior on
        the standardised sd under NUTS) or fixed, in the target's units.
    n_steps, lr, batch_size, lr_step, lr_gamma, init_scale
        VI optimisation: Adam steps, learning rate, minibatch size (None: full batch up to
        4096 rows), StepLR schedule (per epoch; default None: cosine decay to lr/100 over the
        steps), initial posterior sd. ``n_steps`` and ``lr`` also drive the MAP fits of
        ``"laplace"``; ``n_steps``, ``lr`` (burn-in climb) and ``batch_size`` those of
        ``"sgld"``.
    reparam : {"local", "weight"}
        VI gradient estimator: the local reparameterisation trick (default; lower variance,
        O(batch × width) random numbers per step — on the toy example it reaches a better
        ELBO in the same steps) or one weight sample per step shared by the batch (classic
        Bayes-by-backprop, the cheapest step).
    n_ensemble : int
        Number of VI runs for ``inference="ensemble"`` (the paper pools 3 runs × 100 draws),
        or of members (= draws) for ``"anchored"``.
    num_samples, warmup_steps : int
        Sampler draws kept (in total over the chains) and warm-up iterations (per chain)
        for ``"hmc"``, ``"sgld"`` and ``"nuts"``.
    n_chains : int
        Independent chains of ``"hmc"`` and ``"sgld"`` (default 4; R̂ needs at least 2).
    preset : {None, "paper"}
        Use the nFBST paper's VI settings (overrides the corresponding arguments).
    random_state : int or None
    verbose : int
        0 silent; 1 progress bars.
    device : str
        torch device for the fit ("cpu" or "cuda"); used by ``"vi"`` and ``"ensemble"``,
        the other backends run on the CPU.

    Examples
    --------
    >>> import numpy as np
    >>> from nfbst import BayesianMLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = 2 * X[:, 0] + 0.1 * rng.normal(size=200)
    >>> bnn = BayesianMLP(hidden=(16,), n_steps=500, random_state=0).fit(X, y)
    >>> draws = bnn.sample_posterior(50)
    >>> draws.forward(X[:5]).shape
    torch.Size([50, 5, 1])
    """

    def __init__(
        self,
        hidden=(20, 20, 20),
        activation="relu",
        task="regression",
        inference="vi",
        prior_scale=1.0,
        noise="learned",
        n_steps=3000,
        lr=0.01,
        batch_size=None,
        lr_step=None,
        lr_gamma=0.5,
        init_scale=0.01,
        reparam="local",
        n_ensemble=3,
        num_samples=300,
        warmup_steps=300,
        n_chains=4,
        preset=None,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        self.hidden = hidden
        self.activation = activation
        self.task = task
        self.inference = inference
        self.prior_scale = prior_scale
        self.noise = noise
        self.n_steps = n_steps
        self.lr = lr
        self.batch_size = batch_size
        self.lr_step = lr_step
        self.lr_gamma = lr_gamma
        self.init_scale = init_scale
        self.reparam = reparam
        self.n_ensemble = n_ensemble
        self.num_samples = num_samples
        self.warmup_steps = warmup_steps
        self.n_chains = n_chains
        self.preset = preset
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    # ------------------------------------------------------------------ settings
    def _settings(self) -> dict:
        s = self.get_params()
        if self.preset is not None:
            if self.preset not in PRESETS:
                raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
            s.update(PRESETS[self.preset])
        check_activation(s["activation"])
        if s["task"] not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {s['task']!r}")
        hidden = tuple(s["hidden"])
        if any((not isinstance(h, (int, np.integer))) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be a tuple of positive ints, got {s['hidden']!r}")
        s["hidden"] = tuple(int(h) for h in hidden)
        if not (isinstance(s["noise"], str) and s["noise"] == "learned"):
            if not isinstance(s["noise"], (int, float)) or s["noise"] <= 0:
                raise ValueError(f"noise must be 'learned' or a positive float, got {s['noise']!r}")
        for name in ("prior_scale", "lr", "init_scale"):
            if not s[name] > 0:
                raise ValueError(f"{name} must be positive, got {s[name]!r}")
        for name in ("n_steps", "n_ensemble", "num_samples"):
            if int(s[name]) < 1:
                raise ValueError(f"{name} must be >= 1, got {s[name]!r}")
        get_backend(s["inference"]).check_settings(s)
        return s

    # ----------------------------------------------------------------------- fit
    def fit(self, X, y):
        """Fit the posterior to ``X`` (n, d) and ``y`` (n,) and return ``self``."""
        s = self._settings()
        X, y = check_features_targets(X, y, task=s["task"])
        dev = torch.device(s["device"])
        x_mean, x_scale = X.mean(0), X.std(0)
        Z = torch.as_tensor((X - x_mean) / x_scale, dtype=torch.float32, device=dev)
        if s["task"] == "regression":
            y_mean, y_scale = float(y.mean()), float(y.std())
            if y_scale == 0:
                raise ValueError("y is constant: nothing to learn")
            t = torch.as_tensor((y - y_mean) / y_scale, dtype=torch.float32, device=dev)
            n_out = 1
        else:
            self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise ValueError("y has a single class: classification needs at least two")
            t = torch.as_tensor(LabelEncoder().fit(self.classes_).transform(y), device=dev)
            y_mean, y_scale, n_out = 0.0, 1.0, len(self.classes_)
        self.n_features_in_ = X.shape[1]
        self.standardization_ = dict(
            x_mean=x_mean.tolist(), x_scale=x_scale.tolist(), y_mean=y_mean, y_scale=y_scale
        )
        self.layer_sizes_ = (X.shape[1], *s["hidden"], n_out)
        if not isinstance(s["noise"], str):
            s["noise"] = float(s["noise"]) / y_scale  # user's units -> standardised units
        seed = np.random.SeedSequence(s["random_state"])
        for name in _BACKEND_ATTRIBUTES:
            self.__dict__.pop(name, None)
        self.backend_ = get_backend(s["inference"])(self.layer_sizes_, s).fit(Z, t, seed)
        for name, value in self.backend_.estimator_attributes().items():
            setattr(self, name, value)
        return self

    # ------------------------------------------------------------------ sampling
    def sample_posterior(self, n_samples: int = 300, random_state=None) -> PosteriorDraws:
        """``n_samples`` posterior weight sets as :class:`PosteriorDraws` in the user's units.

        For an ensemble the draws are split as evenly as possible among the runs; samplers
        (``"hmc"``, ``"nuts"``) return their last ``n_samples`` kept draws (for ``"hmc"`` the
        latest draws of every chain, interleaved) and refuse to return more than they kept.
        """
        check_is_fitted(self, "layer_sizes_")
        if int(n_samples) < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples!r}")
        n_samples = int(n_samples)
        rs = self.random_state if random_state is None else random_state
        gen = torch.Generator().manual_seed(int(np.random.SeedSequence(rs).generate_state(1)[0]))
        W, b, noise = self.backend_.draws(n_samples, gen)
        st = self.standardization_
        W = [w.detach().double() for w in W]
        b = [v.detach().double() for v in b]
        x_mean = torch.tensor(st["x_mean"], dtype=torch.float64)
        x_scale = torch.tensor(st["x_scale"], dtype=torch.float64)
        if self.task == "regression":
            ym = torch.tensor([st["y_mean"]], dtype=torch.float64)
            ys = torch.tensor([st["y_scale"]], dtype=torch.float64)
            W, b = fold_standardization(W, b, x_mean, x_scale, ym, ys)
            noise = noise.detach().double() * st["y_scale"]
        else:
            W, b = fold_standardization(W, b, x_mean, x_scale)
            noise = None
        return PosteriorDraws(
            [w.float() for w in W], [v.float() for v in b], self.activation, self.task,
            None if noise is None else noise.float(),
        )

    # ---------------------------------------------------------------- prediction
    def _predictive_draws(self, n_samples):
        return self.sample_posterior(n_samples, random_state=self.random_state)

    def predict(self, X, return_std: bool = False, n_samples: int = 200):
        """Posterior-mean prediction (regression) or the most probable class.

        With ``return_std=True`` (regression) also the predictive sd: the spread of the
        draws' means plus the likelihood noise.
        """
        check_is_fitted(self, "layer_sizes_")
        X = check_features(X, self.n_features_in_)
        draws = self._predictive_draws(n_samples)
        with torch.no_grad():
            out = draws.forward(torch.as_tensor(X, dtype=torch.float32))  # (S, n, k)
        if self.task == "classification":
            if return_std:
                raise ValueError("return_std is for regression; use predict_proba")
            proba = torch.softmax(out, -1).mean(0).numpy()
            return self.classes_[proba.argmax(1)]
        mean = out[..., 0].mean(0)
        if not return_std:
            return mean.numpy().astype(np.float64)
        var = out[..., 0].var(0, unbiased=False) + (draws.noise_scale**2).mean()
        return mean.numpy().astype(np.float64), var.sqrt().numpy().astype(np.float64)

    def predict_proba(self, X, n_samples: int = 200):
        """Posterior-mean class probabilities ``(n, n_classes)`` (classification)."""
        check_is_fitted(self, "layer_sizes_")
        if self.task != "classification":
            raise ValueError("predict_proba is for task='classification'")
        X = check_features(X, self.n_features_in_)
        draws = self._predictive_draws(n_samples)
        with torch.no_grad():
            out = draws.forward(torch.as_tensor(X, dtype=torch.float32))
        return torch.softmax(out, -1).mean(0).numpy().astype(np.float64)

    def log_likelihood(self, X, y, n_samples: int = 200) -> float:
        """Mean test log predictive density per point (regression: log of the mixture of the
        draws' Gaussians, in the user's units; classification: log of the mean probability)."""
        check_is_fitted(self, "layer_sizes_")
        X, y = check_features_targets(X, y, task=self.task)
        draws = self._predictive_draws(n_samples)
        with torch.no_grad():
            out = draws.forward(torch.as_tensor(X, dtype=torch.float32)).double()
        if self.task == "regression":
            sd = draws.noise_scale.double()[:, None]
            yt = torch.as_tensor(y, dtype=torch.float64)[None, :]
            logp = torch.distributions.Normal(out[..., 0], sd).log_prob(yt)
        else:
            idx = torch.as_tensor(np.searchsorted(self.classes_, y))
            logp = torch.log_softmax(out, -1)[:, torch.arange(len(y)), idx]
        return float((torch.logsumexp(logp, 0) - math.log(logp.shape[0])).mean())

    # --------------------------------------------------------------- persistence
    def save(self, path: str) -> None:
        """Write ``path/bnn.pt`` (tensors only) and ``path/bnn.json`` (settings)."""
        check_is_fitted(self, "layer_sizes_")
        os.makedirs(path, exist_ok=True)
        tensors, backend_meta = self.backend_.state_dict()
        torch.save(tensors, os.path.join(path, "bnn.pt"))
        meta = dict(
            params=self.get_params(),
            layer_sizes=list(self.layer_sizes_),
            standardization=self.standardization_,
            backend=backend_meta,
            classes=None if self.task == "regression" else self.classes_.tolist(),
        )
        with open(os.path.join(path, "bnn.json"), "w") as fh:
            json.dump(meta, fh, default=_json_default)

    @classmethod
    def load(cls, path: str) -> BayesianMLP:
        """Inverse of :meth:`save`; uses ``torch.load(weights_only=True)``."""
        with open(os.path.join(path, "bnn.json")) as fh:
            meta = json.load(fh)
        params = meta["params"]
        params["hidden"] = tuple(params["hidden"])
        self = cls(**params)
        s = self._settings()
        tensors = torch.load(os.path.join(path, "bnn.pt"), weights_only=True)
        self.layer_sizes_ = tuple(meta["layer_sizes"])
        self.n_features_in_ = self.layer_sizes_[0]
        self.standardization_ = meta["standardization"]
        if meta["classes"] is not None:
            self.classes_ = np.asarray(meta["classes"])
        # files written before the backends existed hold VI runs or NUTS draws
        backend_meta = meta.get("backend", {"n_runs": meta.get("n_runs", 0)})
        self.backend_ = get_backend(s["inference"])(self.layer_sizes_, s)
        self.backend_.load_state_dict(tensors, backend_meta)
        for name, value in self.backend_.estimator_attributes().items():
            setattr(self, name, value)
        return self


_BACKEND_ATTRIBUTES = ("mean_field_", "loss_history_", "nuts_samples_", "diagnostics_")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")
