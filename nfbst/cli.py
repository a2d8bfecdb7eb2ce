"""Command line: ``nfbst test [data.csv --target y]`` prints the evidence table and writes a PNG.

Without a CSV it runs on the nFBST paper's toy example (y = 8 + x0² + x1·x2 + cos x3 +
exp(x4·x5) + 0.1·x6 + 0·x7 + ε), generated from its formula.

Every option value and the CSV are checked before any network is fitted. Errors are one line
on stderr, ``nfbst: error: ...``, without a traceback unless ``--debug`` is given. Exit codes:
0 success, 2 usage or input error, 1 unexpected failure, 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import operator
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, cast

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
regions (--scope local):
  --region 'NAME=EXPR', repeatable; EXPR is a condition on a column of the data,
  COLUMN OP NUMBER with OP one of < <= > >= == !=, and several conditions joined by & must
  all hold, e.g. --region 'neg=x3<0' --region 'mid=x3>=0 & x3<1'. Without NAME= the
  expression is the name. Quote every region: unquoted, the shell reads < and > as
  redirections (x3<0 becomes x3 reading a file named 0; bmi>30 writes a file named 30).

exit codes:
  0  success
  2  usage or input error: a bad option value or CSV (all checked before any fit),
     or input the library refuses
  1  unexpected failure while fitting or writing (rerun with --debug for the traceback)
  130  interrupted (Ctrl-C)

examples:
  nfbst test                                   # the paper's toy example, global scope
  nfbst test data.csv --target y --statistic deeplift --correction bh
  nfbst test --scope local --region 'neg=x3<0' --region 'pos=x3>=0'
  nfbst test data.csv --target y --sep ';'      # a semicolon-separated file
"""


class InputError(ValueError):
    """A bad option value or data file, found before any fit (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``nfbst: error: ...`` and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see '{self.prog} --help')")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every default (except an absent one) and keeps the epilog's line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


# ------------------------------------------------------------------ option values
def _int_at_least(low: int, what: str = "") -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}{what}, got {value}")
        return value

    return parse


def _seed(text: str) -> int:
    value = _int_at_least(0)(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be < 2**32, got {value}")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {text}")
    return value


def parse_hidden(text: str) -> tuple[int, ...]:
    """Hidden widths from ``"20,20,20"``; ``""`` or ``"none"`` means no hidden layer.

    Examples
    --------
    >>> parse_hidden("20, 10")
    (20, 10)
    >>> parse_hidden("none")
    ()
    """
    if text.strip().lower() in ("", "none"):
        return ()
    widths = []
    for part in text.split(","):
        try:
            width = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated positive integers such as 20,20,20, got {text!r}"
            ) from None
        if width < 1:
            raise argparse.ArgumentTypeError(f"layer widths must be >= 1, got {width} in {text!r}")
        widths.append(width)
    return tuple(widths)


def _out_folder(text: str) -> str:
    """The output folder must be a writable folder or creatable inside one."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder name, got an empty string")
    path = os.path.abspath(text)
    if os.path.exists(path) and not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder")
    probe = path
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise argparse.ArgumentTypeError(
            f"cannot create {text!r}: {probe!r} is a file, not a folder"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write into {probe!r} (permission denied)")
    return text


# ------------------------------------------------------------------------ regions
_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
        "<": operator.lt, ">": operator.gt}
_NAMED = re.compile(r"^\s*(?P<name>[^<>=!&]+?)\s*=(?!=)(?P<expr>.*)$")
_CONDITION = re.compile(
    r"^\s*(?P<column>[^<>=!&]+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>\S+)\s*$"
)


_QUOTING_HINT = ("; it has no comparison: if you typed it unquoted, the shell took < or > as a "
                 "redirection (and may have made a file named after the number): quote the "
                 "region, --region 'NAME=COLUMN<NUMBER'")


def parse_region(text: str) -> tuple[str, list[tuple[str, str, float]]]:
    """``"NAME=COLUMN OP NUMBER [& ...]"`` -> ``(name, [(column, op, number), ...])``.

    Only comparisons of a column with a number are understood; nothing is evaluated as code.

    Examples
    --------
    >>> parse_region("neg=x3<0")
    ('neg', [('x3', '<', 0.0)])
    >>> parse_region("x0 >= -1 & x0 < 1")
    ('x0 >= -1 & x0 < 1', [('x0', '>=', -1.0), ('x0', '<', 1.0)])
    """
    named = _NAMED.match(text)
    name, expr = (named["name"], named["expr"]) if named else (text.strip(), text)
    conditions = []
    for part in expr.split("&"):
        cond = _CONDITION.match(part)
        if cond is None:
            raise InputError(
                f"argument --region: cannot read {part.strip()!r} in {text!r}; expected "
                "COLUMN OP NUMBER with OP one of < <= > >= == != (e.g. --region 'neg=x3<0')"
                + (_QUOTING_HINT if not any(op in part for op in "<>=!") else "")
            )
        try:
            value = float(cond["value"])
        except ValueError:
            value = math.nan
        if math.isnan(value):
            raise InputError(
                f"argument --region: {cond['value']!r} in {text!r} is not a number"
            )
        conditions.append((cond["column"], cond["op"], value))
    if not name:
        raise InputError(f"argument --region: empty region name in {text!r}")
    return name, conditions


def region_masks_from_specs(frame: pd.DataFrame,
                            specs: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean row masks ``{name: (n,)}`` of ``--region`` specs on a DataFrame's columns."""
    import pandas as pd

    masks: dict[str, np.ndarray] = {}
    for text in specs:
        name, conditions = parse_region(text)
        if name in masks:
            raise InputError(f"argument --region: region name {name!r} is given twice")
        mask = np.ones(len(frame), dtype=bool)
        for column, op, value in conditions:
            if column not in frame.columns:
                raise InputError(
                    f"argument --region: column {column!r} of region {name!r} is not in the "
                    f"data; columns are {[str(c) for c in frame.columns]}"
                )
            if not pd.api.types.is_numeric_dtype(frame[column]):
                raise InputError(
                    f"argument --region: column {column!r} of region {name!r} is not numeric"
                )
            mask &= _OPS[op](frame[column].to_numpy(dtype=float), value)
        if not mask.any():
            raise InputError(f"argument --region: region {name!r} ({text}) contains no rows")
        masks[name] = mask
    return masks


# ------------------------------------------------------------------------- parser
def _library_choices() -> tuple[list[str], tuple[str, ...], tuple[str, ...]]:
    """Choices that come from the library itself, so that new ones appear here on their own."""
    from .backends import available
    from .significance import RULES
    from .statistics import available_statistics

    return available_statistics(), tuple(RULES), tuple(available())


def _holdout(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    return _probability(text)


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    from .posterior import ACTIVATIONS
    from .significance import CALIBRATIONS, DEFAULT_MODEL, NFBST

    statistics, rules, inferences = _library_choices()
    p = _Parser(prog="nfbst", description="nFBST: Full Bayesian Significance Testing of the "
                "input features of a neural network.", epilog=EPILOG[EPILOG.index("exit codes"):],
                formatter_class=_HelpFormatter)
    p.add_argument("--version", action="version", version=f"nfbst {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    t = sub.add_parser("test", help="test the significance of every input feature",
                       description="Test H0 'feature j does not matter' for every input feature "
                       "with nFBST; print the evidence table and write a CSV and a PNG.",
                       epilog=EPILOG, formatter_class=_HelpFormatter)
    t.add_argument("data", nargs="?", default=None,
                   help="CSV file with a header row; without it, the paper's toy example")
    t.add_argument("--target", default=None, help="name of the target column of the CSV")
    t.add_argument("--task", choices=("regression", "classification"), default="regression",
                   help="kind of target")
    t.add_argument("--sep", default=",", metavar="CHAR",
                   help="column delimiter of the CSV, e.g. ';' or a tab as $'\\t'")
    t.add_argument("--max-classes", type=_int_at_least(2), default=50, metavar="K",
                   help="refuse --task classification on a target with more distinct values")
    t.add_argument("--statistic", choices=statistics, default="grad", metavar="NAME",
                   help=f"attribution statistic, one of: {', '.join(statistics)}")
    t.add_argument("--scope", choices=("global", "local", "instance"), default="global",
                   help="one evidence per feature, per region (needs --region) or per row")
    t.add_argument("--region", action="append", default=None, metavar="NAME=EXPR",
                   help="a region for --scope local, quoted, e.g. 'neg=x3<0' (repeatable; "
                   "see below)")
    t.add_argument("--rule", choices=rules, default=NFBST().rule,
                   help="global/local evidence rule of NFBST")
    t.add_argument("--calibration", choices=CALIBRATIONS, default=NFBST().calibration,
                   help="crt: conditional randomization p-values decide; none: evidence only")
    t.add_argument("--holdout", type=_holdout, default=NFBST().holdout, metavar="FRACTION",
                   help="rows kept out of the fit for the CRT ('none': fit on every row)")
    t.add_argument("--randomizations", type=_int_at_least(1), default=NFBST().n_randomizations,
                   help="CRT randomizations K: the smallest p-value is 1/(K+1), so K must "
                   "exceed 1/alpha - 1")
    t.add_argument("--alpha", type=_probability, default=0.05, help="significance level")
    t.add_argument("--correction", choices=("none", "bh"), default="none",
                   help="Benjamini-Hochberg across features, or none")
    t.add_argument("--samples", type=_int_at_least(2, " (the evidence needs 2 draws)"),
                   default=300, help="posterior draws S")
    t.add_argument("--hidden", type=parse_hidden, metavar="W1,W2,...",
                   default=",".join(map(str, DEFAULT_MODEL["hidden"])),
                   help="hidden layer widths, comma separated ('none': no hidden layer)")
    t.add_argument("--activation", choices=sorted(ACTIVATIONS),
                   default=DEFAULT_MODEL["activation"], help="hidden activation")
    t.add_argument("--inference", choices=inferences, default="vi",
                   help="posterior inference of BayesianMLP")
    t.add_argument("--steps", type=_int_at_least(1), default=DEFAULT_MODEL["n_steps"],
                   help="VI optimisation steps")
    t.add_argument("--n-toy", type=_int_at_least(2), default=5000,
                   help="rows of the toy example")
    t.add_argument("--seed", type=_seed, default=0, help="random_state of the network and test")
    t.add_argument("--out", type=_out_folder, default="nfbst_out",
                   help="folder for the CSV and the PNG (created if missing)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument("--debug", action="store_true",
                   help="show the full traceback of an error")
    return p


# --------------------------------------------------------------------------- data
def _check_options(args: argparse.Namespace) -> None:
    if args.scope == "local" and not args.region:
        raise InputError("--scope local needs at least one --region 'NAME=EXPR', e.g. "
                         "--region 'neg=x3<0' (quoted)")
    if args.region and args.scope != "local":
        raise InputError(f"--region is only used with --scope local, got --scope {args.scope}")
    if args.data is None and args.target is not None:
        raise InputError(
            "--target names a column of a CSV, but no CSV was given (the toy example needs none)"
        )
    if args.data is None and args.task == "classification":
        raise InputError("the toy example has a continuous target; use --task regression")
    floor = 1.0 / (args.randomizations + 1)
    if args.calibration == "crt" and args.scope != "instance" and floor >= args.alpha:
        from .result import min_randomizations

        raise InputError(
            f"--randomizations {args.randomizations} gives p-values no smaller than 1/(K+1) = "
            f"{floor:.3g}, so none can be below --alpha {args.alpha:g}; use --randomizations "
            f">= {min_randomizations(args.alpha)} (or --calibration none)"
        )


def _read_csv(path: str, target: str | None, sep: str = ","
              ) -> tuple[pd.DataFrame, pd.Series]:
    """The CSV as (features DataFrame, target Series); every problem named with its column."""
    import pandas as pd

    if not os.path.exists(path):
        raise InputError(f"data file not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"data path is a folder, not a CSV file: {path}")
    try:
        df = pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty: expected a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"cannot read {path} as CSV: {' '.join(str(exc).split())}") from None
    columns = [str(c) for c in df.columns]
    if target is None:
        raise InputError(f"--target is required with a CSV; columns of {path} are {columns}")
    if target not in df.columns:
        hint = ""
        if len(columns) == 1:
            found = [c for c in (";", "\t", "|", ",") if c != sep and c in columns[0]]
            if found:
                hint = (f"; the header is one column, so the file looks {found[0]!r}-separated: "
                        f"add --sep {found[0]!r}")
        raise InputError(f"--target {target!r} is not a column of {path}; columns are "
                         f"{columns}{hint}")
    if len(df) == 0:
        raise InputError(f"{path} has a header but no data rows")
    if len(df) < 2:
        raise InputError(f"{path} has {len(df)} data row; at least 2 are needed")
    if df.shape[1] < 2:
        raise InputError(f"{path} has only the target column {target!r}; no features to test")
    missing = {str(c): int(df[c].isna().sum()) for c in df.columns if df[c].isna().any()}
    if missing:
        first = {c: int(np.flatnonzero(df[c].isna().to_numpy())[0]) + 1 for c in missing}
        where = ", ".join(f"{c!r} ({k}, first in data row {first[c]})" for c, k in missing.items())
        raise InputError(f"{path} has empty or NA cells in column(s) {where}; fill or drop them")
    y = df.pop(target)
    text = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if text:
        examples = ", ".join(f"{c!r} (e.g. {df[c].iloc[0]!r})" for c in text)
        raise InputError(
            f"non-numeric feature column(s) {examples} in {path}; encode them as numbers first"
        )
    X = df.astype(float)
    infinite = [str(c) for c in X.columns if not np.isfinite(X[c].to_numpy()).all()]
    if infinite:
        raise InputError(f"infinite values in feature column(s) {infinite} of {path}")
    constant = [str(c) for c in X.columns if X[c].nunique() == 1]
    if constant:
        raise InputError(
            f"constant feature column(s) {constant} in {path}: nothing to test; drop them"
        )
    return X, y


def _check_target(y: pd.Series, task: str, name: str, max_classes: int = 50) -> np.ndarray:
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if task == "regression":
        if not numeric:
            raise InputError(
                f"target column {name!r} is not numeric (e.g. {y.iloc[0]!r}); for class labels "
                "use --task classification"
            )
        values = y.to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise InputError(f"target column {name!r} has infinite values")
        if np.ptp(values) == 0:
            raise InputError(f"target column {name!r} is constant: nothing to learn")
        return values
    values = y.to_numpy()
    if numeric and y.dtype.kind == "f" and not np.all(values == np.round(values)):
        raise InputError(
            f"target column {name!r} holds non-integer numbers ({y.nunique()} distinct values) "
            "and looks continuous; use --task regression, or integer class labels"
        )
    if y.nunique() < 2:
        raise InputError(f"target column {name!r} has a single class; classification needs two")
    if y.nunique() > max_classes:
        raise InputError(
            f"target column {name!r} has {y.nunique()} distinct values, more classes than "
            f"--max-classes {max_classes}: for a numeric target use --task regression, or "
            "raise --max-classes"
        )
    return values


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame, np.ndarray, str, str]:
    """Features (DataFrame), target (array), label for file names; all checked."""
    import pandas as pd

    if args.data is None:
        from .datasets import make_toy

        X, y = make_toy(args.n_toy, random_state=args.seed)
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
        print(f"No data given: the nFBST paper's toy example, n={len(X)} (x7 is null).")
        return frame, y, "y", "toy"
    X, y = _read_csv(args.data, args.target, args.sep)
    y = _check_target(y, args.task, args.target, args.max_classes)
    return X, y, args.target, os.path.basename(args.data)


# --------------------------------------------------------------------------- main
def _run(args: argparse.Namespace) -> int:
    from . import NFBST, BayesianMLPClassifier, BayesianMLPRegressor

    _check_options(args)
    X, y, target_name, label = _load(args)
    regions = None
    if args.scope == "local":
        columns = X.assign(**{target_name: y}) if target_name not in X.columns else X
        regions = region_masks_from_specs(columns, args.region)
    verbose = 0 if args.quiet else 1
    # what BayesianMLP(task=...) builds, named so that type checkers see it
    model_class = BayesianMLPClassifier if args.task == "classification" else BayesianMLPRegressor
    model = model_class(hidden=args.hidden, activation=args.activation,
                        inference=args.inference, n_steps=args.steps, random_state=args.seed,
                        verbose=verbose)
    check_settings = getattr(model, "_settings", None)  # BayesianMLP's own check, if it has one
    if check_settings is not None:
        try:
            check_settings()  # e.g. an --inference name the library does not know, before any fit
        except (ValueError, TypeError) as exc:
            raise InputError(" ".join(str(exc).split())) from exc
    test = NFBST(statistic=args.statistic, model=model, n_posterior_samples=args.samples,
                 rule=args.rule, calibration=args.calibration, holdout=args.holdout,
                 n_randomizations=args.randomizations, alpha=args.alpha,
                 correction=None if args.correction == "none" else "bh",
                 random_state=args.seed, verbose=verbose)

    t0 = time.perf_counter()
    test.fit(X, y)  # a DataFrame: the feature names come with it
    res = test.test(X, scope=args.scope, regions=regions)  # the names are checked as at fit
    elapsed = time.perf_counter() - t0
    frame = res.to_frame()
    print(res.to_string())  # the deciding columns first; p <= 1/(K+1) written as such
    print(res.summary())
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"nfbst_{os.path.splitext(label)[0]}_{args.scope}")
    frame.to_csv(stem + ".csv", index=False)
    import matplotlib.pyplot as plt

    ax = res.plot()
    fig = cast("Figure", ax.figure)  # plot() drew on a figure of its own, not a subfigure
    fig.tight_layout()
    fig.savefig(stem + ".png", dpi=120)
    plt.close(fig)
    print(f"wrote {stem}.csv and {stem}.png ({elapsed:.1f} s)")
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nfbst`` command; returns the exit code (0, 1, 2 or 130).

    Examples
    --------
    >>> main(["test", "--alpha", "2"])
    2
    """
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
        debug = args.debug
        return _run(args)
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_FAILURE
    except KeyboardInterrupt:
        if debug:
            raise
        print("nfbst: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (InputError, argparse.ArgumentError) as exc:
        if debug:
            raise
        print(f"nfbst: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as exc:
        # the library refuses bad input with ValueError/TypeError naming the problem
        if debug:
            raise
        print(f"nfbst: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if debug:
            raise
        print(f"nfbst: error: unexpected {type(exc).__name__}: {_one_line(exc)} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
