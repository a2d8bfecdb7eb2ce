"""Discover and run the experiment modules ``experiments/<name>.py``.

An experiment is any module of this package whose name does not start with ``_`` and which
exposes ``main(argv=None)``; the first line of its docstring is its description.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def experiment_names() -> list[str]:
    """Sorted names of the experiment modules (``experiments/<name>.py``, no leading ``_``).

    Examples
    --------
    >>> isinstance(experiment_names(), list)
    True
    """
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(PACKAGE_DIR)])
        if not m.name.startswith("_") and not m.ispkg
    )


def describe(name: str) -> str:
    """First line of the docstring of experiment ``name``, read without importing it.

    Reading the source (not importing) keeps ``list`` fast and lets it work even when one
    experiment's dependencies are missing.

    Examples
    --------
    >>> describe("no_such_experiment")
    Traceback (most recent call last):
    ...
    ValueError: experiment must be one of ..., got 'no_such_experiment'
    """
    _check_name(name)
    source = (PACKAGE_DIR / f"{name}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    lines = doc.strip().splitlines()
    return lines[0].strip() if lines else "(no description)"


def run(name: str, argv: list[str] | None = None):
    """Import ``experiments.<name>`` and call its ``main(argv)``; returns what ``main`` returns.

    Examples
    --------
    >>> run("no_such_experiment")
    Traceback (most recent call last):
    ...
    ValueError: experiment must be one of ..., got 'no_such_experiment'
    """
    _check_name(name)
    module = importlib.import_module(f"experiments.{name}")
    main = getattr(module, "main", None)
    if not callable(main):
        raise TypeError(f"experiments.{name} must define main(argv=None); it does not")
    return main(list(argv) if argv is not None else [])


def _check_name(name: str) -> None:
    names = experiment_names()
    if name not in names:
        raise ValueError(f"experiment must be one of {names}, got {name!r}")
