"""Mean-field Gaussian variational posterior of an MLP (Bayes-by-backprop).

Blundell et al. (2015) with the closed-form Gaussian KL (nFBST appendix Eq. 23); the local
reparameterisation trick of Kingma, Salimans & Welling (2015) is available as an option.
All quantities live in standardised units; :class:`nfbst.BayesianMLP` folds them back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn.functional import softplus

from probconstraints._progress import progress

from ._threads import threads_for
from .posterior import ACTIVATIONS

_Net = TypeVar("_Net", bound="MeanFieldMLP")


def _inverse_softplus(x: float) -> float:
    return x + math.log(-math.expm1(-x))


class MeanFieldLayer:
    """Views of one layer's slice of the flat variational parameters of a MeanFieldMLP.

    q(W) = N(weight_loc, softplus(weight_rho)²) elementwise, the same for the bias.
    """

    def __init__(self, net: MeanFieldMLP, l: int) -> None:
        self.net, self.l = net, l

    def _view(self, flat: torch.Tensor, which: int) -> torch.Tensor:
        start, stop, shape = self.net.slices[2 * self.l + which]
        return flat[start:stop].view(shape)

    @property
    def weight_loc(self) -> torch.Tensor:
        return self._view(self.net.loc, 0)

    @property
    def bias_loc(self) -> torch.Tensor:
        return self._view(self.net.loc, 1)

    @property
    def weight_rho(self) -> torch.Tensor:
        return self._view(self.net.rho, 0)

    @property
    def bias_rho(self) -> torch.Tensor:
        return self._view(self.net.rho, 1)

    def scales(self) -> tuple[torch.Tensor, torch.Tensor]:
        return softplus(self.weight_rho), softplus(self.bias_rho)


class MeanFieldMLP(nn.Module):
    """Mean-field Gaussian MLP with a Gaussian or categorical likelihood.

    All locations and softplus-scales live in two flat parameter vectors, so one training
    step is a handful of fused kernels (the closed-form KL is one expression over all
    weights); ``layers[l]`` gives per-layer views (``weight_loc``, ``bias_loc``, ``scales()``).
    """

    def __init__(self, layer_sizes: Sequence[int], activation: str, task: str,
                 prior_scale: float, noise: float | str, init_scale: float, seed: int,
                 reparam: Literal["weight", "local"] = "local") -> None:
        super().__init__()
        if reparam not in ("weight", "local"):
            raise ValueError(f"reparam must be 'weight' or 'local', got {reparam!r}")
        self.gen = torch.Generator().manual_seed(int(seed))
        self.reparam = reparam
        self.activation = activation
        self.task = task
        self.prior_scale = float(prior_scale)
        locs: list[torch.Tensor] = []
        self.slices: list[tuple[int, int, tuple[int, ...]]] = []
        pos = 0
        for a, b in zip(layer_sizes[:-1], layer_sizes[1:]):
            bound = 1.0 / math.sqrt(a)
            for shape in ((b, a), (b,)):
                locs.append(((torch.rand(shape, generator=self.gen) * 2 - 1) * bound).ravel())
                size = math.prod(shape)
                self.slices.append((pos, pos + size, shape))
                pos += size
        self.loc = nn.Parameter(torch.cat(locs))
        self.rho = nn.Parameter(torch.full((pos,), _inverse_softplus(init_scale)))
        self.layers = [MeanFieldLayer(self, l) for l in range(len(layer_sizes) - 1)]
        self.learn_noise = isinstance(noise, str)
        log_noise = math.log(0.5 if self.learn_noise else float(noise))
        if self.learn_noise:
            self.log_noise = nn.Parameter(torch.tensor(log_noise))
        else:
            self.register_buffer("log_noise", torch.tensor(log_noise))

    def to(self: _Net, *args: Any, **kwargs: Any) -> _Net:
        """:meth:`torch.nn.Module.to` (every form: device, dtype, tensor, keywords); the
        sampling generator follows the parameters to their device, keeping its seed."""
        out = super().to(*args, **kwargs)
        device = self.loc.device
        if device.type != self.gen.device.type:
            self.gen = torch.Generator(device=device).manual_seed(int(self.gen.initial_seed()))
        return out

    def _forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """One stochastic forward pass.

        ``reparam="weight"`` (Bayes-by-backprop): one weight sample θ = μ + σ·ε per pass,
        shared by the batch — O(#weights) random numbers. ``"local"`` (local
        reparameterisation): each unit's pre-activation ~ N(h·μ + b, h²·σ² + σ_b²) drawn per
        row — lower-variance gradients for O(batch × width) random numbers.
        """
        act = ACTIVATIONS[self.activation][0]
        h = x
        local = self.reparam == "local"
        if local:
            var_all = scale.square()
        else:
            eps = torch.randn(self.loc.shape, generator=self.gen, device=self.loc.device,
                              dtype=self.loc.dtype)
            theta = self.loc + scale * eps
        for l in range(len(self.layers)):
            (w0, w1, wshape), (b0, b1, _) = self.slices[2 * l], self.slices[2 * l + 1]
            if local:
                W, b = self.loc[w0:w1].view(wshape), self.loc[b0:b1]
                mean = torch.addmm(b, h, W.t())
                var = torch.addmm(var_all[b0:b1], h.square(), var_all[w0:w1].view(wshape).t())
                noise = torch.randn(mean.shape, generator=self.gen, device=mean.device,
                                    dtype=mean.dtype)
                h = mean + var.clamp_min(1e-16).sqrt() * noise
            else:
                h = torch.addmm(theta[b0:b1], h, theta[w0:w1].view(wshape).t())
            if l < len(self.layers) - 1:
                h = act(h)
        return h

    def _kl(self, scale: torch.Tensor) -> torch.Tensor:
        p = self.prior_scale
        return (
            math.log(p) - torch.log(scale) + (scale.square() + self.loc.square()) / (2 * p * p)
            - 0.5
        ).sum()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(x, softplus(self.rho))

    def kl(self) -> torch.Tensor:
        """KL(q ‖ N(0, prior_scale²)) summed over all parameters (nFBST appendix Eq. 23)."""
        return self._kl(softplus(self.rho))

    def loss(self, x: torch.Tensor, t: torch.Tensor, n: int) -> torch.Tensor:
        """Negative ELBO / n on a batch: mean NLL + KL / n (the scales computed once)."""
        scale = softplus(self.rho)
        return self.nll(self._forward(x, scale), t) + self._kl(scale) / n

    def nll(self, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the batch."""
        if self.task == "classification":
            return nn.functional.cross_entropy(out, t)
        s = self.log_noise
        r = (t - out[:, 0]) * torch.exp(-s)
        return (0.5 * r.square()).mean() + s + 0.5 * math.log(2 * math.pi)

    def posterior_params(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """``{"<l>.weight": (loc, scale), "<l>.bias": (loc, scale)}`` in standardised units."""
        out = {}
        for l, layer in enumerate(self.layers):
            w_scale, b_scale = layer.scales()
            out[f"{l}.weight"] = (layer.weight_loc.detach(), w_scale.detach())
            out[f"{l}.bias"] = (layer.bias_loc.detach(), b_scale.detach())
        return out

    @torch.no_grad()
    def sample(self, m: int, gen: torch.Generator
               ) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        """``m`` weight sets: lists of ``(m, out, in)`` and ``(m, out)``, and noise sd ``(m,)``."""
        W: list[torch.Tensor] = []
        b: list[torch.Tensor] = []
        for layer in self.layers:
            w_scale, b_scale = layer.scales()
            loc_w, loc_b = layer.weight_loc.cpu(), layer.bias_loc.cpu()
            W.append(loc_w + w_scale.cpu() * torch.randn((m, *loc_w.shape), generator=gen))
            b.append(loc_b + b_scale.cpu() * torch.randn((m, *loc_b.shape), generator=gen))
        return W, b, torch.exp(self.log_noise.detach().cpu()).expand(m).clone()


def fit_mean_field(net: MeanFieldMLP, Z: torch.Tensor, t: torch.Tensor,
                   s: dict[str, Any]) -> NDArray[np.float32]:
    """Maximise the ELBO of ``net`` on (Z, t) with Adam; returns the loss per step.

    The loss per step is the negative ELBO divided by n: mean NLL of the batch + KL / n.
    """
    n = Z.shape[0]
    batch = s["batch_size"] or (n if n <= 4096 else 1024)
    batch = min(int(batch), n)
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
    sched: torch.optim.lr_scheduler.LRScheduler
    if s["lr_step"]:  # the paper's StepLR, stepped once per epoch
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=int(s["lr_step"]),
                                                gamma=s["lr_gamma"])
        per_epoch = True
    else:  # cosine decay to lr/100: the final iterates average out the gradient noise
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=int(s["n_steps"]), eta_min=0.01 * s["lr"])
        per_epoch = False
    losses = torch.empty(int(s["n_steps"]))
    widest = max(stop - start for start, stop, _ in net.slices)
    with threads_for(batch * widest, Z.device):
        _optimise(net, Z, t, s, batch, opt, sched, per_epoch, losses)
    if not torch.isfinite(losses[-1]):
        raise FloatingPointError("VI diverged (non-finite loss); lower lr or init_scale")
    return losses.numpy()


def _optimise(net: MeanFieldMLP, Z: torch.Tensor, t: torch.Tensor, s: dict[str, Any],
              batch: int, opt: torch.optim.Optimizer,
              sched: torch.optim.lr_scheduler.LRScheduler, per_epoch: bool,
              losses: torch.Tensor) -> None:
    n = Z.shape[0]
    perm: torch.Tensor | None = None
    pos = n
    for step in progress(range(len(losses)), s["verbose"], desc="VI", leave=False):
        if batch == n:
            zb, tb = Z, t
        else:
            if pos + batch > n:
                perm, pos = torch.randperm(n, generator=net.gen, device=net.gen.device), 0
            assert perm is not None  # drawn on the first step (pos = n)
            idx = perm[pos:pos + batch]
            pos += batch
            zb, tb = Z[idx], t[idx]
        loss = net.loss(zb, tb, n)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if not per_epoch or batch == n or pos + batch > n:
            sched.step()
        losses[step] = loss.detach()
