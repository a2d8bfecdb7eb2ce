"""Laplace approximation around the MAP network, through laplace-torch (``inference="laplace"``).

MAP fit of the MLP (Adam, ``n_steps`` full-batch steps, N(0, prior_scale²) prior; a learned
noise sd is fitted jointly), then laplace-torch's Gauss-Newton posterior over all weights:
the full GGN for networks of at most ``FULL_MAX_PARAMS`` parameters, Kronecker-factored (KFAC)
beyond. The prior precision (and, with ``noise="learned"``, the noise sd) is then chosen by
maximising laplace-torch's Laplace marginal likelihood (Immer et al. 2021; Daxberger et al.
2021, "Laplace Redux"). Draws are weight vectors from that Gaussian, evaluated in the
*nonlinear* network (not the linearised predictive).

The prior precision is tuned post hoc: the mean stays the MAP under ``prior_scale`` while
the covariance uses the tuned precision, as laplace-torch does. The tuned precision (of the
standardised weights), the structure and the parameter count are in ``bnn.laplace_``.

Classification: on (nearly) separable data the GGN is tiny, the marginal likelihood picks a
broad prior, and weight draws pushed through the nonlinear network predict poorly (the known
weakness of sampled Laplace, Immer et al. 2021); prefer ``"hmc"`` there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from .._threads import threads_for
from ..posterior import ACTIVATIONS
from ._stacked import StackedMLP
from .base import Backend, Settings, WeightSets, generator, preserve_global_rng, take_last

FULL_MAX_PARAMS = 2000  # full GGN (P x P) up to here, KFAC beyond
MARGLIK_STEPS = 100


def _import_laplace() -> Any:
    try:
        from laplace import Laplace
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "inference='laplace' needs laplace-torch (pip install laplace-torch); if it is "
            "installed, check that `import torchvision` works (a CUDA build of torchvision "
            f"beside a CPU torch breaks torchmetrics): {err}"
        ) from err
    return Laplace


def _module(layer_sizes: Sequence[int], activation: str, dtype: torch.dtype,
            gen: torch.Generator) -> nn.Sequential:
    """The MLP as ``nn.Sequential``, initialised from ``gen`` (never torch's global RNG)."""
    layers: list[nn.Module] = []
    for l, (a, b) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        lin = torch.nn.utils.skip_init(nn.Linear, a, b, dtype=dtype)
        with torch.no_grad():
            bound = 1.0 / math.sqrt(a)
            lin.weight.copy_((torch.rand(b, a, generator=gen, dtype=dtype) * 2 - 1) * bound)
            lin.bias.copy_((torch.rand(b, generator=gen, dtype=dtype) * 2 - 1) * bound)
        layers.append(lin)
        if l < len(layer_sizes) - 2:
            layers.append(ACTIVATIONS[activation][1]())
    return nn.Sequential(*layers)


class LaplaceBackend(Backend):
    """``inference="laplace"``: Gaussian around the MAP with a GGN precision (laplace-torch)."""

    name = "laplace"
    mean: torch.Tensor
    scale: torch.Tensor | None  # (P, P) Cholesky factor of the covariance ("full")
    bank: torch.Tensor | None  # pre-drawn samples (KFAC)
    structure: str
    prior_precision: float
    noise: float
    n_params: int
    loss_history: NDArray[np.float32] | None

    def fit(self, Z: torch.Tensor, t: torch.Tensor, seed: np.random.SeedSequence
            ) -> LaplaceBackend:
        Laplace = _import_laplace()
        s = self.s
        init_seed, sample_seed = seed.spawn(2)
        dtype = torch.float64
        dev = Z.device  # the fit's device (BayesianMLP(device=...))
        Z = Z.to(dtype)
        reg = s["task"] == "regression"
        t = t.to(dtype) if reg else t
        n = Z.shape[0]
        net = _module(self.layer_sizes, s["activation"], dtype, generator(init_seed)).to(dev)
        learn_noise = reg and isinstance(s["noise"], str)
        log_sd = torch.zeros((), dtype=dtype, device=dev, requires_grad=learn_noise)
        if reg and not learn_noise:
            log_sd = torch.tensor(math.log(s["noise"]), dtype=dtype, device=dev)
        prec0 = 1.0 / s["prior_scale"] ** 2
        # laplace-torch's curvature code draws from torch's global RNG (not for anything
        # the result depends on); keep the user's global state as it was
        with threads_for(n * max(self.layer_sizes), Z.device), preserve_global_rng():
            self.loss_history = _fit_map(net, log_sd, Z, t, reg, prec0, s)
            self.n_params = sum(p.numel() for p in net.parameters())
            structure = "full" if self.n_params <= FULL_MAX_PARAMS else "kron"
            sigma = float(torch.exp(log_sd.detach())) if reg else 1.0
            la = Laplace(net, "regression" if reg else "classification",
                         subset_of_weights="all", hessian_structure=structure,
                         sigma_noise=sigma, prior_precision=prec0)
            batch = 256
            la.fit(torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(Z, t[:, None] if reg else t.long()),
                batch_size=batch))
            self.prior_precision, self.noise = _optimise_marglik(la, prec0, sigma, learn_noise)
            self.structure = structure
            self.mean = la.mean.detach().cpu().clone()
            if structure == "full":  # (P, P) Cholesky factor; draws() samples on the CPU
                self.scale = la.posterior_scale.detach().cpu().clone()
                self.bank = None
            else:  # laplace-torch samples on its device (a CUDA bank uses CUDA's stream)
                gen = generator(sample_seed, device=dev)
                self.bank = la.sample(int(s["num_samples"]), generator=gen).detach().cpu()
                self.scale = None
        return self

    def _stacked(self) -> StackedMLP:
        s = self.s
        return StackedMLP(self.layer_sizes, s["activation"], s["task"], s["prior_scale"],
                          self.noise)

    def n_available(self) -> int | None:
        return None if self.bank is None else self.bank.shape[0]

    def draws(self, n: int, gen: torch.Generator) -> WeightSets:
        if self.bank is None:
            assert self.scale is not None  # "full": the Cholesky factor is kept
            eps = torch.randn(n, self.mean.shape[0], generator=gen, dtype=self.mean.dtype)
            theta = self.mean[None, :] + eps @ self.scale.T
        else:
            theta = self.bank[take_last(n, self.bank.shape[0], "inference='laplace' (KFAC)")]
        return self._stacked().to_weights(theta)

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {"mean": self.mean}
        if self.scale is not None:
            tensors["scale"] = self.scale
        if self.bank is not None:
            tensors["bank"] = self.bank
        meta = dict(structure=self.structure, prior_precision=self.prior_precision,
                    noise=self.noise, n_params=self.n_params)
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> LaplaceBackend:
        self.mean = tensors["mean"]
        self.scale = tensors.get("scale")
        self.bank = tensors.get("bank")
        self.structure = meta["structure"]
        self.prior_precision = meta["prior_precision"]
        self.noise = meta["noise"]
        self.n_params = meta["n_params"]
        self.loss_history = None
        return self

    def estimator_attributes(self) -> dict[str, Any]:
        return {"laplace_": dict(structure=self.structure, n_params=self.n_params,
                                 prior_precision=self.prior_precision)}


def _fit_map(net: nn.Module, log_sd: torch.Tensor, Z: torch.Tensor, t: torch.Tensor, reg: bool,
             prec: float, s: Settings) -> NDArray[np.float32]:
    """MAP by Adam: mean NLL + prec/(2n)·‖θ‖² (cosine-decayed learning rate)."""
    params = list(net.parameters()) + ([log_sd] if log_sd.requires_grad else [])
    opt = torch.optim.Adam(params, lr=s["lr"])
    steps = int(s["n_steps"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=0.01 * s["lr"])
    n = Z.shape[0]
    losses = torch.empty(steps, device=Z.device)
    for k in range(steps):
        out = net(Z)
        if reg:
            nll = 0.5 * ((t - out[:, 0]) * torch.exp(-log_sd)).square().mean() + log_sd
        else:
            nll = nn.functional.cross_entropy(out, t)
        penalty = sum(p.square().sum() for p in net.parameters()) * (0.5 * prec / n)
        loss = nll + penalty
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses[k] = loss.detach()
    if not torch.isfinite(losses[-1]):
        raise FloatingPointError("Laplace: the MAP fit diverged (non-finite loss); lower lr")
    return losses.cpu().numpy()


def _optimise_marglik(la: Any, prec0: float, sigma0: float, learn_noise: bool
                      ) -> tuple[float, float]:
    """Scalar prior precision (and noise sd) maximising laplace-torch's marginal likelihood."""
    dev = la.mean.device
    log_prec = torch.tensor(math.log(prec0), dtype=torch.float64, device=dev,
                            requires_grad=True)
    log_sigma = torch.tensor(math.log(sigma0), dtype=torch.float64, device=dev,
                             requires_grad=learn_noise)
    opt = torch.optim.Adam([log_prec, log_sigma] if learn_noise else [log_prec], lr=0.1)
    for _ in range(MARGLIK_STEPS):
        opt.zero_grad()
        kwargs = {"sigma_noise": log_sigma.exp()} if learn_noise else {}
        (-la.log_marginal_likelihood(log_prec.exp(), **kwargs)).backward()
        opt.step()
    la.prior_precision = log_prec.detach().exp()
    if learn_noise:
        la.sigma_noise = log_sigma.detach().exp()
    return float(log_prec.detach().exp()), float(log_sigma.detach().exp())

