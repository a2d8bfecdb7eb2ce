"""The estimator benchmark experiment: three tables, coverage and verdict, the seed split."""

import pandas as pd
import pytest

from experiments.info_estimator_benchmark import main
from infotheory.task_generator import HELD_OUT_SEEDS, SELECTION_SEEDS


def test_quick_mode_writes_the_three_tables_coverage_and_verdict(tmp_path):
    runs = main(["--quick", "--out", str(tmp_path)])
    for name in ("runs.csv", "selection.md", "held_out.md", "fixed.md", "summary.csv",
                 "summary.md", "calibration.md", "COMMAND"):
        assert (tmp_path / name).exists(), name
    assert set(runs.split) == {"selection", "held-out", "fixed"}
    sel, held = runs[runs.split == "selection"], runs[runs.split == "held-out"]
    assert set(sel.seed) <= set(SELECTION_SEEDS) and set(held.seed) <= set(HELD_OUT_SEEDS)
    # every auto run carries an interval and a verdict; the error is against the exact MI
    assert runs.ci_low.notna().all() and runs.reliability.str.len().gt(0).all()
    assert (runs.error - (runs.estimate - runs.truth)).abs().max() < 1e-12
    fixed = runs[runs.split == "fixed"].set_index("task")
    assert abs(fixed.loc["1v1-normal-0.75", "error"]) < 0.08
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert {"coverage of 95 % interval", "verdict hit rate (|error| > 0.15)"} <= set(summary)
    text = (tmp_path / "summary.md").read_text()
    assert "HELD_OUT_SEEDS" in text and "target >= 90 %" in text


def test_rerender_rebuilds_the_tables_from_runs_csv(tmp_path):
    main(["--quick", "--out", str(tmp_path), "--splits", "fixed"])
    before = (tmp_path / "fixed.md").read_text()
    (tmp_path / "fixed.md").unlink()
    main(["--quick", "--out", str(tmp_path), "--rerender"])
    assert (tmp_path / "fixed.md").read_text() == before


def test_benchmark_experiment_draws_each_split_from_its_own_seeds():
    from experiments.info_estimator_benchmark import held_out_seeds, selection_seeds

    sel, held = selection_seeds(100), held_out_seeds(100)
    assert set(sel) <= set(SELECTION_SEEDS) and set(held) <= set(HELD_OUT_SEEDS)
    assert not set(sel) & set(held)


def test_calibration_refuses_runs_of_held_out_seeds():
    from experiments.info_estimator_benchmark import calibrate

    rows = pd.DataFrame({"split": ["selection", "held-out"], "seed": [0, HELD_OUT_SEEDS[0]],
                         "copula_ksg": [0.1, 0.1]})
    with pytest.raises(ValueError, match="selection seeds only"):
        calibrate(rows)
    sneaky = rows.assign(split="selection")          # a held-out seed relabelled
    with pytest.raises(ValueError, match="seeds outside SELECTION_SEEDS"):
        calibrate(sneaky)
