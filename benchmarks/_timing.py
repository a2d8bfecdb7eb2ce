"""Timing conventions shared by every benchmark: pinned threads, best of repeats, printed.

A ratio between two tools only means something when both run with the same number of threads
(torch intra-op threads and the BLAS/OpenMP pools numpy, scipy and scikit-learn use), in the same
process, and when each is the best (minimum) of several repeats, so that load from other
processes on a shared machine inflates neither side more than the other.

Use::

    from _timing import best_time, pin_threads
    threads = pin_threads(2)            # prints "threads: 2 (torch intra-op and BLAS/OpenMP)"
    sec, value = best_time(lambda: f(x), repeats=5)
"""

from __future__ import annotations

import time

import torch
from threadpoolctl import threadpool_limits

_LIMITS = []  # keeps the threadpoolctl limiter alive for the life of the benchmark process


def pin_threads(n: int, verbose: bool = True) -> int:
    """Pin torch and every BLAS/OpenMP pool of this process to ``n`` threads; return ``n``."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"threads must be an int >= 1, got {n!r}")
    torch.set_num_threads(n)
    _LIMITS.append(threadpool_limits(limits=n))
    if verbose:
        print(f"threads: {torch.get_num_threads()} (torch intra-op and BLAS/OpenMP, both sides)",
              flush=True)
    return n


def best_time(fn, repeats: int = 3):
    """``(seconds, value)``: the minimum wall time of ``repeats`` calls and the last result."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    best, value = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value
