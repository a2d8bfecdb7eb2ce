"""Mean-field Gaussian variational posterior of an MLP (Bayes-by-backprop).

Blundell et al. (2015) with the closed-form Gaussian KL (nFBST appendix Eq. 23) and the local
reparameterisation trick of Kingma, Salimans & Welling (2015) for the gradient estimator.
All quantities live in standardised units; :class:`nfbst.BayesianMLP` folds them back.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.nn.functional import softplus
from tqdm.auto import tqdm

from .posterior import ACTIVATIONS


def _inverse_softplus(x: float) -> float:
    return x + math.log(-math.expm1(-x))


class MeanFieldLayer(nn.Module):
    """q(W) = N(weight_loc, softplus(weight_rho)²) elementwise, the same for the bias."""

    def __init__(self, n_in: int, n_out: int, init_scale: float, gen: torch.Generator):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        rho = _inverse_softplus(init_scale)
        self.weight_loc = nn.Parameter((torch.rand(n_out, n_in, generator=gen) * 2 - 1) * bound)
        self.bias_loc = nn.Parameter((torch.rand(n_out, generator=gen) * 2 - 1) * bound)
        self.weight_rho = nn.Parameter(torch.full((n_out, n_in), rho))
        self.bias_rho = nn.Parameter(torch.full((n_out,), rho))

    def scales(self):
        return softplus(self.weight_rho), softplus(self.bias_rho)

    def forward(self, h: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        w_scale, b_scale = self.scales()
        mean = torch.addmm(self.bias_loc, h, self.weight_loc.t())
        var = torch.addmm(b_scale.square(), h.square(), w_scale.square().t())
        eps = torch.randn(mean.shape, generator=gen, device=mean.device, dtype=mean.dtype)
        return mean + var.clamp_min(1e-16).sqrt() * eps

    def kl(self, prior_scale: float) -> torch.Tensor:
        """KL(q ‖ N(0, prior_scale²)) summed over the layer's parameters."""
        total = 0.0
        for loc, scale in ((self.weight_loc, self.scales()[0]), (self.bias_loc, self.scales()[1])):
            total = total + (
                math.log(prior_scale) - torch.log(scale)
                + (scale.square() + loc.square()) / (2 * prior_scale**2) - 0.5
            ).sum()
        return total


class MeanFieldMLP(nn.Module):
    """A stack of :class:`MeanFieldLayer` with a Gaussian or categorical likelihood."""

    def __init__(self, layer_sizes, activation, task, prior_scale, noise, init_scale, seed):
        super().__init__()
        self.gen = torch.Generator().manual_seed(int(seed))
        self.activation = activation
        self.task = task
        self.prior_scale = float(prior_scale)
        self.layers = nn.ModuleList(
            MeanFieldLayer(a, b, init_scale, self.gen)
            for a, b in zip(layer_sizes[:-1], layer_sizes[1:])
        )
        self.learn_noise = isinstance(noise, str)
        log_noise = math.log(0.5 if self.learn_noise else float(noise))
        if self.learn_noise:
            self.log_noise = nn.Parameter(torch.tensor(log_noise))
        else:
            self.register_buffer("log_noise", torch.tensor(log_noise))

    def to(self, device, *args, **kwargs):
        out = super().to(device, *args, **kwargs)
        if torch.device(device).type != self.gen.device.type:
            self.gen = torch.Generator(device=device).manual_seed(int(self.gen.initial_seed()))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = ACTIVATIONS[self.activation][0]
        h = x
        for l, layer in enumerate(self.layers):
            h = layer(h, self.gen)
            if l < len(self.layers) - 1:
                h = act(h)
        return h

    def kl(self) -> torch.Tensor:
        return sum(layer.kl(self.prior_scale) for layer in self.layers)

    def nll(self, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the batch."""
        if self.task == "classification":
            return nn.functional.cross_entropy(out, t)
        s = self.log_noise
        r = (t - out[:, 0]) * torch.exp(-s)
        return (0.5 * r.square()).mean() + s + 0.5 * math.log(2 * math.pi)

    def posterior_params(self) -> dict:
        """``{"<l>.weight": (loc, scale), "<l>.bias": (loc, scale)}`` in standardised units."""
        out = {}
        for l, layer in enumerate(self.layers):
            w_scale, b_scale = layer.scales()
            out[f"{l}.weight"] = (layer.weight_loc.detach(), w_scale.detach())
            out[f"{l}.bias"] = (layer.bias_loc.detach(), b_scale.detach())
        return out

    @torch.no_grad()
    def sample(self, m: int, gen: torch.Generator):
        """``m`` weight sets: lists of ``(m, out, in)`` and ``(m, out)``, and noise sd ``(m,)``."""
        W, b = [], []
        for layer in self.layers:
            w_scale, b_scale = layer.scales()
            loc_w, loc_b = layer.weight_loc.cpu(), layer.bias_loc.cpu()
            W.append(loc_w + w_scale.cpu() * torch.randn((m, *loc_w.shape), generator=gen))
            b.append(loc_b + b_scale.cpu() * torch.randn((m, *loc_b.shape), generator=gen))
        return W, b, torch.exp(self.log_noise.detach().cpu()).expand(m).clone()


def fit_mean_field(net: MeanFieldMLP, Z: torch.Tensor, t: torch.Tensor, s: dict) -> np.ndarray:
    """Maximise the ELBO of ``net`` on (Z, t) with Adam; returns the loss per step.

    The loss per step is the negative ELBO divided by n: mean NLL of the batch + KL / n.
    """
    n = Z.shape[0]
    batch = s["batch_size"] or (n if n <= 4096 else 1024)
    batch = min(int(batch), n)
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
    sched = (
        torch.optim.lr_scheduler.StepLR(opt, step_size=int(s["lr_step"]), gamma=s["lr_gamma"])
        if s["lr_step"] else None
    )
    losses = torch.empty(int(s["n_steps"]))
    with _threads_for(net, batch, Z.device):
        _optimise(net, Z, t, s, batch, opt, sched, losses)
    if not torch.isfinite(losses[-1]):
        raise FloatingPointError("VI diverged (non-finite loss); lower lr or init_scale")
    return losses.numpy()


@contextmanager
def _threads_for(net: MeanFieldMLP, batch: int, device: torch.device):
    """One intra-op thread for small CPU problems.

    A step of a small network is a chain of tiny kernels; splitting each over threads costs
    more in synchronisation than it saves (measured: 10x slower with 2 threads on a busy
    2-core machine), so below ~4 MFLOP per layer product the loop runs single-threaded.
    """
    widest = max(layer.weight_loc.numel() for layer in net.layers)
    small = device.type == "cpu" and batch * widest < 4_000_000
    before = torch.get_num_threads()
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _optimise(net, Z, t, s, batch, opt, sched, losses):
    n = Z.shape[0]
    perm, pos = None, n
    for step in tqdm(range(len(losses)), disable=not s["verbose"], desc="VI", leave=False):
        if batch == n:
            zb, tb = Z, t
        else:
            if pos + batch > n:
                perm, pos = torch.randperm(n, generator=net.gen, device=net.gen.device), 0
            idx = perm[pos:pos + batch]
            pos += batch
            zb, tb = Z[idx], t[idx]
        loss = net.nll(net(zb), tb) + net.kl() / n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None and (batch == n or pos + batch > n):
            sched.step()
        losses[step] = loss.detach()
