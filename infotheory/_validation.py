"""The one validation layer of ``infotheory``: every public boundary checks its input here,
once, and the inside trusts it.

Errors name the argument and the value received, in one wording: ``"<name> must be <what>;
got <value>"``. The hyper-parameter checks (``check_int``, ``check_float``, ``check_choice``,
``check_verbose``, :class:`~probconstraints._validation.InvalidParameterError`) are the
distribution's one dialect in :mod:`probconstraints._validation`; this module holds the data
checks of ``infotheory`` and the hyper-parameters only it has (:func:`check_n_jobs`,
:func:`check_k`, :func:`check_base`).
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Sized

import numpy as np
import pandas as pd

from probconstraints._validation import InvalidParameterError, check_int

__all__ = [
    "as_array",
    "check_base",
    "check_continuous",
    "check_discrete_labels",
    "check_k",
    "check_labels",
    "check_n_jobs",
    "check_same_length",
    "convert_base",
    "finite_scale",
]

def _column(s: pd.Series, name: str, col: Hashable | None) -> np.ndarray:
    """One pandas column as numpy: numbers (nullable ones included) as numbers, categories and
    text as object labels; missing values (pd.NA, NaN, None) refused, naming the column."""
    where = name if col is None else f"{name} column {col!r}"
    if s.isna().any():
        raise ValueError(f"{where} contains {int(s.isna().sum())} missing values (pd.NA, NaN "
                         f"or None); got dtype {s.dtype}. Drop or impute them first")
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) \
            or pd.api.types.is_object_dtype(dtype):
        return s.to_numpy(dtype=object)
    if pd.api.types.is_bool_dtype(dtype):
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(dtype):
        return s.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(dtype):
        return s.to_numpy(dtype=np.float64)
    raise TypeError(f"{where} must hold numbers or labels (convert it first, e.g. to numbers or "
                    f"strings); got dtype {dtype}")


def as_array(x: object, name: str) -> np.ndarray:
    """``x`` as a numpy array; pandas objects column by column (see :func:`_column`).

    A DataFrame whose columns are all numeric becomes a numeric array; if any column holds
    labels (text, category, objects) the result is an object array of joint labels.
    """
    if isinstance(x, pd.Series):
        return _column(x, name, None)
    if isinstance(x, pd.DataFrame):
        if x.shape[1] == 0:
            raise ValueError(f"{name} must have at least one column; got shape {x.shape}")
        cols = [_column(x.iloc[:, j], name, c) for j, c in enumerate(x.columns)]
        if any(c.dtype == object for c in cols):
            return np.column_stack([c.astype(object) for c in cols])
        return np.column_stack(cols)
    try:
        return np.asarray(x)
    except ValueError as exc:      # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of shape (n,) or (n, d); got a "
                         f"ragged {type(x).__name__} ({exc})") from None


def check_discrete_labels(arr: np.ndarray, name: str, argument: str = "discrete") -> np.ndarray:
    """Refuse continuous floats where labels are expected.

    A float array with non-integer values, more than half of them distinct, is a sample of a
    continuous variable: a discrete estimator would treat every value as its own label (MI of
    independent data = the entropy of the sample). Integer-valued floats (0.0, 1.0, ...) and
    repeated values pass as labels.
    """
    if arr.dtype.kind != "f" or arr.size == 0:
        return arr
    if np.all(arr == np.round(arr)):
        return arr
    n = arr.shape[0]
    distinct = len(np.unique(arr, axis=0)) if arr.ndim == 2 else len(np.unique(arr))
    if distinct > n / 2:
        raise ValueError(
            f"{name} holds continuous floats ({distinct} distinct non-integer values in {n} "
            f"samples), but a discrete estimator was asked for ({argument}): every value would "
            f"be its own label. Use a k-NN method (method='ksg' or 'auto' with discrete=False; "
            f"'mixed' for one discrete and one continuous variable), or bin the values first "
            f"(e.g. np.digitize); if the floats really are labels, pass them as ints or strings")
    return arr


def finite_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide each column by its largest |value| (exact up to rounding, never overflows).

    Returns the scaled array and the per-column scales; sums of squares of the result cannot
    overflow or underflow, whatever the magnitude of the data (1e-300 or 1e300).
    """
    scale = np.max(np.abs(X), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return X / scale, scale


def check_n_jobs(n_jobs: object, name: str = "n_jobs") -> int:
    """scikit-learn's convention: None means 1, -1 all cores, -2 all but one; 0 is refused."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise InvalidParameterError(f"{name} must be None or a non-zero integer (-1 for all "
                                    f"cores); got {n_jobs!r}")
    from joblib import effective_n_jobs

    return int(effective_n_jobs(int(n_jobs)))


def check_continuous(x: object, name: str, min_samples: int = 2) -> np.ndarray:
    """Return ``x`` as a float64 array of shape (n, d); refuse NaN/inf and ragged input.

    A 1-D input of length n is read as n samples of one variable.
    """
    raw = as_array(x, name)
    text = raw.dtype.kind in "US" or (
        raw.dtype.kind == "O" and any(isinstance(v, str | bytes) for v in raw.ravel()))
    if text:
        raise TypeError(
            f"{name} must be numbers for a continuous estimator; got text labels "
            f"(dtype {raw.dtype}, e.g. {raw.ravel()[:1].tolist()}). For labels use a discrete "
            f"method (discrete=True) or method='mixed'")
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a numeric array-like of shape (n,) or (n, d); "
            f"got {type(x).__name__} that cannot be converted to float ({exc})"
        ) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n,) or (n, d); got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column; got shape {arr.shape}")
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} must hold at least {min_samples} samples; got {arr.shape[0]}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; expected finite values only")
    return arr


def check_labels(x: object, name: str) -> np.ndarray:
    """Return label array ``x`` (any dtype) as shape (n,) or (n, d); refuse NaN/None."""
    arr = as_array(x, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of labels of shape (n,) or (n, d); "
                         f"got a scalar {x!r}")
    if arr.ndim > 2:
        raise ValueError(f"{name} must have shape (n,) or (n, d); got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample; got 0")
    if arr.dtype.kind == "f" or arr.dtype.kind == "c":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf; expected finite labels only")
    elif arr.dtype.kind == "O":
        if np.any(pd.isna(arr)):
            raise ValueError(f"{name} contains missing values (None/NaN); expected labels only")
    return arr


def check_same_length(**arrays: Sized) -> int:
    """Check that all arrays share their first dimension; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        raise ValueError(f"inputs must have the same number of samples; got {desc}")
    return next(iter(lengths.values()))


def check_k(k: object, n: int, name: str = "k") -> int:
    """Check the neighbour count ``k``: an integer with 1 <= k < n."""
    value = check_int(k, name, 1)
    if value >= n:
        raise ValueError(
            f"too few samples for {name}={k}: need more than {k} samples, got {n}"
        )
    return value


def check_base(base: object) -> float:
    """Check a logarithm base (None or e means nats); return log(base)."""
    if base is None:
        return 1.0
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base must be a positive number other than 1 or None; "
                        f"got {type(base).__name__} {base!r}")
    # as a float: np.log of a Fraction fails, and of a float32 loses precision
    value = float(base)
    if not value > 0 or value == 1 or not np.isfinite(value):
        raise ValueError(f"base must be a positive number other than 1 or None; got {base}")
    return float(np.log(value))


def convert_base(value_nats: float, base: object) -> float:
    """Convert a value in nats to the unit of ``base`` (bits for 2)."""
    return float(value_nats) / check_base(base)
