"""Bad inputs at every public entry point of logiclearn: the right exception, naming the problem.

Each row of ``CASES`` is ``(id, call, exception type, regex)``: the call must raise that type
and the message must match the regex, which names the argument or the problem (not an
internal detail). The table covers the trainer (constructor, ``step``, ``fit``), the
classifier (``fit``, ``predict``; pandas text / nullable / category columns), the encodings,
the formula language, the losses, the diagnostics and the dataset helper.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

import logiclearn as ll

#: the name of the constraint weight (``lambda_`` before it was renamed)
WEIGHT = "constraint_weight"


def _net():
    return torch.nn.Linear(3, 2)


def _fn(out, batch):
    return out.softmax(-1)[:, 1] >= 0.5


def _trainer(constraint=_fn, **kw):
    return ll.LogicTrainer(_net(), constraint, **kw)


def _lab(n=4):
    return torch.randn(n, 3), torch.randint(0, 2, (n,))


def _unl(n=5, ids=True):
    return (torch.randn(n, 3), torch.arange(n)) if ids else torch.randn(n, 3)


def _step(constraint, unlabeled=None, labeled=None, encoding="dual"):
    t = ll.LogicTrainer(_net(), constraint, encoding=encoding)
    return t.step(labeled if labeled is not None else _lab(),
                  unlabeled if unlabeled is not None else _unl())


def _loader(n=8):
    X, y = _lab(n)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=4)


def _xy(n=40, d=3):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] > 0).astype(int)


def _frame(column):
    X, y = _xy()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["b"] = column
    return df, y


def _clf(**kw):
    return ll.ConstrainedClassifier(**{"epochs": 1, "random_state": 0, **kw})


def _fit(X=None, y=None, U=None, **kw):
    X0, y0 = _xy()
    return _clf(**kw).fit(X0 if X is None else X, y0 if y is None else y, U)


def _fitted():
    X, y = _xy()
    return _clf().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)


def _x(values):
    return ll.term(torch.tensor(values))


CASES = [
    # -- LogicTrainer constructor ----------------------------------------------------------
    ("trainer model not a module", lambda: ll.LogicTrainer("net", _fn), TypeError,
     r"model must be a torch\.nn\.Module, got str"),
    ("trainer constraint not callable", lambda: ll.LogicTrainer(_net(), 3), TypeError,
     r"constraint must be callable"),
    ("trainer weight negative", lambda: _trainer(**{WEIGHT: -1.0}), ValueError,
     rf"{WEIGHT} must be a finite number >= 0; got -1"),
    ("trainer weight nan", lambda: _trainer(**{WEIGHT: float("nan")}), ValueError,
     rf"{WEIGHT} must be a finite number"),
    ("trainer weight text", lambda: _trainer(**{WEIGHT: "1"}), TypeError,
     rf"{WEIGHT} must be a finite number >= 0; got '1'"),
    ("trainer lr negative", lambda: _trainer(lr=-0.1), ValueError, r"\blr must be .*-0\.1"),
    ("trainer lr text", lambda: _trainer(lr="fast"), TypeError, r"\blr must be a finite number"),
    ("trainer weight_decay negative", lambda: _trainer(weight_decay=-1.0), ValueError,
     r"weight_decay"),
    ("trainer sigma_init zero", lambda: _trainer(sigma_init=0.0), ValueError,
     r"sigma_init must be a finite number > 0; got 0"),
    ("trainer sigma_target above init", lambda: _trainer(sigma_init=0.5, sigma_target=1.0),
     ValueError, r"sigma.?target must be <= sigma.?init"),
    ("trainer verbose negative", lambda: _trainer(verbose=-1), ValueError,
     r"verbose must be an integer >= 0; got -1"),
    ("trainer verbose text", lambda: _trainer(verbose="yes"), TypeError,
     r"verbose must be an integer >= 0; got 'yes'"),
    ("trainer verbose bool", lambda: _trainer(verbose=True), TypeError,
     r"verbose must be an integer >= 0; got True"),
    ("trainer unknown encoding", lambda: _trainer(encoding="dual2"), ValueError,
     r"encoding must be one of .*got 'dual2'"),
    ("trainer encoding wrong type", lambda: _trainer(encoding=3), TypeError,
     r"encoding must be a str or an Encoding.*got int"),
    ("trainer unknown encoding param", lambda: _trainer(encoding_params={"tau": 1.0}),
     TypeError, r"invalid parameters \['tau'\] for encoding 'dual'"),
    ("trainer bad encoding param value", lambda: _trainer(encoding_params={"lr": -1.0}),
     ValueError, r"\blr .*got -1"),
    ("trainer encoding_params not a dict", lambda: _trainer(encoding_params=[1]), TypeError,
     r"encoding_params must be None or a dict; got \[1\]"),
    ("trainer unknown constraint_loss", lambda: _trainer(constraint_loss="l1"), ValueError,
     r"constraint_loss must be .*got 'l1'"),
    ("trainer unknown loss", lambda: _trainer(loss="hinge"), ValueError,
     r"loss must be one of .*got 'hinge'"),
    ("trainer loss unhashable", lambda: _trainer(loss=["mse"]), ValueError,
     r"loss must be one of .*got \['mse'\]"),
    ("trainer random_state text", lambda: _trainer(random_state="0"), TypeError,
     r"random_state must be None, an int, .*got '0'"),
    ("trainer random_state negative", lambda: _trainer(random_state=-1), ValueError,
     r"random_state must be >= 0, got -1"),
    ("trainer removed option tau_lr", lambda: _trainer(tau_lr=1.0), TypeError, r"'tau_lr'"),
    # -- LogicTrainer.step / fit -----------------------------------------------------------
    ("constraint wrong batch size", lambda: _step(lambda o, b: o[:3, 0] <= 0.0), ValueError,
     r"formula over 3 instances, but the unlabelled batch has 5 rows"),
    ("constraint returns a tensor", lambda: _step(lambda o, b: o.value[:, 0] <= 0.0),
     TypeError, r"formula returned by constraint must be a logiclearn Formula, got Tensor"),
    ("constraint returns a bool", lambda: _step(lambda o, b: True), TypeError,
     r"formula returned by constraint must be a logiclearn Formula, got bool"),
    ("constraint returns a bare vector atom", lambda: _step(lambda o, b: o <= 0.0), ValueError,
     r"vector atom of shape \(5, 2\) must sit inside all_of/any_of"),
    ("unlabelled views of different sizes",
     lambda: _step(lambda o, b: o[0][:, 0] <= o[1][:, 0],
                   (torch.randn(5, 3), torch.randn(4, 3), torch.arange(5))),
     ValueError, r"views of an unlabelled batch must have the same number of rows, got \[5, 4\]"),
    ("unlabelled ids of another size",
     lambda: _step(_fn, (torch.randn(5, 3), torch.arange(4))), ValueError,
     r"5 rows per view but 4 example ids"),
    ("dual without example ids", lambda: _step(_fn, _unl(ids=False)), ValueError,
     r"'dual' encoding keeps state per example.*example ids"),
    ("unlabelled batch not tensors", lambda: _step(_fn, ([[0.0, 1.0, 2.0]], torch.arange(1))),
     TypeError, r"view 0 of the unlabelled batch must be a tensor"),
    ("labelled batch not a pair", lambda: _step(_fn, labeled=(torch.randn(4, 3),)), TypeError,
     r"labelled batch must be a pair \(X, y\)"),
    ("labelled inputs and targets differ",
     lambda: _step(_fn, labeled=(torch.randn(4, 3), torch.zeros(3, dtype=torch.int64))),
     ValueError, r"labelled batch has 4 inputs but 3 targets"),
    ("non-finite constraint cost",
     lambda: _step(lambda o, b: o[:, 0] * 0.0 + torch.tensor(float("inf")) <= 0.0), ValueError,
     r"constraint's cost is NaN or inf"),
    ("fit zero epochs", lambda: _trainer().fit(_loader(), epochs=0), ValueError,
     r"epochs must be an integer >= 1; got 0"),
    ("fit fractional epochs", lambda: _trainer().fit(_loader(), epochs=2.5), TypeError,
     r"epochs must be an integer >= 1; got 2\.5"),
    ("fit without data", lambda: _trainer().fit(), ValueError,
     r"fit needs a labelled loader, an unlabelled loader, or both"),
    ("fit val_metric not callable", lambda: _trainer().fit(_loader(), val_metric=0.5),
     TypeError, r"val_metric must be callable, got float"),
    # -- ConstrainedClassifier -------------------------------------------------------------
    ("classifier text column", lambda: _clf().fit(*_frame(["x"] * 40)), ValueError,
     r"X must hold numbers only; columns \['b'\]"),
    ("classifier pandas string dtype",
     lambda: _clf().fit(*_frame(pd.array(["x"] * 40, dtype="string"))), ValueError,
     r"columns \['b'\] have dtype string"),
    ("classifier category column",
     lambda: _clf().fit(*_frame(pd.Categorical(["u", "v"] * 20))), ValueError,
     r"columns \['b'\] have dtype category"),
    ("classifier nullable Int64 with NA",
     lambda: _clf().fit(*_frame(pd.array([1, None] * 20, dtype="Int64"))), ValueError,
     r"missing values \(NaN/NA\) in columns \['b'\]"),
    ("classifier nullable Float64 with NA",
     lambda: _clf().fit(*_frame(pd.array([0.5, None] * 20, dtype="Float64"))), ValueError,
     r"missing values \(NaN/NA\) in columns \['b'\]"),
    ("classifier nullable boolean with NA",
     lambda: _clf().fit(*_frame(pd.array([True, None] * 20, dtype="boolean"))), ValueError,
     r"missing values \(NaN/NA\) in columns \['b'\]"),
    ("classifier continuous target", lambda: _fit(y=np.linspace(0, 1, 40)), ValueError,
     r"Unknown label type: continuous"),
    ("classifier one class", lambda: _fit(y=np.zeros(40, dtype=int)), ValueError,
     r"at least 2 classes in y, got 1 class"),
    ("classifier inf in X", lambda: _fit(X=np.r_[_xy()[0][:-1], [[np.inf, 0, 0]]]),
     ValueError, r"X contains infinity"),
    ("classifier 1-D X", lambda: _fit(X=np.zeros(40)), ValueError, r"Expected 2D array"),
    ("classifier unlabelled of another width",
     lambda: _fit(U=np.zeros((10, 4)), constraint=_fn), ValueError,
     r"X_unlabeled has rows of shape \(4,\), but X has rows of shape \(3,\)"),
    ("classifier unlabelled views of different sizes",
     lambda: _fit(U=(np.zeros((10, 3)), np.zeros((9, 3))), constraint=_fn), ValueError,
     r"same number of rows"),
    ("classifier unlabelled text column",
     lambda: _fit(U=_frame(["x"] * 40)[0], constraint=_fn), ValueError,
     r"X_unlabeled must hold numbers only; columns \['b'\]"),
    ("classifier module with wrong output size",
     lambda: _fit(module=torch.nn.Linear(3, 5)), ValueError,
     r"module must return logits of shape \(n, 2\) .*got shape \(2, 5\)"),
    ("classifier module a string", lambda: _fit(module="mlp"), TypeError,
     r"module must be a torch\.nn\.Module.*got str"),
    ("classifier module factory returns junk", lambda: _fit(module=lambda d, k: "net"),
     TypeError, r"module\(n_features, n_classes\) must return a torch\.nn\.Module, got str"),
    ("classifier constraint not callable", lambda: _fit(U=np.zeros((10, 3)), constraint=3),
     TypeError, r"constraint must be callable or None, got .*int"),
    ("classifier zero epochs", lambda: _fit(epochs=0), ValueError,
     r"epochs must be an integer >= 1; got 0"),
    ("classifier zero batch_size", lambda: _fit(batch_size=0), ValueError,
     r"batch_size must be an integer >= 1; got 0"),
    ("classifier verbose negative", lambda: _fit(verbose=-1), ValueError,
     r"verbose must be an integer >= 0"),
    ("classifier random_state text", lambda: _fit(random_state="x"), TypeError,
     r"random_state must be None, an int"),
    ("classifier predict with another width", lambda: _fitted().predict(np.zeros((2, 4))),
     ValueError, r"X has 4 features, but ConstrainedClassifier is expecting 3"),
    ("classifier predict with reordered columns",
     lambda: _fitted().predict(pd.DataFrame(np.zeros((2, 3)), columns=["c", "b", "a"])),
     ValueError, r"Feature names must be in the same order"),
    ("classifier unknown keyword", lambda: ll.ConstrainedClassifier(tau_lr=1.0), TypeError,
     r"'tau_lr'"),
    ("classifier unknown option in set_params", lambda: _clf().set_params(tau_lr=1.0),
     ValueError, r"Invalid parameter 'tau_lr'"),
    ("classifier predict before fit", lambda: _clf().predict(np.zeros((2, 3))),
     NotFittedError, r"not fitted yet"),
    # -- encodings and registry ------------------------------------------------------------
    ("get_encoding unknown name", lambda: ll.get_encoding("nope"), ValueError,
     r"encoding must be one of .*got 'nope'"),
    ("dual lr zero", lambda: ll.DualEncoding(lr=0.0), ValueError, r"lr .*must be .*> 0"),
    ("pd update_freq zero", lambda: ll.PrimalDualEncoding(update_freq=0), ValueError,
     r"update_freq must be an integer >= 1, got 0"),
    ("pd unknown tnorm", lambda: ll.PrimalDualEncoding(tnorm="max"), ValueError,
     r"tnorm must be one of .*got 'max'"),
    ("semantic max_vars text", lambda: ll.SemanticEncoding(max_vars="many"), TypeError,
     r"max_vars must be an integer >= 1; got 'many'"),
    ("semantic max_vars negative", lambda: ll.SemanticEncoding(max_vars=-3), ValueError,
     r"max_vars must be an integer >= 1; got -3"),
    ("register empty name", lambda: ll.register_encoding("", ll.DL2Encoding), TypeError,
     r"encoding name must be a non-empty str"),
    ("register non-callable", lambda: ll.register_encoding("x-enc", 3), TypeError,
     r"encoding factory must be callable, got int"),
    ("dual step with float ids",
     lambda: ll.DualEncoding().dual_step(_x([[0.1, 0.2]]) >= 0.5, torch.tensor([0.0])),
     TypeError, r"index must be an integer tensor of example ids"),
    ("dual formula structure changes",
     lambda: [enc.dual_step(f, torch.tensor([0])) for enc in [ll.DualEncoding()] for f in
              (ll.any_of(_x([[0.1, 0.2]]) >= 0.5), ll.any_of(_x([[0.1, 0.2, 0.3]]) >= 0.5))],
     ValueError, r"had 2 children and now has 3"),
    # -- formula language ------------------------------------------------------------------
    ("term from a list", lambda: ll.term([1.0]), TypeError,
     r"Term value must be a torch\.Tensor, got list"),
    ("term from integers", lambda: ll.term(torch.tensor([1, 2])), TypeError,
     r"floating-point tensor, got dtype torch\.int64"),
    ("term with nan", lambda: ll.term(torch.tensor([float("nan")])), ValueError,
     r"term value must be finite"),
    ("atom sides do not broadcast", lambda: _x([1.0, 2.0]) <= torch.zeros(3), ValueError,
     r"atom sides must broadcast, got shapes \(2,\) and \(3,\)"),
    ("atom of three axes", lambda: ll.term(torch.zeros(2, 2, 2)) <= 0.0, ValueError,
     r"an atom must have shape \(\), \(B,\) or \(B, k\).*got shape \(2, 2, 2\)"),
    ("negative margin", lambda: ll.lt(_x([1.0]), 2.0, margin=-0.1), ValueError,
     r"margin must be a finite number >= 0"),
    ("atom operand a string", lambda: _x([1.0]) <= "1", TypeError,
     r"right operand must be a logiclearn Term, a torch\.Tensor or a real number, got str"),
    ("empty conjunction", lambda: ll.all_of(), ValueError,
     r"And needs at least one child formula"),
    ("mixed batch sizes", lambda: ll.any_of(_x([1.0, 2.0]) <= 0, _x([1.0]) <= 0), ValueError,
     r"must share one batch size, got \[1, 2\]"),
    ("implication from a tensor", lambda: ll.implies(torch.ones(2), _x([1.0, 2.0]) <= 0),
     TypeError, r"antecedent must be a logiclearn Formula, got Tensor"),
    ("forall without a batch axis", lambda: ll.forall(ll.term(torch.tensor(1.0)) <= 0),
     ValueError, r"quantifier needs a formula with a batch axis"),
    ("formula used as a bool", lambda: bool(_x([1.0]) <= 0), TypeError,
     r"a Formula has no Python truth value"),
    ("formula named with a number", lambda: (_x([1.0]) <= 0).named(3), TypeError,
     r"name must be a str, got int"),
    ("cost under an unknown encoding", lambda: (_x([1.0]) <= 0).cost("dual2"), ValueError,
     r"encoding must be one of"),
    ("check_formula on a tensor", lambda: ll.check_formula(torch.ones(2)), TypeError,
     r"formula must be a logiclearn Formula, got Tensor"),
    # -- losses, diagnostics, data ---------------------------------------------------------
    ("truncated loss sigma negative", lambda: ll.truncated_gaussian_nll(torch.ones(2), -1.0),
     ValueError, r"sigma must be a finite number > 0, got -1"),
    ("constraint_loss unknown kind", lambda: ll.constraint_loss(torch.ones(2), "l2"),
     ValueError, r"constraint loss must be one of .*got 'l2'"),
    ("sigma schedule target above init", lambda: ll.SigmaSchedule(init=0.1, target=1.0),
     ValueError, r"sigma target must be <= sigma init"),
    ("sigma schedule nan cost", lambda: ll.SigmaSchedule().step(float("nan")), ValueError,
     r"mean_cost must be a finite number >= 0, got nan"),
    ("satisfaction of a tensor", lambda: ll.satisfaction(torch.ones(2)), TypeError,
     r"formula must be a logiclearn Formula, got Tensor"),
    ("satisfaction negative tol", lambda: ll.satisfaction(_x([1.0]) <= 0, tol=-1), ValueError,
     r"tol must be >= 0, got -1"),
    ("indexed dataset of nothing", lambda: ll.IndexedDataset(), ValueError,
     r"IndexedDataset needs at least one tensor"),
    ("indexed dataset of a list", lambda: ll.IndexedDataset([1, 2]), TypeError,
     r"tensor 0 must be a torch\.Tensor, got list"),
    ("indexed dataset lengths differ",
     lambda: ll.IndexedDataset(torch.zeros(3), torch.zeros(4)), ValueError,
     r"all tensors must have the same length, got \[3, 4\]"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_every_case_has_a_unique_id_and_the_table_covers_each_public_entry_point():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
    prefixes = {"trainer", "constraint", "unlabelled", "labelled", "fit", "classifier",
                "dual", "pd", "semantic", "register", "term", "atom", "formula", "cost",
                "sigma", "satisfaction", "indexed", "truncated"}
    assert prefixes <= {i.split()[0] for i in ids}


def test_parameter_errors_are_the_distributions_one_error_type():
    """A bad hyper-parameter raises probconstraints' InvalidParameterError (a ValueError and a
    TypeError), from the trainer and the classifier alike, with the same wording."""
    from probconstraints._validation import InvalidParameterError

    errors = []
    for call in (lambda: _trainer(lr=-1.0), lambda: _fit(lr=-1.0)):
        with pytest.raises(InvalidParameterError) as info:
            call()
        errors.append(str(info.value))
    assert errors == ["lr must be a finite number >= 0; got -1.0"] * 2
