"""An adapter's version is part of every job key: changing what an adapter does without bumping its version would
let a run reuse records its code can no longer produce. So each adapter's sources (its module, the modules of
bench/adapters it imports, and the driver scripts it runs) are hashed, and the hashes are kept beside the
versions in tests/data/adapter_sources.json: changed sources under an unchanged version fail here.

After a change, either bump the adapter's ``version`` (its output for the same inputs may differ: every job
of it is coded again) or, if its output cannot change (a refactor, a message), say so by recording the new
hashes: ``python tests/adapters/test_adapter_versions.py --record``. Both are a decision the diff shows.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path

ADAPTERS = Path(__file__).resolve().parents[2] / "bench" / "adapters"
RECORDED = Path(__file__).resolve().parents[1] / "data" / "adapter_sources.json"


def _local_imports(path: Path) -> set[Path]:
    """The bench/adapters modules PATH imports, and the sibling scripts it names (drivers run as programs)."""
    text = path.read_text(encoding="utf-8")
    found = set()
    for node in ast.walk(ast.parse(text)):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            if name.startswith("bench.adapters."):
                found.add(ADAPTERS / (name.split(".")[2] + ".py"))
    found |= {p for p in ADAPTERS.glob("*.py") if p != path and f"{p.stem}.py" in text}
    return {p for p in found if p.is_file()}


def source_files(module_file: Path) -> list[Path]:
    """MODULE_FILE and everything it reaches through _local_imports, in a stable order."""
    seen, todo = set(), [module_file]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += sorted(_local_imports(path) - seen)
    return sorted(seen)


def current() -> dict[str, dict[str, object]]:
    """Adapter name -> its version and the SHA-256 of its sources (files hashed by name and content)."""
    import inspect

    from bench.adapters import adapter_class, adapter_names

    out: dict[str, dict[str, object]] = {}
    for name in adapter_names():
        cls = adapter_class(name)
        module_file = Path(inspect.getfile(cls)).resolve()
        if module_file.parent != ADAPTERS:
            continue  # an adapter from outside the suite (a plugin) versions itself
        files = source_files(module_file)
        h = hashlib.sha256()
        for path in files:
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        out[name] = {"version": cls.version, "sources_sha256": h.hexdigest(), "files": [p.name for p in files]}
    return out


def test_changed_adapter_sources_bump_the_version_or_are_recorded() -> None:
    recorded = json.loads(RECORDED.read_text())
    now = current()
    assert set(now) == set(recorded), ("adapters added or removed: record them with python "
                                       "tests/adapters/test_adapter_versions.py --record")
    stale = [f"{name} (version {info['version']}; sources: {', '.join(info['files'])})"  # type: ignore[arg-type]
             for name, info in now.items()
             if info["sources_sha256"] != recorded[name]["sources_sha256"] and info["version"] == recorded[name]["version"]]
    assert not stale, ("adapter sources changed under an unchanged version: " + "; ".join(stale) + ". Bump the "
                       "version if the output can change, else record the new hashes: python "
                       "tests/adapters/test_adapter_versions.py --record")


def test_the_hash_covers_imported_modules_and_driver_scripts() -> None:
    files = {p.name for p in source_files(ADAPTERS / "dhvc.py")}
    assert {"dhvc.py", "base.py", "process.py", "driver.py", "dhvc_driver.py", "driver_complexity.py"} <= files
    assert "ffmpeg.py" not in files and "stream_facts.py" in {p.name for p in source_files(ADAPTERS / "ffmpeg.py")}


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        raise SystemExit("usage: python tests/adapters/test_adapter_versions.py --record")
    sys.path.insert(0, str(ADAPTERS.parent.parent))
    RECORDED.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
    print(f"recorded {RECORDED}")
