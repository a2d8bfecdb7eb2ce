"""Bayesian multi-layer perceptron; the inference is a backend object (:mod:`nfbst.backends`)."""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from probconstraints._random import RandomStateLike, check_random_state_arg, seed_sequence

from ._device import check_device
from ._parallel import check_n_jobs
from ._validation import (
    LoadError,
    check_choice,
    check_features_targets,
    check_float,
    check_float32_range,
    check_int,
    load_tensors,
    read_json,
    require_keys,
    validate_estimator_data,
)
from .backends import available, get_backend
from .posterior import PosteriorDraws, check_activation, fold_standardization

if TYPE_CHECKING:
    from typing_extensions import Self

    # scikit-learn ships no types: for the checker its estimators' metaclass is plain ``type``
    _EstimatorMeta = type
else:
    _EstimatorMeta = type(BaseEstimator)

TASKS = ("regression", "classification")

PRESETS = {
    # nFBST paper, appendix Table 1 (toy column): Adam lr 0.01, StepLR(50, 0.5), sigma_start
    # 0.1, prior N(0, 0.1^2) (here on standardised weights), fixed likelihood sd 0.1.
    "paper": dict(
        lr=0.01, lr_step=50, lr_gamma=0.5, init_scale=0.1, prior_scale=0.1, noise=0.1
    ),
}


class _TaskDispatch(_EstimatorMeta):
    """``BayesianMLP(task=...)`` builds the regressor or classifier (the compatible factory).

    Type checkers read ``BayesianMLP``'s ``__init__`` only, which has no ``task``: typed code
    names :class:`BayesianMLPRegressor` or :class:`BayesianMLPClassifier` instead.
    """

    def __call__(cls, *args: Any, **params: Any) -> Any:
        if cls is BayesianMLP:
            if args:
                raise TypeError("BayesianMLP takes keyword arguments only, got "
                                f"{len(args)} positional argument(s)")
            task = params.pop("task", "regression")
            check_choice(task, "task", TASKS)
            cls = BayesianMLPRegressor if task == "regression" else BayesianMLPClassifier
        return type(BaseEstimator).__call__(cls, *args, **params)

    @property
    def __signature__(cls) -> inspect.Signature:
        """The constructor's keyword arguments (and ``task`` for the factory), so that
        ``inspect.signature(cls)`` does not show ``__call__``'s."""
        sig = inspect.signature(cls.__init__)  # type: ignore[misc]  # the class's own __init__
        params = list(sig.parameters.values())[1:]  # without self
        if cls is BayesianMLP:
            params.insert(0, inspect.Parameter("task", inspect.Parameter.KEYWORD_ONLY,
                                               default="regression"))
        return sig.replace(parameters=params)


class BayesianMLP(BaseEstimator, metaclass=_TaskDispatch):
    """Bayesian MLP with Gaussian priors; the posterior comes from one of several backends.

    ``BayesianMLP(task="regression", ...)`` returns a :class:`BayesianMLPRegressor` and
    ``BayesianMLP(task="classification", ...)`` a :class:`BayesianMLPClassifier` (both are
    instances of ``BayesianMLP``); use those classes directly in scikit-learn pipelines. Inputs
    (and regression targets) are standardised internally; every output, and the
    :class:`~nfbst.posterior.PosteriorDraws` returned by :meth:`sample_posterior`, is in the
    user's units. A fitted model's predictions are deterministic: the posterior draws behind
    :meth:`predict` are fixed at :meth:`fit` (``posterior_seed_``), also for
    ``random_state=None``.

    Parameters
    ----------
    hidden : tuple of int, default (20, 20, 20)
        Hidden layer widths; ``()`` gives Bayesian linear (or softmax) regression.
    activation : {"relu", "tanh", "sigmoid", "gelu"}
    task : {"regression", "classification"}
        Only for the ``BayesianMLP(...)`` factory: which of the two classes to build.
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
    random_state : None, int, numpy RandomState or Generator
        Seeds the fit and the draws behind ``predict``; None (or a RandomState/Generator)
        draws a seed at fit, kept in ``posterior_seed_``.
    verbose : int, default 0
        0 silent; 1 progress bars on a terminal (none in a non-terminal log); 2 progress bars
        also in logs (updated at most every 10 s).
    device : str
        torch device ("cpu" or "cuda") of the fit (every backend but ``"nuts"``), of the
        draws of ``sample_posterior`` and of ``predict``; a device that is not available is
        a ``ValueError`` naming it.
    n_jobs : int, optional
        Joblib workers for the independent parts of the fit: ensemble runs, groups of chains
        (``"hmc"``, ``"sgld"``) and of anchored members (scikit-learn convention: None is 1
        unless a ``joblib.parallel_config`` context says otherwise; see ``nfbst._parallel``).
        The result does not depend on it.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame with string column names; ``predict`` then checks the
        names and their order.
    posterior_seed_ : int
        Seed of the default posterior draws (``sample_posterior``, ``predict``).
    layer_sizes_, standardization_, backend_
        The network's widths, the standardisation folded into the draws, the backend.

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
        *,
        hidden: Sequence[int] = (20, 20, 20),
        activation: str = "relu",
        inference: str = "vi",
        prior_scale: float = 1.0,
        noise: Literal["learned"] | float = "learned",
        n_steps: int = 3000,
        lr: float = 0.01,
        batch_size: int | None = None,
        lr_step: int | None = None,
        lr_gamma: float = 0.5,
        init_scale: float = 0.01,
        reparam: Literal["local", "weight"] = "local",
        n_ensemble: int = 3,
        num_samples: int = 300,
        warmup_steps: int = 300,
        n_chains: int = 4,
        preset: Literal["paper"] | None = None,
        random_state: RandomStateLike = None,
        verbose: int = 0,
        device: str | torch.device = "cpu",
        n_jobs: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
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
        self.n_jobs = n_jobs

    task = "regression"

    # ------------------------------------------------------------------ settings
    def _settings(self) -> dict[str, Any]:
        """Every setting checked (type and range) before any work; errors name the argument."""
        s = self.get_params()
        s["task"] = self.task
        if self.preset is not None:
            check_choice(self.preset, "preset", sorted(PRESETS))
            s.update(PRESETS[self.preset])
        check_activation(s["activation"])
        check_choice(s["inference"], "inference", available())
        try:
            hidden = tuple(s["hidden"])
        except TypeError:
            raise TypeError(f"hidden must be a tuple of positive ints, got {s['hidden']!r}"
                            ) from None
        if any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
               for h in hidden):
            raise ValueError(f"hidden must be a tuple of positive ints, got {s['hidden']!r}")
        s["hidden"] = tuple(int(h) for h in hidden)
        if not (isinstance(s["noise"], str) and s["noise"] == "learned"):
            if isinstance(s["noise"], str):
                raise ValueError(f"noise must be 'learned' or a positive float, got "
                                 f"{s['noise']!r}")
            check_float(s["noise"], "noise", 0)
        for name in ("prior_scale", "lr", "init_scale"):
            s[name] = check_float(s[name], name, 0)
        s["lr_gamma"] = check_float(s["lr_gamma"], "lr_gamma", 0, 1, high_inclusive=True)
        for name in ("n_steps", "n_ensemble", "num_samples", "n_chains"):
            s[name] = check_int(s[name], name, 1)
        s["warmup_steps"] = check_int(s["warmup_steps"], "warmup_steps", 0)
        s["batch_size"] = check_int(s["batch_size"], "batch_size", 1, allow_none=True)
        s["lr_step"] = check_int(s["lr_step"], "lr_step", 1, allow_none=True)
        check_choice(s["reparam"], "reparam", ("local", "weight"))
        check_int(s["verbose"], "verbose", 0)
        check_random_state_arg(s["random_state"])
        if not isinstance(s["device"], (str, torch.device)):
            raise TypeError(f"device must be a str such as 'cpu' or 'cuda', got {s['device']!r}")
        check_device(s["device"])
        check_n_jobs(s["n_jobs"])
        get_backend(s["inference"]).check_settings(s)
        return s

    # ----------------------------------------------------------------------- fit
    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Fit the posterior to ``X`` (n, d) and ``y`` (n,) and return ``self``.

        ``X`` may be a DataFrame of numeric columns (nullable ``Int64``/``Float64`` included);
        its column names are kept in ``feature_names_in_`` and checked at prediction.
        """
        s = self._settings()
        X, y = validate_estimator_data(self, X, y, reset=True)
        X, y = check_features_targets(X, y, task=self.task,
                                      columns=getattr(self, "feature_names_in_", None))
        dev = torch.device(s["device"])
        x_mean, x_scale = X.mean(0), X.std(0)
        Z = torch.as_tensor((X - x_mean) / x_scale, dtype=torch.float32, device=dev)
        if self.task == "regression":
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
        self.standardization_ = dict(
            x_mean=x_mean.tolist(), x_scale=x_scale.tolist(), y_mean=y_mean, y_scale=y_scale
        )
        self.layer_sizes_ = (X.shape[1], *s["hidden"], n_out)
        if not isinstance(s["noise"], str):
            s["noise"] = float(s["noise"]) / y_scale  # user's units -> standardised units
        seed = seed_sequence(s["random_state"])  # fresh entropy for None, fixed here
        self.posterior_seed_ = int(cast(int, seed.entropy))  # an int: from an int or None
        previous = self.__dict__.get("backend_")  # a refit: drop what the last backend set
        for name in () if previous is None else previous.estimator_attributes():
            self.__dict__.pop(name, None)
        self.backend_ = get_backend(s["inference"])(self.layer_sizes_, s).fit(Z, t, seed)
        for name, value in self.backend_.estimator_attributes().items():
            setattr(self, name, value)
        return self

    # ------------------------------------------------------------------ sampling
    def sample_posterior(self, n_samples: int = 300,
                         random_state: RandomStateLike = None) -> PosteriorDraws:
        """``n_samples`` posterior weight sets as :class:`PosteriorDraws` in the user's units.

        ``random_state=None`` gives the draws fixed at fit (``posterior_seed_``), so repeated
        calls agree. For an ensemble the draws are split as evenly as possible among the runs;
        samplers (``"hmc"``, ``"nuts"``) return their last ``n_samples`` kept draws (for
        ``"hmc"`` the latest draws of every chain, interleaved) and refuse to return more than
        they kept.
        """
        check_is_fitted(self, "layer_sizes_")
        n_samples = check_int(n_samples, "n_samples", 1)
        seed: int | None
        if random_state is None:
            seed = getattr(self, "posterior_seed_", None)
            if seed is None:  # a model saved before posterior_seed_ existed
                seed = cast(int, seed_sequence(self.random_state).entropy)
        else:
            seed = cast(int, seed_sequence(random_state).entropy)  # an int: from an int or None
        gen = torch.Generator().manual_seed(
            int(np.random.SeedSequence(int(seed)).generate_state(1)[0]))
        W, b, noise = self.backend_.draws(n_samples, gen)
        st = self.standardization_
        W = [w.detach().double() for w in W]
        b = [v.detach().double() for v in b]
        noise_scale: torch.Tensor | None
        x_mean = torch.tensor(st["x_mean"], dtype=torch.float64)
        x_scale = torch.tensor(st["x_scale"], dtype=torch.float64)
        if self.task == "regression":
            ym = torch.tensor([st["y_mean"]], dtype=torch.float64)
            ys = torch.tensor([st["y_scale"]], dtype=torch.float64)
            W, b = fold_standardization(W, b, x_mean, x_scale, ym, ys)
            noise_scale = noise.detach().double() * st["y_scale"]
        else:
            W, b = fold_standardization(W, b, x_mean, x_scale)
            noise_scale = None
        draws = PosteriorDraws(
            [w.float() for w in W], [v.float() for v in b], self.activation, self.task,
            None if noise_scale is None else noise_scale.float(),
        )
        dev = check_device(self.device)
        return draws if dev.type == "cpu" else draws.to(device=dev)

    # ---------------------------------------------------------------- prediction
    def _forward(self, X: ArrayLike, n_samples: int | None
                 ) -> tuple[NDArray[np.float64], PosteriorDraws, torch.Tensor]:
        """Validated ``X``, the draws and their outputs ``(S, n, k)`` (float32)."""
        check_is_fitted(self, "layer_sizes_")
        if n_samples is None:  # 200 draws, or all a sampler kept if fewer
            n_samples = min(200, self.backend_.n_available() or 200)
        n_samples = check_int(n_samples, "n_samples", 1)
        X = validate_estimator_data(self, X, reset=False)
        check_float32_range(X, "X")
        draws = self.sample_posterior(n_samples)
        with torch.no_grad():
            out = draws.forward(torch.tensor(X, dtype=torch.float32))  # (S, n, k), a copy
        if out.device.type != "cpu":  # the draws live on self.device; results on the CPU
            draws, out = draws.to(device="cpu"), out.cpu()
        return X, draws, out

    def log_likelihood(self, X: ArrayLike, y: ArrayLike, n_samples: int | None = None) -> float:
        """Mean test log predictive density per point (regression: log of the mixture of the
        draws' Gaussians, in the user's units; classification: log of the mean probability)."""
        check_is_fitted(self, "layer_sizes_")
        X = validate_estimator_data(self, X, reset=False)
        X, y = check_features_targets(X, y, task=self.task, constant_ok=True)
        if self.task == "classification":
            unknown = np.setdiff1d(y, self.classes_)
            if unknown.size:
                raise ValueError(f"y has labels {unknown.tolist()} not seen at fit; classes "
                                 f"are {self.classes_.tolist()}")
        if n_samples is None:
            n_samples = min(200, self.backend_.n_available() or 200)
        draws = self.sample_posterior(check_int(n_samples, "n_samples", 1))
        with torch.no_grad():
            out = draws.forward(torch.as_tensor(X, dtype=torch.float32)).double().cpu()
        if self.task == "regression":
            assert draws.noise_scale is not None  # regression draws carry the noise sd
            sd = draws.noise_scale.double().cpu()[:, None]
            yt = torch.as_tensor(y, dtype=torch.float64)[None, :]
            logp = torch.distributions.Normal(out[..., 0], sd).log_prob(yt)
        else:
            idx = torch.as_tensor(np.searchsorted(self.classes_, y))
            logp = torch.log_softmax(out, -1)[:, torch.arange(len(y)), idx]
        return float((torch.logsumexp(logp, 0) - math.log(logp.shape[0])).mean())

    # --------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``path/bnn.pt`` (tensors only) and ``path/bnn.json`` (settings)."""
        check_is_fitted(self, "layer_sizes_")
        os.makedirs(path, exist_ok=True)
        tensors, backend_meta = self.backend_.state_dict()
        torch.save(tensors, os.path.join(path, "bnn.pt"))
        names = getattr(self, "feature_names_in_", None)
        meta = dict(
            task=self.task,
            params=self.get_params(),
            layer_sizes=list(self.layer_sizes_),
            standardization=self.standardization_,
            backend=backend_meta,
            classes=None if self.task == "regression" else self.classes_.tolist(),
            posterior_seed=str(self.posterior_seed_),
            feature_names_in=None if names is None else [str(c) for c in names],
        )
        with open(os.path.join(path, "bnn.json"), "w") as fh:
            json.dump(meta, fh, default=_json_default)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BayesianMLP:
        """Inverse of :meth:`save`; uses ``torch.load(weights_only=True)``.

        Every problem (missing or corrupt file, tampered keys or shapes) is a
        :class:`~nfbst._validation.LoadError` (a ValueError) naming the file.
        """
        json_path = os.path.join(os.fspath(path), "bnn.json")
        pt_path = os.path.join(os.fspath(path), "bnn.pt")
        meta = read_json(json_path)
        require_keys(meta, ("params", "layer_sizes", "standardization", "classes"), json_path)
        if not isinstance(meta["params"], dict):
            raise LoadError(f"cannot load: {json_path} key 'params' must be an object")
        params = dict(meta["params"])
        task = params.pop("task", meta.get("task", "regression"))
        if task not in TASKS:
            raise LoadError(f"cannot load: {json_path} has task {task!r}, expected one of "
                            f"{TASKS}")
        klass = BayesianMLPRegressor if task == "regression" else BayesianMLPClassifier
        if cls not in (BayesianMLP, klass):
            raise LoadError(f"cannot load: {json_path} holds a {klass.__name__}, not a "
                            f"{cls.__name__}")
        if isinstance(params.get("hidden"), list):
            params["hidden"] = tuple(params["hidden"])
        try:
            self = klass(**params)
            s = self._settings()
        except (TypeError, ValueError) as exc:
            raise LoadError(f"cannot load: {json_path} has invalid settings: {exc}") from None
        sizes = meta["layer_sizes"]
        if (not isinstance(sizes, list) or len(sizes) != len(s["hidden"]) + 2
                or list(sizes[1:-1]) != list(s["hidden"])
                or not all(isinstance(v, int) and v >= 1 for v in sizes)):
            raise LoadError(f"cannot load: {json_path} layer_sizes {sizes!r} do not match "
                            f"hidden={s['hidden']!r}")
        self.layer_sizes_ = tuple(sizes)
        self.n_features_in_ = self.layer_sizes_[0]
        st = meta["standardization"]
        require_keys(st, ("x_mean", "x_scale", "y_mean", "y_scale"), json_path,
                     "standardization key")
        if len(st["x_mean"]) != self.n_features_in_ or len(st["x_scale"]) != self.n_features_in_:
            raise LoadError(f"cannot load: {json_path} standardization has "
                            f"{len(st['x_mean'])} means for {self.n_features_in_} features")
        self.standardization_ = st
        if meta.get("feature_names_in") is not None:
            self.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        seed = meta.get("posterior_seed")
        self.posterior_seed_ = (int(seed) if seed is not None
                                else int(cast(int, seed_sequence(s["random_state"]).entropy)))
        if meta["classes"] is not None:
            self.classes_ = np.asarray(meta["classes"])
            if len(self.classes_) != self.layer_sizes_[-1]:
                raise LoadError(f"cannot load: {json_path} lists {len(self.classes_)} classes "
                                f"for {self.layer_sizes_[-1]} outputs")
        elif task == "classification":
            raise LoadError(f"cannot load: {json_path} has no classes for a classifier")
        tensors = load_tensors(pt_path)
        # files written before the backends existed hold VI runs or NUTS draws
        backend_meta = meta.get("backend", {"n_runs": meta.get("n_runs", 0)})
        self.backend_ = get_backend(s["inference"])(self.layer_sizes_, s)
        try:
            self.backend_.load_state_dict(tensors, backend_meta)
            self.sample_posterior(1)  # shapes agree with layer_sizes
        except (KeyError, IndexError, RuntimeError, TypeError, ValueError) as exc:
            raise LoadError(
                f"cannot load: {pt_path} does not match {json_path} ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())}); the files were tampered with or mixed up"
            ) from None
        for name, value in self.backend_.estimator_attributes().items():
            setattr(self, name, value)
        return self


class BayesianMLPRegressor(RegressorMixin, BayesianMLP):
    __doc__ = (BayesianMLP.__doc__ or "").replace(  # None under python -OO
        "    ``BayesianMLP(task=\"regression\", ...)`` returns",
        "    The regressor (``score`` is the R²). "
        "``BayesianMLP(task=\"regression\", ...)`` returns")

    task = "regression"

    @overload
    def predict(self, X: ArrayLike, return_std: Literal[False] = False,
                n_samples: int | None = None) -> NDArray[np.float64]: ...

    @overload
    def predict(self, X: ArrayLike, return_std: Literal[True],
                n_samples: int | None = None
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

    def predict(self, X: ArrayLike, return_std: bool = False, n_samples: int | None = None
                ) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Posterior-mean prediction; with ``return_std=True`` also the predictive sd (the
        spread of the draws' means plus the likelihood noise). ``n_samples`` posterior draws
        (default 200, or all a sampler kept if fewer) fixed at fit."""
        _, draws, out = self._forward(X, n_samples)
        out = out.double()  # the mean over draws in float64: the same for any subset of rows
        mean = out[..., 0].mean(0)
        if not return_std:
            return mean.numpy().astype(np.float64)
        assert draws.noise_scale is not None  # regression draws carry the noise sd
        var = out[..., 0].var(0, unbiased=False) + (draws.noise_scale**2).mean()
        return mean.numpy().astype(np.float64), var.sqrt().numpy().astype(np.float64)


class BayesianMLPClassifier(ClassifierMixin, BayesianMLP):
    __doc__ = (BayesianMLP.__doc__ or "").replace(  # None under python -OO
        "    ``BayesianMLP(task=\"regression\", ...)`` returns",
        "    The classifier (``score`` is the accuracy, ``predict_proba`` the posterior-mean\n"
        "    class probabilities; a continuous target is refused). "
        "``BayesianMLP(task=\"regression\", ...)`` returns")

    task = "classification"

    def predict(self, X: ArrayLike, n_samples: int | None = None) -> np.ndarray:
        """The class of largest posterior-mean probability."""
        check_is_fitted(self, "layer_sizes_")
        return self.classes_[self.predict_proba(X, n_samples).argmax(1)]

    def predict_proba(self, X: ArrayLike, n_samples: int | None = None) -> NDArray[np.float64]:
        """Posterior-mean class probabilities ``(n, n_classes)``."""
        _, _, out = self._forward(X, n_samples)
        return torch.softmax(out.double(), -1).mean(0).numpy()


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")
