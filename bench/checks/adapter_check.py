"""``evaluate.py check-adapter ADAPTER``: the adapter contract (:mod:`bench.checks.conformance`) from the
command line, one line per check.

ADAPTER is a registered name (a built-in adapter such as ``x264``, or a plug-in's entry-point name) or
``package.module:Class`` (imported from the Python path or the current folder). Parameters are given as one
JSON mapping (``--params '{"preset": "fast"}'``) or as ``key=value`` words whose values are read as JSON where
they are JSON (``threads=2``, ``extra_args=["-x"]``, ``irreversible=false``) and as text otherwise
(``preset=fast``); rate points likewise (``22``, ``[0, 21]``, ``3:6``). Without them the adapter's own
``conformance_example`` is used. Exit status: 0 when no check failed, 1 when one did; a bad argument is a
ConditionError (one ``error:`` line, exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.errors import ConditionError


def _value(text: str) -> Any:
    """TEXT as JSON where it is JSON, else the text itself: the shell has already taken the quotes."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(words: Sequence[str] | None) -> dict[str, Any] | None:
    """``--params``: one JSON mapping, or ``key=value`` words; None when not given."""
    if words is None:
        return None
    if len(words) == 1 and words[0].lstrip().startswith("{"):
        value = _value(words[0])
        if not isinstance(value, dict):
            raise ConditionError(f"check-adapter --params: {words[0]!r} is not a JSON mapping")
        return value
    params: dict[str, Any] = {}
    for word in words:
        key, eq, text = word.partition("=")
        if not eq or not key.strip():
            raise ConditionError(f"check-adapter --params: {word!r} is not key=value (or give one JSON mapping)")
        params[key.strip()] = _value(text)
    return params


def parse_rate_points(words: Sequence[str] | None) -> list[Any] | None:
    return None if words is None else [_value(w) for w in words]


def check_adapter_command(name: str, params: Sequence[str] | None, rate_points: Sequence[str] | None,
                          run: bool = True) -> int:
    """Print each check of adapter NAME; the exit status (0: none failed, 1: one or more failed)."""
    from bench.adapters import adapter_class, adapter_origin
    from bench.checks.conformance import check_adapter

    # The current folder is searched too: `check-adapter my_codec:MyCodec` beside my_codec.py works uninstalled.
    given_params, given_points = parse_params(params), parse_rate_points(rate_points)  # bad words: before imports
    cls = adapter_class(name, search=Path.cwd())
    if given_params is not None:  # parameters the user gave that the adapter refuses: a bad argument, one line
        cls.validate_params(given_params, f"check-adapter {name} --params")
    # Rate points likewise, before any check runs: unchecked, --no-run passed them and a run failed naming the
    # temporary condition file the 2-frame coding writes.
    where = f"check-adapter {name} --rate-points"
    given_points = None if given_points is None else [cls.validate_rate_point(v, where) for v in given_points]
    print(f"adapter {name}: class {cls.__module__}.{cls.__qualname__}; {adapter_origin(name)}")
    checks = check_adapter(cls, given_params, given_points, run=run, params_hint="--params key=value")
    for check in checks:
        print("  " + " ".join(str(check).splitlines()))  # one line each, whatever the message holds
    counts = {s: sum(c.status == s for c in checks) for s in ("passed", "failed", "skipped")}
    print(f"{len(checks)} checks: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if given_params is None and any(c.name.startswith("instance") and c.status == "skipped" for c in checks):
        print("(this adapter needs parameters: give them with --params key=value ...)")
    return 1 if counts["failed"] else 0
