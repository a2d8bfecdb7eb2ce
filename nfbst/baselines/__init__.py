"""Classical significance tests a user would otherwise run, one function each.

Every function takes ``X`` (n, d) and ``y`` (n,) and returns a :class:`pandas.DataFrame` with
one row per feature and at least the columns ``feature``, ``statistic`` and ``p_value``.

- :func:`ols_t_test`: OLS coefficient t-test (with intercept).
- :func:`likelihood_ratio_test`: drop-one Gaussian likelihood-ratio test, χ²₁ (with intercept).
- :func:`bootstrap_test`: pairs bootstrap of OLS coefficients, percentile intervals and p-value.
- :func:`permutation_test`: scikit-learn permutation importance with a permutation p-value.
- :func:`loco_test`: leave-one-covariate-out, paired test of held-out losses (Lei et al. 2018).
- :func:`gradient_test`: Horel & Giesecke (2020) statistic mean_x (∂f/∂x_j)² of a fitted
  network, with a residual-bootstrap null under H0.

The paper's own variants (shared/papers/nfbst.md §3.3) are kept, clearly labelled, so its
Table 1 columns can be reproduced: :func:`paper_t_test` (simple-regression standard error),
:func:`paper_likelihood_ratio_test` (no intercept) and :func:`paper_bootstrap_z_test` (z-test
on the bootstrap replicates, which rejects almost everything as B grows).

Layout: :mod:`._linear` (OLS t, likelihood ratio, the paper's t and LR), :mod:`._resampling`
(bootstraps, permutation, LOCO), :mod:`._gradient` (plain MLPs and the gradient test),
:mod:`._common` (input checks, rank-safe least squares).
"""

from __future__ import annotations

from ._gradient import fit_mlp, gradient_test
from ._linear import (
    likelihood_ratio_test,
    ols_t_test,
    paper_likelihood_ratio_test,
    paper_t_test,
)
from ._resampling import bootstrap_test, loco_test, paper_bootstrap_z_test, permutation_test

__all__ = [
    "ols_t_test",
    "likelihood_ratio_test",
    "bootstrap_test",
    "permutation_test",
    "loco_test",
    "gradient_test",
    "fit_mlp",
    "paper_t_test",
    "paper_likelihood_ratio_test",
    "paper_bootstrap_z_test",
]
