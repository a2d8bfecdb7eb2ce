"""Small helpers shared by the experiment modules: arguments, results folder, tables, figures.

Every experiment's ``main(argv)`` starts with :func:`parse_args` and writes its outputs with
:func:`write_table` / :func:`save_figure` into the folder :func:`parse_args` made.
"""

from __future__ import annotations

import argparse
import math
import shlex
from collections.abc import Callable
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_out(name: str) -> Path:
    """Default results folder of experiment ``name``: ``<repo>/results/<name>``.

    Examples
    --------
    >>> default_out("demo").name
    'demo'
    """
    return REPO_ROOT / "results" / name


def parse_args(
    name: str,
    argv: list[str] | None,
    description: str = "",
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """Parse ``--quick``, ``--out DIR`` (and extra options) and create the output folder.

    The returned namespace has ``quick`` (bool), ``out`` (a created :class:`~pathlib.Path`)
    and ``argv`` (the list parsed, for the ``COMMAND`` file).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> args = parse_args("demo", ["--quick", "--out", d])
    >>> args.quick, args.out.is_dir()
    (True, True)
    """
    argv = [str(a) for a in (argv or [])]
    parser = argparse.ArgumentParser(prog=f"python -m experiments run {name}",
                                     description=description)
    parser.add_argument("--quick", action="store_true",
                        help="small, fast version (used by the tests)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"results folder (default: results/{name}/)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    args.out = Path(args.out) if args.out is not None else default_out(name)
    blocking = next((p for p in (args.out, *args.out.parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        parser.error(f"--out {str(args.out)!r}: {str(blocking)!r} is a file, not a folder")
    args.out.mkdir(parents=True, exist_ok=True)
    args.argv = argv
    args.name = name
    return args


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` with the progress convention of ``probconstraints._progress``; read it
    with :func:`verbosity`."""
    parser.add_argument("--verbose", type=int, default=None,
                        help="0: silent; 1: a progress bar on a terminal only (default, 0 with "
                             "--quick); 2: also progress lines in logs")


def verbosity(args: argparse.Namespace) -> int:
    """``--verbose`` if given, else 1 (0 with ``--quick``)."""
    return args.verbose if args.verbose is not None else int(not args.quick)


def write_command(args: argparse.Namespace) -> Path:
    """Write ``<out>/COMMAND``: the exact command line that produced the results.

    Examples
    --------
    >>> import tempfile
    >>> args = parse_args("demo", ["--out", tempfile.mkdtemp()])
    >>> write_command(args).read_text().startswith("python -m experiments run demo")
    True
    """
    line = " ".join(["python -m experiments run", args.name, *map(shlex.quote, args.argv)])
    path = args.out / "COMMAND"
    path.write_text(line + "\n", encoding="utf-8")
    return path


def markdown_table(df: pd.DataFrame, floatfmt: str = ".3g", index: bool = False) -> str:
    """A GitHub-flavoured markdown table of ``df`` (no ``tabulate`` needed).

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"a": [1, 2], "b": [0.5, float("nan")]})))
    | a | b |
    |---|---|
    | 1 | 0.5 |
    | 2 |  |
    """
    if index:
        df = df.reset_index()

    def fmt(v) -> str:
        if isinstance(v, float):
            if math.isnan(v):
                return ""
            return format(v, floatfmt)
        return str(v).replace("|", "\\|")

    header = "| " + " | ".join(str(c).replace("|", "\\|") for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |"
            for row in df.itertuples(index=False, name=None)]
    return "\n".join([header, rule, *rows])


def write_table(
    df: pd.DataFrame,
    out: Path,
    stem: str,
    title: str | None = None,
    notes: str | None = None,
    floatfmt: str = ".3g",
) -> tuple[Path, Path]:
    """Write ``<out>/<stem>.csv`` and ``<out>/<stem>.md`` (title, table, notes).

    Returns the two paths.

    Examples
    --------
    >>> import tempfile
    >>> csv, md = write_table(pd.DataFrame({"x": [1.0]}), Path(tempfile.mkdtemp()), "t")
    >>> csv.suffix, md.read_text().splitlines()[0]
    ('.csv', '| x |')
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{stem}.csv"
    md_path = out / f"{stem}.md"
    df.to_csv(csv_path, index=False)
    parts = []
    if title:
        parts.append(f"## {title}\n")
    parts.append(markdown_table(df, floatfmt=floatfmt))
    if notes:
        parts.append("\n" + notes.strip())
    md_path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return csv_path, md_path


def save_figure(fig, out: Path, stem: str, dpi: int = 100) -> Path:
    """Save a matplotlib figure as ``<out>/<stem>.png`` and close it; returns the path.

    Examples
    --------
    >>> import tempfile, matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> save_figure(fig, Path(tempfile.mkdtemp()), "f").suffix
    '.png'
    """
    import matplotlib.pyplot as plt

    path = Path(out) / f"{stem}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
