"""Mastering, streamed: level the talkers, meet the loudness target under the true-peak ceiling,
put the content warning in front, encode, and check the MP3.

The cleaned programme is walked block by block from disk three ways: once to measure it (the
input loudness and the leveller's hop levels), then to find the gain that lands on the target
after limiting, then to encode. Each block is processed with enough context either side for
the limiter's look-ahead and release, so the result is the same as processing the whole
programme at once, in memory that does not grow with its length.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .assemble import prepend_intro
from .decode import Audio
from .disk import DiskAudio
from .encode import Mp3Encoder, encoder_gain_db, measure_file
from .loudness import (
    LIMITER_STEP,
    LevellerOptions,
    LoudnessStats,
    gain_at,
    integrated_lufs,
    leveller_gain_from,
    limit_true_peak,
    normalize,
    peak_db,
    peak_envelope,
)
from .meter import HopEnergy, hop_samples, integrated_from, loudness_range_from

# The limiter looks 5 ms ahead and releases over 80 ms; blocks carry this much context.
CONTEXT = LIMITER_STEP * 1024  # on the limiter's grid, like the blocks
# Encoding and resampling move the true peak; the limiter aims this far below the ceiling.
TRUE_PEAK_MARGIN_DB = 0.5
DUAL_MONO_DB = 10 * np.log10(2)


@dataclass(frozen=True)
class MasterSettings:
    target_lufs: float
    true_peak_dbtp: float
    level_speakers: bool
    leveller: LevellerOptions
    out_channels: int
    bitrate_kbps: int
    out_rate: int
    gap_seconds: float
    crossfade_seconds: float


@dataclass
class Mastered:
    offset: float
    duration: float
    input: dict[str, float | None]
    output: dict[str, float | None]
    gain_passes: int
    encodes: int
    seconds: dict[str, float]
    """Time spent levelling and finding the gain ("master") and encoding and checking ("export")."""


class _Chain:
    """Leveller gain x programme gain, then the limiter, on one block with its context."""

    def __init__(self, audio: DiskAudio, level_db: np.ndarray | None, gain_db: float, ceiling):
        self.audio = audio
        self.level_db = level_db
        self.gain = np.float32(10 ** (gain_db / 20))
        self.ceiling = ceiling

    def block(self, start: int, stop: int) -> np.ndarray:
        lo = max(0, start - CONTEXT)
        hi = min(self.audio.frames, stop + CONTEXT)
        data = self.audio.read(lo, hi) * self.gain
        if self.level_db is not None:
            data *= gain_at(self.level_db, self.audio.rate, lo, hi)
        limited = limit_true_peak(data, self.audio.rate, self.ceiling)
        return limited[:, start - lo : stop - lo]

    def blocks(self, skip: int = 0) -> Iterator[np.ndarray]:
        """The programme from frame ``skip`` on.

        Blocks are always cut on the aligned grid and trimmed afterwards: the limiter's gain
        works on 16-sample steps counted from each block's context, so a block starting at
        ``skip`` would be limited differently from what the gain loop measured.
        """
        for start, stop in self.audio.blocks(align=LIMITER_STEP):
            if stop > skip:
                yield self.block(start, stop)[:, max(0, skip - start) :]


def analyse(audio: DiskAudio) -> tuple[np.ndarray, dict]:
    """Hop energies (for the leveller and the loudness) and the input's loudness figures."""
    energy = HopEnergy(audio.rate, audio.channels)
    peak = sample_peak = 0.0
    for start, stop in audio.blocks():
        lo = max(0, start - 64)
        data = audio.read(lo, min(audio.frames, stop + 64))
        block = data[:, start - lo : start - lo + stop - start]
        energy.add(block)
        peak = max(peak, float(peak_envelope(data, audio.rate).max(initial=0.0)))
        sample_peak = max(sample_peak, float(np.abs(block).max(initial=0.0)))
    energies = energy.energies()
    hop = hop_samples(audio.rate)
    stats = LoudnessStats(integrated_from(energies, hop), loudness_range_from(energies, hop),
                          peak_db(peak), peak_db(sample_peak))  # fmt: skip
    return energies, stats.as_dict()


def _loudness_of(chain: _Chain) -> float:
    meter = HopEnergy(chain.audio.rate, chain.audio.channels)
    for block in chain.blocks():
        meter.add(block)
    return integrated_from(meter.energies(), hop_samples(chain.audio.rate))


def master_to_mp3(
    episode: DiskAudio, intro: Audio | None, settings: MasterSettings, destination: Path
) -> Mastered:
    """Write the published MP3 to ``destination``; return where the episode starts in it."""
    started = time.perf_counter()
    rate = episode.rate
    dual = DUAL_MONO_DB if episode.channels == 1 and settings.out_channels == 2 else 0.0
    # What the working copy must measure so the published file measures the target.
    compensation = -encoder_gain_db(settings.bitrate_kbps, settings.out_rate, settings.out_channels)
    target = settings.target_lufs - dual + compensation
    ceiling = settings.true_peak_dbtp - TRUE_PEAK_MARGIN_DB

    energies, input_stats = analyse(episode)
    hop = hop_samples(rate)
    level_db = None
    levelled = energies
    if settings.level_speakers:
        level_db = leveller_gain_from(energies, hop, settings.leveller)
        # One gain per hop; with no complete hop the single zero broadcasts over none.
        levelled = energies * (10 ** (level_db / 10))[:, None]
    gain_db = target - integrated_from(levelled, hop)
    if not np.isfinite(gain_db):
        gain_db = 0.0  # nothing above the absolute gate: leave the level alone

    # The limiter takes a little loudness away; find the gain that lands on the target after it.
    gain_passes = 0
    while gain_passes < 4:
        gain_passes += 1
        error = target - _loudness_of(_Chain(episode, level_db, gain_db, ceiling))
        if not np.isfinite(error) or abs(error) < 0.1:
            break
        gain_db += error

    head = None if intro is None else Audio(normalize(intro.samples, rate, target, ceiling), rate)
    chain = _Chain(episode, level_db, gain_db, ceiling)
    mastered = time.perf_counter()
    encodes = 0
    while True:
        encodes += 1
        offset = _encode(chain, head, settings, destination)
        published = measure_file(destination)
        over = published.true_peak_dbtp - settings.true_peak_dbtp
        miss = settings.target_lufs - published.integrated_lufs
        if (over <= 0 and abs(miss) <= 0.3) or encodes == 3:
            break
        # Rare: the encoder moved peak or loudness more than calibrated; correct and redo.
        chain.ceiling -= max(0.0, over + 0.1)
        chain.gain *= np.float32(10 ** (miss / 20))
        if head is not None:
            level = integrated_lufs(head.samples, rate) + miss
            head = Audio(normalize(head.samples, rate, level, chain.ceiling), rate)
    duration = offset + episode.frames / rate
    seconds = {"master": mastered - started, "export": time.perf_counter() - mastered}
    return Mastered(
        offset, duration, input_stats, published.as_dict(), gain_passes, encodes, seconds
    )


def _encode(
    chain: _Chain, head: Audio | None, settings: MasterSettings, destination: Path
) -> float:
    """Stream the intro, the gap and the processed episode into the encoder."""
    rate = chain.audio.rate
    with Mp3Encoder(destination, rate=rate, out_channels=settings.out_channels,
                    bitrate_kbps=settings.bitrate_kbps,
                    out_rate=settings.out_rate) as encoder:  # fmt: skip
        offset = 0.0
        fade = 0
        if head is not None:
            # pydub joins the warning to the episode's opening (gap or crossfade); the rest of
            # the episode follows as it streams.
            fade = int(settings.crossfade_seconds * rate)
            fade = min(fade, chain.audio.frames)
            opening = chain.block(0, fade) if fade else np.zeros((head.channels, 0), np.float32)
            joined = prepend_intro(
                head,
                Audio(opening, rate),
                gap_seconds=settings.gap_seconds,
                crossfade_seconds=settings.crossfade_seconds,
            )
            encoder.write(joined.audio.samples)
            offset = joined.offset
        for block in chain.blocks(skip=fade):
            encoder.write(block)
    return offset
