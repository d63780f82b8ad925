"""Loudness: BS.1770 measurement, levelling between talkers, normalisation and a true-peak limiter.

Loudness is measured by ``meter.py`` (pyloudnorm's K-weighting, accumulated per 50 ms hop so
that an episode never has to sit in memory; held to pyloudnorm and ffmpeg's ``ebur128`` in the
tests), the same meter for the episode and its content warning. True peak is measured the way
BS.1770 annex 2 asks: 4x oversampled.
The limiter and the leveller are small numpy/scipy functions because no maintained Python
library offers a look-ahead true-peak limiter or a speech leveller that works on arrays.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin

from ..defaults import MAX_BOOST_DB, MAX_CUT_DB
from .meter import HOP_SECONDS, HopEnergy, hop_samples, integrated_from, power_to_lufs

OVERSAMPLE = 4
# The limiter's gain moves in steps of this many samples. Blocks processed apart match the whole
# programme only when they start on this grid (``master._Chain`` and ``DiskAudio.blocks``).
LIMITER_STEP = 16


@dataclass(frozen=True)
class LoudnessStats:
    """The loudness figures the report records, for the input, a clip or the published file."""

    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float

    def as_dict(self) -> dict[str, float | None]:
        """Silence's -inf and a NaN range become None: report.json has no valid -Infinity."""
        return {k: (round(v, 2) if np.isfinite(v) else None) for k, v in asdict(self).items()}


def peak_db(value: float) -> float:
    return float(20 * np.log10(value)) if value > 0 else -np.inf


def integrated_lufs(samples: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness of ``(channels, samples)`` in memory; -inf under 0.4 s."""
    meter = HopEnergy(rate, samples.shape[0])
    meter.add(samples)
    return integrated_from(meter.energies(), hop_samples(rate))


@lru_cache(maxsize=1)
def _interpolator_phases() -> tuple[np.ndarray, ...]:
    """The 4x interpolation filter split into its four 12-tap phases.

    BS.1770-4 annex 2 describes a 48-tap polyphase interpolator; convolving each short phase
    separately costs a few milliseconds per minute of audio, where a generic resampler costs
    seconds, and the limiter needs the envelope several times per episode.
    """
    taps = firwin(OVERSAMPLE * 12, 1.0 / OVERSAMPLE, window=("kaiser", 8.0)) * OVERSAMPLE
    return tuple(taps[phase::OVERSAMPLE].astype(np.float32) for phase in range(OVERSAMPLE))


def peak_envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """Per-sample true peak: the max over channels and the 4 interpolated phases of |x|."""
    del rate  # the oversampling ratio, not the rate, sets the filter
    envelope = np.zeros(samples.shape[1], dtype=np.float32)
    for channel in samples.astype(np.float32, copy=False):
        np.maximum(envelope, np.abs(channel), out=envelope)
        for phase in _interpolator_phases():
            np.maximum(envelope, np.abs(np.convolve(channel, phase, mode="same")), out=envelope)
    return envelope


def true_peak_dbtp(samples: np.ndarray, rate: int) -> float:
    if samples.size == 0:
        return -np.inf
    return peak_db(float(peak_envelope(samples, rate).max()))


# --- levelling between talkers ------------------------------------------------------------


@dataclass(frozen=True)
class LevellerOptions:
    """A slow speech AGC: each stretch of talk is brought to the episode's median speech level.

    ``window_seconds`` is the time constant: long enough not to pump inside a sentence, short
    enough to follow a change of talker. Gaps keep the smaller gain of their neighbours, so room
    noise between a quiet guest's phrases is never boosted more than the guest.
    """

    frame_seconds: float = 0.4
    window_seconds: float = 3.0
    smooth_seconds: float = 0.3
    gate_below_loudest_db: float = 40.0
    gate_above_floor_db: float = 8.0
    max_boost_db: float = MAX_BOOST_DB
    max_cut_db: float = MAX_CUT_DB


def leveller_gain_from(energies: np.ndarray, hop: int, options: LevellerOptions) -> np.ndarray:
    """Gain in dB for each hop, from the K-weighted hop energies (streamed or not)."""
    frame_hops = max(1, int(round(options.frame_seconds / HOP_SECONDS)))
    hops = len(energies)
    if hops < frame_hops + 2:
        return np.zeros(max(hops, 1))
    hop_power = energies.sum(axis=1) / hop
    frame_power = uniform_filter1d(hop_power, frame_hops, mode="nearest")
    level = power_to_lufs(frame_power + 1e-12)

    # Gate on short hops, where pauses show the room's true floor even in quick dialogue.
    hop_level = power_to_lufs(hop_power + 1e-12)
    loudest = np.percentile(level, 95)
    floor = np.percentile(hop_level, 5)
    gate = max(loudest - options.gate_below_loudest_db, floor + options.gate_above_floor_db)
    voiced = uniform_filter1d((hop_level > gate).astype(np.float32), frame_hops, mode="nearest")
    speech = voiced >= 0.5
    if speech.sum() < 4:
        return np.zeros(hops)

    half = max(1, int(round(options.window_seconds / HOP_SECONDS / 2)))
    masked = np.where(speech, level, np.nan)
    padded = np.pad(masked, half, constant_values=np.nan)
    windows = sliding_window_view(padded, 2 * half + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows (no speech) are expected
        local = np.nanmedian(windows, axis=1)
    reference = float(np.median(level[speech]))
    gain = np.clip(reference - local, -options.max_cut_db, options.max_boost_db)
    gain = _fill_gaps_with_smaller_neighbour(np.where(speech, gain, np.nan))
    smooth = max(1, int(round(options.smooth_seconds / HOP_SECONDS)))
    # Erode first (min filter) so a boost never starts before the quiet phrase does.
    gain = minimum_filter1d(gain, smooth, mode="nearest")
    return uniform_filter1d(gain, smooth, mode="nearest")


def _fill_gaps_with_smaller_neighbour(gain: np.ndarray) -> np.ndarray:
    known = ~np.isnan(gain)
    if not known.any():
        return np.zeros_like(gain)
    index = np.arange(len(gain))
    last = np.maximum.accumulate(np.where(known, index, -1))
    following = np.minimum.accumulate(np.where(known, index, len(gain))[::-1])[::-1]
    left = np.where(last >= 0, gain[np.clip(last, 0, None)], np.nan)
    right = np.where(following < len(gain), gain[np.clip(following, None, len(gain) - 1)], np.nan)
    return np.where(known, gain, np.fmin(left, right))


def gain_at(gain_db: np.ndarray, rate: int, start: int, stop: int) -> np.ndarray:
    """Linear gain for samples ``start:stop`` from a per-hop dB curve (hop centres interpolated)."""
    hop = hop_samples(rate)
    centres = (np.arange(len(gain_db)) + 0.5) * hop
    return (10 ** (np.interp(np.arange(start, stop), centres, gain_db) / 20)).astype(np.float32)


# --- normalisation and limiting -------------------------------------------------------------


def limit_true_peak(
    samples: np.ndarray,
    rate: int,
    ceiling_dbtp: float,
    *,
    attack_seconds: float = 0.005,
    release_seconds: float = 0.08,
    block: int = LIMITER_STEP,
) -> np.ndarray:
    """Look-ahead limiter on the 4x oversampled peak; a no-op when nothing crosses the ceiling.

    The gain each peak needs is held from ``attack`` before it to ``release`` after it (a min
    filter), then smoothed twice over the attack: so the gain is already down when the peak
    arrives, and every gain within an attack of the peak is at most what the peak needs. The
    envelope is computed per sample but the gain curve on 16-sample blocks (0.4 ms), which keeps
    an hour's filtering to a fraction of a second.
    """
    ceiling = 10 ** (ceiling_dbtp / 20)
    envelope = peak_envelope(samples, rate)
    need = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-9))
    if need.min() >= 1.0:
        return samples
    count = len(need)
    padded = np.pad(need, (0, (-count) % block), constant_values=1.0)
    blocks = padded.reshape(-1, block).min(axis=1)
    gain = limiter_gain(blocks, rate, block, attack_seconds, release_seconds)
    centres = (np.arange(len(gain)) + 0.5) * block
    per_sample = np.interp(np.arange(count), centres, gain).astype(np.float32)
    return (samples * per_sample).astype(np.float32)


def limiter_gain(
    need: np.ndarray,
    rate: int,
    block: int,
    attack_seconds: float = 0.005,
    release_seconds: float = 0.08,
) -> np.ndarray:
    """The limiter's gain per ``block`` samples from the gain each block's peak needs.

    Shared by :func:`limit_true_peak` (an array in memory) and mastering, which plans the gain
    of a whole episode from the peaks its one analysis pass kept (``master.py``).
    """
    attack = max(1, round(attack_seconds * rate / block))
    release = max(1, round(release_seconds * rate / block))
    # Window [i - attack - release, i + attack]: origin > 0 moves the filter towards the past.
    held = minimum_filter1d(need, size=2 * attack + release + 1, origin=release // 2)
    return uniform_filter1d(uniform_filter1d(held, attack + 1), attack + 1)


def normalize(
    samples: np.ndarray,
    rate: int,
    target_lufs: float,
    ceiling_dbtp: float,
    *,
    passes: int = 6,
) -> np.ndarray:
    """Gain to ``target_lufs`` with true peak under ``ceiling_dbtp``.

    Limiting lowers the loudness a little, so gain and limiter alternate until the gain left to
    apply is negligible (usually two passes).
    """
    out = samples.astype(np.float32)
    for _ in range(passes):
        current = integrated_lufs(out, rate)
        if not np.isfinite(current):
            return out
        gain_db = target_lufs - current
        if abs(gain_db) < 0.1:
            break
        out = (out * np.float32(10 ** (gain_db / 20))).astype(np.float32)
        out = limit_true_peak(out, rate, ceiling_dbtp)
    return out
