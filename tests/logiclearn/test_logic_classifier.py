"""ConstrainedClassifier follows scikit-learn's estimator conventions."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import logiclearn as ll


def _confident(out, batch):
    return ll.any_of(out.softmax(-1) >= 0.9)


def _xy(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, "pos", "neg")
    return X, y, rng.normal(size=(60, 2))


def test_fit_predict_with_string_labels_and_reproducible_seed():
    X, y, U = _xy()
    make = lambda: ll.ConstrainedClassifier(torch.nn.Linear(2, 2), _confident, epochs=15,  # noqa: E731
                                            lr=0.05, random_state=0)
    a, b = make().fit(X, y, U), make().fit(X, y, U)
    assert set(a.classes_) == {"neg", "pos"}
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.score(X, y) > 0.9
    assert a.predict_proba(X).shape == (80, 2)


def test_clone_and_get_params_follow_sklearn():
    clf = ll.ConstrainedClassifier(torch.nn.Linear(2, 2), _confident, constraint_weight=0.5)
    c = clone(clf)
    assert c.get_params()["constraint_weight"] == 0.5 and c.get_params()["constraint"] is _confident
    assert not hasattr(c, "module_")
    with pytest.raises(NotFittedError):
        clf.predict(np.zeros((2, 2)))


def test_fit_leaves_the_given_module_untouched_and_accepts_views():
    X, y, U = _xy()
    module = torch.nn.Linear(2, 2)
    w0 = module.weight.detach().clone()

    def sym(outs, batch):  # prediction invariant under the view swap
        a, b = outs
        return ll.all_of(a.softmax(-1) == b.softmax(-1))

    clf = ll.ConstrainedClassifier(module, sym, epochs=3, random_state=0).fit(X, y, (U, U[::-1]))
    assert torch.equal(module.weight, w0)
    assert clf.trainer_.encoding_.store.logits  # duals were used


def test_invalid_inputs_are_refused():
    X, y, U = _xy()
    with pytest.raises(ValueError):
        ll.ConstrainedClassifier(torch.nn.Linear(2, 2)).fit(np.r_[X[:-1], [[np.nan, 0]]], y)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        ll.ConstrainedClassifier("mlp").fit(X, y)


def test_encoding_params_reach_the_encoding_and_encoding_objects_are_copied():
    X, y, U = _xy()
    clf = ll.ConstrainedClassifier(torch.nn.Linear(2, 2), _confident, epochs=2,
                                   encoding_params={"lr": 0.7}, random_state=0).fit(X, y, U)
    assert clf.trainer_.encoding_.lr == 0.7
    enc = ll.DualEncoding(lr=0.3)
    clf = ll.ConstrainedClassifier(torch.nn.Linear(2, 2), _confident, epochs=2, encoding=enc,
                                   random_state=0).fit(X, y, U)
    assert clf.trainer_.encoding_ is not enc and clf.trainer_.encoding_.lr == 0.3
    assert not enc.store.logits  # the given object keeps no state from the fit


def test_fit_leaves_the_global_torch_generator_alone():
    X, y, U = _xy()
    module = torch.nn.Linear(2, 2)
    before = torch.get_rng_state()
    ll.ConstrainedClassifier(module, _confident, epochs=2,
                             random_state=np.random.RandomState(0)).fit(X, y, U)
    assert torch.equal(before, torch.get_rng_state())


def test_classes_argument_keeps_a_class_without_labelled_rows_and_predicts_it():
    # the hidden class (2) has no labelled row: without `classes` it would vanish from classes_
    # and the constraint's output indices would point at the wrong labels
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)).astype(np.float32)
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    labelled = y != 2
    # every unlabelled row here has x0 > 0.5: the constraint says it is class 2
    def fn(out, batch):
        return out.softmax(-1)[:, 2] == 1.0

    clf = ll.ConstrainedClassifier(None, fn, classes=[0, 1, 2], epochs=40, lr=0.01,
                                   random_state=0)
    clf.fit(X[labelled], y[labelled], X_unlabeled=X[~labelled])
    assert clf.classes_.tolist() == [0, 1, 2]
    hidden = clf.predict(X[~labelled])
    assert (hidden == 2).mean() > 0.8


def test_classes_argument_refuses_labels_outside_it():
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = np.arange(30) % 3
    with pytest.raises(ValueError, match=r"labels \[2\] that are not in classes=\[0, 1\]"):
        ll.ConstrainedClassifier(None, classes=[0, 1], epochs=1).fit(X, y)


def test_a_module_of_the_wrong_width_is_refused_before_training_naming_both_counts():
    """Issue 24 item 14: torch's matmul error came from inside fit."""
    X, y = np.random.default_rng(0).normal(size=(20, 5)), np.arange(20) % 2
    with pytest.raises(ValueError, match=r"module expects 3 input features \(its first layer, "
                                         r"Linear\), but X has 5"):
        ll.ConstrainedClassifier(torch.nn.Linear(3, 2), epochs=1, random_state=0).fit(X, y)


def test_torch_tensors_that_require_grad_are_taken_as_data():
    """Issue 24 item 14: numpy's "Can't call numpy() on Tensor that requires grad"."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(30, 2, generator=g, requires_grad=True)
    y = (X[:, 0] > 0).long()
    clf = ll.ConstrainedClassifier(torch.nn.Linear(2, 2), _confident, epochs=2, random_state=0)
    clf.fit(X, y, X_unlabeled=torch.randn(10, 2, requires_grad=True))
    assert clf.predict_proba(X).shape == (30, 2)
    assert clf.predict(X).shape == (30,)
