"""Compatibility alias: the pyro NUTS backend lives in :mod:`nfbst.backends.nuts`."""

from .backends.nuts import fit_nuts, mlp_model

__all__ = ["fit_nuts", "mlp_model"]
