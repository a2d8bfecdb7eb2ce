"""Fuzzy t-norm encodings (product, Łukasiewicz, Gödel) on truth values ``t = 1 - min(cost, 1)``.

For an atom ``p == 1`` on a probability ``p`` the truth value is ``p`` itself, so the
Łukasiewicz implication ``(p_a == 1) >> (p_b == 1)`` is ``min(1, 1 - p_a + p_b)``, the t-norm
relaxation of Nandwani et al. (2019). The cost of a formula is ``1 - t``.
"""

from __future__ import annotations

import torch

from ..formula import register_encoding
from .base import Encoding, FoldContext, Path

__all__ = ["FuzzyEncoding", "TNORMS"]

TNORMS = ("product", "lukasiewicz", "godel")


class FuzzyEncoding(Encoding):
    """Cost ``1 - t`` of a t-norm truth value.

    Parameters
    ----------
    tnorm : {'product', 'lukasiewicz', 'godel'}
        ``product``: ``t_a t_b`` / ``t_a + t_b - t_a t_b``; ``lukasiewicz``:
        ``max(0, t_a + t_b - 1)`` / ``min(1, t_a + t_b)``; ``godel``: ``min`` / ``max``.

    Notes
    -----
    Łukasiewicz disjunction is fully true as soon as the truths sum to 1, e.g. two atoms of
    truth 0.5 that both fail: its cost is not 0 *only* on satisfying assignments.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> p = ll.term(torch.tensor([[0.3, 0.6]]))
    >>> enc = ll.get_encoding("lukasiewicz")
    >>> round(enc.cost((p[:, 0] == 1) >> (p[:, 1] == 1)).item(), 6)
    0.0
    """

    def __init__(self, tnorm: str = "product") -> None:
        if tnorm not in TNORMS:
            raise ValueError(f"tnorm must be one of {TNORMS}, got {tnorm!r}")
        self.tnorm = tnorm
        self.name = tnorm

    def atom(self, cost: torch.Tensor) -> torch.Tensor:
        return cost.clamp(max=1.0)

    def conj(self, costs: torch.Tensor, path: Path, ctx: FoldContext) -> torch.Tensor:
        t = 1.0 - costs
        if self.tnorm == "product":
            v = t.prod(-1)
        elif self.tnorm == "lukasiewicz":
            v = torch.clamp(t.sum(-1) - (t.shape[-1] - 1), min=0.0)
        else:
            v = t.min(-1).values
        return 1.0 - v

    def disj(self, costs: torch.Tensor, path: Path, ctx: FoldContext) -> torch.Tensor:
        if self.tnorm == "product":
            return costs.prod(-1)  # 1 - (1 - prod(1 - t)) with 1 - t = cost
        if self.tnorm == "lukasiewicz":
            return 1.0 - torch.clamp((1.0 - costs).sum(-1), max=1.0)
        return costs.min(-1).values

    def __repr__(self) -> str:
        return f"FuzzyEncoding(tnorm={self.tnorm!r})"


for _t in TNORMS:
    register_encoding(_t, lambda _t=_t: FuzzyEncoding(_t),
                      aliases=(f"fuzzy-{_t}",) + (("fuzzy",) if _t == "product" else ())
                      + (("goedel",) if _t == "godel" else ()))
