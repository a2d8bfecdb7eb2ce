"""Which output an attribution explains: the target class or output unit."""

from __future__ import annotations

import numpy as np
import torch


def output_selector(draws, X: torch.Tensor, target=None) -> torch.Tensor:
    """One-hot output weights ``(S, n, k)`` selecting the explained output per draw and row.

    ``target`` may be ``None`` (the single output of a regression; the posterior-mean
    predicted class for classification), ``"predicted"``, an int (one output for all rows)
    or an integer array of length ``n`` (one output per row).
    """
    S, n, k = len(draws), X.shape[0], draws.n_outputs
    if target is None and draws.task == "regression":
        if k != 1:
            raise ValueError(f"the network has {k} outputs: pass target=<output index>")
        target = 0
    if target is None or (isinstance(target, str) and target == "predicted"):
        with torch.no_grad():
            idx = draws.predict_mean(X).argmax(-1)
    elif isinstance(target, (int, np.integer)):
        if not 0 <= int(target) < k:
            raise ValueError(f"target must be in [0, {k}), got {target}")
        idx = torch.full((n,), int(target), dtype=torch.long, device=X.device)
    else:
        idx = torch.as_tensor(np.asarray(target), device=X.device)
        if idx.ndim != 1 or idx.shape[0] != n:
            raise ValueError(
                f"target must be an int or an array of length n={n}, got shape "
                f"{tuple(idx.shape)}"
            )
        if idx.dtype.is_floating_point or idx.dtype == torch.bool:
            raise TypeError(f"target must hold integer class indices, got dtype {idx.dtype}")
        if idx.numel() and (idx.min() < 0 or idx.max() >= k):
            raise ValueError(f"target indices must be in [0, {k})")
        idx = idx.long()
    onehot = torch.zeros(n, k, dtype=draws.dtype, device=X.device)
    onehot[torch.arange(n, device=X.device), idx] = 1
    return onehot.expand(S, n, k)
