"""Bayesian version of any torch module: ``BayesianNetwork(module, inference=...)``.

The user's ``nn.Module`` (or a zero-argument factory that builds one) is the network; a
posterior method from :mod:`nfbst.backends` (``kind="module"``: ``"vi"``, ``"ensemble"``,
``"anchored"``, ``"laplace"``, ``"sgld"``, ``"hmc"``) gives parameter draws, returned as
:class:`~nfbst.functional_draws.FunctionalDraws` that map the user's ``X`` to the user's
``y`` units (regression targets are standardised for the fit; the draws' template carries a
forward hook ``out · y_scale + y_mean``). The inputs are passed to the module as they are
(no standardisation: the module's own preprocessing applies).
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted
from torch import nn

from probconstraints._random import RandomStateLike, check_random_state_arg, seed_sequence

from ._device import check_device
from ._parallel import check_n_jobs
from ._validation import LoadError, check_choice, check_int, load_tensors, read_json
from .backends import get_backend
from .backends.module_base import (
    ModuleBackend,
    ModuleProblem,
    module_factory,
    unreset_parameters,
)
from .functional_draws import FunctionalDraws, OutputAffine

if TYPE_CHECKING:
    from typing_extensions import Self

TASKS = ("regression", "classification")
ModuleLike = nn.Module | Callable[[], nn.Module]


class BayesianNetwork(BaseEstimator):
    """A posterior over the parameters of any torch module, scikit-learn style.

    Parameters
    ----------
    module : torch.nn.Module or callable
        The network, or a zero-argument factory that builds one. Its output must be ``(n,)``
        or ``(n, 1)`` for regression and ``(n, n_classes)`` logits for classification. Every
        parameter gets the N(0, ``prior_scale``²) prior; the module runs in ``eval()`` mode
        (dropout off, BatchNorm on its stored statistics). Starting points are drawn afresh
        from ``random_state``: a factory is called, a module has its ``reset_parameters()``
        re-run on a copy (parameters that no ``reset_parameters`` covers keep the module's
        values; a ``UserWarning`` names them — pass a factory instead).
    task : {"regression", "classification"}
    inference : str
        The posterior method, one file each in :mod:`nfbst.backends` (``module_*.py``):
        ``"vi"`` mean-field Gaussian VI (Bayes-by-backprop; local reparameterisation on
        ``Linear``/``Conv`` layers); ``"ensemble"`` deep ensembles; ``"anchored"`` anchored
        ensembles (Pearce et al. 2020); ``"laplace"`` laplace-torch (the last layer by
        default, or all weights; full, KFAC or diagonal GGN; prior precision by marginal
        likelihood); ``"sgld"`` preconditioned SGLD chains; ``"hmc"`` adaptive HMC chains
        (at most 5000 parameters).
    inference_params : dict, optional
        The method's own settings (``nfbst.backends.get_backend(name, kind="module")
        .defaults`` lists them with their defaults, e.g. ``{"n_epochs": 50, "lr": 0.01}``);
        an unknown option is a ``ValueError`` naming it and the method.
    input_shape : tuple of int, optional
        The shape of one row as the module takes it, e.g. ``(1, 8, 8)``; default
        ``(in_features,)`` of a leading ``nn.Linear``. ``X`` may be flat ``(n, d)`` with
        ``d = prod(input_shape)`` or shaped ``(n, *input_shape)``.
    random_state : None, int, numpy RandomState or Generator
        Seeds the fit and the draws behind ``predict`` (kept in ``posterior_seed_``).
    verbose : int, default 0
        Progress bars (``probconstraints._progress``) when > 0.
    n_jobs : int, optional
        Kept for the NFBST protocol (the statistics and the CRT use it); the fit itself runs
        its members or chains in one batched pass.
    device : str, optional
        torch device of the fit and the draws (None: the CPU).

    Attributes
    ----------
    classes_ : ndarray
        Classification: the labels, in the order of the module's outputs.
    input_shape_ : tuple of int
    n_features_in_ : int
    backend_ : ModuleBackend
    diagnostics_ : dict
        The backend's facts (loss history, R̂, tuned prior precision, ...), ``fit_seconds``
        and ``vectorized`` (whether ``vmap`` ran the module).
    posterior_seed_ : int

    Examples
    --------
    >>> import numpy as np, torch
    >>> from torch import nn
    >>> from nfbst.network import BayesianNetwork
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = 2 * X[:, 0] + 0.1 * rng.normal(size=100)
    >>> make = lambda: nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    >>> net = BayesianNetwork(make, inference="ensemble",
    ...                       inference_params={"n_members": 4, "n_epochs": 200},
    ...                       random_state=0).fit(X, y)
    >>> draws = net.sample_posterior(4)
    >>> draws.forward(X[:5]).shape
    torch.Size([4, 5, 1])
    >>> float(np.corrcoef(net.predict(X), y)[0, 1]) > 0.95
    True
    """

    def __init__(
        self,
        module: ModuleLike,
        *,
        task: str = "regression",
        inference: str = "vi",
        inference_params: Mapping[str, Any] | None = None,
        input_shape: Sequence[int] | None = None,
        random_state: RandomStateLike = None,
        verbose: int = 0,
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.module = module
        self.task = task
        self.inference = inference
        self.inference_params = inference_params
        self.input_shape = input_shape
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.device = device

    # ------------------------------------------------------------------ checks
    def _backend(self) -> ModuleBackend:
        """Every setting checked before any work; the backend with its options."""
        check_choice(self.task, "task", TASKS)
        check_int(self.verbose, "verbose", 0)
        check_random_state_arg(self.random_state)
        check_n_jobs(self.n_jobs)
        check_device(self.device)
        if self.inference_params is not None and not isinstance(self.inference_params,
                                                                Mapping):
            raise TypeError(f"inference_params must be a dict of the backend's options, got "
                            f"{type(self.inference_params).__name__}")
        cls = get_backend(self.inference, kind="module")
        return cls(**dict(self.inference_params or {}))

    def _template(self) -> nn.Module:
        """A copy of the module (or the factory's output) with its parameter count checked."""
        if isinstance(self.module, nn.Module):
            net = copy.deepcopy(self.module)
        elif callable(self.module):
            net = self.module()
            if not isinstance(net, nn.Module):
                raise TypeError(f"module factory must return a torch.nn.Module, got "
                                f"{type(net).__name__}")
        else:
            raise TypeError(f"module must be a torch.nn.Module or a zero-argument factory, "
                            f"got {type(self.module).__name__}")
        if not any(True for _ in net.parameters()):
            raise ValueError(f"module {type(net).__name__} has no parameters: there is "
                             "nothing to put a posterior on")
        return net

    def _input_shape(self, net: nn.Module) -> tuple[int, ...]:
        if self.input_shape is not None:
            try:
                shape = tuple(int(v) for v in self.input_shape)
            except (TypeError, ValueError):
                raise TypeError(f"input_shape must be a tuple of positive ints, got "
                                f"{self.input_shape!r}") from None
            if not shape or min(shape) < 1:
                raise ValueError(f"input_shape must be a tuple of positive ints, got "
                                 f"{self.input_shape!r}")
            return shape
        for m in net.modules():
            if isinstance(m, nn.Linear):
                return (int(m.in_features),)
            if any(True for _ in m.parameters(recurse=False)):
                break
        raise ValueError(f"input_shape is required for a {type(net).__name__} whose first "
                         "layer is not nn.Linear: pass the shape of one row, e.g. "
                         "input_shape=(1, 8, 8)")

    def _rows(self, X: ArrayLike, shape: tuple[int, ...], dtype: torch.dtype,
              device: torch.device) -> torch.Tensor:
        """``X`` (flat ``(n, d)`` or ``(n, *shape)``) as ``(n, *shape)`` tensor rows."""
        Xt = torch.as_tensor(X if torch.is_tensor(X) else np.asarray(X, dtype=np.float64))
        d = math.prod(shape)
        if Xt.ndim == 2 and Xt.shape[1] == d:
            Xt = Xt.reshape(Xt.shape[0], *shape)
        elif not (Xt.ndim == 1 + len(shape) and tuple(Xt.shape[1:]) == shape):
            raise ValueError(f"X must have shape (n, {d}) or (n, {', '.join(map(str, shape))})"
                             f", got {tuple(Xt.shape)}")
        Xt = Xt.to(device=device, dtype=dtype)
        if not bool(torch.isfinite(Xt).all()):
            raise ValueError("X contains NaN or infinity")
        return Xt

    # --------------------------------------------------------------------- fit
    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Fit the posterior of the module's parameters to ``X`` and ``y`` (n,)."""
        backend = self._backend()
        template = self._template()
        shape = self._input_shape(template)
        dev = check_device(self.device)
        p0 = next(template.parameters())
        dtype = p0.dtype if p0.is_floating_point() else torch.float32
        template = template.to(device=dev, dtype=dtype).eval()
        template.requires_grad_(False)
        Xt = self._rows(X, shape, dtype, dev)
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr[:, 0]
        if y_arr.ndim != 1 or len(y_arr) != Xt.shape[0]:
            raise ValueError(f"y must have shape ({Xt.shape[0]},) to match X, got "
                             f"{y_arr.shape}")
        if self.task == "regression":
            y_arr = y_arr.astype(np.float64)
            if not np.isfinite(y_arr).all():
                raise ValueError("y contains NaN or infinity")
            y_mean, y_scale = float(y_arr.mean()), float(y_arr.std())
            if y_scale == 0:
                raise ValueError("y is constant: nothing to learn")
            t = torch.as_tensor((y_arr - y_mean) / y_scale, dtype=dtype, device=dev)
            n_out = 1
        else:
            self.classes_ = np.unique(y_arr)
            if len(self.classes_) < 2:
                raise ValueError("y has a single class: classification needs at least two")
            t = torch.as_tensor(LabelEncoder().fit(self.classes_).transform(y_arr),
                                device=dev)
            y_mean, y_scale, n_out = 0.0, 1.0, len(self.classes_)
        self._check_output(template, Xt[:2], n_out)
        missing = unreset_parameters(template) if isinstance(self.module, nn.Module) else []
        if missing:
            import warnings

            warnings.warn(f"parameters {missing} of the module have no reset_parameters(): "
                          "every member/chain starts from the module's values; pass a "
                          "factory (a zero-argument callable) for random starts",
                          UserWarning, stacklevel=2)
        proto = self.module if isinstance(self.module, nn.Module) else None
        make = module_factory(self.module if proto is None else
                              copy.deepcopy(proto).to(device=dev, dtype=dtype))
        problem = ModuleProblem(template=template, make_module=make, X=Xt, t=t,
                                task=self.task, n_outputs=n_out, y_scale=y_scale,
                                verbose=int(self.verbose))
        problem.check_vmap()
        backend.check_problem(problem)
        seed = seed_sequence(self.random_state)
        self.posterior_seed_ = int(cast(int, seed.entropy))
        fit_seed, _ = seed.spawn(2)
        start = time.perf_counter()
        self.backend_ = backend.fit(problem, fit_seed)
        self.diagnostics_ = dict(self.backend_.diagnostics(),
                                 fit_seconds=time.perf_counter() - start,
                                 vectorized=problem.vectorized)
        self.input_shape_ = shape
        self.n_features_in_ = math.prod(shape)
        self.target_scale_ = dict(y_mean=y_mean, y_scale=y_scale)
        self._dtype = dtype
        return self

    def _check_output(self, net: nn.Module, X2: torch.Tensor, n_out: int) -> None:
        """The module's output must fit the task before any training."""
        try:
            with torch.no_grad():
                out = net(X2)
        except Exception as exc:
            raise ValueError(f"the module cannot be called on rows of shape "
                             f"{tuple(X2.shape[1:])} (input_shape): {type(exc).__name__}: "
                             f"{exc}") from exc
        if not torch.is_tensor(out) or out.ndim < 1 or out.shape[0] != X2.shape[0]:
            raise ValueError(f"the module must return one output row per input row; for "
                             f"{X2.shape[0]} rows it returned "
                             f"{tuple(out.shape) if torch.is_tensor(out) else type(out)}")
        k = int(math.prod(out.shape[1:]))
        if self.task == "regression" and k != 1:
            raise ValueError(f"task='regression' needs a module with 1 output, shape (n,) or "
                             f"(n, 1); this one returns {tuple(out.shape[1:])} per row")
        if self.task == "classification" and (out.ndim != 2 or k != n_out):
            raise ValueError(f"task='classification' with {n_out} classes in y needs a module "
                             f"returning {n_out} logits per row, shape (n, {n_out}); this one "
                             f"returns {tuple(out.shape[1:])} per row")

    # ----------------------------------------------------------------- draws
    def _draws_template(self) -> nn.Module:
        net = self._template().to(self._dtype).eval()
        if self.task == "regression":
            st = self.target_scale_
            net.register_forward_hook(OutputAffine(st["y_mean"], st["y_scale"]))
        return net

    def sample_posterior(self, n_samples: int = 300,
                         random_state: RandomStateLike = None) -> FunctionalDraws:
        """``n_samples`` parameter sets as :class:`FunctionalDraws` in the user's units.

        ``random_state=None`` gives the draws fixed at fit (``posterior_seed_``). Backends with
        a finite bank (ensembles, samplers, Laplace's pre-drawn samples) return their last
        ``n_samples`` and refuse more.
        """
        check_is_fitted(self, "backend_")
        n_samples = check_int(n_samples, "n_samples", 1)
        seed = (self.posterior_seed_ if random_state is None
                else int(cast(int, seed_sequence(random_state).entropy)))
        gen = torch.Generator().manual_seed(
            int(np.random.SeedSequence(int(seed)).spawn(2)[1].generate_state(1)[0]))
        params, noise = self.backend_.draws(n_samples, gen)
        dev = check_device(self.device)
        params = {k: v.detach().to(device=dev, dtype=self._dtype) for k, v in params.items()}
        noise_scale = None
        if noise is not None and self.task == "regression":
            noise_scale = (noise.detach() * self.target_scale_["y_scale"]).to(dev, self._dtype)
        meta: dict[str, Any] = {"inference": self.inference}
        if self.task == "regression":
            st = self.target_scale_
            meta["output_affine"] = [st["y_mean"], st["y_scale"]]
        return FunctionalDraws(self._draws_template(), params, task=self.task,
                               input_shape=self.input_shape_, noise_scale=noise_scale,
                               meta=meta)

    def _default_n(self, n_samples: int | None) -> int:
        if n_samples is None:
            return min(200, self.backend_.n_available() or 200)
        return check_int(n_samples, "n_samples", 1)

    def _outputs(self, X: ArrayLike, n_samples: int | None) -> torch.Tensor:
        check_is_fitted(self, "backend_")
        draws = self.sample_posterior(self._default_n(n_samples))
        Xt = self._rows(X, self.input_shape_, self._dtype, draws.device)
        with torch.no_grad():
            if self.diagnostics_.get("vectorized", True):
                out = draws.forward(Xt.reshape(Xt.shape[0], -1))
            else:  # vmap cannot run this module: FunctionalDraws.forward would fail
                out = torch.stack([draws.module(i)(Xt).reshape(Xt.shape[0], -1)
                                   for i in range(len(draws))])
            return out.double().cpu()

    def predict(self, X: ArrayLike, n_samples: int | None = None) -> NDArray[Any]:
        """Posterior-mean prediction (regression, user's units) or the class of largest
        posterior-mean probability (classification)."""
        out = self._outputs(X, n_samples)
        if self.task == "regression":
            return out[..., 0].mean(0).numpy()
        return self.classes_[torch.softmax(out, -1).mean(0).argmax(1).numpy()]

    def predict_proba(self, X: ArrayLike, n_samples: int | None = None) -> NDArray[np.float64]:
        """Posterior-mean class probabilities ``(n, n_classes)`` (classification)."""
        if self.task != "classification":
            raise AttributeError("predict_proba is for task='classification'")
        return torch.softmax(self._outputs(X, n_samples), -1).mean(0).numpy()

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy (classification) or R² (regression) of :meth:`predict`."""
        pred = self.predict(X)
        y_arr = np.asarray(y).reshape(len(pred), -1)[:, 0]
        if self.task == "classification":
            return float(np.mean(pred == y_arr))
        y_arr = y_arr.astype(np.float64)
        return float(1 - np.sum((y_arr - pred) ** 2) / np.sum((y_arr - y_arr.mean()) ** 2))

    # ------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``path/network.pt`` (tensors only) and ``path/network.json`` (settings).

        The module is code and is not saved: :meth:`load` takes it again.
        """
        check_is_fitted(self, "backend_")
        os.makedirs(path, exist_ok=True)
        tensors, backend_meta = self.backend_.state_dict()
        torch.save({k: v.detach().cpu() for k, v in tensors.items()},
                   os.path.join(path, "network.pt"))
        params = {k: v for k, v in self.get_params().items() if k != "module"}
        params["device"] = None if self.device is None else str(self.device)
        meta = dict(params=params, backend=backend_meta, input_shape=list(self.input_shape_),
                    target_scale=self.target_scale_, posterior_seed=str(self.posterior_seed_),
                    classes=None if self.task == "regression" else self.classes_.tolist(),
                    dtype=str(self._dtype).replace("torch.", ""),
                    diagnostics=self.diagnostics_, module=type(self._template()).__name__)
        with open(os.path.join(path, "network.json"), "w") as fh:
            json.dump(meta, fh, default=_json_default)

    @classmethod
    def load(cls, path: str | os.PathLike[str], module: ModuleLike | None = None
             ) -> BayesianNetwork:
        """Inverse of :meth:`save` given the same ``module`` (or factory); tensors are read
        with ``torch.load(weights_only=True)``, nothing is unpickled."""
        if module is None:
            raise TypeError("BayesianNetwork.load needs module=, the architecture (or factory) "
                            "the network was saved with (code is never unpickled)")
        json_path = os.path.join(os.fspath(path), "network.json")
        meta = read_json(json_path)
        params = dict(meta["params"])
        if params.get("input_shape") is not None:
            params["input_shape"] = tuple(params["input_shape"])
        self = cls(module, **params)
        self._backend()
        self.backend_ = get_backend(self.inference, kind="module")(
            **dict(self.inference_params or {}))
        tensors = load_tensors(os.path.join(os.fspath(path), "network.pt"))
        self._dtype = getattr(torch, meta["dtype"])
        dev = check_device(self.device)
        self.backend_.load_state_dict({k: v.to(dev) for k, v in tensors.items()},
                                      meta["backend"])
        self.input_shape_ = tuple(meta["input_shape"])
        self.n_features_in_ = math.prod(self.input_shape_)
        self.target_scale_ = meta["target_scale"]
        self.posterior_seed_ = int(meta["posterior_seed"])
        self.diagnostics_ = meta.get("diagnostics", {})
        if meta["classes"] is not None:
            self.classes_ = np.asarray(meta["classes"])
        names = sorted(k for k, _ in self._template().named_parameters())
        try:
            got = sorted(self.sample_posterior(1).params)
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise LoadError(f"cannot load: {path} does not match this module "
                            f"({type(exc).__name__}: {exc})") from None
        if got != names:
            raise LoadError(f"cannot load: {path} holds parameters {got}, the module has "
                            f"{names}")
        return self


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


__all__ = ["BayesianNetwork", "OutputAffine"]
