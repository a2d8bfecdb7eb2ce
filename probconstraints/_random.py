"""The one ``random_state`` helper of the distribution (nfbst, logiclearn and infotheory use it).

Every public ``random_state`` accepts None, an int >= 0, a :class:`numpy.random.RandomState` or a
:class:`numpy.random.Generator` (scikit-learn's :func:`~sklearn.utils.check_random_state` refuses
a Generator, hence this module). Nothing here seeds a global generator: torch randomness goes
through a local :class:`torch.Generator`, and code that can only read torch's global generator
(``nn.Module.reset_parameters``, ``nn.Dropout``) runs inside :func:`isolated_rng`, which restores
the caller's global state on exit.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeAlias, cast

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = [
    "RandomStateLike",
    "check_random_state_arg",
    "check_random_state",
    "seed_sequence",
    "generators",
    "torch_generator",
    "isolated_rng",
]

_EXPECTED = "None, an int, a numpy RandomState or Generator"

#: What every public ``random_state`` argument accepts (validated by
#: :func:`check_random_state_arg`; a numpy integer is accepted as an int).
RandomStateLike: TypeAlias = int | np.random.RandomState | np.random.Generator | None


def check_random_state_arg(random_state: object, name: str = "random_state") -> RandomStateLike:
    """Refuse anything but None, an int >= 0, a RandomState or a Generator; return it unchanged.

    Examples
    --------
    >>> check_random_state_arg(3)
    3
    >>> check_random_state_arg("3")
    Traceback (most recent call last):
    ...
    TypeError: random_state must be None, an int, a numpy RandomState or Generator, got '3'
    """
    if random_state is None or isinstance(random_state, (np.random.RandomState,
                                                         np.random.Generator)):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"{name} must be >= 0, got {random_state!r}")
        # returned unchanged (a numpy integer stays one); it behaves as the int it holds
        return cast(int, random_state)
    raise TypeError(f"{name} must be {_EXPECTED}, got {random_state!r}")


def _draw_seed(random_state: RandomStateLike) -> int | None:
    """An int seed from a validated ``random_state`` (advancing a RandomState/Generator)."""
    random_state = check_random_state_arg(random_state)
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63 - 1))
    return int(random_state)


def check_random_state(random_state: RandomStateLike) -> np.random.RandomState:
    """A :class:`numpy.random.RandomState` as scikit-learn's helper gives, Generators accepted.

    None gives the global RandomState singleton (as scikit-learn), an int a new seeded one, a
    RandomState is returned as is, and a Generator is advanced by one draw to seed a new one.

    Examples
    --------
    >>> check_random_state(0).randint(10) == check_random_state(0).randint(10)
    True
    >>> isinstance(check_random_state(np.random.default_rng(0)), np.random.RandomState)
    True
    """
    random_state = check_random_state_arg(random_state)
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, np.random.RandomState):
        return random_state
    seed = _draw_seed(random_state)
    assert seed is not None  # random_state is an int or a Generator here
    return np.random.RandomState(seed % 2**32)


def seed_sequence(random_state: RandomStateLike) -> np.random.SeedSequence:
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
    TypeError: random_state must be None, an int, a numpy RandomState or Generator, got 'zero'
    """
    seed = _draw_seed(random_state)
    return np.random.SeedSequence() if seed is None else np.random.SeedSequence(seed)


def generators(random_state: RandomStateLike, n: int) -> list[np.random.Generator]:
    """``n`` independent numpy Generators derived from ``random_state`` (one per task)."""
    return [np.random.default_rng(s) for s in seed_sequence(random_state).spawn(n)]


def torch_generator(random_state: RandomStateLike) -> torch.Generator | None:
    """A CPU ``torch.Generator`` seeded from ``random_state``; ``None`` for ``None``.

    An int seeds it directly; a RandomState or Generator is advanced by one draw (as
    scikit-learn does when it derives seeds), so repeated calls give different streams.

    Examples
    --------
    >>> torch_generator(0).initial_seed()
    0
    >>> g = torch_generator(np.random.default_rng(0))
    >>> isinstance(g.initial_seed(), int)
    True
    >>> torch_generator(None) is None
    True
    """
    import torch

    seed = _draw_seed(random_state)
    return None if seed is None else torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def isolated_rng(generator: torch.Generator | None) -> Iterator[None]:
    """Run the block with torch's global CPU generator set from ``generator``, then restore it.

    With ``generator=None`` the block uses (and advances) the global generator, as scikit-learn
    does for ``random_state=None``.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_rng_state()
    >>> with isolated_rng(torch_generator(0)):
    ...     a = torch.rand(1)
    >>> with isolated_rng(torch_generator(0)):
    ...     b = torch.rand(1)
    >>> bool(torch.equal(a, b)), bool(torch.equal(before, torch.get_rng_state()))
    (True, True)
    """
    import torch

    if generator is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(generator.get_state())
        try:
            yield
        finally:
            generator.set_state(torch.get_rng_state())
