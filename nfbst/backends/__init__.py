"""Posterior backends of :class:`nfbst.BayesianMLP` (``inference=...``), one file each.

To add a backend: write ``nfbst/backends/<name>.py`` with a :class:`~nfbst.backends.base.Backend`
subclass and add one ``register`` line below.
"""

from .base import Backend, available, get_backend, register

register("vi", "nfbst.backends.vi:VIBackend")
register("ensemble", "nfbst.backends.vi:EnsembleBackend")
register("nuts", "nfbst.backends.nuts:NUTSBackend")
register("hmc", "nfbst.backends.hmc:HMCBackend")
register("laplace", "nfbst.backends.laplace:LaplaceBackend")
register("sgld", "nfbst.backends.sgld:SGLDBackend")
register("anchored", "nfbst.backends.anchored:AnchoredBackend")

__all__ = ["Backend", "available", "get_backend", "register"]
