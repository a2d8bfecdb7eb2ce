"""The shortest-distance experiment's step-matched supervised baseline and its table rebuild."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import logiclearn as ll
from experiments import logic_shortest_distance as e


def _count_steps(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"n": 0}
    step = ll.LogicTrainer.step

    def counting(self: ll.LogicTrainer, *args: Any, **kwargs: Any) -> dict[str, float]:
        calls["n"] += 1
        return step(self, *args, **kwargs)

    monkeypatch.setattr(ll.LogicTrainer, "step", counting)
    return calls


def test_matched_supervised_takes_as_many_steps_as_the_constrained_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_steps(monkeypatch)
    data = e.make_data(0, 20, 50, 10, 10)  # 2 labelled and 4 unlabelled batches of 16
    steps = {}
    for method in ("supervised", "supervised-matched", "dl2"):
        calls["n"] = 0
        e.run(method, 0, data, epochs=2)
        steps[method] = calls["n"]
    assert steps == {"supervised": 2 * math.ceil(20 / 16),
                     "supervised-matched": 2 * math.ceil(50 / 16),
                     "dl2": 2 * math.ceil(50 / 16)}


def test_matched_supervised_is_plain_supervised_when_labels_are_not_fewer() -> None:
    data = e.make_data(1, 20, 20, 10, 10)
    a, b = (e.run(m, 1, data, epochs=2) for m in ("supervised", "supervised-matched"))
    assert a["mse"] == b["mse"] and a["best_epoch"] == b["best_epoch"]


def test_seeds_0_with_merge_rebuilds_the_tables_without_training(tmp_path: Path) -> None:
    e.main(["--quick", "--out", str(tmp_path), "--methods", "supervised"])
    runs = pd.read_csv(tmp_path / "runs.csv")
    e.main(["--out", str(tmp_path), "--seeds", "0", "--merge", "--epochs", "1", "--sizes",
            "20", "20", "20", "20"])
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "runs.csv"), runs)
    with pytest.raises(ValueError, match="--seeds 0 needs --merge"):
        e.main(["--out", str(tmp_path / "empty"), "--seeds", "0"])
