"""Posterior draws of any torch module: S stacked parameter sets, one batched forward.

A :class:`FunctionalDraws` holds a *template* module (its architecture) and, for every
parameter and buffer of it, a tensor stacked along a leading draw axis ``(S, ...)``. The
outputs of all draws are one call of :func:`torch.func.functional_call` under
:func:`torch.func.vmap`, so a Bayesian CNN, an ensemble of user networks or MC-dropout masks
are evaluated like the stacked MLP weights of :class:`~nfbst.posterior.PosteriorDraws` (the
fast special case of this class, with an analytic forward).

Inputs are *flat rows*: the rest of nFBST sees ``X`` as ``(n, d)`` with
``d = prod(input_shape)``; :meth:`FunctionalDraws.forward` reshapes each row to
``input_shape`` (e.g. ``(1, 8, 8)`` for an image) before calling the module. Images may also
be passed with their shape ``(n, *input_shape)``.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from probconstraints._random import RandomStateLike

TASKS = ("regression", "classification")


class FixedDropout(nn.Module):
    """Dropout with a fixed mask (a buffer), the layer :meth:`FunctionalDraws.from_mc_dropout`
    puts in place of each dropout layer: ``x * mask``, the mask broadcast over the rows.

    ``mask`` has the shape of one row's activation (``nn.Dropout``) or ``(C, 1, ...)``
    (channel dropout); its values are 0 or 1 / (1 − p).
    """

    mask: torch.Tensor

    def __init__(self, shape: Sequence[int], p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.register_buffer("mask", torch.ones(tuple(shape)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask

    def extra_repr(self) -> str:
        return f"p={self.p}, mask={tuple(self.mask.shape)}"


_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)


class OutputAffine:
    """Forward hook ``out · scale + shift``: a regression module's standardised output in the
    target's units. :class:`~nfbst.network.BayesianNetwork` puts it on its draws' template and
    records it as ``meta["output_affine"] = [shift, scale]``, which :meth:`FunctionalDraws.load`
    re-applies to the module it is given."""

    def __init__(self, shift: float, scale: float) -> None:
        self.shift, self.scale = float(shift), float(scale)

    def __call__(self, module: nn.Module, inputs: Any, out: torch.Tensor) -> torch.Tensor:
        return out * self.scale + self.shift


def _with_output_affine(module: nn.Module, affine: Sequence[float] | None) -> nn.Module:
    """``module`` with an :class:`OutputAffine` hook ``affine = [shift, scale]`` (a copy; the
    module itself when it has such a hook already or when ``affine`` is None)."""
    if affine is None or any(isinstance(h, OutputAffine)
                             for h in module._forward_hooks.values()):
        return module
    net = copy.deepcopy(module)
    net.register_forward_hook(OutputAffine(*affine))
    return net


def _infer_input_shape(module: nn.Module) -> tuple[int, ...]:
    """``(in_features,)`` when the module's first parametrised layer is ``nn.Linear``."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            return (int(m.in_features),)
        if any(True for _ in m.parameters(recurse=False)):
            break
    raise ValueError(
        f"input_shape is required for a {type(module).__name__} whose first layer is not "
        "nn.Linear: pass the shape of one input row, e.g. input_shape=(1, 28, 28)"
    )


class FunctionalDraws:
    """S posterior draws of one torch module, evaluated in one batched functional forward.

    Parameters
    ----------
    module : torch.nn.Module
        The template: its architecture (and any non-parameter attributes). Its own parameter
        values are not used; the draws replace them. It is copied and put in ``eval()`` mode.
    params : mapping of str to Tensor
        For every name of ``module.named_parameters()``, the draws stacked as ``(S, *shape)``.
    buffers : mapping of str to Tensor, optional
        For every buffer of ``module`` (e.g. BatchNorm running statistics), ``(S, *shape)``;
        default: the module's own buffers, shared by all draws.
    task : {"regression", "classification"}
        ``"regression"``: the outputs are predictions in the target's units;
        ``"classification"``: the outputs are logits.
    input_shape : tuple of int, optional
        The shape of one input row as the module takes it; default ``(in_features,)`` of a
        leading ``nn.Linear``.
    noise_scale : Tensor (S,), optional
        Per-draw likelihood standard deviation (regression).
    meta : dict, optional
        JSON-serialisable notes (e.g. which posterior method made the draws).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from nfbst.functional_draws import FunctionalDraws
    >>> nets = [nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)) for _ in range(5)]
    >>> draws = FunctionalDraws.from_modules(nets)
    >>> X = torch.randn(10, 3)
    >>> out = draws.forward(X)                      # (S, n, k): all draws in one call
    >>> out.shape
    torch.Size([5, 10, 1])
    >>> torch.allclose(out[2], nets[2](X), atol=1e-6)
    True
    >>> torch.allclose(draws.module(2)(X), nets[2](X))
    True
    """

    def __init__(
        self,
        module: nn.Module,
        params: Mapping[str, torch.Tensor],
        buffers: Mapping[str, torch.Tensor] | None = None,
        *,
        task: str = "regression",
        input_shape: Sequence[int] | None = None,
        noise_scale: torch.Tensor | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if task not in TASKS:
            raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
        names = dict(module.named_parameters())
        if not names:
            raise ValueError(f"module {type(module).__name__} has no parameters to draw")
        params = dict(params)
        missing, extra = sorted(set(names) - set(params)), sorted(set(params) - set(names))
        if missing or extra:
            raise ValueError(f"params must name every parameter of the module exactly; missing "
                             f"{missing}, not in the module {extra}")
        S = _stack_size(params, names, "params")
        own_buffers = dict(module.named_buffers())
        if buffers is None:
            buffers = {k: b.detach()[None].expand(S, *b.shape) for k, b in own_buffers.items()}
        buffers = dict(buffers)
        if set(buffers) != set(own_buffers):
            raise ValueError(f"buffers must name every buffer of the module: expected "
                             f"{sorted(own_buffers)}, got {sorted(buffers)}")
        if buffers and _stack_size(buffers, own_buffers, "buffers") != S:
            raise ValueError(f"buffers hold a different number of draws than params ({S})")
        first = next(iter(params.values()))
        for k, t in params.items():
            if t.dtype != first.dtype or t.device != first.device:
                raise ValueError(f"params must share one dtype and device; {k!r} is "
                                 f"{t.dtype} on {t.device}, others {first.dtype} on {first.device}")
        self._template = copy.deepcopy(module).to(device=first.device, dtype=first.dtype).eval()
        self._template.requires_grad_(False)
        self._params = {k: params[k].detach() for k in names}  # the module's order
        self._buffers = {k: buffers[k].detach().to(first.device) for k in own_buffers}
        self.task = task
        self._input_shape = (tuple(int(v) for v in input_shape) if input_shape is not None
                             else _infer_input_shape(module))
        if noise_scale is not None and tuple(noise_scale.shape) != (S,):
            raise ValueError(f"noise_scale must have shape ({S},), got "
                             f"{tuple(noise_scale.shape)}")
        self.noise_scale = noise_scale
        self.meta = dict(meta or {})

    # ----------------------------------------------------------------- building
    @classmethod
    def from_modules(cls, modules: Sequence[nn.Module], *, task: str = "regression",
                     input_shape: Sequence[int] | None = None,
                     meta: dict[str, Any] | None = None) -> FunctionalDraws:
        """Draws from a list of modules of one architecture (e.g. a deep ensemble)."""
        modules = list(modules)
        if not modules or not all(isinstance(m, nn.Module) for m in modules):
            raise TypeError("modules must be a non-empty sequence of torch.nn.Module")
        ref = [(k, tuple(p.shape)) for k, p in modules[0].named_parameters()]
        for i, m in enumerate(modules[1:], 1):
            if [(k, tuple(p.shape)) for k, p in m.named_parameters()] != ref:
                raise ValueError(f"modules[{i}] has another architecture than modules[0] "
                                 "(parameter names or shapes differ)")
        params = {k: torch.stack([dict(m.named_parameters())[k].detach() for m in modules])
                  for k, _ in ref}
        buffers = {k: torch.stack([dict(m.named_buffers())[k].detach() for m in modules])
                   for k, _ in modules[0].named_buffers()}
        return cls(modules[0], params, buffers, task=task, input_shape=input_shape, meta=meta)

    @classmethod
    def from_samples(cls, module: nn.Module, samples: Mapping[str, torch.Tensor], *,
                     task: str = "regression", input_shape: Sequence[int] | None = None,
                     meta: dict[str, Any] | None = None) -> FunctionalDraws:
        """Draws from stacked parameter samples, e.g. pyro's ``Predictive`` or bayesian-torch.

        ``samples`` maps parameter names of ``module`` (``module.named_parameters()``) to
        tensors ``(S, *shape)``; the parameters it does not name keep the module's values in
        every draw (a last-layer posterior, a sampled subset). A name the module does not
        have, or a wrong shape, is a ``ValueError``.

        Examples
        --------
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Linear(2, 1)
        >>> w = torch.randn(7, 1, 2)           # e.g. pyro Predictive(...)(X)["weight"]
        >>> draws = FunctionalDraws.from_samples(net, {"weight": w})
        >>> len(draws), torch.equal(draws.params["bias"][3], net.bias.detach())
        (7, True)
        """
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        own = dict(module.named_parameters())
        samples = dict(samples)
        unknown = sorted(set(samples) - set(own))
        if unknown:
            raise ValueError(f"samples name {unknown}, which are not parameters of the module "
                             f"(its parameters: {sorted(own)})")
        if not samples:
            raise ValueError("samples must hold at least one stacked parameter")
        S = _stack_size(samples, own, "samples")
        params = {k: (samples[k] if k in samples
                      else own[k].detach()[None].expand(S, *own[k].shape))
                  for k in own}
        return cls(module, params, task=task, input_shape=input_shape, meta=meta)

    @classmethod
    def from_mc_dropout(cls, module: nn.Module, n_draws: int, *, task: str = "regression",
                        input_shape: Sequence[int] | None = None,
                        random_state: RandomStateLike = None,
                        meta: dict[str, Any] | None = None) -> FunctionalDraws:
        """MC-dropout draws of a trained module, each draw ONE fixed function.

        Every ``nn.Dropout``/``nn.Dropout1d``/``nn.Dropout2d``/``nn.Dropout3d`` of the
        module is replaced by a :class:`FixedDropout` holding a mask buffer, drawn once per
        draw (Bernoulli(1 − p) / (1 − p); one value per unit for ``nn.Dropout``, per channel
        for the ``Dropout*d`` layers) and stacked ``(S, ...)`` like the draws' other buffers.
        Draw ``i`` therefore applies the same mask to every row and every call, as the
        statistics and the CRT require (a fresh mask per forward, as ``train()`` mode does,
        would make one "draw" a different function for each row). The mask shapes are read
        from one forward of a zero row. The parameters are shared by all draws.

        Examples
        --------
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))
        >>> draws = FunctionalDraws.from_mc_dropout(net, 20, random_state=0)
        >>> X = torch.randn(5, 3)
        >>> out = draws.forward(X)
        >>> out.shape, bool(out.std(0).mean() > 0)       # the draws differ ...
        (torch.Size([20, 5, 1]), True)
        >>> torch.equal(draws.module(3)(X), draws.module(3)(X))   # ... each one is fixed
        True
        """
        from probconstraints._random import torch_generator

        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) \
                or n_draws < 1:
            raise ValueError(f"n_draws must be an int >= 1, got {n_draws!r}")
        net = copy.deepcopy(module).eval()
        shape = tuple(int(v) for v in input_shape) if input_shape is not None \
            else _infer_input_shape(net)
        found: dict[str, tuple[float, bool, tuple[int, ...]]] = {}
        hooks = []
        for name, m in net.named_modules():
            if isinstance(m, _DROPOUTS):
                def hook(mod: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor,
                         name: str = name) -> None:
                    channel = not isinstance(mod, nn.Dropout)
                    unit = tuple(args[0].shape[1:])
                    mask = (unit[0],) + (1,) * (len(unit) - 1) if channel else unit
                    found[name] = (float(mod.p), channel, mask)  # type: ignore[arg-type]
                hooks.append(m.register_forward_hook(hook))
        p0 = next(iter(net.parameters()), None)
        with torch.no_grad():
            net(torch.zeros(1, *shape, dtype=None if p0 is None else p0.dtype))
        for h in hooks:
            h.remove()
        if not found:
            raise ValueError(f"module {type(module).__name__} has no dropout layer reached by "
                             "its forward: MC dropout needs nn.Dropout (or Dropout1d/2d/3d)")
        gen = torch_generator(random_state)
        masks: dict[str, torch.Tensor] = {}
        for name, (p, _, mshape) in found.items():
            keep = torch.rand((int(n_draws), *mshape), generator=gen) >= p
            masks[name] = keep.to(torch.float32) / (1 - p) if p < 1 else keep.float()
            parent, _, leaf = name.rpartition(".")
            holder = net.get_submodule(parent) if parent else net
            setattr(holder, leaf, FixedDropout(mshape, p))
        own = dict(net.named_parameters())
        dtype = next(iter(own.values())).dtype if own else torch.float32
        params = {k: v.detach()[None].expand(int(n_draws), *v.shape) for k, v in own.items()}
        buffers = {k: (masks[k[:-len(".mask")]].to(dtype) if k.endswith(".mask")
                       and k[:-len(".mask")] in masks
                       else v.detach()[None].expand(int(n_draws), *v.shape))
                   for k, v in net.named_buffers()}
        info = {"method": "mc_dropout", "dropout": {k: v[0] for k, v in found.items()}}
        return cls(net, params, buffers, task=task, input_shape=shape,
                   meta={**info, **(meta or {})})

    @classmethod
    def from_laplace(cls, la: Any, n_draws: int, *, input_shape: Sequence[int] | None = None,
                     random_state: RandomStateLike = None,
                     meta: dict[str, Any] | None = None) -> FunctionalDraws:
        """Draws from a fitted laplace-torch posterior (``laplace.Laplace(...)`` after ``fit``).

        The parameters laplace-torch treats (all of them, a subset with ``requires_grad``,
        or the last layer of a ``subset_of_weights="last_layer"`` object) are sampled with
        ``la.sample(n_draws)``; the others keep their trained values. The task follows
        ``la.likelihood``; a regression's noise sd (``la.sigma_noise``) is kept. An object
        that was not fitted is refused before any work.

        Examples
        --------
        >>> import torch
        >>> from torch import nn
        >>> from laplace import Laplace
        >>> net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        >>> X = torch.randn(64, 2); y = X[:, :1]
        >>> la = Laplace(net, "regression", subset_of_weights="all", hessian_structure="diag")
        >>> la.fit(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y),
        ...                                    batch_size=32))
        >>> draws = FunctionalDraws.from_laplace(la, 10, random_state=0)
        >>> draws.forward(X).shape
        torch.Size([10, 64, 1])
        """
        from probconstraints._random import torch_generator

        if not (hasattr(la, "sample") and hasattr(la, "likelihood") and hasattr(la, "model")):
            raise TypeError(f"la must be a laplace-torch Laplace object, got {type(la).__name__}")
        if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) \
                or n_draws < 1:
            raise ValueError(f"n_draws must be an int >= 1, got {n_draws!r}")
        if getattr(la, "n_data", 0) == 0 or getattr(la, "mean", None) is None:
            raise ValueError(f"the laplace-torch object ({type(la).__name__}) is not fitted: "
                             "call la.fit(train_loader) before drawing from it")
        last = getattr(la.model, "last_layer", None)
        if last is not None and hasattr(la.model, "model"):  # last-layer Laplace
            base, sampled = la.model.model, list(last.parameters())
        else:
            base, sampled = la.model, list(getattr(la, "params", []))
        gen = torch_generator(random_state)
        with torch.no_grad():
            vec = la.sample(int(n_draws), generator=gen)  # (S, n_sampled)
        if vec.ndim != 2 or vec.shape[1] != sum(p.numel() for p in sampled):
            raise ValueError(f"la.sample returned shape {tuple(vec.shape)} for "
                             f"{sum(p.numel() for p in sampled)} sampled parameters")
        by_id, start = {}, 0
        for p in sampled:
            by_id[id(p)] = vec[:, start:start + p.numel()].reshape(-1, *p.shape)
            start += p.numel()
        samples = {k: by_id[id(p)].to(p.dtype) for k, p in base.named_parameters()
                   if id(p) in by_id}
        likelihood = str(getattr(la.likelihood, "value", la.likelihood))
        task = "classification" if likelihood == "classification" else "regression"
        draws = cls.from_samples(base, samples, task=task, input_shape=input_shape,
                                 meta={"method": "laplace", "laplace": type(la).__name__,
                                       **(meta or {})})
        sigma = getattr(la, "sigma_noise", None)
        if task == "regression" and sigma is not None:
            s = torch.as_tensor(sigma, dtype=draws.dtype).detach().reshape(-1)[:1]
            draws.noise_scale = s.expand(len(draws)).to(draws.device).clone()
        return draws

    # ------------------------------------------------------------------- shapes
    @property
    def template(self) -> nn.Module:
        """The architecture (in ``eval()`` mode, no gradients on its parameters)."""
        return self._template

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input row as the module takes it."""
        return self._input_shape

    @property
    def params(self) -> dict[str, torch.Tensor]:
        """Parameter name -> stacked draws ``(S, *shape)``."""
        return self._params

    @property
    def buffers(self) -> dict[str, torch.Tensor]:
        """Buffer name -> stacked draws ``(S, *shape)``."""
        return self._buffers

    def __len__(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    @property
    def n_draws(self) -> int:
        return len(self)

    @property
    def n_features(self) -> int:
        """Number of input features ``d = prod(input_shape)`` (columns of a flat ``X``)."""
        return math.prod(self.input_shape)

    @property
    def dtype(self) -> torch.dtype:
        return next(iter(self.params.values())).dtype

    @property
    def device(self) -> torch.device:
        return next(iter(self.params.values())).device

    @property
    def n_parameters(self) -> int:
        """Parameters of one draw."""
        return sum(int(np.prod(t.shape[1:])) for t in self.params.values())

    # ------------------------------------------------------------------ forward
    def as_tensor(self, X: ArrayLike | torch.Tensor) -> torch.Tensor:
        """``X`` as flat rows ``(n, d)`` of the draws' dtype and device.

        Accepts ``(n, d)`` or ``(n, *input_shape)``; anything else is a ``ValueError``.
        """
        X = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X)
        X = X.to(device=self.device, dtype=self.dtype)
        d = self.n_features
        if X.ndim == 2 and X.shape[1] == d:
            return X
        if X.ndim == 1 + len(self.input_shape) and tuple(X.shape[1:]) == self.input_shape:
            return X.reshape(X.shape[0], d)
        shape = ", ".join(map(str, self.input_shape))
        raise ValueError(f"X must have shape (n, {d}) or (n, {shape}), got {tuple(X.shape)}")

    def functional_forward(self, X: ArrayLike | torch.Tensor) -> torch.Tensor:
        """Outputs of every draw by ``vmap`` of ``functional_call``: ``(S, n, k)``.

        Differentiable with respect to ``X`` (the statistics take gradients through it). A
        module that ``vmap`` cannot run (data-dependent control flow, ``.item()``, in-place
        updates of a buffer) is run draw by draw instead; the choice is made at the first call
        and kept (``vectorized``).
        """
        Xt = self.as_tensor(X)
        rows = Xt.reshape(Xt.shape[0], *self.input_shape)
        out = self._batched_call(rows, rows_per_draw=False)
        if out.ndim < 2:
            raise ValueError(f"the module's output for {rows.shape[0]} rows has shape "
                             f"{tuple(out.shape[1:])}; expected (n,) or (n, k)")
        return out.reshape(out.shape[0], out.shape[1], -1)

    def forward_each(self, X: torch.Tensor) -> torch.Tensor:
        """Draw ``s`` on its own rows ``X[s]``: ``X`` is ``(S, n, d)``, the result ``(S, n, k)``.

        One ``vmap`` of ``functional_call`` over the draws and their rows; the gradient of
        ``forward_each(X).sum()`` with respect to ``X`` holds every draw's input gradient
        in one backward pass (the batched statistics use it).
        """
        S = len(self)
        if X.ndim != 3 or X.shape[0] != S or X.shape[2] != self.n_features:
            raise ValueError(f"X must have shape ({S}, n, {self.n_features}), got "
                             f"{tuple(X.shape)}")
        rows = X.reshape(S, X.shape[1], *self.input_shape)
        return self._batched_call(rows, rows_per_draw=True).reshape(S, X.shape[1], -1)

    @property
    def vectorized(self) -> bool | None:
        """Whether ``vmap`` runs the module (None until the first forward)."""
        return getattr(self, "_vectorized", None)

    def _batched_call(self, rows: torch.Tensor, rows_per_draw: bool) -> torch.Tensor:
        """The module under every draw's parameters: ``rows`` shared ``(n, ...)`` or one set
        per draw ``(S, n, ...)``; ``vmap`` when it can, else a loop over the draws."""
        template = self.template

        def call(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor],
                 x: torch.Tensor) -> torch.Tensor:
            return torch.func.functional_call(template, (p, b), (x,))

        def loop() -> torch.Tensor:
            return torch.stack([
                call({k: v[s] for k, v in self.params.items()},
                     {k: v[s] for k, v in self.buffers.items()},
                     rows[s] if rows_per_draw else rows)
                for s in range(len(self))])

        if self.vectorized is False:
            return loop()
        try:
            out = torch.func.vmap(call, in_dims=(0, 0, 0 if rows_per_draw else None))(
                self.params, self.buffers, rows)
        except RuntimeError:
            if self.vectorized:  # vmap ran the module before: a real error
                raise
            out = loop()  # a bad input fails here too, and decides nothing
            self._vectorized = False
            return out
        self._vectorized = True
        return out

    def forward(self, X: ArrayLike | torch.Tensor) -> torch.Tensor:
        """Outputs of every draw on ``X``: ``(S, n, k)`` (logits for classification)."""
        return self.functional_forward(X)

    def __call__(self, X: ArrayLike | torch.Tensor) -> torch.Tensor:
        return self.forward(X)

    @property
    def n_outputs(self) -> int:
        """Outputs k of the module (read from one forward of a zero row)."""
        with torch.no_grad():
            return int(self.forward(torch.zeros(1, self.n_features, dtype=self.dtype,
                                                device=self.device)).shape[-1])

    def predict_mean(self, X: ArrayLike | torch.Tensor) -> torch.Tensor:
        """Posterior-mean output ``(n, k)`` (probabilities for classification)."""
        out = self.forward(X)
        if self.task == "classification":
            out = torch.softmax(out, dim=-1)
        return out.mean(0)

    # ------------------------------------------------------------ per-draw nets
    def module(self, i: int) -> nn.Module:
        """Draw ``i`` as a plain module (flat or shaped rows in, outputs out) for captum/lime.

        The returned module takes ``(n, *input_shape)`` inputs like the template.
        """
        if not -len(self) <= i < len(self):
            raise IndexError(f"draw index {i} out of range for {len(self)} draws")
        net = copy.deepcopy(self.template)
        state = {k: v[i] for k, v in self.params.items()}
        state.update({k: v[i] for k, v in self.buffers.items()})
        net.load_state_dict(state, strict=False)
        return net.eval()

    def _replace(self, params: Mapping[str, torch.Tensor], buffers: Mapping[str, torch.Tensor],
                 noise_scale: torch.Tensor | None) -> FunctionalDraws:
        return FunctionalDraws(self.template, params, buffers, task=self.task,
                               input_shape=self.input_shape, noise_scale=noise_scale,
                               meta=dict(self.meta))

    def subset(self, idx: slice | ArrayLike) -> FunctionalDraws:
        """The draws at the given indices (slice, index array or boolean mask)."""
        sel = draw_index(idx)
        return self._replace({k: v[sel] for k, v in self.params.items()},
                             {k: v[sel] for k, v in self.buffers.items()},
                             None if self.noise_scale is None else self.noise_scale[sel])

    def to(self, device: str | torch.device | None = None,
           dtype: torch.dtype | None = None) -> FunctionalDraws:
        """A copy on another device and/or dtype (floating tensors only change dtype)."""
        def mv(t: torch.Tensor) -> torch.Tensor:
            return t.to(device=device, dtype=dtype if t.is_floating_point() else None)

        return self._replace({k: mv(v) for k, v in self.params.items()},
                             {k: mv(v) for k, v in self.buffers.items()},
                             None if self.noise_scale is None else mv(self.noise_scale))

    # ------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``path/draws.pt`` (stacked tensors) and ``path/draws.json`` (settings).

        The architecture is code and is not saved: :meth:`load` takes the module again.
        """
        os.makedirs(path, exist_ok=True)
        tensors = {f"param.{k}": v for k, v in self.params.items()}
        tensors.update({f"buffer.{k}": v for k, v in self.buffers.items()})
        if self.noise_scale is not None:
            tensors["noise_scale"] = self.noise_scale
        torch.save(tensors, os.path.join(path, "draws.pt"))
        with open(os.path.join(path, "draws.json"), "w") as fh:
            json.dump({"kind": "functional", "task": self.task,
                       "input_shape": list(self.input_shape), "meta": self.meta}, fh)

    @classmethod
    def load(cls, path: str | os.PathLike[str], module: nn.Module | None = None
             ) -> FunctionalDraws:
        """Inverse of :meth:`save` given the same architecture ``module``
        (``torch.load(weights_only=True)``); a regression output scale recorded in
        ``meta["output_affine"]`` (draws of :class:`~nfbst.network.BayesianNetwork`) is put
        back on a copy of the module."""
        if module is None:
            raise TypeError("FunctionalDraws.load needs module=, the architecture the draws "
                            "were saved from (code is never unpickled)")
        with open(os.path.join(path, "draws.json")) as fh:
            cfg = json.load(fh)
        t = torch.load(os.path.join(path, "draws.pt"), weights_only=True)
        params = {k[len("param."):]: v for k, v in t.items() if k.startswith("param.")}
        buffers = {k[len("buffer."):]: v for k, v in t.items() if k.startswith("buffer.")}
        meta = cfg.get("meta", {})
        module = _with_output_affine(module, meta.get("output_affine"))
        return cls(module, params, buffers, task=cfg["task"], input_shape=cfg["input_shape"],
                   noise_scale=t.get("noise_scale"), meta=meta)


def draw_index(idx: slice | ArrayLike) -> slice | torch.Tensor:
    """A slice, index array or boolean mask over the draws as an indexer of the draw axis."""
    if isinstance(idx, slice):
        return idx
    sel = torch.as_tensor(np.asarray(idx))
    return sel.nonzero().squeeze(1) if sel.dtype == torch.bool else sel


def _stack_size(tensors: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor],
                what: str) -> int:
    """The common leading draw size S of ``tensors``, checking each against its template."""
    S: int | None = None
    for k, t in tensors.items():
        if not torch.is_tensor(t):
            raise TypeError(f"{what}[{k!r}] must be a Tensor, got {type(t).__name__}")
        if tuple(t.shape[1:]) != tuple(reference[k].shape):
            raise ValueError(f"{what}[{k!r}] must have shape (S, {tuple(reference[k].shape)}) "
                             f"with the module's shape after the draw axis, got {tuple(t.shape)}")
        S = int(t.shape[0]) if S is None else S
        if t.shape[0] != S:
            raise ValueError(f"{what} hold different numbers of draws ({S} and "
                             f"{t.shape[0]} for {k!r})")
    if not S:
        raise ValueError(f"{what} must hold at least one draw")
    return S
