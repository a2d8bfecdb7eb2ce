"""logiclearn's modules import each other without cycles and without private names."""

import ast
import pathlib

import logiclearn

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


def test_intra_package_import_graph_is_acyclic_apart_from_package_inits():
    graph, _ = _graph()
    # edges into a package __init__ only re-export; follow module -> module edges
    mods = set(graph)
    edges = {m: {t for t in graph[m] if t in mods and t != m and not _is_pkg(t)} for m in mods}
    state = {}

    def visit(m, stack):
        state[m] = 1
        for t in edges[m]:
            if state.get(t) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(stack + [m, t])}")
            if t not in state:
                visit(t, stack + [m])
        state[m] = 2

    for m in sorted(mods):
        if m not in state:
            visit(m, [])
    assert "logiclearn.registry" in mods and "logiclearn.encodings" not in {
        t for t in graph["logiclearn.formula"]}


def _is_pkg(name):
    return (ROOT.parent / pathlib.Path(*name.split(".")) / "__init__.py").exists()


def test_no_module_imports_another_modules_private_names():
    _, private = _graph()
    assert private == []
