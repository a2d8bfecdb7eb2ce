"""Mean-field Gaussian posteriors of an MLP as state dicts, and their draws.

Merging works on state dicts; nFBST works on :class:`~nfbst.posterior.PosteriorDraws`.
:class:`MeanFieldPosterior` bridges the two: a ``mean`` and a ``std`` state dict (keys
``"<layer>.weight"``/``"<layer>.bias"``, as :meth:`nfbst.variational.MeanFieldMLP.posterior_params`
names them) plus what is needed to turn draws into the user's units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from probconstraints._random import RandomStateLike

from ..posterior import PosteriorDraws, check_activation, fold_standardization
from ._state import StateDict, StateLike, check_same_layout, check_state_dict
from .dare_merging import torch_generator

if TYPE_CHECKING:
    from ..bnn import BayesianMLP


def layer_keys(state: StateLike) -> list[tuple[str, str]]:
    """``[(weight_key, bias_key), ...]`` of an MLP state dict, in the dict's order.

    Every floating-point entry must be a 2-D ``"<p>.weight"`` with a 1-D ``"<p>.bias"``.

    Examples
    --------
    >>> import torch
    >>> layer_keys({"0.weight": torch.ones(3, 2), "0.bias": torch.ones(3),
    ...             "1.weight": torch.ones(1, 3), "1.bias": torch.ones(1)})
    [('0.weight', '0.bias'), ('1.weight', '1.bias')]
    """
    pairs: list[tuple[str, str]] = []
    for key, value in state.items():
        if key.endswith(".weight"):
            prefix = key[: -len(".weight")]
            bkey = prefix + ".bias"
            if bkey not in state:
                raise ValueError(f"parameter {key!r} has no matching bias {bkey!r}")
            if value.ndim != 2 or state[bkey].ndim != 1 or state[bkey].shape[0] != value.shape[0]:
                raise ValueError(
                    f"parameters {key!r}/{bkey!r} must be (out, in)/(out,), got "
                    f"{tuple(value.shape)}/{tuple(state[bkey].shape)}"
                )
            pairs.append((key, bkey))
        elif not key.endswith(".bias") and value.is_floating_point():
            raise ValueError(
                f"parameter {key!r} is neither '<layer>.weight' nor '<layer>.bias'"
            )
    if not pairs:
        raise ValueError("the state dict holds no '<layer>.weight' parameter")
    for (w0, _), (w1, _) in zip(pairs[:-1], pairs[1:]):
        if state[w1].shape[1] != state[w0].shape[0]:
            raise ValueError(f"parameter {w1!r} expects {state[w1].shape[1]} inputs, "
                             f"{w0!r} gives {state[w0].shape[0]}")
    return pairs


@dataclass
class MeanFieldPosterior:
    """A diagonal Gaussian posterior ``N(mean, std²)`` over an MLP's parameters.

    Parameters
    ----------
    mean, std : dict[str, Tensor]
        Means and standard deviations (> 0; zeros allowed for a point mass), same keys and
        shapes, ``"<layer>.weight"`` ``(out, in)`` and ``"<layer>.bias"`` ``(out,)``.
    activation : str
        Hidden activation of the MLP.
    task : {"regression", "classification"}
    standardization : dict, optional
        ``x_mean``, ``x_scale`` (and ``y_mean``, ``y_scale`` for regression) when the
        parameters act on standardised units, as in ``BayesianMLP.standardization_``; the
        draws are folded back to the user's units.
    noise_scale : float, optional
        Likelihood sd in the parameters' (standardised) target units.

    Examples
    --------
    >>> import torch
    >>> post = MeanFieldPosterior({"0.weight": torch.ones(1, 2), "0.bias": torch.zeros(1)},
    ...                           {"0.weight": torch.full((1, 2), 0.1),
    ...                            "0.bias": torch.full((1,), 0.1)})
    >>> post.sample(50, random_state=0).weights[0].shape
    torch.Size([50, 1, 2])
    """

    mean: StateDict
    std: StateDict
    activation: str = "relu"
    task: str = "regression"
    standardization: Mapping[str, Any] | None = None
    noise_scale: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mean = check_state_dict(self.mean, "mean")
        self.std = check_state_dict(self.std, "std")
        check_same_layout(self.mean, self.std, "mean", "std")
        for k, v in self.std.items():
            if bool((v < 0).any()):
                raise ValueError(f"std[{k!r}] must be >= 0 everywhere")
        check_activation(self.activation)
        if self.task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {self.task!r}")
        self.layers = layer_keys(self.mean)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_bnn(cls, bnn: BayesianMLP, run: int = 0) -> MeanFieldPosterior:
        """The variational posterior of a fitted mean-field :class:`nfbst.BayesianMLP`.

        Parameters are in the BNN's standardised units; its standardisation is kept so that
        :meth:`sample` returns draws in the user's units.
        """
        nets = getattr(bnn, "mean_field_", None)
        if not nets:
            raise ValueError("bnn must be a BayesianMLP fitted with inference='vi' or 'ensemble'")
        if not 0 <= run < len(nets):
            raise ValueError(f"run must be in [0, {len(nets)}), got {run}")
        net = nets[run]
        params = net.posterior_params()
        noise = float(torch.exp(net.log_noise.detach())) if bnn.task == "regression" else None
        return cls(
            {k: v[0].clone() for k, v in params.items()},
            {k: v[1].clone() for k, v in params.items()},
            bnn.activation, bnn.task, dict(bnn.standardization_), noise,
        )

    def with_mean(self, mean: StateLike, std: StateLike | None = None) -> MeanFieldPosterior:
        """The same posterior family around another mean (e.g. a merged state dict)."""
        checked = check_state_dict(mean, "mean")
        check_same_layout(self.mean, checked, "the posterior", "mean")
        return MeanFieldPosterior(
            {k: v.detach().clone() for k, v in checked.items()},
            {k: v.detach().clone() for k, v in (self.std if std is None else std).items()},
            self.activation, self.task, self.standardization, self.noise_scale,
            dict(self.meta),
        )

    # ------------------------------------------------------------------ sampling
    def _fold(self, W: list[torch.Tensor], b: list[torch.Tensor]
              ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        st = self.standardization
        if st is None:
            return W, b
        x_mean = torch.as_tensor(st["x_mean"], dtype=W[0].dtype)
        x_scale = torch.as_tensor(st["x_scale"], dtype=W[0].dtype)
        if self.task == "regression" and "y_scale" in st:
            ym = torch.as_tensor([st["y_mean"]], dtype=W[0].dtype)
            ys = torch.as_tensor([st["y_scale"]], dtype=W[0].dtype)
            return fold_standardization(W, b, x_mean, x_scale, ym, ys)
        return fold_standardization(W, b, x_mean, x_scale)

    def sample(self, n_draws: int = 300, random_state: RandomStateLike | torch.Generator = None
               ) -> PosteriorDraws:
        """``n_draws`` weight sets ``mean + std · ε`` as :class:`PosteriorDraws` (user units)."""
        if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
            raise ValueError(f"n_draws must be an int >= 1, got {n_draws!r}")
        gen = torch_generator(random_state)
        W: list[torch.Tensor] = []
        b: list[torch.Tensor] = []
        for wk, bk in self.layers:
            for key, out in ((wk, W), (bk, b)):
                m = self.mean[key].detach().double()
                eps = torch.randn((n_draws, *m.shape), generator=gen, dtype=torch.float64)
                out.append(m + self.std[key].detach().double() * eps)
        return self._draws(W, b, n_draws)

    def point(self) -> PosteriorDraws:
        """The posterior mean as a single draw (``S = 1``), in the user's units."""
        W = [self.mean[wk].detach().double()[None] for wk, _ in self.layers]
        b = [self.mean[bk].detach().double()[None] for _, bk in self.layers]
        return self._draws(W, b, 1)

    def _draws(self, W: list[torch.Tensor], b: list[torch.Tensor], S: int) -> PosteriorDraws:
        W, b = self._fold(W, b)
        noise = None
        if self.task == "regression" and self.noise_scale is not None:
            scale = 1.0
            if self.standardization is not None and "y_scale" in self.standardization:
                scale = float(self.standardization["y_scale"])
            noise = torch.full((S,), float(self.noise_scale) * scale)
        return PosteriorDraws(
            [w.float() for w in W], [v.float() for v in b], self.activation, self.task, noise,
            dict(self.meta),
        )
