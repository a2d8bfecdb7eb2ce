"""The one place where a statistic chooses its path and where its rows are batched.

A statistic module registers its batched rule for a :class:`~nfbst.posterior.PosteriorDraws`
(stacked MLP weights) with :func:`batched_statistic`, naming

- the per-draw function used for every other draws object (anything with ``__len__`` and
  ``module(i)``, e.g. a Bayesian CNN), and
- its batching needs, a :class:`RowBatching`: the memory its temporaries take per row of
  ``X`` and the budget per batch (and, optionally, a progress bar over the rows).

With a :class:`RowBatching` the rule only computes a block: called once with the whole
(checked) ``X`` and the options, it validates and prepares what all rows share, and returns a
:data:`BlockRule` ``block(X_rows, target_rows, rows) -> (S, b, d)``; :func:`run_row_blocks`
chooses the row batches (``batch_size``, or the budget over the row cost), slices the target,
runs the block rule on each batch without autograd and fills the ``(S, n, d)`` output. The
decorated function keeps the rule's name, signature and docstring; its keyword parameters are
recorded once (:func:`statistic_parameters`) so that callers such as :class:`~nfbst.NFBST`
know which options (``verbose``, ``random_state``) it takes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import torch
from numpy.typing import ArrayLike

from probconstraints._progress import progress

from ..functional_draws import FunctionalDraws
from ..posterior import DrawsLike, PosteriorDraws
from ._batching import (
    check_finite,
    check_target_length,
    empty_statistic,
    mlp_row_cost,
    row_batches,
    slice_target,
)

#: The output a statistic explains: None/"predicted", a class index, or one index per row.
TargetLike = ArrayLike | torch.Tensor | None
#: ``block(X_rows (b, d), target_rows, rows) -> (S, b, d)``: a batched rule on one row batch.
BlockRule = Callable[[torch.Tensor, TargetLike, slice], torch.Tensor]
#: A statistic: ``fn(draws, X, target=None, **options) -> (S, n, d)``.
Statistic = Callable[..., Any]
#: Posterior draws the per-draw path understands: ``len(draws)`` networks ``module(i)``.
ModuleDraws = DrawsLike


def is_batched_mlp(draws: object) -> TypeGuard[PosteriorDraws]:
    """True when ``draws`` is a :class:`~nfbst.posterior.PosteriorDraws` (stacked MLP)."""
    return isinstance(draws, PosteriorDraws)


def is_functional(draws: object) -> TypeGuard[FunctionalDraws]:
    """True for draws of any module evaluated by ``vmap`` (not the stacked-MLP case)."""
    return isinstance(draws, FunctionalDraws) and not isinstance(draws, PosteriorDraws)


def mlp_cost(hidden_factor: int) -> Callable[[PosteriorDraws, Mapping[str, Any]], int]:
    """The row cost of a rule keeping ``hidden_factor`` temporaries per hidden unit."""

    def cost(draws: PosteriorDraws, options: Mapping[str, Any]) -> int:
        return mlp_row_cost(draws, hidden_factor)

    return cost


@dataclass(frozen=True)
class RowBatching:
    """How a batched rule's rows are split: memory per row, budget per batch, progress.

    Attributes
    ----------
    row_cost : callable
        ``row_cost(draws, options) -> int``: elements of temporaries one row of ``X`` takes
        (``options`` are the rule's parameters, defaults filled in, after its checks).
    budget : int
        Elements of temporaries per batch when ``batch_size`` is None (the default keeps
        them at a few MB, reused by the allocator from batch to batch).
    progress : str, optional
        Description of a progress bar over the rows (shown as the rule's ``verbose`` says);
        ``None``: no bar.
    """

    row_cost: Callable[[Any, Mapping[str, Any]], int]
    budget: int = 2**21
    progress: str | None = None


@dataclass(frozen=True)
class StatisticParameters:
    """The keyword options a statistic takes beside ``draws``, ``X`` and ``target``.

    ``names`` is ``None`` when the callable has no inspectable signature; ``var_keyword``
    is true when it takes ``**options``.
    """

    names: tuple[str, ...] | None
    var_keyword: bool = False

    def takes(self, name: str) -> bool:
        """Whether ``name`` is a named parameter (``**options`` does not count)."""
        return self.names is not None and name in self.names


def _parameters_of(fn: Callable[..., Any]) -> StatisticParameters:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing is known
        return StatisticParameters(None)
    kinds = inspect.Parameter
    names = tuple(k for k, p in params.items()
                  if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)
                  and k not in ("draws", "X", "target"))
    return StatisticParameters(names, any(p.kind is kinds.VAR_KEYWORD for p in params.values()))


def statistic_parameters(fn: Callable[..., Any]) -> StatisticParameters:
    """The options ``fn`` takes: recorded by :func:`batched_statistic`, else read once.

    Examples
    --------
    >>> from nfbst.statistics import deeplift
    >>> statistic_parameters(deeplift).takes("verbose")
    True
    >>> statistic_parameters(lambda draws, X, target=None: None).takes("verbose")
    False
    """
    recorded = getattr(fn, "statistic_parameters", None)
    if isinstance(recorded, StatisticParameters):
        return recorded
    return _parameters_of(fn)


def run_row_blocks(block: BlockRule, draws: FunctionalDraws, X: torch.Tensor,
                   target: TargetLike, rows: RowBatching, batch_size: int | None,
                   options: Mapping[str, Any], verbose: int = 0) -> torch.Tensor:
    """η ``(S, n, d)`` of ``X`` (checked, ``(n, d)``), one row batch at a time, no autograd.

    ``batch_size`` rows per batch, or (``None``) as many as ``rows.budget`` allows at
    ``rows.row_cost(draws, options)`` elements per row; ``target`` is split with the rows.
    """
    n = X.shape[0]
    batches = row_batches(n, batch_size, per_row_cost=rows.row_cost(draws, options),
                          budget=rows.budget)
    out = empty_statistic(draws, n)
    bar = progress(total=n, verbose=verbose, desc=rows.progress) if rows.progress else None
    with torch.no_grad():
        for sl in batches:
            out[:, sl] = block(X[sl], slice_target(target, sl), sl)
            if bar is not None:
                bar.update(sl.stop - sl.start)
    if bar is not None:
        bar.close()
    return out


def batched_statistic(per_draw: Statistic | None = None, rows: RowBatching | None = None,
                      functional: Statistic | None = None,
                      functional_rows: RowBatching | None = None,
                      ) -> Callable[[Statistic], Statistic]:
    """Register the batched rule of a statistic; other draws go to ``functional`` or
    ``per_draw``.

    Three paths, chosen here only: a :class:`~nfbst.posterior.PosteriorDraws` (stacked MLP)
    runs the decorated rule; any other :class:`~nfbst.functional_draws.FunctionalDraws`
    (a CNN, an ensemble, MC dropout) runs ``functional`` (all draws in one ``vmap``, see
    :mod:`nfbst.statistics._functional`) when the statistic has one; everything else, and
    functional draws of a statistic without ``functional``, goes to ``per_draw``.

    Parameters
    ----------
    per_draw : callable, optional
        ``per_draw(draws, X, target=..., **options)`` for draws that are not a
        :class:`~nfbst.posterior.PosteriorDraws`; it receives every parameter of the rule
        (defaults filled in). ``None``: such draws are refused with a TypeError.
    rows : RowBatching, optional
        The rule's batching needs. Given, the rule is called once per call with ``X`` as a
        finite ``(n, d)`` tensor (a per-row ``target`` checked against ``n``) and returns a
        :data:`BlockRule`, which :func:`run_row_blocks` applies to each batch of rows
        (the rule's ``batch_size`` and ``verbose`` parameters drive the batches and the
        progress bar). ``None``: the rule computes every row itself.

    Returns
    -------
    decorator
        The decorated function has the rule's name, signature and docstring, and records
        its parameters in ``statistic_parameters`` and its batching in ``row_batching``.

    Examples
    --------
    >>> import torch
    >>> from nfbst.statistics._synthetic import random_draws
    >>> @batched_statistic(rows=RowBatching(row_cost=mlp_cost(1)))
    ... def output_sign(draws, X, target=None, batch_size=None, verbose=0):
    ...     def block(X_rows, target_rows, rows):
    ...         S, (b, d) = len(draws), X_rows.shape
    ...         return torch.sign(draws.forward(X_rows)).expand(S, b, d)
    ...     return block
    >>> output_sign(random_draws(2, 3), torch.ones(4, 3, dtype=torch.float64)).shape
    torch.Size([2, 4, 3])
    """

    def decorate(rule: Statistic) -> Statistic:
        signature = inspect.signature(rule)

        @functools.wraps(rule)
        def statistic(draws: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
            if is_batched_mlp(draws):
                if rows is None:
                    return rule(draws, X, *args, **kwargs)
                return _batched(draws, X, *args, **kwargs)
            if functional is not None and is_functional(draws):
                return _functional(draws, X, *args, **kwargs)
            if per_draw is None:
                raise TypeError(f"{rule.__name__} needs PosteriorDraws (stacked MLP draws), "
                                f"got {type(draws).__name__}")
            return per_draw(draws, X, **_options(draws, X, *args, **kwargs))

        def _options(draws: Any, X: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
            bound = signature.bind(draws, X, *args, **kwargs)
            bound.apply_defaults()
            options = dict(bound.arguments)
            del options["draws"], options["X"]
            return options

        def _batched(draws: PosteriorDraws, X: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
            assert rows is not None
            options = _options(draws, X, *args, **kwargs)
            X = check_finite(draws.as_tensor(X))
            target = options.pop("target", None)
            check_target_length(target, X.shape[0])
            with torch.no_grad():
                block = rule(draws, X, target, **options)
            return run_row_blocks(block, draws, X, target, rows, options.get("batch_size"),
                                  options, verbose=options.get("verbose", 0))

        def _functional(draws: FunctionalDraws, X: Any, *args: Any, **kwargs: Any
                        ) -> torch.Tensor:
            assert functional is not None
            from ._functional import FUNCTIONAL_ROWS

            options = _options(draws, X, *args, **kwargs)
            X = check_finite(draws.as_tensor(X))
            target = options.pop("target", None)
            check_target_length(target, X.shape[0])
            block = functional(draws, X, target, **options)
            return run_row_blocks(block, draws, X, target, functional_rows or FUNCTIONAL_ROWS,
                                  options.get("batch_size"), options, verbose=0)

        if rows is not None:  # the rule returns a block rule; the statistic the (S, n, d) tensor
            statistic.__signature__ = signature.replace(  # type: ignore[attr-defined]
                return_annotation="torch.Tensor")
            statistic.__annotations__ = {**rule.__annotations__, "return": "torch.Tensor"}
        statistic.statistic_parameters = _parameters_of(rule)  # type: ignore[attr-defined]
        statistic.per_draw = per_draw  # type: ignore[attr-defined]
        statistic.row_batching = rows  # type: ignore[attr-defined]
        statistic.functional = functional  # type: ignore[attr-defined]
        return statistic

    return decorate
