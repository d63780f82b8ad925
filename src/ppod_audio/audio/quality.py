"""What a listener hears in the pauses: the pause floor, speech-to-floor, and DNSMOS.

The pause floor is the level of the quietest 5 % of 50 ms frames (the room between phrases);
speech-to-floor is how far the loud speech (95th percentile of the same frames) stands above it.
Both are level measurements, cheap enough to take on every block as it streams by.

DNSMOS (Microsoft's DNS Challenge P.835 model, shipped as ONNX in the ``speechmos`` wheel, MIT)
predicts the mean opinion score listeners would give for the speech (SIG), the background (BAK)
and overall (OVRL), from 1 to 5, without a clean reference. Only its ONNX file is used, through
onnxruntime (a faster-whisper dependency), so ``speechmos``'s own librosa import is never paid.
It scores 9.01 s windows, so an episode is scored on a bounded sample: up to ``SAMPLE_WINDOWS``
windows, the whole programme when they cover it, else spread evenly over it (54 s of audio at
most, whatever the length).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
from scipy.signal import resample_poly

FLOOR_FRAME_SECONDS = 0.05
DNSMOS_RATE = 16000
DNSMOS_SECONDS = 9.01  # the model's input length
DNSMOS_WINDOW = int(DNSMOS_SECONDS * DNSMOS_RATE)
SAMPLE_WINDOWS = 6  # 6 x 9 s: about a minute of audio scored per episode, whatever its length


def frame_levels(mono: np.ndarray, rate: int) -> np.ndarray:
    """RMS of each complete 50 ms frame in dBFS."""
    frame = max(1, int(round(FLOOR_FRAME_SECONDS * rate)))
    count = len(mono) // frame
    frames = mono[: count * frame].reshape(count, frame).astype(np.float64)
    return 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-13)


def floor_figures(levels: np.ndarray) -> dict[str, float | None]:
    """Pause floor (5th percentile of frame levels) and speech-to-floor (95th minus 5th)."""
    if levels.size == 0:
        return {"pause_floor_dbfs": None, "speech_to_floor_db": None}
    floor, loud = np.percentile(levels, [5, 95])
    return {"pause_floor_dbfs": round(float(floor), 1),
            "speech_to_floor_db": round(float(loud - floor), 1)}  # fmt: skip


class FloorMeter:
    """50 ms frame levels of a mono stream fed in blocks of any size."""

    def __init__(self, rate: int):
        self.rate = rate
        self.frame = max(1, int(round(FLOOR_FRAME_SECONDS * rate)))
        self.rest = np.zeros(0, np.float32)
        self.parts: list[np.ndarray] = []

    def add(self, mono: np.ndarray) -> None:
        data = np.concatenate([self.rest, mono.astype(np.float32)])
        levels = frame_levels(data, self.rate)
        self.parts.append(levels)
        self.rest = data[len(levels) * self.frame :]

    def figures(self) -> dict[str, float | None]:
        return floor_figures(np.concatenate(self.parts) if self.parts else np.zeros(0))


@dataclass(frozen=True)
class Mos:
    signal: float
    background: float
    overall: float

    def as_dict(self) -> dict[str, float]:
        return {"signal": round(self.signal, 2), "background": round(self.background, 2),
                "overall": round(self.overall, 2)}  # fmt: skip


def _session():  # noqa: ANN202 - onnxruntime is imported here, not at module load
    """A fresh session per scoring, released after it: onnxruntime's memory arena would keep
    ~200 MB for the rest of the run (and under the speech model's peak); without the arena and
    the session dropped, the cleaning stage adds nothing to the episode's peak memory."""
    import onnxruntime

    model = files("speechmos") / "dnsmos_models" / "sig_bak_ovr.onnx"
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


# speechmos's (and Microsoft's DNSMOS script's) mapping from raw outputs to P.835 scores.
_SIG = np.poly1d([-0.08397278, 1.22083953, 0.0052439])
_BAK = np.poly1d([-0.13166888, 1.60915514, -0.39604546])
_OVR = np.poly1d([-0.06766283, 1.11546468, 0.04602535])


def dnsmos_windows(windows: list[np.ndarray]) -> Mos | None:
    """Mean DNSMOS over 16 kHz mono windows (each padded by repetition to 9.01 s, as DNSMOS does).

    Each window is scored at the level it has; DNSMOS was trained on speech around −26 dBFS, so
    callers compare before and after at the same level rather than read absolute scores.
    """
    return dnsmos_sets([windows])[0]


def dnsmos_sets(sets: list[list[np.ndarray]]) -> list[Mos | None]:
    """``dnsmos_windows`` of each set of windows, in one model session (the judge's candidates)."""
    try:
        session = _session()
        return [_score(session, windows) for windows in sets]
    finally:
        _return_memory()


def _return_memory() -> None:
    """Hand the freed activations back to the OS (glibc keeps them otherwise), so the speech
    model that loads next does not stack its peak on top of DNSMOS's."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _score(session, windows: list[np.ndarray]) -> Mos | None:  # noqa: ANN001
    scores = []
    for window in windows:
        if window.size == 0 or not np.any(window):
            continue
        while window.size < DNSMOS_WINDOW:
            window = np.concatenate([window, window])
        clip = np.clip(window[:DNSMOS_WINDOW], -1.0, 1.0).astype(np.float32)[None, :]
        sig, bak, ovr = session.run(None, {"input_1": clip})[0][0]
        scores.append((_SIG(sig), _BAK(bak), _OVR(ovr)))
    if not scores:
        return None
    mean = np.mean(scores, axis=0)
    return Mos(float(mean[0]), float(mean[1]), float(mean[2]))


def dnsmos(mono: np.ndarray, rate: int) -> Mos | None:
    """DNSMOS of a whole mono clip: consecutive 9.01 s windows (the last one shorter)."""
    audio16 = to_16k(mono, rate)
    starts = range(0, max(1, len(audio16) - DNSMOS_RATE), DNSMOS_WINDOW)
    return dnsmos_windows([audio16[start : start + DNSMOS_WINDOW] for start in starts])


def to_16k(mono: np.ndarray, rate: int) -> np.ndarray:
    if rate == DNSMOS_RATE:
        return mono.astype(np.float32)
    divisor = np.gcd(rate, DNSMOS_RATE)
    return resample_poly(mono, DNSMOS_RATE // divisor, rate // divisor).astype(np.float32)


def sample_spans(frames: int, rate: int, windows: int = SAMPLE_WINDOWS) -> list[tuple[int, int]]:
    """The scored windows, ``(start, stop)`` frames. A programme that ``windows`` windows cover
    is scored whole, window after window as ``dnsmos`` scores a clip (the last one shorter,
    none under a second): its sample is all of it, for the same cost. A longer one: ``windows``
    windows spread evenly, not overlapping. On the 30 s AMI dev clip trn08 the spread windows
    (0, 10.5 and 21 s) preferred the 40 dB limit by 0.03 where the whole clip preferred 30 dB
    by 0.02 (docs/cleaning.md)."""
    length = int(DNSMOS_SECONDS * rate)
    if frames <= windows * length:
        return [(start, min(frames, start + length))
                for start in range(0, max(1, frames - rate), length)]  # fmt: skip
    count = min(windows, frames // length)
    starts = [int(round(i * (frames - length) / max(1, count - 1))) for i in range(count)]
    return [(start, start + length) for start in starts]


def sampled_dnsmos(read: Callable[[int, int], np.ndarray], frames: int, rate: int) -> Mos | None:
    """DNSMOS over ``sample_spans`` windows read with ``read(start, stop)`` (mono)."""
    return dnsmos_windows([to_16k(read(lo, hi), rate) for lo, hi in sample_spans(frames, rate)])


def keeps_denoised(before: Mos | None, after: Mos | None) -> bool:
    """Whether noise reduction's output is kept: DNSMOS overall (at the same level) must not
    fall. On an already clean recording a denoiser has no noise to take and takes a little of
    the voice instead (DNSMOS fell on 5 of the 12 clean files with every setting tried); the
    listener model is the judge, so such a programme goes out as it came. No score (silence,
    nothing to judge): the denoised output is kept."""
    if before is None or after is None:
        return True
    return after.overall >= before.overall
