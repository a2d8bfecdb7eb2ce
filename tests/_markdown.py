"""Code from the project's markdown documents, for tests that run a worked example as written
(so that the document and its test cannot drift apart; issue 24).

Used by logiclearn's and infotheory's CONTRIBUTING examples; nfbst's tests can adopt it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["CONTRIBUTING", "code_blocks", "run_block", "section"]

#: the repository's CONTRIBUTING.md
CONTRIBUTING = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"


def section(heading: str, doc: Path = CONTRIBUTING) -> str:
    """The text of the ``## heading`` section of ``doc``, up to the next ``## `` heading."""
    text = doc.read_text(encoding="utf-8")
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)         # the last section runs to the end of the file
    return text[start:] if end < 0 else text[start:end]


def code_blocks(text: str, lang: str = "python") -> list[str]:
    """The fenced ```` ```lang ```` blocks of ``text``, in order."""
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def run_block(code: str, name: str, package: str | None = None) -> dict[str, Any]:
    """Run ``code`` as module ``name`` (of ``package``, so that its relative imports resolve as
    in the file the document shows); return its namespace."""
    namespace: dict[str, Any] = {"__name__": name, "__package__": package}
    exec(compile(code, f"CONTRIBUTING.md:{name}", "exec"), namespace)
    return namespace
