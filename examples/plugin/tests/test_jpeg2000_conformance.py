"""The plug-in's adapter keeps lvc-bench's adapter contract: run with `python -m pytest examples/plugin/tests`
once the package is installed (`pip install -e examples/plugin`)."""

from lvcbench_example.jpeg2000 import Jpeg2000

from bench.adapters import adapter_class
from bench.checks.conformance import assert_conforms


def test_the_adapter_keeps_the_contract() -> None:
    # Two real frames coded and decoded through the suite's runner, then decoded again from the stored files.
    checks = {c.name: c.status for c in assert_conforms(Jpeg2000, params={}, rate_points=[16])}
    assert checks["codes two frames"] == "passed"


def test_the_entry_point_registers_it() -> None:
    assert adapter_class("example-jpeg2000") is Jpeg2000
