"""Input checks shared by the infotheory estimators (validated once, at the boundary)."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = [
    "check_base",
    "check_continuous",
    "check_k",
    "check_labels",
    "check_same_length",
    "convert_base",
]


def check_continuous(x, name: str, min_samples: int = 2) -> np.ndarray:
    """Return ``x`` as a float64 array of shape (n, d); refuse NaN/inf and ragged input.

    A 1-D input of length n is read as n samples of one variable.
    """
    if isinstance(x, pd.DataFrame | pd.Series):
        x = x.to_numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a numeric array-like of shape (n,) or (n, d); "
            f"received {type(x).__name__} that cannot be converted to float ({exc})"
        ) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n,) or (n, d); received shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column; received shape {arr.shape}")
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} must hold at least {min_samples} samples; received {arr.shape[0]}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; expected finite values only")
    return arr


def check_labels(x, name: str) -> np.ndarray:
    """Return label array ``x`` (any dtype) as shape (n,) or (n, d); refuse NaN/None."""
    if isinstance(x, pd.DataFrame | pd.Series):
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of labels of shape (n,) or (n, d); "
                         f"received a scalar {x!r}")
    if arr.ndim > 2:
        raise ValueError(f"{name} must have shape (n,) or (n, d); received shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample; received 0")
    if arr.dtype.kind == "f" or arr.dtype.kind == "c":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf; expected finite labels only")
    elif arr.dtype.kind == "O":
        if np.any(pd.isna(arr)):
            raise ValueError(f"{name} contains missing values (None/NaN); expected labels only")
    return arr


def check_same_length(**arrays) -> int:
    """Check that all arrays share their first dimension; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        raise ValueError(f"inputs must have the same number of samples; received {desc}")
    return next(iter(lengths.values()))


def check_k(k, n: int, name: str = "k") -> int:
    """Check the neighbour count ``k``: an integer with 1 <= k < n."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{name} must be an integer; received {type(k).__name__} {k!r}")
    if k < 1:
        raise ValueError(f"{name} must be >= 1; received {k}")
    if k >= n:
        raise ValueError(
            f"too few samples for {name}={k}: need more than {k} samples, received {n}"
        )
    return int(k)


def check_base(base) -> float:
    """Check a logarithm base (None or e means nats); return log(base)."""
    if base is None:
        return 1.0
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base must be a positive number other than 1 or None; "
                        f"received {type(base).__name__} {base!r}")
    if not base > 0 or base == 1 or not np.isfinite(base):
        raise ValueError(f"base must be a positive number other than 1 or None; received {base}")
    return float(np.log(base))


def convert_base(value_nats: float, base) -> float:
    """Convert a value in nats to the unit of ``base`` (bits for 2)."""
    return float(value_nats) / check_base(base)
