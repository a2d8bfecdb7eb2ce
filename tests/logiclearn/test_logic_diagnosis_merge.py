"""The shortcut diagnosis adds configurations to an existing table with ``--merge``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments import logic_shortcut_diagnosis as e


def test_merge_adds_configurations_in_the_order_of_configs(tmp_path: Path) -> None:
    names = list(e.CONFIGS)
    e.main(["--quick", "--out", str(tmp_path), "--configs", names[3]])
    e.main(["--quick", "--out", str(tmp_path), "--configs", names[0], "--merge"])
    table = pd.read_csv(tmp_path / "diagnosis.csv")
    assert table["config"].tolist() == [names[0], names[3]]
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 2
    assert (tmp_path / "COMMAND").read_text().count("python -m experiments run") == 2
    # rerunning a configuration replaces its rows instead of adding a second copy
    e.main(["--quick", "--out", str(tmp_path), "--configs", names[3], "--merge"])
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 2


def test_merge_refuses_runs_of_other_epochs(tmp_path: Path) -> None:
    pd.DataFrame({"config": [list(e.CONFIGS)[0]], "seed": [0], "accuracy": [90.0],
                  "intended": [100.0], "shortcut": [0.0], "best_epoch": [3],
                  "epochs": [30]}).to_csv(tmp_path / "runs.csv", index=False)
    with pytest.raises(ValueError, match="other epochs than 1"):
        e.main(["--quick", "--out", str(tmp_path), "--configs", list(e.CONFIGS)[1], "--merge"])
