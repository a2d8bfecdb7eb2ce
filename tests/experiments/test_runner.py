"""The experiment runner: discovery, descriptions, dispatch and the shared output helpers."""

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from experiments import _runner
from experiments._common import markdown_table, parse_args, write_command, write_table


@pytest.fixture
def fake_experiment(tmp_path, monkeypatch):
    """A package directory with one experiment, one private module and a sub-package."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "demo_exp.py").write_text(textwrap.dedent('''
        """Demo experiment: writes a marker file.

        More text that is not the description.
        """
        from pathlib import Path

        def main(argv=None):
            out = Path(argv[argv.index("--out") + 1])
            (out / "ran.txt").write_text(" ".join(argv))
            return "done"
    '''))
    (pkg / "_helper.py").write_text('"""Private helper."""\n')
    (pkg / "sub").mkdir()
    (pkg / "sub" / "__init__.py").write_text("")
    monkeypatch.setattr(_runner, "PACKAGE_DIR", pkg)
    return pkg


def test_list_skips_private_modules_and_packages(fake_experiment):
    assert _runner.experiment_names() == ["demo_exp"]


def test_describe_is_first_docstring_line(fake_experiment):
    assert _runner.describe("demo_exp") == "Demo experiment: writes a marker file."


def test_run_passes_argv_to_main(fake_experiment, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(fake_experiment.parent))
    import importlib

    real_import = importlib.import_module
    monkeypatch.setattr(_runner.importlib, "import_module",
                        lambda name: real_import(name.replace("experiments.", "pkg.")))
    assert _runner.run("demo_exp", ["--quick", "--out", str(tmp_path)]) == "done"
    assert (tmp_path / "ran.txt").read_text() == f"--quick --out {tmp_path}"


def test_unknown_experiment_is_a_value_error_naming_it(fake_experiment):
    with pytest.raises(ValueError, match="got 'nope'"):
        _runner.run("nope")


def test_real_package_lists_only_public_modules():
    names = _runner.experiment_names()
    assert all(not n.startswith("_") for n in names)
    assert "__main__" not in names


def test_command_line_list_prints_each_experiment_with_description():
    proc = subprocess.run([sys.executable, "-m", "experiments", "list"], capture_output=True,
                          text=True, check=True, cwd=_runner.PACKAGE_DIR.parent)
    lines = proc.stdout.splitlines()
    assert len(lines) == len(_runner.experiment_names())
    for line, name in zip(lines, _runner.experiment_names()):
        assert line.split()[0] == name
        assert _runner.describe(name) in line


def test_command_line_rejects_unknown_experiment():
    proc = subprocess.run([sys.executable, "-m", "experiments", "run", "no_such_thing"],
                          capture_output=True, text=True, cwd=_runner.PACKAGE_DIR.parent)
    assert proc.returncode == 2
    assert "no_such_thing" in proc.stderr


def test_parse_args_creates_out_and_records_command(tmp_path):
    out = tmp_path / "a" / "b"
    args = parse_args("demo", ["--quick", "--out", str(out)])
    assert args.quick and out.is_dir()
    assert write_command(args).read_text().strip() == (
        f"python -m experiments run demo --quick --out {out}")


@pytest.mark.parametrize("below", ["", "sub"])
def test_parse_args_refuses_an_out_that_is_or_lies_below_a_file(tmp_path, below, capsys):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(SystemExit) as exc:
        parse_args("demo", ["--out", str(tmp_path / "f.txt" / below)])
    assert exc.value.code == 2
    assert "f.txt' is a file, not a folder" in capsys.readouterr().err


def test_write_table_csv_round_trips_and_markdown_has_all_rows(tmp_path):
    df = pd.DataFrame({"feature": ["x0", "x1"], "p": [0.01234, float("nan")]})
    csv, md = write_table(df, tmp_path, "t", title="T", notes="note")
    back = pd.read_csv(csv)
    assert back["feature"].tolist() == ["x0", "x1"] and back["p"].iloc[0] == 0.01234
    text = md.read_text()
    assert text.startswith("## T") and "| x0 | 0.0123 |" in text and "| x1 |  |" in text
    assert text.rstrip().endswith("note")


def test_markdown_table_escapes_pipes():
    assert "a\\|b" in markdown_table(pd.DataFrame({"c": ["a|b"]}))
