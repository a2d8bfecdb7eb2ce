"""Checkpoint selection of the superclass experiment: the one-standard-error band on validation
accuracy, the satisfaction tie-break, and the per-epoch record behind the tables."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from experiments import logic_superclass as e

# validation accuracy / satisfaction (%) per epoch, 100 validation images: best accuracy 85 %,
# one binomial standard error sqrt(0.85 * 0.15 / 100) = 3.57 points, band >= 81.43
ACC = [80.0, 85.0, 83.2, 81.5, 81.4, 84.0]
SAT = [95.0, 10.0, 50.0, 60.0, 99.0, 40.0]


def test_band_is_one_binomial_standard_error_below_the_best_accuracy() -> None:
    se = 100 * math.sqrt(0.85 * 0.15 / 100)
    band = [i for i, a in enumerate(ACC) if a >= 85.0 - se]
    assert band == [1, 2, 3, 5]  # 81.5 inside, 81.4 (the most satisfying epoch) outside
    assert e.select_epoch(ACC, SAT, 100, "last-1se") == 5
    # among the band, the most satisfying epoch; epoch 4 (99 %) lies outside the band
    assert e.select_epoch(ACC, SAT, 100, "accuracy-1se-satisfied") == 3
    assert e.select_epoch(ACC, SAT, 100) == 3  # the experiment's default rule


def test_accuracy_rule_takes_the_first_best_epoch_as_the_trainer_does() -> None:
    assert e.select_epoch([70.0, 85.0, 85.0], [0.0, 10.0, 90.0], 100, "accuracy") == 1


def test_mean_rule_trades_accuracy_for_satisfaction_one_for_one() -> None:
    assert e.select_epoch(ACC, SAT, 100, "mean") == 4  # 81.4 + 99 is the largest sum


def test_satisfaction_ties_go_to_the_more_accurate_then_the_later_epoch() -> None:
    assert e.select_epoch([85.0, 84.0, 85.0], [50.0, 50.0, 50.0], 100) == 2
    assert e.select_epoch([85.0, 84.0, 84.5], [50.0, 50.0, 40.0], 100) == 0


def test_unknown_selection_rule_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="'best'"):
        e.select_epoch(ACC, SAT, 100, "best")


def test_merge_replaces_the_same_method_and_seed_and_keeps_the_rest(tmp_path: Path) -> None:
    e.main(["--quick", "--out", str(tmp_path), "--methods", "supervised", "dual",
            "--verbose", "0"])
    first = pd.read_csv(tmp_path / "epochs.csv")
    runs = e.main(["--quick", "--out", str(tmp_path), "--methods", "dual", "--merge",
                   "--verbose", "0"])
    merged = pd.read_csv(tmp_path / "epochs.csv")
    assert len(merged) == len(first) and set(merged["method"]) == {"supervised", "dual"}
    assert set(runs["method"]) == {"supervised", "dual"}
    assert (tmp_path / "selection.md").read_text().count("| supervised |") == 1
    assert (tmp_path / "COMMAND").read_text().count("python -m experiments run") == 2
    # --seeds 0 --merge trains nothing and rebuilds the same tables from epochs.csv
    before = (tmp_path / "selection.md").read_text()
    e.main(["--out", str(tmp_path), "--seeds", "0", "--merge", "--epochs", "1"])
    assert (tmp_path / "selection.md").read_text() == before
    with pytest.raises(ValueError, match="--seeds 0 needs --merge"):
        e.main(["--out", str(tmp_path / "empty"), "--seeds", "0"])
