"""NFBST on a user's table: text, category and bool columns are encoded and tested by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nfbst import NFBST, BayesianMLP


def _table(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(50, 10, n),
        "clinic": pd.Categorical(rng.choice(["north", "south", "east"], n)),
        "smoker": rng.choice([True, False], n).astype(object),   # booleans stored as objects
        "note": rng.choice(["a", "b"], n),                        # text with two levels
    })
    y = 0.05 * (X["age"] - 50) + 2.0 * (X["clinic"] == "south") + rng.normal(0, 0.5, n)
    return X, y.to_numpy()


def _test(**params: object) -> NFBST:
    return NFBST(model=BayesianMLP(hidden=(10,), n_steps=300), n_posterior_samples=40,
                 n_randomizations=99, random_state=0, **params)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted() -> tuple[NFBST, pd.DataFrame, np.ndarray]:
    X, y = _table()
    with pytest.warns(UserWarning, match="posterior draws"):
        test = _test()
        test.fit(X, y).test()
    return test, X, y


def test_units_are_the_original_columns(fitted):
    test, X, _ = fitted
    assert test.n_features_in_ == 4
    assert list(test.feature_names_in_) == ["age", "clinic", "smoker", "note"]
    assert test.feature_names_ == ["age", "clinic=east", "clinic=north", "clinic=south",
                                   "smoker", "note=b"]
    with pytest.warns(UserWarning):
        res = test.test()
    assert res.feature_names == ["age", "clinic", "smoker", "note"]
    assert res.details["groups"]["clinic"] == [1, 2, 3]
    # the real effects (age, clinic) are found, the nulls are not at the floor
    assert res.p_value[0] == pytest.approx(0.01) and res.p_value[1] == pytest.approx(0.01)
    assert res.p_value[2:].min() > 0.01


def test_new_rows_are_encoded_like_the_fitted_ones(fitted):
    test, X, y = fitted
    Xn, yn = _table(120, seed=1)
    with pytest.warns(UserWarning):
        res = test.test(Xn, yn)
    assert res.p_value.shape == (4,)
    bad = Xn.assign(clinic=Xn["clinic"].astype(str).replace("east", "west"))
    with pytest.raises(ValueError, match="column 'clinic' has level.*'west'"):
        test.test(bad, yn)
    with pytest.raises(ValueError, match="age"):
        test.test(Xn.drop(columns="age"), yn)


def test_groups_may_name_an_encoded_column_block():
    X, y = _table(200)
    test = _test(groups={"who": ["age", "smoker"], "clinic": ["clinic"], "note": ["note"]},
                 calibration="none").fit(X, y)
    res = test.test()
    assert res.feature_names == ["who", "clinic", "note"]
    assert res.details["groups"] == {"who": [0, 4], "clinic": [1, 2, 3], "note": [5]}


def test_save_and_load_keep_the_encoder(fitted, tmp_path):
    test, X, y = fitted
    test.save(tmp_path / "t")
    again = NFBST.load(tmp_path / "t")
    assert again.n_features_in_ == 4
    with pytest.warns(UserWarning):
        a, b = test.test(X.iloc[:80], y[:80]), again.test(X.iloc[:80], y[:80])
    np.testing.assert_array_equal(a.evidence, b.evidence)
    np.testing.assert_array_equal(a.p_value, b.p_value)
