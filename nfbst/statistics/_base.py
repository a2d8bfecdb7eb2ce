"""The one place where a statistic chooses its path: batched MLP rule or per-draw fallback.

A statistic module writes its batched rule for a :class:`~nfbst.posterior.PosteriorDraws`
(stacked MLP weights) and decorates it with :func:`batched_statistic`, naming the per-draw
function used for every other draws object (anything with ``__len__`` and ``module(i)``,
e.g. a Bayesian CNN). The decorated function keeps the rule's name, signature and docstring;
its keyword parameters are recorded once (:func:`statistic_parameters`) so that callers such
as :class:`~nfbst.NFBST` know which options (``verbose``, ``random_state``) it takes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass


def is_batched_mlp(draws) -> bool:
    """True when ``draws`` is a :class:`~nfbst.posterior.PosteriorDraws` (stacked MLP)."""
    from ..posterior import PosteriorDraws

    return isinstance(draws, PosteriorDraws)


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


def _parameters_of(fn: Callable) -> StatisticParameters:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing is known
        return StatisticParameters(None)
    kinds = inspect.Parameter
    names = tuple(k for k, p in params.items()
                  if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)
                  and k not in ("draws", "X", "target"))
    return StatisticParameters(names, any(p.kind is kinds.VAR_KEYWORD for p in params.values()))


def statistic_parameters(fn: Callable) -> StatisticParameters:
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


def batched_statistic(per_draw: Callable | None = None):
    """Decorate the batched rule of a statistic; other draws go to ``per_draw``.

    Parameters
    ----------
    per_draw : callable, optional
        ``per_draw(draws, X, target=..., **options)`` for draws that are not a
        :class:`~nfbst.posterior.PosteriorDraws`; it receives every parameter of the rule
        (defaults filled in). ``None``: such draws are refused with a TypeError.

    Returns
    -------
    decorator
        The decorated function has the rule's name, signature and docstring, and records
        its parameters in ``statistic_parameters``.

    Examples
    --------
    >>> import torch
    >>> from nfbst.statistics._synthetic import random_draws
    >>> @batched_statistic()
    ... def output_sign(draws, X, target=None, verbose=0):
    ...     return torch.sign(draws.forward(X)).expand(len(draws), X.shape[0], X.shape[1])
    >>> output_sign(random_draws(2, 3), torch.ones(4, 3, dtype=torch.float64)).shape
    torch.Size([2, 4, 3])
    """

    def decorate(rule: Callable) -> Callable:
        signature = inspect.signature(rule)

        @functools.wraps(rule)
        def statistic(draws, X, *args, **kwargs):
            if is_batched_mlp(draws):
                return rule(draws, X, *args, **kwargs)
            if per_draw is None:
                raise TypeError(f"{rule.__name__} needs PosteriorDraws (stacked MLP draws), "
                                f"got {type(draws).__name__}")
            bound = signature.bind(draws, X, *args, **kwargs)
            bound.apply_defaults()
            options = dict(bound.arguments)
            del options["draws"], options["X"]
            return per_draw(draws, X, **options)

        statistic.statistic_parameters = _parameters_of(rule)
        statistic.per_draw = per_draw
        return statistic

    return decorate
