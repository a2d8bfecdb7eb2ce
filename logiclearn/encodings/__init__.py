"""Encodings of a formula into a differentiable cost, interchangeable by name."""

from __future__ import annotations

from .base import Encoding, prepare
from .dl2 import DL2Encoding
from .dual import DualEncoding, DualStore
from .fuzzy import TNORMS, FuzzyEncoding
from .pd import PrimalDualEncoding
from .semantic import SemanticEncoding

__all__ = [
    "Encoding", "DL2Encoding", "DualEncoding", "DualStore", "FuzzyEncoding",
    "PrimalDualEncoding", "SemanticEncoding", "ENCODINGS", "TNORMS", "get_encoding", "prepare",
]

ENCODINGS = {
    "dual": DualEncoding,
    "dl2": DL2Encoding,
    "product": lambda: FuzzyEncoding("product"),
    "lukasiewicz": lambda: FuzzyEncoding("lukasiewicz"),
    "godel": lambda: FuzzyEncoding("godel"),
    "pd": PrimalDualEncoding,
    "semantic": SemanticEncoding,
}
_ALIASES = {"fuzzy": "product", "fuzzy-product": "product", "fuzzy-lukasiewicz": "lukasiewicz",
            "fuzzy-godel": "godel", "goedel": "godel", "semantic-loss": "semantic"}


def get_encoding(encoding="dual") -> Encoding:
    """A fresh encoding from its name, or ``encoding`` itself if it is already one.

    Parameters
    ----------
    encoding : str or Encoding
        One of ``'dual'``, ``'dl2'``, ``'product'`` (alias ``'fuzzy'``), ``'lukasiewicz'``,
        ``'godel'``, ``'pd'``, ``'semantic'``.

    Returns
    -------
    Encoding

    Examples
    --------
    >>> import logiclearn as ll
    >>> ll.get_encoding("fuzzy")
    FuzzyEncoding(tnorm='product')
    """
    if isinstance(encoding, Encoding):
        return encoding
    if not isinstance(encoding, str):
        raise TypeError(f"encoding must be a str or an Encoding, got {type(encoding).__name__}")
    key = _ALIASES.get(encoding.lower(), encoding.lower())
    if key not in ENCODINGS:
        raise ValueError(f"encoding must be one of {sorted(ENCODINGS)}, got {encoding!r}")
    return ENCODINGS[key]()
