"""The fast paths of LogicTrainer's step: a penalty handed over with its gradient with respect to
the outputs (``Penalty.outputs_grad``), the dual store's joint read/write, the training-mode
check. Each is compared with the plain path it replaces."""

import pytest
import torch

import logiclearn as ll
from logiclearn.encodings.dual import DualStore
from logiclearn.trainer import _all_training


def _mlp(seed):
    with torch.random.fork_rng(devices=[]):  # initialise without touching the caller's RNG
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4))


def _two_views(outs, batch):
    px, pr = (o.softmax(-1) for o in outs)
    return ll.any_of(pr[:, :3] >= 0.4) | (px[:, 3] >= 0.5)


class _DL2WithOutputsGrad(ll.DL2Encoding):
    """DL2, but the penalty comes with its gradient w.r.t. the outputs and no autograd graph
    (what the compiled dual step does)."""

    def penalty_from_outputs(self, build, outputs, batch, index, loss_fn):
        outs = [o.detach().requires_grad_(True) for o in outputs]
        with torch.enable_grad():
            f = build(outs, batch)
            cost = self.cost(f)
            value = loss_fn(cost).mean()
            grads = torch.autograd.grad(value, outs)
        return ll.Penalty(value.detach(), cost.detach(), outputs_grad=tuple(grads),
                          mean_cost=cost.detach().mean())


def _batches(n_steps=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_steps):
        x, y = torch.randn(8, 3, generator=g), torch.randint(0, 4, (8,), generator=g)
        u, r = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
        out.append(((x, y), (u, r)))
    return out


@pytest.mark.parametrize("weight", [1.0, 0.5])
@pytest.mark.parametrize("labelled", [True, False])
def test_a_penalty_with_its_outputs_gradient_trains_as_the_same_penalty_through_autograd(
        weight, labelled):
    """A penalty handed over as value + gradient w.r.t. the outputs (one backward pass from
    the supervised loss and the outputs) gives the weights and losses of the same penalty
    differentiated by autograd, with and without a labelled batch, for λ = 1 and λ = 0.5."""
    runs = []
    for enc in [_DL2WithOutputsGrad(), "dl2"]:
        t = ll.LogicTrainer(_mlp(0), _two_views, encoding=enc, constraint_weight=weight,
                            lr=0.05)
        losses = [t.step(lab if labelled else None, unl) for lab, unl in _batches()]
        runs.append((losses, [p.detach().clone() for p in t.model.parameters()]))
    (l1, w1), (l2, w2) = runs
    for a, b in zip(l1, l2):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-7)
    assert l1[0]["constraint"] != pytest.approx(l1[-1]["constraint"])  # the model did move
    for a, b in zip(w1, w2):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_outputs_grad_of_the_wrong_length_is_refused_with_both_counts():
    class _Short(_DL2WithOutputsGrad):
        def penalty_from_outputs(self, *args):
            p = super().penalty_from_outputs(*args)
            return p._replace(outputs_grad=p.outputs_grad[:1])

    t = ll.LogicTrainer(_mlp(0), _two_views, encoding=_Short())
    lab, unl = _batches(1)[0]
    with pytest.raises(ValueError, match="1 tensors for 2 outputs"):
        t.step(lab, unl)


def test_joint_read_and_write_of_the_duals_equal_one_table_per_connective():
    """gather_joint/update_joint on several connectives give the rows, and leave the tables,
    of gather/update on each connective alone, also when a table grows in between."""
    keys, widths = [("or", (0,)), ("and", ()), ("or", ())], [3, 1, 2]
    joint, single = DualStore(), DualStore()
    g = torch.Generator().manual_seed(0)
    for ids in ([0, 2, 5], [5, 1], [9, 3, 0], [4]):  # id 9 grows every table
        index = torch.tensor(ids)
        rows = joint.gather_joint(keys, widths, index)
        parts = [single.gather(k, w, index) for k, w in zip(keys, widths)]
        torch.testing.assert_close(rows, torch.cat(parts, dim=1), rtol=0, atol=0)
        delta = torch.randn(len(ids), sum(widths), generator=g)
        joint.update_joint(keys, index, rows + delta)
        for k, d in zip(keys, delta.split(widths, dim=1)):
            single.update(k, index, d)
        for k in keys:
            torch.testing.assert_close(joint.logits[k], single.logits[k], rtol=0, atol=0)
    assert joint.logits[keys[0]].shape == (10, 3)
    assert joint.state_dict().keys() == single.state_dict().keys()


def test_a_connective_read_alone_after_a_joint_read_sees_the_joint_writes():
    store = DualStore()
    keys = [("or", (0,)), ("or", ())]
    store.gather_joint(keys, [2, 2], torch.tensor([0, 1]))
    store.update_joint(keys, torch.tensor([1]), torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    assert store.gather(("or", ()), 2, torch.tensor([1])).tolist() == [[3.0, 4.0]]
    store.update(("or", (0,)), torch.tensor([1]), torch.tensor([[1.0, 1.0]]))
    assert store.gather_joint(keys, [2, 2], torch.tensor([1])).tolist() == [[2.0, 3.0, 3.0, 4.0]]
    with pytest.raises(ValueError, match="had 2 children and now has 3"):
        store.gather_joint(keys, [3, 2], torch.tensor([1]))


def test_training_mode_check_equals_modules_and_step_still_switches_every_module_to_train():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sequential(
        torch.nn.Dropout(0.5), torch.nn.Linear(4, 4)))
    model[0].register_module("unused", None)  # a None child is skipped
    for setter in [lambda: model.train(), lambda: model[1][0].eval(), lambda: model.eval()]:
        setter()
        assert _all_training(model) == all(m.training for m in model.modules())
    cyclic = torch.nn.Sequential(torch.nn.Linear(2, 2))
    cyclic[0].add_module("parent", cyclic)  # modules() visits each module once; so must we
    assert _all_training(cyclic)
    cyclic[0].training = False  # (train()/eval() themselves recurse forever on a cycle)
    assert not _all_training(cyclic)
    model.train()
    model[1][0].eval()
    t = ll.LogicTrainer(model, None)
    t.step((torch.randn(4, 3), torch.tensor([0, 1, 2, 3])))
    assert all(m.training for m in model.modules())


def test_the_direct_engine_call_gives_the_weights_of_torch_autograd_backward(monkeypatch):
    """The outputs-gradient backward calls the autograd engine without
    ``torch.autograd.backward``'s Python checks when it can; the weights are those of the
    public call, bit for bit."""
    import logiclearn.trainer as trainer_module

    assert trainer_module._run_backward is not None  # the fast path exists in this torch
    weights = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(trainer_module, "_run_backward", None)
        t = ll.LogicTrainer(_mlp(0), _two_views, encoding=_DL2WithOutputsGrad(),
                            constraint_weight=0.5, lr=0.05)
        for lab, unl in _batches():
            t.step(lab, unl)
        weights.append([p.detach().clone() for p in t.model.parameters()])
    for a, b in zip(*weights):
        assert torch.equal(a, b)
