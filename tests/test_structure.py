"""The architecture as the code has it: no import cycle among the suite's modules (lazy imports inside
functions count too: a cycle there is the same knot, only hidden), layers that import only downwards, and no
function longer than a screen. ``python tests/test_structure.py`` lists the longest functions."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in BENCH.rglob("*.py"):
        name = ".".join(path.relative_to(BENCH.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package up
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_bench() -> None:
    graph = _import_graph()
    assert "bench.runner" in graph and "bench.store" in graph["bench.runner"]  # the graph is really read
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _imports_of(prefix: str, graph: dict[str, set[str]]) -> set[str]:
    return {t for m, targets in graph.items() if m == prefix or m.startswith(prefix + ".") for t in targets}


def test_layers() -> None:
    """What may import what: the report reads records, BD tables, importers and sources, never the run side
    (runner, one job, cluster, adapters, a run's outputs); adapters and importers share the parsers of codec
    outputs (bench.codec_logs) instead of importing each other."""
    graph = _import_graph()
    run_side = {"bench.runner", "bench.job_run", "bench.cluster", "bench.outputs", "bench.run_outputs",
                "bench.inputs", "bench.scheduling"}
    report = _imports_of("bench.report", graph)
    assert not report & run_side and not {m for m in report if m.startswith("bench.adapters")}, report
    assert "bench.importers" not in _imports_of("bench.adapters", graph)
    assert not {m for m in graph["bench.importers"] if m.startswith("bench.adapters")}
    assert "bench.codec_logs" in graph["bench.importers"] and "bench.codec_logs" in graph["bench.adapters.reference"]


LONGEST = 60  # lines of a function, decorators and docstring included


def function_lengths() -> list[tuple[int, str]]:
    """(lines, "path:line name") of every function and method in bench/, longest first."""
    out = []
    for path in sorted(BENCH.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((node.end_lineno - node.lineno + 1,  # type: ignore[operator]
                            f"{path.relative_to(BENCH.parent)}:{node.lineno} {node.name}"))
    return sorted(out, reverse=True)


def test_no_function_over_a_screen() -> None:
    long = [f"{where} ({n} lines)" for n, where in function_lengths() if n > LONGEST]
    assert not long, f"split these into their steps: {'; '.join(long)}"


if __name__ == "__main__":
    for n, where in function_lengths()[:15]:
        print(f"{n:4d}  {where}")
