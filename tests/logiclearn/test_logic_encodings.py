"""Encodings: zero cost exactly on satisfying assignments, dual saddle point, closed forms."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from ll_strategies import build, formula_specs, reference_truth, values_strategy

import logiclearn as ll

EXACT = ["dual", "dl2", "product", "godel", "semantic"]


@pytest.mark.parametrize("name", EXACT)
@settings(max_examples=60, deadline=None)
@given(spec=formula_specs(boundary_free=True), X=values_strategy(True))
def test_cost_is_zero_exactly_on_satisfying_assignments(name, spec, X):
    f = build(spec, ll.term(X))
    truth = reference_truth(spec, X.numpy())
    cost = ll.get_encoding(name).cost(f).detach().numpy()
    assert np.all(cost >= 0)
    np.testing.assert_array_equal(cost == 0, truth)


@settings(max_examples=60, deadline=None)
@given(spec=formula_specs(boundary_free=True), X=values_strategy(True))
def test_lukasiewicz_cost_is_zero_on_every_satisfying_assignment(spec, X):
    f = build(spec, ll.term(X))
    truth = reference_truth(spec, X.numpy())
    cost = ll.get_encoding("lukasiewicz").cost(f).detach().numpy()
    assert np.all(cost[truth] == 0) and np.all(cost >= 0)


def test_lukasiewicz_disjunction_is_satisfied_by_two_half_true_disjuncts():
    p = ll.term(torch.tensor([[0.5, 0.5]]))
    f = ll.any_of(p == 1.0)
    assert not f.holds().item()
    assert ll.get_encoding("lukasiewicz").cost(f).item() == 0.0  # the known t-norm shortcut
    assert ll.get_encoding("dual").cost(f).item() == pytest.approx(0.5)


def test_equality_atom_cost_is_zero_only_at_equality():
    x = ll.term(torch.tensor([1.0, 1.5, 0.0]))
    for name in EXACT + ["lukasiewicz"]:
        c = ll.get_encoding(name).cost(x == 1.0)
        assert c[0].item() == 0.0 and c[1].item() > 0 and c[2].item() > 0, name


def test_dl2_and_fuzzy_match_hand_computed_values():
    a, b = 0.3, 0.6  # atom costs of x >= 0.5 (0.3) and x <= -0.4 (0.6) at x = 0.2
    x = ll.term(torch.tensor([0.2]))
    fa, fb = x >= 0.5, x <= -0.4
    c = {n: (ll.get_encoding(n).cost(fa & fb).item(), ll.get_encoding(n).cost(fa | fb).item())
         for n in ["dl2", "product", "lukasiewicz", "godel", "dual"]}
    ta, tb = 1 - a, 1 - b
    assert c["dl2"] == pytest.approx((a + b, a * b))
    assert c["product"] == pytest.approx((1 - ta * tb, 1 - (ta + tb - ta * tb)))
    assert c["lukasiewicz"] == pytest.approx((1 - max(0, ta + tb - 1), 1 - min(1, ta + tb)))
    assert c["godel"] == pytest.approx((1 - min(ta, tb), 1 - max(ta, tb)))
    assert c["dual"] == pytest.approx((max(a, b), min(a, b)))


def test_lukasiewicz_implication_is_nandwani_tnorm_relaxation():
    p_r = torch.tensor([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    p_x = torch.tensor([[0.2, 0.5, 0.3], [0.3, 0.3, 0.4]])
    r, x = ll.term(p_r), ll.term(p_x)
    f = ll.any_of(r[:, :2] == 1.0) | (x[:, 2] == 1.0)  # "not class 2" written out, or x is 2
    expected = 1 - torch.clamp(1 - p_r[:, 2] + p_x[:, 2], max=1.0)
    torch.testing.assert_close(ll.get_encoding("lukasiewicz").cost(f), expected)


def _brute_force_semantic(probs, satisfied):
    total = 0.0
    for world in itertools.product([0, 1], repeat=len(probs)):
        if satisfied(world):
            total += np.prod([p if w else 1 - p for p, w in zip(probs, world)])
    return -np.log(total)


def test_semantic_loss_equals_brute_force_weighted_model_count():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, size=(5, 4)).astype(np.float32)
    t = ll.term(torch.tensor(p))
    # (a or b) and (c -> not d), a..d true with probabilities p[:, 0..3]
    f = ll.any_of(t[:, 0] == 1, t[:, 1] == 1) & ((t[:, 2] == 1) >> ~(t[:, 3] == 1))
    got = ll.get_encoding("semantic").cost(f).numpy()
    want = [_brute_force_semantic(row, lambda w: (w[0] or w[1]) and (not w[2] or not w[3]))
            for row in p]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_semantic_exactly_one_matches_closed_form():
    p = torch.tensor([[0.2, 0.7, 0.4]])
    t = ll.term(p)
    one = [ll.all_of([t[:, j] == 1.0 if j == i else ~(t[:, j] == 1.0) for j in range(3)])
           for i in range(3)]
    got = ll.get_encoding("semantic").cost(ll.any_of(one)).item()
    q = p[0].numpy()
    want = -np.log(sum(q[i] * np.prod([1 - q[j] for j in range(3) if j != i]) for i in range(3)))
    assert got == pytest.approx(want, rel=1e-5)


def test_semantic_refuses_too_many_variables():
    t = ll.term(torch.rand(2, 20))
    with pytest.raises(ValueError, match="max_vars"):
        ll.get_encoding("semantic").cost(ll.any_of(t == 1.0))


def test_dual_sgda_converges_to_max_min_saddle_value():
    torch.manual_seed(0)
    B = 16
    x = ll.term(torch.rand(B, 6) * 2)
    # (x0<=0 | x1<=0 | x2<=0) & (x3<=0 | x4<=0) & x5 <= 0 : saddle = max(min, min, c)
    f = ll.any_of(x[:, :3] <= 0.0) & ll.any_of(x[:, 3] <= 0, x[:, 4] <= 0) & (x[:, 5] <= 0)
    enc = ll.get_encoding("dual")
    idx = torch.arange(B)
    v = x.value
    saddle = torch.stack([v[:, :3].min(1).values, v[:, 3:5].min(1).values, v[:, 5]], 1)
    saddle = saddle.max(1).values
    start = enc.cost(f, index=idx)
    assert (start - saddle).abs().max() > 0.1  # uniform τ is far from the saddle value
    for _ in range(300):
        enc.dual_step(f, idx, lr=20.0)
    torch.testing.assert_close(enc.cost(f, index=idx), saddle, atol=2e-3, rtol=1e-3)
    torch.testing.assert_close(enc.cost(f), saddle)  # no ids: the saddle value directly


def test_dual_step_descends_disjunction_and_ascends_conjunction_weights():
    x = ll.term(torch.tensor([[0.2, 0.8]]))
    idx = torch.tensor([0])
    enc = ll.get_encoding("dual")
    f_or, f_and = ll.any_of(x >= 1.0), ll.all_of(x >= 1.0)  # costs 0.8 and 0.2
    enc.dual_step(f_or, idx, lr=1.0)
    w_or = torch.softmax(enc.store.logits[("or", ())][0], -1)
    assert w_or[1] > w_or[0]  # weight moves to the cheaper disjunct (cost 0.2)
    enc2 = ll.get_encoding("dual")
    enc2.dual_step(f_and, idx, lr=1.0)
    w_and = torch.softmax(enc2.store.logits[("and", ())][0], -1)
    assert w_and[0] > w_and[1]  # weight moves to the most violated conjunct (cost 0.8)


def test_dual_store_refuses_a_changed_formula_structure():
    x = ll.term(torch.rand(2, 3))
    enc = ll.get_encoding("dual")
    enc.cost(ll.any_of(x <= 0), index=torch.arange(2))
    with pytest.raises(ValueError, match="same formula structure"):
        enc.cost(ll.any_of(x[:, :2] <= 0), index=torch.arange(2))


def test_pd_multipliers_ascend_on_violation_and_stay_nonnegative():
    x = ll.term(torch.tensor([0.2, 0.9]))
    enc = ll.get_encoding("pd")
    f = (x >= 0.5) & (x <= 0.95)  # first constraint violated by 0.3 on one instance
    costs = enc.constraint_costs(f)
    torch.testing.assert_close(costs, torch.tensor([[0.3, 0.0], [0.0, 0.0]]))
    enc.ascend(costs, lr=2.0)
    torch.testing.assert_close(enc.multipliers_, torch.tensor([1.3, 1.0]))
    assert enc.weighted_cost(costs).item() == pytest.approx(1.3 * 0.15)
    enc.ascend(-10 * torch.ones(1, 2), lr=1.0)
    assert torch.all(enc.multipliers_ == 0)



def test_pd_ascend_and_weighted_cost_work_before_any_constraint_costs_call():
    """The multipliers start at ``init`` on first use by any public method (mypy found that
    ``ascend`` and ``weighted_cost`` dereferenced ``multipliers_ = None`` before a fold)."""
    costs = torch.tensor([[0.4, 0.0], [0.0, 0.2]])
    enc = ll.PrimalDualEncoding(init=0.5)
    assert enc.weighted_cost(costs).item() == pytest.approx(0.5 * 0.2 + 0.5 * 0.1)
    enc = ll.PrimalDualEncoding(init=0.5)
    enc.ascend(costs, lr=1.0)  # 0.5 + mean over the batch
    torch.testing.assert_close(enc.multipliers_, torch.tensor([0.7, 0.6]))
    with pytest.raises(ValueError, match="3 top-level constraints, the multipliers 2"):
        enc.weighted_cost(torch.zeros(1, 3))

def test_quantifier_costs_are_mean_and_min_over_the_batch():
    x = ll.term(torch.tensor([0.0, 0.4, 1.0]))
    for name in EXACT:
        enc = ll.get_encoding(name)
        per = enc.cost(x <= 0.5)
        assert enc.cost(ll.forall(x <= 0.5)).item() == pytest.approx(per.mean().item())
        assert enc.cost(ll.exists(x >= 2.0)).item() == pytest.approx(1.0 if name != "semantic"
                                                                     else -np.log(1e-12), rel=1e-3)


def test_unknown_encoding_name_is_a_value_error():
    with pytest.raises(ValueError, match="encoding must be one of"):
        ll.get_encoding("tnorm")
    with pytest.raises(TypeError, match="encoding must be"):
        ll.get_encoding(3)


def test_hand_chain_rule_tau_step_equals_the_autograd_tau_step():
    from logiclearn.loss import ConstraintLoss, truncated_gaussian_nll

    g = torch.Generator().manual_seed(0)
    x = ll.term(torch.rand(6, 5, generator=g) * 2)
    # nested: (any of 3 columns | (x3 <= 0 & x4 <= 0.5)) & x4 <= 1
    f = (ll.any_of(x[:, :3] <= 0.0) | ((x[:, 3] <= 0.0) & (x[:, 4] <= 0.5))) & (x[:, 4] <= 1.0)
    idx = torch.tensor([0, 2, 4, 6, 8, 10])

    def plain_loss(c):  # a plain callable: the τ step goes through autograd
        return truncated_gaussian_nll(c, 0.5)

    by_hand, by_autograd = ll.get_encoding("dual", lr=3.0), ll.get_encoding("dual", lr=3.0)
    for _ in range(3):
        by_hand.dual_step(f, idx, ConstraintLoss("truncated", 0.5))  # the fused chain rule
        by_autograd.dual_step(f, idx, plain_loss)
    a, b = by_hand.state_dict(), by_autograd.state_dict()
    assert sorted(a) == sorted(b) and len(a) == 4  # the root and, two or, the inner and
    for k in a:
        torch.testing.assert_close(a[k], b[k])
        assert a[k].abs().max() > 0.01  # the duals did move


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_taped_theta_penalty_equals_the_autograd_penalty_in_value_and_gradient(dtype):
    """The dual penalty after a hand-taped τ step (one backward node, chain rule by hand)
    gives the value and the gradient of the generic fold through autograd."""
    from logiclearn.loss import ConstraintLoss

    g = torch.Generator().manual_seed(1)
    raw = (torch.rand(7, 6, generator=g, dtype=dtype) * 2 - 0.5)
    raw[0, 1] = 0.0  # an atom exactly on its boundary: relu subgradient 0
    idx = torch.tensor([1, 3, 5, 7, 9, 11, 13])
    loss_fn = ConstraintLoss("truncated", 0.5)

    def formula(v):
        x = ll.term(v)
        inner = ll.any_of(x[:, :3] <= 0.0) | ((x[:, 3] == 1.0) & ll.lt(x[:, 4], 0.5, margin=0.1))
        return (inner & (x[:, 5] >= x[:, 0])) | ~(x[:, 2] <= 1.5)

    grads, values = [], []
    for taped in (True, False):
        v = raw.clone().requires_grad_(True)
        enc = ll.get_encoding("dual", lr=2.0)
        for _ in range(2):  # the second step has non-uniform duals
            f = ll.encodings.prepare(formula(v))
            enc.before_step(f, idx, loss_fn)
            if not taped:
                enc._pending = None  # forces the generic fold with the fresh τ
            pen = enc.penalty(f, idx, loss_fn)
        assert ("PrecomputedGrad" in type(pen.value.grad_fn).__name__) == taped
        (grad,) = torch.autograd.grad(pen.value * 1.7, [v])
        grads.append(grad)
        values.append(pen.value.detach())
    torch.testing.assert_close(values[0], values[1])
    torch.testing.assert_close(grads[0], grads[1])
    assert grads[0].abs().sum() > 0.1 and grads[0][0, 1] == 0


def test_a_taken_encoding_name_is_refused_unless_overwrite_and_names_lists_them():
    """One registry rule across the distribution (issue 24): a taken name is refused, naming
    it; overwrite=True replaces it; ENCODINGS.names() is the one way to list."""
    names = ll.ENCODINGS.names()
    assert {"dual", "dl2", "product", "lukasiewicz", "godel", "pd", "semantic"} <= set(names)
    with pytest.raises(ValueError, match="encoding 'dual' is already registered; pass "
                                         "overwrite=True"):
        ll.register_encoding("dual", ll.DL2Encoding)
    with pytest.raises(ValueError, match="encoding alias 'fuzzy' is already registered"):
        ll.register_encoding("my-fuzzy", ll.DL2Encoding, aliases=("fuzzy",))
    ll.ENCODINGS.unregister("my-fuzzy")
    original = ll.ENCODINGS["dl2"]
    try:
        ll.register_encoding("dl2", ll.DualEncoding, overwrite=True)
        assert isinstance(ll.get_encoding("dl2"), ll.DualEncoding)
    finally:
        ll.register_encoding("dl2", original, overwrite=True)
    assert ll.ENCODINGS.names() == names


class _DuckDL2:
    """An encoding written from the protocol alone (no logiclearn.Encoding base class)."""

    name, default_loss, needs_index = "duck", "linear", False

    def cost(self, formula, index=None, detach=False):
        return ll.get_encoding("dl2").cost(formula, index=index, detach=detach)

    def before_step(self, formula, index, loss_fn):
        """DL2 keeps no state between steps: nothing to do before one."""

    def penalty(self, formula, index, loss_fn):
        cost = self.cost(formula, index=index)
        return ll.Penalty(loss_fn(cost).mean(), cost)

    def after_step(self, penalty):
        """Nor after one."""


def test_an_encoding_missing_protocol_members_is_refused_at_construction_naming_them():
    """Issue 24 item 6: the four methods the docs once listed passed get_encoding and then
    failed inside the trainer (default_loss, needs_index, penalty_from_outputs); now the
    protocol is checked up front and the error names what is missing."""
    class FourMethods:
        cost = before_step = penalty = after_step = _DuckDL2.cost

    msg = r"got FourMethods, which lacks the attributes name, default_loss, needs_index"
    with pytest.raises(TypeError, match=msg):
        ll.get_encoding(FourMethods())
    with pytest.raises(TypeError, match=msg):
        ll.LogicTrainer(torch.nn.Linear(2, 2), lambda o, b: o[:, 0] <= 0.0,
                        encoding=FourMethods())
    with pytest.raises(TypeError, match=r"got NoneType$"):
        ll.get_encoding(None)


def test_an_encoding_with_the_protocol_members_alone_trains_without_the_optional_hooks():
    net = torch.nn.Linear(2, 2)
    t = ll.LogicTrainer(net, lambda o, b: o[:, 0] <= -1.0, encoding=_DuckDL2(), lr=0.0)
    x = torch.zeros(4, 2)
    out = t.step(None, x)
    assert out["constraint"] == pytest.approx(float(torch.relu(net(x)[:, 0] + 1.0).mean().detach()))
