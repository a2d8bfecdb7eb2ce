"""The estimator benchmark experiment writes its tables and figure in quick mode."""

import pandas as pd

from experiments.info_estimator_benchmark import main


def test_quick_mode_writes_error_table_summary_and_figure(tmp_path):
    runs = main(["--quick", "--out", str(tmp_path), "--verbose", "0"])
    for name in ("runs.csv", "errors.csv", "errors.md", "summary.csv", "summary.md",
                 "selection.csv", "errors.png", "COMMAND"):
        assert (tmp_path / name).exists(), name
    errors = pd.read_csv(tmp_path / "errors.csv")
    assert {"ksg", "auto", "gaussian", "infonce"} <= set(errors.columns)
    assert len(errors) == 4
    # the copula-normalised estimator is exact up to noise on the 1x1 normal and half-cube tasks
    auto = runs[runs.estimator == "auto"].set_index("task")["error"]
    assert abs(auto["1v1-normal-0.75"]) < 0.08
    assert auto["1v1-normal-0.75"] == auto["half_cube-1v1-normal-0.75"]
    assert "target <= 0.05" in (tmp_path / "summary.md").read_text()


def test_task_split_is_two_thirds_one_third_disjoint_and_fixed():
    from experiments.info_estimator_benchmark import split_tasks
    from infotheory import BENCHMARK_TASKS

    low = [t for t, task in BENCHMARK_TASKS.items() if max(task.dim_x, task.dim_y) <= 5]
    sel, held = split_tasks(low)
    assert len(low) == 33 and (len(sel), len(held)) == (22, 11)
    assert not set(sel) & set(held) and set(sel) | set(held) == set(low)
    assert split_tasks(reversed(low)) == (sel, held)


def test_merge_replaces_matching_runs_and_drops_retired_estimators():
    from experiments.info_estimator_benchmark import merge_runs

    old = pd.DataFrame({"task": ["a", "a", "a", "b"],
                        "estimator": ["auto", "ksg", "auto_k2", "auto"],
                        "seed": [0, 0, 0, 1], "error": [1.0, 2.0, 3.0, 4.0]})
    new = pd.DataFrame({"task": ["a"], "estimator": ["auto"], "seed": [0], "error": [9.0]})
    merged = merge_runs(old, new).set_index(["task", "estimator", "seed"])["error"]
    assert merged.to_dict() == {("a", "ksg", 0): 2.0, ("b", "auto", 1): 4.0, ("a", "auto", 0): 9.0}
