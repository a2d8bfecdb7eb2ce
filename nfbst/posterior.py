"""Posterior draws of an MLP's weights, stacked along a leading draw axis.

A :class:`PosteriorDraws` is the fast special case of
:class:`~nfbst.functional_draws.FunctionalDraws` (draws of any module): it holds S weight
sets of one fully connected network *in the user's units*: the input standardisation is
folded into the first layer and the target standardisation into the last, so
``draws.forward(X)`` maps the user's ``X`` straight to the user's ``y`` units (regression)
or to logits (classification), and ``draws.module(i)`` is a plain
:class:`torch.nn.Sequential` that captum and lime can consume.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast, overload

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from .functional_draws import FunctionalDraws, draw_index

#: name -> (function on tensors, module class) of each supported hidden activation
ACTIVATIONS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], type[nn.Module]]] = {
    "relu": (torch.relu, nn.ReLU),
    "tanh": (torch.tanh, nn.Tanh),
    "sigmoid": (torch.sigmoid, nn.Sigmoid),
    "gelu": (torch.nn.functional.gelu, nn.GELU),
}


class DrawsLike(Protocol):
    """What the per-draw statistics need of a set of draws: their number and draw ``i`` as a
    module (:class:`PosteriorDraws` is one; so is any ensemble of ``nn.Module``)."""

    def __len__(self) -> int: ...

    def module(self, i: int) -> nn.Module: ...


def check_activation(name: str) -> str:
    """Return ``name`` if it is a supported activation, else raise ``ValueError``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return name


@dataclass
class PosteriorDraws(FunctionalDraws):
    """S posterior weight sets of an MLP, stacked for batched evaluation.

    The fast special case of :class:`~nfbst.functional_draws.FunctionalDraws`: the same
    object (``params``, ``template``, ``functional_forward``, ``module(i)``), with an analytic
    batched forward (one GEMM per layer) and batched attribution rules.

    Parameters
    ----------
    weights : list of Tensor
        Layer ``l`` weight of shape ``(S, out_l, in_l)``, in the user's units.
    biases : list of Tensor
        Layer ``l`` bias of shape ``(S, out_l)``.
    activation : str
        Hidden activation: ``"relu"``, ``"tanh"``, ``"sigmoid"`` or ``"gelu"``.
    task : str
        ``"regression"`` (outputs in the target's units) or ``"classification"`` (logits).
    noise_scale : Tensor, optional
        Per-draw likelihood standard deviation ``(S,)`` in the target's units (regression).

    Examples
    --------
    >>> import torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.randn(5, 3, 2), torch.randn(5, 1, 3)]
    >>> b = [torch.zeros(5, 3), torch.zeros(5, 1)]
    >>> draws = PosteriorDraws(W, b, activation="relu")
    >>> draws.forward(torch.randn(4, 2)).shape
    torch.Size([5, 4, 1])
    >>> net = draws.module(0)
    >>> torch.allclose(net(torch.ones(1, 2)), draws.forward(torch.ones(1, 2))[0])
    True
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    activation: str = "relu"
    task: str = "regression"
    noise_scale: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_activation(self.activation)
        if self.task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {self.task!r}")
        if len(self.weights) == 0 or len(self.weights) != len(self.biases):
            raise ValueError("weights and biases must be non-empty lists of equal length")
        S = self.weights[0].shape[0]
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            if W.ndim != 3 or b.ndim != 2 or W.shape[0] != S or b.shape[0] != S:
                raise ValueError(
                    f"layer {l}: expected weight (S, out, in) and bias (S, out) with S={S}, "
                    f"got {tuple(W.shape)} and {tuple(b.shape)}"
                )
            if b.shape[1] != W.shape[1]:
                raise ValueError(f"layer {l}: bias size {b.shape[1]} != weight rows {W.shape[1]}")
            if l > 0 and W.shape[2] != self.weights[l - 1].shape[1]:
                raise ValueError(f"layer {l}: input size {W.shape[2]} does not match layer {l-1}")

    # ------------------------------------------------------------------ shapes
    def __len__(self) -> int:
        return self.weights[0].shape[0]

    @property
    def n_draws(self) -> int:
        return len(self)

    @property
    def n_features(self) -> int:
        return self.weights[0].shape[2]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.n_features,)

    @property
    def params(self) -> dict[str, torch.Tensor]:
        """The stacked weights under the parameter names of :meth:`module` (``"0.weight"``,
        ``"0.bias"``, ``"2.weight"``, ...)."""
        out: dict[str, torch.Tensor] = {}
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            out[f"{2 * l}.weight"], out[f"{2 * l}.bias"] = W, b
        return out

    @property
    def buffers(self) -> dict[str, torch.Tensor]:
        return {}

    @property
    def template(self) -> nn.Module:
        return self.module(0)

    @property
    def n_outputs(self) -> int:
        return self.weights[-1].shape[1]

    @property
    def dtype(self) -> torch.dtype:
        return self.weights[0].dtype

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    @property
    def act_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The hidden activation as a function on tensors."""
        return ACTIVATIONS[self.activation][0]

    # ---------------------------------------------------------------- forward
    def as_tensor(self, X: ArrayLike | torch.Tensor) -> torch.Tensor:
        """``X`` as a 2-D tensor of the draws' dtype and device."""
        X = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X)
        X = X.to(device=self.device, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"X must have shape (n, {self.n_features}), got {tuple(X.shape)}"
            )
        return X

    @overload
    def forward(self, X: ArrayLike | torch.Tensor,
                return_hidden: Literal[False] = False) -> torch.Tensor: ...

    @overload
    def forward(self, X: ArrayLike | torch.Tensor,
                return_hidden: Literal[True]) -> tuple[torch.Tensor, list[torch.Tensor]]: ...

    def forward(self, X: ArrayLike | torch.Tensor, return_hidden: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs of every draw on ``X``: ``(S, n, k)``.

        With ``return_hidden=True`` also returns the list of pre-activations ``z_l`` of
        shape ``(S, n, out_l)`` for every hidden layer (used by the attribution rules).
        """
        X = self.as_tensor(X)  # (n, d)
        act = self.act_fn
        # first layer: one GEMM shared by all draws
        z = torch.einsum("nd,sod->sno", X, self.weights[0]) + self.biases[0][:, None, :]
        pre: list[torch.Tensor] = []
        for W, b in zip(self.weights[1:], self.biases[1:]):
            pre.append(z)
            z = torch.baddbmm(b[:, None, :], act(z), W.transpose(1, 2))  # (S, n, out)
        return (z, pre) if return_hidden else z

    __call__ = forward

    def predict_mean(self, X: ArrayLike | torch.Tensor) -> torch.Tensor:
        """Posterior-mean output ``(n, k)`` (probabilities for classification)."""
        out = self.forward(X)
        if self.task == "classification":
            out = torch.softmax(out, dim=-1)
        return out.mean(0)

    # ------------------------------------------------------------ per-draw nets
    def module(self, i: int) -> nn.Sequential:
        """Draw ``i`` as a plain ``torch.nn.Sequential`` (user's units in and out)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"draw index {i} out of range for {len(self)} draws")
        layers: list[nn.Module] = []
        act_cls = ACTIVATIONS[self.activation][1]
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            # skip_init: no draw from torch's global generator (the weights are overwritten)
            lin = nn.utils.skip_init(nn.Linear, W.shape[2], W.shape[1], dtype=self.dtype,
                                     device=self.device)
            with torch.no_grad():
                lin.weight.copy_(W[i])
                lin.bias.copy_(b[i])
            layers.append(lin)
            if l < len(self.weights) - 1:
                layers.append(act_cls())
        return nn.Sequential(*layers).eval()

    def subset(self, idx: slice | ArrayLike) -> PosteriorDraws:
        """The draws at the given indices (slice, index array or boolean mask)."""
        sel = draw_index(idx)
        return PosteriorDraws(
            [W[sel] for W in self.weights],
            [b[sel] for b in self.biases],
            self.activation,
            self.task,
            None if self.noise_scale is None else self.noise_scale[sel],
            dict(self.meta),
        )

    def to(self, device: str | torch.device | None = None,
           dtype: torch.dtype | None = None) -> PosteriorDraws:
        """A copy on another device and/or dtype."""
        def mv(t: torch.Tensor) -> torch.Tensor:
            return t.to(device=device, dtype=dtype)

        return PosteriorDraws(
            [mv(W) for W in self.weights],
            [mv(b) for b in self.biases],
            self.activation,
            self.task,
            None if self.noise_scale is None else mv(self.noise_scale),
            dict(self.meta),
        )

    @staticmethod
    def concatenate(parts: list[PosteriorDraws]) -> PosteriorDraws:
        """Pool several sets of draws of the same architecture (e.g. an ensemble)."""
        first = parts[0]
        for p in parts[1:]:
            if [W.shape[1:] for W in p.weights] != [W.shape[1:] for W in first.weights]:
                raise ValueError("cannot pool draws of different architectures")
        scales = [p.noise_scale for p in parts if p.noise_scale is not None]
        noise = torch.cat(scales) if len(scales) == len(parts) else None
        return PosteriorDraws(
            [torch.cat([p.weights[l] for p in parts]) for l in range(len(first.weights))],
            [torch.cat([p.biases[l] for p in parts]) for l in range(len(first.biases))],
            first.activation,
            first.task,
            noise,
            dict(first.meta),
        )

    # ------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``path/draws.pt`` (tensors only) and ``path/draws.json`` (settings)."""
        os.makedirs(path, exist_ok=True)
        tensors = {f"W{l}": W for l, W in enumerate(self.weights)}
        tensors.update({f"b{l}": b for l, b in enumerate(self.biases)})
        if self.noise_scale is not None:
            tensors["noise_scale"] = self.noise_scale
        torch.save(tensors, os.path.join(path, "draws.pt"))
        with open(os.path.join(path, "draws.json"), "w") as fh:
            json.dump(
                {"activation": self.activation, "task": self.task,
                 "n_layers": len(self.weights), "meta": self.meta},
                fh,
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str], module: nn.Module | None = None
             ) -> PosteriorDraws:
        """Inverse of :meth:`save` (``torch.load(weights_only=True)``; ``module`` is not
        needed: the MLP's architecture is in the settings)."""
        with open(os.path.join(path, "draws.json")) as fh:
            cfg = json.load(fh)
        t = torch.load(os.path.join(path, "draws.pt"), weights_only=True)
        L = cfg["n_layers"]
        return cls(
            [t[f"W{l}"] for l in range(L)],
            [t[f"b{l}"] for l in range(L)],
            cfg["activation"],
            cfg["task"],
            t.get("noise_scale"),
            cfg.get("meta", {}),
        )


@overload
def fold_standardization(
    weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], x_mean: torch.Tensor,
    x_scale: torch.Tensor, y_mean: None = None, y_scale: None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]: ...


@overload
def fold_standardization(
    weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], x_mean: torch.Tensor,
    x_scale: torch.Tensor, y_mean: torch.Tensor, y_scale: torch.Tensor,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]: ...


def fold_standardization(
    weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], x_mean: torch.Tensor,
    x_scale: torch.Tensor, y_mean: torch.Tensor | None = None,
    y_scale: torch.Tensor | None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Fold ``z = (x - x_mean) / x_scale`` and ``y = y_mean + y_scale * out`` into the weights.

    ``weights``/``biases`` are stacked ``(S, out, in)``/``(S, out)`` tensors of a network that
    acts on standardised inputs and predicts standardised targets; the returned lists act on
    the user's units. Exact for affine layers, so every attribution of the folded network is
    the attribution of the original pipeline.
    """
    W0 = weights[0] / x_scale  # (S, h, d) / (d,)
    b0 = biases[0] - torch.einsum("shd,d->sh", W0, x_mean)
    W = [W0, *weights[1:]]
    b = [b0, *biases[1:]]
    if y_scale is not None:
        W[-1] = W[-1] * y_scale[:, None]
        b[-1] = b[-1] * y_scale + cast(torch.Tensor, y_mean)  # the overloads: both or neither
    return W, b
