"""NUTS posterior of a Bayesian MLP through pyro (the gold-standard posterior for small nets)."""

from __future__ import annotations

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.infer import MCMC, NUTS

from .posterior import ACTIVATIONS


def mlp_model(Z, t, layer_sizes, activation, task, prior_scale, noise):
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


def fit_nuts(Z, t, layer_sizes, s, seed: np.random.SeedSequence):
    """Run NUTS and return stacked samples ``([W_l (S,out,in)], [b_l (S,out)], noise (S,))``."""
    pyro.set_rng_seed(int(seed.generate_state(1)[0]))
    pyro.clear_param_store()
    kernel = NUTS(mlp_model, target_accept_prob=0.8)
    mcmc = MCMC(
        kernel, num_samples=int(s["num_samples"]), warmup_steps=int(s["warmup_steps"]),
        disable_progbar=not s["verbose"],
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
