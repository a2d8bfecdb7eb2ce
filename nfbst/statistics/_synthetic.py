"""Random MLP posterior draws, for examples, tests and benchmarks of the statistics."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..posterior import PosteriorDraws


def random_draws(n_draws: int, n_features: int, hidden: Sequence[int] = (20, 20, 20),
                 activation: str = "relu", n_outputs: int = 1, task: str = "regression",
                 dtype: torch.dtype = torch.float64, random_state: int = 0) -> PosteriorDraws:
    """``n_draws`` MLP weight sets drawn around one random network (He-scaled Gaussians).

    Examples
    --------
    >>> d = random_draws(4, 3, hidden=(5,), activation="tanh")
    >>> d.forward(torch.zeros(2, 3, dtype=torch.float64)).shape
    torch.Size([4, 2, 1])
    """
    g = torch.Generator().manual_seed(int(random_state))
    sizes = [n_features, *hidden, n_outputs]
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        scale = (2.0 / fan_in) ** 0.5
        centre = torch.randn(1, fan_out, fan_in, generator=g, dtype=dtype) * scale
        weights.append(centre + 0.3 * scale * torch.randn(n_draws, fan_out, fan_in,
                                                          generator=g, dtype=dtype))
        biases.append(0.3 * torch.randn(n_draws, fan_out, generator=g, dtype=dtype))
    return PosteriorDraws(weights, biases, activation=activation, task=task)
