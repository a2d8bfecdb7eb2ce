"""DL2 translation (Fischer et al., ICML 2019): conjunction = sum, disjunction = product."""

from __future__ import annotations

import torch

from ..formula import register_encoding
from .base import Encoding, FoldContext, Path

__all__ = ["DL2Encoding"]


@register_encoding("dl2")
class DL2Encoding(Encoding):
    """DL2 cost: atoms ``max(e,0)`` / ``|e|``, ``S(a & b) = S(a) + S(b)``, ``S(a | b) = S(a) S(b)``.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.2]))
    >>> round(ll.get_encoding("dl2").cost((x >= 0.5) | (x >= 0.4)).item(), 4)
    0.06
    """

    name = "dl2"

    def conj(self, costs: torch.Tensor, path: Path, ctx: FoldContext) -> torch.Tensor:
        return costs.sum(-1)

    def disj(self, costs: torch.Tensor, path: Path, ctx: FoldContext) -> torch.Tensor:
        return costs.prod(-1)
