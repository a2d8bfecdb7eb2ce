"""infotheory's modules form no import circle, and each one imports first on its own.

Issue 24: ``audiovisual/modality.py`` drew its figure through ``rendering.py``, which imported
``modality`` back for its types; the result now draws itself (``ModalityAnalysis.plot``) and
``rendering`` only refers to it. The graph (:mod:`tests._import_graph`, shared with
logiclearn's test) counts every import of one infotheory module by another, lazy ones inside
functions and ``TYPE_CHECKING`` ones included, so that a circle cannot hide behind either.
"""

import subprocess
import sys
from pathlib import Path

from tests._import_graph import import_circle, import_graph, modules

PACKAGE = Path(__file__).resolve().parents[2] / "infotheory"


def test_infotheory_modules_import_each_other_without_a_circle():
    graph = import_graph(PACKAGE)
    assert "infotheory.audiovisual.rendering" in graph["infotheory.audiovisual"]
    assert import_circle(graph) is None, f"import circle: {import_circle(graph)}"


def test_every_infotheory_module_imports_first_in_a_fresh_interpreter():
    names = sorted(modules(PACKAGE))
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
