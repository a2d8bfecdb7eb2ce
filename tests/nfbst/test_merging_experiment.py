"""The merging_significance experiment runs in quick mode and writes its outputs."""

import pandas as pd

from experiments.merging_significance import RELEVANT, main, task_function


def test_task_functions_depend_only_on_their_relevant_features():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 10))
    for t, rel in enumerate(RELEVANT):
        Z = X.copy()
        others = [j for j in range(10) if j not in rel]
        Z[:, others] = rng.normal(size=(50, len(others)))
        np.testing.assert_allclose(task_function(t, Z), task_function(t, X))
        Z = X.copy()
        Z[:, rel[0]] += 1.0
        assert not np.allclose(task_function(t, Z), task_function(t, X))


def test_quick_run_writes_tables_figures_and_command(tmp_path):
    summary = main(["--quick", "--out", str(tmp_path)])
    for name in ("summary.csv", "summary.md", "errors.csv", "errors.md", "diagnosis.csv",
                 "summary.png", "heatmap_ties.png", "heatmap_bayesian.png", "COMMAND",
                 "best_per_task.md", "errors_by_rep.csv"):
        assert (tmp_path / name).is_file(), name
    methods = set(summary["method"])
    assert {"task_arithmetic", "ties", "dare_ta", "dare_ties", "lore", "fisher",
            "bayesian"} <= methods
    diag = pd.read_csv(tmp_path / "diagnosis.csv")
    assert set(diag["change"]) <= {"kept", "lost", "gained", "absent"}
    assert len(diag) == len(summary) * 3 * 10  # methods x tasks x features
    assert summary["recall_expert"].between(0, 1).all()
    # the experts are far better on their task than the base they were fine-tuned from
    assert (summary["rmse_expert"] < summary["rmse_base"]).all()
