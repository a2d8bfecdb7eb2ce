"""Bad and edge inputs at every public entry point of ``nfbst``: a table of cases.

Each case runs one public call on a bad input and names the outcome it must have: an exception
of a given type whose message names the problem (``pytest.raises(match=...)``), or, where the
library answers with NaN, a warning that names the columns. The classes of the table: pandas
extension dtypes (pandas 3's default ``str``, nullable ``Int64`` with ``pd.NA``, ``category``),
column names/order at predict time, values near the float range, continuous targets for
classification, rank-deficient designs, integer parameters given fractions, infinite scales,
unknown options, bad random_state, the command line, and tampered saved folders.

Run as a script (``python tests/nfbst/test_bad_inputs.py``) it prints, for the ``nfbst`` on the
path, how many cases answer right, fail with a confusing message, or give a result without a
word (the before/after counts of issue 11; cases marked ``new_api`` use names introduced by that
work and are counted apart).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest


@dataclass
class Case:
    name: str
    run: object  # callable(ctx)
    exc: type | None  # expected exception; None: a warning is expected instead
    match: str
    new_api: bool = False
    warns: type = field(default=UserWarning)
    # for the before/after counts: (exception type, regex) of an older answer that also names
    # the problem clearly
    loose: tuple | None = None


def _rng(seed=0):
    return np.random.default_rng(seed)


def _xy(n=30, d=3, seed=0):
    X = _rng(seed).normal(size=(n, d))
    return X, X[:, 0] + 0.1 * _rng(seed + 1).normal(size=n)


def _frame(n=30, seed=0):
    X, y = _xy(n, 3, seed)
    return pd.DataFrame(X, columns=["a", "b", "c"]), y


def _bnn(**kw):
    from nfbst import BayesianMLP

    return BayesianMLP(**{"hidden": (2,), "n_steps": 5, "random_state": 0, **kw})


def _nfbst(**kw):
    from nfbst import NFBST

    kw = {"model": _bnn(), "n_posterior_samples": 10, "n_randomizations": 5, **kw}
    return NFBST(**kw)


class CLIError(Exception):
    """The command line exited with a non-zero code; the message is its stderr."""


def _cli(ctx, *argv):
    import contextlib
    import io

    from nfbst.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["test", *argv, "--out", ctx["out"], "--quiet", "--steps", "5",
                   "--samples", "10", "--randomizations", "20", "--hidden", "2"])
    if rc != 0:
        raise CLIError(f"exit {rc}: {err.getvalue().strip()}")


def _csv(ctx, name, frame):
    path = os.path.join(ctx["dir"], name)
    if isinstance(frame, str):
        with open(path, "w") as fh:
            fh.write(frame)
    else:
        frame.to_csv(path, index=False)
    return path


def _tamper(ctx, kind):
    """A copy of the saved BayesianMLP/NFBST folder, broken in one way."""
    import shutil

    src = ctx["nfbst_saved"] if kind.startswith("nfbst") else ctx["bnn_saved"]
    dst = os.path.join(ctx["dir"], f"tampered_{kind}")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    meta_file = os.path.join(dst, "nfbst.json" if kind.startswith("nfbst") else "bnn.json")
    with open(meta_file) as fh:
        meta = json.load(fh)
    if kind == "bnn_corrupt_json":
        with open(meta_file, "w") as fh:
            fh.write('{"params": {"hidden": [2]')
    elif kind == "bnn_missing_key":
        del meta["layer_sizes"]
    elif kind == "bnn_shape":
        meta["layer_sizes"] = [3, 7, 1]
    elif kind == "bnn_corrupt_pt":
        with open(os.path.join(dst, "bnn.pt"), "wb") as fh:
            fh.write(b"not a tensor file")
    elif kind == "bnn_missing_pt":
        os.remove(os.path.join(dst, "bnn.pt"))
    elif kind == "bnn_standardization":
        meta["standardization"]["x_mean"] = [0.0]
    elif kind == "nfbst_names":
        meta["feature_names"] = ["only_one"]
    elif kind == "nfbst_rows":
        os.remove(os.path.join(dst, "rows.pt"))
    elif kind == "nfbst_missing_key":
        del meta["has_model"]
    if kind not in ("bnn_corrupt_json",):
        with open(meta_file, "w") as fh:
            json.dump(meta, fh)
    return dst


def make_context(directory) -> dict:
    """Fitted models, a saved folder of each, and an output folder, shared by the cases."""
    X, y = _frame()
    ctx = {"dir": str(directory), "out": os.path.join(str(directory), "out")}
    ctx["bnn_frame"] = _bnn().fit(X, y)
    ctx["bnn"] = _bnn().fit(X.to_numpy(), y)
    ctx["nfbst"] = _nfbst(calibration="none", holdout=None).fit(X, y)
    ctx["bnn_saved"] = os.path.join(ctx["dir"], "bnn")
    ctx["bnn"].save(ctx["bnn_saved"])
    ctx["nfbst_saved"] = os.path.join(ctx["dir"], "nfbst")
    _nfbst(holdout=0.3).fit(X, y).save(ctx["nfbst_saved"])
    return ctx


def _text_frame():
    X, y = _frame()
    return X.assign(city=pd.Series(["u", "v", "w"] * 10, dtype="str")), y


def _id_frame():
    X, y = _frame(60)
    return X.assign(id=[f"row{i}" for i in range(60)]), y


def _na_frame():
    X, y = _frame()
    a = pd.array([1, 2, None] * 10, dtype="Int64")
    return X.assign(a=a), y


def _category_frame():
    X, y = _frame()
    return X.assign(c=pd.Categorical(["p", "q"] * 15)), y


def _merging_inputs():
    import torch

    from nfbst.merging import MeanFieldPosterior

    m = {"0.weight": torch.tensor([[1.0, 0.0]]), "0.bias": torch.zeros(1)}
    post = MeanFieldPosterior(m, {k: torch.full_like(v, 0.1) for k, v in m.items()})
    return post, m, _rng().normal(size=(10, 2))


def _diagnose(**kw):
    from nfbst.merging import diagnose_merge

    post, m, X = _merging_inputs()
    data = kw.pop("data", [X, X])
    return diagnose_merge(None, [post, post], m, data, n_draws=kw.pop("n_draws", 5), **kw)


def _baseline(name, X=None, y=None, **kw):
    from nfbst import baselines

    if X is None:
        X, y = _xy()
    return getattr(baselines, name)(X, y, **kw)


def _model_baseline(name, **kw):
    from sklearn.linear_model import LinearRegression

    from nfbst import baselines

    X, y = _xy(40)
    return getattr(baselines, name)(LinearRegression(), X, y, **kw)


class SilentlyWrong(AssertionError):
    """A call returned a meaningless answer."""


def _expect_nan_p(result, columns):
    """A 'warn' case fails unless the named rows have no p-value."""
    bad = result.set_index("feature").loc[columns, "p_value"]
    if not np.isnan(bad.to_numpy()).all():
        raise SilentlyWrong(f"p-values reported for inestimable coefficients {columns}")
    return result


def _ev(samples, **kw):
    from nfbst import evidence_value

    return evidence_value(samples, **kw)


ERR = (ValueError, TypeError)
CASES = [
    # ---- pandas extension dtypes (pandas 3: text is the default "str" dtype)
    Case("bnn text column", lambda c: _bnn().fit(*_text_frame()), TypeError,
         r"non-numeric column\(s\) \['city'\]"),
    Case("bnn Int64 with pd.NA", lambda c: _bnn().fit(*_na_frame()), ValueError,
         r"missing values.*\['a'\]"),
    Case("bnn category column", lambda c: _bnn().fit(*_category_frame()), TypeError,
         r"non-numeric column\(s\) \['c'\]"),
    Case("bnn y Int64 with pd.NA", lambda c: _bnn().fit(
        _frame()[0], pd.Series(pd.array([1, None] * 15, dtype="Int64"))), ValueError,
         r"y has missing values"),
    # nFBST encodes text and category columns (nfbst.tabular); what it cannot encode is named
    Case("nfbst id-like text column", lambda c: _nfbst().fit(*_id_frame()), ValueError,
         r"column 'id' has 60 levels"),
    Case("nfbst K too small for alpha", lambda c: _nfbst(n_randomizations=19)._settings(),
         None, r"n_randomizations=19 gives p-values of at least 1/\(K\+1\) = 0.05 >= "
         r"alpha=0.05: no feature can be significant; use n_randomizations >= 20"),
    Case("nfbst level unseen at fit", lambda c: _nfbst(calibration="none").fit(
        *_text_frame()).test(_text_frame()[0].assign(city=["u", "v", "z"] * 10)), ValueError,
         r"column 'city' has level\(s\) \['z'\] not seen in the rows given to fit"),
    Case("nfbst Int64 with pd.NA", lambda c: _nfbst().fit(*_na_frame()), ValueError,
         r"missing values.*\['a'\]"),
    Case("baseline text column", lambda c: _baseline("ols_t_test", *_text_frame()), TypeError,
         r"non-numeric column\(s\) \['city'\]"),
    Case("baseline Int64 with pd.NA", lambda c: _baseline("ols_t_test", *_na_frame()),
         ValueError, r"missing values.*\['a'\]"),
    Case("diagnose text data", lambda c: _diagnose(data=[_text_frame()[0]] * 2), TypeError,
         r"non-numeric column"),
    # ---- column names and order as at fit
    Case("bnn predict columns reordered", lambda c: c["bnn_frame"].predict(
        _frame()[0][["b", "a", "c"]]), ValueError, r"(?s)feature names should match.*order"),
    Case("bnn predict unseen column", lambda c: c["bnn_frame"].predict(
        _frame()[0].rename(columns={"c": "z"})), ValueError, r"(?s)unseen at fit time.*- z"),
    Case("nfbst test columns reordered", lambda c: c["nfbst"].test(
        _frame()[0][["c", "b", "a"]]), ValueError, r"(?s)feature names should match.*order"),
    Case("nfbst statistic_samples columns reordered", lambda c: c["nfbst"].statistic_samples(
        _frame()[0][["b", "a", "c"]]), ValueError, r"(?s)feature names should match.*order"),
    Case("bnn predict wrong width", lambda c: c["bnn"].predict(np.ones((2, 4))), ValueError,
         r"X has 4 features, but \w+ is expecting 3",
         loose=(ValueError, r"4 features.*fitted with 3")),
    # ---- values near the float range
    Case("bnn X x1e200", lambda c: _bnn().fit(_xy()[0] * 1e200, _xy()[1]), ValueError,
         r"column\(s\) \[0, 1, 2\] have a scale of .*e\+200"),
    Case("bnn y x1e200", lambda c: _bnn().fit(_xy()[0], _xy()[1] * 1e200), ValueError,
         r"y column\(s\) \[0\] have a scale"),
    Case("bnn X x1e-200", lambda c: _bnn().fit(_xy()[0] * 1e-200, _xy()[1]), ValueError,
         r"have a scale of .*e-20\d"),
    Case("nfbst X x1e200 names column", lambda c: _nfbst().fit(
        _frame()[0].assign(b=lambda f: f.b * 1e200), _frame()[1]), ValueError,
         r"\['b'\] have a scale of .*e\+\d+"),
    Case("bnn predict beyond float32", lambda c: c["bnn"].predict(np.full((2, 3), 1e39)),
         ValueError, r"beyond float32"),
    Case("nfbst test beyond float32", lambda c: c["nfbst"].test(np.full((3, 3), 1e39)),
         ValueError, r"beyond float32"),
    Case("ols X x1e200", lambda c: _baseline("ols_t_test", _xy()[0] * 1e200, _xy()[1]),
         ValueError, r"X holds values up to .*e\+200"),
    Case("ols y x1e200", lambda c: _baseline("ols_t_test", _xy()[0], _xy()[1] * 1e200),
         ValueError, r"y holds values up to .*e\+200"),
    # ---- classification targets
    Case("bnn classification on floats", lambda c: _bnn(task="classification").fit(*_xy()),
         ValueError, r"Unknown label type.*continuous"),
    Case("nfbst classification on floats", lambda c: _nfbst(
        model=_bnn(task="classification")).fit(*_xy()), ValueError,
         r"Unknown label type.*continuous"),
    Case("bnn regression on text labels", lambda c: _bnn().fit(
        _xy()[0], np.array(["p", "q"] * 15)), TypeError, r"y must be numeric for regression"),
    Case("bnn classifier log_likelihood unseen label", lambda c: _bnn(
        task="classification").fit(_xy()[0], np.arange(30) % 2).log_likelihood(
        _xy()[0], np.arange(30) % 3), ValueError, r"labels \[2\] not seen at fit"),
    # ---- rank-deficient linear baselines: NaN with a warning naming the columns
    Case("ols constant column", lambda c: _expect_nan_p(_baseline(
        "ols_t_test", np.column_stack([_xy()[0], np.ones(30)]), _xy()[1]), ["x3"]), None,
         r"\['x3'\] cannot be estimated"),
    Case("ols duplicate columns", lambda c: _expect_nan_p(_baseline(
        "ols_t_test", np.column_stack([_xy()[0], _xy()[0][:, 1]]), _xy()[1]), ["x1", "x3"]),
         None, r"\['x1', 'x3'\] cannot be estimated"),
    Case("ols zero residual", lambda c: _expect_nan_p(_baseline(
        "ols_t_test", _xy()[0], _xy()[0] @ [1.0, 2.0, 3.0]), ["x0", "x1", "x2"]), None,
         r"zero residual"),
    Case("lr test duplicate columns", lambda c: _expect_nan_p(_baseline(
        "likelihood_ratio_test", np.column_stack([_xy()[0], _xy()[0][:, 1]]), _xy()[1]),
        ["x1", "x3"]), None, r"\['x1', 'x3'\] cannot be estimated"),
    Case("bootstrap duplicate columns", lambda c: _expect_nan_p(_baseline(
        "bootstrap_test", np.column_stack([_xy()[0], _xy()[0][:, 1]]), _xy()[1],
        n_bootstraps=20, random_state=0), ["x1", "x3"]), None,
         r"\['x1', 'x3'\] cannot be estimated"),
    Case("paper t-test constant column", lambda c: _expect_nan_p(_baseline(
        "paper_t_test", np.column_stack([_xy()[0], np.ones(30)]), _xy()[1]), ["x3"]), None,
         r"\['x3'\] cannot be estimated"),
    # ---- integer parameters given fractions, infinite scales, bad choices
    Case("nfbst n_posterior_samples=2.7", lambda c: _nfbst(n_posterior_samples=2.7).fit(
        *_xy()), ERR, r"n_posterior_samples must be an int >= 1, got 2.7",
         loose=(ValueError, r"n_posterior_samples must be a positive integer, got 2.7")),
    Case("nfbst n_randomizations=True", lambda c: _nfbst(n_randomizations=True).fit(*_xy()),
         ERR, r"n_randomizations must be an int >= 1, got True",
         loose=(ValueError, r"n_randomizations must be a positive integer, got True")),
    Case("bnn n_steps=2.7", lambda c: _bnn(n_steps=2.7).fit(*_xy()), ERR,
         r"n_steps must be an int >= 1, got 2.7"),
    Case("bnn batch_size=0", lambda c: _bnn(batch_size=0).fit(*_xy()), ERR,
         r"batch_size must be None or an int >= 1, got 0"),
    Case("bnn batch_size=2.5", lambda c: _bnn(batch_size=2.5).fit(*_xy()), ERR,
         r"batch_size must be None or an int >= 1, got 2.5"),
    Case("bnn num_samples=10.5", lambda c: _bnn(num_samples=10.5, inference="nuts",
                                                warmup_steps=5).fit(
        *_xy()), ERR, r"num_samples must be an int >= 1, got 10.5"),
    Case("bnn prior_scale=inf", lambda c: _bnn(prior_scale=float("inf")).fit(*_xy()), ERR,
         r"prior_scale must be a finite number > 0, got inf"),
    Case("bnn lr=nan", lambda c: _bnn(lr=float("nan")).fit(*_xy()), ERR,
         r"lr must be a finite number > 0, got nan",
         loose=(ValueError, r"lr must be positive, got nan")),
    Case("bnn noise=-1", lambda c: _bnn(noise=-1.0).fit(*_xy()), ERR,
         r"noise must be a finite number > 0, got -1.0",
         loose=(ValueError, r"noise must be .*got -1.0")),
    Case("bnn hidden=(0,)", lambda c: _bnn(hidden=(0,)).fit(*_xy()), ERR,
         r"hidden must be a tuple of positive ints, got \(0,\)"),
    Case("bnn sample_posterior(2.5)", lambda c: c["bnn"].sample_posterior(2.5), ERR,
         r"n_samples must be an int >= 1, got 2.5"),
    Case("bnn predict n_samples=0", lambda c: c["bnn"].predict(_xy()[0], n_samples=0), ERR,
         r"n_samples must be an int >= 1, got 0",
         loose=(ValueError, r"n_samples must be >= 1, got 0")),
    Case("nfbst alpha=2", lambda c: _nfbst(alpha=2).fit(*_xy()), ERR,
         r"alpha must be a finite number > 0 and < 1, got 2"),
    Case("nfbst null=nan", lambda c: _nfbst(null=float("nan")).fit(*_xy()), ERR,
         r"null must be a finite number, got nan"),
    Case("nfbst quantile_lambda=1.5", lambda c: _nfbst(quantile_lambda=1.5).fit(*_xy()), ERR,
         r"quantile_lambda must be a finite number >= 0 and <= 1, got 1.5", new_api=True),
    Case("result significant(alpha=2)", lambda c: c["nfbst"].test().significant(alpha=2), ERR,
         r"alpha must be a finite number > 0 and < 1, got 2",
         loose=(ValueError, r"alpha must be in \(0, 1\), got 2")),
    Case("result to_frame(alpha='5%')", lambda c: c["nfbst"].test().to_frame(alpha="5%"),
         ERR, r"alpha must be a finite number > 0 and < 1, got '5%'"),
    Case("nfbst test scope typo value", lambda c: c["nfbst"].test(scope="regional"), ERR,
         r"scope must be one of .*got 'regional'"),
    Case("nfbst model not a BayesianMLP", lambda c: _nfbst(model="vi").fit(*_xy()), TypeError,
         r"model must be a BayesianMLP, an nfbst.network.BayesianNetwork .*got str"),
    Case("bnn task unknown", lambda c: _bnn(task="clustering").fit(*_xy()), ERR,
         r"task must be one of .*got 'clustering'",
         loose=(ValueError, r"task must be .*got 'clustering'")),
    Case("bnn preset unknown", lambda c: _bnn(preset="fast").fit(*_xy()), ERR,
         r"preset must be one of .*got 'fast'"),
    Case("bootstrap n_bootstraps=10.5", lambda c: _baseline(
        "bootstrap_test", n_bootstraps=10.5), ERR, r"n_bootstraps must be an integer >= 10"),
    Case("permutation test_size=1.5", lambda c: _model_baseline(
        "permutation_test", test_size=1.5), ERR,
         r"test_size must be a finite number > 0 and < 1, got 1.5",
         loose=(ValueError, r"test_size must be in \(0, 1\), got 1.5")),
    Case("loco test='z'", lambda c: _model_baseline("loco_test", test="z"), ERR,
         r"test must be 't' or 'wilcoxon', got 'z'"),
    Case("diagnose alpha=1.5", lambda c: _diagnose(alpha=1.5), ERR,
         r"alpha must be a finite number > 0 and < 1, got 1.5",
         loose=(ValueError, r"alpha must be in \(0, 1\), got 1.5")),
    Case("diagnose n_draws=2.5", lambda c: _diagnose(n_draws=2.5), ERR,
         r"n_draws must be an int >= 2, got 2.5",
         loose=(ValueError, r"n_draws must be an int >= 1, got 2.5")),
    Case("diagnose experts not a list", lambda c: __import__(
        "nfbst.merging", fromlist=["x"]).diagnose_merge(None, _merging_inputs()[0],
                                                         _merging_inputs()[1], []), TypeError,
         r"experts must be a non-empty list"),
    Case("evidence one draw", lambda c: _ev(np.zeros((1, 3))), ValueError,
         r"at least 2 draws"),
    Case("evidence NaN draws", lambda c: _ev(np.full((5, 3), np.nan)), ValueError,
         r"must be finite"),
    Case("evidence bad bandwidth", lambda c: _ev(_rng().normal(size=(9, 2)), bandwidth="x"),
         ValueError, r"bandwidth must be one of"),
    # ---- unknown options and keyword typos
    Case("nfbst test(scop=...) typo", lambda c: c["nfbst"].test(scop="global"), TypeError,
         r"unexpected keyword argument 'scop'"),
    Case("nfbst statistic_options typo", lambda c: _nfbst(
        statistic="lime", statistic_options={"num_sample": 20}).fit(*_xy()), TypeError,
         r"unknown option\(s\) \['num_sample'\]"),
    Case("bnn unknown parameter", lambda c: _bnn(n_step=5), TypeError,
         r"unexpected keyword argument 'n_step'"),
    Case("bnn positional argument", lambda c: __import__("nfbst").BayesianMLP((2,)),
         TypeError, r"keyword arguments only", new_api=True),
    # ---- random_state
    Case("bnn random_state='0'", lambda c: _bnn(random_state="0").fit(*_xy()), TypeError,
         r"random_state must be None, an int, a numpy RandomState or Generator, got '0'"),
    Case("nfbst random_state=1.5", lambda c: _nfbst(random_state=1.5).fit(*_xy()), TypeError,
         r"random_state must be None, an int.*got 1.5"),
    Case("bootstrap random_state='x'", lambda c: _baseline(
        "bootstrap_test", n_bootstraps=10, random_state="x"), TypeError,
         r"random_state must be None, an int.*got 'x'"),
    Case("permutation random_state=-1", lambda c: _model_baseline(
        "permutation_test", random_state=-1), ValueError, r"random_state must be >= 0, got -1",
         loose=(ValueError, r"'random_state' parameter .* Got -1")),
    # ---- the command line, through nfbst.cli.main
    Case("cli classification on continuous target", lambda c: _cli(
        c, _csv(c, "cont.csv", pd.DataFrame(_xy()[0], columns=list("abc")).assign(
            y=_xy()[1])), "--target", "y", "--task", "classification"), CLIError,
         r"exit 2: .*'y' holds non-integer numbers .* looks continuous"),
    Case("cli text feature column", lambda c: _cli(
        c, _csv(c, "text.csv", _text_frame()[0].assign(y=_xy()[1])), "--target", "y"),
         CLIError, r"exit 2: .*non-numeric feature column\(s\) 'city'"),
    Case("cli empty cell", lambda c: _cli(
        c, _csv(c, "na.csv", "a,b,y\n1,2,3\n4,,6\n7,8,9\n"), "--target", "y"), CLIError,
         r"exit 2: .*empty or NA cells in column\(s\) 'b'"),
    Case("cli header only", lambda c: _cli(c, _csv(c, "header.csv", "a,b,y\n"), "--target",
                                           "y"), CLIError, r"exit 2: .*header but no data rows"),
    Case("cli empty file", lambda c: _cli(c, _csv(c, "empty.csv", ""), "--target", "y"),
         CLIError, r"exit 2: .*is empty"),
    Case("cli non-numeric target", lambda c: _cli(
        c, _csv(c, "lab.csv", pd.DataFrame(_xy()[0], columns=list("abc")).assign(
            y=["p", "q"] * 15)), "--target", "y"), CLIError, r"exit 2: .*'y' is not numeric"),
    Case("cli x1e200 column", lambda c: _cli(
        c, _csv(c, "huge.csv", pd.DataFrame(_xy()[0], columns=list("abc")).assign(
            c=lambda f: f.c * 1e200, y=_xy()[1])), "--target", "y"), CLIError,
         r"exit 2: .*\['c'\] have a scale of"),
    Case("cli bad statistic", lambda c: _cli(c, "--statistic", "gradd"), CLIError,
         r"exit 2: .*--statistic: invalid choice: 'gradd'"),
    Case("cli bad hidden", lambda c: _cli(c, "--hidden", "a,b"), CLIError,
         r"exit 2: .*comma-separated positive integers"),
    Case("cli samples 0", lambda c: _cli(c, "--samples", "0"), CLIError,
         r"exit 2: .*--samples: must be >= 2"),
    Case("cli alpha 2", lambda c: _cli(c, "--alpha", "2"), CLIError,
         r"exit 2: .*--alpha: must be strictly between 0 and 1, got 2"),
    Case("cli out is a file", lambda c: _cli(c, "--out", _csv(c, "file.txt", "x")), CLIError,
         r"exit 2: .*exists and is not a folder"),
    # ---- saved folders: every error names the file
    Case("bnn load missing folder", lambda c: __import__("nfbst").BayesianMLP.load(
        os.path.join(c["dir"], "nowhere")), ValueError, r"nowhere.bnn\.json is missing",
         loose=(OSError, r"nowhere.bnn\.json")),
    Case("bnn load corrupt json", lambda c: __import__("nfbst").BayesianMLP.load(
        _tamper(c, "bnn_corrupt_json")), ValueError, r"bnn\.json is not valid JSON"),
    Case("bnn load missing key", lambda c: __import__("nfbst").BayesianMLP.load(
        _tamper(c, "bnn_missing_key")), ValueError, r"bnn\.json lacks key\(s\) \['layer_sizes'\]"),
    Case("bnn load tampered shape", lambda c: __import__("nfbst").BayesianMLP.load(
        _tamper(c, "bnn_shape")), ValueError, r"bnn\.json layer_sizes \[3, 7, 1\] do not match"),
    Case("bnn load tampered standardization", lambda c: __import__("nfbst").BayesianMLP.load(
        _tamper(c, "bnn_standardization")), ValueError, r"bnn\.json standardization has 1 means"),
    Case("bnn load corrupt tensors", lambda c: __import__("nfbst").BayesianMLP.load(
        _tamper(c, "bnn_corrupt_pt")), ValueError, r"bnn\.pt is not a tensor file"),
    Case("bnn load missing tensors", lambda c: __import__("nfbst").BayesianMLP.load(
        _tamper(c, "bnn_missing_pt")), ValueError, r"bnn\.pt is missing",
         loose=(OSError, r"bnn\.pt")),
    Case("nfbst load missing folder", lambda c: __import__("nfbst").NFBST.load(
        os.path.join(c["dir"], "nowhere")), ValueError, r"nowhere.nfbst\.json is missing",
         loose=(OSError, r"nowhere.nfbst\.json")),
    Case("nfbst load tampered names", lambda c: __import__("nfbst").NFBST.load(
        _tamper(c, "nfbst_names")), ValueError, r"nfbst\.json feature_names .* do not match"),
    Case("nfbst load missing rows", lambda c: __import__("nfbst").NFBST.load(
        _tamper(c, "nfbst_rows")), ValueError, r"rows\.pt is missing",
         loose=(OSError, r"rows\.pt")),
    Case("nfbst load missing key", lambda c: __import__("nfbst").NFBST.load(
        _tamper(c, "nfbst_missing_key")), ValueError,
         r"nfbst\.json lacks key\(s\) \['has_model'\]"),
    Case("regressor load of a classifier folder", lambda c: __import__(
        "nfbst").BayesianMLPRegressor.load(c["clf_saved"]), ValueError,
         r"bnn\.json holds a BayesianMLPClassifier, not a BayesianMLPRegressor", new_api=True),
]


def _classifier_folder(ctx):
    if "clf_saved" not in ctx:
        path = os.path.join(ctx["dir"], "clf")
        _bnn(task="classification").fit(_xy()[0], np.arange(30) % 2).save(path)
        ctx["clf_saved"] = path
    return ctx


def outcome(case: Case, ctx) -> tuple[str, str]:
    """``("right" | "confusing" | "silent", detail)`` of one case, without pytest."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            case.run(ctx)
        except SilentlyWrong as exc:
            return "silent", str(exc)
        except Exception as exc:  # noqa: BLE001 (classifying every outcome)
            msg = f"{type(exc).__name__}: {exc}"
            ok = [(case.exc, case.match)] + ([case.loose] if case.loose else [])
            if any(t is not None and isinstance(exc, t) and re.search(p, str(exc))
                   for t, p in ok):
                return "right", msg
            return "confusing", msg
    if case.exc is None and any(re.search(case.match, str(w.message)) for w in caught):
        return "right", "warned"
    return "silent", "returned a result" + (
        f" (warnings: {[str(w.message)[:80] for w in caught]})" if caught else " without a word")


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return _classifier_folder(make_context(tmp_path_factory.mktemp("bad_inputs")))


@pytest.mark.filterwarnings("ignore:.*R-hat:UserWarning")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_raises_or_warns_naming_the_problem(case, ctx):
    if case.exc is None:
        with pytest.warns(case.warns, match=case.match):
            case.run(ctx)
    else:
        with pytest.raises(case.exc, match=case.match):
            case.run(ctx)


def test_good_pandas_input_is_accepted_and_equals_the_numpy_fit():
    """Nullable Int64/Float64 columns without NA are numbers: the fit equals the float fit."""
    X, y = _frame()
    Xi = X.assign(a=pd.array(np.round(X.a * 10).astype(int), dtype="Int64"),
                  b=pd.array(X.b.to_numpy(), dtype="Float64"))
    Xf = Xi.astype("float64")
    a = _bnn().fit(Xi, pd.Series(pd.array(y, dtype="Float64")))
    b = _bnn().fit(Xf.to_numpy(), y)
    np.testing.assert_array_equal(a.predict(Xf), b.predict(Xf.to_numpy()))
    assert list(a.feature_names_in_) == ["a", "b", "c"]


@pytest.mark.parametrize("scale", [1e-8, 1e8])
def test_attributions_scale_with_the_inputs_instead_of_vanishing(scale):
    """A column in other units gives the same fit; its gradient is divided by the scale, never
    zeroed (float32 draws in the user's units stay in range up to the refused 1e12)."""
    from nfbst import NFBST

    X, y = _xy(60)
    kw = dict(model=_bnn(n_steps=50, activation="tanh"), n_posterior_samples=20,
              calibration="none", holdout=None, random_state=0)
    base = NFBST(**kw).fit(X, y).statistic_samples(X)
    Xs = X * np.array([scale, 1.0, 1.0])
    scaled = NFBST(**kw).fit(Xs, y).statistic_samples(Xs)
    assert np.all(np.abs(scaled[..., 0]) > 0)
    np.testing.assert_allclose(scaled[..., 0] * scale, base[..., 0], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(scaled[..., 1:], base[..., 1:], rtol=1e-3, atol=1e-6)


if __name__ == "__main__":  # the before/after counts
    import collections
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        context = make_context(d)
        try:
            _classifier_folder(context)
        except Exception:  # noqa: BLE001 (older code may lack what the folder needs)
            pass
        counts = collections.Counter()
        for case in CASES:
            kind, detail = outcome(case, context)
            group = "new_api" if case.new_api else "comparable"
            counts[group, kind] += 1
            print(f"{kind:9s} {'(new api) ' if case.new_api else ''}{case.name}: "
                  f"{' '.join(detail.split())[:160]}")
        print(dict(counts))
        sys.exit(0)
