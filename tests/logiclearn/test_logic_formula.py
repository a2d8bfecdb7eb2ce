"""Formula language: truth, negation normal form, clear errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from ll_strategies import build, formula_specs, reference_truth, values_strategy

import logiclearn as ll
from logiclearn.formula import Not


def _has_not(f):
    if isinstance(f, Not):
        return True
    return any(_has_not(c) for c in getattr(f, "children", [])) or (
        hasattr(f, "child") and _has_not(f.child))


@settings(max_examples=150, deadline=None)
@given(spec=formula_specs(boundary_free=False), X=values_strategy(False))
def test_holds_matches_numpy_reference_semantics(spec, X):
    f = build(spec, ll.term(X))
    np.testing.assert_array_equal(f.holds().numpy(), reference_truth(spec, X.numpy()))


@settings(max_examples=150, deadline=None)
@given(spec=formula_specs(boundary_free=False), X=values_strategy(False))
def test_nnf_preserves_truth_and_removes_negations(spec, X):
    f = build(spec, ll.term(X))
    g = f.nnf()
    assert not _has_not(g)
    np.testing.assert_array_equal(g.holds().numpy(), f.holds().numpy())
    np.testing.assert_array_equal((~f).nnf().holds().numpy(), ~f.holds().numpy())


def test_strict_atom_margin_semantics():
    x = ll.term(torch.tensor([0.85, 0.95, 1.0]))
    assert ll.lt(x, 1.0, margin=0.1).holds().tolist() == [True, False, False]
    assert ll.lt(x, 1.0).holds().tolist() == [True, True, False]
    assert (x < 1.0).holds().tolist() == [True, True, False]
    assert (x > 0.9).holds().tolist() == [False, True, True]
    np.testing.assert_allclose(ll.lt(x, 1.0, margin=0.1).atom_cost().numpy(),
                               [0.0, 0.05, 0.1], atol=1e-6)


def test_tolerance_relaxes_atoms_like_paper_satisfy():
    x = ll.term(torch.tensor([1.005, 1.02]))
    assert (x <= 1.0).holds(tol=0.01).tolist() == [True, False]
    assert (x == 1.0).holds(tol=0.01).tolist() == [True, False]


def test_term_arithmetic_and_tensor_methods_build_atoms():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    p = ll.term(logits).softmax(-1)
    assert isinstance(p, ll.Term)
    f = (p[:, 0] - p[:, 1] >= 0.5) | (2 * p[:, 1] + 0 == 2 * p[:, 1])
    assert f.holds().tolist() == [True, True]
    s = p.sum(-1)
    assert (s == 1.0).holds(tol=1e-6).tolist() == [True, True]
    assert (1.5 >= p[:, 0]).holds().tolist() == [True, True]


def test_vector_atom_counts_columns_as_children():
    p = ll.term(torch.tensor([[0.0, 1.0], [0.5, 0.5]]))
    assert ll.any_of(p == 1.0).holds().tolist() == [True, False]
    assert ll.all_of(p <= 0.5).holds().tolist() == [False, True]
    assert (~ll.all_of(p <= 0.5)).nnf().holds().tolist() == [True, False]


def test_quantifiers_over_the_batch():
    x = ll.term(torch.tensor([0.1, 0.6]))
    assert not ll.forall(x <= 0.5).holds().item()
    assert ll.exists(x <= 0.5).holds().item()
    assert (~ll.forall(x <= 0.5)).nnf().holds().item()
    assert type((~ll.forall(x <= 0.5)).nnf()).__name__ == "Exists"


def test_non_tensor_term_is_a_type_error():
    with pytest.raises(TypeError, match="torch.Tensor"):
        ll.term([1.0, 2.0])
    with pytest.raises(TypeError, match="floating-point"):
        ll.term(torch.tensor([1, 2]))
    x = ll.term(torch.zeros(3))
    with pytest.raises(TypeError, match="real number"):
        _ = x <= "1"
    with pytest.raises(TypeError, match="Formula"):
        ll.all_of([x <= 1, 3])
    with pytest.raises(TypeError, match="Formula"):
        (x <= 1) & 3
    with pytest.raises(TypeError, match="truth value"):
        bool(x <= 1)


def test_wrong_shapes_are_value_errors():
    with pytest.raises(ValueError, match=r"shape \(\), \(B,\) or \(B, k\)"):
        _ = ll.term(torch.zeros(2, 3, 4)) <= 0
    with pytest.raises(ValueError, match="batch size"):
        (ll.term(torch.zeros(3)) <= 0) & (ll.term(torch.zeros(4)) <= 0)
    with pytest.raises(ValueError, match="broadcast"):
        _ = ll.term(torch.zeros(3, 2)) <= ll.term(torch.zeros(3, 5))
    vec = ll.term(torch.zeros(3, 2)) <= 0
    with pytest.raises(ValueError, match="all_of/any_of"):
        vec.holds()
    with pytest.raises(ValueError, match="all_of/any_of"):
        vec.cost("dual")
    with pytest.raises(ValueError, match="batch axis"):
        ll.forall(ll.term(torch.tensor(1.0)) <= 0)


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError, match="finite"):
        ll.term(torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="finite"):
        _ = ll.term(torch.zeros(2)) <= float("inf")
    with pytest.raises(ValueError, match="margin"):
        ll.lt(ll.term(torch.zeros(2)), 0.0, margin=-1.0)
