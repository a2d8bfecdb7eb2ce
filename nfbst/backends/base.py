"""The backend protocol of :class:`nfbst.BayesianMLP` and the name → class registry.

A backend is one posterior approximation or sampler (``"vi"``, ``"hmc"``, ...). It works in
*standardised* units (inputs z-scored, regression targets z-scored); ``BayesianMLP`` folds the
standardisation back into the draws. A new backend is one file defining a subclass of
:class:`Backend` plus one line in ``nfbst/backends/__init__.py`` registering it.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import torch
from numpy.typing import NDArray

from .._parallel import effective_n_jobs, parallel_map
from ._stacked import StackedMLP, check_positive_int

if TYPE_CHECKING:
    from .module_base import ModuleBackend

# name -> "module:Class", imported on first use so that optional heavy dependencies (pyro's
# MCMC, laplace-torch) load only when that backend is asked for. One table per kind of model:
# ``"mlp"`` (:class:`Backend`, the stacked MLP of ``BayesianMLP``) and ``"module"``
# (:class:`nfbst.backends.module_base.ModuleBackend`, any torch module of
# ``BayesianNetwork``); the same name may exist in both ("vi", "laplace", ...).
_REGISTRY: dict[str, str] = {}
_MODULE_REGISTRY: dict[str, str] = {}
KINDS = ("mlp", "module")


def _table(kind: str) -> dict[str, str]:
    if kind == "mlp":
        return _REGISTRY
    if kind == "module":
        return _MODULE_REGISTRY
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

#: The validated hyper-parameters of a ``BayesianMLP`` (``noise`` in standardised units).
Settings = dict[str, Any]
#: Weight sets ``([W_l (n, out, in)], [b_l (n, out)], noise sd (n,))`` in standardised units.
WeightSets = tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]


def register(name: str, target: str, kind: str = "mlp") -> None:
    """Register backend ``name`` implemented by ``"package.module:ClassName"``.

    ``kind="mlp"`` (default): a :class:`Backend` of ``BayesianMLP``; ``kind="module"``: a
    :class:`~nfbst.backends.module_base.ModuleBackend` of ``BayesianNetwork`` (any module).
    """
    _table(kind)[name] = target


def available(kind: str = "mlp") -> list[str]:
    """Names of the registered backends of ``kind`` (``"mlp"`` or ``"module"``)."""
    return sorted(_table(kind))


@overload
def get_backend(name: object, kind: Literal["mlp"] = "mlp") -> type[Backend]: ...


@overload
def get_backend(name: object, kind: Literal["module"]) -> type[ModuleBackend]: ...


def get_backend(name: object, kind: str = "mlp") -> Any:
    """The backend class registered under ``name`` for ``kind``; ``ValueError`` naming the
    choices. A :class:`Backend` subclass for ``"mlp"``, a ``ModuleBackend`` one for
    ``"module"``."""
    table = _table(kind)
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"inference must be one of {available(kind)}, got {name!r}")
    module, cls = table[name].split(":")
    return getattr(importlib.import_module(module), cls)


class Backend:
    """One inference method for the Bayesian MLP (standardised units throughout).

    Parameters
    ----------
    layer_sizes : tuple of int
        ``(d, *hidden, k)``.
    settings : dict
        The validated hyper-parameters of the owning ``BayesianMLP`` (``noise`` already in
        standardised units).

    Subclasses implement :meth:`fit`, :meth:`draws`, :meth:`n_available`, :meth:`state_dict`
    and :meth:`load_state_dict`; they may override :meth:`check_settings` (validation before
    any work) and :meth:`estimator_attributes` (fitted attributes copied onto the estimator).
    """

    name = "base"

    def __init__(self, layer_sizes: Sequence[int], settings: Settings) -> None:
        self.layer_sizes = tuple(int(v) for v in layer_sizes)
        self.s = settings

    @classmethod
    def check_settings(cls, s: Settings) -> None:
        """Raise ``ValueError`` for settings this backend cannot use (called before fitting)."""

    def fit(self, Z: torch.Tensor, t: torch.Tensor, seed: np.random.SeedSequence) -> Backend:
        """Fit to standardised inputs ``Z`` (n, d) and targets ``t`` (n,)."""
        raise NotImplementedError

    def n_available(self) -> int | None:
        """How many distinct draws exist (``None``: unlimited, e.g. a Gaussian to sample)."""
        return None

    def draws(self, n: int, gen: torch.Generator) -> WeightSets:
        """``n`` weight sets ``([W_l (n,out,in)], [b_l (n,out)], noise (n,))``, standardised."""
        raise NotImplementedError

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """``(tensors, meta)``: a dict of tensors and a JSON-serialisable dict."""
        raise NotImplementedError

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> Backend:
        """Inverse of :meth:`state_dict`; returns ``self``."""
        raise NotImplementedError

    def estimator_attributes(self) -> dict[str, Any]:
        """Fitted attributes to set on the ``BayesianMLP`` (e.g. ``diagnostics_``)."""
        return {}


def take_last(n: int, have: int, what: str) -> slice:
    """The last ``n`` of ``have`` stored draws, or a ``ValueError`` that says how to get more."""
    if n > have:
        raise ValueError(
            f"n_samples={n} exceeds the {have} draws {what} keeps; raise num_samples "
            "(or n_ensemble for ensembles) or ask for fewer draws"
        )
    return slice(have - n, have)


@contextmanager
def preserve_global_rng() -> Iterator[None]:
    """Save and restore the global torch, numpy and ``random`` RNG states and pyro's param store.

    For third-party code that seeds or draws from global generators (``pyro.set_rng_seed``).
    """
    import pyro

    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002 (restoring the user's global state)
    py_state = random.getstate()
    store = pyro.get_param_store().get_state()
    try:
        yield
    finally:
        torch.set_rng_state(torch_state)
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
        pyro.get_param_store().set_state(store)


def chain_groups(C: int, workers: int) -> list[NDArray[np.int_]]:
    """Contiguous groups of ``C`` chains (or members) for ``workers`` tasks, each starting at
    an even index and none of one chain unless ``C == 1``.

    Torch's batched kernels process the rows of a stack in pairs: a row's rounding is the
    same in any stack where it sits at the same parity, and a lone row takes yet another path
    (measured on CPU, float64). With these groups every chain gets bit-for-bit the numbers of
    the single-group (sequential) run.

    Examples
    --------
    >>> [g.tolist() for g in chain_groups(7, 3)]
    [[0, 1], [2, 3], [4, 5, 6]]
    >>> [g.tolist() for g in chain_groups(4, 1)]
    [[0, 1, 2, 3]]
    """
    pairs = [np.arange(i, i + 2) for i in range(0, C - 1, 2)] or [np.arange(C)]
    if C % 2 and C > 1:  # an odd last chain joins the last pair
        pairs[-1] = np.arange(C - 3, C)
    k = max(1, min(int(workers), C // 2))
    return [np.concatenate([pairs[u] for u in part])
            for part in np.array_split(np.arange(len(pairs)), k)]


def stacked_model(layer_sizes: Sequence[int], s: Settings) -> StackedMLP:
    """The :class:`StackedMLP` of the settings ``s`` (``noise`` in standardised units)."""
    return StackedMLP(layer_sizes, s["activation"], s["task"], s["prior_scale"], s["noise"])


def generator(seed: np.random.SeedSequence, device: torch.device | str = "cpu"
              ) -> torch.Generator:
    """A torch generator seeded from a numpy ``SeedSequence``."""
    return torch.Generator(device=device).manual_seed(int(seed.generate_state(1)[0]))


class ChainBackend(Backend):
    """A multi-chain sampler of the StackedMLP that keeps ``samples`` ``(C chains, S draws,
    P parameters)`` and a ``diagnostics`` dict; the subclass provides ``fit``."""

    samples: torch.Tensor
    diagnostics: dict[str, Any]

    @staticmethod
    def check_chains(s: Settings) -> int:
        """Validate ``n_chains``, ``warmup_steps`` and ``num_samples``; draws kept per chain."""
        C = check_positive_int(s, "n_chains")
        check_positive_int(s, "warmup_steps", 20)
        per_chain = -(-int(s["num_samples"]) // C)
        if per_chain < 4:
            raise ValueError(
                f"num_samples={s['num_samples']!r} gives fewer than 4 draws per chain with "
                f"n_chains={C}; raise num_samples"
            )
        return per_chain

    def _model(self) -> StackedMLP:
        return stacked_model(self.layer_sizes, self.s)

    def run_chain_groups(self, fn: Callable[..., Any], theta0: torch.Tensor,
                         chain_seeds: Sequence[np.random.SeedSequence], Z: torch.Tensor,
                         t: torch.Tensor, *args: Any) -> list[Any]:
        """``fn(layer_sizes, s, theta0[g], seeds[g], Z, t, *args)`` per group g of chains.

        The chains are split into as many contiguous groups (:func:`chain_groups`) as there
        are joblib workers (``n_jobs``, :mod:`nfbst._parallel`; one group when sequential,
        and on a GPU), each advanced in one batched pass. Chain c draws from its own stream
        ``chain_seeds[c]``, so the draws do not depend on the grouping: identical for any
        ``n_jobs`` or joblib backend.
        """
        C = theta0.shape[0]
        n_jobs = self.s.get("n_jobs") if Z.device.type == "cpu" else 1
        groups = chain_groups(C, effective_n_jobs(n_jobs))
        tasks = [(self.layer_sizes, self.s, theta0[g], [chain_seeds[c] for c in g], Z, t, *args)
                 for g in groups]
        names = [f"{self.name} chains {g[0]}-{g[-1]}" for g in groups]
        return parallel_map(fn, tasks, n_jobs=n_jobs, names=names, desc=f"{self.name} chains")

    def n_available(self) -> int:
        return self.samples.shape[0] * self.samples.shape[1]

    def draws(self, n: int, gen: torch.Generator) -> WeightSets:
        C, S, P = self.samples.shape
        pooled = self.samples.transpose(0, 1).reshape(S * C, P)  # draw t of chain c at t·C + c
        return self._model().to_weights(pooled[take_last(n, S * C, f"inference='{self.name}'")])

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {"samples": self.samples}, {"diagnostics": self.diagnostics}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> ChainBackend:
        self.samples = tensors["samples"]
        self.diagnostics = meta["diagnostics"]
        return self

    def estimator_attributes(self) -> dict[str, Any]:
        return {"diagnostics_": self.diagnostics}
