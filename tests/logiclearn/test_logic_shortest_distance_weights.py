"""The shortest-distance experiment's constraint-weight sweep (``--constraint-weights``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import logiclearn as ll
from experiments import logic_shortest_distance as e


def test_weight_zero_makes_the_encoding_irrelevant_and_a_positive_weight_does_not() -> None:
    # λ = 0: the constraint term has no gradient on θ, so dual (with its τ steps) and DL2 train
    # the same network from the same batches; λ > 0 must change the result.
    data = e.make_data(2, 20, 20, 10, 10)
    dual0, dl20 = (e.run(m, 2, data, epochs=2, constraint_weight=0.0) for m in ("dual", "dl2"))
    assert (dual0["mse"], dual0["satisfied"]) == (dl20["mse"], dl20["satisfied"])
    assert dual0["method"] == "dual λ=0" and dl20["method"] == "dl2 λ=0"
    assert e.run("dl2", 2, data, epochs=2, constraint_weight=1.0)["mse"] != dl20["mse"]


def test_each_constrained_method_runs_once_per_weight_with_that_weight(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, float]] = []
    init = ll.LogicTrainer.__init__

    def recording(self: ll.LogicTrainer, model: object, constraint: object = None,
                  **kwargs: object) -> None:
        seen.append((constraint, float(kwargs["constraint_weight"])))  # type: ignore[arg-type]
        init(self, model, constraint, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ll.LogicTrainer, "__init__", recording)
    e.main(["--quick", "--out", str(tmp_path), "--methods", "supervised-matched", "dl2",
            "--constraint-weights", "0.03", "1"])
    assert [w for c, w in seen if c is not None] == [0.03, 1.0]
    assert len([c for c, _ in seen if c is None]) == 1  # supervised: once, whatever the weights
    methods = set(pd.read_csv(tmp_path / "runs.csv")["method"])
    assert methods == {"supervised-matched", "dl2 λ=0.03", "dl2", "label mean (no model)"}
    table = pd.read_csv(tmp_path / "per_seed_satisfied.csv")
    assert table["seed 0"].between(0, 100).all() and len(table) == 3


@pytest.mark.parametrize("bad", ["-0.1", "nan", "inf"])
def test_a_negative_or_non_finite_weight_is_refused_before_training(tmp_path: Path,
                                                                    bad: str) -> None:
    with pytest.raises(ValueError, match="--constraint-weights"):
        e.main(["--quick", "--out", str(tmp_path), "--constraint-weights", bad])
    assert not (tmp_path / "runs.csv").exists()


def test_warm_start_takes_matched_supervised_steps_then_adds_the_constraint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with_constraint: list[bool] = []
    step = ll.LogicTrainer.step

    def recording(self: ll.LogicTrainer, labeled: Any = None, unlabeled: Any = None) -> Any:
        with_constraint.append(unlabeled is not None)
        return step(self, labeled, unlabeled)

    monkeypatch.setattr(ll.LogicTrainer, "step", recording)
    data = e.make_data(0, 20, 50, 10, 10)  # 2 labelled and 4 unlabelled batches of 16
    row = e.run("dual", 0, data, epochs=3, constraint_weight=0.1, warm_start=2)
    assert with_constraint == [False] * 8 + [True] * 4  # 4 steps per epoch in both phases
    assert row["method"] == "dual λ=0.1 warm 2"


def test_a_warm_checkpoint_is_the_step_matched_supervised_network() -> None:
    # the warm phase is supervised-matched's training step for step: when no constrained epoch
    # beats its validation MSE (seed 3 here), the result is supervised-matched's, to the bit
    data = e.make_data(3, 20, 20, 10, 10)
    warm = e.run("dual", 3, data, epochs=4, constraint_weight=0.1, warm_start=2)
    matched = e.run("supervised-matched", 3, data, epochs=2)
    assert warm["best_epoch"] < 2
    assert (warm["mse"], warm["best_epoch"]) == (matched["mse"], matched["best_epoch"])


@pytest.mark.parametrize("method, warm, epochs", [("supervised", 1, 3), ("dual", 3, 3),
                                                   ("dl2", -1, 3)])
def test_a_warm_start_outside_the_constrained_epochs_is_refused(method: str, warm: int,
                                                                epochs: int) -> None:
    data = e.make_data(0, 20, 20, 10, 10)
    with pytest.raises(ValueError, match="warm_start"):
        e.run(method, 0, data, epochs=epochs, warm_start=warm)


def test_warm_start_option_labels_the_constrained_rows_and_checks_its_range(
        tmp_path: Path) -> None:
    e.main(["--quick", "--out", str(tmp_path), "--methods", "supervised-matched", "dl2",
            "--constraint-weights", "0.1", "--warm-start", "5"])
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert set(runs["method"]) == {"supervised-matched", "dl2 λ=0.1 warm 1",
                                   "label mean (no model)"}
    assert (runs["epochs"] == 2).all()  # quick: one warm epoch, one constrained
    with pytest.raises(ValueError, match="--warm-start"):
        e.main(["--out", str(tmp_path / "x"), "--epochs", "4", "--warm-start", "4"])
    assert not (tmp_path / "x" / "runs.csv").exists()
