"""Our driver for the DHVC line, run with the interpreter of the user's DHVC environment (it imports only the
standard library, numpy, torch and the official model from the user's checkout; nothing from ``bench``).

The official DHVC 1.0 ``test.py`` keeps neither bitstreams nor reconstructions (it overwrites one ``.bits`` file
per frame), picks its GPU by a hard-coded ``CUDA_VISIBLE_DEVICES``, and runs a FLOP counter first; so the adapter
runs this driver instead, which codes a sequence the way ``test.py`` does and keeps everything:

* frames are read from a raw file of 8-bit planar R, G, B frames (``width x height`` each), scaled to [0, 1];
* each frame is zero-padded, centred, to a multiple of 64; the temporal context is reset to the model's learned
  bias whenever ``frame % gop == 0`` and otherwise holds the decoded latents of the two previous frames;
* ``compress`` gives a 6-byte head and the packed latent strings; both are written as one file per frame
  (``frame_00000.bin`` ...; 27 bytes of that are the head, the string count and the string lengths), read back,
  and ``decompress``-ed; the output is clamped to [0, 1] and cropped back;
* decoded frames are written, rounded to 8 bits, as planar R, G, B to ``decoded.rgb``;
* one JSON line per frame goes to stdout: frame index, bitstream bytes, PSNR on the unrounded output (as
  ``test.py`` computes it) and encode/decode seconds; the last line holds the peak GPU memory.

DHIC (``model: "dhic"``, code_dir <checkout>/dhic) codes every frame as an image at quality index ``quality``
(0..63): ``forward_bottomup`` and ``forward_topdown(mode="compress")`` give four rANS strings, written with a
header of ours (DHIC defines none; 28 bytes: batch, padded H/64 and W/64, h, w as uint16, the quality and the
string count as bytes, the string lengths as uint32), read back and decoded with ``forward_topdown(mode=
"decompress")``. Its ``models/ska.py`` is missing upstream (imported, never used on this path): an empty module
stands in for it.

Coding is single-threaded (``torch.set_num_threads(1)``, as test.py): the helper's runs showed that with two
threads DHVC 1.0 writes different bytes and a stream decoded with another thread count desynchronises.

Usage: ``python dhvc_driver.py SPEC.json`` with SPEC = {"model": "dhvc-1.0" | "dhic", "code_dir", "checkpoint",
"input", "width", "height", "frames", "gop" (DHVC) or "quality" (DHIC), "device", "out"}.
"""

import json
import sys
import time
from pathlib import Path


def _pad_amounts(size, multiple=64):
    total = (size + multiple - 1) // multiple * multiple - size
    return total // 2, total - total // 2  # centred: the smaller half first, as test.py pads


def main(spec_path):
    spec = json.loads(Path(spec_path).read_text())
    sys.path.insert(0, spec["code_dir"])
    import torch

    device = torch.device(spec["device"])
    torch.set_num_threads(1)  # parallelism comes from jobs, as everywhere in the suite
    net = _load_model(spec, device)
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    counted = min(1, spec["frames"] - 1) if spec["model"] == "dhvc-1.0" else 0  # a P frame where there is one
    saved = _code_sequence(net, spec, device, out, counted)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    if saved is not None:  # after the timed pass, so that counting never slows a timed frame
        _count(net, spec, saved, counted, spec["height"], spec["width"])
    print(json.dumps({"done": True, "peak_gpu_bytes": peak, "torch": torch.__version__}), flush=True)


def _load_model(spec, device):
    """The official model from the user's checkout, with the checkpoint's weights, in evaluation mode."""
    import torch

    if spec["model"] == "dhvc-1.0":
        from models.dhvc import dhvc_base as build  # the official model, from the user's checkout
    elif spec["model"] == "dhic":
        import types

        sys.modules.setdefault("models.ska", types.SimpleNamespace(SKA=None))  # missing upstream, unused here
        from models.dhvc_dec_intra_var_rate import dhvc as build
    else:
        raise SystemExit(f"driver: unknown model {spec['model']!r}")
    net = build()
    # weights_only: a checkpoint is tensors, never code to run (torch >= 1.13; older torch refuses the argument,
    # and then says so instead of unpickling whatever the file holds).
    try:
        snapshot = torch.load(spec["checkpoint"], map_location="cpu", weights_only=True)
    except TypeError:
        raise SystemExit("driver: this torch cannot load checkpoints with weights_only=True (torch >= 1.13 can); "
                         "update torch in the DHVC environment") from None
    state = snapshot.get("state_dict", snapshot) if isinstance(snapshot, dict) else snapshot
    net.load_state_dict(state, strict=True)  # a checkpoint that does not fit is an error, never skipped
    net.to(device).eval()
    if spec["model"] == "dhvc-1.0":
        net.compress_mode()
    return net


def _code_sequence(net, spec, device, out, counted):
    """Code every frame (compress, write, read back, decompress), write the decoded frames and a JSON line per
    frame; return frame COUNTED's inputs when the spec asks for a complexity count (else None)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    w, h, frames, gop = spec["width"], spec["height"], spec["frames"], spec["gop"]
    left, right = _pad_amounts(w)
    top, bottom = _pad_amounts(h)
    frame_bytes = 3 * w * h
    saved = None
    with open(spec["input"], "rb") as src, open(out / "decoded.rgb", "wb") as dec:
        z_lists = None
        for fi in range(frames):
            raw = np.frombuffer(src.read(frame_bytes), dtype=np.uint8)
            if raw.size != frame_bytes:
                raise SystemExit(f"driver: {spec['input']} ends before frame {fi}")
            # float64 division, then float32: the values test.py gets from cv2 / 255. and torch.FloatTensor
            x = torch.from_numpy((raw.reshape(1, 3, h, w) / 255.0).astype(np.float32)).to(device)
            x_pad = F.pad(x, (left, right, top, bottom), mode="constant", value=0)
            path = out / f"frame_{fi:05d}.bin"
            with torch.no_grad():
                t0 = time.perf_counter()
                if spec["model"] == "dhic":
                    if fi == counted and spec.get("complexity"):
                        saved = (x_pad, None)
                    path.write_bytes(_dhic_encode(net, x_pad, spec["quality"], h, w))
                else:
                    if fi % gop == 0:
                        bias = net.get_temp_bias(x_pad)
                        z_lists = [bias, bias]
                    if fi == counted and spec.get("complexity"):
                        saved = (x_pad, list(z_lists))
                    head, strings = net.compress(x_pad, z_lists, get_latent=True)
                    path.write_bytes(head + strings)
                t1 = time.perf_counter()
                data = path.read_bytes()
                if spec["model"] == "dhic":
                    rec_pad = _dhic_decode(net, data)
                else:
                    rec_pad, z_new = net.decompress(data[:6], data[6:], z_lists, get_latent=True)
                    z_lists = [z_lists[-1], z_new]
                rec = rec_pad.clamp(0, 1)[:, :, top : top + h, left : left + w]
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t2 = time.perf_counter()
            _report_frame(dec, x, rec, fi, len(data), t1 - t0, t2 - t1)
    return saved


def _report_frame(dec, x, rec, fi, nbytes, encode_s, decode_s):
    """Write the decoded frame, rounded to 8 bits, and its JSON line (PSNR on the unrounded output, as test.py)."""
    import numpy as np
    import torch

    mse = torch.mean((x - rec) ** 2).item()
    psnr = -10 * float(np.log10(mse)) if mse > 0 else float("inf")
    dec.write(np.clip(np.rint(rec[0].cpu().numpy() * 255), 0, 255).astype(np.uint8).tobytes())
    print(json.dumps({"frame": fi, "bytes": nbytes, "psnr": psnr, "encode_s": encode_s, "decode_s": decode_s}),
          flush=True)


def _count(net, spec, saved, frame, h, w):
    """Parameters and MACs of one frame's compress and decompress (frame FRAME again, its inputs as the timed
    pass had them), printed as one {"complexity": ...} line."""
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import driver_complexity as dc

    x_pad, z_lists = saved
    with torch.no_grad():
        if spec["model"] == "dhic":
            encode = dc.count_macs(lambda: _dhic_encode(net, x_pad, spec["quality"], h, w))
            decode = dc.count_macs(lambda: _dhic_decode(net, encode[2]))
            what = (f"frame {frame}: forward_bottomup + forward_topdown(compress) at quality {spec['quality']}, "
                    "and forward_topdown(decompress)")
        else:
            encode = dc.count_macs(lambda: net.compress(x_pad, z_lists, get_latent=True))
            head, strings = encode[2][0], encode[2][1]
            decode = dc.count_macs(lambda: net.decompress(head, strings, z_lists, get_latent=True))
            what = (f"frame {frame} ({'P' if frame else 'I'}: its temporal context as in the timed pass): "
                    "net.compress and net.decompress")
    padded = f"{x_pad.shape[-1]}x{x_pad.shape[-2]}"
    dc.report(dc.parameter_count(net), encode[:2], decode[:2], w, h, "inter" if frame else "intra",
              f"{what}, on the frame padded to {padded} (kMAC/pixel per pixel of the unpadded frame)")


def _dhic_encode(net, x_pad, quality, h, w):
    import struct

    layer_qp, _ = net.sample_lmb(cur_qp=quality, bs=1)
    fdict, _ = net.forward_bottomup(x_pad, layer_qp)
    fdict = net.forward_topdown(fdict, mode="compress")  # also builds the CDF tables (update())
    strings = [s[0] for s in fdict["bit_strings"]]  # one batch element, coarse to fine
    head = struct.pack("<5H2B", 1, x_pad.shape[2] // 64, x_pad.shape[3] // 64, h, w, quality, len(strings))
    return head + struct.pack(f"<{len(strings)}I", *map(len, strings)) + b"".join(strings)


def _dhic_decode(net, data):
    import struct

    batch, h64, w64, _, _, quality, n = struct.unpack("<5H2B", data[:12])
    lengths = struct.unpack(f"<{n}I", data[12 : 12 + 4 * n])
    strings, pos = [], 12 + 4 * n
    for length in lengths:
        strings.append([data[pos : pos + length]])
        pos += length
    if pos != len(data):
        raise SystemExit(f"driver: DHIC stream has {len(data) - pos} bytes after its strings")
    layer_qp, _ = net.sample_lmb(cur_qp=quality, bs=batch)
    fdict = net.get_initial_fdict(layer_qp, (batch, h64, w64))
    fdict["bit_strings"] = strings
    return net.forward_topdown(fdict, mode="decompress")["x_hat"]


if __name__ == "__main__":
    main(sys.argv[1])
