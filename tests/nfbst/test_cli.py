"""The `nfbst test` command: runs, checks inputs before fitting, one-line errors, exit codes."""

import importlib.metadata
import operator
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import nfbst
from nfbst import cli
from nfbst.cli import InputError, main, parse_hidden, parse_region, region_masks_from_specs
from nfbst.significance import NFBST, RULES
from nfbst.statistics import _REGISTRY, available_statistics

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
    rc = main(["test", str(tmp_path / "d.csv"), "--target", "y", "--out", str(tmp_path), *FAST])
    assert rc == 0
    table = pd.read_csv(tmp_path / "nfbst_d_global.csv")
    assert list(table["feature"]) == ["a", "b"]
    assert table["evidence"].iloc[0] < 0.05


def test_cli_table_and_summary_name_the_deciding_value_and_write_the_floor_as_a_bound(
        tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    df["y"] = 3 * df["a"] + 0.1 * rng.normal(size=200)
    df.to_csv(tmp_path / "d.csv", index=False)
    argv = ["test", str(tmp_path / "d.csv"), "--target", "y", "--randomizations", "20",
            "--out", str(tmp_path), *FAST]
    assert main(argv) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "nfbst_d_global.csv")
    floor = 1 / 21
    assert table["p_value"][0] == pytest.approx(floor)  # y = 3a: no randomized copy does as well
    np.testing.assert_array_equal(table["p_value_at_floor"], np.isclose(table["p_value"], floor))
    assert np.isnan(table["p_value_mc_sd"][0]) and (table["decided_by"] == "p_value").all()
    lines = out.splitlines()
    header = next(line.split() for line in lines if line.split()[:1] == ["feature"])
    row_a = next(line.split() for line in lines if line.split()[:1] == ["a"])
    assert header[1:3] == ["p_value", "p_value_mc_sd"] and "decided_by" in header
    assert row_a[1:3] == ["<=0.048", "-"]
    assert ("decisions on CRT p-values (calibrated test); evidence values are posterior "
            "summaries, not p-values") in lines
    assert "  a: p <= 0.048 (the smallest value 20 randomizations give); evidence" in out
    assert "±" not in out


def test_cli_without_calibration_says_the_evidence_decides(tmp_path, capsys):
    argv = ["test", "--n-toy", "300", "--calibration", "none", "--out", str(tmp_path), *FAST]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "decisions on FBST evidence (descriptive; not a calibrated test)" in out
    table = pd.read_csv(tmp_path / "nfbst_toy_global.csv")
    assert (table["decided_by"] == "evidence").all() and "p_value" not in table


def test_cli_local_scope_reports_one_evidence_per_named_region_and_feature(tmp_path, capsys):
    argv = ["test", "--n-toy", "300", "--out", str(tmp_path), *FAST, "--scope", "local",
            "--region", "neg=x3<0", "--region", "mid=x3>=0 & x3<1", "--region", "y>10"]
    assert main(argv) == 0
    table = pd.read_csv(tmp_path / "nfbst_toy_local.csv")
    assert list(pd.unique(table["region"])) == ["neg", "mid", "y>10"]
    assert len(table) == 3 * 8 and table["evidence"].between(0, 1).all()


def test_cli_reads_a_semicolon_separated_csv_with_sep(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    df["y"] = 3 * df["a"] + 0.1 * rng.normal(size=200)
    df.to_csv(tmp_path / "d.csv", index=False, sep=";")
    argv = ["test", str(tmp_path / "d.csv"), "--target", "y", "--sep", ";", "--out",
            str(tmp_path), *FAST]
    assert main(argv) == 0
    assert list(pd.read_csv(tmp_path / "nfbst_d_global.csv")["feature"]) == ["a", "b"]


def test_cli_classification_accepts_text_labels(tmp_path, capsys):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    df["label"] = np.where(df["a"] > 0, "up", "down")
    df.to_csv(tmp_path / "c.csv", index=False)
    argv = ["test", str(tmp_path / "c.csv"), "--target", "label", "--task", "classification",
            "--out", str(tmp_path), *FAST]
    assert main(argv) == 0
    assert list(pd.read_csv(tmp_path / "nfbst_c_global.csv")["feature"]) == ["a", "b"]


# --------------------------------------------------------------------- bad input
CSVS = {
    "ok.csv": "a,b,y\n1,2,1\n4,5,2\n7,8,3\n1,3,2\n",
    "empty.csv": "",
    "header.csv": "a,b,y\n",
    "onerow.csv": "a,b,y\n1,2,1\n",
    "emptycell.csv": "a,b,y\n1,2,3\n4,,6\n7,8,9\n1,3,2\n",
    "na.csv": "a,b,y\n1,2,3\n4,NA,6\n7,8,9\n1,3,2\n",
    "inf.csv": "a,b,y\n1,inf,1\n4,5,2\n7,8,3\n1,3,2\n",
    "texttarget.csv": "a,b,y\n1,2,u\n4,5,v\n7,8,w\n1,3,2\n",
    "textfeature.csv": "a,b,y\n1,x,1\n4,y,2\n7,z,3\n1,w,2\n",
    "continuous.csv": "a,b,y\n1,2,1.5\n4,5,2.7\n7,8,3.1\n1,3,2.2\n",
    "oneclass.csv": "a,b,y\n1,2,1\n4,5,1\n7,8,1\n1,3,1\n",
    "constant.csv": "a,b,y\n1,2,1\n1,5,2\n1,8,3\n1,3,2\n",
    "constanttarget.csv": "a,b,y\n1,2,1\n2,5,1\n3,8,1\n4,3,1\n",
    "onlytarget.csv": "y\n1\n2\n3\n",
    "binary.csv": None,
    "semicolon.csv": "a;b;y\n1;2;1\n4;5;2\n7;8;3\n1;3;2\n",
    "manyclasses.csv": "a,b,y\n" + "".join(f"{i % 7},{i % 5},{i}\n" for i in range(60)),
}

# (case id, extra argv with {d} for the data folder, fragments the one-line message must hold)
BAD = [
    ("unknown statistic", ["--statistic", "nope"], ["--statistic", "'nope'", "grad"]),
    ("hidden not integers", ["--hidden", "a,b"], ["--hidden", "'a,b'"]),
    ("hidden zero width", ["--hidden", "8,0"], ["--hidden", ">= 1", "0"]),
    ("hidden negative width", ["--hidden", "-3"], ["--hidden", "-3"]),
    ("samples zero", ["--samples", "0"], ["--samples", ">= 2", "0"]),
    ("samples one", ["--samples", "1"], ["--samples", ">= 2", "1"]),
    ("samples not an integer", ["--samples", "2.5"], ["--samples", "'2.5'"]),
    ("alpha above one", ["--alpha", "2"], ["--alpha", "between 0 and 1", "2"]),
    ("alpha zero", ["--alpha", "0"], ["--alpha", "between 0 and 1"]),
    ("alpha nan", ["--alpha", "nan"], ["--alpha", "nan"]),
    ("alpha not a number", ["--alpha", "five"], ["--alpha", "'five'"]),
    ("steps zero", ["--steps", "0"], ["--steps", ">= 1"]),
    ("n-toy one", ["--n-toy", "1"], ["--n-toy", ">= 2"]),
    ("seed negative", ["--seed", "-1"], ["--seed", ">= 0"]),
    ("seed too large", ["--seed", str(2**40)], ["--seed", "2**32"]),
    ("unknown rule", ["--rule", "nope"], ["--rule", "'nope'", "quantile"]),
    ("unknown correction", ["--correction", "holm"], ["--correction", "'holm'"]),
    ("unknown inference", ["--inference", "nope"], ["inference", "'nope'"]),
    ("unknown option", ["--samplez", "3"], ["--samplez"]),
    ("randomizations too few for alpha", ["--randomizations", "19"],
     ["--randomizations 19", "1/(K+1) = 0.05", "--alpha 0.05", ">= 20"]),
    ("randomizations too few for a small alpha", ["--alpha", "0.01", "--randomizations", "99"],
     ["--randomizations 99", "--alpha 0.01", ">= 100"]),
    ("out is a file", ["--out", "{d}/ok.csv"], ["--out", "ok.csv", "not a folder"]),
    ("out below a file", ["--out", "{d}/ok.csv/sub"], ["--out", "ok.csv", "is a file"]),
    ("out empty", ["--out", ""], ["--out", "empty"]),
    ("missing file", ["{d}/nothere.csv", "--target", "y"], ["not found", "nothere.csv"]),
    ("data is a folder", ["{d}", "--target", "y"], ["folder"]),
    ("empty csv", ["{d}/empty.csv", "--target", "y"], ["empty.csv", "empty"]),
    ("binary file", ["{d}/binary.csv", "--target", "y"], ["binary.csv"]),
    ("header-only csv", ["{d}/header.csv", "--target", "y"], ["header.csv", "no data rows"]),
    ("one data row", ["{d}/onerow.csv", "--target", "y"], ["onerow.csv", "at least 2"]),
    ("empty cell", ["{d}/emptycell.csv", "--target", "y"], ["'b'", "empty", "row 2"]),
    ("NA cell", ["{d}/na.csv", "--target", "y"], ["'b'", "NA"]),
    ("infinite feature", ["{d}/inf.csv", "--target", "y"], ["'b'", "infinite"]),
    ("text target for regression", ["{d}/texttarget.csv", "--target", "y"],
     ["'y'", "not numeric", "classification"]),
    ("text feature", ["{d}/textfeature.csv", "--target", "y"], ["'b'", "non-numeric"]),
    ("continuous target for classification",
     ["{d}/continuous.csv", "--target", "y", "--task", "classification"],
     ["'y'", "continuous", "regression"]),
    ("single class", ["{d}/oneclass.csv", "--target", "y", "--task", "classification"],
     ["'y'", "single class"]),
    ("constant feature", ["{d}/constant.csv", "--target", "y"], ["'a'", "constant"]),
    ("constant target", ["{d}/constanttarget.csv", "--target", "y"], ["'y'", "constant"]),
    ("no feature column", ["{d}/onlytarget.csv", "--target", "y"], ["'y'", "no features"]),
    ("csv without --target", ["{d}/ok.csv"], ["--target", "required", "'a'", "'b'", "'y'"]),
    ("unknown --target", ["{d}/ok.csv", "--target", "z"], ["'z'", "not a column", "'y'"]),
    ("--target without csv", ["--target", "y"], ["--target", "no CSV"]),
    ("toy example as classification", ["--task", "classification"], ["toy", "regression"]),
    ("local scope without regions", ["--scope", "local"], ["--scope local", "--region"]),
    ("region without local scope", ["--region", "r=x3<0"], ["--region", "--scope local"]),
    ("region on unknown column", ["--scope", "local", "--region", "r=zz<0"],
     ["--region", "'zz'", "'x3'"]),
    ("region operator unknown", ["--scope", "local", "--region", "r=x3~0"], ["--region", "x3~0"]),
    ("region value not a number", ["--scope", "local", "--region", "r=x3<abc"],
     ["--region", "'abc'", "not a number"]),
    ("region as code", ["--scope", "local", "--region", "r=__import__('os').getcwd()"],
     ["--region", "__import__"]),
    ("region with no rows", ["--scope", "local", "--region", "far=x3>1e9"],
     ["--region", "'far'", "no rows"]),
    ("region name twice", ["--scope", "local", "--region", "r=x3<0", "--region", "r=x3>0"],
     ["--region", "'r'", "twice"]),
    ("region eaten by the shell (unquoted neg=x3<0)", ["--scope", "local", "--region", "neg=x3"],
     ["--region", "'x3'", "quote", "redirection"]),
    ("semicolon-separated csv", ["{d}/semicolon.csv", "--target", "y"],
     ["'y'", "not a column", "--sep ';'"]),
    ("too many classes", ["{d}/manyclasses.csv", "--target", "y", "--task", "classification"],
     ["'y'", "60 distinct values", "--max-classes 50", "--task regression"]),
    ("region on text column", ["{d}/texttarget.csv", "--target", "y", "--task",
                               "classification", "--scope", "local", "--region", "r=y<0"],
     ["--region", "'y'", "not numeric"]),
]


@pytest.fixture
def data_dir(tmp_path):
    for name, text in CSVS.items():
        if text is None:
            (tmp_path / name).write_bytes(bytes(range(256)) * 4)
        else:
            (tmp_path / name).write_text(text)
    return tmp_path


@pytest.fixture
def no_fit(monkeypatch):
    """Records any call of NFBST.fit: an input error must be found before fitting."""
    calls = []
    monkeypatch.setattr(NFBST, "fit", lambda self, X, y: calls.append(1) or self)
    return calls


@pytest.mark.parametrize("case, extra, fragments", BAD, ids=[c[0] for c in BAD])
def test_cli_bad_input_exits_2_with_one_line_naming_the_problem_before_any_fit(
        case, extra, fragments, data_dir, no_fit, capsys):
    argv = ["test", "--n-toy", "50", "--out", str(data_dir / "out"), *FAST]
    argv += [a.replace("{d}", str(data_dir)) for a in extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nfbst: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert no_fit == [], "the network was fitted before the input error was found"
    assert not (data_dir / "out").exists()


def test_cli_debug_shows_the_exception_instead_of_one_line(data_dir):
    with pytest.raises(InputError, match="header.csv has a header but no data rows"):
        main(["test", str(data_dir / "header.csv"), "--target", "y", "--debug"])


def test_cli_unexpected_failure_exits_1_with_hint_and_debug_reraises(monkeypatch, tmp_path,
                                                                      capsys):
    def broken_fit(self, X, y):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(NFBST, "fit", broken_fit)
    argv = ["test", "--n-toy", "50", "--out", str(tmp_path), *FAST]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError" in err[0] and "disk on fire" in err[0]
    assert "--debug" in err[0]
    with pytest.raises(RuntimeError, match="disk on fire"):
        main([*argv, "--debug"])


def test_cli_ctrl_c_exits_130(monkeypatch, tmp_path, capsys):
    def interrupted(self, X, y):
        raise KeyboardInterrupt

    monkeypatch.setattr(NFBST, "fit", interrupted)
    assert main(["test", "--n-toy", "50", "--out", str(tmp_path), *FAST]) == 130
    assert capsys.readouterr().err.strip() == "nfbst: interrupted"


def test_cli_console_script_prints_no_traceback_for_bad_value():
    p = subprocess.run([sys.executable, "-m", "nfbst.cli", "test", "--samples", "0"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "nfbst: error: argument --samples: must be >= 2 (the evidence needs 2 draws), got 0 "
        "(see 'nfbst test --help')"
    ]


# --------------------------------------------------------------- help and version
def test_cli_help_shows_defaults_and_exit_codes(capsys):
    assert main(["test", "--help"]) == 0
    out = capsys.readouterr().out
    for text in ("(default: 300)", "(default: grad)", "(default: 0.05)", "(default: 20)",
                 "exit codes", "2  usage or input error", "--region NAME=EXPR"):
        assert text in out, text
    assert main(["--help"]) == 0
    assert "exit codes" in capsys.readouterr().out


def test_cli_version_is_the_distribution_version(capsys):
    assert main(["--version"]) == 0
    version = importlib.metadata.version("probconstraints")
    assert capsys.readouterr().out.strip() == f"nfbst {version}"
    assert nfbst.__version__ == version


# ------------------------------------------------------ choices from the library
def test_cli_statistic_and_rule_choices_come_from_the_library(monkeypatch):
    from nfbst import significance

    monkeypatch.setitem(_REGISTRY, "cli_test_statistic", lambda draws, X, target=None: None)
    monkeypatch.setattr(significance, "RULES", (*RULES, "cli_test_rule"))
    args = cli._parser().parse_args(
        ["test", "--statistic", "cli_test_statistic", "--rule", "cli_test_rule"])
    assert (args.statistic, args.rule) == ("cli_test_statistic", "cli_test_rule")
    assert "cli_test_statistic" in available_statistics()


def test_cli_inference_choices_follow_the_backend_registry(monkeypatch):
    from nfbst.backends import base

    monkeypatch.setitem(base._REGISTRY, "new_backend", base._REGISTRY["vi"])
    assert cli._parser().parse_args(["test", "--inference", "new_backend"]).inference == \
        "new_backend"


# ------------------------------------------------------------------ region parser
@pytest.mark.parametrize("op, fn", [("<", operator.lt), ("<=", operator.le), (">", operator.gt),
                                    (">=", operator.ge), ("==", operator.eq),
                                    ("!=", operator.ne)])
def test_region_masks_equal_numpy_comparisons(op, fn):
    frame = pd.DataFrame({"x3": [-2.0, -0.5, 0.0, 0.5, 2.0], "w": [1, 2, 3, 4, 5]})
    masks = region_masks_from_specs(frame, [f"r=x3{op}0", f"x3 {op} 0.5 & w >= 2"])
    np.testing.assert_array_equal(masks["r"], fn(frame["x3"].to_numpy(), 0))
    expected = fn(frame["x3"].to_numpy(), 0.5) & (frame["w"].to_numpy() >= 2)
    if expected.any():
        np.testing.assert_array_equal(masks[f"x3 {op} 0.5 & w >= 2"], expected)


def test_region_parser_tells_a_name_from_an_equality_test():
    assert parse_region("x3==0") == ("x3==0", [("x3", "==", 0.0)])
    assert parse_region("zero=x3==0") == ("zero", [("x3", "==", 0.0)])
    assert parse_region("x3<=-1e-3") == ("x3<=-1e-3", [("x3", "<=", -1e-3)])
    with pytest.raises(InputError, match="not a number"):
        parse_region("r=x3<nan")


def test_parse_hidden_reads_widths_or_no_hidden_layer():
    assert parse_hidden("20,20,20") == (20, 20, 20)
    assert parse_hidden(" 4 , 2 ") == (4, 2)
    assert parse_hidden("") == ()
