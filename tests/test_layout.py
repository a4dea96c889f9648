"""The shape of the code: no import circles in bench/ and methods/ (imports inside functions
count too), and a repository that stands on its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bench", "methods")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of this project it imports (anywhere in its body)."""
    files = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in files and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_checker_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_in_bench_and_methods():
    graph = import_graph()
    assert "bench.datasets.registry" in graph and graph["bench.harness"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_report_needs_no_method_registry():
    graph = import_graph()
    seen, todo = set(), ["bench.report"]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert "bench.registry" not in seen and not any(m.startswith("methods") for m in seen)


def test_methods_sit_below_the_catalogue_that_finds_them():
    """A method imports bench.method_api, never bench.registry, which imports `methods`
    (and loads its modules): the arrow the importlib scan adds points down, not up."""
    graph = import_graph()
    method_modules = [m for m in graph if m.startswith("methods.")]
    assert method_modules and "methods" in graph["bench.registry"]
    for module in method_modules:
        assert "bench.registry" not in graph[module], module
        assert "bench.method_api" in graph[module], module


def test_the_repository_stands_on_its_own():
    for path in ROOT.rglob("*"):
        if ".venv" in path.parts or ".git" in path.parts or not path.is_file():
            continue
        if path.suffix in (".py", ".md", ".toml", ".sh") or path.name == "run":
            text = path.read_text(errors="ignore")
            assert "../" + "shared" not in text, f"{path} points outside the repository"
            assert "noqa: " + "PLC0415" not in text, f"{path}: noqa for a rule ruff does not select"


def test_the_readme_layering_table_names_every_module():
    text = (ROOT / "README.md").read_text()
    table = text.split("| layer | modules |", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([\w/.]+)`", table))
    modules = {path.stem for path in (ROOT / "bench").rglob("*.py") if path.stem != "__init__"}
    assert modules - named == set()
