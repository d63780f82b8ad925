"""Mastering, streamed: level the talkers, meet the loudness target under the true-peak ceiling,
put the content warning in front, encode, and check the MP3.

The cleaned programme is read from disk twice, whatever its length: once to analyse it and once
to encode it. The analysis keeps the K-weighted energy of every 50 ms hop (the input loudness
and the leveller) and, on a grid of ``STEP`` samples, each step's true peak and K-weighted
energy (about 20 MB an hour). The limiter's gain depends only on the peaks and the loudness only
on the energies, so the gain that lands on the target *after* limiting is found on those small
arrays, without walking the audio again (it took three more full passes before). The encode
applies that plan sample by sample. ffmpeg's ebur128 measures the published MP3 as it is
encoded (a second ffmpeg reading the encoder's output, :class:`.encode.Mp3Encoder`), an
independent meter; only when the encoder moved loudness or peak beyond the calibration is the
episode encoded again (rare).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d

from .. import progress
from .assemble import prepend_intro
from .decode import Audio
from .disk import DiskAudio
from .encode import Mp3Encoder, encoder_gain_db, measure_file
from .loudness import (
    LevellerOptions,
    LoudnessStats,
    gain_at,
    integrated_lufs,
    leveller_gain_from,
    limiter_gain,
    normalize,
    peak_db,
    peak_envelope,
)
from .meter import HopEnergy, hop_samples, integrated_from, loudness_range_from

# The plan's grid: the limiter's gain moves in steps of this many samples (1.5 ms at 44.1 kHz,
# well inside its 5 ms attack); peaks and energies are kept per step.
STEP = 64
NEIGHBOURS = 2
# Encoding and resampling move the true peak; the limiter aims this far below the ceiling.
TRUE_PEAK_MARGIN_DB = 0.5
DUAL_MONO_DB = 10 * np.log10(2)
# The plan's predicted loudness is within this of the target before encoding.
PLAN_TOLERANCE_LU = 0.02


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
    # The same stages' CPU seconds (this process and its ffmpeg children), apart from waiting.
    cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class Analysis:
    """What the one pass over the programme keeps (see the module's docstring)."""

    energies: np.ndarray  # (hops, channels) K-weighted sums of squares per 50 ms hop
    stats: dict[str, float | None]  # the input's loudness figures for the report
    peaks: np.ndarray  # true peak of every STEP samples (all channels)
    step_energy: np.ndarray  # K-weighted sum of squares of every STEP samples (all channels)


def analyse(audio: DiskAudio) -> tuple[np.ndarray, dict[str, float | None]]:
    """The hop energies and the input's loudness figures (for callers that need only those)."""
    analysis = measure(audio)
    return analysis.energies, analysis.stats


def measure(audio: DiskAudio) -> Analysis:
    """Hop energies (for the leveller and the loudness), per-step peaks and energies (for the
    gain plan) and the input's loudness figures, in one pass."""
    energy = HopEnergy(audio.rate, audio.channels)
    peak = sample_peak = 0.0
    peaks: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    frames = max(audio.frames, 1)
    for start, stop in audio.blocks(align=STEP):
        lo = max(0, start - STEP)
        data = audio.read(lo, min(audio.frames, stop + STEP))
        count = stop - start
        block = data[:, start - lo : start - lo + count]
        weighted = energy.weight(block)
        energy.add_weighted(weighted)
        envelope = peak_envelope(data, audio.rate)[start - lo : start - lo + count]
        pad = (-count) % STEP  # only the last block is short
        squares = np.pad((weighted * weighted).sum(axis=0), (0, pad))
        steps.append(squares.reshape(-1, STEP).sum(axis=1).astype(np.float32))
        peaks.append(np.pad(envelope, (0, pad)).reshape(-1, STEP).max(axis=1))
        peak = max(peak, float(envelope.max(initial=0.0)))
        sample_peak = max(sample_peak, float(np.abs(block).max(initial=0.0)))
        progress.advance(stop / frames)
    energies = energy.energies()
    hop = hop_samples(audio.rate)
    stats = LoudnessStats(integrated_from(energies, hop), loudness_range_from(energies, hop),
                          peak_db(peak), peak_db(sample_peak))  # fmt: skip
    empty = np.zeros(0, np.float32)
    return Analysis(energies, stats.as_dict(), np.concatenate(peaks) if peaks else empty,
                    np.concatenate(steps) if steps else empty)  # fmt: skip


class _Plan:
    """The whole episode's gain, worked out on the analysis's per-step arrays.

    ``limiter`` is what :func:`limit_true_peak` would do to the levelled, gained programme
    (the same hold and smoothing, from each step's peak times its gain); ``loudness`` is the
    integrated loudness of the result, from each step's energy times its squared gain.
    """

    def __init__(self, analysis: Analysis, rate: int, level_db: np.ndarray | None):
        self.rate = rate
        self.hop = hop_samples(rate)
        self.hops = len(analysis.energies)
        # Each step answers for the peaks of its neighbours, two either side: on a grid this
        # coarse the limiter's attack is three steps, and its smoothing and the interpolation
        # between step centres would otherwise let the gain still be falling at a peak.
        self.peaks = maximum_filter1d(analysis.peaks, 2 * NEIGHBOURS + 1, mode="nearest")
        self.energy = analysis.step_energy
        self.level_db = level_db
        centres = (np.arange(len(self.peaks)) + 0.5) * STEP
        self.centres = centres
        if level_db is None:
            self.level = np.ones(len(self.peaks), np.float32)
        else:
            hop_centres = (np.arange(len(level_db)) + 0.5) * self.hop
            self.level = (10 ** (np.interp(centres, hop_centres, level_db) / 20)).astype(np.float32)
        # Which hop each step's energy counts in (by its centre; steps past the last whole hop
        # count nowhere, as in the hop meter).
        self.hop_of_step = (centres // self.hop).astype(np.int64)
        self.counted = self.hop_of_step < self.hops

    def limiter(self, gain: float, ceiling_dbtp: float) -> np.ndarray:
        ceiling = 10 ** (ceiling_dbtp / 20)
        need = np.minimum(1.0, ceiling / np.maximum(self.peaks * self.level * gain, 1e-9))
        if need.size == 0 or need.min() >= 1.0:
            return np.ones(len(self.peaks), np.float32)
        return limiter_gain(need, self.rate, STEP).astype(np.float32)

    def loudness(self, gain: float, limiter: np.ndarray) -> float:
        if not self.hops:
            return -np.inf
        weights = self.energy[self.counted] * (gain * self.level * limiter)[self.counted] ** 2
        hops = np.bincount(self.hop_of_step[self.counted], weights=weights, minlength=self.hops)
        return integrated_from(hops[: self.hops, None], self.hop)


class _Chain:
    """Leveller gain x programme gain x the planned limiter gain, on any span of the episode."""

    def __init__(self, audio: DiskAudio, plan: _Plan, gain_db: float, ceiling: float):
        self.audio = audio
        self.plan = plan
        self.gain = np.float32(10 ** (gain_db / 20))
        self.ceiling = ceiling
        self.replan()

    def replan(self) -> None:
        """The limiter's gain for the current gain and ceiling (after a correction too)."""
        self.limiter = self.plan.limiter(float(self.gain), self.ceiling)

    def block(self, start: int, stop: int) -> np.ndarray:
        data = self.audio.read(start, stop)
        if not data.shape[1]:
            return data
        first = max(0, start // STEP - 1)
        last = min(len(self.limiter), stop // STEP + 2)
        positions = np.arange(start, start + data.shape[1])
        gain = np.interp(positions, self.plan.centres[first:last], self.limiter[first:last])
        gain = gain.astype(np.float32) * self.gain
        if self.plan.level_db is not None:
            gain *= gain_at(self.plan.level_db, self.audio.rate, start, start + data.shape[1])
        return data * gain

    def blocks(self, skip: int = 0) -> Iterator[np.ndarray]:
        """The programme from frame ``skip`` on (the plan is global: any cut gives the same)."""
        for start, stop in self.audio.blocks():
            if stop > skip:
                yield self.block(max(start, skip), stop)


def plan_gain(plan: _Plan, target: float, ceiling: float, gain_db: float) -> tuple[float, int]:
    """The gain (dB) whose limited result measures ``target``, and how many tries it took.

    The limiter takes a little loudness away; each try corrects by what was missed."""
    passes = 0
    while passes < 8:
        passes += 1
        gain = float(10 ** (gain_db / 20))
        error = target - plan.loudness(gain, plan.limiter(gain, ceiling))
        if not np.isfinite(error) or abs(error) < PLAN_TOLERANCE_LU:
            break
        gain_db += error
    return gain_db, passes


def master_to_mp3(
    episode: DiskAudio,
    intro: Audio | None,
    settings: MasterSettings,
    destination: Path,
) -> Mastered:
    """Write the published MP3 to ``destination``; return where the episode starts in it.

    "master" and "export" are reported as stages of their own (:mod:`ppod_audio.progress`) and
    timed in ``Mastered.seconds``.
    """
    started, cpu_started = time.perf_counter(), progress.cpu_seconds()
    rate = episode.rate
    dual = DUAL_MONO_DB if episode.channels == 1 and settings.out_channels == 2 else 0.0
    # What the working copy must measure so the published file measures the target.
    compensation = -encoder_gain_db(settings.bitrate_kbps, settings.out_rate, settings.out_channels)
    target = settings.target_lufs - dual + compensation
    ceiling = settings.true_peak_dbtp - TRUE_PEAK_MARGIN_DB

    with progress.stage("master"):
        analysis = measure(episode)
        energies = analysis.energies
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
        plan = _Plan(analysis, rate, level_db)
        gain_db, gain_passes = plan_gain(plan, target, ceiling, gain_db)
        head = None if intro is None else Audio(normalize(intro.samples, rate, target, ceiling),
                                                rate)  # fmt: skip
        chain = _Chain(episode, plan, gain_db, ceiling)
    mastered, cpu_mastered = time.perf_counter(), progress.cpu_seconds()
    encodes = 0
    with progress.stage("export"):
        while True:
            encodes += 1
            offset, measured = _encode(chain, head, settings, destination)
            published = measured or measure_file(destination)
            over = published.true_peak_dbtp - settings.true_peak_dbtp
            miss = settings.target_lufs - published.integrated_lufs
            if (over <= 0 and abs(miss) <= 0.3) or encodes == 3:
                break
            # Rare: the encoder moved peak or loudness more than calibrated; correct and redo.
            chain.ceiling -= max(0.0, over + 0.1)
            chain.gain *= np.float32(10 ** (miss / 20))
            chain.replan()
            if head is not None:
                level = integrated_lufs(head.samples, rate) + miss
                head = Audio(normalize(head.samples, rate, level, chain.ceiling), rate)
    duration = offset + episode.frames / rate
    seconds = {"master": mastered - started, "export": time.perf_counter() - mastered}
    cpu = {"master": cpu_mastered - cpu_started, "export": progress.cpu_seconds() - cpu_mastered}
    return Mastered(
        offset, duration, analysis.stats, published.as_dict(), gain_passes, encodes, seconds, cpu
    )


def _encode(
    chain: _Chain, head: Audio | None, settings: MasterSettings, destination: Path
) -> tuple[float, LoudnessStats | None]:
    """Stream the intro, the gap and the processed episode into the encoder; return where the
    episode starts and the MP3's figures as measured while encoding (None: not measured)."""
    rate = chain.audio.rate
    with Mp3Encoder(destination, rate=rate, out_channels=settings.out_channels,
                    bitrate_kbps=settings.bitrate_kbps, out_rate=settings.out_rate,
                    measure=True) as encoder:  # fmt: skip
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
        frames, done = max(chain.audio.frames, 1), fade
        for block in chain.blocks(skip=fade):
            encoder.write(block)
            done += block.shape[1]
            progress.advance(0.95 * done / frames)  # the meter's last blocks are the rest
    return offset, encoder.measured
