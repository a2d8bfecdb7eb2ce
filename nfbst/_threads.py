"""Intra-op thread count for small CPU problems, shared by every fitting loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def threads_for(work: float, device: str | torch.device | int) -> Iterator[None]:
    """One intra-op thread when a step is small (``work`` ≈ multiply-adds of the widest layer
    product): below ~4 M the per-kernel synchronisation costs more than it saves (measured:
    a small VI step was 10× slower with 2 threads on a busy 2-core machine)."""
    small = torch.device(device).type == "cpu" and work < 4_000_000
    before = torch.get_num_threads()
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
