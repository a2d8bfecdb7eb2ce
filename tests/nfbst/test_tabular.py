"""TableEncoder: every column type of a user's table into float columns, checked against
pandas' own encodings (``get_dummies``, ``to_numpy``) and against the rules stated in its
docstring."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nfbst.tabular import COLUMN_KINDS, TableEncoder
from probconstraints._validation import InvalidParameterError


def _mixed_frame() -> pd.DataFrame:
    """One column of each type a user passes (12 rows)."""
    return pd.DataFrame({
        "clinic": pd.Categorical(["B", "A", "C", "A", "B", "C"] * 2, categories=["C", "A", "B"]),
        "smoker": [True, False, True, True, False, False] * 2,
        "treated": np.array([True, "false", "TRUE", np.False_, "False", True] * 2, dtype=object),
        "sex": pd.array(["m", "f", "f", "m", "f", "m"] * 2, dtype="string"),
        "region": ["north", "south", "east", "east", "north", "south"] * 2,
        "visits": pd.array([0, 3, 1, 2, 5, 4] * 2, dtype="Int64"),
        "bmi": [22.5, 31.0, 27.2, 24.9, 29.3, 35.1, 20.4, 23.3, 26.0, 28.8, 33.7, 30.2],
    })


def test_one_hot_block_equals_get_dummies_column_for_column() -> None:
    rng = np.random.default_rng(0)
    clinic = rng.choice(["north", "south", "east", "west"], size=40)
    X = pd.DataFrame({"age": rng.normal(50, 10, 40), "clinic": clinic})
    enc = TableEncoder()
    Z = enc.fit_transform(X)
    dummies = pd.get_dummies(X["clinic"], prefix="clinic", prefix_sep="=", dtype=float)
    block = enc.groups_["clinic"]
    assert [enc.feature_names_out_[j] for j in block] == list(dummies.columns)
    np.testing.assert_array_equal(Z[:, block], dummies.to_numpy())
    np.testing.assert_array_equal(Z[:, enc.groups_["age"]][:, 0], X["age"].to_numpy())
    assert enc.kinds_ == ["continuous", "categorical"]


def test_category_dtype_keeps_category_order_as_get_dummies() -> None:
    X = pd.DataFrame({"grade": pd.Categorical(["lo", "hi", "mid", "hi", "lo"],
                                              categories=["lo", "mid", "hi"], ordered=True)})
    enc = TableEncoder()
    Z = enc.fit_transform(X)
    dummies = pd.get_dummies(X["grade"], prefix="grade", prefix_sep="=", dtype=float)
    assert enc.feature_names_out_ == list(dummies.columns) == ["grade=lo", "grade=mid",
                                                               "grade=hi"]
    np.testing.assert_array_equal(Z, dummies.to_numpy())
    assert enc.levels_["grade"] == ["lo", "mid", "hi"]


def test_unused_categories_are_not_encoded() -> None:
    X = pd.DataFrame({"c": pd.Categorical(["a", "b", "c", "a"], categories=["z", "a", "b", "c"])})
    enc = TableEncoder().fit(X)
    assert enc.levels_["c"] == ["a", "b", "c"]
    assert enc.feature_names_out_ == ["c=a", "c=b", "c=c"]


def test_two_level_text_column_is_one_column_of_the_second_level() -> None:
    X = pd.DataFrame({"sex": ["m", "f", "f", "m", "f"]})
    enc = TableEncoder()
    Z = enc.fit_transform(X)
    dummies = pd.get_dummies(X["sex"], prefix="sex", prefix_sep="=", drop_first=True,
                             dtype=float)
    assert enc.feature_names_out_ == list(dummies.columns) == ["sex=m"]
    np.testing.assert_array_equal(Z, dummies.to_numpy())
    assert enc.kinds_ == ["binary"]
    assert enc.levels_ == {"sex": ["f", "m"]}


def test_mixed_frame_gets_kinds_groups_names_and_levels() -> None:
    X = _mixed_frame()
    enc = TableEncoder()
    Z = enc.fit_transform(X)
    assert enc.feature_names_in_ == list(X.columns)
    assert enc.kinds_ == ["categorical", "binary", "binary", "binary", "categorical",
                          "discrete", "continuous"]
    assert set(enc.kinds_) <= set(COLUMN_KINDS)
    assert enc.encoded_kinds() == enc.kinds_
    assert enc.feature_names_out_ == [
        "clinic=C", "clinic=A", "clinic=B", "smoker", "treated", "sex=m",
        "region=east", "region=north", "region=south", "visits", "bmi"]
    assert {k: v.tolist() for k, v in enc.groups_.items()} == {
        "clinic": [0, 1, 2], "smoker": [3], "treated": [4], "sex": [5], "region": [6, 7, 8],
        "visits": [9], "bmi": [10]}
    assert all(v.dtype == np.intp for v in enc.groups_.values())
    assert enc.levels_ == {"clinic": ["C", "A", "B"], "smoker": [False, True],
                           "treated": [False, True], "sex": ["f", "m"],
                           "region": ["east", "north", "south"]}
    expected = np.column_stack([
        pd.get_dummies(X["clinic"], dtype=float).to_numpy(),
        X["smoker"].to_numpy(dtype=float),
        [1.0, 0.0, 1.0, 0.0, 0.0, 1.0] * 2,  # booleans stored as objects, False = 0
        (X["sex"] == "m").to_numpy(dtype=float),
        pd.get_dummies(X["region"], dtype=float).to_numpy(),
        X["visits"].to_numpy(dtype=float),
        X["bmi"].to_numpy(),
    ])
    np.testing.assert_array_equal(Z, expected)
    assert Z.dtype == np.float64 and Z.flags.c_contiguous
    assert not enc.is_identity


@pytest.mark.parametrize(("values", "kind"), [
    ([3.5, 7.0, 3.5, 7.0], "binary"),                           # energy's overall height
    ([2, 3, 4, 5, 2, 3], "discrete"),                           # energy's orientation
    ([0.0, 0.1, 0.25, 0.4, 0.1], "discrete"),                   # energy's glazing area
    (list(range(10)), "discrete"),                               # 10 levels: the default cut
    (list(range(11)), "integer"),                                # 11 whole numbers
    ([float(v) for v in range(20, 80)], "integer"),               # ages stored as floats
    ([0.62 + 0.03 * v for v in range(12)], "continuous"),        # relative compactness, 12
    ([1.0, 1.0, 1.0], "continuous"),                             # one value (warns)
])
def test_numeric_kind_follows_the_number_of_distinct_values(values: list[float],
                                                             kind: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        enc = TableEncoder().fit(pd.DataFrame({"v": values}))
    assert enc.kinds_ == [kind]
    np.testing.assert_array_equal(enc.transform(pd.DataFrame({"v": values}))[:, 0], values)


def test_discrete_levels_moves_the_discrete_cut() -> None:
    X = np.arange(12.0)[:, None]
    assert TableEncoder(discrete_levels=12).fit(X).kinds_ == ["discrete"]
    assert TableEncoder(discrete_levels=11).fit(X).kinds_ == ["integer"]


def test_numeric_binary_column_keeps_its_values_and_lists_them_as_levels() -> None:
    X = pd.DataFrame({"sex": [1, 2, 2, 1, 2]})  # diabetes' sex column
    enc = TableEncoder()
    np.testing.assert_array_equal(enc.fit_transform(X)[:, 0], [1, 2, 2, 1, 2])
    assert enc.kinds_ == ["binary"] and enc.levels_ == {"sex": [1, 2]}
    assert enc.feature_names_out_ == ["sex"] and enc.is_identity


def test_fit_transform_equals_transform_on_the_same_and_on_fewer_rows() -> None:
    X = _mixed_frame()
    enc = TableEncoder()
    Z = enc.fit_transform(X)
    np.testing.assert_array_equal(enc.transform(X), Z)
    rows = [4, 0, 2]
    np.testing.assert_array_equal(enc.transform(X.iloc[rows]), Z[rows])


def test_new_rows_as_plain_strings_encode_like_the_categorical_column() -> None:
    X = _mixed_frame()
    enc = TableEncoder().fit(X)
    plain = X.astype({"clinic": object, "sex": object, "smoker": object})
    np.testing.assert_array_equal(enc.transform(plain), enc.transform(X))


def test_numeric_arrays_are_kept_as_they_are() -> None:
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=30), rng.integers(0, 2, 30), rng.integers(0, 4, 30)])
    enc = TableEncoder()
    np.testing.assert_array_equal(enc.fit_transform(X), X)
    assert enc.is_identity
    assert enc.feature_names_in_ == enc.feature_names_out_ == ["x0", "x1", "x2"]
    assert enc.kinds_ == ["continuous", "binary", "discrete"]
    assert {k: v.tolist() for k, v in enc.groups_.items()} == {"x0": [0], "x1": [1],
                                                                "x2": [2]}
    np.testing.assert_array_equal(TableEncoder().fit_transform(X.tolist()), X)


def test_numeric_and_bool_frame_is_identity_and_equals_to_numpy() -> None:
    X = pd.DataFrame({"a": pd.array([1, 5, 3, 9], dtype="Int64"), "b": [True, False, True, True],
                      "c": pd.array([0.5, 1.5, 2.5, 3.5], dtype="Float64"), 7: [1, 2, 3, 4]})
    enc = TableEncoder()
    np.testing.assert_array_equal(enc.fit_transform(X), X.to_numpy(dtype=float))
    assert enc.is_identity and enc.feature_names_in_ == ["a", "b", "c", "7"]


def test_array_given_to_transform_is_read_by_position() -> None:
    X = pd.DataFrame({"u": [1.0, 2.0, 3.5], "v": [0.0, 1.0, 0.0]})
    enc = TableEncoder().fit(X)
    np.testing.assert_array_equal(enc.transform(X.to_numpy()), X.to_numpy())
    with pytest.raises(ValueError, match=r"X has 1 columns; fit saw 2 \(\['u', 'v'\]\)"):
        enc.transform(X.to_numpy()[:, :1])


# ---- errors and warnings -----------------------------------------------------------------------

def test_missing_values_are_refused_naming_the_columns_and_counts() -> None:
    X = pd.DataFrame({"age": [30.0, np.nan, 41.0, np.nan], "clinic": ["A", None, "B", "A"],
                      "n": pd.array([1, 2, pd.NA, 4], dtype="Int64"), "ok": [1, 2, 3, 4]})
    with pytest.raises(ValueError, match=r"\['age', 'clinic', 'n'\] \(2, 1, 1 cells\)"):
        TableEncoder().fit(X)
    enc = TableEncoder().fit(X.drop(columns=["age", "clinic", "n"]))
    with pytest.raises(ValueError,
                       match=r"missing values \(NaN or pd.NA\) in column\(s\) \['ok'\] \(1 cells"):
        enc.transform(pd.DataFrame({"ok": [1.0, np.nan]}))


def test_level_unseen_in_fit_is_refused_naming_column_and_level() -> None:
    enc = TableEncoder().fit(pd.DataFrame({"clinic": ["A", "B", "C"], "x": [1.0, 2.0, 3.0]}))
    new = pd.DataFrame({"clinic": ["A", "Z", "Y", "Z"], "x": [0.0, 9.0, 1e6, -4.0]})
    msg = "column 'clinic' has level(s) ['Y', 'Z'] not seen in the rows given to fit"
    with pytest.raises(ValueError, match=re.escape(msg)):
        enc.transform(new)
    # numeric columns take any value
    np.testing.assert_array_equal(enc.transform(new.iloc[:1].assign(x=1e6))[0], [1, 0, 0, 1e6])


def test_too_many_levels_is_refused_naming_column_and_count() -> None:
    X = pd.DataFrame({"patient_id": [f"p{i}" for i in range(60)], "y": np.arange(60.0)})
    with pytest.raises(ValueError, match=r"column 'patient_id' has 60 levels, more than "
                                         r"max_levels=50: drop it if it is an identifier"):
        TableEncoder().fit(X)
    assert TableEncoder(max_levels=60).fit(X).groups_["patient_id"].size == 60


def test_columns_must_match_fit_by_name_and_order() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"], "c": [0, 1, 0]})
    enc = TableEncoder().fit(X)
    with pytest.raises(ValueError, match=r"missing \['b'\], extra \['d'\]"):
        enc.transform(X.rename(columns={"b": "d"}))
    with pytest.raises(ValueError, match=r"missing \['c'\], extra \[\]"):
        enc.transform(X.drop(columns="c"))
    with pytest.raises(ValueError, match=r"another order than in fit; expected \['a', 'b', 'c'\]"):
        enc.transform(X[["b", "a", "c"]])


def test_duplicate_names_after_str_are_refused() -> None:
    X = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=pd.Index([1, "1"], dtype=object))
    with pytest.raises(ValueError, match=r"duplicate column names '1'"):
        TableEncoder().fit(X)


def test_one_valued_columns_warn_naming_the_column() -> None:
    X = pd.DataFrame({"site": ["A"] * 4, "flag": [True] * 4, "k": [2.0] * 4,
                      "x": [1.0, 2.0, 3.0, 4.0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = TableEncoder().fit(X)
    messages = [str(w.message) for w in caught]
    assert messages == [f"column {name!r} has one value: it cannot be tested"
                        for name in ("site", "flag", "k")]
    assert caught[0].filename == __file__  # points at the caller of fit
    assert enc.kinds_ == ["categorical", "binary", "continuous", "discrete"]
    np.testing.assert_array_equal(enc.transform(X)[:, 0], 1.0)


def test_constructor_arguments_are_validated() -> None:
    with pytest.raises(InvalidParameterError, match=r"max_levels must be an integer >= 2; got 1"):
        TableEncoder(max_levels=1)
    with pytest.raises(InvalidParameterError,
                       match=r"discrete_levels must be an integer >= 2; got 2.5"):
        TableEncoder(discrete_levels=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("X", "message"), [
    (np.array(["a", "b"]), r"2-d array or a DataFrame; got 1 dimension"),
    (np.array([["a", 1.0], ["b", 2.0]], dtype=object), r"an array X must be numeric"),
    (pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3)}),
     r"column 'when' has dtype datetime64"),
    (pd.DataFrame({"z": [1.0, np.inf, 2.0]}), r"column 'z' has 1 infinite value"),
    (pd.DataFrame(index=range(3)), r"at least one row and one column; got shape \(3, 0\)"),
])
def test_unusable_input_is_refused(X: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TableEncoder().fit(X)


def test_transform_checks_column_types_and_fitting() -> None:
    with pytest.raises(ValueError, match="not fitted yet"):
        TableEncoder().transform(np.zeros((2, 2)))
    enc = TableEncoder().fit(pd.DataFrame({"flag": [True, False], "v": [1.0, 2.0]}))
    with pytest.raises(ValueError, match=r"column 'flag' held booleans"):
        enc.transform(pd.DataFrame({"flag": ["yes", "no"], "v": [1.0, 2.0]}))
    with pytest.raises(ValueError, match=r"column 'v' must be numeric"):
        enc.transform(pd.DataFrame({"flag": [True, False], "v": ["a", "b"]}))


# ---- property ------------------------------------------------------------------------------------

_LEVELS = st.sampled_from(["a", "b", "c", "d", "e", "A", "10", "2"])


@st.composite
def _text_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 12))
    d = draw(st.integers(1, 4))
    return pd.DataFrame({
        f"t{j}": draw(st.lists(_LEVELS, min_size=n, max_size=n)) for j in range(d)
    } | {"num": draw(st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n))})


@settings(max_examples=60, deadline=None)
@given(_text_frames())
def test_every_categorical_row_sums_to_one_and_decodes_to_its_level(X: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one-valued columns
        enc = TableEncoder()
        Z = enc.fit_transform(X)
    assert Z.shape == (len(X), len(enc.feature_names_out_))
    for name, kind in zip(enc.feature_names_in_, enc.kinds_):
        if name == "num":
            continue
        block = Z[:, enc.groups_[name]]
        levels = enc.levels_[name]
        assert levels == sorted(set(X[name]))
        assert np.isin(block, (0.0, 1.0)).all()
        if kind == "categorical":
            np.testing.assert_array_equal(block.sum(axis=1), 1.0)
            decoded = [levels[i] for i in block.argmax(axis=1)]
        else:
            assert kind == "binary" and block.shape[1] == 1
            decoded = [levels[int(v)] for v in block[:, 0]]
        assert decoded == X[name].tolist()
