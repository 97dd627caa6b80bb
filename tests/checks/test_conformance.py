"""The adapter contract (bench.checks.conformance), run over every registered adapter, and shown to fail.

Every adapter the registry knows (built-in, or a plug-in installed in this environment) is enrolled here
automatically: a new adapter needs no edit of this file to be held to the contract. Where its tool is
installed and it declares an example, the check codes two real frames through the runner.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from bench.adapters import adapter_class, adapter_names
from bench.adapters.base import Capabilities, Param
from bench.adapters.ffmpeg import X264
from bench.checks.conformance import assert_conforms, check_adapter
from bench.video.formats import PixelFormat, pixel_format


@pytest.mark.parametrize("name", adapter_names())
def test_every_registered_adapter_keeps_the_contract(name: str) -> None:
    checks = assert_conforms(adapter_class(name))
    assert {c.name for c in checks} >= {"declared", "parameters", "rate points"}
    ran = {c.name: c.status for c in checks}
    if adapter_class(name).conformance_example is not None and name in ("x264", "x265", "svtav1", "aom", "vvenc",
                                                                          "compressai"):
        assert ran["codes two frames"] == "passed"  # their tools ship with the suite: really coded here


class Sloppy(X264):
    """Breaks the contract four ways: an undocumented parameter, an operational setting in the identity, a
    rate point [q] that is not q, and an input format it does not declare."""

    name = "sloppy"
    capabilities = Capabilities(("yuv444p",), separate_decode=True)
    PARAMS: ClassVar[dict[str, Param]] = {**X264.PARAMS, "log_level": Param(int, 0, "", affects_result=False)}

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        return value if isinstance(value, list) else super().validate_rate_point(value, where)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "params": self.params}

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        return pixel_format("yuv420p")


def test_the_contract_can_fail() -> None:
    checks = {c.name: c for c in check_adapter(Sloppy, run=False)}
    assert checks["declared"].status == "failed" and "log_level" in checks["declared"].detail
    assert checks["rate points"].status == "failed"
    assert checks["identity"].status == "failed" and "operational parameter" in checks["identity"].detail
    assert checks["errors"].status == "failed" and "does not list" in checks["errors"].detail
    with pytest.raises(AssertionError, match="breaks the contract"):
        assert_conforms(Sloppy, run=False)
