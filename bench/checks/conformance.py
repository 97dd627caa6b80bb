"""One contract for every adapter, checked the same way for built-in ones, plug-ins and your own.

After scikit-learn's ``check_estimator``: :func:`check_adapter` runs every check below on an adapter class and
returns one :class:`Check` per check (passed, failed with why, or skipped with why); :func:`assert_conforms`
raises with the failures listed. The project's tests run it over every registered adapter; an adapter author
runs it on theirs::

    from bench.checks.conformance import assert_conforms
    assert_conforms(MyCodec, params={...}, rate_points=[...])

What is checked:

* **declared**: a name, an integer version, a rate knob, :class:`~bench.adapters.base.Capabilities` naming
  pixel formats the suite knows, and every parameter documented (a ``Param`` with help text);
* **parameters**: defaults validate (or are refused with the suite's ``ConditionError``, for adapters that need
  files), an unknown key and a wrong type are refused with a ``ConditionError`` naming the key;
* **rate points**: odd values (None, text, negative, fractional, booleans, mappings, lists of 0 to 3 numbers)
  are either accepted in a canonical, JSON-stable form or refused with a ``ConditionError`` naming where; a
  one-element list ``[q]`` is refused or means exactly ``q`` (one coding, one key);
* **identity**: JSON-serialisable, free of operational settings (no parameter marked ``affects_result=False``),
  unchanged when one of those changes;
* **errors**: ``doctor``, ``check_condition`` (intra periods -1, 1, 8, 32) and ``input_format`` raise only the
  suite's error types, and ``input_format`` gives only formats ``capabilities`` declares;
* **codes two frames** (where ``doctor`` finds the tool and example parameters and a rate point are known): a
  real 2-frame encode and decode of a generated 128x128 clip through the runner, recorded ``ok`` with a
  non-empty bitstream, per-frame bits adding up to the rate where given; and, for adapters that decode on their
  own, the stored bitstream decoded again to the same frames.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.adapters.base import Adapter, Capabilities, CodingTask, Param
from bench.errors import AdapterError, BenchError, ConditionError
from bench.video.formats import PIXEL_FORMATS, pixel_format
from bench.video.io import RawVideoWriter

ODD_RATE_POINTS: tuple[Any, ...] = (None, "x", -1, 1.5, True, {"a": 1}, [], [1], [1, 2], [1, 2, 3], 0, 1, 22, 37, 63)
WHERE = "conformance.rate_points[0]"


@dataclass
class Check:
    name: str
    status: str  # "passed" | "failed" | "skipped"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status:<7} {self.name}" + (f": {self.detail}" if self.detail else "")


class _Failed(Exception):
    pass


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise _Failed(message)


def _json_stable(value: Any) -> bool:
    try:
        return json.loads(json.dumps(value, sort_keys=True)) == value
    except (TypeError, ValueError):
        return False


def check_adapter(cls: type[Adapter], params: Mapping[str, Any] | None = None,
                  rate_points: list[Any] | None = None, run: bool = True, name: str | None = None,
                  params_hint: str = "params=") -> list[Check]:
    """Every check on CLS. PARAMS and RATE_POINTS: what a real descriptor would give (default: the class's
    ``conformance_example``); RUN False skips the 2-frame coding; NAME: the codec's name in the 2-frame run
    and its messages (default: the adapter's name); PARAMS_HINT: how the caller gives parameters, named when the
    example ones are refused (``params=`` for this function, ``--params key=value`` on the command line)."""
    example = cls.conformance_example
    if params is None and example is not None:
        params = example[0]
    if rate_points is None and example is not None:
        rate_points = example[1]
    checks: list[Check] = []
    check = functools.partial(_run_check, checks)
    check("declared", _declared, cls)
    check("parameters", _parameters, cls)
    check("rate points", _rate_points, cls)
    adapter = check("instance from the example parameters", _instance, cls, params or {}, params_hint)
    if adapter is True or adapter is None:
        for name in ("identity", "errors", "codes two frames"):
            checks.append(Check(name, "skipped", "no instance (see above)"))
        return checks
    check("identity", _identity, cls, adapter, params or {})
    check("errors", _errors, adapter)
    if not run:
        checks.append(Check("codes two frames", "skipped", "not asked to run"))
    elif not rate_points:
        checks.append(Check("codes two frames", "skipped", "no example rate point (conformance_example)"))
    else:
        check("codes two frames", _codes_two_frames, cls, adapter, dict(params or {}), rate_points[0], name)
    return checks


def _run_check(checks: list[Check], name: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run the check NAME, FN(*ARGS), and add its outcome to CHECKS; FN's result (True for None) when it passed,
    else None."""
    try:
        out = fn(*args)
    except _Failed as e:
        checks.append(Check(name, "failed", str(e)))
        return None
    except _Skip as e:
        checks.append(Check(name, "skipped", str(e)))
        return None
    except Exception as e:  # anything else is a failure of the contract, named
        checks.append(Check(name, "failed", f"raised {type(e).__name__}: {e}"))
        return None
    checks.append(Check(name, "passed"))
    return out if out is not None else True


def assert_conforms(cls: type[Adapter], params: Mapping[str, Any] | None = None,
                    rate_points: list[Any] | None = None, run: bool = True, name: str | None = None) -> list[Check]:
    """:func:`check_adapter`, raising AssertionError that lists every failed check, each once."""
    checks = check_adapter(cls, params, rate_points, run, name)
    failed = [c for c in checks if c.status == "failed"]
    if failed:
        raise AssertionError(f"adapter {cls.__name__} ({getattr(cls, 'name', '?')}) breaks the contract:\n"
                             + "\n".join(f"  {c}" for c in failed))
    return checks


class _Skip(Exception):
    pass


# --- the checks ------------------------------------------------------------------------------------------------

def _declared(cls: type[Adapter]) -> None:
    _expect(isinstance(getattr(cls, "name", None), str) and bool(re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", cls.name)),
            f"name {getattr(cls, 'name', None)!r} is not a kebab-case word")
    _expect(isinstance(cls.version, int) and not isinstance(cls.version, bool) and cls.version >= 1,
            f"version {cls.version!r} is not an integer >= 1")
    _expect(isinstance(cls.rate_knob, str) and bool(cls.rate_knob), "rate_knob is not a word")
    caps = getattr(cls, "capabilities", None)
    if not isinstance(caps, Capabilities):
        raise _Failed("capabilities is not a bench.adapters.base.Capabilities")
    unknown = [f for f in caps.input_formats if f not in PIXEL_FORMATS]
    _expect(bool(caps.input_formats) and not unknown, f"capabilities.input_formats names unknown formats {unknown}")
    _expect(isinstance(cls.PARAMS, dict), "PARAMS is not a dict")
    for key, p in cls.PARAMS.items():
        _expect(isinstance(p, Param), f"PARAMS[{key!r}] is not a Param")
        _expect(isinstance(p.help, str) and len(p.help) >= 8, f"parameter {key!r} has no help text")


def _parameters(cls: type[Adapter]) -> None:
    try:
        cls.validate_params({}, "conformance.params")
    except ConditionError:
        pass  # an adapter that needs files (a checkout, commands) refuses the defaults, in the suite's terms
    try:
        cls.validate_params({"no_such_parameter": 1}, "conformance.params")
    except ConditionError as e:
        _expect("no_such_parameter" in str(e), f"the error for an unknown key does not name it: {e}")
    else:
        raise _Failed("an unknown parameter was accepted")
    wrong = {str: 12345, int: "twelve", float: "twelve", list: "not a list", dict: "not a mapping", bool: "maybe"}
    for key, p in cls.PARAMS.items():
        kinds = p.kind if isinstance(p.kind, tuple) else (p.kind,)
        bad = next((wrong[k] for k in kinds if k in wrong and not any(isinstance(wrong[k], k2) for k2 in kinds)),
                   None)
        if bad is None:
            continue
        try:
            cls.validate_params({key: bad}, "conformance.params")
        except ConditionError as e:
            if key not in str(e) and "conformance.params" not in str(e):
                raise _Failed(f"the error for a wrong {key!r} names neither the key nor where: {e}") from None
        else:
            raise _Failed(f"parameter {key!r} accepted {bad!r}")


def _rate_points(cls: type[Adapter]) -> None:
    accepted: dict[str, Any] = {}
    for value in ODD_RATE_POINTS:
        try:
            out = cls.validate_rate_point(value, WHERE)
        except ConditionError as e:
            _expect(WHERE in str(e), f"refusing {value!r}, the error does not say where: {e}")
            continue
        _expect(_json_stable(out), f"{value!r} became {out!r}, which JSON does not keep as it is (keys, file names)")
        again = cls.validate_rate_point(out, WHERE)
        _expect(again == out, f"not canonical: {value!r} -> {out!r} -> {again!r}")
        accepted[json.dumps(value)] = out
    if "[1]" in accepted and "1" in accepted:
        _expect(accepted["[1]"] == accepted["1"], f"[1] is accepted as {accepted['[1]']!r} but 1 as "
                                                  f"{accepted['1']!r}: one coding would have two keys")


def _instance(cls: type[Adapter], params: Mapping[str, Any], params_hint: str) -> Adapter:
    try:
        return cls(dict(params))
    except ConditionError as e:
        raise _Skip(f"the example parameters are refused ({e}); give {params_hint}") from None


def _identity(cls: type[Adapter], adapter: Adapter, params: Mapping[str, Any]) -> None:
    try:
        ident = adapter.identity()
    except AdapterError as e:
        raise _Skip(f"tool not available: {e}") from None
    _expect(_json_stable(ident), "identity() is not plain JSON")
    for key, p in cls.PARAMS.items():
        if not p.affects_result:
            _expect(key not in (ident.get("params") or {}), f"operational parameter {key!r} is in the identity")
    for key, p in cls.PARAMS.items():  # changing an operational setting must not change the key
        if p.affects_result or isinstance(p.kind, tuple) or p.kind not in (int, bool):
            continue
        other = dict(params)
        other[key] = (not adapter.params[key]) if p.kind is bool else int(adapter.params[key] or 0) + 1
        try:
            changed = cls(other).identity()
        except (ConditionError, AdapterError):
            continue
        _expect(changed == ident, f"changing operational parameter {key!r} changed the identity")


def _errors(adapter: Adapter) -> None:
    try:
        line = adapter.doctor()
        _expect(isinstance(line, str), "doctor() returned no text")
    except BenchError:
        pass
    for period in (-1, 1, 8, 32):
        try:
            adapter.check_condition(period, "conformance.intra_period")
        except BenchError:  # refused in the suite's terms (a ConditionError, or an AdapterError: files missing)
            pass
    for name in ("yuv420p", "yuv420p10le", "yuv444p", "gbrp"):
        try:
            got = adapter.input_format(pixel_format(name))
        except (AdapterError, ConditionError):
            continue
        _expect(got.name in adapter.capabilities.input_formats,
                f"input_format({name}) gave {got.name}, which capabilities.input_formats does not list")


def _clip(folder: Path, width: int = 128, height: int = 128, frames: int = 2) -> Path:
    """A small moving clip: a gradient with a textured square moving across it."""
    path = folder / f"Conformance_{width}x{height}_30.yuv"
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 60, (32, 32))
    with RawVideoWriter(path, pixel_format("yuv420p")) as w:
        for i in range(frames):
            y = (40 + xx * 120 // width + yy * 60 // height).astype(np.int64)
            x0 = 20 + 6 * i
            y[40:72, x0:x0 + 32] += texture
            u = np.full((height // 2, width // 2), 110 + i, np.int64)
            v = (140 - xx[::2, ::2] * 20 // width).astype(np.int64)
            w.write(tuple(np.clip(p, 0, 255).astype(np.uint8) for p in (y, u, v)))
    return path


def _codec_name(cls: type[Adapter], name: str | None) -> str:
    """The codec's name in the 2-frame run: NAME, else the adapter's, made a valid codec name (it becomes a
    folder name) so that a failure names what the caller knows, not a stand-in."""
    from bench.conditions.condition import name_problem

    wanted = name or getattr(cls, "name", None) or cls.__name__
    wanted = wanted if isinstance(wanted, str) else cls.__name__
    return wanted if name_problem(wanted) is None else re.sub(r"[^A-Za-z0-9._-]+", "-", wanted).strip("-.")[:100] or "adapter"


def _codes_two_frames(cls: type[Adapter], adapter: Adapter, params: dict[str, Any], rate_point: Any,
                      name: str | None = None) -> None:
    from bench.conditions.condition import load_condition
    from bench.run.runner import RunOptions, run_condition
    from bench.store.labels import failure
    from bench.store.results import ResultStore

    try:
        adapter.doctor()
    except BenchError as e:
        raise _Skip(f"tool not available: {e}") from None
    with tempfile.TemporaryDirectory(prefix="conformance_") as tmp:
        root = Path(tmp)
        _clip(root)
        condition = root / "conformance.yaml"
        adapter_name = cls.name if cls.name in _registered() else f"{cls.__module__}:{cls.__qualname__}"
        condition.write_text(json.dumps({
            "name": "conformance", "data_root": str(root),
            "sequences": [{"name": "Conformance", "file": "Conformance_128x128_30.yuv", "group": "A"}],
            "frames": {"first": 0, "count": 2}, "intra_period": -1, "metrics": {"ms_ssim": []},
            "codecs": [{"name": _codec_name(cls, name), "adapter": adapter_name, "params": params,
                        "rate_points": [rate_point]}]}))
        # The runner's own console lines (a FAILED line) are not printed: the failure is this check's detail,
        # said once, where the caller shows the checks.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            outcome = run_condition(load_condition(condition), RunOptions(root / "results", progress=False))
        _expect(not outcome.failed, "the job failed: " + "; ".join(failure(r)["message"] for r in outcome.failed))
        [record] = ResultStore(root / "results" / "conformance").run_records()
        _expect(record["status"] == "ok", f"recorded {record['status']}")
        # A coded job's rate always counts its bits (None is an imported point's): none counts as empty.
        _expect((record["rate"]["bits"] or 0) > 0, "an empty bitstream")
        bits = (record.get("per_frame") or {}).get("bits")
        if bits is not None:
            _expect(len(bits) == 2, f"per-frame bits for {len(bits)} frames, coded 2")
        if adapter.capabilities.separate_decode and record["rate"]["bitstreams"]:
            from bench.run.decoded import check

            task = CodingTask(Path("/dev/null"), pixel_format(record["decoded"]["format"]), 128, 128, 30.0, 2, -1,
                              record["rate_point"], root / "redecode")
            task.work_dir.mkdir()
            raw = adapter.redecode(task, [root / "results" / "conformance" / p for p in record["rate"]["bitstreams"]])
            check(raw, record["decoded"]["sha256"], "conformance re-decode")


def _registered() -> list[str]:
    from bench.adapters import adapter_names

    return adapter_names()
