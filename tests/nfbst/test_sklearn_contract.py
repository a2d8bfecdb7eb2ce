"""The scikit-learn estimator contract of the nfbst estimators.

``check_estimator`` runs every scikit-learn check on ``BayesianMLPRegressor`` and
``BayesianMLPClassifier`` (tiny networks, a few VI steps). No check is expected to fail; the one
check scikit-learn itself skips here is ``check_array_api_input`` (it needs the environment
variable ``SCIPY_ARRAY_API=1`` and an array-API namespace; the networks are torch models fed
float64 numpy arrays, so array-API input is out of scope).
"""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from nfbst import NFBST, BayesianMLP, BayesianMLPClassifier, BayesianMLPRegressor

# checks expected to fail, with the reason; empty: every check passes
EXPECTED_FAILED_CHECKS: dict[str, str] = {}
SKIPPED_BY_SKLEARN = {
    "check_array_api_input": "needs SCIPY_ARRAY_API=1 and an array-API library; the networks "
                             "take numpy float64 input only",
}


def _regressor(**kw):
    return BayesianMLPRegressor(**{"hidden": (4,), "n_steps": 100, "random_state": 0, **kw})


def _classifier(**kw):
    return BayesianMLPClassifier(**{"hidden": (4,), "n_steps": 40, "lr": 0.05,
                                    "random_state": 0, **kw})


@parametrize_with_checks([_regressor(), _classifier()],
                         expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_check_estimator_passes(estimator, check):
    try:
        check(estimator)
    except pytest.skip.Exception as exc:  # only the checks listed above may be skipped
        name = getattr(check, "func", check).__name__
        assert name in SKIPPED_BY_SKLEARN, f"{name} skipped: {exc}"
        raise


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, 2 * X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)


def test_factory_builds_the_estimator_of_the_right_type():
    reg = BayesianMLP(hidden=(4,))
    clf = BayesianMLP(task="classification", hidden=(4,))
    assert type(reg) is BayesianMLPRegressor and type(clf) is BayesianMLPClassifier
    assert isinstance(reg, BayesianMLP) and isinstance(clf, BayesianMLP)
    assert is_regressor(reg) and is_classifier(clf)
    assert not hasattr(reg, "predict_proba") and hasattr(clf, "predict_proba")
    assert reg.task == "regression" and clf.task == "classification"
    assert type(clone(clf)) is BayesianMLPClassifier and clone(clf).get_params() == clf.get_params()
    with pytest.raises(ValueError, match="task must be one of .* got 'clustering'"):
        BayesianMLP(task="clustering")


def test_constructors_are_keyword_only_and_have_no_trailing_underscore_parameters():
    with pytest.raises(TypeError):
        BayesianMLPRegressor((8,))
    with pytest.raises(TypeError, match="keyword arguments only"):
        BayesianMLP((8,))
    with pytest.raises(TypeError):
        NFBST("grad")
    for cls in (BayesianMLPRegressor, BayesianMLPClassifier, NFBST):
        params = inspect.signature(cls).parameters
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
        assert not [k for k in params if k.endswith("_")]
    assert "quantile_lambda" in NFBST().get_params()


def test_check_is_fitted_fails_before_fit_for_every_estimator():
    for est in (NFBST(), BayesianMLPRegressor(), BayesianMLPClassifier()):
        with pytest.raises(NotFittedError):
            check_is_fitted(est)


def test_model_selection_tools_work_without_a_scoring_argument():
    X, y = _data(90)
    r2 = cross_val_score(_regressor(), X, y, cv=3)
    assert r2.shape == (3,) and np.all(r2 > 0.5)  # a linear signal with sd-0.1 noise
    grid = GridSearchCV(_regressor(), {"prior_scale": [0.5, 1.0]}, cv=2).fit(X, y)
    assert grid.best_params_["prior_scale"] in (0.5, 1.0)
    pipe = make_pipeline(StandardScaler(), _regressor()).fit(X, y)
    assert pipe.score(X, y) > 0.5
    labels = (y > 0).astype(int)
    acc = cross_val_score(_classifier(), X, labels, cv=3)
    assert np.all((acc >= 0) & (acc <= 1)) and acc.mean() > 0.7


@pytest.mark.parametrize("random_state", [None, 3, np.random.RandomState(3),
                                          np.random.default_rng(3)])
def test_fitted_predictions_are_deterministic_for_every_random_state(random_state):
    X, y = _data()
    model = _regressor().set_params(random_state=random_state).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), model.predict(X))
    draws_a, draws_b = model.sample_posterior(5), model.sample_posterior(5)
    for a, b in zip(draws_a.weights, draws_b.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(model.predict(X), again.predict(X))


def test_equal_generators_give_equal_fits_and_int_seeds_repeat():
    X, y = _data()
    a = _regressor(random_state=None).set_params(random_state=np.random.default_rng(7)).fit(X, y)
    b = _regressor(random_state=None).set_params(random_state=np.random.default_rng(7)).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c, d = _regressor().fit(X, y), _regressor().fit(X, y)
    np.testing.assert_array_equal(c.predict(X), d.predict(X))
    with pytest.raises(TypeError, match="random_state must be None, an int"):
        _regressor(random_state="7").fit(X, y)


def test_column_names_and_order_are_checked_at_predict_and_test():
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = _regressor().fit(frame, y)
    assert list(model.feature_names_in_) == ["a", "b", "c"] and model.n_features_in_ == 3
    with pytest.raises(ValueError, match="(?s)feature names should match.*order"):
        model.predict(frame[["b", "a", "c"]])
    with pytest.raises(ValueError, match="(?s)Feature names unseen at fit time.*- d"):
        model.predict(frame.rename(columns={"c": "d"}))
    test = NFBST(model=_regressor(), n_posterior_samples=20, calibration="none",
                 holdout=None).fit(frame, y)
    assert list(test.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="(?s)feature names should match.*order"):
        test.test(frame[["c", "b", "a"]])
    assert test.test(frame).feature_names == ["a", "b", "c"]


def test_nfbst_random_state_reaches_lime():
    """LIME's perturbations follow NFBST(random_state=...): equal seeds give equal statistics,
    another seed other ones (the network and its draws are the same in all three)."""
    X, y = _data(40)
    model = _regressor(n_steps=30)
    kw = dict(model=model, statistic="lime", statistic_options={"num_samples": 30},
              n_posterior_samples=4, calibration="none", holdout=None)
    a = NFBST(random_state=1, **kw).fit(X, y)
    b = NFBST(random_state=1, **kw).fit(X, y)
    c = NFBST(random_state=2, **kw).fit(X, y)
    for w_a, w_c in zip(a.draws_.weights, c.draws_.weights):  # model seeded by its own state
        np.testing.assert_array_equal(w_a.numpy(), w_c.numpy())
    eta_a = a.statistic_samples(X[:5])
    np.testing.assert_array_equal(eta_a, b.statistic_samples(X[:5]))
    np.testing.assert_array_equal(eta_a, a.statistic_samples(X[:5]))  # repeatable
    assert not np.array_equal(eta_a, c.statistic_samples(X[:5]))
