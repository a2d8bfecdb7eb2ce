"""Data sets of the nFBST paper (shared/papers/nfbst.md §3.1), generated from their formulas."""

from __future__ import annotations

import numpy as np

TOY_RELEVANT = np.array([True] * 7 + [False])


def make_toy(n_samples: int = 10_000, noise: float = 1.0, random_state=None):
    """The paper's toy example (``simulation_v3``).

    y = 8 + x0² + x1·x2 + cos(x3) + exp(x4·x5) + 0.1·x6 + 0·x7 + ε,
    X ~ U(−1, 1)^8, ε ~ N(0, noise²). Feature x7 is null.

    Returns
    -------
    X : ndarray (n_samples, 8)
    y : ndarray (n_samples,)

    Examples
    --------
    >>> X, y = make_toy(100, random_state=0)
    >>> X.shape, y.shape
    ((100, 8), (100,))
    """
    rng = np.random.default_rng(random_state)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 8))
    y = (
        8 + X[:, 0] ** 2 + X[:, 1] * X[:, 2] + np.cos(X[:, 3]) + np.exp(X[:, 4] * X[:, 5])
        + 0.1 * X[:, 6]
    )
    return X, y + noise * rng.standard_normal(n_samples)


def toy_gradient(X):
    """Analytic ∂f0/∂x_j of the toy example at each row of ``X``: ``(n, 8)``."""
    X = np.asarray(X, dtype=float)
    g = np.zeros_like(X)
    e = np.exp(X[:, 4] * X[:, 5])
    g[:, 0] = 2 * X[:, 0]
    g[:, 1] = X[:, 2]
    g[:, 2] = X[:, 1]
    g[:, 3] = -np.sin(X[:, 3])
    g[:, 4] = X[:, 5] * e
    g[:, 5] = X[:, 4] * e
    g[:, 6] = 0.1
    return g
