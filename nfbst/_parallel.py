"""One execution layer for the embarrassingly parallel work of the library, on joblib.

Ensemble members, chain groups, CRT features and experiment seeds are *tasks*: independent
calls ``fn(*args)`` whose randomness comes from a seed derived per task
(:func:`task_seeds`, ``seed_sequence(random_state).spawn(n)``), never from global state, so
the results are identical to the sequential run whatever ``n_jobs`` or the joblib backend.

``n_jobs`` follows scikit-learn: ``None`` means 1 unless a :func:`joblib.parallel_config`
context says otherwise, ``-1`` all cores. Any joblib backend works, so a Dask cluster runs
the same code::

    from dask.distributed import Client
    import joblib
    client = Client(cluster)                       # registers joblib's "dask" backend
    with joblib.parallel_config(backend="dask"):
        BayesianMLP(inference="ensemble", n_ensemble=8).fit(X, y)

In a worker that shares the machine with others (``n_jobs != 1``) torch and the BLAS pools
run one thread each (more would oversubscribe the cores). A task that raises stops the whole
map with its own exception type (a ``ValueError`` stays one) and a message naming the task;
a worker or cluster that dies gives a :class:`TaskError` naming the task it was waiting for.
No partial list of results is ever returned as complete.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import joblib
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from probconstraints._progress import progress
from probconstraints._random import RandomStateLike, seed_sequence

__all__ = ["TaskError", "check_n_jobs", "effective_n_jobs", "task_seeds", "parallel_map"]


class TaskError(RuntimeError):
    """A task of :func:`parallel_map` did not complete (its worker or the cluster died, or
    its exception type cannot carry the task's name); the message names the task."""


_T = TypeVar("_T")


def check_n_jobs(n_jobs: object, name: str = "n_jobs") -> int | None:
    """Refuse anything but None or a non-zero int; return it unchanged.

    Examples
    --------
    >>> check_n_jobs(None) is None, check_n_jobs(-1)
    (True, -1)
    >>> check_n_jobs(0)
    Traceback (most recent call last):
    ...
    ValueError: n_jobs must be None or a non-zero int (-1: all cores), got 0
    """
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"{name} must be None or a non-zero int (-1: all cores), got {n_jobs!r}")
    return int(n_jobs)


def effective_n_jobs(n_jobs: int | None = None) -> int:
    """Workers that ``n_jobs`` gives under the active :func:`joblib.parallel_config`.

    Examples
    --------
    >>> effective_n_jobs(None)
    1
    >>> import joblib
    >>> with joblib.parallel_config(n_jobs=3):
    ...     effective_n_jobs(None)
    3
    """
    return int(joblib.effective_n_jobs(check_n_jobs(n_jobs)))


def task_seeds(random_state: RandomStateLike | np.random.SeedSequence,
               n: int) -> list[np.random.SeedSequence]:
    """``n`` independent seeds, one per task, derived from ``random_state`` alone.

    Examples
    --------
    >>> a = [s.generate_state(1)[0] for s in task_seeds(0, 3)]
    >>> b = [s.generate_state(1)[0] for s in task_seeds(0, 3)]
    >>> a == b, len(set(a))
    (True, 3)
    """
    root = random_state if isinstance(random_state, np.random.SeedSequence) \
        else seed_sequence(random_state)
    return root.spawn(int(n))


def _named(exc: Exception, name: str) -> Exception:
    """``exc``'s type with the task named in the message (a ValueError stays a ValueError),
    or a :class:`TaskError` when that type cannot be built from one message."""
    message = f"task {name!r} failed: {type(exc).__name__}: {exc}"
    try:
        named = type(exc)(message)
        if str(named) == message:
            return named
    except Exception:  # noqa: BLE001 (any constructor signature)
        pass
    return TaskError(message)


def _call(fn: Callable[..., _T], args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> _T:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise _named(exc, name) from exc


def _run(fn: Callable[..., _T], args: tuple[Any, ...], kwargs: dict[str, Any], name: str,
         threads: int) -> _T:
    """One task in a worker: pinned threads, the call, a failure named after the task."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            return _call(fn, args, kwargs, name)
    finally:
        torch.set_num_threads(before)


def parallel_map(fn: Callable[..., _T], tasks: Iterable[Iterable[Any]], *,
                 n_jobs: int | None = None, names: Iterable[object] | None = None,
                 desc: str = "tasks", verbose: int = 0, threads_per_worker: int = 1,
                 **kwargs: Any) -> list[_T]:
    """``[fn(*task, **kwargs) for task in tasks]`` on joblib workers, in task order.

    Parameters
    ----------
    fn : callable
        A module-level function (it travels to worker processes by pickle).
    tasks : iterable of tuple
        Positional arguments of each call.
    n_jobs : int, optional
        Workers (scikit-learn convention: None is 1 unless a ``joblib.parallel_config``
        context sets it, -1 all cores). The backend is joblib's active one (``loky``
        processes by default, ``"dask"`` inside ``joblib.parallel_config(backend="dask")``).
    names : list of str, optional
        A name per task for errors and progress (default ``"<desc> #i"``).
    desc : str
        What the tasks are (progress bar and errors).
    verbose : int
        ``1`` shows a bar over the tasks on a terminal, ``2`` also in logs
        (``probconstraints._progress``).
    threads_per_worker : int
        Torch and BLAS threads of each task when running in parallel (default 1); the
        sequential run (one worker) keeps the caller's settings.
    **kwargs
        Keyword arguments shared by every call.

    Returns
    -------
    list
        One result per task, in task order.

    Raises
    ------
    Exception
        A task's own exception type, its message naming the task.
    TaskError
        When a worker or the cluster dies; the message names the task.

    Examples
    --------
    >>> parallel_map(pow, [(2, 3), (3, 2)])
    [8, 9]
    >>> parallel_map(divmod, [(1, 1), (1, 0)], names=["ok", "zero"])
    Traceback (most recent call last):
    ...
    ZeroDivisionError: task 'zero' failed: ZeroDivisionError: integer division or modulo by zero
    """
    calls = [tuple(t) for t in tasks]
    if names is None:
        names = [f"{desc} #{i}" for i in range(len(calls))]
    labels = [str(n) for n in names]
    if len(labels) != len(calls):
        raise ValueError(f"names must have one entry per task ({len(calls)}), got {len(labels)}")
    workers = min(effective_n_jobs(n_jobs), max(len(calls), 1))
    bar = progress(total=len(calls), desc=desc, verbose=verbose if len(calls) > 1 else 0)
    out: list[_T] = []
    try:
        if workers == 1:
            for name, args in zip(labels, calls):
                out.append(_call(fn, args, kwargs, name))
                bar.update()
            return out
        # in-process backends (threading) pin the process-wide pools from several threads:
        # this process's torch threads and BLAS limits are restored when the map ends
        threads_before = torch.get_num_threads()
        restore = threadpool_limits(limits=None)
        runner = joblib.Parallel(n_jobs=workers, return_as="generator")
        results = runner(joblib.delayed(_run)(fn, args, kwargs, name, threads_per_worker)
                         for name, args in zip(labels, calls))
        try:
            for _ in calls:  # in task order
                out.append(next(results))
                bar.update()
        except Exception as exc:
            if str(exc).startswith("task '"):  # raised by the task's code, named there
                raise
            # the worker or the cluster failed, not the task's code
            raise TaskError(
                f"task {labels[len(out)]!r} (or one running beside it) did not complete: "
                f"{type(exc).__name__}: {exc} ({len(out)} of {len(calls)} {desc} had "
                "finished; no partial result is returned)"
            ) from exc
        finally:
            results.close()
            torch.set_num_threads(threads_before)
            restore.restore_original_limits()
        return out
    finally:
        bar.close()
