"""Lagrangian primal–dual baseline (Nandwani et al., NeurIPS 2019): one multiplier per constraint.

The constraints are the top-level conjuncts of the formula (each column of a vector atom is
one); each is relaxed with a t-norm (Łukasiewicz by default, Gödel for the ``minmax``
variant). The penalty is ``Σ_c λ_c E[cost_c]`` and the multipliers ascend on the violations
every ``update_freq`` steps.
"""

from __future__ import annotations

import torch

from ..formula import And, Formula, register_encoding, stack_columns
from .base import FoldContext, LossFn, Penalty, prepare
from .fuzzy import FuzzyEncoding

__all__ = ["PrimalDualEncoding"]


@register_encoding("pd")
class PrimalDualEncoding(FuzzyEncoding):
    """t-norm costs per constraint plus learned Lagrange multipliers ``λ_c >= 0``.

    Parameters
    ----------
    tnorm : {'lukasiewicz', 'godel', 'product'}
    init : float
        Initial value of every multiplier.
    lr : float
        Step of the multipliers' projected ascent.
    update_freq : int
        The multipliers ascend once every ``update_freq`` training steps.

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

    def __init__(self, tnorm: str = "lukasiewicz", init: float = 1.0, lr: float = 0.01,
                 update_freq: int = 10) -> None:
        super().__init__(tnorm)
        self.name = "pd"
        self.init = float(init)
        if not self.init >= 0:
            raise ValueError(f"init must be >= 0, got {init}")
        self.lr = float(lr)
        if not self.lr >= 0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not (isinstance(update_freq, int) and update_freq >= 1):
            raise ValueError(f"update_freq must be an integer >= 1, got {update_freq!r}")
        self.update_freq = update_freq
        self.multipliers_: torch.Tensor | None = None
        self.n_steps_ = 0

    def constraint_costs(self, formula: Formula, detach: bool = False) -> torch.Tensor:
        """Costs of the top-level constraints, shape ``(B, C)``."""
        f = prepare(formula)
        ctx = FoldContext(None, detach)
        if isinstance(f, And):
            costs = stack_columns([self._fold(c, (i,), ctx) for i, c in enumerate(f.children)])
        else:
            costs = self._fold(f, (), ctx).unsqueeze(-1)
        self._multipliers(costs)
        return costs

    def _multipliers(self, costs: torch.Tensor) -> torch.Tensor:
        """The multipliers, created at ``init`` for the C constraints of ``costs`` (..., C)."""
        if self.multipliers_ is None:
            self.multipliers_ = torch.full((costs.shape[-1],), self.init)
        elif self.multipliers_.shape[0] != costs.shape[-1]:
            raise ValueError(
                f"formula has {costs.shape[-1]} top-level constraints, the multipliers "
                f"{self.multipliers_.shape[0]}"
            )
        return self.multipliers_

    def weighted_cost(self, costs: torch.Tensor) -> torch.Tensor:
        """``Σ_c λ_c mean_b cost_{b,c}`` of a ``(B, C)`` tensor of constraint costs."""
        mean = costs.reshape(-1, costs.shape[-1]).mean(0)
        return (self._multipliers(costs).to(costs.dtype) * mean).sum()

    def penalty(self, formula: Formula, index: torch.Tensor | None = None,
                loss_fn: LossFn | None = None) -> Penalty:
        """:meth:`weighted_cost` of the formula's constraints; the cost is their sum.

        ``loss_fn`` is not used: the multipliers weigh the t-norm costs directly.
        """
        costs = self.constraint_costs(formula)
        return Penalty(self.weighted_cost(costs), costs.sum(-1), costs)

    def after_step(self, penalty: Penalty) -> None:
        """Ascend the multipliers every ``update_freq`` steps."""
        self.n_steps_ += 1
        if self.n_steps_ % self.update_freq == 0:
            costs = penalty.extra
            if not isinstance(costs, torch.Tensor):
                raise TypeError("after_step needs the Penalty of this encoding's penalty(), whose "
                                f"extra holds the constraint costs; got {type(costs).__name__}")
            self.ascend(costs, self.lr)

    def ascend(self, costs: torch.Tensor, lr: float) -> None:
        """Projected ascent ``λ_c <- max(0, λ_c + lr * mean_b cost_{b,c})``."""
        with torch.no_grad():
            mean = costs.detach().reshape(-1, costs.shape[-1]).mean(0)
            self.multipliers_ = torch.clamp(self._multipliers(costs) + lr * mean.to(torch.float32),
                                            min=0.0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The multipliers (empty before the first batch)."""
        return {} if self.multipliers_ is None else {"multipliers": self.multipliers_.clone()}

    def __repr__(self) -> str:
        return (f"PrimalDualEncoding(tnorm={self.tnorm!r}, lr={self.lr}, "
                f"update_freq={self.update_freq})")
