"""The shortest-distance experiment's Bellman constraint (``--constraint bellman``, DL2's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import logiclearn as ll
from experiments import logic_shortest_distance as e


def _graphs(seed: int, n: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    # the graphs' distances come from scipy's Dijkstra (e.random_graphs), an independent truth
    A, D = e.random_graphs(n, np.random.default_rng(seed))
    return torch.tensor(A), torch.tensor(D)  # float64: the equations hold to rounding


# a path 0 -1- 1 -2- 2 without the edge (0, 2): distances 0, 1, 3
_A3 = torch.tensor([[[0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 0.0]]])


def test_dijkstra_distances_satisfy_every_atom_and_cost_zero_in_every_encoding() -> None:
    A, D = _graphs(0)
    f = e.bellman_formula(D, A)
    assert ll.satisfaction(f, tol=1e-9).rate == 1.0
    for enc in ("dl2", "dual", "godel", "product"):  # dual without ids: its saddle value
        assert float(f.cost(enc).max()) < 1e-9, enc
    # the evaluation's version (non-edge atoms false at any tolerance) agrees
    assert bool(e.bellman_formula(D, A, false_cost=float("inf")).holds(tol=1e-9).all())


@pytest.mark.parametrize("where, delta, part", [("node", -0.5, "tight"), ("node", 0.5, "upper"),
                                                ("source", 0.5, "source")])
def test_perturbing_one_distance_violates_the_part_of_the_constraint_that_says_so(
        where: str, delta: float, part: str) -> None:
    # d_i too small: no neighbour j has d_j + w_ij <= d_i (all are >= the true d_i);
    # d_i too large: the edge to i's predecessor on a shortest path breaks d_i <= d_j + w_ij
    A, D = _graphs(1)
    rng = np.random.default_rng(1)
    d = D.clone()
    nodes = 0 if where == "source" else torch.tensor(rng.integers(1, e.N_NODES, len(D)))
    d[torch.arange(len(D)), nodes] += delta
    f = e.bellman_formula(d, A)
    parts = {c.name: c for c in f.children}
    assert not f.holds(tol=0.1).any()
    assert not parts[part].holds(tol=0.1).any()
    assert (f.cost("dl2") > 0.1).all() and (f.cost("godel") > 0.1).all()


def test_non_edges_count_neither_as_disjuncts_nor_as_conjuncts() -> None:
    # d_2 = 2.5 < 3: node 2's only neighbour is 1, atom d_2 >= d_1 + 2 costs 0.5; node 1's
    # disjunction holds through node 0; all edge inequalities hold. A non-edge disjunct that
    # could hold (e.g. "d_2 >= d_0 + 0") would make the cost 0.
    d = torch.tensor([[0.0, 1.0, 2.5]])
    f = e.bellman_formula(d, _A3)
    assert f.cost("dl2").item() == pytest.approx(0.5)  # sum of (0, 0, 0 + 0.5)
    assert f.cost("godel").item() == pytest.approx(0.5)
    assert f.cost("dual").item() == pytest.approx(0.5)  # saddle: max over ∧, min over ∨
    assert e.bellman_formula(torch.tensor([[0.0, 1.0, 3.0]]), _A3).cost("dl2").item() == 0.0


def test_masked_dual_store_weighs_only_the_real_neighbours() -> None:
    # uniform τ over the real children only: node 1's ∨ over neighbours 0 (cost 0) and 2
    # (cost 2.5 + 2 - 1 = 3.5) is 1.75, node 2's is 0.5; the tight ∧ averages them (1.125),
    # the top ∧ averages source (0), upper (0) and tight: 0.375
    d = torch.tensor([[0.0, 1.0, 2.5]])
    enc = ll.DualEncoding(store=e.bellman_dual_store(_A3))
    cost = enc.cost(e.bellman_formula(d, _A3), index=torch.tensor([0]))
    assert cost.item() == pytest.approx(0.375)
    # without the mask, node 2's ∨ would also weigh its two non-edge atoms (cost 1 each)
    plain = ll.DualEncoding().cost(e.bellman_formula(d, _A3), index=torch.tensor([0]))
    assert plain.item() != pytest.approx(0.375)


def test_the_triangle_constraint_holds_for_zero_predictions_but_bellman_does_not() -> None:
    # why the Bellman constraint can teach distances and the triangle constraint cannot
    A, _ = _graphs(2, n=5)
    zero = [ll.term(torch.zeros(5, e.N_NODES)) for _ in range(e.N_NODES)]
    assert bool(e.constraint(zero).holds().all())
    assert not e.bellman_formula(zero[0], A).holds(tol=0.5).any()


def test_bellman_option_trains_with_that_constraint_and_scores_it(tmp_path: Path) -> None:
    e.main(["--quick", "--out", str(tmp_path), "--constraint", "bellman", "--methods",
            "supervised-matched", "dl2", "godel"])
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert set(runs["constraint"]) == {"bellman"}
    trained = runs[runs["method"] != "label mean (no model)"]
    assert (trained["satisfied"] == trained["bellman"]).all()
    assert trained[["tri_sym", "source", "upper", "tight", "val_mse"]].notna().all().all()
    summary = (tmp_path / "summary.md").read_text()
    assert "Bellman" in summary and "| tight |" in summary
    with pytest.raises(ValueError, match="other constraint"):  # no mixing in one folder
        e.main(["--quick", "--out", str(tmp_path), "--merge", "--methods", "dl2"])


def test_unsupervised_runs_take_no_labelled_batch_and_compare_with_the_oracle_mean(
        tmp_path: Path) -> None:
    e.main(["--quick", "--out", str(tmp_path), "--constraint", "bellman", "--sizes", "0", "100",
            "150", "300", "--methods", "dl2"])
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs["method"]) == ["dl2", "test node mean (oracle, no model)"]
    assert (runs["sizes"] == "0 20 20 20").all()
    with pytest.raises(ValueError, match="0 labelled graphs"):
        e.main(["--quick", "--out", str(tmp_path / "sup"), "--sizes", "0", "20", "20", "20",
                "--methods", "supervised-matched", "dl2"])
    assert not (tmp_path / "sup" / "runs.csv").exists()


def test_the_bellman_constraint_alone_teaches_distances_without_labels() -> None:
    # 0 labelled graphs: after 10 epochs on the constraint alone (DL2's encoding) the test MSE
    # is far below predicting each node's mean test distance (an oracle constant); at 8
    # epochs the ratio is 0.26-0.46 over seeds 0-4
    data = e.make_data(0, 0, 100, 50, 100)
    row = e.run("dl2", 0, data, epochs=10, constraint_name="bellman")
    oracle = e.oracle_mean_baseline(0, data)
    assert row["mse"] < 0.5 * oracle["mse"]


def test_fuzzy_costs_have_no_gradient_once_every_atom_is_fully_false() -> None:
    # why unsupervised Gödel/product runs can stall (seeds 1 and 4 of the results): the
    # initial network of seed 1 predicts d ≈ -1.2 everywhere, so the source atom |d_0| > 1;
    # the fuzzy encodings clamp atom costs at 1 (truth 0), which makes the conjunction's
    # truth 0 whatever the other atoms (Gödel: min; product: a factor 0) and its gradient 0.
    # DL2 does not clamp.
    A, D = _graphs(3, n=4)
    A, D = A / D.mean(), D / D.mean()  # the experiment's units
    d = torch.full_like(D, -1.2, requires_grad=True)
    for enc in ("godel", "product", "dl2"):
        cost = e.bellman_formula(d, A).cost(enc)
        (grad,) = torch.autograd.grad(cost.sum(), d)
        if enc == "dl2":
            assert grad.abs().max() > 0
        else:
            assert cost.tolist() == [1.0] * 4 and grad.abs().max() == 0, enc


@pytest.mark.parametrize("argv, match", [(["--sigma-target", "1.5"], "--sigma-target"),
                                         (["--tau-step", "0"], "--tau-step"),
                                         (["--constraint", "bellman", "--sizes", "5", "0", "5",
                                           "5"], "--sizes")])
def test_bad_options_are_refused_before_training(tmp_path: Path, argv: list[str],
                                                 match: str) -> None:
    with pytest.raises(ValueError, match=match):
        e.main(["--quick", "--out", str(tmp_path), *argv])
    assert not (tmp_path / "runs.csv").exists()
