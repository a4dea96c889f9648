"""The shape of the code: no import circles in bench/ and methods/ (imports inside functions
count too), and a repository that stands on its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bench import SEAMS

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
    assert "bench.run.datasets.registry" in graph and graph["bench.run.harness"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def package_of(module: str) -> str | None:
    """The seam package of a bench module (the longest SEAMS key it lies in), or None."""
    inside = module.removeprefix("bench.")
    matches = [p for p in SEAMS if inside == p or inside.startswith(p + ".")]
    return max(matches, key=len) if matches else None


def forbidden_edges(graph: dict[str, set[str]]) -> list[str]:
    """Every import edge between bench packages that SEAMS does not allow."""
    bad = []
    for source, targets in graph.items():
        if not source.startswith("bench."):
            continue
        here = package_of(source)
        for target in targets:
            there = package_of(target) if target.startswith("bench.") else None
            if there is None or there == here:
                continue
            if here is None or there not in SEAMS[here]:
                bad.append(f"{source} -> {target}")
    return sorted(bad)


def test_packages_respect_the_seams():
    graph = import_graph()
    packages = {m: package_of(m) for m in graph if m.startswith("bench.")}
    assert set(packages.values()) - {None} == set(SEAMS)
    assert [m for m, p in packages.items() if p is None] == ["bench.report"]  # folder of two
    assert forbidden_edges(graph) == []


def test_the_seam_check_finds_a_planted_forbidden_import():
    graph = import_graph()
    graph["bench.core.config"] = graph["bench.core.config"] | {"bench.run.models"}
    graph["bench.report.analyse.stats"] = {"bench.report.render.figures"}
    assert forbidden_edges(graph) == [
        "bench.core.config -> bench.run.models",
        "bench.report.analyse.stats -> bench.report.render.figures",
    ]


def test_bench_holds_folders_and_its_init_only():
    top = sorted(p.name for p in (ROOT / "bench").iterdir() if p.name != "__pycache__")
    assert [n for n in top if n.endswith(".py")] == ["__init__.py"]
    assert sorted(n for n in top if n != "__init__.py") == sorted({p.split(".")[0] for p in SEAMS})


def test_the_report_needs_no_method_registry():
    graph = import_graph()
    seen, todo = set(), ["bench.report.render.report"]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert "bench.api.registry" not in seen and not any(m.startswith("methods") for m in seen)


def test_methods_sit_below_the_catalogue_that_finds_them():
    """A method imports bench.api, never bench.api.registry, which imports `methods` (and
    loads its modules): the arrow the importlib scan adds points down, not up."""
    graph = import_graph()
    method_modules = [m for m in graph if m.startswith("methods.")]
    assert method_modules and "methods" in graph["bench.api.registry"]
    for module in method_modules:
        assert "bench.api.registry" not in graph[module], module
        assert "bench.api" in graph[module], module


def test_the_repository_stands_on_its_own():
    for path in ROOT.rglob("*"):
        if ".venv" in path.parts or ".git" in path.parts or not path.is_file():
            continue
        if path.suffix in (".py", ".md", ".toml", ".sh") or path.name == "run":
            text = path.read_text(errors="ignore")
            assert "../" + "shared" not in text, f"{path} points outside the repository"
            assert "noqa: " + "PLC0415" not in text, f"{path}: noqa for a rule ruff does not select"


def test_the_readme_layering_table_is_the_folders_and_the_seams():
    """Each row of the README's table: a package, what it may import (SEAMS), and its
    modules, exactly as the folders hold them."""
    text = (ROOT / "README.md").read_text()
    table = text.split("| package | may import | modules |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1:4] for line in table.strip().splitlines()[1:]]
    found = {}
    for package, imports, modules in rows:
        name = package.strip().strip("`").removeprefix("bench/").rstrip("/").replace("/", ".")
        allowed = tuple(re.findall(r"`([\w/]+)`", imports))
        found[name] = (
            tuple(a.rstrip("/").replace("/", ".") for a in allowed),
            set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", modules))),
        )
    folders = {
        package: {
            p.stem if p.suffix == ".py" else p.name
            for p in (ROOT / "bench" / package.replace(".", "/")).iterdir()
            if p.name not in ("__init__.py", "__pycache__")
            and (p.suffix == ".py" or p.is_dir())
            and not (p.is_dir() and package == "report")
        }
        for package in SEAMS
    }
    assert set(found) == set(SEAMS)
    for package, (allowed, modules) in found.items():
        assert allowed == SEAMS[package], package
        assert modules == folders[package], package


def test_no_function_over_60_lines():
    long = []
    for folder in ("bench", "methods", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    if node.end_lineno - node.lineno + 1 > 60:
                        long.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert long == []
