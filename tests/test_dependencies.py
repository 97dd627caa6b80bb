"""Every package the suite imports is a declared dependency in pyproject.toml.

Every ``import`` in bench/ and evaluate.py, at module level or inside a function, is read with ``ast``; its
top-level name is left out when it is the standard library (``sys.stdlib_module_names``), ``bench``, a module
beside the importing file (the driver scripts run as scripts and import their sibling ``driver_complexity``),
or a module of a user's own checkout that the adapter puts on ``sys.path`` (:data:`USER_CHECKOUT`). The rest
is mapped to the distributions that install it by the installed packages' own metadata
(``importlib.metadata.packages_distributions``: PIL -> Pillow, yaml -> PyYAML), and one of them must be declared:

* in ``[project].dependencies`` for an import nothing guards: a new user's ``pip install .`` must give it;
* or in an optional extra (``[project.optional-dependencies]``) for a module the file probes: one of its
  imports there sits inside a ``try:`` whose handler catches ImportError, so the file runs without it
  (``selftest`` probes ``bjontegaard`` and checks against it only where it is installed, importing it again
  later under that flag), and the extra that needs it may carry it instead.

Names are compared as PEP 503 normalises them (case, ``-``/``_``/``.``); environment markers are allowed.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; on 3.10 the test is skipped rather than guessed

ROOT = Path(__file__).resolve().parent.parent
# Modules that are not packages anyone installs: the user's own checkout of a model's repository, put on
# sys.path by the adapter that drives it.
USER_CHECKOUT = {"models": "DHVC's repository (bench/adapters/dhvc_driver.py imports its models package)"}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names)


def imports(path: Path) -> dict[str, bool]:
    """Top-level module name -> whether PATH probes it (one of its imports there is inside a ``try:`` that
    catches ImportError); relative imports are the package's own."""
    guarded_nodes: set[int] = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            guarded_nodes.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    out: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            out[top] = out.get(top, False) or id(node) in guarded_nodes
    return out


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normal(re.split(r"[\s<>=!~;\[(@]", requirement.strip(), maxsplit=1)[0])


def undeclared(files: list[Path], project: dict, distributions: dict[str, list[str]]) -> list[str]:
    """One line per third-party import of FILES that PROJECT (pyproject's [project] table) does not declare."""
    required = {_requirement_name(r) for r in project.get("dependencies", [])}
    extras = {_requirement_name(r) for reqs in project.get("optional-dependencies", {}).values() for r in reqs}
    problems = []
    for path in files:
        for top, guarded in sorted(imports(path).items()):
            if top in sys.stdlib_module_names or top == "bench" or top in USER_CHECKOUT:
                continue
            if (path.parent / f"{top}.py").exists() or (path.parent / top / "__init__.py").exists():
                continue  # a sibling module of a script
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            dists = {_normal(d) for d in distributions.get(top, [])}
            if not dists:
                problems.append(f"{where}: imports {top}, which no installed distribution provides")
            elif not dists & required and not (guarded and dists & extras):
                problems.append(f"{where}: imports {top} (distribution {', '.join(sorted(dists))}), not declared in "
                                f"[project].dependencies{' or an extra' if guarded else ''}")
    return problems


def _sources() -> list[Path]:
    return sorted((ROOT / "bench").rglob("*.py")) + [ROOT / "evaluate.py"]


@pytest.mark.integration
def test_every_imported_package_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert undeclared(_sources(), project, importlib.metadata.packages_distributions()) == []


def test_the_check_finds_an_undeclared_import(tmp_path: Path) -> None:
    """The checker on files of its own: an unguarded Pillow import needs the main dependencies; a guarded one
    may sit in an extra; a sibling module and the stdlib are not packages."""
    script = tmp_path / "tool.py"
    script.write_text("import json\nimport helper\n\ndef f():\n    from PIL import Image\n"
                      "try:\n    import yaml\nexcept ImportError:\n    yaml = None\n")
    (tmp_path / "helper.py").write_text("")
    dists = importlib.metadata.packages_distributions()
    project = {"dependencies": ["numpy"], "optional-dependencies": {"x": ["PyYAML>=6; python_version < '4'"]}}
    assert [p.split(": ", 1)[1] for p in undeclared([script], project, dists)] == [
        "imports PIL (distribution pillow), not declared in [project].dependencies"]
    assert undeclared([script], {**project, "dependencies": ["Pillow >= 9"]}, dists) == []
    assert len(undeclared([script], {**project, "optional-dependencies": {}, "dependencies": ["pillow"]}, dists)) == 1
