"""Command line of the experiments: ``python -m experiments list | run <name> [options]``.

``list`` prints every experiment with the first line of its docstring; ``run <name>`` passes
the remaining options (``--quick``, ``--out DIR``, ...) to that experiment's ``main``.
"""

from __future__ import annotations

import argparse
import sys

from experiments._runner import describe, experiment_names, run


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m experiments``; returns the process exit status.

    Examples
    --------
    >>> main(["list"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(
        prog="python -m experiments",
        description="Reproduce the papers' tables and figures, one command each.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments with a one-line description")
    run_p = sub.add_parser(
        "run", help="run one experiment; options after the name go to it (e.g. --quick, --out DIR)"
    )
    run_p.add_argument("name", help="experiment name, as shown by `list`")
    args, rest = parser.parse_known_args(argv)
    if args.command == "list":
        names = experiment_names()
        width = max((len(n) for n in names), default=0)
        for name in names:
            print(f"{name:<{width}}  {describe(name)}")
        return 0
    if args.name not in experiment_names():
        parser.error(f"unknown experiment {args.name!r}; `python -m experiments list` shows them")
    run(args.name, rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
