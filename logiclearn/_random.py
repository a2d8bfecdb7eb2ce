"""random_state handling: a ``torch.Generator`` from None, int, RandomState or Generator.

Nothing here seeds torch's global generator. Code that only reads the global generator
(``nn.Module.reset_parameters``, ``nn.Dropout``) runs inside :func:`isolated_rng`, which forks the
global state, sets it from a local generator and restores the caller's state on exit.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
import torch

__all__ = ["torch_generator", "isolated_rng", "check_random_state_arg"]


def check_random_state_arg(random_state, name: str = "random_state"):
    """Refuse anything but None, an int >= 0, a RandomState or a Generator.

    Examples
    --------
    >>> check_random_state_arg(3)
    3
    >>> check_random_state_arg("3")
    Traceback (most recent call last):
    ...
    TypeError: random_state must be None, an int, a numpy RandomState or Generator, got str
    """
    if random_state is None or isinstance(random_state, (np.random.RandomState,
                                                         np.random.Generator)):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"{name} must be >= 0, got {random_state}")
        return random_state
    raise TypeError(f"{name} must be None, an int, a numpy RandomState or Generator, "
                    f"got {type(random_state).__name__}")


def torch_generator(random_state) -> torch.Generator | None:
    """A CPU ``torch.Generator`` seeded from ``random_state``; ``None`` for ``None``.

    An int seeds it directly; a RandomState or Generator is advanced by one draw (as
    scikit-learn does when it derives seeds), so repeated calls give different streams.

    Examples
    --------
    >>> import numpy as np
    >>> torch_generator(0).initial_seed()
    0
    >>> g = torch_generator(np.random.default_rng(0))
    >>> isinstance(g.initial_seed(), int)
    True
    >>> torch_generator(None) is None
    True
    """
    random_state = check_random_state_arg(random_state)
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral):
        seed = int(random_state)
    elif isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(2**31 - 1))
    else:
        seed = int(random_state.integers(2**63 - 1))
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def isolated_rng(generator: torch.Generator | None):
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
    if generator is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(generator.get_state())
        try:
            yield
        finally:
            generator.set_state(torch.get_rng_state())
