"""Several constraints on their own data in one trainer: the step's gradient is the weighted
sum of the single-constraint steps' gradients; mismatched lists are refused."""

import pytest
import torch

import logiclearn as ll


def first_ge_second(out, batch):
    p = out.softmax(-1)
    return p[:, 0] >= p[:, 1]


def second_or_third(out, batch):
    p = out.softmax(-1)
    return (p[:, 1] >= 0.9) | (p[:, 2] >= 0.9)


def _net():
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Linear(4, 3)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return net


def _grads(trainer, *args):
    trainer.step(*args)
    return torch.cat([p.grad.flatten() for p in trainer.model.parameters()])


@pytest.mark.parametrize("encoding", ["dual", "dl2", "product"])
def test_two_constraints_step_is_the_weighted_sum_of_single_steps(encoding):
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(6, 4, generator=g), torch.randint(0, 3, (6,), generator=g)
    U1, U2 = torch.randn(5, 4, generator=g), torch.randn(7, 4, generator=g)
    b1, b2 = (U1, torch.arange(5)), (U2, torch.arange(7))
    both = ll.LogicTrainer(_net(), [(first_ge_second, 2.0), (second_or_third, 0.5)],
                           encoding=encoding, constraint_weight=1.5)
    g_both = _grads(both, (X, y), [b1, b2])
    sup = ll.LogicTrainer(_net(), None)
    one = ll.LogicTrainer(_net(), first_ge_second, encoding=encoding, constraint_weight=3.0)
    two = ll.LogicTrainer(_net(), second_or_third, encoding=encoding, constraint_weight=0.75)
    expected = _grads(sup, (X, y)) + _grads(one, None, b1) + _grads(two, None, b2)
    torch.testing.assert_close(g_both, expected, rtol=1e-5, atol=1e-6)
    # a constraint skipped in a step (None) contributes nothing
    both2 = ll.LogicTrainer(_net(), [first_ge_second, second_or_third], encoding=encoding)
    one2 = ll.LogicTrainer(_net(), first_ge_second, encoding=encoding)
    torch.testing.assert_close(_grads(both2, None, [b1, None]), _grads(one2, None, b1))


def test_two_constraints_fit_keeps_separate_duals_and_sigma_schedules():
    g = torch.Generator().manual_seed(2)
    U1, U2 = torch.randn(16, 4, generator=g), torch.randn(24, 4, generator=g)
    l1 = torch.utils.data.DataLoader(ll.IndexedDataset(U1), 8)
    l2 = torch.utils.data.DataLoader(ll.IndexedDataset(U2), 8)
    t = ll.LogicTrainer(_net(), [second_or_third, (second_or_third, 2.0)], random_state=0)
    t.fit(None, [l1, l2], epochs=2)
    assert len(t.encodings_) == 2 and t.encodings_[0] is not t.encodings_[1]
    assert len(t.schedules_) == 2
    h = t.history_[-1]
    assert {"constraint_0", "constraint_1", "mean_cost_0", "mean_cost_1", "sigma_0",
            "sigma_1"} <= set(h)
    assert h["constraint"] == pytest.approx(h["constraint_0"] + 2.0 * h["constraint_1"])
    # each encoding holds duals for its own data: 16 and 24 examples
    sizes = [max(v.shape[0] for v in enc.store.logits.values()) for enc in t.encodings_]
    assert sizes == [16, 24]


def test_several_constraints_refuse_mismatched_lists():
    U = torch.utils.data.DataLoader(ll.IndexedDataset(torch.randn(8, 4)), 4)
    t = ll.LogicTrainer(_net(), [first_ge_second, second_or_third])
    with pytest.raises(ValueError, match="with 2 constraints, unlabeled must be a list of 2 "
                                         "loaders.*got a list of 1"):
        t.fit(None, [U])
    with pytest.raises(ValueError, match="got one DataLoader"):
        t.fit(None, U)
    with pytest.raises(ValueError, match="unlabelled batch must be a list of 2 batches.*got a "
                                         "list of 3"):
        t.step(None, [None, None, None])
    with pytest.raises(TypeError, match=r"constraint 1 must be a callable or a \(callable, "
                                        r"weight\) pair, got 3"):
        ll.LogicTrainer(_net(), [first_ge_second, 3])
    with pytest.raises(ValueError, match="the weight of constraint 0 must be a finite number "
                                         ">= 0; got -1.0"):
        ll.LogicTrainer(_net(), [(first_ge_second, -1.0)])
    with pytest.raises(ValueError, match="constraint is an empty list"):
        ll.LogicTrainer(_net(), [])
    with pytest.raises(ValueError, match="constraint 0: the 'dual' encoding keeps state per "
                                         "example"):
        t.step(None, [torch.randn(3, 4), None])
