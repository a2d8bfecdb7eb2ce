"""Encodings of a formula into a differentiable cost, interchangeable by name.

Each encoding file registers itself with :func:`logiclearn.register_encoding`; the trainer
reaches it through the protocol of :class:`Encoding` only.
"""

from __future__ import annotations

from ..formula import ENCODINGS, get_encoding, register_encoding
from .base import Encoding, Penalty, prepare
from .dl2 import DL2Encoding
from .dual import DualEncoding, DualStore
from .fuzzy import TNORMS, FuzzyEncoding
from .pd import PrimalDualEncoding
from .semantic import SemanticEncoding

__all__ = [
    "Encoding", "Penalty", "DL2Encoding", "DualEncoding", "DualStore", "FuzzyEncoding",
    "PrimalDualEncoding", "SemanticEncoding", "ENCODINGS", "TNORMS", "get_encoding",
    "register_encoding", "prepare",
]
