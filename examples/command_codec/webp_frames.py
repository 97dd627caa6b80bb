"""A command-line codec for the example: every frame coded as a lossy WebP image by the ffmpeg that ships
with the suite (libwebp), at a quality index 0..100.

    python webp_frames.py encode FRAMES_DIR BITS_DIR QUALITY
    python webp_frames.py decode BITS_DIR DECODED_DIR

FRAMES_DIR holds 00000.png, 00001.png ... (what the suite hands a codec with input_format: png); the encoder
writes BITS_DIR/00000.webp ...; the decoder writes DECODED_DIR/00000.png ... The suite's ``command`` adapter
runs it from the descriptor webp.yaml; nothing here knows about the suite.
"""

import subprocess
import sys

import imageio_ffmpeg


def ffmpeg(*args):
    # ffmpeg's own message is the last thing printed, and its exit status is ours: no Python traceback on top
    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                           *args])
    if done.returncode:
        sys.exit(done.returncode)


def main(argv):
    if argv[:1] == ["encode"] and len(argv) == 4:
        _, frames, bits, quality = argv
        ffmpeg("-start_number", "0", "-i", f"{frames}/%05d.png", "-c:v", "libwebp", "-quality", quality,
               "-compression_level", "4", "-preset", "picture", "-start_number", "0", f"{bits}/%05d.webp")
    elif argv[:1] == ["decode"] and len(argv) == 3:
        _, bits, decoded = argv
        ffmpeg("-start_number", "0", "-i", f"{bits}/%05d.webp", "-pix_fmt", "rgb24", "-start_number", "0",
               f"{decoded}/%05d.png")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
