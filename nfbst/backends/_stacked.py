"""C copies of the Bayesian MLP as rows of one ``(C, P)`` parameter tensor.

Sampling backends (``hmc``, ``sgld``, ``anchored``) advance all chains or ensemble members in
one batched forward/backward pass: row ``c`` of ``theta`` holds every weight and bias of copy
``c`` (and, for regression with learned noise, the log of the likelihood sd last).
The model is the one of :func:`nfbst.backends.nuts.mlp_model`: N(0, prior_scale²) on every
weight and bias, Gaussian likelihood with a HalfNormal(1) prior on its sd (or a fixed sd),
or a categorical likelihood on the logits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..posterior import ACTIVATIONS
from ..statistics._activations import DERIVATIVES

_HALF_NORMAL_CONST = math.log(2.0) - 0.5 * math.log(2 * math.pi)


class StackedMLP:
    """Log posterior, its gradient and the forward pass of C stacked MLPs.

    Parameters
    ----------
    layer_sizes : tuple of int
    activation, task : str
    prior_scale : float
        Prior sd of every weight and bias (standardised units).
    noise : "learned" or float
        Likelihood sd in standardised units, or ``"learned"`` (log-sd is the last parameter,
        HalfNormal(1) prior on the sd plus the log-Jacobian of ``sd = exp(u)``).
    """

    def __init__(self, layer_sizes: Sequence[int], activation: str, task: str,
                 prior_scale: float, noise: str | float) -> None:
        self.layer_sizes = tuple(layer_sizes)
        self.act = ACTIVATIONS[activation][0]
        derivative = DERIVATIVES.get(activation)
        # act'(a) from the pre-activation a and the activation h = act(a) of the forward pass
        self._derivative: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = (
            None if derivative is None else derivative.of_output)
        self.task = task
        self.prior_scale = float(prior_scale)
        self.learn_noise = task == "regression" and isinstance(noise, str)
        self.noise = None if isinstance(noise, str) else float(noise)
        self.slices: list[tuple[tuple[int, int, tuple[int, int]], tuple[int, int]]] = []
        pos = 0
        for a, b in zip(layer_sizes[:-1], layer_sizes[1:]):
            self.slices.append(((pos, pos + a * b, (b, a)), (pos + a * b, pos + a * b + b)))
            pos += a * b + b
        self.n_weights = pos
        self.n_params = pos + int(self.learn_noise)

    # ----------------------------------------------------------------- layout
    def unpack(self, theta: torch.Tensor
               ) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor | None]:
        """Views ``[W_l (C,out,in)], [b_l (C,out)]`` and the log-sd ``(C,)`` (or None)."""
        C = theta.shape[0]
        W = [theta[:, w0:w1].reshape(C, *shape) for (w0, w1, shape), _ in self.slices]
        b = [theta[:, b0:b1] for _, (b0, b1) in self.slices]
        log_sd = theta[:, -1] if self.learn_noise else None
        return W, b, log_sd

    def fixed_noise_sd(self) -> float:
        """The fixed likelihood sd of a regression whose noise is not learned."""
        if self.noise is None:
            raise ValueError("the likelihood sd is learned: no fixed noise")
        return self.noise

    def noise_sd(self, theta: torch.Tensor) -> torch.Tensor:
        """Likelihood sd per row ``(C,)`` (ones for classification)."""
        if self.learn_noise:
            return torch.exp(theta[:, -1])
        value = 1.0 if self.noise is None else self.noise
        return torch.full((theta.shape[0],), value, dtype=theta.dtype, device=theta.device)

    def init(self, C: int, gen: torch.Generator, dtype: torch.dtype = torch.float64,
             radius: float = 2.0) -> torch.Tensor:
        """Starting points: weights U(-radius, radius)/sqrt(fan-in), log-sd 0 (sd 1)."""
        theta = torch.zeros(C, self.n_params, dtype=dtype)
        for (w0, w1, (_, a)), (b0, b1) in self.slices:
            u = torch.rand(C, w1 - w0, generator=gen, dtype=dtype) * 2 - 1
            theta[:, w0:w1] = u * radius / math.sqrt(a)
            theta[:, b0:b1] = (torch.rand(C, b1 - b0, generator=gen, dtype=dtype) * 2 - 1) * 0.1
        return theta

    # ---------------------------------------------------------------- model
    def forward(self, theta: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
        """Outputs ``(C, n, k)`` of every row on the shared inputs ``Z`` (n, d)."""
        W, b, _ = self.unpack(theta)
        # one bmm per layer (not a matmul folded into one GEMM over all rows): each row's
        # result then does not depend on how many rows are stacked, so chains and members
        # give the same numbers whatever their grouping into joblib tasks
        h = torch.baddbmm(b[0][:, None, :], Z.expand(theta.shape[0], -1, -1),
                          W[0].transpose(1, 2))
        for Wl, bl in zip(W[1:], b[1:]):
            h = torch.baddbmm(bl[:, None, :], self.act(h), Wl.transpose(1, 2))
        return h

    def log_prior(self, theta: torch.Tensor) -> torch.Tensor:
        """Log prior density per row ``(C,)`` (up to a constant for the Gaussian part)."""
        w = theta[:, : self.n_weights]
        lp = -0.5 * w.square().sum(1) / self.prior_scale**2
        if self.learn_noise:
            u = theta[:, -1]
            lp = lp + _HALF_NORMAL_CONST - 0.5 * torch.exp(2 * u) + u  # HalfNormal(1) + Jacobian
        return lp

    def log_lik(self, theta: torch.Tensor, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Log likelihood per row ``(C,)`` of targets ``t`` (n,) given outputs ``(C, n, k)``."""
        if self.task == "classification":
            logp = torch.log_softmax(out, -1)
            return logp.gather(2, t.view(1, -1, 1).expand(out.shape[0], -1, 1)).sum((1, 2))
        n = t.shape[0]
        if self.learn_noise:
            u = theta[:, -1]
            r = (t[None, :] - out[..., 0]) * torch.exp(-u)[:, None]
            return -0.5 * r.square().sum(1) - n * u - 0.5 * n * math.log(2 * math.pi)
        r = (t[None, :] - out[..., 0]) / self.fixed_noise_sd()
        return -0.5 * r.square().sum(1) - n * math.log(self.fixed_noise_sd()) - 0.5 * n * math.log(
            2 * math.pi)

    def log_post(self, theta: torch.Tensor, Z: torch.Tensor, t: torch.Tensor,
                 lik_scale: float = 1.0) -> torch.Tensor:
        """Log posterior per row ``(C,)``; ``lik_scale`` = n / batch for a minibatch estimate."""
        return self.log_prior(theta) + lik_scale * self.log_lik(theta, self.forward(theta, Z), t)

    def log_post_grad(self, theta: torch.Tensor, Z: torch.Tensor, t: torch.Tensor,
                      lik_scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log posterior (C,), its gradient (C, P))``; rows are independent.

        Hand-written backward pass (two batched GEMMs per layer): for the small networks
        that HMC serves, autograd's bookkeeping costs more than the arithmetic.
        """
        if self._derivative is None:
            with torch.enable_grad():
                th = theta.detach().requires_grad_(True)
                lp = self.log_post(th, Z, t, lik_scale)
                (g,) = torch.autograd.grad(lp.sum(), th)
            return lp.detach(), g
        W, b, _ = self.unpack(theta)
        hs, pre = [Z], []
        h = torch.matmul(Z, W[0].transpose(1, 2)) + b[0][:, None, :]  # (C, n, h1)
        for Wl, bl in zip(W[1:], b[1:]):
            pre.append(h)
            hs.append(self.act(h))
            h = torch.baddbmm(bl[:, None, :], hs[-1], Wl.transpose(1, 2))
        out = h  # (C, n, k)
        grad = torch.empty_like(theta)
        # d log-lik / d out
        if self.task == "classification":
            logp = torch.log_softmax(out, -1)
            onehot = torch.zeros_like(out).scatter_(2, t.view(1, -1, 1).expand(out.shape[0], -1, 1),
                                                    1.0)
            ll = (logp * onehot).sum((1, 2))
            delta = onehot - torch.exp(logp)
        else:
            n = t.shape[0]
            log_sd: torch.Tensor | float
            if self.learn_noise:
                u = theta[:, -1]
                prec = torch.exp(-2 * u)
                log_sd = u
            else:
                prec = torch.full_like(theta[:, 0], 1.0 / self.fixed_noise_sd()**2)
                log_sd = math.log(self.fixed_noise_sd())
            r = t[None, :] - out[..., 0]  # (C, n)
            ss = r.square().sum(1)
            ll = -0.5 * prec * ss - n * log_sd - 0.5 * n * math.log(2 * math.pi)
            delta = (r * prec[:, None])[..., None]
            if self.learn_noise:
                grad[:, -1] = lik_scale * (prec * ss - n)
        ll = lik_scale * ll
        delta = lik_scale * delta
        for l in range(len(W) - 1, -1, -1):
            (w0, w1, _), (b0, b1) = self.slices[l]
            C = theta.shape[0]
            grad[:, w0:w1] = torch.matmul(delta.transpose(1, 2), hs[l]).reshape(C, -1)
            grad[:, b0:b1] = delta.sum(1)
            if l > 0:
                delta = torch.matmul(delta, W[l]) * self._derivative(pre[l - 1], hs[l])
        # prior
        w = theta[:, : self.n_weights]
        lp = ll - 0.5 * w.square().sum(1) / self.prior_scale**2
        grad[:, : self.n_weights] -= w / self.prior_scale**2
        if self.learn_noise:
            u = theta[:, -1]
            e2u = torch.exp(2 * u)
            lp = lp + _HALF_NORMAL_CONST - 0.5 * e2u + u
            grad[:, -1] += 1.0 - e2u
        return lp, grad

    # ---------------------------------------------------------------- output
    def to_weights(self, theta: torch.Tensor
                   ) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        """``([W_l (S,out,in)], [b_l (S,out)], noise sd (S,))`` copies for PosteriorDraws."""
        W, b, _ = self.unpack(theta)
        return [w.clone() for w in W], [v.clone() for v in b], self.noise_sd(theta).clone()


def check_positive_int(s: Mapping[str, Any], name: str, minimum: int = 1) -> int:
    """``s[name]`` as an int >= ``minimum``, else a ``ValueError`` naming it."""
    value = s[name]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)
