"""Loudness: our BS.1770 figures against ffmpeg's, normalisation, limiting and the leveller."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ebur128, three_voices, voice, write_wav

from ppod_audio.audio.clean import clean
from ppod_audio.audio.decode import decode
from ppod_audio.audio.disk import DiskAudio, DiskAudioWriter
from ppod_audio.audio.loudness import (
    LevellerOptions,
    gain_at,
    integrated_lufs,
    leveller_gain_from,
    normalize,
    true_peak_dbtp,
)
from ppod_audio.audio.master import analyse
from ppod_audio.audio.meter import HopEnergy, hop_samples


def on_disk(path: Path, samples: np.ndarray, rate: int) -> DiskAudio:
    writer = DiskAudioWriter(path, samples.shape[0], rate)
    writer.append(samples)
    return writer.close()


def level_speakers(samples: np.ndarray, rate: int) -> np.ndarray:
    """The leveller as mastering applies it: hop energies -> gain curve -> per-sample gain."""
    meter = HopEnergy(rate, samples.shape[0])
    meter.add(samples)
    gain_db = leveller_gain_from(meter.energies(), hop_samples(rate), LevellerOptions())
    return samples * gain_at(gain_db, rate, 0, samples.shape[1])


CLIPS = {"one-voice": lambda: voice("jasmine", 7.0), "three-voices": three_voices}


@pytest.mark.parametrize("clip", CLIPS)
def test_bs1770_matches_ffmpeg_ebur128(tmp_path: Path, clip: str) -> None:
    audio = decode(CLIPS[clip](), 48000, 2)
    path = write_wav(tmp_path / "x.wav", audio.samples, 48000)
    _, ours = analyse(on_disk(tmp_path / "x.f32", decode(path, 48000, 2).samples, 48000))
    theirs = ebur128(path)
    assert ours["integrated_lufs"] == pytest.approx(theirs["integrated"], abs=0.2)
    assert ours["true_peak_dbtp"] == pytest.approx(theirs["true_peak"], abs=0.3)


def test_true_peak_sees_intersample_overs() -> None:
    # A sine at a quarter of the rate, sampled 45 degrees off its crests: every sample is at
    # 0.707 of the crest (-3 dB), and only oversampling finds the real peak between them.
    rate = 48000
    n = np.arange(rate)
    wave = (0.5 * np.sin(2 * np.pi * n / 4 + np.pi / 4)).astype(np.float32)[None, :]
    assert 20 * np.log10(np.abs(wave).max()) == pytest.approx(-9.03, abs=0.05)
    assert true_peak_dbtp(wave, rate) == pytest.approx(-6.02, abs=0.2)


@pytest.mark.parametrize("target", [-16.0, -19.0])
def test_normalize_hits_target_under_ceiling(target: float) -> None:
    audio = decode(three_voices(), 44100, 2)
    out = normalize(audio.samples, 44100, target, -1.5)
    assert integrated_lufs(out, 44100) == pytest.approx(target, abs=0.2)
    assert true_peak_dbtp(out, 44100) <= -1.5 + 1e-3


def test_leveller_brings_quiet_talker_within_2_lu(two_talkers) -> None:
    path, turns = two_talkers
    rate = 44100
    cleaned = clean(decode(path, rate, 1))
    levelled = level_speakers(cleaned.audio.samples, rate)
    shift = cleaned.trimmed_start

    def talker(samples: np.ndarray, who: str) -> float:
        parts = [samples[:, int((s - shift) * rate) : int((e - shift) * rate)]
                 for s, e, w in turns if w == who]  # fmt: skip
        return integrated_lufs(np.concatenate(parts, axis=1), rate)

    before = talker(cleaned.audio.samples, "loud") - talker(cleaned.audio.samples, "quiet")
    after = talker(levelled, "loud") - talker(levelled, "quiet")
    assert before == pytest.approx(10.0, abs=1.0)
    assert abs(after) <= 2.0, f"talkers still {after:.1f} LU apart"


def test_limiter_acts_before_the_peak_and_releases_after() -> None:
    from ppod_audio.audio.loudness import limit_true_peak

    rate = 48000
    t = np.arange(rate) / rate
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    burst = slice(int(0.5 * rate), int(0.501 * rate))
    tone[burst] *= 10  # a 1 ms transient at +20 dB
    limited = limit_true_peak(tone[None, :], rate, -6.0)[0]
    assert true_peak_dbtp(limited[None, :], rate) <= -6.0 + 0.05
    gain = np.abs(limited) / np.maximum(np.abs(tone), 1e-6)

    def at(seconds: float) -> float:
        index = int(seconds * rate)
        window = np.abs(tone[index - 50 : index + 50]) > 0.05
        return float(np.median(gain[index - 50 : index + 50][window]))

    assert at(0.4) == pytest.approx(1.0, abs=0.01)  # untouched well before
    assert at(0.4975) < 0.9  # already down 2.5 ms before the transient (look-ahead)
    assert at(0.55) < 0.9  # still holding 50 ms after it (release)
    assert at(0.7) == pytest.approx(1.0, abs=0.01)  # recovered


def test_silence_is_reported_as_none_not_infinity(tmp_path: Path) -> None:
    import json

    _, figures = analyse(on_disk(tmp_path / "s.f32", np.zeros((1, 48000), np.float32), 48000))
    assert figures["true_peak_dbtp"] is None and figures["sample_peak_dbfs"] is None
    json.dumps(figures, allow_nan=False)  # report.json must stay valid JSON
