"""The logic experiments report progress through probconstraints._progress: no carriage-return
bar in a log at the default verbosity, a few progress lines when asked with ``--verbose 2``."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

# (experiment, the cheapest options of its quick mode)
CASES = [
    ("logic_superclass", ["--methods", "supervised"]),
    ("logic_rotated_digits", ["--methods", "supervised", "--pairs", "6:9"]),
    ("logic_shortest_distance", ["--methods", "supervised"]),
]


@pytest.mark.parametrize("name, options", CASES)
def test_logic_experiment_writes_no_bar_to_a_log_unless_verbose_2(
        name: str, options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = importlib.import_module(f"experiments.{name}").main
    # pytest's captured stderr is not a terminal, as in a log file or CI
    for verbose in ([], ["--verbose", "1"]):
        main(["--quick", "--out", str(tmp_path), *options, *verbose])
        assert name not in capsys.readouterr().err
    main(["--quick", "--out", str(tmp_path), *options, "--verbose", "2"])
    err = capsys.readouterr().err
    assert name in err and err.count("\r") <= 3  # start and end lines, not one per step
