"""Cleaning before levelling: DC offset, low rumble, and dead air at either end.

Rumble (traffic, handling, air conditioning) carries energy nobody hears but that BS.1770 and the
limiter do see, so it is removed first; otherwise it steals headroom from the voices. The
high-pass also removes any DC offset. These functions work on clips in memory (the content
warning, tests); ``prepare.py`` streams whole episodes through the same filter and trim rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter

from ..defaults import LOW_MID_CUT_DB, MAX_NOISE_REDUCTION_DB
from .activity import frame_levels_db, regions_from_levels
from .decode import Audio
from .filters import StreamingFilter

# Trimmed edges are faded over 10 ms so a cut into room tone does not click.
FADE_SECONDS = 0.01


@dataclass(frozen=True)
class CleanResult:
    audio: Audio
    trimmed_start: float
    trimmed_end: float


def cleaning_filter(rate: int, cutoff_hz: float) -> np.ndarray:
    """4th-order Butterworth high-pass (24 dB/octave below the voice's fundamental), as SOS.

    A high-pass removes DC as well; with the high-pass switched off a 5 Hz one still blocks DC.
    """
    return butter(4, cutoff_hz if cutoff_hz > 0 else 5.0, btype="highpass", fs=rate, output="sos")


class HighPass(StreamingFilter):
    """The cleaning high-pass, streamed (``enabled=False`` passes blocks through)."""

    def __init__(self, rate: int, cutoff_hz: float, enabled: bool = True):
        super().__init__(cleaning_filter(rate, cutoff_hz) if enabled else None)
        self.enabled = enabled


def trim_bounds(mono: np.ndarray, rate: int, keep_seconds: float) -> tuple[int, int]:
    """Sample range from ``keep_seconds`` before the first phrase to as long after the last."""
    return trim_bounds_from(frame_levels_db(mono, rate), len(mono), rate, keep_seconds)


def trim_bounds_from(
    levels: np.ndarray, frames: int, rate: int, keep_seconds: float
) -> tuple[int, int]:
    regions = regions_from_levels(levels, frames / rate)
    if not regions:
        return 0, frames
    start = max(0, int((regions[0][0] - keep_seconds) * rate))
    end = min(frames, int((regions[-1][1] + keep_seconds) * rate))
    return start, end


def edge_ramp(rate: int, frames: int) -> np.ndarray:
    """The fade-in for a trimmed edge (reversed for the fade-out); empty for a tiny clip."""
    fade = min(int(FADE_SECONDS * rate), frames // 2)
    return np.linspace(0.0, 1.0, fade, dtype=np.float32)


def _denoised_if_better(
    samples: np.ndarray,
    before: np.ndarray,
    rate: int,
    method: str,
    max_reduction_db: float,
    mono_before: np.ndarray,
    low_mid_cut_db: float = LOW_MID_CUT_DB,
    choose_strength: bool = True,
    dereverb: bool = True,
) -> np.ndarray:
    """``samples`` (hum notched) denoised at the strength the DNSMOS judge chooses, kept only
    where DNSMOS does not fall below that of ``before`` (the input to hum and noise reduction),
    as ``prepare.reduce_noise`` decides (the same sampled windows, scored at the same level)."""
    import math

    from .denoise import denoise, level_gain_db
    from .judge import candidates, choose
    from .quality import keeps_denoised, sampled_dnsmos
    from .tone import LowMidMeter

    wet = denoise(samples, rate, math.inf, mono_before, method)
    meter = LowMidMeter(rate)
    if low_mid_cut_db > 0:
        meter.add(mono_before)
    options = candidates(max_reduction_db, low_mid_cut_db, meter.excess_db(), choose_strength,
                         dereverb, meter.excess_after)  # fmt: skip
    scale = float(10 ** (level_gain_db(frame_levels_db(mono_before, rate)) / 20))
    best, after, _ = choose(options, lambda lo, hi: wet[:, lo:hi], lambda lo, hi: samples[:, lo:hi],
                            samples.shape[1], rate, scale)  # fmt: skip
    mono = np.float32(scale)
    kept_before = sampled_dnsmos(lambda lo, hi: before[:, lo:hi].mean(axis=0) * mono,
                                 before.shape[1], rate)  # fmt: skip
    if not keeps_denoised(kept_before, after):
        return samples
    return best.apply(wet, samples, rate)


def clean(
    audio: Audio,
    *,
    highpass_hz: float = 80.0,
    trim_silence: bool = True,
    keep_silence_seconds: float = 0.5,
    noise_reduction: str = "off",
    max_noise_reduction_db: float = MAX_NOISE_REDUCTION_DB,
    hum_removal: bool = False,
    low_mid_cut_db: float = LOW_MID_CUT_DB,
    choose_strength: bool = True,
    dereverb: bool = True,
) -> CleanResult:
    """The whole cleaning stage on a clip in memory: what ``prepare.py`` does streamed."""
    samples = highpassed = HighPass(audio.rate, highpass_hz)(audio.samples.astype(np.float32))
    start, end = 0, samples.shape[1]
    mono_before = samples.mean(axis=0)
    if hum_removal:
        from .hum import remove_hum

        samples, _ = remove_hum(samples, audio.rate, highpass_hz)
    if noise_reduction != "off":
        samples = _denoised_if_better(samples, highpassed, audio.rate, noise_reduction,
                                      max_noise_reduction_db, mono_before,
                                      low_mid_cut_db, choose_strength, dereverb)  # fmt: skip
    if trim_silence:
        # Decided on the levels before noise reduction, like the streamed path.
        start, end = trim_bounds(mono_before, audio.rate, keep_silence_seconds)
        samples = samples[:, start:end].copy()
        ramp = edge_ramp(audio.rate, end - start)
        if ramp.size:
            samples[:, : ramp.size] *= ramp
            samples[:, -ramp.size :] *= ramp[::-1]
    return CleanResult(
        Audio(samples.astype(np.float32), audio.rate),
        trimmed_start=start / audio.rate,
        trimmed_end=(audio.samples.shape[1] - end) / audio.rate,
    )
