"""The estimator benchmark experiment writes its tables and figure in quick mode."""

import pandas as pd

from experiments.info_estimator_benchmark import main


def test_quick_mode_writes_error_table_summary_and_figure(tmp_path):
    runs = main(["--quick", "--out", str(tmp_path), "--verbose", "0"])
    for name in ("runs.csv", "errors.csv", "errors.md", "summary.csv", "summary.md",
                 "errors.png", "COMMAND"):
        assert (tmp_path / name).exists(), name
    errors = pd.read_csv(tmp_path / "errors.csv")
    assert {"ksg", "auto", "gaussian", "infonce"} <= set(errors.columns)
    assert len(errors) == 4
    # the copula-normalised estimator is exact up to noise on the 1x1 normal and half-cube tasks
    auto = runs[runs.estimator == "auto"].set_index("task")["error"]
    assert abs(auto["1v1-normal-0.75"]) < 0.08
    assert auto["1v1-normal-0.75"] == auto["half_cube-1v1-normal-0.75"]
    assert "target <= 0.08" in (tmp_path / "summary.md").read_text()
