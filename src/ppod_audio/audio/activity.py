"""Where the talking is: an energy gate that adapts to the room's noise floor.

Trimming needs phrase boundaries on full-rate audio before any model has run, and needs them in
milliseconds, so this is a plain frame-energy gate rather than a neural VAD (the speech stages use
Silero; the leveller gates its own 50 ms hops in loudness.py). The threshold sits a fixed
distance above the measured noise floor, which is what makes it work on a quiet far-field
recording and a hot studio one alike.
"""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.02


def frame_levels_db(
    mono: np.ndarray, rate: int, frame_seconds: float = FRAME_SECONDS
) -> np.ndarray:
    """RMS level of each frame in dBFS."""
    frame = max(1, int(rate * frame_seconds))
    count = len(mono) // frame
    if count == 0:
        return np.zeros(0)
    frames = mono[: count * frame].reshape(count, frame).astype(np.float64)
    power = np.mean(frames * frames, axis=1)
    return 10 * np.log10(power + 1e-12)


def speech_threshold_db(levels: np.ndarray, margin_db: float = 12.0) -> float:
    """A gate level between the noise floor (10th percentile) and the loud speech (95th)."""
    floor = float(np.percentile(levels, 10))
    loud = float(np.percentile(levels, 95))
    return max(floor + margin_db, loud - 35.0) if loud - floor > margin_db else loud + 1.0


def regions_from_levels(
    levels: np.ndarray,
    duration: float,
    *,
    min_pause: float = 0.3,
    min_length: float = 0.2,
    pad: float = 0.08,
) -> list[tuple[float, float]]:
    """Phrases as (start, end) seconds: frames above the gate, short pauses bridged.

    Works from frame levels already measured because a streamed recording keeps only these.
    """
    if levels.size == 0:
        return []
    active = levels > speech_threshold_db(levels)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    regions: list[tuple[float, float]] = []
    for start_frame, end_frame in zip(edges[::2], edges[1::2], strict=True):
        start = start_frame * FRAME_SECONDS
        end = end_frame * FRAME_SECONDS
        if regions and start - regions[-1][1] < min_pause:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return [
        (max(0.0, start - pad), min(duration, end + pad))
        for start, end in regions
        if end - start >= min_length
    ]
