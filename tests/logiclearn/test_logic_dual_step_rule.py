"""The dual encoding's τ update rules: ``step="sgda"`` (the paper's, default) and ``"hedge"``."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch

import logiclearn as ll
from logiclearn.encodings.dual import MASKED_LOGIT, DualEncoding, DualStore
from logiclearn.loss import ConstraintLoss

Loss = Callable[[torch.Tensor], torch.Tensor]

TRUNCATED = ConstraintLoss("truncated", 0.2)  # a ConstraintLoss: the fused path


def identity(c: torch.Tensor) -> torch.Tensor:
    return c  # not a ConstraintLoss: the generic (fold) path


def _nested(c: torch.Tensor) -> ll.Formula:
    # ((c0 ∧ (c1 ∨ c2 ∨ c3)) ∨ (c4 ∧ c5)): atom costs c0..c5 (all >= 0)
    t = ll.term(c)
    a = [t[:, i] <= 0.0 for i in range(6)]
    return (a[0] & (a[1] | a[2] | a[3])) | (a[4] & a[5])


COSTS = torch.tensor([[0.1, 0.5, 0.3, 0.9, 0.7, 0.2],
                      [0.9, 0.2, 0.6, 0.4, 0.3, 0.8],
                      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                      [0.4, 0.8, 0.6, 0.7, 0.5, 0.45]])


def _saddle_by_hand(c: list[float]) -> float:
    return min(max(c[0], min(c[1], c[2], c[3])), max(c[4], c[5]))


@pytest.mark.parametrize("loss", [TRUNCATED, identity], ids=["fused", "generic"])
def test_hedge_reaches_the_saddle_value_max_over_and_min_over_or_of_a_nested_formula(
        loss: Loss) -> None:
    idx = torch.arange(len(COSTS))
    enc = DualEncoding(lr=2.0, step="hedge", clip=10.0)
    for _ in range(300):
        enc.before_step(_nested(COSTS), idx, loss)
    got = enc.cost(_nested(COSTS), index=idx)
    closed = DualEncoding().cost(_nested(COSTS))  # no index: the saddle value
    by_hand = [_saddle_by_hand(r) for r in COSTS.tolist()]
    assert closed.tolist() == pytest.approx(by_hand)
    # the losers' logits reach -clip; the winner's stalls once the mixture is on it (its step
    # is lr (S - S_win) -> 0), so the losers keep a weight of ~e^-12 here: atol 1e-4
    torch.testing.assert_close(got, closed, rtol=0, atol=1e-4)
    assert float((DualEncoding().cost(_nested(COSTS), index=idx) - closed).abs().max()) > 0.05


def test_the_fused_and_generic_hedge_steps_write_the_same_duals() -> None:
    idx = torch.arange(len(COSTS))
    a, b = DualEncoding(lr=0.7, step="hedge"), DualEncoding(lr=0.7, step="hedge")
    for s in range(5):
        c = COSTS.roll(s, dims=1)
        a.before_step(_nested(c), idx, TRUNCATED)
        b.before_step(_nested(c), idx, identity)
    da, db = a.state_dict(), b.state_dict()
    assert da.keys() == db.keys() and len(da) == 5
    for k in da:
        torch.testing.assert_close(da[k], db[k], rtol=1e-6, atol=1e-6)
        assert da[k].abs().max() > 0.05  # they did move


def test_hedge_steps_a_quantified_formula_like_its_body() -> None:
    # the hedge step does not use the loss: forall(f) moves f's connectives as f does
    idx = torch.arange(len(COSTS))
    a, b = DualEncoding(lr=0.7, step="hedge"), DualEncoding(lr=0.7, step="hedge")
    for _ in range(3):
        a.dual_step(ll.forall(_nested(COSTS)), idx, identity)
        b.dual_step(_nested(COSTS), idx)
    da, db = a.state_dict(), b.state_dict()
    assert sorted(k.split(":")[0] for k in da) == sorted(k.split(":")[0] for k in db)
    for va, vb in zip(sorted(da.items()), sorted(db.items())):
        torch.testing.assert_close(va[1], vb[1])


@pytest.mark.parametrize("loss", [TRUNCATED, identity], ids=["fused", "generic"])
def test_a_dropped_conjunct_recovers_under_hedge_but_not_under_sgda(loss: Loss) -> None:
    # phase 1: conjunct 0 costs 0 (holds for the initial model), its weight is driven to ~0;
    # phase 2: it costs 1, the largest: the ∧ should move its weight back onto it
    idx = torch.tensor([0])
    early = torch.tensor([[0.0, 0.5, 0.5]])
    late = torch.tensor([[1.0, 0.5, 0.5]])

    def flat(c: torch.Tensor) -> ll.Formula:
        t = ll.term(c)
        return ll.all_of(t[:, 0] <= 0.0, t[:, 1] <= 0.0, t[:, 2] <= 0.0)

    def weights(enc: DualEncoding) -> tuple[float, float]:
        for _ in range(40):
            enc.before_step(flat(early), idx, loss)
        w_early = float(torch.softmax(enc.store.logits[("and", ())][0], -1)[0])
        for _ in range(40):
            enc.before_step(flat(late), idx, loss)
        return w_early, float(torch.softmax(enc.store.logits[("and", ())][0], -1)[0])

    hedge_early, hedge_late = weights(DualEncoding(lr=3.0, step="hedge"))
    sgda_early, sgda_late = weights(DualEncoding(lr=100.0))
    assert hedge_early < 0.01 and sgda_early < 1e-3  # both dropped it (hedge: to the clip)
    assert hedge_late > 0.99  # back on the worst conjunct
    assert sgda_late < 1e-3  # locked out: its step is proportional to its weight


@pytest.mark.parametrize("loss", [TRUNCATED, identity], ids=["fused", "generic"])
def test_masked_children_keep_weight_zero_under_hedge(loss: Loss) -> None:
    # child 0 is the costliest conjunct but masked for example 1; child 1 starts below -clip
    idx = torch.tensor([0, 1])
    c = ll.term(torch.tensor([[2.0, 0.5, 0.1], [2.0, 0.5, 0.1]]))
    f = ll.all_of(c[:, 0] <= 0.0, c[:, 1] <= 0.0, c[:, 2] <= 0.0)
    store = DualStore()
    store.logits[("and", ())] = torch.tensor([[0.0, 0.0, 0.0], [MASKED_LOGIT, -20.0, 0.0]])
    enc = DualEncoding(lr=50.0, store=store, step="hedge", clip=5.0)
    for _ in range(10):
        enc.before_step(f, idx, loss)
    logits = store.logits[("and", ())]
    assert logits[1, 0].item() == MASKED_LOGIT  # untouched
    assert torch.softmax(logits[1], -1)[0].item() == 0.0
    assert logits[1, 1].item() == 5.0  # an unmasked logit below -clip is clipped and moves
    assert logits[0].tolist() == [5.0, -5.0, -5.0]
    assert enc.cost(f, index=idx)[1].item() == pytest.approx(0.5, abs=1e-4)


def _trainer(steps: int, compile_constraint: bool = False, **params: object
             ) -> tuple[torch.nn.Module, dict[str, torch.Tensor], DualEncoding]:
    g = torch.Generator().manual_seed(0)
    X, U = torch.randn(32, 4, generator=g), torch.randn(48, 4, generator=g)
    y = torch.randint(0, 3, (32,), generator=g)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))

    def constraint(out: ll.Term | tuple[ll.Term, ...],
                   batch: torch.Tensor | Sequence[torch.Tensor]) -> ll.Formula:
        assert isinstance(out, ll.Term)
        p = out.softmax(-1)
        return ((p[:, 0] >= 0.6) | (p[:, 1] >= 0.6)) & (p[:, 2] <= 0.3)

    t = ll.LogicTrainer(model, constraint, encoding_params={"lr": 2.0, **params}, lr=1e-2,
                        sigma_init=0.5, sigma_target=0.5, compile_constraint=compile_constraint)
    for s in range(steps):
        sl = slice(16 * (s % 3), 16 * (s % 3) + 16)
        t.step((X[16 * (s % 2):16 * (s % 2) + 16], y[16 * (s % 2):16 * (s % 2) + 16]),
               (U[sl], torch.arange(48)[sl]))
    assert isinstance(t.encoding_, DualEncoding)
    return model, t.encoding_.state_dict(), t.encoding_


def test_the_default_step_rule_is_sgda_bit_for_bit_and_hedge_differs() -> None:
    m0, d0, t0 = _trainer(6)
    m1, d1, _ = _trainer(6, step="sgda")
    m2, d2, _ = _trainer(6, step="hedge")
    assert t0.step == "sgda"
    assert all(torch.equal(a, b) for a, b in zip(m0.parameters(), m1.parameters()))
    assert d0.keys() == d1.keys() and all(torch.equal(d0[k], d1[k]) for k in d0)
    assert not all(torch.equal(d0[k], d2[k]) for k in d0)


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="torch.compile's CPU backend (inductor) needs a C compiler")
def test_compiled_hedge_step_equals_the_eager_hedge_step() -> None:
    """compile_constraint=True with step='hedge': the whole step compiles (one cold
    compilation, ~10-30 s on 2 cores) and gives the eager trainer's weights and duals."""
    m1, d1, _ = _trainer(5, step="hedge")
    m2, d2, t = _trainer(5, True, step="hedge")
    (step,) = t._steps.values()
    assert step.fn is not None and step.warm and not step.failed
    assert step.plan is not None and step.plan.step == "hedge"
    for a, b in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for k in d1:
        torch.testing.assert_close(d1[k], d2[k], rtol=1e-5, atol=1e-6)
    assert max(float(v.abs().max()) for v in d1.values()) > 0.5  # the duals did move


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(step="adam"), ValueError, "step must be one of .*'adam'"),
    (dict(step=1), ValueError, "step must be one of .* 1"),
    (dict(clip=0.0), ValueError, "clip .* got 0.0"),
    (dict(clip=math.inf), ValueError, "clip .* got inf"),
    (dict(clip=math.nan), ValueError, "clip .* got nan"),
    (dict(clip=6000.0), ValueError, "clip .* got 6000.0"),
    (dict(clip="5"), TypeError, "clip must be a number, got str"),
    (dict(clip=True), TypeError, "clip must be a number, got bool"),
])
def test_bad_step_rule_arguments_raise_naming_the_argument_and_value(
        kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        DualEncoding(**kwargs)  # type: ignore[arg-type]  # (wrong types on purpose)


def test_repr_names_the_hedge_rule_and_keeps_the_default_repr() -> None:
    assert repr(DualEncoding(lr=0.5)) == "DualEncoding(lr=0.5)"
    assert repr(DualEncoding(lr=0.5, step="hedge", clip=3)) == (
        "DualEncoding(lr=0.5, step='hedge', clip=3.0)")


def test_shortest_distance_cli_dual_step_hedge_sets_the_encodings_rule(tmp_path: Path) -> None:
    from experiments import logic_shortest_distance as sd

    args = ["--quick", "--constraint", "bellman", "--methods", "dual", "--tau-step", "10"]
    hedge = sd.main([*args, "--dual-step", "hedge", "--out", str(tmp_path / "h")])
    sgda = sd.main([*args, "--out", str(tmp_path / "s")])
    assert list(hedge["method"])[0] == "dual hedge τ step 10"
    assert list(sgda["method"])[0] == "dual τ step 10"
    assert hedge["mse"].iloc[0] != sgda["mse"].iloc[0]  # a different τ rule trained
    assert "--dual-step hedge" in (tmp_path / "h" / "COMMAND").read_text()
    with pytest.raises(SystemExit):
        sd.main([*args, "--dual-step", "adam", "--out", str(tmp_path / "x")])


def test_pickling_keeps_the_rule_and_old_pickles_get_the_default() -> None:
    import pickle

    enc = pickle.loads(pickle.dumps(DualEncoding(lr=0.5, step="hedge", clip=3.0)))
    assert (enc.step, enc.clip) == ("hedge", 3.0)
    old = DualEncoding(lr=0.5)
    for name in ("step", "clip", "_hedging"):  # as pickled before the step rules existed
        del old.__dict__[name]
    enc = pickle.loads(pickle.dumps(old))
    assert (enc.step, enc.clip, repr(enc)) == ("sgda", 5.0, "DualEncoding(lr=0.5)")
    x = ll.term(torch.tensor([0.2]))
    enc.dual_step((x >= 0.5) | (x <= 0.0), torch.tensor([0]))  # steps with the default rule
