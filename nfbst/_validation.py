"""Input validation at the boundary of the nFBST estimators."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array


def check_features(X, n_features: int | None = None, name: str = "X") -> np.ndarray:
    """``X`` as a finite float64 array of shape (n, d); errors name the problem."""
    if hasattr(X, "dtypes") and any(not np.issubdtype(t, np.number) for t in X.dtypes):
        bad = [c for c, t in zip(X.columns, X.dtypes) if not np.issubdtype(t, np.number)]
        raise TypeError(f"{name} must be numeric; non-numeric columns: {bad}")
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    arr = check_array(arr, dtype=np.float64, ensure_all_finite=True, input_name=name)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but the model was fitted with {n_features}"
        )
    return arr


def check_features_targets(X, y, task: str = "regression"):
    """Validate a training pair: ≥2 rows, matching lengths, finite, no constant column."""
    X = check_features(X)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D of length n, got shape {y.shape}")
    if len(y) != len(X):
        raise ValueError(f"X and y have different lengths: {len(X)} rows vs {len(y)} targets")
    if len(X) < 2:
        raise ValueError(f"need at least 2 samples, got {len(X)}")
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise TypeError(f"y must be numeric for regression, got dtype {y.dtype}")
        y = y.astype(np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity")
    elif y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinity")
    constant = np.flatnonzero(X.std(0) == 0)
    if constant.size:
        raise ValueError(
            f"X has constant column(s) {constant.tolist()}: a constant feature has no "
            "attribution to test; drop it"
        )
    return X, y
