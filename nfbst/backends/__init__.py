"""Posterior backends of :class:`nfbst.BayesianMLP` and of :class:`nfbst.network.BayesianNetwork`
(``inference=...``), one file each.

To add a backend: write ``nfbst/backends/<name>.py`` with a :class:`~nfbst.backends.base.Backend`
subclass and add one ``register`` line below; a backend for any torch module is a
:class:`~nfbst.backends.module_base.ModuleBackend` subclass in ``module_<name>.py``,
registered with ``kind="module"``.
"""

from .base import Backend, available, get_backend, register

register("vi", "nfbst.backends.vi:VIBackend")
register("ensemble", "nfbst.backends.vi:EnsembleBackend")
register("nuts", "nfbst.backends.nuts:NUTSBackend")
register("hmc", "nfbst.backends.hmc:HMCBackend")
register("laplace", "nfbst.backends.laplace:LaplaceBackend")
register("sgld", "nfbst.backends.sgld:SGLDBackend")
register("anchored", "nfbst.backends.anchored:AnchoredBackend")

# any torch module (BayesianNetwork)
register("vi", "nfbst.backends.module_vi:ModuleVI", kind="module")
register("ensemble", "nfbst.backends.module_ensemble:ModuleEnsemble", kind="module")
register("anchored", "nfbst.backends.module_ensemble:ModuleAnchored", kind="module")
register("laplace", "nfbst.backends.module_laplace:ModuleLaplace", kind="module")
register("sgld", "nfbst.backends.module_sgld:ModuleSGLD", kind="module")
register("hmc", "nfbst.backends.module_hmc:ModuleHMC", kind="module")

__all__ = ["Backend", "available", "get_backend", "register"]
