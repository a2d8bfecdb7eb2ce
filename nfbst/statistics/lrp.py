"""Layer-wise Relevance Propagation statistic for every posterior draw at once.

Relevance flows from the target output back to the inputs layer by layer (Bach et al.
2015); activations pass it through unchanged. Rules per Linear layer, as captum's:

- ``"epsilon"`` (default, captum's ``EpsilonRule``):
  ``R_j = a_j Σ_k w_kj R_k / (z_k + ε sign z_k)``;
- ``"gamma"`` (``GammaRule``): the same with ``w + γ w⁺``;
- ``"zplus"`` (``Alpha1_Beta0_Rule``): the same with ``w⁺`` (captum keeps the bias);
- ``"alpha_beta"``: ``R_j = Σ_k (α z⁺_jk / z⁺_k − β z⁻_jk / z⁻_k) R_k`` on the contributions
  ``z_jk = a_j w_kj`` (biases ignored, so ``α − β = 1`` conserves relevance); not in captum.

The output relevance is the target output itself, so the attributions of the epsilon rule
sum to ``f(x)`` minus what the biases absorb.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from ._base import BlockRule, RowBatching, batched_statistic, mlp_cost
from ._targets import output_selector
from .captum_fallback import captum_per_draw

if TYPE_CHECKING:
    from ..posterior import PosteriorDraws
    from ._base import TargetLike

RULES = ("epsilon", "gamma", "zplus", "alpha_beta")


def _stabilise(z: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.where(z >= 0, z + eps, z - eps)  # sign(0) counts as +, as in captum


def _check_rules(rule: str | Sequence[str], n_layers: int) -> list[str]:
    rules = [rule] * n_layers if isinstance(rule, str) else list(rule)
    if len(rules) != n_layers:
        raise ValueError(f"rule must be a str or one per Linear layer ({n_layers}), got "
                         f"{len(rules)} rules")
    for r in rules:
        if r not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {r!r}")
    return rules


def _relevance_down(r: torch.Tensor, a: torch.Tensor, W: torch.Tensor, b: torch.Tensor,
                    rule: str, epsilon: float, gamma: float, alpha: float, beta: float,
                    z: torch.Tensor | None = None) -> torch.Tensor:
    """Normalised relevance ``r`` ``(S, n, out)`` at a layer's output → its input ``(S, n, in)``.

    ``z`` is the layer's forward pre-activation, reused by the epsilon rule.
    """
    if rule == "alpha_beta":
        Wp, Wn = W.clamp(min=0), W.clamp(max=0)
        ap, an = a.clamp(min=0), a.clamp(max=0)
        zp = torch.bmm(ap, Wp.transpose(1, 2)) + torch.bmm(an, Wn.transpose(1, 2))
        zn = torch.bmm(ap, Wn.transpose(1, 2)) + torch.bmm(an, Wp.transpose(1, 2))
        sp = r / (zp + epsilon)
        sn = r / (zn - epsilon)
        pos = ap * torch.bmm(sp, Wp) + an * torch.bmm(sp, Wn)
        neg = ap * torch.bmm(sn, Wn) + an * torch.bmm(sn, Wp)
        return alpha * pos - beta * neg
    if rule == "zplus":
        W = W.clamp(min=0)
    elif rule == "gamma":
        W = W + gamma * W.clamp(min=0)
    if rule != "epsilon" or z is None:
        z = torch.baddbmm(b[:, None, :], a, W.transpose(1, 2))
    return torch.mul(a, torch.bmm(r / _stabilise(z, epsilon), W))


@torch.no_grad()
@batched_statistic(per_draw=captum_per_draw("lrp", ignore=("alpha", "beta")),
                   rows=RowBatching(row_cost=mlp_cost(4)))
def lrp(draws: PosteriorDraws, X: torch.Tensor, target: TargetLike = None,
        rule: str | Sequence[str] = "epsilon", epsilon: float = 1e-9, gamma: float = 0.25,
        alpha: float = 1.0, beta: float = 0.0, batch_size: int | None = None,
        verbose: int = 0) -> BlockRule:
    """LRP relevance of each input feature for the target output, all draws: ``(S, n, d)``.

    Parameters
    ----------
    draws : PosteriorDraws or any object with ``__len__`` and ``module(i)``
        Other draws fall back to captum's ``LRP`` per draw (rules ``epsilon``, ``gamma``,
        ``zplus`` there).
    X : array-like of shape (n, d), in the user's units
    target : None, int, "predicted" or int array (n,)
        The output explained.
    rule : str or sequence of str
        One rule for all Linear layers or one per layer (first layer first): ``"epsilon"``,
        ``"gamma"``, ``"zplus"`` or ``"alpha_beta"``.
    epsilon : float
        Stabiliser (captum's ``EpsilonRule`` default 1e-9).
    gamma : float
        Weight of the positive part in the gamma rule (captum's default 0.25).
    alpha, beta : float
        Weights of the positive and negative contributions in the alpha-beta rule.
    batch_size : int, optional
        Rows processed at a time.
    verbose : int
        Progress bar on the per-draw fallback path; 0 silences it.

    Returns
    -------
    Tensor of shape (S, n, d).

    Examples
    --------
    >>> import torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.tensor([[[2.0, -1.0]]])]; b = [torch.zeros(1, 1)]
    >>> lrp(PosteriorDraws(W, b), torch.tensor([[1.0, 1.0]]))[0, 0]
    tensor([ 2., -1.])
    """
    rules = _check_rules(rule, len(draws.weights))

    def block(X_rows: torch.Tensor, target_rows: TargetLike, rows: slice) -> torch.Tensor:
        f, pre = draws.forward(X_rows, return_hidden=True)
        acts = [X_rows.expand(len(draws), *X_rows.shape)] + [draws.act_fn(z) for z in pre]
        seed = output_selector(draws, X_rows, target_rows)
        zs = pre + [f]
        r = seed * f  # relevance of the target output: its value (rules are linear in r)
        for l in range(len(draws.weights) - 1, -1, -1):
            r = _relevance_down(r, acts[l], draws.weights[l], draws.biases[l], rules[l],
                                epsilon, gamma, alpha, beta, z=zs[l])
        return r

    return block
