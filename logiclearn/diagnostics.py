"""Satisfaction diagnostics: how often a formula holds, and through which branch of each ∨.

For an implication ``a >> b`` the branches are ``"antecedent false"`` (the shortcut: the
premise is made false) and ``"consequent true"`` (the intended reading); the paper's
Cons_Acc1 and Cons_Acc2. An instance may satisfy both branches, so rates need not sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .formula import And, Atom, Exists, ForAll, Formula, Not, Or, check_formula

__all__ = ["Satisfaction", "satisfaction"]


@dataclass
class Satisfaction:
    """Result of :func:`satisfaction`.

    Attributes
    ----------
    rate : float
        Fraction of instances where the formula holds.
    per_instance : ndarray of bool, shape (B,)
    branches : DataFrame
        One row per branch of every disjunction: ``node`` (name or path), ``branch`` (label),
        ``rate`` (fraction of instances where that branch holds).
    """

    rate: float
    per_instance: np.ndarray
    branches: pd.DataFrame

    def branch_rate(self, branch: str, node: str | None = None) -> float:
        """Rate of the branch labelled ``branch`` (of ``node`` if several disjunctions have it).

        Examples
        --------
        >>> import torch
        >>> import logiclearn as ll
        >>> x = ll.term(torch.tensor([0.0, 0.6, 1.0]))
        >>> s = ll.satisfaction((x >= 0.5) >> (x >= 0.9))
        >>> round(s.branch_rate("antecedent false"), 3), round(s.branch_rate("consequent true"), 3)
        (0.333, 0.333)
        """
        rows = self.branches[self.branches["branch"] == branch]
        if node is not None:
            rows = rows[rows["node"] == node]
        if len(rows) != 1:
            raise ValueError(
                f"branch must name exactly one branch; {branch!r} (node={node!r}) matched "
                f"{len(rows)} of {self.branches[['node', 'branch']].values.tolist()}"
            )
        return float(rows["rate"].iloc[0])


def satisfaction(formula: Formula, tol: float = 1e-2) -> Satisfaction:
    """Fraction of instances satisfying ``formula`` (atoms relaxed by ``tol``), per branch too.

    Parameters
    ----------
    formula : Formula
    tol : float
        Atom tolerance, as in the paper's ``satisfy(tol)``.

    Returns
    -------
    Satisfaction

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.0, 0.6, 1.0]))
    >>> s = ll.satisfaction((x >= 0.5) >> (x >= 0.9), tol=0.0)
    >>> s.rate
    0.6666666666666666
    >>> s.branches["rate"].round(3).tolist()
    [0.333, 0.333]
    """
    check_formula(formula)
    tol = float(tol)
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    truth = formula._truth(tol).detach().cpu().numpy()
    rows: list[tuple[str, str, float]] = []
    _branches(formula, "root", tol, rows)
    return Satisfaction(
        rate=float(np.mean(truth)),
        per_instance=np.atleast_1d(truth),
        branches=pd.DataFrame(rows, columns=["node", "branch", "rate"]),
    )


def _branches(f: Formula, path: str, tol: float, rows: list[tuple[str, str, float]]) -> None:
    node = f.name or path
    if isinstance(f, Or):
        for i, c in enumerate(f.children):
            t = c._truth(tol)
            if isinstance(c, Atom) and t.ndim == 2:
                t = t.any(-1)
            rows.append((node, f.label(i), float(t.float().mean())))
    if isinstance(f, (And, Or)):
        for i, c in enumerate(f.children):
            _branches(c, f"{path}/{i}", tol, rows)
    elif isinstance(f, (Not, ForAll, Exists)):
        _branches(f.child, f"{path}/0", tol, rows)
