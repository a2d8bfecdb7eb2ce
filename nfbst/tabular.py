"""Tables as users pass them: every column type encoded into float columns for nFBST.

:class:`TableEncoder` turns a pandas DataFrame (``category``, ``bool``, ``string``/object,
integer and float columns) or a 2-d numeric array into the float matrix the network and the
conditional randomization test (CRT) work on, and remembers what each original column was:
its *kind* (one of :data:`COLUMN_KINDS`, which decides how the CRT resamples it), the encoded
columns it became (a one-hot block for a text column, tested as one group under the column's
own name) and its levels. The module imports no torch.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from probconstraints._validation import check_int

__all__ = ["COLUMN_KINDS", "TableEncoder"]

#: The kinds of an original column, from the most to the least constrained support.
COLUMN_KINDS = ("binary", "categorical", "discrete", "integer", "continuous")

_BOOL_STRINGS = {"true": True, "false": False}


def numeric_kind(values: ArrayLike, discrete_levels: int = 10) -> str:
    """The kind of a numeric column: ``"binary"`` (2 values), ``"discrete"`` (at most
    ``discrete_levels``), ``"integer"`` (integer-valued, more levels) or ``"continuous"``
    (also a column of one value, which cannot be tested).

    Examples
    --------
    >>> numeric_kind([0, 1, 1, 0]), numeric_kind([2, 3, 4, 5]), numeric_kind(range(40))
    ('binary', 'discrete', 'integer')
    """
    unique = np.unique(np.asarray(values, dtype=np.float64))
    if unique.size == 1:
        return "continuous"
    if unique.size == 2:
        return "binary"
    if unique.size <= discrete_levels:
        return "discrete"
    return "integer" if np.all(unique == np.round(unique)) else "continuous"


@dataclass(frozen=True)
class _Column:
    """One fitted original column: how to encode it and what it was."""

    name: str
    kind: str
    source: Literal["numeric", "bool", "bool-objects", "text"]
    levels: list[Any] | None  # text: all levels in encoded order; bool: [False, True]
    constant: bool = False  # one value (or level): not testable


def _quote(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _is_bool_like(values: pd.Series) -> bool:
    """Whether every value of an object/string column is a bool or "True"/"False"."""
    for v in values.unique():
        if isinstance(v, (bool, np.bool_)):
            continue
        if isinstance(v, str) and v.lower() in _BOOL_STRINGS:
            continue
        return False
    return True


def _as_bool(values: pd.Series) -> NDArray[np.float64]:
    """0/1 floats of a bool column or a column of bools stored as objects (False = 0)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64)
    return np.fromiter((float(_BOOL_STRINGS[v.lower()] if isinstance(v, str) else bool(v))
                        for v in values), dtype=np.float64, count=len(values))


class TableEncoder:
    """Encode a table (pandas DataFrame or 2-d array) into float columns, remembering each
    column's kind.

    Rules, per original column (the first that applies):

    - **bool** (``bool`` or nullable ``boolean`` dtype) and object/string columns whose
      values are all Python/numpy bools or the strings ``"True"``/``"False"`` (any case;
      booleans stored as objects): kind ``"binary"``, one column 0/1 (False = 0) named as the
      column, levels ``[False, True]``.
    - **text**: ``category``, ``string`` and other object columns. Levels: the categories
      that occur, in the dtype's order, for a ``category`` column; otherwise the distinct
      values sorted by their string form. Two levels: kind ``"binary"``, ONE column 0/1 named
      ``"col=<second level>"``. ``k >= 3`` levels: kind ``"categorical"``, ``k`` one-hot
      columns ``"col=<level>"`` (every level, no ``drop_first``: the CRT resamples the block
      jointly and the network standardises its inputs). More than ``max_levels`` levels is
      an error (an ID column, or levels to group).
    - **numeric** (int, uint and float dtypes, nullable ``Int64``/``Float64`` included): the
      values are kept. Kind by the number of distinct values: 2 -> ``"binary"`` (levels: the
      two values, sorted); at most ``discrete_levels`` -> ``"discrete"``; whole numbers with
      more levels -> ``"integer"``; otherwise ``"continuous"``. The default
      ``discrete_levels=10`` keeps designs with a handful of settings discrete (energy
      efficiency's orientation 2-5, glazing area 0-0.4, wall area with 7 values), where a
      model per level has tens of rows in a few hundred, and lets grids with more values
      (its relative compactness and surface area, 12 each) and ages or counts be modelled as
      continuous or integer, where a level holds too few rows to model on its own.
    - A column with one value (or one level) cannot be tested: it warns, naming the column.
      Numeric: kind ``"continuous"``; text: kind ``"categorical"`` with one column of ones.
    - Other dtypes (datetime, complex, ...) are refused, as are missing values (NaN, None,
      ``pd.NA``) and infinities in any column.

    A 2-d array (or nested list) must be numeric: its columns are named ``x0, x1, ...`` and
    their kinds are inferred as for numeric columns. Column names are converted with
    ``str()``; duplicates are refused.

    Parameters
    ----------
    max_levels : int >= 2, default=50
        Most levels a text column may have.
    discrete_levels : int >= 2, default=10
        Most distinct values of a numeric column of kind ``"discrete"``.

    Attributes
    ----------
    feature_names_in_ : list of str
        Original column names (``x0, x1, ...`` for arrays).
    kinds_ : list of str
        One kind per original column, from :data:`COLUMN_KINDS`.
    groups_ : dict str -> ndarray of intp
        Original column name -> indices of its encoded columns.
    feature_names_out_ : list of str
        Encoded column names (``"clinic=A"``, ``"age"``).
    levels_ : dict str -> list
        Binary and categorical columns: their levels in encoded order (the level coded 1 is
        the last for a binary column; numeric binary columns: the two values, kept as is).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"age": [31, 45, 52, 28], "smoker": [True, False, False, True],
    ...                   "clinic": pd.Categorical(["A", "B", "C", "A"]),
    ...                   "sex": ["f", "m", "m", "f"]})
    >>> enc = TableEncoder().fit(X)
    >>> enc.kinds_
    ['discrete', 'binary', 'categorical', 'binary']
    >>> enc.feature_names_out_
    ['age', 'smoker', 'clinic=A', 'clinic=B', 'clinic=C', 'sex=m']
    >>> enc.groups_["clinic"]
    array([2, 3, 4])
    >>> enc.transform(X[2:])
    array([[52.,  0.,  0.,  0.,  1.,  1.],
           [28.,  1.,  1.,  0.,  0.,  0.]])
    """

    feature_names_in_: list[str]
    kinds_: list[str]
    groups_: dict[str, NDArray[np.intp]]
    feature_names_out_: list[str]
    levels_: dict[str, list[Any]]

    def __init__(self, *, max_levels: int = 50, discrete_levels: int = 10) -> None:
        self.max_levels = check_int(max_levels, "max_levels", 2)
        self.discrete_levels = check_int(discrete_levels, "discrete_levels", 2)

    # ---- input -------------------------------------------------------------------------------

    @staticmethod
    def _frame(X: Any) -> tuple[pd.DataFrame, bool]:
        """``X`` as a DataFrame with str column names, and whether it was a frame."""
        if isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
            dup = sorted(n for n, count in Counter(names).items() if count > 1)
            if dup:
                raise ValueError(f"X has duplicate column names {_quote(dup)} (after str()); "
                                 "rename them")
            frame = X.copy(deep=False)
            frame.columns = pd.Index(names, dtype=object)
            return frame, True
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(f"X must be a 2-d array or a DataFrame; got {arr.ndim} dimension(s)"
                             f" (shape {arr.shape})")
        if arr.dtype.kind not in "biuf":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError("an array X must be numeric; pass a pandas DataFrame to use "
                                 "text or categorical columns") from None
        frame = pd.DataFrame(arr, columns=pd.Index([f"x{j}" for j in range(arr.shape[1])],
                                                   dtype=object))
        return frame, False

    @staticmethod
    def _check_missing(frame: pd.DataFrame) -> None:
        counts = frame.isna().sum()
        bad = counts[counts > 0]
        if len(bad):
            raise ValueError(
                f"X has missing values (NaN or pd.NA) in column(s) {[str(c) for c in bad.index]}"
                f" ({', '.join(str(int(c)) for c in bad)} cells); nFBST needs complete rows: "
                "fill or drop them")

    @staticmethod
    def _numeric(values: pd.Series, name: str) -> NDArray[np.float64]:
        try:
            v = values.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"column {name!r} must be numeric, as in the rows given to fit; "
                             f"got dtype {values.dtype}") from None
        n_inf = int(np.isinf(v).sum())
        if n_inf:
            raise ValueError(f"column {name!r} has {n_inf} infinite value(s)")
        return v

    # ---- fit ---------------------------------------------------------------------------------

    def _fit_column(self, values: pd.Series, name: str) -> _Column:
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            present = set(values.cat.codes.unique().tolist())
            return self._text_column(
                name, [c for i, c in enumerate(dtype.categories.tolist()) if i in present])
        if pd.api.types.is_bool_dtype(dtype):
            return self._bool_column(values, name, "bool")
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            if _is_bool_like(values):
                return self._bool_column(values, name, "bool-objects")
            return self._text_column(
                name, sorted(pd.unique(values.to_numpy(dtype=object)).tolist(), key=str))
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
            v = self._numeric(values, name)
            kind = numeric_kind(v, self.discrete_levels)
            if np.ptp(v) == 0:
                return _Column(name, kind, "numeric", None, constant=True)
            levels = np.unique(values.to_numpy()).tolist() if kind == "binary" else None
            return _Column(name, kind, "numeric", levels)
        raise ValueError(f"column {name!r} has dtype {dtype}, which nFBST cannot encode; "
                         "convert it to numbers, bools or categories first")

    def _bool_column(self, values: pd.Series, name: str,
                     source: Literal["bool", "bool-objects"]) -> _Column:
        return _Column(name, "binary", source, [False, True],
                       constant=bool(np.ptp(_as_bool(values)) == 0))

    def _text_column(self, name: str, levels: list[Any]) -> _Column:
        if len(levels) > self.max_levels:
            raise ValueError(
                f"column {name!r} has {len(levels)} levels, more than max_levels="
                f"{self.max_levels}: drop it if it is an identifier, or group its levels "
                "(or raise max_levels)")
        return _Column(name, "binary" if len(levels) == 2 else "categorical", "text", levels,
                       constant=len(levels) == 1)

    def fit(self, X: Any) -> TableEncoder:
        """Learn each column's kind, levels and encoded columns from ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n, d)

        Returns
        -------
        self
        """
        frame, _ = self._frame(X)
        if len(frame) == 0 or frame.shape[1] == 0:
            raise ValueError(f"X must have at least one row and one column; got shape "
                             f"{frame.shape}")
        self._check_missing(frame)
        columns = [self._fit_column(frame[name], name) for name in frame.columns]
        for c in columns:
            if c.constant:
                warnings.warn(f"column {c.name!r} has one value: it cannot be tested",
                              UserWarning, stacklevel=2)
        return self._set_columns(columns)

    def get_state(self) -> dict[str, Any]:
        """The fitted encoder as JSON-able data (:meth:`from_state` rebuilds it).

        Examples
        --------
        >>> import json, pandas as pd
        >>> enc = TableEncoder().fit(pd.DataFrame({"c": ["a", "b", "c"], "x": [1.0, 2.0, 4.5]}))
        >>> again = TableEncoder.from_state(json.loads(json.dumps(enc.get_state())))
        >>> again.feature_names_out_ == enc.feature_names_out_
        True
        """
        self._check_fitted()
        return {"max_levels": self.max_levels, "discrete_levels": self.discrete_levels,
                "columns": [{"name": c.name, "kind": c.kind, "source": c.source,
                             "levels": None if c.levels is None else [
                                 v.item() if isinstance(v, np.generic) else v
                                 for v in c.levels],
                             "constant": c.constant} for c in self._columns]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableEncoder:
        """The encoder :meth:`get_state` described (a ValueError when it is not one)."""
        try:
            self = cls(max_levels=state["max_levels"], discrete_levels=state["discrete_levels"])
            columns = [_Column(str(c["name"]), str(c["kind"]), c["source"], c["levels"],
                               bool(c["constant"])) for c in state["columns"]]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a TableEncoder state: {exc!r}") from None
        bad = [c.name for c in columns if c.kind not in COLUMN_KINDS or c.source not in (
            "numeric", "bool", "bool-objects", "text")]
        if bad or not columns:
            raise ValueError(f"not a TableEncoder state: columns {bad} have an unknown kind "
                             "or source" if bad else "not a TableEncoder state: no columns")
        return self._set_columns(columns)

    def _set_columns(self, columns: list[_Column]) -> TableEncoder:
        """The fitted attributes from the fitted columns."""
        self._columns = columns
        self.feature_names_in_ = [c.name for c in columns]
        self.kinds_ = [c.kind for c in columns]
        self.levels_ = {c.name: list(c.levels) for c in columns
                        if c.levels is not None and c.kind in ("binary", "categorical")}
        self.feature_names_out_, self.groups_ = [], {}
        for c in columns:
            if c.source == "text" and c.kind == "binary":
                out = [f"{c.name}={c.levels[1]}"]  # type: ignore[index]
            elif c.source == "text":
                out = [f"{c.name}={level}" for level in c.levels]  # type: ignore[union-attr]
            else:
                out = [c.name]
            start = len(self.feature_names_out_)
            self.groups_[c.name] = np.arange(start, start + len(out), dtype=np.intp)
            self.feature_names_out_.extend(out)
        return self

    # ---- transform ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "_columns"):
            raise ValueError("this TableEncoder is not fitted yet: call fit(X) first")

    def _encode_column(self, values: pd.Series, c: _Column) -> NDArray[np.float64]:
        """The encoded columns ``(n, width)`` of one original column."""
        if c.source == "numeric":
            return self._numeric(values, c.name)[:, None]
        if c.source in ("bool", "bool-objects"):
            if not (pd.api.types.is_bool_dtype(values.dtype) or _is_bool_like(values)):
                raise ValueError(f"column {c.name!r} held booleans in the rows given to fit; "
                                 f"got other values (dtype {values.dtype})")
            return _as_bool(values)[:, None]
        levels: list[Any] = c.levels  # type: ignore[assignment]
        codes = pd.Index(levels, dtype=object).get_indexer(values.to_numpy(dtype=object))
        if (codes < 0).any():
            unseen = sorted(pd.unique(values.to_numpy(dtype=object)[codes < 0]).tolist(),
                            key=str)
            raise ValueError(f"column {c.name!r} has level(s) {unseen} not seen in the rows "
                             "given to fit")
        if c.kind == "binary":
            return (codes == 1).astype(np.float64)[:, None]
        onehot = np.zeros((len(codes), len(levels)))
        onehot[np.arange(len(codes)), codes] = 1.0
        return onehot

    def transform(self, X: Any) -> NDArray[np.float64]:
        """Encode ``X`` with the columns, kinds and levels learned in :meth:`fit`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n, d)
            The columns given to :meth:`fit`, in the same order. An array's columns are taken
            by position.

        Returns
        -------
        ndarray of shape (n, len(feature_names_out_))
        """
        self._check_fitted()
        frame, is_frame = self._frame(X)
        names = self.feature_names_in_
        if is_frame:
            got = list(frame.columns)
            if got != names:
                missing = [n for n in names if n not in got]
                extra = [n for n in got if n not in names]
                if missing or extra:
                    raise ValueError(
                        f"X's columns differ from those given to fit: missing "
                        f"[{_quote(missing)}], extra [{_quote(extra)}]")
                raise ValueError(f"X's columns are in another order than in fit; expected "
                                 f"[{_quote(names)}]")
        else:
            if frame.shape[1] != len(names):
                raise ValueError(f"X has {frame.shape[1]} columns; fit saw {len(names)} "
                                 f"([{_quote(names)}])")
            frame.columns = pd.Index(names, dtype=object)
        self._check_missing(frame)
        blocks = [self._encode_column(frame[c.name], c) for c in self._columns]
        return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float64)

    def fit_transform(self, X: Any) -> NDArray[np.float64]:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(X).transform(X)

    # ---- what the columns were ---------------------------------------------------------------

    def encoded_kinds(self) -> list[str]:
        """One kind per group of :attr:`groups_`, in its order (the same list as
        :attr:`kinds_`)."""
        self._check_fitted()
        kind = dict(zip(self.feature_names_in_, self.kinds_))
        return [kind[name] for name in self.groups_]

    @property
    def is_identity(self) -> bool:
        """True when every column is numeric (or bool) and kept as is: one encoded column per
        original column, holding its values (bools as 0/1), so ``transform(X)`` equals
        ``np.asarray(X, dtype=float)``."""
        self._check_fitted()
        return all(c.source in ("numeric", "bool") for c in self._columns)
