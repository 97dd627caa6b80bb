"""``evaluate.py doctor``: are the codecs' tools there, which versions, and what to do where they are not.

Three ways to call it:

* **no codec named**: one line per adapter, each optional (``n/a`` is not a failure). Quick and without torch:
  an adapter whose own check imports torch answers from its packages' metadata
  (:meth:`~bench.adapters.base.Adapter.doctor_summary`), the generic ``command`` and ``python-model`` adapters
  say that they need a descriptor (:attr:`~bench.adapters.base.Adapter.needs_descriptor`) instead of the
  parameter errors of their empty defaults;
* **codecs named** (descriptors such as ``dcvc-fm`` or ``my_codec.yaml``, or adapters such as ``compressai``):
  each checked in full, with its descriptor's parameters and rate points; a failure sets the exit status;
* ``--conditions FILE``: every codec of that condition, as above.

Causes come in order: an adapter that cannot run at all (:meth:`~bench.adapters.base.Adapter.unavailable`:
DHVC 2.0, whose code is not published) says so first and only that, before anything about a descriptor's
parameters (an unset ``${VAR}``) that fixing would not help.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.adapters import adapter_class, adapter_names
from bench.adapters.base import Adapter
from bench.errors import BenchError

NEEDS_DESCRIPTOR = ("needs a descriptor (adapter: {name} in your codec's YAML; see README 'Evaluate your own "
                    "codec'); `doctor my_codec.yaml` checks one")
LEGEND = ("(n/a: optional tools that are not installed; --: run through a descriptor of your own; "
          "`doctor --conditions FILE` checks what a condition needs, `doctor NAME` one codec in full)")


@dataclass(frozen=True)
class _Spec:
    """One codec to check: its name as the user knows it, its adapter, parameters and rate points."""

    name: str
    adapter: str
    params: dict[str, Any]
    rate_points: tuple[Any, ...] = ()


def _say(tag: str, name: str, text: str, adapter: str | None = None) -> None:
    """One line of the report. The line names the codec already: an adapter message's own leading
    ``codec <adapter>:`` is left out, so that each line names it once."""
    for prefix in (f"codec {name}: ", f"codec {adapter}: " if adapter else None):
        if prefix and text.startswith(prefix):
            text = text[len(prefix):]
    print(f"  {tag:<4} {name}: {text}")


def doctor(codecs: list[str], conditions: Path | None) -> int:
    """Check CODECS (or CONDITIONS' codecs, or every adapter when neither is given); the exit status."""
    if not conditions and not codecs:
        _every_adapter()
        print(LEGEND)
        return 0
    problems = 0
    if conditions:
        from bench.conditions.condition import load_condition

        specs = [_Spec(c.name, c.adapter, c.params_dict, tuple(c.rate_points)) for c in load_condition(conditions).codecs]
    else:
        specs, problems = _named(codecs)
    for spec in specs:
        problems += not _check(spec)
    return 1 if problems else 0


def _every_adapter() -> None:
    """One line per registered adapter; nothing here is needed, so nothing fails."""
    for name in adapter_names():
        cls = adapter_class(name)
        if (why := cls.unavailable()) is not None:
            _say("n/a", name, why, name)
        elif cls.needs_descriptor:
            _say("--", name, NEEDS_DESCRIPTOR.format(name=name))
        else:
            try:
                line = cls.doctor_summary()
                _say("ok", name, line if line is not None else cls({}).doctor(), name)
            except BenchError as e:
                _say("n/a", name, str(e), name)


def _check(spec: _Spec) -> bool:
    """The full check of one needed codec: its adapter's doctor with its parameters, and each rate point as a
    run checks it before its first job (a checkpoint against its model). Whether it passed."""
    try:
        cls = adapter_class(spec.adapter)
        if (why := cls.unavailable()) is not None:
            _say("FAIL", spec.name, why, spec.adapter)
            return False
        if cls.needs_descriptor and spec.name == spec.adapter:  # `doctor command`: the adapter itself is there
            _say("--", spec.name, NEEDS_DESCRIPTOR.format(name=spec.adapter))
            return True
        codec = cls(spec.params)
        line = codec.doctor()
        for rp in spec.rate_points:
            codec.rate_point_identity(rp)
    except BenchError as e:
        _say("FAIL", spec.name, str(e), spec.adapter)
        return False
    _say("ok", spec.name, line, spec.adapter)
    return True


def _named(names: list[str]) -> tuple[list[_Spec], int]:
    """The codecs named on the command line, looked up as a condition in ./conditions would look them up
    (./codecs, then the repository's, then plug-ins'); a name with no descriptor that is an adapter's
    (``doctor compressai``) checks the adapter itself. A descriptor that cannot be loaded is reported here."""
    from bench.conditions.condition import find_descriptor, load_codec_descriptor

    specs, problems = [], 0
    for name in names:
        try:
            descriptor = Path(name) if name.endswith(".yaml") and Path(name).is_file() else \
                find_descriptor(name, Path.cwd() / "conditions" / "_.yaml")
        except BenchError:
            if name not in adapter_names():
                raise
            specs.append(_Spec(name, name, {}))
            continue
        try:
            c = load_codec_descriptor(descriptor)
        except BenchError as e:  # an unset ${VAR}, say: named after what the adapter says of itself
            problems += 1
            _unloadable(name, descriptor, e)
            continue
        specs.append(_Spec(c.name, c.adapter, c.params_dict, tuple(c.rate_points)))
    return specs, problems


def _unloadable(name: str, descriptor: Path, error: BenchError) -> None:
    """A descriptor that could not be loaded. If its adapter cannot run at all, that is the cause and the only
    one said (an unset variable's fix would not help); else the load error, and then what the adapter says of
    itself without the descriptor's parameters (its doctor on the defaults)."""
    cls = _adapter_of(descriptor)
    why = cls.unavailable() if cls is not None else None
    if why is not None:
        _say("FAIL", name, why, cls.name if cls else None)
        return
    text = str(error)  # named by the line already: `doctor qz.yaml` need not say qz.yaml twice
    _say("FAIL", name, text.removeprefix(f"{name}: ").removeprefix(f"{descriptor}: "))
    if cls is None or cls.needs_descriptor:
        return
    try:
        print(f"       {cls.name}: {_without_prefix(cls({}).doctor(), cls.name)}")
    except BenchError as e:
        print(f"       {cls.name}: {_without_prefix(str(e), cls.name)}")


def _without_prefix(text: str, adapter: str) -> str:
    return text.removeprefix(f"codec {adapter}: ")


def _adapter_of(descriptor: Path) -> type[Adapter] | None:
    """The adapter a descriptor names (registered, or ``package.module:Class`` beside it), read without loading
    the descriptor (its ${VAR}s unexpanded); None when the file does not say or the adapter cannot be found."""
    import yaml

    try:
        adapter = (yaml.safe_load(descriptor.read_text(encoding="utf-8")) or {}).get("adapter")
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    try:
        return adapter_class(adapter, search=descriptor.parent) if isinstance(adapter, str) else None
    except BenchError:
        return None
