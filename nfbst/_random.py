"""One conversion of a ``random_state`` into independent, reproducible seed streams."""

from __future__ import annotations

import numbers

import numpy as np


def seed_sequence(random_state) -> np.random.SeedSequence:
    """A :class:`numpy.random.SeedSequence` from None, an int, a RandomState or a Generator.

    None gives fresh entropy; an int is deterministic; a RandomState or Generator is advanced
    by one draw (as scikit-learn does), so repeated calls give new streams.

    Examples
    --------
    >>> bool(seed_sequence(0).generate_state(1)[0] == seed_sequence(0).generate_state(1)[0])
    True
    >>> seed_sequence("zero")
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None, an int, a numpy RandomState or Generator, got 'zero'
    """
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state!r}")
        return np.random.SeedSequence(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(2**31 - 1)))
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63 - 1)))
    raise ValueError(
        "random_state must be None, an int, a numpy RandomState or Generator, "
        f"got {random_state!r}"
    )


def generators(random_state, n: int) -> list[np.random.Generator]:
    """``n`` independent numpy Generators derived from ``random_state`` (one per task)."""
    return [np.random.default_rng(s) for s in seed_sequence(random_state).spawn(n)]
