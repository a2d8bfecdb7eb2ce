"""infotheory's modules form no import circle, and each one imports first on its own.

Issue 24: ``audiovisual/modality.py`` drew its figure through ``rendering.py``, which imported
``modality`` back for its types; the result now draws itself (``ModalityAnalysis.plot``) and
``rendering`` only refers to it. The graph below counts every import of one infotheory module
by another, lazy ones inside functions and ``TYPE_CHECKING`` ones included, so that a circle
cannot hide behind either.
"""

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "infotheory"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _import_graph() -> dict[str, set[str]]:
    """module -> the infotheory modules it imports anywhere in its body (a package's
    ``from . import sub`` counts as an import of ``sub``, not of the package)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                subs = [f"{target}.{alias.name}" for alias in node.names]
                found = [s for s in subs if s in modules]
                targets = found + ([target] if len(found) < len(subs) else [])
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_infotheory_modules_import_each_other_without_a_circle():
    graph = _import_graph()
    assert "infotheory.audiovisual.rendering" in graph["infotheory.audiovisual"]
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import circle among infotheory modules: {exc.args[1]}")


def test_every_infotheory_module_imports_first_in_a_fresh_interpreter():
    names = sorted(_modules())
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'infotheory']:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
        "print('ok', len(" + repr(names) + "))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=PACKAGE.parent, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")
