"""The package map stays true: imports run one way through the layers, and no module outgrows
one concept. Reads the sources' import statements; imports nothing of kb itself."""

from __future__ import annotations

import ast
from pathlib import Path

from support import ROOT

SRC = ROOT / "src" / "kb"
GROUND = {"config", "records", "reasons", "tokenize", "hashing", "text", "cache", "__init__"}
FRONT_DOORS = {"__main__": "cli"}  # `python -m kb` is the CLI
# What each layer may import besides the ground floor and itself; data flows down this table.
ALLOWED = {
    "ingest": set(),
    "model": set(),
    "index": {"ingest", "model"},
    "practices": {"ingest", "index"},
    "milvus": {"ingest", "model", "index", "practices"},
    "search": {"ingest", "model", "index", "practices", "milvus"},
    "office": {"ingest", "model", "index", "milvus"},
    "evaluate": {"ingest", "model", "index", "search"},
    "report": {"practices"},
    "page": {"ingest", "model", "index", "practices", "search", "office", "report", "milvus"},
    "api": {"ingest", "model", "index", "practices", "search", "office", "report", "milvus"},
    "cli": {"ingest", "model", "index", "practices", "search", "office", "evaluate", "page", "report", "milvus", "api"},
}
MAX_LINES = 400


def _layer(module: str) -> str:
    """`kb.index.store` -> index; `kb.config` -> ground."""
    parts = module.split(".")
    if len(parts) == 2 and parts[1] in FRONT_DOORS:
        return FRONT_DOORS[parts[1]]
    return "ground" if len(parts) < 2 or parts[1] in GROUND else parts[1]


def _module_of(path: Path) -> str:
    relative = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(relative.parts)


def _kb_imports(path: Path) -> list[str]:
    """Every kb module a file imports, at the top or inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] in ("kb", "app")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "kb":
                found += [f"kb.{alias.name}" for alias in node.names]
            elif node.module.split(".")[0] in ("kb", "app"):
                # `from kb.ingest import ocr` imports the module kb.ingest.ocr; `from kb.search import
                # Searcher` imports a name of kb.search.
                found += list(dict.fromkeys(_resolve(f"{node.module}.{alias.name}") for alias in node.names))
    return found


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _resolve(imported: str) -> str:
    """`kb.search.backend` stays itself; `kb.search.Scope` (a name from a package) is `kb.search`."""
    parts = imported.split(".")
    while len(parts) > 1:
        path = SRC.parent.joinpath(*parts)
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    return imported


def _import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def _import_graph(paths: list[Path]) -> dict[str, set[str]]:
    graph = {}
    for path in paths:
        module = _module_of(path).removesuffix(".__init__")
        graph[module] = {_resolve(m) for m in _kb_imports(path) if m.split(".")[0] == "kb"} - {module}
    return graph


def test_no_import_circle():
    """Lazy imports included: a circle that works only because one side imports late is still one
    concept split across two modules that each need the other."""
    circles = _import_circles(_import_graph(_sources()))
    assert not circles, "modules that import each other: " + "; ".join(" <-> ".join(c) for c in circles)


def test_the_checker_sees_a_circle():
    graph = {"kb.a": {"kb.b"}, "kb.b": {"kb.c"}, "kb.c": {"kb.a"}, "kb.d": {"kb.a"}}
    assert _import_circles(graph) == [["kb.a", "kb.b", "kb.c"]]
    assert _import_circles({"kb.a": {"kb.b"}, "kb.b": set()}) == []
    assert _resolve("kb.search.backend") == "kb.search.backend" and _resolve("kb.search.Scope") == "kb.search"


def test_every_layer_is_a_known_package():
    layers = {_layer(_module_of(path)) for path in _sources()}
    assert layers <= set(ALLOWED) | {"ground"}, layers - set(ALLOWED)


def test_imports_run_down_the_layers():
    wrong = []
    for path in _sources():
        layer = _layer(_module_of(path))
        allowed = {layer, "ground"} | ALLOWED.get(layer, set())
        for imported in _kb_imports(path):
            if imported.split(".")[0] == "app":
                wrong.append(f"{path.relative_to(ROOT)} imports app.py")
            elif _layer(imported) not in allowed:
                wrong.append(f"{path.relative_to(ROOT)} ({layer}) imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_the_issue_rules_in_particular():
    """The rules README states, checked by name so a change to the table above cannot drop them."""
    for low in ("model", "index", "ingest"):
        assert not ALLOWED[low] & {"search", "cli", "page"}
    assert "model" not in ALLOWED["ingest"]


def test_the_ground_floor_imports_only_itself():
    for path in _sources():
        if _layer(_module_of(path)) == "ground":
            assert all(_layer(m) == "ground" for m in _kb_imports(path)), path


def test_no_module_outgrows_one_concept():
    long = {str(p.relative_to(ROOT)): n for p in _sources() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by concept: {long}"


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The walk finds imports inside functions too, which is where kb imports lazily."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from kb.search import Searcher\n    import kb.page\n", encoding="utf-8")
    assert _kb_imports(sample) == ["kb.search", "kb.page"]
    assert _layer("kb.search.searcher") == "search" and _layer("kb.config") == "ground"
