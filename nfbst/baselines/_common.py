"""Input checks and the rank-safe least squares shared by the linear and resampling tests."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.validation import check_X_y

from .._validation import check_frame, check_target

F64 = NDArray[np.float64]


def _check(X: Any, y: ArrayLike, feature_names: Sequence[object] | None = None,
           min_samples: int = 3) -> tuple[F64, F64, list[str]]:
    if feature_names is None and hasattr(X, "columns"):
        feature_names = [str(c) for c in X.columns]
    X = check_frame(X, "X")
    if hasattr(X, "dtype") and np.asarray(X).dtype.kind in "USO":
        raise TypeError(f"X must hold numbers, got dtype {np.asarray(X).dtype}")
    yc = check_target(y)
    if yc.dtype.kind not in "biuf":
        try:
            yc = yc.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"y must be numeric, got dtype {yc.dtype}") from None
    Xa, ya = check_X_y(X, yc, dtype=np.float64, y_numeric=True, ensure_all_finite=True)
    _check_magnitude(Xa, "X")
    _check_magnitude(ya, "y")
    if Xa.shape[0] < min_samples:
        raise ValueError(f"X must have at least {min_samples} rows, got {Xa.shape[0]}")
    if feature_names is None:
        feature_names = [f"x{j}" for j in range(Xa.shape[1])]
    names = list(map(str, feature_names))
    if len(names) != Xa.shape[1]:
        raise ValueError(
            f"feature_names must have {Xa.shape[1]} entries, got {len(names)}")
    return Xa, ya, names


def _check_magnitude(a: NDArray[Any], name: str) -> None:
    """Refuse values whose squares overflow float64 (the normal equations would be inf)."""
    big = float(np.max(np.abs(a))) if a.size else 0.0
    if big > 1e150:
        raise ValueError(f"{name} holds values up to {big:.3g}; squares above float64's range "
                         "would make every statistic meaningless: rescale the input")


def _warn_inestimable(names: Sequence[str], idx: Sequence[int] | NDArray[np.intp], why: str
                      ) -> None:
    if len(idx):
        warnings.warn(
            f"coefficient(s) of {[names[j] for j in idx]} cannot be estimated ({why}): their "
            "statistic and p-value are NaN", UserWarning, stacklevel=3)


def _design(X: F64, fit_intercept: bool) -> F64:
    return np.column_stack([np.ones(len(X)), X]) if fit_intercept else X


@overload
def _ols(A: F64, y: F64, details: Literal[False] = ...) -> tuple[F64, float, F64]: ...


@overload
def _ols(A: F64, y: F64, details: Literal[True]
         ) -> tuple[F64, float, F64, int, NDArray[np.bool_]]: ...


def _ols(A: F64, y: F64, details: bool = False
         ) -> tuple[F64, float, F64] | tuple[F64, float, F64, int, NDArray[np.bool_]]:
    """Least-squares coefficients, residual sum of squares and (AᵀA)⁺ (rank-safe).

    Columns are scaled to unit norm first so that the rank cut-off is scale-free; the SVD
    cut-off is numpy's ``matrix_rank`` default (σ_max · max(n, p) · eps). With
    ``details=True`` also the rank and a mask of the coefficients that are not identified
    (their unit vector has a component in the null space of A: a constant column beside the
    intercept, duplicated or collinear columns).
    """
    norm = np.linalg.norm(A, axis=0)
    norm = np.where(norm > 0, norm, 1.0)
    As = A / norm
    U, sv, Vt = np.linalg.svd(As, full_matrices=False)
    tol = sv.max(initial=0.0) * max(As.shape) * np.finfo(float).eps
    keep = sv > tol
    V = Vt[keep].T
    coef = (V @ ((U[:, keep].T @ y) / sv[keep])) / norm
    G_inv = ((V / sv[keep] ** 2) @ V.T) / np.outer(norm, norm)
    resid = y - A @ coef
    rss = float(resid @ resid)
    if not details:
        return coef, rss, G_inv
    null = Vt[~keep]  # (p - rank, p) basis of the null space of As
    inestimable = (np.abs(null) > 1e-8).any(0) if null.size else np.zeros(A.shape[1], bool)
    return coef, rss, G_inv, int(keep.sum()), inestimable
