"""Which output an attribution explains: the target class or output unit.

:func:`target_indices` is the one resolution of ``target`` (names, ints, per-row arrays and
their checks); the batched rules turn it into one-hot output weights
(:func:`output_selector`) and the per-draw fallback passes it to captum or lime
(:func:`per_draw_targets`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from probconstraints._progress import progress

from ._batching import check_target_length

if TYPE_CHECKING:
    from ..functional_draws import FunctionalDraws
    from ._base import ModuleDraws, TargetLike


def _is_predicted(target: TargetLike) -> bool:
    return target is None or (isinstance(target, str) and target == "predicted")


def target_indices(target: TargetLike, n: int, k: int, predicted: Callable[[], torch.Tensor],
                   device: torch.device | str) -> torch.Tensor:
    """The explained output per row ``(n,)`` of a network with ``k`` outputs.

    ``target`` may be ``None`` or ``"predicted"`` (the argmax of ``predicted()``, the
    posterior-mean output ``(n, k)``), an int (one output for all rows) or an integer array
    of length ``n`` (one output per row).

    Examples
    --------
    >>> target_indices(1, 3, 2, None, "cpu")
    tensor([1, 1, 1])
    >>> target_indices(None, 2, 2, lambda: torch.tensor([[0.2, 0.8], [0.9, 0.1]]), "cpu")
    tensor([1, 0])
    """
    if _is_predicted(target):
        with torch.no_grad():
            return predicted().argmax(-1)
    if isinstance(target, str):
        raise ValueError(f"target must be None, 'predicted', an int or an array, got {target!r}")
    if isinstance(target, (int, np.integer)):
        if not 0 <= int(target) < k:
            raise ValueError(f"target must be in [0, {k}), got {target}")
        return torch.full((n,), int(target), dtype=torch.long, device=device)
    idx = torch.as_tensor(np.asarray(target.cpu() if torch.is_tensor(target) else target))
    if idx.ndim != 1 or idx.shape[0] != n:
        raise ValueError(
            f"target must be an int or an array of length n={n}, got shape {tuple(idx.shape)}"
        )
    if idx.dtype.is_floating_point or idx.dtype == torch.bool:
        raise TypeError(f"target must hold integer class indices, got dtype {idx.dtype}")
    if idx.numel() and (idx.min() < 0 or idx.max() >= k):
        raise ValueError(f"target indices must be in [0, {k})")
    return idx.long().to(device)


def output_selector(draws: FunctionalDraws, X: torch.Tensor, target: TargetLike = None
                    ) -> torch.Tensor:
    """One-hot output weights ``(S, n, k)`` selecting the explained output per draw and row.

    ``target`` as :func:`target_indices`; ``None`` is the single output of a regression and
    the posterior-mean predicted class for classification.
    """
    S, n, k = len(draws), X.shape[0], draws.n_outputs
    if target is None and draws.task == "regression":
        if k != 1:
            raise ValueError(f"the network has {k} outputs: pass target=<output index>")
        target = 0
    idx = target_indices(target, n, k, lambda: draws.predict_mean(X), X.device)
    onehot = torch.zeros(n, k, dtype=draws.dtype, device=X.device)
    onehot[torch.arange(n, device=X.device), idx] = 1
    return onehot.expand(S, n, k)


@torch.no_grad()
def _outputs(draws: ModuleDraws, X: torch.Tensor, S: int, verbose: int, desc: str
             ) -> torch.Tensor:
    outs = [draws.module(i)(X) for i in progress(range(S), verbose, desc=desc)]
    return torch.stack([o.reshape(X.shape[0], -1) for o in outs])  # (S, n, k)


def per_draw_targets(draws: ModuleDraws, X: torch.Tensor, target: TargetLike,
                     verbose: int = 0) -> torch.Tensor | None:
    """Target class per row ``(n,)`` for draws with ``module(i)``; ``None`` for one output.

    ``None``/``"predicted"`` with several outputs is the class of the posterior-mean
    probabilities (the softmax of each draw's outputs, averaged over draws).
    """
    n = X.shape[0]
    check_target_length(target, n)
    with torch.no_grad():
        k = draws.module(0)(X[:1]).reshape(1, -1).shape[1]
    if _is_predicted(target):
        if k == 1:
            return None
        if getattr(draws, "task", None) == "regression":
            raise ValueError(f"the network has {k} outputs: pass target=<output index>")

    def mean_probabilities() -> torch.Tensor:
        return torch.softmax(_outputs(draws, X, len(draws), verbose, "posterior mean"), -1).mean(0)

    return target_indices(target, n, k, mean_probabilities, X.device)
