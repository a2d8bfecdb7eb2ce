"""logiclearn's modules import each other without cycles and without private names."""

import ast
import pathlib

import logiclearn
from tests._import_graph import import_circle, import_graph

ROOT = pathlib.Path(logiclearn.__file__).parent


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path):
    """(imported module, imported names) of every import in the file, lazy ones included;
    imports under ``if TYPE_CHECKING:`` (read by the type checker only, never run) are left out."""
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                   for stmt in block.body for n in ast.walk(stmt)}
    out = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            out.append((target, [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("logiclearn"):
            out.append((node.module, [a.name for a in node.names]))
    return mod, out


def _graph():
    graph, private = {}, []
    for path in ROOT.rglob("*.py"):
        mod, imps = _imports(path)
        graph[mod] = set()
        for target, names in imps:
            graph[mod].add(target)
            private += [(mod, target, n) for n in names if n.startswith("_")
                        and not (target.endswith("._random") or n.startswith("__"))]
    return graph, private


def test_no_module_imports_another_modules_private_names():
    _, private = _graph()
    assert private == []


def test_logiclearn_modules_import_each_other_without_a_circle_lazy_and_typing_ones_included():
    """Issue 24: formula, terms, registry and the encodings imported each other through a
    global hook (``register_comparisons``) and ``TYPE_CHECKING`` imports; the language, its
    encoding protocol and registry now live in ``logiclearn.formula``, which imports no other
    logiclearn module but ``ops``. Every import counts here, lazy and typing-only ones too."""
    graph = import_graph(ROOT)
    assert graph["logiclearn.formula"] == {"logiclearn.ops"}
    assert "logiclearn.formula" in graph["logiclearn.encodings.base"]
    assert import_circle(graph) is None, f"import circle: {import_circle(graph)}"
