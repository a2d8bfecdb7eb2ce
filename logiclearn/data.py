"""Datasets whose items end with the example id, as the dual encoding needs."""

from __future__ import annotations

import torch

__all__ = ["IndexedDataset"]


class IndexedDataset(torch.utils.data.Dataset[tuple[torch.Tensor, ...]]):
    """``TensorDataset`` that returns ``(*tensors[i], i)``: views of an example plus its id.

    Parameters
    ----------
    *tensors : Tensor
        Views of the unlabelled examples, all with the same first dimension.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> ds = ll.IndexedDataset(torch.zeros(5, 2), torch.ones(5, 2))
    >>> x, rx, i = ds[3]
    >>> int(i)
    3
    """

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors:
            raise ValueError("IndexedDataset needs at least one tensor, got none")
        for i, t in enumerate(tensors):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"tensor {i} must be a torch.Tensor, got {type(t).__name__}")
        n = {len(t) for t in tensors}
        if len(n) != 1:
            raise ValueError(f"all tensors must have the same length, got {sorted(n)}")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return (*(t[i] for t in self.tensors), torch.tensor(i, dtype=torch.int64))
