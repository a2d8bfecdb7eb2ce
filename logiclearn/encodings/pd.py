"""Lagrangian primal–dual baseline (Nandwani et al., NeurIPS 2019): one multiplier per constraint.

The constraints are the top-level conjuncts of the formula (each column of a vector atom is
one); each is relaxed with a t-norm (Łukasiewicz by default, Gödel for the ``minmax``
variant). The penalty is ``Σ_c λ_c E[cost_c]`` and the multipliers ascend on the violations.
"""

from __future__ import annotations

import torch

from ..formula import And
from .base import _Context, prepare
from .fuzzy import FuzzyEncoding

__all__ = ["PrimalDualEncoding"]


class PrimalDualEncoding(FuzzyEncoding):
    """t-norm costs per constraint plus learned Lagrange multipliers ``λ_c >= 0``.

    Parameters
    ----------
    tnorm : {'lukasiewicz', 'godel', 'product'}
    init : float
        Initial value of every multiplier.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.2, 0.9]))
    >>> enc = ll.get_encoding("pd")
    >>> f = (x >= 0.5) & (x <= 0.8)
    >>> enc.constraint_costs(f).shape
    torch.Size([2, 2])
    >>> enc.ascend(enc.constraint_costs(f), lr=1.0)
    >>> [round(v, 3) for v in enc.multipliers_.tolist()]
    [1.15, 1.05]
    """

    def __init__(self, tnorm: str = "lukasiewicz", init: float = 1.0):
        super().__init__(tnorm)
        self.name = "pd"
        self.init = float(init)
        self.multipliers_: torch.Tensor | None = None

    def constraint_costs(self, formula, detach: bool = False) -> torch.Tensor:
        """Costs of the top-level constraints, shape ``(B, C)``."""
        f = prepare(formula)
        ctx = _Context(None, detach)
        if isinstance(f, And):
            from ..formula import stack_columns

            costs = stack_columns([self._fold(c, (i,), ctx) for i, c in enumerate(f.children)])
        else:
            costs = self._fold(f, (), ctx).unsqueeze(-1)
        if self.multipliers_ is None:
            self.multipliers_ = torch.full((costs.shape[-1],), self.init)
        elif self.multipliers_.shape[0] != costs.shape[-1]:
            raise ValueError(
                f"formula has {costs.shape[-1]} top-level constraints, the multipliers "
                f"{self.multipliers_.shape[0]}"
            )
        return costs

    def penalty(self, costs: torch.Tensor) -> torch.Tensor:
        """``Σ_c λ_c mean_b cost_{b,c}``."""
        mean = costs.reshape(-1, costs.shape[-1]).mean(0)
        return (self.multipliers_.to(costs.dtype) * mean).sum()

    def ascend(self, costs: torch.Tensor, lr: float) -> None:
        """Projected ascent ``λ_c <- max(0, λ_c + lr * mean_b cost_{b,c})``."""
        with torch.no_grad():
            mean = costs.detach().reshape(-1, costs.shape[-1]).mean(0)
            self.multipliers_ = torch.clamp(self.multipliers_ + lr * mean.to(torch.float32),
                                            min=0.0)

    def __repr__(self):
        return f"PrimalDualEncoding(tnorm={self.tnorm!r})"
