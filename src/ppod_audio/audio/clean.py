"""Cleaning before levelling: DC offset, low rumble, and dead air at either end.

Rumble (traffic, handling, air conditioning) carries energy nobody hears but that BS.1770 and the
limiter do see, so it is removed first; otherwise it steals headroom from the voices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfilt

from .activity import speech_regions
from .decode import Audio


@dataclass(frozen=True)
class CleanResult:
    audio: Audio
    trimmed_start: float
    trimmed_end: float


def remove_dc(samples: np.ndarray) -> np.ndarray:
    return samples - samples.mean(axis=1, keepdims=True)


def highpass(samples: np.ndarray, rate: int, cutoff_hz: float) -> np.ndarray:
    """4th-order Butterworth high-pass: 24 dB/octave below the voice's fundamental."""
    if cutoff_hz <= 0:
        return samples
    sos = butter(4, cutoff_hz, btype="highpass", fs=rate, output="sos")
    return sosfilt(sos, samples, axis=1).astype(np.float32)


def trim_bounds(mono: np.ndarray, rate: int, keep_seconds: float) -> tuple[int, int]:
    """Sample range from ``keep_seconds`` before the first phrase to as long after the last."""
    regions = speech_regions(mono, rate)
    if not regions:
        return 0, len(mono)
    start = max(0, int((regions[0][0] - keep_seconds) * rate))
    end = min(len(mono), int((regions[-1][1] + keep_seconds) * rate))
    return start, end


def clean(
    audio: Audio,
    *,
    highpass_hz: float = 80.0,
    trim_silence: bool = True,
    keep_silence_seconds: float = 0.5,
) -> CleanResult:
    samples = highpass(remove_dc(audio.samples.astype(np.float32)), audio.rate, highpass_hz)
    start, end = 0, samples.shape[1]
    if trim_silence:
        mono = samples.mean(axis=0)
        start, end = trim_bounds(mono, audio.rate, keep_silence_seconds)
        fade = min(int(0.01 * audio.rate), (end - start) // 2)
        samples = samples[:, start:end].copy()
        if fade:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            samples[:, :fade] *= ramp
            samples[:, -fade:] *= ramp[::-1]
    return CleanResult(
        Audio(samples.astype(np.float32), audio.rate),
        trimmed_start=start / audio.rate,
        trimmed_end=(audio.samples.shape[1] - end) / audio.rate,
    )
