"""The `nfbst test` command on the built-in toy example and on a CSV."""

import numpy as np
import pandas as pd
import pytest

from nfbst.cli import main

FAST = ["--steps", "150", "--samples", "30", "--hidden", "8", "--quiet"]


def test_cli_runs_toy_example_and_writes_table_and_png(tmp_path, capsys):
    assert main(["test", "--n-toy", "300", "--out", str(tmp_path), *FAST]) == 0
    out = capsys.readouterr().out
    assert "toy example" in out and "x7" in out
    table = pd.read_csv(tmp_path / "nfbst_toy_global.csv")
    assert list(table["feature"]) == [f"x{j}" for j in range(8)]
    assert (tmp_path / "nfbst_toy_global.png").stat().st_size > 1000


def test_cli_reads_csv_with_target_column(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    df["y"] = 3 * df["a"] + 0.1 * rng.normal(size=200)
    df.to_csv(tmp_path / "d.csv", index=False)
    main(["test", str(tmp_path / "d.csv"), "--target", "y", "--out", str(tmp_path), *FAST])
    table = pd.read_csv(tmp_path / "nfbst_d_global.csv")
    assert list(table["feature"]) == ["a", "b"]
    assert table["evidence"].iloc[0] < 0.05


def test_cli_rejects_missing_target(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0], "y": [1.0, 2.0]}).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(SystemExit, match="target"):
        main(["test", str(tmp_path / "d.csv"), "--target", "z", "--out", str(tmp_path)])
