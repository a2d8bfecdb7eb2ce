"""The validation layer of ``nfbst``: every public boundary (estimators, functions, CLI, ``load``)
checks its input here, once, and the inside trusts it.

Errors name the argument and the value received, in one wording: ``"<name> must be <what>, got
<value>"`` (ValueError for a bad value, TypeError for a bad type).

* :func:`check_frame` — pandas input: numeric columns (also the nullable ``Int64``/``Float64``/
  ``boolean`` extension dtypes) become float64; ``pd.NA`` is refused naming the column; text
  (pandas 3's default ``str`` dtype, ``object``, ``category``) and other non-numeric columns
  are a ``TypeError`` naming the columns.
* :func:`validate_estimator_data` — scikit-learn's ``validate_data`` (``n_features_in_``,
  ``feature_names_in_`` and the column-name/order check at predict time) after
  :func:`check_frame`.
* :func:`check_scale_range` — the network and its draws compute in float32 in the user's units
  (the standardisation is folded into the weights), so a column whose scale is far from 1
  (×1e200) would overflow or underflow to 0 there and zero every attribution. Such columns
  are refused (not silently rescaled: the attributions are per unit of the user's column, and a
  hidden rescaling would change what they mean); rescale them first.
* :func:`check_int`, :func:`check_float`, :func:`check_choice`, :func:`check_options` —
  hyper-parameters and keyword options.
* :func:`read_json`, :func:`load_tensors`, :func:`require_keys` — saved folders: every error
  names the file and what is wrong.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeGuard, TypeVar, cast, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, validate_data

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from sklearn.base import BaseEstimator

    from probconstraints._random import RandomStateLike

__all__ = [
    "InvalidParameterError",
    "LoadError",
    "check_frame",
    "check_features",
    "check_features_targets",
    "check_classification_target",
    "check_float32_range",
    "check_target",
    "check_scale_range",
    "validate_estimator_data",
    "check_int",
    "check_float",
    "check_choice",
    "check_options",
    "local_random_state",
    "read_json",
    "load_tensors",
    "require_keys",
]

# The network and its draws are float32 in the user's units: a column scale outside this range
# would put the folded weights (∝ 1/scale) or the attributions (∝ scale) near float32's limits
# (1.2e-38 … 3.4e38), and an input beyond it is infinite once cast.
SCALE_RANGE = (1e-12, 1e12)
FLOAT32_MAX = float(np.finfo(np.float32).max)

_T = TypeVar("_T")


# ------------------------------------------------------------------------ pandas input
def _is_frame(X: object) -> TypeGuard[pd.DataFrame]:
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def check_frame(X: ArrayLike, name: str = "X") -> ArrayLike:
    """A DataFrame with only float64 columns (names kept), or ``X`` unchanged if not a frame.

    Nullable ``Int64``/``Float64``/``boolean`` columns are converted; ``pd.NA``/NaN in them is
    refused naming the column; non-numeric columns (text, ``category``, dates) are a
    ``TypeError`` naming them.

    Examples
    --------
    >>> import pandas as pd
    >>> check_frame(pd.DataFrame({"a": pd.array([1, 2], dtype="Int64")})).dtypes.tolist()
    [dtype('float64')]
    >>> check_frame(pd.DataFrame({"a": [1.0, 2.0], "b": ["u", "v"]}))
    Traceback (most recent call last):
    ...
    TypeError: X must hold numbers; non-numeric column(s) ['b'] (dtype str); encode them ...
    """
    if not _is_frame(X):
        return X
    import pandas as pd

    bad, kinds = [], []
    for col, dtype in zip(X.columns, X.dtypes):
        if isinstance(dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            bad.append(str(col))
            kinds.append(str(dtype))
    if bad:
        raise TypeError(
            f"{name} must hold numbers; non-numeric column(s) {bad} "
            f"(dtype {', '.join(sorted(set(kinds)))}); encode them as numbers first"
        )
    missing = [str(c) for c in X.columns if X[c].isna().any()]
    if missing:
        raise ValueError(
            f"{name} has missing values (NaN or pd.NA) in column(s) {missing}; fill or drop them"
        )
    return pd.DataFrame(
        {c: X[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in X.columns},
        index=X.index,
    )


def _as_numeric_array(X: ArrayLike, name: str) -> np.ndarray:
    X = check_frame(X, name)
    arr = X.to_numpy() if _is_frame(X) else np.asarray(X)
    if arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "O":
            try:
                return check_array(arr, dtype=np.float64, ensure_all_finite=False,
                                   ensure_2d=False, input_name=name)
            except (TypeError, ValueError):
                pass
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def check_scale_range(X: ArrayLike, name: str = "X",
                      columns: Sequence[object] | None = None) -> None:
    """Refuse columns whose spread (or magnitude) is outside :data:`SCALE_RANGE`.

    Examples
    --------
    >>> check_scale_range(np.array([[1.0, 1e200], [2.0, 3e200]]))
    Traceback (most recent call last):
    ...
    ValueError: X column(s) [1] have a scale of 1e+200, outside [1e-12, 1e+12]: ...
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    big = np.max(np.abs(X), axis=0) if len(X) else np.zeros(X.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        safe = np.where(big > 0, big, 1.0)
        spread = (X / safe).std(0) * safe  # no overflow in the squares
    scale = np.where(spread > 0, spread, big)
    bad = np.flatnonzero((scale > SCALE_RANGE[1]) | ((scale > 0) & (scale < SCALE_RANGE[0])))
    if bad.size:
        labels = bad.tolist() if columns is None else [str(columns[j]) for j in bad.tolist()]
        worst = scale[bad[np.argmax(np.abs(np.log10(scale[bad])))]]
        raise ValueError(
            f"{name} column(s) {labels} have a scale of {worst:.3g}, outside "
            f"[{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}]: the network computes in float32 in "
            "your units, where attributions would overflow or vanish; rescale the column(s) "
            "first (e.g. to standard units)"
        )


def check_float32_range(X: np.ndarray, name: str) -> None:
    big = float(np.max(np.abs(X))) if X.size else 0.0
    if big > FLOAT32_MAX:
        raise ValueError(
            f"{name} holds values up to {big:.3g}, beyond float32's {FLOAT32_MAX:.3g} that the "
            "network computes in; rescale the input"
        )


def check_features(X: ArrayLike, n_features: int | None = None, name: str = "X",
                   float32: bool = True) -> NDArray[np.float64]:
    """``X`` as a finite float64 array of shape (n, d) (within float32's range unless
    ``float32=False``); errors name the problem."""
    arr = _as_numeric_array(X, name)
    arr = check_array(arr, dtype=np.float64, ensure_all_finite=True, input_name=name)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but the model was fitted with {n_features}"
        )
    if float32:
        check_float32_range(arr, name)
    return _writable(arr)


def check_classification_target(y: ArrayLike, name: str = "y") -> None:
    """Refuse a continuous target for classification (scikit-learn's check, our wording).

    Examples
    --------
    >>> check_classification_target(np.array([0.1, 0.7, 0.3]))
    Traceback (most recent call last):
    ...
    ValueError: Unknown label type: y is continuous (3 distinct non-integer values) ...
    """
    try:
        check_classification_targets(y)
    except ValueError:
        y = np.asarray(y)
        raise ValueError(
            f"Unknown label type: {name} is continuous ({len(np.unique(y))} distinct "
            "non-integer values) but task='classification' needs class labels; use "
            "regression, or integer/string labels"
        ) from None


def check_target(y: ArrayLike | None, name: str = "y") -> np.ndarray:
    """``y`` as a numpy array; a pandas Series of a nullable dtype is converted, ``pd.NA``
    refused, text and ``category`` labels kept as objects."""
    if y is None:
        raise ValueError(f"{name} is required: this estimator requires y to be passed, but the "
                         "target y is None")
    if _is_frame(y):
        if y.shape[1] != 1:
            raise ValueError(f"{name} must be 1-D of length n, got shape {y.shape}")
        y = y.iloc[:, 0]
    dtype = getattr(y, "dtype", None)
    if dtype is not None and hasattr(y, "isna") and not isinstance(dtype, np.dtype):
        import pandas as pd

        series = cast("pd.Series", y)  # a pandas Series of an extension dtype
        if series.isna().any():
            raise ValueError(f"{name} has missing values (NaN or pd.NA) in "
                             f"{int(series.isna().sum())} row(s); fill or drop them")
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
            return series.to_numpy(dtype=np.int64)
        if pd.api.types.is_float_dtype(dtype):
            return series.to_numpy(dtype=np.float64)
        return series.to_numpy(dtype=object)
    return np.asarray(y)


def check_features_targets(
    X: ArrayLike, y: ArrayLike | None, task: str = "regression", constant_ok: bool = False,
    columns: Sequence[str] | None = None,
) -> tuple[NDArray[np.float64], np.ndarray]:
    """Validate a training pair: ≥2 rows, matching lengths, finite, no constant column, no
    column outside float32's safe scale; a classification target must hold class labels."""
    y = check_target(y)
    if columns is None and _is_frame(X):
        columns = [str(c) for c in X.columns]
    X = check_features(X, float32=False)  # check_scale_range below names the columns
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D of length n, got shape {y.shape}")
    if len(y) != len(X):
        raise ValueError(f"X and y have different lengths: {len(X)} rows vs {len(y)} targets")
    if len(X) < 2:
        raise ValueError(f"need at least 2 samples, got {len(X)} sample (n_samples = 1)")
    if task == "regression":
        if y.dtype.kind not in "biuf":
            if y.dtype.kind == "O":
                try:
                    y = y.astype(np.float64)
                except (TypeError, ValueError):
                    raise TypeError(f"y must be numeric for regression, got dtype {y.dtype}; "
                                    "for class labels use classification") from None
            else:
                raise TypeError(f"y must be numeric for regression, got dtype {y.dtype}; "
                                "for class labels use classification")
        y = y.astype(np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity")
        check_scale_range(y, "y")
    else:
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity")
        if y.dtype.kind == "O" and any(v is None or v is np.nan for v in y):
            raise ValueError("y contains missing labels (None or NaN)")
        check_classification_target(y)
    if not constant_ok:
        constant = np.flatnonzero(np.ptp(X, 0) == 0)
        if constant.size:
            labels = (constant.tolist() if columns is None
                      else [columns[j] for j in constant.tolist()])
            raise ValueError(
                f"X has constant column(s) {labels}: a constant feature has no "
                "attribution to test; drop it"
            )
    check_scale_range(X, "X", columns)
    return X, y


@overload
def validate_estimator_data(estimator: BaseEstimator, X: ArrayLike, y: None = None, *,
                            reset: Literal[False]) -> NDArray[np.float64]: ...


@overload
def validate_estimator_data(estimator: BaseEstimator, X: ArrayLike, y: ArrayLike | None, *,
                            reset: Literal[True]) -> tuple[NDArray[np.float64], np.ndarray]: ...


def validate_estimator_data(
    estimator: BaseEstimator, X: ArrayLike, y: ArrayLike | None = None, *, reset: bool,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], np.ndarray]:
    """scikit-learn's ``validate_data`` after :func:`check_frame`: sets (``reset=True``) or
    checks ``n_features_in_`` and ``feature_names_in_`` (names and their order); returns
    float64 array(s). ``y`` (with ``reset=True``) goes through :func:`check_target`."""
    X = check_frame(X, "X")
    if not _is_frame(X) and not hasattr(X, "toarray"):
        kind = getattr(np.asarray(X), "dtype", np.dtype(float)).kind
        if kind in "USMm":
            raise TypeError(f"X must hold numbers, got dtype {np.asarray(X).dtype}")
    if not reset:
        return _writable(validate_data(estimator, X, reset=False, dtype=np.float64,
                                       ensure_all_finite=True))
    y = check_target(y)
    X_arr, y_arr = validate_data(estimator, X, y, reset=True, dtype=np.float64,
                                 ensure_all_finite=True, ensure_min_samples=2, y_numeric=False,
                                 multi_output=False)
    return _writable(X_arr), _writable(y_arr)


def _writable(a: NDArray[Any]) -> NDArray[Any]:
    """A writable array (pandas 3's copy-on-write hands out read-only views; torch warns)."""
    return a if a.flags.writeable else a.copy()


# --------------------------------------------------------------------- hyper-parameters
class InvalidParameterError(ValueError, TypeError):
    """A hyper-parameter of the wrong type or value (both a ValueError and a TypeError, as
    scikit-learn's own ``InvalidParameterError``)."""


@overload
def check_int(value: object, name: str, low: int | None = None, high: int | None = None,
              allow_none: Literal[False] = False) -> int: ...


@overload
def check_int(value: object, name: str, low: int | None = None, high: int | None = None,
              *, allow_none: bool) -> int | None: ...


def check_int(value: object, name: str, low: int | None = None, high: int | None = None,
              allow_none: bool = False) -> int | None:
    """An ``int`` (bools and non-integral numbers refused), within ``[low, high]``.

    Examples
    --------
    >>> check_int(3, "n_steps", 1)
    3
    >>> check_int(2.7, "n_posterior_samples", 1)
    Traceback (most recent call last):
    ...
    nfbst._validation.InvalidParameterError: n_posterior_samples must be an int >= 1, got 2.7
    """
    what = "an int" + (f" >= {low}" if low is not None else "") + (
        f" and <= {high}" if high is not None else "")
    if allow_none:
        what = "None or " + what
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name} must be {what}, got {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise InvalidParameterError(f"{name} must be {what}, got {value!r}")
    return v


@overload
def check_float(value: object, name: str, low: float | None = None, high: float | None = None,
                low_inclusive: bool = False, high_inclusive: bool = False,
                allow_none: Literal[False] = False) -> float: ...


@overload
def check_float(value: object, name: str, low: float | None = None, high: float | None = None,
                low_inclusive: bool = False, high_inclusive: bool = False,
                *, allow_none: bool) -> float | None: ...


def check_float(value: object, name: str, low: float | None = None, high: float | None = None,
                low_inclusive: bool = False, high_inclusive: bool = False,
                allow_none: bool = False) -> float | None:
    """A finite real number in the given interval (infinite and NaN refused).

    Examples
    --------
    >>> check_float(float("inf"), "prior_scale", 0)
    Traceback (most recent call last):
    ...
    nfbst._validation.InvalidParameterError: prior_scale must be a finite number > 0, got inf
    """
    parts = []
    if low is not None:
        parts.append((">= " if low_inclusive else "> ") + f"{low:g}")
    if high is not None:
        parts.append(("<= " if high_inclusive else "< ") + f"{high:g}")
    what = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if allow_none:
        what = "None or " + what
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be {what}, got {value!r}")
    v = float(value)
    ok = np.isfinite(v)
    if ok and low is not None:
        ok = v >= low if low_inclusive else v > low
    if ok and high is not None:
        ok = v <= high if high_inclusive else v < high
    if not ok:
        raise InvalidParameterError(f"{name} must be {what}, got {value!r}")
    return v


def check_choice(value: _T, name: str, choices: Collection[object]) -> _T:
    """``value`` if it is one of ``choices``.

    Examples
    --------
    >>> check_choice("local", "scope", ("instance", "local", "global"))
    'local'
    """
    try:
        ok = value in choices
    except TypeError:  # unhashable values
        ok = False
    if not ok:
        raise InvalidParameterError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_options(options: Mapping[str, Any] | None, allowed: Iterable[str],
                  where: str) -> dict[str, Any]:
    """Refuse keyword options that ``where`` does not know, naming them and the known ones.

    Examples
    --------
    >>> check_options({"scop": "global"}, ("scope", "rule"), "NFBST.test()")
    Traceback (most recent call last):
    ...
    TypeError: NFBST.test() got unknown option(s) ['scop']; known options are ['rule', 'scope']
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"{where} got unknown option(s) {unknown}; known options are "
                        f"{sorted(allowed)}")
    return options


def local_random_state(random_state: RandomStateLike) -> np.random.RandomState:
    """A RandomState from ``random_state``, as ``probconstraints._random.check_random_state``,
    except that None gives a new one seeded from fresh entropy instead of numpy's global
    singleton, so that nfbst never advances the caller's global numpy state.

    Examples
    --------
    >>> before = np.random.get_state()[1].copy()
    >>> _ = local_random_state(None).randint(10)
    >>> bool(np.array_equal(before, np.random.get_state()[1]))
    True
    """
    from probconstraints._random import check_random_state, seed_sequence

    if random_state is None:
        return np.random.RandomState(seed_sequence(None).generate_state(1)[0])
    return check_random_state(random_state)


# ------------------------------------------------------------------------ saved folders
class LoadError(ValueError):
    """A saved folder that cannot be read back; the message names the file and the problem."""


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in ``path``; a missing, unreadable or corrupt file is a LoadError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise LoadError(f"cannot load: {path} is missing (not a saved folder, or incomplete)")
    try:
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LoadError(f"cannot load: {path} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise LoadError(f"cannot load: {path} must hold a JSON object, got "
                        f"{type(meta).__name__}")
    return meta


def require_keys(meta: object, keys: Iterable[str], path: str | os.PathLike[str],
                 what: str = "key") -> None:
    """Raise a LoadError naming ``path`` when ``meta`` lacks any of ``keys``."""
    if not isinstance(meta, dict):
        raise LoadError(f"cannot load: {os.fspath(path)} holds {type(meta).__name__} where "
                        "an object was expected (tampered file?)")
    missing = [k for k in keys if k not in meta]
    if missing:
        raise LoadError(f"cannot load: {os.fspath(path)} lacks {what}(s) {missing} "
                        "(tampered or from another program)")


def load_tensors(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """``torch.load(path, weights_only=True)`` with errors that name the file."""
    import pickle

    import torch

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise LoadError(f"cannot load: {path} is missing (not a saved folder, or incomplete)")
    try:
        tensors = torch.load(path, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoadError(f"cannot load: {path} is not a tensor file written by save() "
                        f"({first})") from None
    if not isinstance(tensors, dict):
        raise LoadError(f"cannot load: {path} must hold a dict of tensors, got "
                        f"{type(tensors).__name__}")
    return tensors
