"""The README's adapter contract against the code: the tables of "An adapter of your own" (what an adapter class
sets and writes, the fields of the ``CodingTask`` that ``code_sequence`` receives and of the ``CodingResult`` it
returns) are read from README.md and compared with ``bench.adapters.base`` itself (``dataclasses.fields``, the
class's members, ``__abstractmethods__``, signatures), so that writing an adapter from the README alone stays
possible: every field documented, no documented name that does not exist, "required" exactly where the code
requires it, and signatures and defaults as written.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from bench.adapters.base import Adapter, Capabilities, CodingResult, CodingTask, Param

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "**An adapter of your own**"
# One code span of the first column of the adapter table: `name`, `self.params`, `version = 1`,
# `code_sequence(self, task) -> CodingResult`, `PARAMS = {key: Param(...)}`.
_MEMBER = re.compile(r"(?P<own>self\.)?(?P<name>[A-Za-z_]\w*)\s*(?:\((?P<params>[^()]*)\))?"
                     r"\s*(?:->\s*(?P<returns>[^=]+?))?\s*(?:=\s*(?P<value>.+))?")
_PLAIN_TYPE = re.compile(r"[A-Za-z_][\w.]*(?: \| [A-Za-z_][\w.]*)*")


@dataclasses.dataclass(frozen=True)
class Table:
    """A Markdown table of the section: the paragraph before it, its header cells and its rows' cells."""

    before: str
    header: list[str]
    rows: list[list[str]]


def _cells(line: str) -> list[str]:
    """The cells of a table row, split at ``|`` outside code spans."""
    cells, current, code = [], "", False
    for ch in line.strip().strip("|"):
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            cells.append(current.strip())
            current = ""
        else:
            current += ch
    return cells + [current.strip()]


def _tables() -> list[Table]:
    """The tables of the README's "An adapter of your own" part (from its bold lead-in to the next heading)."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md: no {SECTION} part (the adapter contract this test checks)"
    lines = text[text.index(SECTION):].splitlines()
    tables, paragraph, blank, i = [], [], False, 0
    while i < len(lines) and not lines[i].startswith("#"):
        if not lines[i].startswith("|"):  # the paragraph before a table: its last non-blank lines
            if lines[i].strip():
                paragraph = [lines[i]] if blank else paragraph + [lines[i]]
            blank = not lines[i].strip()
            i += 1
            continue
        block = []
        while i < len(lines) and lines[i].startswith("|"):
            block.append(_cells(lines[i]))
            i += 1
        assert len(block) > 2 and set("".join(block[1])) <= set("-: "), f"README.md: a malformed table {block[:2]}"
        tables.append(Table(" ".join(paragraph), block[0], block[2:]))
        paragraph = []
    return tables


def _table(what: str) -> Table:
    """The table whose header starts with WHAT, or whose paragraph before it names the class WHAT."""
    found = [t for t in _tables() if t.header[0] == what or (t.header[0] == "Field" and f"`{what}`" in t.before)]
    assert len(found) == 1, f"README.md, {SECTION}: expected one table of {what}, found {len(found)}"
    return found[0]


def _names(cell: str) -> list[str]:
    """The field names of a first cell: "`frame_types`, `frame_bits`, `frame_qp`" gives three."""
    names = re.findall(r"`([^`]*)`", cell)
    assert names and all(n.isidentifier() for n in names), f"README.md: `{cell}` names no field as `name`"
    return names


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _compare(what: str, documented: list[str], actual: set[str]) -> None:
    duplicated = sorted({n for n in documented if documented.count(n) > 1})
    undocumented = sorted(actual - set(documented))
    unknown = sorted(set(documented) - actual)
    assert not (duplicated or undocumented or unknown), (
        f"README.md, {SECTION}, the table of {what}: " + "; ".join(
            part for part in (f"documented twice: {duplicated}" if duplicated else "",
                              f"not documented: {undocumented} (add a row)" if undocumented else "",
                              f"no such name in bench.adapters.base: {unknown}" if unknown else "") if part))


@pytest.mark.parametrize("cls", [CodingTask, CodingResult], ids=lambda c: c.__name__)
def test_every_field_is_documented_and_exists(cls: type) -> None:
    table = _table(cls.__name__)
    _compare(cls.__name__, [n for row in table.rows for n in _names(row[0])], set(_fields(cls)))


def test_coding_task_types_are_as_documented() -> None:
    """Where the README gives a plain type (`Path`, `int`, "`int` or None"), it is the field's annotation."""
    fields = _fields(CodingTask)
    table = _table("CodingTask")
    assert table.header[:2] == ["Field", "Type"], f"README.md: the CodingTask table's columns are {table.header}"
    checked = 0
    for row in table.rows:
        written = row[1].replace("`", "").replace(" or ", " | ")
        if not _PLAIN_TYPE.fullmatch(written):  # prose: "as `validate_rate_point` returned it"
            continue
        for name in (n for n in _names(row[0]) if n in fields):  # an unknown name: the test above says so
            assert written == fields[name].type, (
                f"README.md: CodingTask.{name} is documented as {row[1]}; bench.adapters.base declares "
                f"{fields[name].type}")
            checked += 1
    assert checked >= 10, f"only {checked} CodingTask types are written as plain types: the table changed form"


def test_coding_result_required_is_what_has_no_default() -> None:
    """A field the README calls required is one CodingResult cannot be built without, and only those."""
    for row in _table("CodingResult").rows:
        assert row[1] in ("required", "optional"), f"README.md: CodingResult row {row[0]}: {row[1]!r} in column 2"
        for name in (n for n in _names(row[0]) if n in _fields(CodingResult)):  # unknown: the test above says so
            f = _fields(CodingResult)[name]
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            assert (row[1] == "required") == required, (
                f"README.md: CodingResult.{name} is documented {row[1]}; it has "
                f"{'no default' if required else 'a default'} in bench.adapters.base")


# --- the adapter class ----------------------------------------------------------------------------------------

class _Least(Adapter):
    """The least an adapter can be: what base.Adapter leaves without a value, and its abstract methods."""

    name = "least"
    capabilities = Capabilities(input_formats=("yuv420p",))

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        return value

    def code_sequence(self, task: CodingTask) -> CodingResult:
        raise NotImplementedError

    def doctor(self) -> str:
        return "least"


@dataclasses.dataclass(frozen=True)
class _Member:
    """One name of the adapter table's first column, as written."""

    name: str
    own: bool  # written `self.x`: an attribute of the instance
    params: list[str] | None  # None: written without parentheses
    returns: str | None
    value: str | None
    marks: str  # the first cell's text outside code spans: "(classmethod, required)"
    row: list[str]


def _members() -> list[_Member]:
    out = []
    for row in _table("Attribute or method").rows:
        marks = re.sub(r"`[^`]*`", "", row[0])
        for span in re.findall(r"`([^`]*)`", row[0]):
            m = _MEMBER.fullmatch(span.strip())
            assert m, f"README.md: `{span}` in the adapter table is no name, call or assignment"
            params = None if m["params"] is None else [p.strip() for p in m["params"].split(",") if p.strip()]
            out.append(_Member(m["name"], bool(m["own"]), params, m["returns"], m["value"], marks, row))
    return out


def _public() -> set[str]:
    """What an adapter class has from base.Adapter: its public class members, the attributes it declares
    without a value, and what ``Adapter.__init__`` sets on an instance."""
    declared = set(inspect.get_annotations(Adapter))
    instance = set(vars(_Least({}))) - set(vars(_Least))
    return {n for n in dir(Adapter) if not n.startswith("_")} | declared | instance


def test_every_adapter_member_is_documented_and_exists() -> None:
    _compare("Adapter", [m.name for m in _members()], _public())
    for m in _members():
        where = f"README.md: `{m.name}` of the adapter table"
        if m.own:
            assert m.name in vars(_Least({})) and not hasattr(Adapter, m.name), f"{where}: not an instance attribute"
            continue
        static = inspect.getattr_static(Adapter, m.name, None)
        method = isinstance(static, (classmethod, staticmethod)) or inspect.isfunction(static)
        assert (m.params is not None) == method, (
            f"{where} is written {'with' if m.params is not None else 'without'} parentheses; it is "
            f"{'a method' if method else 'not a method'} of bench.adapters.base.Adapter")


def test_required_members_are_what_the_base_leaves_open() -> None:
    """Marked "(required)" exactly: the abstract methods and the attributes Adapter declares without a value
    (a subclass without them cannot be built or used)."""
    declared = inspect.get_annotations(Adapter)
    open_ = set(Adapter.__abstractmethods__) | {n for n in declared if not hasattr(Adapter, n)}
    marked = {m.name for m in _members() if "required" in m.marks}
    assert marked == open_, (f"README.md: the adapter table marks {sorted(marked)} required; bench.adapters.base "
                             f"leaves {sorted(open_)} to subclasses (abstract methods, attributes without a value)")


def test_adapter_signatures_and_defaults_are_as_written() -> None:
    """Each method's parameters as written (``cls`` first exactly for a classmethod), the return type where
    written, and each attribute's written default its value in base.Adapter."""
    for m in _members():
        where = f"README.md: `{m.name}` of the adapter table"
        static = inspect.getattr_static(Adapter, m.name, None)
        if m.params is not None and callable(getattr(static, "__func__", static)):  # else: the tests above
            function = static.__func__ if isinstance(static, classmethod) else static
            signature = inspect.signature(function)
            assert m.params == list(signature.parameters), (
                f"{where} is written ({', '.join(m.params)}); base.Adapter.{m.name} takes "
                f"({', '.join(signature.parameters)})")
            assert (m.params[:1] == ["cls"]) == isinstance(static, classmethod), f"{where}: cls <=> classmethod"
            if m.returns:
                declared = str(signature.return_annotation)
                assert re.split(r"[\[ |]", declared)[0] == m.returns, f"{where} returns {m.returns}; code: {declared}"
        elif m.value is not None and hasattr(Adapter, m.name):  # unknown names: the tests above say so
            try:
                written = ast.literal_eval(m.value)
            except (ValueError, SyntaxError):  # `Capabilities(...)`, `(params, [rate points])`: a form, no value
                continue
            assert written == getattr(Adapter, m.name), (
                f"{where} = {m.value}: base.Adapter.{m.name} is {getattr(Adapter, m.name)!r}")


def test_capabilities_and_param_are_as_written() -> None:
    """The Capabilities fields the capabilities row names, and the Param(...) form of the PARAMS row (its
    arguments in order, the defaults of the keyword ones), against the dataclasses."""
    members = {m.name: m for m in _members()}
    named = re.findall(r"`(\w+)`", re.sub(r"\([^()]*\)", "", members["capabilities"].row[1]))
    _compare("Adapter (capabilities = Capabilities(...))", named, set(_fields(Capabilities)))
    call = re.search(r"Param\(([^()]*)\)", members["PARAMS"].value or "")
    assert call, "README.md: the PARAMS row does not show Param(...)"
    written = [a.strip() for a in call.group(1).split(",")]
    fields = dataclasses.fields(Param)
    assert [a.split("=")[0] for a in written] == [f.name for f in fields], (
        f"README.md: Param({call.group(1)}); bench.adapters.base.Param has {[f.name for f in fields]}")
    for arg, f in zip(written, fields, strict=True):
        default = f.default
        if "=" not in arg:
            assert default is dataclasses.MISSING, f"README.md: Param's {f.name} is written without its default"
            continue
        shown = getattr(default, "__name__", None) or repr(default)
        assert arg.split("=", 1)[1] == shown, f"README.md: Param({arg}); its default is {shown}"


def test_the_reader_of_the_tables_reads_the_forms_used() -> None:
    """The parsing on the row forms the README uses, so that a table the reader misread cannot pass."""
    assert _cells("| `a`, `b` | `int` or None | y `p|q` |") == ["`a`, `b`", "`int` or None", "y `p|q`"]
    spans = {s: _MEMBER.fullmatch(s) for s in ("code_sequence(self, task) -> CodingResult", "version = 1",
                                              "self.params", "unavailable(cls)", "PARAMS = {key: Param(kind)}")}
    assert all(spans.values()), spans
    assert spans["code_sequence(self, task) -> CodingResult"]["returns"] == "CodingResult"
    assert spans["version = 1"]["value"] == "1" and spans["version = 1"]["params"] is None
    assert spans["self.params"]["own"] and spans["unavailable(cls)"]["params"] == "cls"
    assert spans["PARAMS = {key: Param(kind)}"]["value"] == "{key: Param(kind)}"
