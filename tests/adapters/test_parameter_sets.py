"""read_sps (bench/adapters/parameter_sets.py) checked field by field against ffmpeg's ``trace_headers`` bitstream
filter, run as its documentation runs it (``ffmpeg -i IN -c copy -bsf:v trace_headers -f null -``), on streams
x265 and VVenC write here (8/10/12 bit, 4:0:0 to 4:4:4, levels 4.1, 5.1 and 5.2, main and high tier, temporal
sub-layers, conformance windows), on the HM 16.25 and VTM 23.13 streams shipped in tests/data (and against what their logs say), and on
x265/VVenC SPSs with syntax no encoder here writes spliced in (sub-layer profile/level, general constraints info,
sub-profiles, a chroma bit depth differing from luma), placed by the positions the trace itself prints; then
cut-off, malformed and random bytes, which must give None and never raise."""

from __future__ import annotations

import random
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.adapters.parameter_sets import SequenceParameters, read_sps
from bench.tools import ffmpeg_exe

DATA = Path(__file__).parents[1] / "data"
# Start code and two-byte NAL header of a layer-0 SPS (H.265 7.3.1.2: type 33 -> 0x42 0x01; H.266 7.3.1.2:
# type 15 in the second byte's top five bits, temporal id plus 1 = 1 -> 0x00 0x79).
SPS_PREFIX = {True: b"\x00\x00\x01\x42\x01", False: b"\x00\x00\x01\x00\x79"}
# chroma_format_idc as H.265 table 6-1 / H.266 table 2 name it.
CHROMA = {0: "400", 1: "420", 2: "422", 3: "444"}
X265 = ["-c:v", "libx265", "-x265-params"]
VVENC = ["-c:v", "libvvenc", "-preset", "faster", "-pix_fmt", "yuv420p10le"]


@dataclass(frozen=True)
class Case:
    hevc: bool
    encode: list[str]  # ffmpeg arguments after the testsrc2 input; empty for a stream shipped in tests/data
    asked: dict[str, int]  # what the trace must show, so the cases differ where a swapped field would show
    level: str  # SequenceParameters.level for the trace's level_idc
    size: str = "64x64"  # 66x34 is not a whole number of 8x8 blocks: the encoder writes a conformance window


CASES = {
    "x265-main-8bit-66x34": Case(True, [*X265, "log-level=error", "-pix_fmt", "yuv420p"],
                                 {"general_profile_idc": 1, "bit_depth_luma_minus8": 0, "chroma_format_idc": 1,
                                  "conformance_window_flag": 1}, "1", "66x34"),
    "x265-main10-l4.1-main-tier-sublayers": Case(
        True, [*X265, "log-level=error:level-idc=4.1:high-tier=0:bframes=3:b-pyramid=1:temporal-layers=3",
               "-pix_fmt", "yuv420p10le"],
        {"general_profile_idc": 2, "general_level_idc": 123, "general_tier_flag": 0,
         "sps_max_sub_layers_minus1": 2, "bit_depth_luma_minus8": 2}, "4.1"),
    "x265-rext-444-12bit-l5.1-high-tier": Case(
        True, [*X265, "log-level=error:level-idc=5.1:high-tier=1", "-pix_fmt", "yuv444p12le"],
        {"general_profile_idc": 4, "general_level_idc": 153, "general_tier_flag": 1, "chroma_format_idc": 3,
         "bit_depth_luma_minus8": 4, "bit_depth_chroma_minus8": 4}, "5.1"),
    "x265-rext-422-10bit": Case(True, [*X265, "log-level=error", "-pix_fmt", "yuv422p10le"],
                                {"general_profile_idc": 4, "chroma_format_idc": 2, "bit_depth_luma_minus8": 2}, "1"),
    "x265-rext-400-12bit": Case(True, [*X265, "log-level=error", "-pix_fmt", "gray12le"],
                                {"chroma_format_idc": 0, "bit_depth_luma_minus8": 4}, "1"),
    "vvenc-8bit-l4.1": Case(False, [*VVENC, "-level", "4.1", "-vvenc-params", "internalbitdepth=8"],
                            {"general_level_idc": 67, "sps_bitdepth_minus8": 0, "sps_max_sublayers_minus1": 5}, "4.1"),
    "vvenc-10bit-l5.2-high-tier-66x34": Case(False, [*VVENC, "-level", "5.2", "-tier", "high"],
                                             {"general_level_idc": 86, "general_tier_flag": 1,
                                              "sps_bitdepth_minus8": 2, "sps_conformance_window_flag": 1},
                                             "5.2", "66x34"),
    "hm-16.25-ldb": Case(True, [], {"general_profile_idc": 2, "general_level_idc": 0}, "none"),
    "vtm-23.13-ldb": Case(False, [], {"general_profile_idc": 1, "general_level_idc": 0}, "none"),
}
SHIPPED = {"hm-16.25-ldb": DATA / "hm" / "hm_ldb_qp32.bin", "vtm-23.13-ldb": DATA / "vtm" / "vtm_ldb_qp32.bin"}


@dataclass(frozen=True)
class Field:
    pos: int  # bit position in the NAL unit, header included, emulation prevention removed (as trace_headers counts)
    bits: str
    value: int


_LINE = re.compile(r"^\[trace_headers @ [^\]]+\] (\d+)\s+(\S+)\s+([01]+) = (-?\d+)$")
_SECTION = re.compile(r"^\[trace_headers @ [^\]]+\] (\D.*)$")


def _ffmpeg(*args: str, expect_error: str = "") -> str:
    """ffmpeg's log; it must succeed, or where EXPECT_ERROR is given, fail saying that."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True, text=True,
                          check=False)
    if expect_error:
        assert proc.returncode != 0 and expect_error in proc.stderr, proc.stderr[-2000:]
    else:
        assert proc.returncode == 0, f"ffmpeg {' '.join(args)} failed:\n{proc.stderr[-2000:]}"
    return proc.stderr


def _trace(path: Path, hevc: bool, expect_error: str = "") -> dict[str, Field]:
    """The syntax elements of the stream's first SPS as trace_headers prints them (its section runs from the
    "Sequence Parameter Set" line to the next section line; an HEVC VPS before it has a profile_tier_level of
    its own, which is why the section matters), the first of each name. The section must run to the SPS's
    rbsp_stop_one_bit: ffmpeg parsed all of it."""
    out = _ffmpeg("-f", "hevc" if hevc else "vvc", "-i", str(path), "-c", "copy", "-bsf:v", "trace_headers",
                  "-f", "null", "-", expect_error=expect_error)
    fields: dict[str, Field] = {}
    inside = False
    for line in out.splitlines():
        section = _SECTION.match(line)
        if section:
            if inside:
                break
            inside = section.group(1).strip() == "Sequence Parameter Set"
            continue
        m = _LINE.match(line)
        if inside and m:
            fields.setdefault(m.group(2), Field(int(m.group(1)), m.group(3), int(m.group(4))))
    assert "rbsp_stop_one_bit" in fields, f"no whole Sequence Parameter Set in the trace of {path}:\n{out[-2000:]}"
    return fields


def _expected(trace: dict[str, Field], hevc: bool) -> SequenceParameters:
    v = {name: f.value for name, f in trace.items()}
    if hevc:
        return SequenceParameters("HEVC", CHROMA[v["chroma_format_idc"]], v["general_profile_idc"],
                                  v["general_tier_flag"] == 1, v["general_level_idc"],
                                  v["bit_depth_luma_minus8"] + 8, v["bit_depth_chroma_minus8"] + 8)
    return SequenceParameters("VVC", CHROMA[v["sps_chroma_format_idc"]], v.get("general_profile_idc"),
                              v.get("general_tier_flag") == 1, v.get("general_level_idc"),
                              v["sps_bitdepth_minus8"] + 8, v["sps_bitdepth_minus8"] + 8)


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each case's stream: encoded once for the module, or the shipped file."""
    root = tmp_path_factory.mktemp("sps")
    paths = dict(SHIPPED)
    for name, case in CASES.items():
        if case.encode:
            paths[name] = root / f"{name}.{'hevc' if case.hevc else 'vvc'}"
            _ffmpeg("-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size={case.size}:rate=25",
                    "-frames:v", "3", *case.encode, str(paths[name]))
    return paths


@pytest.mark.parametrize("name", list(CASES))
def test_sps_equals_ffmpeg_trace(name: str, streams: dict[str, Path]) -> None:
    case, path = CASES[name], streams[name]
    trace = _trace(path, case.hevc)
    assert {k: trace[k].value for k in case.asked} == case.asked, "the stream is not the one the case asks for"
    sps = read_sps(path.read_bytes(), case.hevc)
    assert sps == _expected(trace, case.hevc)
    assert sps.level == case.level


def test_hm_stream_agrees_with_its_encoder_log(streams: dict[str, Path]) -> None:
    log = (DATA / "hm" / "hm_ldb_qp32_encoder.log").read_text()
    depth = re.search(r"^Internal bit depth\s*: \(Y:(\d+), C:(\d+)\)", log, re.M)
    profile = re.search(r"^Profile\s*: (\S+)", log, re.M)
    assert depth and profile and (depth.groups(), profile.group(1)) == (("10", "10"), "main10")
    assert "a valid Level value must be set" in log  # HM was given no --Level: it writes level_idc 0
    sps = read_sps(streams["hm-16.25-ldb"].read_bytes(), hevc=True)
    assert sps is not None
    assert (sps.bit_depth_luma, sps.bit_depth_chroma, sps.profile_idc, sps.level) == (10, 10, 2, "none")
    assert sps.profile == "Main 10"


def test_vtm_stream_agrees_with_its_decoder_log(streams: dict[str, Path]) -> None:
    log = (DATA / "vtm" / "vtm_ldb_qp32_decoder.log").read_text()
    assert "Level set to none" in log
    sps = read_sps(streams["vtm-23.13-ldb"].read_bytes(), hevc=False)
    assert sps is not None and sps.level == "none" and sps.profile == "Main 10"


# --- syntax no encoder here writes, spliced into a real SPS at the positions ffmpeg's trace gives ---------------

def _unescape(data: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in data:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _escape(data: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in data:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _sps_span(stream: bytes, hevc: bool) -> tuple[int, int]:
    """Byte range of the first SPS NAL unit (from its header to the next start code, trailing zeros dropped)."""
    start = stream.index(SPS_PREFIX[hevc]) + 3
    end = stream.find(b"\x00\x00\x01", start)
    end = len(stream) if end < 0 else end
    while stream[end - 1] == 0:
        end -= 1
    return start, end


def _splice(stream: bytes, hevc: bool, edits: list[tuple[int, int, str]]) -> bytes:
    """STREAM with bits [start, end) of its first SPS NAL unit (trace positions) replaced by each edit's bits,
    the RBSP trailing bits and emulation prevention redone."""
    start, end = _sps_span(stream, hevc)
    bits = "".join(f"{b:08b}" for b in _unescape(stream[start:end])).rstrip("0")[:-1]  # without rbsp_stop_one_bit
    for a, b, new in sorted(edits, reverse=True):  # the last first: earlier positions stay valid
        bits = bits[:a] + new + bits[b:]
    bits += "1" + "0" * (-(len(bits) + 1) % 8)
    nal = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    return stream[:start] + _escape(nal) + stream[end:]


def _set(f: Field, bits: str) -> tuple[int, int, str]:
    return f.pos, f.pos + len(f.bits), bits


def _ue(value: int) -> str:
    code = f"{value + 1:b}"
    return "0" * (len(code) - 1) + code


Edits = tuple[list[tuple[int, int, str]], dict[str, int]]  # the edits, and what the trace must then show


def _hevc_sub_layer_edits(t: dict[str, Field]) -> Edits:
    """Sub-layer 0 gets a profile (Main, where the general one is Main 10), sub-layer 1 a level (3.0, where the
    general one is 4.1)."""
    profile = "00" + "0" + "00001" + "011" + "0" * 29 + "1001" + "0" * 43 + "0"  # H.265 7.3.3: 88 bits
    assert len(profile) == 88
    after = t["sps_seq_parameter_set_id"].pos  # the sub-layer syntax goes between the reserved bits and this
    return ([_set(t["sub_layer_profile_present_flag[0]"], "1"), _set(t["sub_layer_level_present_flag[1]"], "1"),
             (after, after, profile + f"{90:08b}")],
            {"sub_layer_profile_idc[0]": 1, "sub_layer_level_idc[1]": 90})


def _hevc_chroma_depth_edits(t: dict[str, Field]) -> Edits:
    """Chroma 12 bit where luma keeps 10 (H.265 allows it; x265 does not write it)."""
    return [_set(t["bit_depth_chroma_minus8"], _ue(4))], {"bit_depth_luma_minus8": 2, "bit_depth_chroma_minus8": 4}


def _vvc_ptl_edits(t: dict[str, Field]) -> Edits:
    """general_constraints_info present (71 flags, then gci_num_additional_bits = 7: the six H.266 v2 flags and
    one reserved bit, so that it ends one bit past a byte and a parser off by a bit aligns to another byte), a
    level for sub-layer 2, and one sub-profile."""
    gci = t["gci_present_flag"].pos
    after_gci = min(f.pos for n, f in t.items() if f.pos > gci and n != "gci_alignment_zero_bit")
    new_gci = "1" + "0" * 71 + f"{7:08b}" + "0" * 7
    new_gci += "0" * (-(gci + len(new_gci)) % 8)  # gci_alignment_zero_bit
    sub = t["ptl_num_sub_profiles"]
    return ([(gci, after_gci, new_gci), _set(t["ptl_sublayer_level_present_flag[2]"], "1"),
             _set(sub, f"{51:08b}" + f"{1:08b}" + f"{0xC0FFEE:032b}")],
            {"gci_present_flag": 1, "gci_num_additional_bits": 7, "sublayer_level_idc[2]": 51,
             "ptl_num_sub_profiles": 1})


# ffmpeg's HEVC parser (not trace_headers) refuses luma and chroma depths that differ, so that ffmpeg run fails
# after the trace has printed the whole SPS: the failure must be that one.
DEPTHS_DIFFER = "Luma bit depth (10) is different from chroma bit depth (12), this is unsupported"
SPLICES = {"hevc-sub-layer-profile-and-level": ("x265-main10-l4.1-main-tier-sublayers", _hevc_sub_layer_edits, ""),
           "hevc-luma-10-chroma-12": ("x265-main10-l4.1-main-tier-sublayers", _hevc_chroma_depth_edits,
                                      DEPTHS_DIFFER),
           "vvc-gci-sublayer-level-sub-profile": ("vvenc-10bit-l5.2-high-tier-66x34", _vvc_ptl_edits, "")}


@pytest.mark.parametrize("name", list(SPLICES))
def test_spliced_sps_equals_ffmpeg_trace(name: str, streams: dict[str, Path], tmp_path: Path) -> None:
    base, edits_of, error = SPLICES[name]
    hevc = CASES[base].hevc
    before = _trace(streams[base], hevc)
    edits, shown = edits_of(before)
    path = tmp_path / streams[base].name
    path.write_bytes(_splice(streams[base].read_bytes(), hevc, edits))
    after = _trace(path, hevc, expect_error=error)
    assert {k: after[k].value for k in shown} == shown, "ffmpeg does not read the splice as meant"
    # The SPS after the edited fields reads as before: the splice left the rest of the syntax where it was.
    tail = "log2_max_pic_order_cnt_lsb_minus4" if hevc else "sps_log2_max_pic_order_cnt_lsb_minus4"
    assert after[tail].value == before[tail].value and after[tail].pos != before[tail].pos
    sps = read_sps(path.read_bytes(), hevc)
    assert sps == _expected(after, hevc)
    assert sps.level == CASES[base].level


# --- not a stream, other codec, truncated, malformed ----------------------------------------------------------

def test_bytes_that_are_not_a_stream_give_none() -> None:
    noise = random.Random(31).randbytes(20_000)
    assert b"\x00\x00\x01" not in noise  # else it would not be "no NAL unit at all"
    for data in (b"", b"\x00\x00\x01", b"\x00\x00\x01\x42", noise):
        assert read_sps(data, hevc=True) is None
        assert read_sps(data, hevc=False) is None


def test_a_stream_of_the_other_codec_has_no_sps(streams: dict[str, Path]) -> None:
    # A layer-0 HEVC NAL header read as VVC has type 0 (its second byte is 0x01), a VVC one read as HEVC too.
    assert read_sps(streams["x265-main-8bit-66x34"].read_bytes(), hevc=False) is None
    assert read_sps(streams["vtm-23.13-ldb"].read_bytes(), hevc=True) is None


@pytest.mark.parametrize("name", ["x265-main10-l4.1-main-tier-sublayers", "x265-rext-444-12bit-l5.1-high-tier",
                                  "vvenc-8bit-l4.1", "hm-16.25-ldb", "vtm-23.13-ldb"])
def test_truncated_sps_gives_none(name: str, streams: dict[str, Path]) -> None:
    hevc = CASES[name].hevc
    stream = streams[name].read_bytes()
    trace = _trace(streams[name], hevc)
    last = trace["bit_depth_chroma_minus8" if hevc else "sps_bitdepth_minus8"]
    need = -(-(last.pos + len(last.bits)) // 8)  # bytes of RBSP up to the last field read
    start, end = _sps_span(stream, hevc)
    assert read_sps(stream[:end], hevc) == _expected(trace, hevc)  # the whole SPS, nothing after it, reads
    for cut in range(start - 3, start + need):  # from before the start code to one byte short
        assert read_sps(stream[:cut], hevc) is None, cut


def test_malformed_sps_gives_none(streams: dict[str, Path]) -> None:
    stream = streams["x265-main-8bit-66x34"].read_bytes()
    trace = _trace(streams["x265-main-8bit-66x34"], hevc=True)
    assert read_sps(_splice(stream, True, [_set(trace["chroma_format_idc"], _ue(4))]), hevc=True) is None
    assert read_sps(SPS_PREFIX[True] + bytes(64), hevc=True) is None  # an exp-Golomb code of over 32 zeros
    # Random SPS payloads: each reads or is refused, none raises.
    rng = random.Random(33)
    for hevc in (True, False):
        for _ in range(300):
            got = read_sps(SPS_PREFIX[hevc] + rng.randbytes(rng.randrange(1, 40)), hevc)
            assert got is None or isinstance(got, SequenceParameters)
