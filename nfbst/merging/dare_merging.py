"""DARE: drop-and-rescale task vectors, then Task Arithmetic or TIES (Yu et al., ICML 2024)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from probconstraints._random import RandomStateLike, seed_sequence

from ._state import (
    Patterns,
    StateDict,
    StateLike,
    check_experts,
    check_fraction,
    check_scaling,
    tensor_sum,
)
from .task_arithmetic import add_task_vector, task_vectors
from .ties_merging import ties_combine


def torch_generator(random_state: RandomStateLike | torch.Generator) -> torch.Generator:
    """A CPU ``torch.Generator`` from ``random_state`` (None, int, numpy RandomState/Generator,
    or a ``torch.Generator``, returned as is).

    Examples
    --------
    >>> a = torch_generator(0); b = torch_generator(0)
    >>> bool((torch.rand(3, generator=a) == torch.rand(3, generator=b)).all())
    True
    """
    if isinstance(random_state, torch.Generator):
        return random_state
    try:
        seq = seed_sequence(random_state)  # None, int, numpy RandomState or Generator
    except (TypeError, ValueError):
        raise TypeError(
            "random_state must be None, an int, a numpy RandomState or Generator, or a "
            f"torch.Generator, got {random_state!r}"
        ) from None
    seed = int(seq.generate_state(1, dtype=np.uint64)[0])
    return torch.Generator().manual_seed(seed)


def drop_and_rescale(vector: torch.Tensor, drop_rate: float, generator: torch.Generator
                     ) -> torch.Tensor:
    """``(1 − m) ⊙ τ / (1 − p)`` with ``m ~ Bernoulli(p)`` elementwise, so ``E = τ``.

    Examples
    --------
    >>> import torch
    >>> out = drop_and_rescale(torch.ones(1000), 0.5, torch_generator(0))
    >>> sorted(set(out.tolist()))
    [0.0, 2.0]
    """
    if drop_rate == 0:
        return vector.clone()
    u = torch.rand(vector.shape, generator=generator).to(vector.device)
    keep = u >= drop_rate
    return torch.where(keep, vector / (1.0 - drop_rate), torch.zeros_like(vector))


def dare_merging(
    base: StateLike, experts: Sequence[StateLike], drop_rate: float = 0.3,
    scaling: float | Sequence[float] = 1.0, combine: str = "ta", density: float = 1.0,
    random_state: RandomStateLike | torch.Generator = None, include: Patterns = None,
    exclude: Patterns = None,
) -> StateDict:
    """Merge with DARE: randomly drop task-vector entries, rescale, then combine.

    Each entry of ``τ_t = θ_t − θ_0`` is dropped with probability ``p`` and the survivors
    are multiplied by ``1/(1 − p)``, so ``E[τ̃_t] = τ_t``; the ``τ̃_t`` are then merged by
    Task Arithmetic (``θ_0 + λ Σ_t τ̃_t``) or TIES (DARE-TIES) (Yu et al. 2024, Eq. 1).

    Parameters
    ----------
    base : dict[str, Tensor]
    experts : list of dict[str, Tensor]
    drop_rate : float in [0, 1), default 0.3
        ``p``. With large fine-tuning shifts small ``p`` works best (L2S study: ~0.3).
    scaling : float or sequence of float, default 1.0
        ``λ`` (per expert allowed with ``combine="ta"``).
    combine : {"ta", "ties"}
    density : float in [0, 1], default 1.0
        TIES trim density applied after dropping (``combine="ties"`` only; 1 = no trim).
    random_state : int, None or torch.Generator
        Seeds the drop masks; the same seed gives the same merge.
    include, exclude : str or list of str, optional
        Parameter-name patterns; unselected parameters are copied from ``base``.

    Returns
    -------
    dict[str, Tensor]

    Examples
    --------
    >>> import torch
    >>> base = {"w": torch.zeros(4)}
    >>> ex = [{"w": torch.ones(4)}, {"w": torch.ones(4)}]
    >>> m = dare_merging(base, ex, drop_rate=0.5, scaling=0.5, random_state=0)
    >>> sorted(set(m["w"].tolist())) <= [0.0, 1.0, 2.0]
    True
    """
    base, experts = check_experts(experts, base)
    p = check_fraction(drop_rate, "drop_rate", high_open=True)
    if combine not in ("ta", "ties"):
        raise ValueError(f"combine must be 'ta' or 'ties', got {combine!r}")
    lam = check_scaling(scaling, n=len(experts) if combine == "ta" else None)
    check_fraction(density, "density")
    gen = torch_generator(random_state)
    taus = task_vectors(base, experts, include, exclude)
    dropped = [{k: drop_and_rescale(v, p, gen) for k, v in t.items()} for t in taus]
    if combine == "ties":
        assert not isinstance(lam, list)  # one scaling for TIES (checked with n=None)
        return add_task_vector(base, ties_combine(dropped, density), lam)
    lams = lam if isinstance(lam, list) else [lam] * len(experts)
    total = {k: tensor_sum(l * t[k] for l, t in zip(lams, dropped)) for k in dropped[0]}
    return add_task_vector(base, total, 1.0)
