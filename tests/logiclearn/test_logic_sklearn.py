"""ConstrainedClassifier against scikit-learn's estimator contract; no global RNG side effects."""

import random

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

import logiclearn as ll

# every check of sklearn.utils.estimator_checks passes (check_array_api_input is skipped by
# scikit-learn itself: the estimator declares no array-API support); short training keeps the
# whole sweep at a few seconds, and 4 epochs at lr 0.03 still clear check_classifiers_train
FAST = ll.ConstrainedClassifier(epochs=4, lr=0.03, random_state=0)


@parametrize_with_checks([FAST])
def test_constrained_classifier_passes_sklearn_check(estimator, check):
    check(estimator)


def _global_state():
    return torch.get_rng_state(), np.random.get_state(), random.getstate()  # noqa: NPY002


def _assert_same(before, after):
    assert torch.equal(before[0], after[0]), "torch's global generator moved"
    b, a = before[1], after[1]
    assert b[0] == a[0] and np.array_equal(b[1], a[1]) and b[2:] == a[2:], \
        "numpy's global generator moved"
    assert before[2] == after[2], "random's global generator moved"


def _confident(out, batch):
    return ll.any_of(out.softmax(-1) >= 0.9)


@pytest.mark.parametrize("random_state", [None, 3, np.random.RandomState(0),
                                          np.random.default_rng(0)],
                         ids=["None", "int", "RandomState", "Generator"])
def test_fit_and_predict_leave_torch_numpy_and_random_global_state_unchanged(random_state):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    U = rng.normal(size=(30, 3))
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.2),
                                torch.nn.Linear(8, 2))
    lab = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y)),
        batch_size=8, shuffle=True)  # shuffles with the (isolated) global generator
    unl = torch.utils.data.DataLoader(ll.IndexedDataset(torch.tensor(U, dtype=torch.float32)),
                                      batch_size=8, shuffle=True)
    before = _global_state()
    ll.LogicTrainer(model, _confident, random_state=random_state).fit(lab, unl, epochs=2)
    _assert_same(before, _global_state())
    clf = ll.ConstrainedClassifier(constraint=_confident, epochs=2,
                                   random_state=random_state).fit(X, y, U)
    clf.predict(X)
    clf.predict_proba(X)
    _assert_same(before, _global_state())


def test_same_int_seed_gives_the_same_model_and_none_does_not_reuse_the_global_stream():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    a = ll.ConstrainedClassifier(epochs=2, random_state=5).fit(X, y).predict_proba(X)
    b = ll.ConstrainedClassifier(epochs=2, random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    with torch.random.fork_rng(devices=[]):  # same global torch state before both fits
        state = torch.get_rng_state()
        c = ll.ConstrainedClassifier(epochs=2).fit(X, y).predict_proba(X)
        torch.set_rng_state(state)
        d = ll.ConstrainedClassifier(epochs=2).fit(X, y).predict_proba(X)
    assert not np.array_equal(c, d)  # fresh entropy each time, not torch's global seed
