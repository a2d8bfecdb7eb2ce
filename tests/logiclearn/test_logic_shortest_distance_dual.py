"""The diagnostic of the dual encoding on the Bellman constraint (logic_shortest_distance_dual)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import logiclearn as ll
from experiments import logic_shortest_distance as sd
from experiments import logic_shortest_distance_dual as dd
from logiclearn.encodings.dual import DualEncoding


def _graphs(seed: int, n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    A, D = sd.random_graphs(n, np.random.default_rng(seed))  # distances: scipy's Dijkstra
    return torch.tensor(A, dtype=torch.float32), torch.tensor(D, dtype=torch.float32)


def test_trace_reproduces_the_experiment_module() -> None:
    # same initialisation, loaders, trainer and checkpoint as sd.run: the same test MSE
    data = sd.make_data(3, 20, 20, 20, 20)
    ref = sd.run("dual", 3, data, 2, 0.1, constraint_name="bellman")
    got = dd.trace(3, data, 2, 0.1, "library")
    assert got["test_mse"] == pytest.approx(ref["mse"], rel=1e-5)
    assert got["val_mse"] == pytest.approx(ref["val_mse"], rel=1e-5)
    assert len(got["visits"]) == 2 * 2  # 20 unlabelled graphs, batches of 16: 2 visits/epoch


def test_saddle_value_is_the_max_over_parts_and_edges_and_the_capped_min_over_neighbours() -> None:
    # independent truth: the saddle value written out with numpy, edge by edge
    A, D = _graphs(0)
    d = D + torch.randn(D.shape, generator=torch.Generator().manual_seed(0))
    cost = dd.SaddleDual().penalty(sd.bellman_formula(d, A), torch.arange(len(d)),
                                   lambda c: c).cost
    a, x = A.double().numpy(), d.double().numpy()
    for b in range(len(a)):
        upper = max(max(x[b, i] - x[b, j] - a[b, i, j], 0.0)
                    for i in range(sd.N_NODES) for j in range(sd.N_NODES) if a[b, i, j] > 0)
        # a non-edge disjunct is the false atom of cost 1 (unmasked at the saddle): cap 1
        tight = max(min([max(x[b, j] + a[b, i, j] - x[b, i], 0.0)
                         for j in range(sd.N_NODES) if a[b, i, j] > 0] + [1.0])
                    for i in range(1, sd.N_NODES))
        assert float(cost[b]) == pytest.approx(max(abs(x[b, 0]), upper, tight), rel=1e-5)


def _nested(costs: torch.Tensor) -> ll.And:
    # (c0 <= 0) ∧ ((c1 <= 0) ∨ (c2 <= 0)): atom costs c0, c1, c2
    c = ll.term(costs)
    return (c[:, 0] <= 0.0) & ((c[:, 1] <= 0.0) | (c[:, 2] <= 0.0))


def test_hedge_steps_reach_the_saddle_of_a_nested_formula() -> None:
    idx = torch.tensor([0, 1])
    costs = torch.tensor([[0.1, 0.5, 0.3], [0.9, 0.2, 0.6]])
    enc = DualEncoding(lr=1.0, step="hedge")
    for _ in range(300):
        enc.before_step(_nested(costs), idx, lambda c: c)
    # max(c0, min(c1, c2)) per row, up to the weight the clip leaves on the others
    # (>= e^-10 of the largest; here ~2e-3 on the 0.2 conjunct)
    assert enc.cost(_nested(costs), index=idx).tolist() == pytest.approx([0.3, 0.9], abs=3e-3)
    assert DualEncoding(lr=1.0).cost(_nested(costs)).tolist() == pytest.approx([0.3, 0.9])


def test_a_weight_driven_to_zero_comes_back_with_hedge_but_not_with_the_library_step() -> None:
    # The cause found: the library's τ step is proportional to the weight itself, so a
    # conjunct whose cost was 0 at the start loses its weight for good. Phase 1: c0 = 0 (the
    # 'upper' part at initialisation), phase 2: c0 = 1 is the largest cost.
    idx = torch.tensor([0])
    early, late = torch.tensor([[0.0, 0.5, 0.5]]), torch.tensor([[1.0, 0.5, 0.5]])

    def root_weight_on_c0(enc: DualEncoding) -> float:
        for _ in range(40):
            enc.before_step(_nested(early), idx, ll.loss.ConstraintLoss("truncated", 0.2))
        for _ in range(40):
            enc.before_step(_nested(late), idx, ll.loss.ConstraintLoss("truncated", 0.2))
        return float(torch.softmax(enc.store.logits[("and", ())][0], -1)[0])

    assert root_weight_on_c0(DualEncoding(lr=100.0)) < 1e-3  # locked out
    assert root_weight_on_c0(DualEncoding(lr=3.0, step="hedge")) > 0.99  # back on the worst one


def test_hedge_leaves_masked_logits_and_clips_the_others() -> None:
    A, D = _graphs(1)
    store = sd.bellman_dual_store(A)
    enc = DualEncoding(lr=1e3, store=store, step="hedge", clip=2.0)
    enc.before_step(sd.bellman_formula(D + 0.5, A), torch.arange(len(A)), lambda c: c)
    up = store.logits[dd.UPPER]
    masked = (A <= 0).flatten(1)
    assert bool((up[masked] == sd.MASKED_LOGIT).all())
    assert float(up[~masked].abs().max()) <= 2.0


def test_visit_metrics_of_uniform_duals_are_the_inverse_degrees() -> None:
    A, D = (torch.tensor(x) for x in sd.random_graphs(6, np.random.default_rng(2)))  # float64
    store = sd.bellman_dual_store(A)
    idx = torch.arange(len(A))
    store.gather(dd.ROOT, 3, idx)
    store.gather(dd.TIGHT, sd.N_NODES - 1, idx)
    m = dd.visit_metrics(store, idx, D, A, dd.true_predecessor(A, D))
    deg = (A > 0).sum(-1)[:, 1:].double()
    # true distances: the true predecessor is tight (cost 0); ties only where two paths tie
    assert m["or_true"] == pytest.approx(float((1 / deg).mean()), rel=1e-6)
    assert m["root_upper"] == pytest.approx(1 / 3)
    assert m["upper_eff"] == pytest.approx(float((A > 0).sum((1, 2)).double().mean()), rel=1e-6)
    assert m["upper_violated"] == 0.0


def test_bad_variant_and_clip_are_rejected_with_the_value() -> None:
    with pytest.raises(ValueError, match="'nope'"):
        dd.make_encoding("nope", 1.0, torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match=r"clip .* got -1.0"):
        DualEncoding(step="hedge", clip=-1.0)
    with pytest.raises(ValueError, match="--sizes"):
        dd.main(["--quick", "--sizes", "20", "0", "20", "20"])


def test_quick_cli_writes_tables_trace_and_gradients(tmp_path: Path) -> None:
    df = dd.main(["--quick", "--out", str(tmp_path)])
    assert set(df["config"]) == set(list(dd.CONFIGS)[:2])
    assert np.isfinite(df["test_mse"]).all()
    for name in ("summary.md", "trace.md", "trace.png", "gradients.md", "COMMAND"):
        assert (tmp_path / name).exists(), name
    epochs = pd.read_csv(tmp_path / "trace_epochs.csv")
    assert len(epochs) == 2 and {"val_mse", "unl_bias", "pre_root_upper"} <= set(epochs)
    gr = pd.read_csv(tmp_path / "gradients.csv")
    assert {"godel", "dl2", "saddle (truncated)"} <= set(gr["encoding"])


def test_merge_adds_configs_to_the_folder_and_keeps_the_others(tmp_path: Path) -> None:
    first = dd.main(["--quick", "--out", str(tmp_path), "--configs", "saddle", "--traces"])
    both = dd.main(["--quick", "--out", str(tmp_path), "--configs", "saddle λ=0.1",
                    "--traces", "--merge"])
    assert list(both["config"]) == ["saddle λ=0.1", "saddle"]  # in the order of CONFIGS
    assert both.loc[1, "test_mse"] == first.loc[0, "test_mse"]
    assert (tmp_path / "COMMAND").read_text().count("python -m experiments run") == 2
    assert not (tmp_path / "trace.csv").exists()


def test_frozen_root_keeps_the_root_uniform_and_steps_the_other_connectives() -> None:
    A, D = _graphs(3)
    idx = torch.arange(len(A))
    enc = dd.FrozenRootDual(lr=10.0, store=sd.bellman_dual_store(A))
    before = enc.store.logits[dd.UPPER].clone()
    # 1.5 D violates "upper" on the edges of shortest paths only: unequal atom costs
    enc.before_step(sd.bellman_formula(D * 1.5, A), idx, ll.loss.ConstraintLoss("linear", 1.0))
    assert bool((enc.store.logits[dd.ROOT] == 0).all())  # uniform weights 1/3
    assert not torch.equal(enc.store.logits[dd.UPPER], before)
