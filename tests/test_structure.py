"""The architecture as the code has it: no import cycle among the suite's modules (lazy imports inside
functions count too: a cycle there is the same knot, only hidden), packages that import only downwards in the
layer order written below, and no function longer than a screen. ``python tests/test_structure.py`` lists the longest functions."""

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
    assert "bench.run.runner" in graph and "bench.store.results" in graph["bench.run.runner"]  # the graph is really read
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


# The layer order, lowest first. A module may import from its own package and from packages of a lower rank only,
# lazy imports inside functions included; packages of one rank do not import each other (metrics and adapters;
# conditions and store). The foundation modules (rank 0) may import each other. A new top-level module or package
# must be placed here.
LAYERS: dict[str, int] = {
    "bench": 0, "bench.errors": 0, "bench.files": 0, "bench.interrupts": 0, "bench.provenance": 0, "bench.tools": 0,
    "bench.video": 1,
    "bench.metrics": 2, "bench.adapters": 2,
    "bench.conditions": 3, "bench.store": 3,
    "bench.run": 4,
    "bench.bd": 5,
    "bench.report": 6,
    "bench.checks": 7,
    "bench.cli": 8, "bench.api": 8,
    "bench.__main__": 9,
}


def _unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: ``bench.run.jobs`` -> ``bench.run``."""
    return ".".join(module.split(".")[:2])


def layer_violations(graph: dict[str, set[str]], layers: dict[str, int] = LAYERS) -> list[str]:
    """Every import in GRAPH against LAYERS, and every module whose package has no layer."""
    unplaced = sorted({_unit(m) for m in graph} - set(layers))
    out = [f"{u} has no layer: place it in LAYERS" for u in unplaced]
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            a, b = _unit(module), _unit(target)
            if a == b or a in unplaced or b in unplaced:
                continue
            if not (layers[b] < layers[a] or layers[a] == layers[b] == 0):
                out.append(f"{module} (layer {layers[a]}) imports {target} (layer {layers[b]})")
    return out


def _reach(start: set[str], graph: dict[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for t in graph.get(todo.pop(), set()) - seen:
            seen.add(t)
            todo.append(t)
    return seen


def test_packages_import_only_downwards() -> None:
    assert layer_violations(_import_graph()) == []


def test_the_layer_check_finds_upward_and_sideways_imports() -> None:
    graph = {"bench.store.results": {"bench.run.jobs"}, "bench.metrics.vmaf": {"bench.adapters.ffmpeg"},
             "bench.run.jobs": {"bench.store.keys", "bench.errors"}, "bench.tools": {"bench.files"},
             "bench.extra": set(), "bench.adapters.ffmpeg": set(), "bench.store.keys": set(), "bench.errors": set(),
             "bench.files": set()}
    assert layer_violations(graph) == [
        "bench.extra has no layer: place it in LAYERS",
        "bench.metrics.vmaf (layer 2) imports bench.adapters.ffmpeg (layer 2)",
        "bench.store.results (layer 3) imports bench.run.jobs (layer 4)"]


def test_records_are_read_and_migrated_without_adapters_or_the_condition_model() -> None:
    """Reading a results folder (bd, report, an older schema brought forward) needs neither the codecs nor the
    condition model: the store and everything it reaches, lazy imports included."""
    graph = _import_graph()
    reached = _reach({m for m in graph if _unit(m) == "bench.store"}, graph)
    assert "bench.store.migrate" in reached and "bench.metrics.registry" in reached  # really followed
    assert not {m for m in reached if _unit(m) in {"bench.adapters", "bench.conditions", "bench.run"}}, reached


def test_the_report_reads_records_not_the_run_side() -> None:
    """The report is built from records alone (of this run, of other runs, imported ones): no adapter, and of the
    run side only the planned jobs a run's own outputs are keyed by. Adapters and importers share the parsers of
    codec outputs (bench.adapters.codec_logs) instead of importing each other."""
    graph = _import_graph()
    report = {t for m, targets in graph.items() if _unit(m) == "bench.report" for t in targets}
    assert {m for m in report if _unit(m) in {"bench.run", "bench.adapters"}} == {"bench.run.jobs"}, report
    assert not {m for m in graph["bench.bd.importers"] if m.startswith("bench.adapters")} - {"bench.adapters.codec_logs"}
    assert "bench.adapters.codec_logs" in graph["bench.adapters.reference"]


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
