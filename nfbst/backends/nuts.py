"""pyro NUTS posterior of a Bayesian MLP (``inference="nuts"``): the reference sampler.

One chain of pyro's NUTS (``target_accept_prob=0.8``). pyro draws from torch's global RNG and
``pyro.set_rng_seed`` reseeds the global torch, numpy and ``random`` generators; the backend
saves and restores all three and pyro's param store around the run, so fitting leaves global
state untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.infer import MCMC, NUTS

from probconstraints._progress import show_progress

from ..posterior import ACTIVATIONS
from .base import Backend, Settings, WeightSets, preserve_global_rng, take_last
from .diagnostics import summarize, warn_if_unconverged


def mlp_model(Z: torch.Tensor, t: torch.Tensor | None, layer_sizes: Sequence[int],
              activation: str, task: str, prior_scale: float, noise: str | float) -> None:
    """The BNN as a pyro model: N(0, prior_scale²) weights, Gaussian or categorical likelihood.

    ``noise`` is "learned" (HalfNormal(1) prior on the likelihood sd) or a fixed sd.
    """
    act = ACTIVATIONS[activation][0]
    h = Z
    for l, (a, b) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        W = pyro.sample(f"W{l}", dist.Normal(0.0, prior_scale).expand([b, a]).to_event(2))
        bias = pyro.sample(f"b{l}", dist.Normal(0.0, prior_scale).expand([b]).to_event(1))
        h = h @ W.T + bias
        if l < len(layer_sizes) - 2:
            h = act(h)
    if task == "regression":
        sd = (
            pyro.sample("noise", dist.HalfNormal(1.0))
            if isinstance(noise, str) else torch.tensor(float(noise))
        )
        with pyro.plate("data", Z.shape[0]):
            pyro.sample("obs", dist.Normal(h[:, 0], sd), obs=t)
    else:
        with pyro.plate("data", Z.shape[0]):
            pyro.sample("obs", dist.Categorical(logits=h), obs=t)


def fit_nuts(Z: torch.Tensor, t: torch.Tensor, layer_sizes: Sequence[int], s: Settings,
             seed: np.random.SeedSequence) -> WeightSets:
    """Run NUTS and return stacked samples ``([W_l (S,out,in)], [b_l (S,out)], noise (S,))``.

    Global RNG states and pyro's param store are restored afterwards.
    """
    with preserve_global_rng():
        return _fit_nuts(Z, t, layer_sizes, s, seed)


def _fit_nuts(Z: torch.Tensor, t: torch.Tensor, layer_sizes: Sequence[int], s: Settings,
              seed: np.random.SeedSequence) -> WeightSets:
    pyro.set_rng_seed(int(seed.generate_state(1)[0]))
    pyro.clear_param_store()
    kernel = NUTS(mlp_model, target_accept_prob=0.8)
    mcmc = MCMC(
        kernel, num_samples=int(s["num_samples"]), warmup_steps=int(s["warmup_steps"]),
        disable_progbar=not show_progress(s["verbose"]),
    )
    mcmc.run(Z.cpu(), t.cpu(), layer_sizes, s["activation"], s["task"], s["prior_scale"],
             s["noise"])
    samples = mcmc.get_samples()
    L = len(layer_sizes) - 1
    W = [samples[f"W{l}"].detach() for l in range(L)]
    b = [samples[f"b{l}"].detach() for l in range(L)]
    S = W[0].shape[0]
    if "noise" in samples:
        noise = samples["noise"].detach()
    else:
        noise = torch.full((S,), float(s["noise"]) if not isinstance(s["noise"], str) else 1.0)
    return W, b, noise


class NUTSBackend(Backend):
    """``inference="nuts"``: ``num_samples`` draws of one pyro NUTS chain after
    ``warmup_steps`` warm-up steps; ``diagnostics_`` holds split-R̂ / bulk ESS of that chain."""

    name = "nuts"
    samples: WeightSets
    diagnostics: dict[str, Any]

    def fit(self, Z: torch.Tensor, t: torch.Tensor, seed: np.random.SeedSequence
            ) -> NUTSBackend:
        self.samples = fit_nuts(Z, t, self.layer_sizes, self.s, seed)
        W, b, noise = self.samples
        S = W[0].shape[0]
        flat = torch.cat([w.reshape(S, -1) for w in W] + [v.reshape(S, -1) for v in b], 1)
        with torch.no_grad():
            h = Z.cpu().to(W[0].dtype)
            out = torch.matmul(h, W[0].transpose(1, 2)) + b[0][:, None, :]
            act = ACTIVATIONS[self.s["activation"]][0]
            for Wl, bl in zip(W[1:], b[1:]):
                out = torch.baddbmm(bl[:, None, :], act(out), Wl.transpose(1, 2))
            if self.s["task"] == "classification":
                out = torch.softmax(out, -1)
        params = torch.cat([flat, noise[:, None]], 1) if self.s["task"] == "regression" else flat
        self.diagnostics = summarize(params[None], out.reshape(1, S, -1),
                                     identifiable=len(self.layer_sizes) == 2) if S >= 4 else {}
        if self.diagnostics:
            warn_if_unconverged(self.diagnostics, "BayesianMLP(inference='nuts')")
        return self

    def n_available(self) -> int:
        return self.samples[0][0].shape[0]

    def draws(self, n: int, gen: torch.Generator) -> WeightSets:
        W, b, noise = self.samples
        sl = take_last(n, W[0].shape[0], "inference='nuts'")
        return [w[sl] for w in W], [v[sl] for v in b], noise[sl]

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        W, b, noise = self.samples
        tensors = {f"nuts.W{l}": w for l, w in enumerate(W)}
        tensors.update({f"nuts.b{l}": v for l, v in enumerate(b)})
        tensors["nuts.noise"] = noise
        return tensors, {"diagnostics": self.diagnostics}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> NUTSBackend:
        L = len(self.layer_sizes) - 1
        self.samples = (
            [tensors[f"nuts.W{l}"] for l in range(L)],
            [tensors[f"nuts.b{l}"] for l in range(L)],
            tensors["nuts.noise"],
        )
        self.diagnostics = meta.get("diagnostics", {})
        return self

    def estimator_attributes(self) -> dict[str, Any]:
        return {"nuts_samples_": self.samples, "mean_field_": [],
                "diagnostics_": self.diagnostics}
