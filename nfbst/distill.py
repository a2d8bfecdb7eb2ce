"""The distilled CRT's networks of y without each feature (:mod:`nfbst.dcrt`, step 1).

For every tested unit (a column or a group) a network of the same kind as the main one is
fitted on every row with the unit's columns left out; the dCRT only needs its posterior-mean
prediction, through :meth:`Distillations.residuals`.

Two ways, the same networks:

* :class:`StackedDistillations` — for the default :class:`~nfbst.BayesianMLP` (mean-field VI
  with the local reparameterisation): all G networks in one :class:`StackedMeanFieldMLP`,
  trained side by side by one Adam run. The loss is the sum of the G ELBOs and Adam's update
  is elementwise, so each network follows exactly its own ELBO's gradient; a unit is left
  out by zeroing its (standardised) inputs for its network, which is the same model as one
  without those inputs (a zero input adds nothing and its weights stay at the prior). One run
  costs about as much as one network at small sizes, instead of G (``benchmarks/
  bench_scale.py``).
* :class:`SeparateDistillations` — any other network (other inference, any torch module
  through :class:`~nfbst.network.BayesianNetwork`): G fits, side by side on ``n_jobs``
  joblib workers.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.base import clone
from torch import nn
from torch.nn.functional import softplus

from probconstraints._random import RandomStateLike, seed_sequence

from .posterior import ACTIVATIONS
from .variational import MeanFieldMLP, fit_mean_field


class Distillations(Protocol):
    """Fitted networks of y without each unit."""

    def residuals(self, X: NDArray[np.float64], y: np.ndarray) -> NDArray[np.float64]:
        """``(n, G, c)``: y minus each unit's network (regression, c = 1), or one-hot y minus
        its class probabilities (classification, c classes)."""
        ...


class StackedMeanFieldMLP(MeanFieldMLP):
    """C mean-field MLPs as one module: copy c sees the inputs times ``masks[c]``.

    Parameters are ``(C, P)`` (locations, softplus-scales) and ``(C,)`` (log noise sd); the
    forward pass is the local reparameterisation of :class:`~nfbst.variational.MeanFieldMLP`
    with batched matrix products; the loss is the sum of the copies' losses.
    """

    masks: torch.Tensor  # (C, d): which inputs each copy sees

    def __init__(self, masks: torch.Tensor, layer_sizes: Sequence[int], activation: str,
                 task: str, prior_scale: float, noise: float | str, init_scale: float,
                 seed: int) -> None:
        super().__init__(layer_sizes, activation, task, prior_scale, noise, init_scale, seed,
                         reparam="local")
        C = masks.shape[0]
        locs = [self.loc.detach()]
        for _ in range(C - 1):  # independent initialisations, as separate networks get
            parts = []
            for (start, stop, _), fan_in in zip(self.slices, _fan_ins(layer_sizes)):
                bound = 1.0 / math.sqrt(fan_in)
                parts.append((torch.rand(stop - start, generator=self.gen) * 2 - 1) * bound)
            locs.append(torch.cat(parts))
        self.loc = nn.Parameter(torch.stack(locs))
        self.rho = nn.Parameter(self.rho.detach().expand(C, -1).clone())
        if self.learn_noise:
            self.log_noise = nn.Parameter(self.log_noise.detach().expand(C).clone())
        else:
            self.register_buffer("log_noise", self.log_noise.detach().expand(C).clone())
        self.masks = masks.to(torch.float32)

    def _layer(self, flat: torch.Tensor, l: int) -> tuple[torch.Tensor, torch.Tensor]:
        (w0, w1, wshape), (b0, b1, _) = self.slices[2 * l], self.slices[2 * l + 1]
        return flat[..., w0:w1].reshape(*flat.shape[:-1], *wshape), flat[..., b0:b1]

    def _forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """One stochastic forward pass of every copy: ``(C, n, out)``."""
        act = ACTIVATIONS[self.activation][0]
        h = x[None] * self.masks[:, None, :]
        var_all = scale.square()
        for l in range(len(self.layers)):
            W, b = self._layer(self.loc, l)
            Wv, bv = self._layer(var_all, l)
            mean = torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))
            var = torch.baddbmm(bv[:, None, :], h.square(), Wv.transpose(1, 2))
            noise = torch.randn(mean.shape, generator=self.gen, device=mean.device,
                                dtype=mean.dtype)
            h = mean + var.clamp_min(1e-16).sqrt() * noise
            if l < len(self.layers) - 1:
                h = act(h)
        return h

    def nll(self, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Sum over the copies of each one's mean negative log-likelihood."""
        C = out.shape[0]
        if self.task == "classification":
            return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]),
                                               t.repeat(C)) * C
        s = self.log_noise
        r = (t[None] - out[..., 0]) * torch.exp(-s)[:, None]
        return ((0.5 * r.square()).mean(1) + s).sum() + C * 0.5 * math.log(2 * math.pi)

    @torch.no_grad()
    def predictive_mean(self, x: torch.Tensor, n_draws: int, gen: torch.Generator,
                        chunk: int = 8) -> torch.Tensor:
        """Posterior-mean output of every copy ``(C, n, out)`` (class probabilities for
        classification) over ``n_draws`` weight draws."""
        act = ACTIVATIONS[self.activation][0]
        scale = softplus(self.rho)
        total = torch.zeros(())
        for start in range(0, n_draws, chunk):
            m = min(chunk, n_draws - start)
            theta = self.loc[:, None] + scale[:, None] * torch.randn(
                (self.loc.shape[0], m, self.loc.shape[1]), generator=gen)
            h = (x[None] * self.masks[:, None, :])[:, None].expand(-1, m, -1, -1)
            for l in range(len(self.layers)):
                W, b = self._layer(theta, l)
                h = torch.einsum("csni,csoi->csno", h, W) + b[..., None, :]
                if l < len(self.layers) - 1:
                    h = act(h)
            out = torch.softmax(h, -1) if self.task == "classification" else h
            total = total + out.sum(1)
        return total / n_draws


def _fan_ins(layer_sizes: Sequence[int]) -> list[int]:
    """The fan-in of each parameter slice (weight, bias) of a MeanFieldMLP, in order."""
    return [a for a in layer_sizes[:-1] for _ in range(2)]


class StackedDistillations:
    """G mean-field networks of y, each blind to one unit, trained side by side.

    Settings (width, activation, prior, noise, steps, learning rate) are the template
    :class:`~nfbst.BayesianMLP`'s; inputs and targets are standardised as it does.
    """

    def __init__(self, template: Any, X: NDArray[np.float64], y: np.ndarray,
                 units: list[NDArray[np.intp]], random_state: RandomStateLike = None,
                 n_draws: int = 64) -> None:
        s = template._settings()
        self.task = template.task
        self.n_draws = n_draws
        d = X.shape[1]
        self.x_mean = X.mean(0)
        sd = X.std(0)
        self.x_scale = np.where(sd > 0, sd, 1.0)
        masks = np.ones((len(units), d), dtype=np.float32)
        masks[:, sd == 0] = 0.0
        for g, cols in enumerate(units):
            masks[g, cols] = 0.0
        Z = torch.as_tensor((X - self.x_mean) / self.x_scale, dtype=torch.float32)
        if self.task == "regression":
            self.y_mean, self.y_scale = float(np.mean(y)), float(np.std(y))
            t = torch.as_tensor((y - self.y_mean) / self.y_scale, dtype=torch.float32)
            n_out = 1
            noise = s["noise"] if isinstance(s["noise"], str) else float(s["noise"]) / \
                self.y_scale
        else:
            self.classes_ = np.unique(y)
            t = torch.as_tensor(np.searchsorted(self.classes_, y))
            n_out, noise = len(self.classes_), s["noise"]
        seed = int(seed_sequence(random_state).generate_state(1)[0])
        self.net = StackedMeanFieldMLP(torch.as_tensor(masks), (d, *s["hidden"], n_out),
                                       s["activation"], self.task, s["prior_scale"], noise,
                                       s["init_scale"], seed)
        self.loss_history = fit_mean_field(self.net, Z, t, s)
        self.seed = seed

    def residuals(self, X: NDArray[np.float64], y: np.ndarray) -> NDArray[np.float64]:
        Z = torch.as_tensor((X - self.x_mean) / self.x_scale, dtype=torch.float32)
        gen = torch.Generator().manual_seed(self.seed)
        out = self.net.predictive_mean(Z, self.n_draws, gen).double().numpy()  # (G, n, k)
        if self.task == "classification":
            onehot = (np.asarray(y)[:, None] == self.classes_[None]).astype(float)
            return onehot[:, None, :] - out.transpose(1, 0, 2)
        pred = out[..., 0].T * self.y_scale + self.y_mean  # (n, G)
        return (np.asarray(y, dtype=np.float64)[:, None] - pred)[..., None]


class SeparateDistillations:
    """G networks of y, each fitted on its own without one unit (any network kind).

    A :class:`~nfbst.BayesianMLP` is fitted on the other varying columns; any other network
    (a fixed input width) on every column with the unit's set to 0.
    """

    def __init__(self, template: Any, X: NDArray[np.float64], y: np.ndarray,
                 units: list[NDArray[np.intp]], random_state: RandomStateLike = None,
                 n_jobs: int | None = None, verbose: int = 0) -> None:
        from ._parallel import parallel_map
        from .bnn import BayesianMLP

        varying = np.ptp(X, 0) > 0
        seeds = seed_sequence(random_state).spawn(len(units))
        self.mlp = isinstance(template, BayesianMLP)
        tasks = []
        for g, cols in enumerate(units):
            keep = np.flatnonzero(varying & ~np.isin(np.arange(X.shape[1]), cols))
            model = clone(template) if hasattr(template, "get_params") else copy.deepcopy(
                template)  # an unfitted copy
            if getattr(model, "random_state", 0) is None or random_state is not None:
                model.set_params(random_state=int(seeds[g].generate_state(1)[0]))
            Xg = X[:, keep] if self.mlp else _blind(X, cols)
            tasks.append((model, Xg, y, bool(varying[cols].any())))
        self.models = parallel_map(
            _fit_one, tasks, n_jobs=n_jobs, desc="dCRT networks", verbose=verbose,
            names=[f"dCRT network without unit {g}" for g in range(len(units))])
        self.units = units
        self.keep = [np.flatnonzero(varying & ~np.isin(np.arange(X.shape[1]), c))
                     for c in units]

    def residuals(self, X: NDArray[np.float64], y: np.ndarray) -> NDArray[np.float64]:
        parts = []
        for model, cols, keep in zip(self.models, self.units, self.keep):
            if model is None:  # nothing to test: zero residuals, NaN p-value downstream
                parts.append(np.zeros((len(X), 1)))
                continue
            Xg = X[:, keep] if self.mlp else _blind(X, cols)
            if getattr(model, "task", "regression") == "classification":
                onehot = (np.asarray(y)[:, None] == np.asarray(model.classes_)[None])
                parts.append(onehot.astype(float) - model.predict_proba(Xg))
            else:
                parts.append((np.asarray(y, dtype=np.float64) - model.predict(Xg))[:, None])
        width = max(p.shape[1] for p in parts)
        return np.stack([np.broadcast_to(p, (len(X), width)) for p in parts], 1)


def _fit_one(model: Any, X: NDArray[np.float64], y: np.ndarray, testable: bool) -> Any:
    """Fit one distillation (a task of :class:`SeparateDistillations`); None if untestable."""
    return model.fit(X, y) if testable else None


def _blind(X: NDArray[np.float64], cols: NDArray[np.intp]) -> NDArray[np.float64]:
    """X with ``cols`` set to 0 (what a network of fixed input width sees without them)."""
    out = X.copy()
    out[:, cols] = 0.0
    return out


def fit_distillations(template: Any, X: NDArray[np.float64], y: np.ndarray,
                      units: list[NDArray[np.intp]], random_state: RandomStateLike = None,
                      n_jobs: int | None = None, verbose: int = 0) -> Distillations:
    """The networks of y without each unit: stacked for the default mean-field VI
    :class:`~nfbst.BayesianMLP`, separate fits otherwise."""
    from .bnn import BayesianMLP

    if isinstance(template, BayesianMLP):
        s = template._settings()
        if s["inference"] == "vi" and s["reparam"] == "local" and str(s["device"]) == "cpu":
            return StackedDistillations(template, X, y, units, random_state)
    return SeparateDistillations(template, X, y, units, random_state, n_jobs, verbose)
