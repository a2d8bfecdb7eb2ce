"""Per-branch satisfaction rates against numpy counts."""

import numpy as np
import pytest
import torch

import logiclearn as ll


def test_branch_rates_match_numpy_counts_for_an_implication():
    rng = np.random.default_rng(1)
    pr = rng.dirichlet(np.ones(10), size=200).astype(np.float32)
    px = rng.dirichlet(np.ones(10), size=200).astype(np.float32)
    r, x = ll.term(torch.tensor(pr)), ll.term(torch.tensor(px))
    f = (r[:, 9] >= 0.3).named("R(x) is 9") >> (x[:, 6] >= 0.2).named("x is 6")
    s = ll.satisfaction(f, tol=0.0)
    ante, cons = pr[:, 9] >= 0.3, px[:, 6] >= 0.2
    assert s.rate == pytest.approx(np.mean(~ante | cons))
    assert s.branch_rate("not R(x) is 9") == pytest.approx(np.mean(~ante))
    assert s.branch_rate("x is 6") == pytest.approx(np.mean(cons))
    np.testing.assert_array_equal(s.per_instance, ~ante | cons)


def test_default_implication_labels_and_nested_disjunctions():
    x = ll.term(torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]))
    f = ll.all_of((x[:, 0] >= 0.5) >> (x[:, 1] >= 0.5), ll.any_of(x == 1.0).named("crisp"))
    s = ll.satisfaction(f, tol=0.0)
    b = s.branches.set_index(["node", "branch"])["rate"]
    assert b[("root/0", "antecedent false")] == pytest.approx(1 / 3)
    assert b[("root/0", "consequent true")] == pytest.approx(2 / 3)
    assert b[("crisp", "0")] == pytest.approx(2 / 3)  # vector atom: any column
    assert s.rate == pytest.approx(1 / 3)


def test_satisfaction_validates_arguments():
    x = ll.term(torch.zeros(2))
    with pytest.raises(TypeError, match="Formula"):
        ll.satisfaction(x)
    with pytest.raises(ValueError, match="tol"):
        ll.satisfaction(x <= 0, tol=-1)
    s = ll.satisfaction((x <= 0) | (x >= 1), tol=0)
    with pytest.raises(ValueError, match="exactly one branch"):
        s.branch_rate("nope")
