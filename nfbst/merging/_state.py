"""Validation and bookkeeping shared by the merging functions (state dicts of tensors).

A *state dict* here is a ``dict[str, Tensor]`` such as ``module.state_dict()``. Every merging
function checks its inputs with :func:`check_experts`, chooses the parameters it merges with
:func:`select_names` (shell-style include/exclude patterns) and never modifies its inputs.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import cast, overload

import torch

#: A state dict: parameter name → tensor (as ``module.state_dict()``).
StateDict = dict[str, torch.Tensor]
#: A state dict as the merging functions accept it (any mapping of names to tensors).
StateLike = Mapping[str, torch.Tensor]
#: Include/exclude patterns of :func:`select_names`.
Patterns = str | Sequence[str] | None


def check_state_dict(state: object, name: str) -> StateDict:
    """Return ``state`` as a plain dict after checking it maps str to finite tensors.

    Parameters
    ----------
    state : Mapping[str, Tensor]
    name : str
        How the argument is called in error messages (e.g. ``"experts[1]"``).

    Examples
    --------
    >>> import torch
    >>> sorted(check_state_dict({"w": torch.ones(2)}, "base"))
    ['w']
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"{name} must be a dict[str, Tensor], got {type(state).__name__}")
    if len(state) == 0:
        raise ValueError(f"{name} must hold at least one parameter, got an empty dict")
    out: StateDict = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"{name}: parameter names must be str, got {key!r}")
        if not torch.is_tensor(value):
            raise TypeError(
                f"{name}[{key!r}] must be a torch.Tensor, got {type(value).__name__}"
            )
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name}[{key!r}] contains NaN or inf")
        out[key] = value
    return out


def check_same_layout(reference: Mapping[str, torch.Tensor], other: Mapping[str, torch.Tensor],
                      ref_name: str, other_name: str) -> None:
    """Raise ``ValueError`` naming the parameter if keys or shapes of two state dicts differ.

    Examples
    --------
    >>> import torch
    >>> check_same_layout({"w": torch.ones(2)}, {"w": torch.ones(3)}, "base", "experts[0]")
    Traceback (most recent call last):
    ...
    ValueError: parameter 'w': experts[0] has shape (3,), expected (2,) as in base
    """
    missing = [k for k in reference if k not in other]
    extra = [k for k in other if k not in reference]
    if missing:
        raise ValueError(
            f"{other_name} lacks parameter(s) {missing} present in {ref_name}"
        )
    if extra:
        raise ValueError(f"{other_name} has parameter(s) {extra} absent from {ref_name}")
    for key, ref in reference.items():
        if tuple(other[key].shape) != tuple(ref.shape):
            raise ValueError(
                f"parameter {key!r}: {other_name} has shape {tuple(other[key].shape)}, "
                f"expected {tuple(ref.shape)} as in {ref_name}"
            )


@overload
def check_experts(experts: object, base: None = None, name: str = "experts"
                  ) -> tuple[None, list[StateDict]]: ...


@overload
def check_experts(experts: object, base: Mapping[str, torch.Tensor], name: str = "experts"
                  ) -> tuple[StateDict, list[StateDict]]: ...


def check_experts(experts: object, base: object = None, name: str = "experts"
                  ) -> tuple[StateDict | None, list[StateDict]]:
    """Validate a non-empty sequence of state dicts (and a base) sharing keys and shapes.

    Returns ``(base, experts)`` as plain dicts; ``base`` is ``None`` when not given.

    Examples
    --------
    >>> import torch
    >>> b, e = check_experts([{"w": torch.ones(2)}], base={"w": torch.zeros(2)})
    >>> len(e)
    1
    """
    if isinstance(experts, Mapping) or not isinstance(experts, Sequence) or len(experts) == 0:
        raise TypeError(
            f"{name} must be a non-empty list of dict[str, Tensor], got "
            f"{type(experts).__name__}"
        )
    checked = [check_state_dict(e, f"{name}[{i}]") for i, e in enumerate(experts)]
    base_dict = None if base is None else check_state_dict(base, "base")
    if base_dict is not None:
        ref, ref_name = base_dict, "base"
    else:
        ref, ref_name = checked[0], f"{name}[0]"
    for i, e in enumerate(checked):
        check_same_layout(ref, e, ref_name, f"{name}[{i}]")
    return base_dict, checked


def _patterns(patterns: object, name: str) -> list[str] | None:
    if patterns is None:
        return None
    if isinstance(patterns, str):
        return [patterns]
    if isinstance(patterns, Sequence) and all(isinstance(p, str) for p in patterns):
        return list(patterns)
    raise TypeError(f"{name} must be None, a str or a list of str, got {patterns!r}")


def select_names(state: Mapping[str, torch.Tensor], include: Patterns = None,
                 exclude: Patterns = None) -> list[str]:
    """Names of the floating-point parameters that match ``include`` and not ``exclude``.

    Patterns are shell-style (:func:`fnmatch.fnmatchcase`): ``"*.weight"``, ``"0.*"``.
    ``include=None`` selects every floating-point parameter; integer buffers (e.g. a batch
    counter) are never merged.

    Examples
    --------
    >>> import torch
    >>> sd = {"0.weight": torch.ones(2, 2), "0.bias": torch.ones(2), "n": torch.tensor(3)}
    >>> select_names(sd, exclude="*.bias")
    ['0.weight']
    """
    inc = _patterns(include, "include")
    exc = _patterns(exclude, "exclude") or []
    names: list[str] = []
    for key, value in state.items():
        if not value.is_floating_point():
            continue
        if inc is not None and not any(fnmatch.fnmatchcase(key, p) for p in inc):
            continue
        if any(fnmatch.fnmatchcase(key, p) for p in exc):
            continue
        names.append(key)
    if inc is not None and not names:
        raise ValueError(
            f"include={include!r} matched no floating-point parameter; available: "
            f"{sorted(state)}"
        )
    return names


@overload
def check_scaling(scaling: object, n: None = None, name: str = "scaling") -> float: ...


@overload
def check_scaling(scaling: object, n: int | None, name: str = "scaling"
                  ) -> float | list[float]: ...


def check_scaling(scaling: object, n: int | None = None, name: str = "scaling"
                  ) -> float | list[float]:
    """A finite float, or (when ``n`` is given) optionally a sequence of ``n`` finite floats.

    Examples
    --------
    >>> check_scaling(0.5)
    0.5
    >>> check_scaling([1, 2], n=2)
    [1.0, 2.0]
    """
    if isinstance(scaling, bool):
        raise TypeError(f"{name} must be a float, got {scaling!r}")
    if isinstance(scaling, (int, float)):
        if not math.isfinite(scaling):
            raise ValueError(f"{name} must be finite, got {scaling!r}")
        return float(scaling)
    if n is not None and isinstance(scaling, Sequence):
        if len(scaling) != n:
            raise ValueError(f"{name} must have one value per expert ({n}), got {len(scaling)}")
        return [check_scaling(s, None, name) for s in scaling]
    what = "a float" if n is None else f"a float or a sequence of {n} floats"
    raise TypeError(f"{name} must be {what}, got {type(scaling).__name__}")


def check_fraction(value: object, name: str, low_open: bool = False,
                   high_open: bool = False) -> float:
    """A float in [0, 1] (ends optionally open), else ``ValueError`` naming the argument.

    Examples
    --------
    >>> check_fraction(0.2, "density")
    0.2
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float in [0, 1], got {value!r}")
    fraction = float(value)
    lo_ok = fraction > 0 if low_open else fraction >= 0
    hi_ok = fraction < 1 if high_open else fraction <= 1
    if not (lo_ok and hi_ok):
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lo}0, 1{hi}, got {fraction!r}")
    return fraction


def assemble(template: Mapping[str, torch.Tensor], merged: Mapping[str, torch.Tensor],
             fallback: Mapping[str, torch.Tensor] | None = None) -> StateDict:
    """Output state dict in ``template``'s key order: merged tensors, else a copy of fallback.

    ``fallback`` (a state dict) supplies the parameters that were not merged; it defaults to
    ``template``. Merged tensors are cast to the template's dtype.
    """
    fallback = template if fallback is None else fallback
    out: StateDict = {}
    for key, ref in template.items():
        if key in merged:
            out[key] = merged[key].to(dtype=ref.dtype).clone()
        else:
            out[key] = fallback[key].detach().clone()
    return out


def tensor_sum(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """``sum(terms)`` (from 0, as the builtin) of at least one tensor: a tensor."""
    return cast(torch.Tensor, sum(terms))
