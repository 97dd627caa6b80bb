"""What an HEVC or VVC stream's sequence parameter set says: chroma format, bit depths, profile, tier and level.

The reference encoders' logs do not say all of this (VTM prints no level, and its settings only at a raised
verbosity), so the suite reads it from the stream it measures: the first SPS NAL unit, up to the bit depths
(ITU-T H.265 7.3.2.2 and H.266 7.3.2.4, with their profile_tier_level and general_constraints_info). Written
here rather than asked of ffmpeg's ``trace_headers`` because ECM streams extend the VVC syntax further on (their
SPS starts the same, ffmpeg cannot parse them), and because it reads the bytes already in memory without
another process; the tests check it field by field against ``trace_headers`` on x265, VVenC, HM and VTM streams.
"""

from __future__ import annotations

from dataclasses import dataclass

_HEVC_SPS, _VVC_SPS = 33, 15
# general_profile_idc values named in the specifications (H.265 A.3, H.266 A.3); others are shown as numbers.
_HEVC_PROFILES = {1: "Main", 2: "Main 10", 3: "Main Still Picture", 4: "Format Range Extensions (RExt)",
                  5: "High Throughput", 9: "Screen Content Coding"}
_VVC_PROFILES = {1: "Main 10", 2: "Main 12", 10: "Main 12 Intra", 17: "Multilayer Main 10", 33: "Main 10 4:4:4",
                 34: "Main 12 4:4:4", 36: "Main 16 4:4:4", 42: "Main 12 4:4:4 Intra", 44: "Main 16 4:4:4 Intra",
                 49: "Multilayer Main 10 4:4:4", 65: "Main 10 Still Picture", 66: "Main 12 Still Picture",
                 97: "Main 10 4:4:4 Still Picture", 98: "Main 12 4:4:4 Still Picture",
                 100: "Main 16 4:4:4 Still Picture"}
CHROMA_FORMATS = {0: "400", 1: "420", 2: "422", 3: "444"}


@dataclass(frozen=True)
class SequenceParameters:
    """The first SPS of a stream. ``bit_depth_*`` is None where the SPS was not read that far (VVC subpictures)."""

    codec: str  # "HEVC" or "VVC"
    chroma_format: str  # "400", "420", "422" or "444"
    profile_idc: int | None  # None: the SPS carries no profile_tier_level (VVC allows that)
    high_tier: bool
    level_idc: int | None
    bit_depth_luma: int | None
    bit_depth_chroma: int | None

    @property
    def profile(self) -> str:
        if self.profile_idc is None:
            return "not in the SPS"
        names = _HEVC_PROFILES if self.codec == "HEVC" else _VVC_PROFILES
        return names.get(self.profile_idc, f"profile_idc {self.profile_idc}")

    @property
    def level(self) -> str:
        """The level as the specifications write it (H.265: idc = 30 x level; H.266: 16 x major + 3 x minor), or
        "none" for idc 0 (what VTM and HM write when no --Level is given)."""
        if self.level_idc is None:
            return "not in the SPS"
        if self.level_idc == 0:
            return "none"
        if self.codec == "HEVC":
            return f"{self.level_idc / 30:g}"
        major, rest = divmod(self.level_idc, 16)
        return f"{major}.{rest // 3}" if rest % 3 == 0 else f"level_idc {self.level_idc}"

    def as_settings(self) -> dict[str, str]:
        """The facts as the record's ``coding.stream.settings`` strings."""
        depth = ("not read" if self.bit_depth_luma is None else
                 f"{self.bit_depth_luma}" + (f" (chroma {self.bit_depth_chroma})"
                                              if self.bit_depth_chroma != self.bit_depth_luma else ""))
        return {"sps_chroma_format": self.chroma_format, "sps_bit_depth": depth, "sps_profile": self.profile,
                "sps_tier": "high" if self.high_tier else "main", "sps_level": self.level}


class _Bits:
    """An MSB-first reader over an RBSP (emulation prevention removed)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]  # IndexError past the end: the caller treats it as unreadable
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def align(self) -> None:
        self.pos = (self.pos + 7) & ~7


def _rbsp(payload: bytes) -> bytes:
    """PAYLOAD without its emulation-prevention bytes (each 0x03 after two zero bytes)."""
    out, zeros = bytearray(), 0
    for b in payload:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _first_sps(stream: bytes, hevc: bool) -> bytes | None:
    """The RBSP of the first SPS NAL unit of an Annex-B STREAM (after its two-byte NAL header), or None."""
    start = stream.find(b"\x00\x00\x01")
    while start >= 0:
        header = stream[start + 3 : start + 5]
        nal_type = ((header[0] >> 1) & 0x3F if hevc else (header[1] >> 3) & 0x1F) if len(header) == 2 else -1
        end = stream.find(b"\x00\x00\x01", start + 3)
        if nal_type == (_HEVC_SPS if hevc else _VVC_SPS):
            return _rbsp(stream[start + 5 : end if end >= 0 else len(stream)])
        start = end
    return None


def read_sps(stream: bytes, hevc: bool) -> SequenceParameters | None:
    """The first SPS of an HEVC (HEVC=True) or VVC Annex-B STREAM, or None where it has none or it cannot be
    read (a truncated or malformed SPS)."""
    rbsp = _first_sps(stream, hevc)
    if rbsp is None:
        return None
    try:
        return _hevc_sps(_Bits(rbsp)) if hevc else _vvc_sps(_Bits(rbsp))
    except (IndexError, KeyError, ValueError):  # past the end, chroma_format_idc > 3, exp-Golomb > 32 bits
        return None


def _hevc_sps(b: _Bits) -> SequenceParameters:
    b.u(4)  # sps_video_parameter_set_id
    sub_layers = b.u(3)  # sps_max_sub_layers_minus1
    b.u(1)  # sps_temporal_id_nesting_flag
    b.u(2)  # general_profile_space
    high_tier, profile = b.u(1), b.u(5)
    b.u(32 + 4 + 43 + 1)  # compatibility flags, source and constraint flags, inbld/reserved
    level = b.u(8)
    present = [(b.u(1), b.u(1)) for _ in range(sub_layers)]  # (profile present, level present) per sub-layer
    if sub_layers:
        b.u(2 * (8 - sub_layers))  # reserved_zero_2bits
    for profile_present, level_present in present:
        b.u(88 * profile_present + 8 * level_present)
    b.ue()  # sps_seq_parameter_set_id
    chroma = b.ue()
    if chroma == 3:
        b.u(1)  # separate_colour_plane_flag
    b.ue(), b.ue()  # pic_width/height_in_luma_samples
    if b.u(1):  # conformance_window_flag
        for _ in range(4):
            b.ue()
    luma, chroma_depth = b.ue() + 8, b.ue() + 8
    return SequenceParameters("HEVC", CHROMA_FORMATS[chroma], profile, bool(high_tier), level, luma, chroma_depth)


def _vvc_sps(b: _Bits) -> SequenceParameters:
    b.u(4), b.u(4)  # sps_seq_parameter_set_id, sps_video_parameter_set_id
    sub_layers = b.u(3)  # sps_max_sublayers_minus1
    chroma = b.u(2)
    b.u(2)  # sps_log2_ctu_size_minus5
    profile: int | None = None
    level: int | None = None
    high_tier = 0
    if b.u(1):  # sps_ptl_dpb_hrd_params_present_flag: profile_tier_level(1, sub_layers)
        profile, high_tier, level = b.u(7), b.u(1), b.u(8)
        b.u(2)  # ptl_frame_only_constraint_flag, ptl_multilayer_enabled_flag
        if b.u(1):  # gci_present_flag: 71 fixed bits, then as many more as gci_num_additional_bits says
            b.u(71)
            b.u(b.u(8))
        b.align()  # gci_alignment_zero_bit
        level_present = [b.u(1) for _ in range(sub_layers)]
        b.align()  # ptl_reserved_zero_bit
        b.u(8 * sum(level_present))  # sublayer_level_idc
        b.u(32 * b.u(8))  # ptl_num_sub_profiles, general_sub_profile_idc
    b.u(1)  # sps_gdr_enabled_flag
    if b.u(1):  # sps_ref_pic_resampling_enabled_flag
        b.u(1)  # sps_res_change_in_clvs_allowed_flag
    b.ue(), b.ue()  # sps_pic_width/height_max_in_luma_samples
    if b.u(1):  # sps_conformance_window_flag
        for _ in range(4):
            b.ue()
    depth = None if b.u(1) else b.ue() + 8  # subpicture layout (not read) comes before sps_bitdepth_minus8
    return SequenceParameters("VVC", CHROMA_FORMATS[chroma], profile, bool(high_tier), level, depth, depth)
