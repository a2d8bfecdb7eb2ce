"""LogicTrainer: SGDA steps, reproducibility, checkpointing, every encoding, clear errors."""

import copy
import io
import shutil

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

import logiclearn as ll


def _data(seed=0, n=64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g)
    y = (X[:, 0] > 0).long()
    U = torch.randn(n, 3, generator=g)
    return X, y, U


def _loaders(X, y, U, bs=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (DataLoader(TensorDataset(X, y), bs, shuffle=True, generator=g),
            DataLoader(ll.IndexedDataset(U), bs, shuffle=True, generator=g))


def _mlp(seed):
    with torch.random.fork_rng(devices=[]):  # initialise without touching the caller's RNG
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))


def _confident(out, batch):
    """Class 1 with probability >= 0.9, or an impossible branch (probability <= -1)."""
    p = out.softmax(-1)
    return (p[:, 1] >= 0.9) | (p[:, 1] <= -1.0)


def _fit(encoding="dual", seed=0, epochs=2, **kw):
    model = _mlp(seed)
    lab, unl = _loaders(*_data(), seed=seed)
    t = ll.LogicTrainer(model, _confident, encoding=encoding, random_state=seed, verbose=0,
                        lr=1e-2, **kw)
    return t.fit(lab, unl, epochs=epochs), model


def test_same_seed_gives_identical_weights_and_duals():
    (t1, m1), (t2, m2) = _fit(seed=3), _fit(seed=3)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(t1.encoding_.store.logits[("or", ())], t2.encoding_.store.logits[("or", ())])
    _, m3 = _fit(seed=4)
    assert not torch.equal(next(m1.parameters()), next(m3.parameters()))


@pytest.mark.parametrize("encoding", ["dual", "dl2", "product", "lukasiewicz", "godel", "pd",
                                      "semantic"])
def test_every_encoding_trains_and_reduces_the_constraint_cost(encoding):
    t, model = _fit(encoding, epochs=6)
    h = t.history_
    assert len(h) == 6 and all(torch.isfinite(torch.tensor(r["mean_cost"])) for r in h)
    assert h[-1]["mean_cost"] < h[0]["mean_cost"]


def test_step_moves_or_duals_towards_the_cheaper_disjunct_before_the_theta_step():
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(0.0)
    # out = u; constraint u >= 1 | u <= -5: for u = 0.5, costs 0.5 and 5.5
    t = ll.LogicTrainer(model, lambda o, b: (o[:, 0] >= 1.0) | (o[:, 0] <= -5.0),
                        loss="mse", encoding_params={"lr": 1.0}, lr=0.1, verbose=0)
    t.step(None, (torch.tensor([[0.5]]), torch.tensor([0])))
    w = torch.softmax(t.encoding_.store.logits[("or", ())][0], -1)
    assert w[0] > 0.5
    # the θ step follows the (re-weighted) cheaper branch: u moves up, towards 1
    assert model(torch.tensor([[0.5]])).item() > 0.5


def test_validation_metric_restores_the_best_epoch_weights():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    lab, unl = _loaders(*_data())
    scores, snapshots = iter([0.1, 0.9, 0.3]), []

    def metric(m):
        snapshots.append([p.detach().clone() for p in m.parameters()])
        return next(scores)

    t = ll.LogicTrainer(model, _confident, lr=0.05, verbose=0).fit(lab, unl, epochs=3,
                                                                   val_metric=metric)
    assert t.best_epoch_ == 1 and t.best_score_ == 0.9
    for p, s in zip(model.parameters(), snapshots[1]):
        assert torch.equal(p, s)
    assert [r["val"] for r in t.history_] == [0.1, 0.9, 0.3]


def test_sigma_schedule_follows_mean_epoch_cost():
    t, _ = _fit("dual", epochs=3, sigma_init=1.0, sigma_target=0.01)
    s = 1.0
    for r in t.history_:
        s = min(max(r["mean_cost"] ** 2, 0.01), s)
        assert r["sigma"] == pytest.approx(s)


def test_pd_multipliers_update_every_pd_update_freq_steps():
    t, _ = _fit("pd", epochs=1, encoding_params={"lr": 1.0, "update_freq": 2})  # 2 ascents
    assert t.n_steps_ == 4
    lam = t.encoding_.multipliers_
    assert lam.shape == (1,) and lam.item() > 1.0


def test_views_are_passed_as_a_tuple_of_terms():
    seen = {}

    def fn(outs, batch):
        seen["n"] = len(outs)
        a, b = outs
        return a[:, 0] <= b[:, 0]

    model = torch.nn.Linear(2, 1)
    t = ll.LogicTrainer(model, fn, loss="mse", verbose=0)
    t.step((torch.randn(4, 2), torch.randn(4, 1)),
           (torch.randn(3, 2), torch.randn(3, 2), torch.arange(3)))
    assert seen["n"] == 2


def test_trainer_errors_are_clear():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        ll.LogicTrainer(lambda x: x)
    with pytest.raises(ValueError, match="constraint_weight"):
        ll.LogicTrainer(model, _confident, constraint_weight=-1)
    with pytest.raises(ValueError, match="encoding must be one of"):
        ll.LogicTrainer(model, _confident, encoding="foo")
    with pytest.raises(ValueError, match="constraint_loss"):
        ll.LogicTrainer(model, _confident, constraint_loss="l1")
    t = ll.LogicTrainer(model, _confident, verbose=0)
    with pytest.raises(ValueError, match="example ids"):
        t.step(None, torch.randn(4, 2))
    bad = ll.LogicTrainer(model, lambda o, b: o, verbose=0)
    with pytest.raises(TypeError, match="returned by constraint must be a logiclearn Formula"):
        bad.step(None, (torch.randn(4, 2), torch.arange(4)))
    with pytest.raises(ValueError, match="epochs"):
        t.fit([(torch.randn(2, 2), torch.tensor([0, 1]))], epochs=0)


def test_constraint_of_the_wrong_shape_is_refused_with_both_sizes():
    model = torch.nn.Linear(2, 2)
    # a formula over 3 instances for a batch of 4 (e.g. a slice that dropped a row)
    t = ll.LogicTrainer(model, lambda o, b: o[:3, 0] <= 0.0)
    with pytest.raises(ValueError, match="formula over 3 instances.*batch has 4 rows"):
        t.step(None, (torch.randn(4, 2), torch.arange(4)))
    # a bare vector atom: all or any of its columns?
    t = ll.LogicTrainer(model, lambda o, b: o <= 0.0)
    with pytest.raises(ValueError, match=r"vector atom of shape \(4, 2\) must sit inside"):
        t.step(None, (torch.randn(4, 2), torch.arange(4)))


def test_unlabelled_batches_whose_sizes_disagree_are_refused():
    model = torch.nn.Linear(2, 2)
    t = ll.LogicTrainer(model, lambda o, b: o[0][:, 0] <= o[1][:, 0])
    with pytest.raises(ValueError, match=r"same number of rows, got \[4, 3\]"):
        t.step(None, (torch.randn(4, 2), torch.randn(3, 2), torch.arange(4)))
    with pytest.raises(ValueError, match="4 rows per view but 5 example ids"):
        t.step(None, (torch.randn(4, 2), torch.randn(4, 2), torch.arange(5)))
    with pytest.raises(ValueError, match="3 inputs but 2 targets"):
        t.step((torch.randn(3, 2), torch.tensor([0, 1])), None)


def test_unknown_encoding_and_bad_encoding_params_are_named():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="encoding must be one of .* got 'dual2'"):
        ll.LogicTrainer(model, _confident, encoding="dual2")
    with pytest.raises(TypeError, match="invalid parameters \\['tau'\\] for encoding 'dual'"):
        ll.LogicTrainer(model, _confident, encoding_params={"tau": 1.0})
    with pytest.raises(ValueError, match="τ step size"):
        ll.LogicTrainer(model, _confident, encoding_params={"lr": -1.0})
    with pytest.raises(TypeError, match="random_state"):
        ll.LogicTrainer(model, _confident, random_state="0")


def test_fit_leaves_the_global_torch_generator_alone_and_accepts_numpy_generators():
    import numpy as np

    before = torch.get_rng_state()
    _fit(seed=3)
    assert torch.equal(before, torch.get_rng_state())
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.5),
                                torch.nn.Linear(8, 2))
    w0 = copy.deepcopy(model.state_dict())
    outs = []
    for rs in [np.random.default_rng(1), np.random.default_rng(1), np.random.RandomState(2)]:
        model.load_state_dict(w0)
        lab = [(X[:16], y[:16]) for X, y, _ in [_data()]]
        ll.LogicTrainer(model, None, random_state=rs, lr=0.1).fit(lab, epochs=2)
        outs.append(next(model.parameters()).detach().clone())
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])


class _HalfDL2(ll.DL2Encoding):
    """A user's encoding in one class: the trainer must not need to know about it."""

    name = "half-dl2"

    def __init__(self):
        self.calls = []

    def before_step(self, formula, index, loss_fn):
        self.calls.append("before")

    def penalty(self, formula, index, loss_fn):
        p = super().penalty(formula, index, loss_fn)
        return ll.Penalty(0.5 * p.value, p.cost)

    def after_step(self, penalty):
        self.calls.append("after")


def test_a_new_encoding_plugs_into_the_trainer_through_its_hooks():
    ll.register_encoding("half-dl2", _HalfDL2)
    try:
        t = ll.LogicTrainer(torch.nn.Linear(2, 2), lambda o, b: o[:, 0] <= -1.0,
                            encoding="half-dl2", lr=0.0)
        x = torch.zeros(4, 2)
        out = t.step(None, x)  # no example ids needed: needs_index is False
        cost = float(torch.relu(t.model(x)[:, 0] + 1.0).mean().detach())
        assert out["constraint"] == pytest.approx(0.5 * cost)
        assert t.encoding_.calls == ["before", "after"]
    finally:
        ll.ENCODINGS.unregister("half-dl2")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_verbose_follows_the_shared_progress_rules_with_the_losses_as_postfix(monkeypatch):
    """verbose=0: nothing; 1: a bar on a terminal only; 2: a bar in a log too, redrawn at most
    every 10 s (a 50-epoch fit writes its first and last states, not one line per epoch)."""
    X, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    lab = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=8)

    def fit(verbose, stream):
        monkeypatch.setattr("sys.stderr", stream)
        t = ll.LogicTrainer(torch.nn.Linear(2, 2), random_state=0, verbose=verbose)
        fit.last = t.fit(lab, epochs=50).history_[-1]
        return stream.getvalue()

    assert fit(0, _Terminal()) == ""
    assert fit(1, io.StringIO()) == ""  # a log: no bar at verbose=1
    term = fit(1, _Terminal())
    assert "LogicTrainer epoch" in term and "50/50" in term
    log = fit(2, io.StringIO())
    assert 0 < log.count("\r") <= 3 and "50/50" in log
    final = log.split("\r")[-1]  # the last epoch's losses, as the postfix of the closed bar
    shown = tqdm.format_num(round(fit.last["supervised"], 4))  # as the trainer rounds it
    assert f"supervised={shown}" in final and "mean_cost" not in final


def _two_view_data(seed=0, n=48):
    g = torch.Generator().manual_seed(seed)
    X, U, R = (torch.randn(n, 4, generator=g) for _ in range(3))
    return X, torch.randint(0, 3, (n,), generator=g), U, R


def _views_constraint(outs, batch):
    """f(R(x)) in {0, 1} or f(x) = 2: a nested disjunction over two views (as in the paper)."""
    px, pr = (o.softmax(-1) for o in outs)
    return ll.any_of(pr[:, :2] == 1.0) | (px[:, 2] == 1.0)


def _trainer_30_steps(compile_constraint=False, steps=30, sigma=0.5, tau_lr=2.0,
                      constraint=_views_constraint, trainer=False):
    X, y, U, R = _two_view_data()
    model = _mlp_3(0)
    t = ll.LogicTrainer(model, constraint, encoding_params={"lr": tau_lr}, lr=1e-2,
                        sigma_init=sigma, sigma_target=sigma,
                        compile_constraint=compile_constraint)
    for s in range(steps):
        sl = slice(16 * (s % 3), 16 * (s % 3) + 16)
        t.step((X[sl], y[sl]), (U[sl], R[sl], torch.arange(48)[sl]))
    return (model, t.encoding_.state_dict()) + ((t,) if trainer else ())


def _mlp_3(seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def test_dual_trainer_equals_a_hand_written_sgda_loop_after_30_steps():
    """LogicTrainer's fused dual step (chain rule written out, one autograd node) gives the
    weights and duals of the paper's SGDA written in plain torch autograd."""
    from logiclearn.loss import truncated_gaussian_nll

    model, duals = _trainer_30_steps()
    X, y, U, R = _two_view_data()
    ref = _mlp_3(0)
    opt = torch.optim.Adam(ref.parameters(), lr=1e-2)
    tau_in, tau_out = torch.zeros(48, 2), torch.zeros(48, 2)

    def cost(px, pr, t_in, t_out):
        inner = (torch.softmax(t_in, -1) * (pr[:, :2] - 1).abs()).sum(-1)
        both = torch.stack([inner, (px[:, 2] - 1).abs()], -1)
        return (torch.softmax(t_out, -1) * both).sum(-1)

    for s in range(30):
        sl = slice(16 * (s % 3), 16 * (s % 3) + 16)
        out = ref(torch.cat([X[sl], U[sl], R[sl]]))
        px, pr = out[16:32].softmax(-1), out[32:].softmax(-1)
        t_in = tau_in[sl].clone().requires_grad_(True)
        t_out = tau_out[sl].clone().requires_grad_(True)
        loss_tau = truncated_gaussian_nll(cost(px.detach(), pr.detach(), t_in, t_out), 0.5)
        g_in, g_out = torch.autograd.grad(loss_tau.sum(), [t_in, t_out])
        tau_in[sl] -= 2.0 * g_in  # both connectives are disjunctions: descent
        tau_out[sl] -= 2.0 * g_out
        c = cost(px, pr, tau_in[sl], tau_out[sl])
        loss = torch.nn.functional.cross_entropy(out[:16], y[sl]) \
            + truncated_gaussian_nll(c, 0.5).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(duals["or:"], tau_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(duals["or:0"], tau_in, rtol=1e-5, atol=1e-6)
    assert tau_out.abs().max() > 0.05 and tau_in.abs().max() > 0.05  # the duals did move


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="torch.compile's CPU backend (inductor) needs a C compiler")
def test_compiled_constraint_step_equals_the_eager_step():
    """compile_constraint=True: step 1 runs eagerly and records the formula, step 2 compiles
    the whole step (the user's constraint, τ step, penalty, gradient w.r.t. the outputs), the
    later steps run the compiled function (no fallback); weights and duals equal the eager
    trainer's (itself equal to the hand-written SGDA loop, test above). The one cold
    compilation of the suite (about 10-30 s on 2 cores)."""
    m1, d1 = _trainer_30_steps(steps=6)
    m2, d2, t = _trainer_30_steps(True, steps=6, trainer=True)
    (step,) = t.encoding_._steps.values()
    assert step.fn is not None and step.warm and not step.failed
    for a, b in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for k in d1:
        torch.testing.assert_close(d1[k], d2[k], rtol=1e-5, atol=1e-6)
    assert d1["or:"].abs().max() > 0.05  # the duals did move


def _quantified_constraint(outs, batch):
    px, pr = (o.softmax(-1) for o in outs)
    return ll.forall(ll.any_of(pr[:, :2] == 1.0) | (px[:, 2] == 1.0))


def test_compile_constraint_leaves_a_formula_it_cannot_fuse_to_the_eager_path():
    """A quantified formula has no fused (hence no compiled) step: with compile_constraint=True
    the trainer takes the general path, compiles nothing, and gives the eager results."""
    m1, d1 = _trainer_30_steps(steps=4, constraint=_quantified_constraint)
    m2, d2, t = _trainer_30_steps(True, steps=4, constraint=_quantified_constraint,
                                  trainer=True)
    (step,) = t.encoding_._steps.values()
    assert step.plan is None and step.fn is None
    for a, b in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    for k in d1:
        torch.testing.assert_close(d1[k], d2[k], rtol=1e-6, atol=1e-7)


def _untraceable_constraint(outs, batch):
    px, pr = (o.softmax(-1) for o in outs)
    target = 1.0 if float(px.value.detach().sum()) > -1 else 0.0  # Python float: no graph
    return ll.any_of(pr[:, :2] == target) | (px[:, 2] == 1.0)


def test_compile_constraint_warns_and_runs_eagerly_when_the_constraint_cannot_be_compiled():
    """A constraint the compiler cannot trace whole (it reads a tensor as a Python float): the
    compiled step fails once, says so with a RuntimeWarning, and every step runs eagerly with
    the eager trainer's results."""
    m1, d1 = _trainer_30_steps(steps=4, constraint=_untraceable_constraint)
    with pytest.warns(RuntimeWarning, match="(?s)could not be compiled .* runs eagerly"):
        m2, d2, t = _trainer_30_steps(True, steps=4, constraint=_untraceable_constraint,
                                      trainer=True)
    (step,) = t.encoding_._steps.values()
    assert step.failed and step.fn is None
    for a, b in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    for k in d1:
        torch.testing.assert_close(d1[k], d2[k], rtol=1e-6, atol=1e-7)


class _BuiltDL2(ll.DL2Encoding):
    """An encoding that computes its step from the model's outputs and the formula builder."""

    def penalty_from_outputs(self, build, outputs, batch, index, loss_fn):
        f = build(outputs, batch)
        return ll.Penalty(2.0 * loss_fn(self.cost(f)).mean(), self.cost(f).detach())


def test_an_encoding_can_take_the_step_from_the_outputs_and_the_formula_builder():
    """penalty_from_outputs: the trainer hands the encoding the outputs and a builder whose
    formula is the constraint's (checked, in negation normal form); what it returns is the
    step's penalty (here twice DL2's: same step as DL2 with λ = 2)."""
    x, y = torch.randn(8, 3, generator=torch.Generator().manual_seed(0)), torch.arange(8) % 2
    u = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))

    def fn(out, batch):
        return ~(out[:, 0] >= 0.5)

    runs = []
    for enc, weight in [(_BuiltDL2(), 1.0), ("dl2", 2.0)]:
        t = ll.LogicTrainer(_mlp(0), fn, encoding=enc, constraint_weight=weight, lr=0.1)
        losses = [t.step((x, y), u)["loss"] for _ in range(3)]
        runs.append((losses, [p.detach().clone() for p in t.model.parameters()]))
    assert runs[0][0] == pytest.approx(runs[1][0], rel=1e-6)
    assert runs[0][0][0] != pytest.approx(runs[0][0][-1])  # the model did move
    for a, b in zip(runs[0][1], runs[1][1]):
        torch.testing.assert_close(a, b)


def test_compile_constraint_is_a_bool_and_needs_an_encoding_with_a_compiled_step():
    with pytest.raises(TypeError, match="compile_constraint must be a bool; got 'yes'"):
        ll.LogicTrainer(torch.nn.Linear(2, 2), _confident, compile_constraint="yes")
    with pytest.raises(ValueError, match="'dl2' encoding has no compiled step"):
        ll.LogicTrainer(torch.nn.Linear(2, 2), _confident, encoding="dl2",
                        compile_constraint=True)


def test_a_constraint_without_unlabelled_data_warns_naming_it():
    """Issue 24 item 12: a constraint given with no unlabelled data was silently ignored."""
    def first_ge_second(out, batch):
        return out[:, 0] >= out[:, 1]

    X, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    labeled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=4)
    with pytest.warns(UserWarning, match=r"the constraint 'first_ge_second' is ignored: .* "
                                         r"unlabeled is None"):
        ll.LogicTrainer(torch.nn.Linear(2, 2), first_ge_second).fit(labeled, epochs=1)
    with pytest.warns(UserWarning, match=r"the constraint 'first_ge_second' is not trained "
                                         r"on: .* X_unlabeled is None"):
        ll.ConstrainedClassifier(torch.nn.Linear(2, 2), first_ge_second, epochs=1,
                                 random_state=0).fit(X.numpy(), y.numpy())
    with pytest.warns(UserWarning, match=r"X_unlabeled is ignored: .* constraint is None"):
        ll.ConstrainedClassifier(torch.nn.Linear(2, 2), epochs=1,
                                 random_state=0).fit(X.numpy(), y.numpy(), X.numpy())
