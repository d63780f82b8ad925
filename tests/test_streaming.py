"""The streamed audio path gives the same answers as processing everything in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from conftest import ebur128, ffmpeg, shared, write_wav

from ppod_audio.audio.clean import clean
from ppod_audio.audio.decode import decode
from ppod_audio.audio.disk import DiskAudioWriter
from ppod_audio.audio.encode import measure_file
from ppod_audio.audio.loudness import limit_true_peak
from ppod_audio.audio.master import _Chain
from ppod_audio.audio.meter import HopEnergy, hop_samples, integrated_from, loudness_range_from
from ppod_audio.audio.prepare import CleanSettings, prepare_mixed


@pytest.mark.parametrize("clip", ["conversation/three-excerpts.wav", "speech/librivox-0870.wav"])
def test_streamed_meter_matches_pyloudnorm_and_ffmpeg(clip: str) -> None:
    audio = decode(shared(clip), 48000, 2).samples
    meter = HopEnergy(48000, 2)
    for start in range(0, audio.shape[1], 12345):  # blocks that do not line up with hops
        meter.add(audio[:, start : start + 12345])
    hop = hop_samples(48000)
    reference = pyloudnorm.Meter(48000).integrated_loudness(audio.T.astype(np.float64))
    assert integrated_from(meter.energies(), hop) == pytest.approx(reference, abs=0.05)
    if audio.shape[1] > 48000 * 15:
        assert loudness_range_from(meter.energies(), hop) == pytest.approx(
            ebur128(shared(clip))["lra"], abs=0.5
        )


def test_block_processing_equals_whole_programme(tmp_path: Path) -> None:
    rate = 44100
    samples = decode(shared("conversation/three-excerpts.wav"), rate, 1).samples * 8.0
    writer = DiskAudioWriter(tmp_path / "x.f32", 1, rate)
    writer.append(samples)
    chain = _Chain(writer.close(), None, 0.0, -1.5)
    streamed = np.concatenate(list(chain.blocks()), axis=1)
    whole = limit_true_peak(samples, rate, -1.5)
    assert streamed.shape == whole.shape
    assert np.max(np.abs(streamed - whole)) < 1e-5, "blocks carry enough context"


def test_streamed_cleaning_matches_in_memory(tmp_path: Path) -> None:
    rate = 44100
    first, second = tmp_path / "a.flac", tmp_path / "b.wav"
    ffmpeg("-i", str(shared("speech/librivox-0890.wav")), "-ar", "48000", str(first))
    ffmpeg("-i", str(shared("speech/jfk.wav")), str(second))
    cleaned = prepare_mixed([first, second], tmp_path / "work", rate, True, CleanSettings())
    joined = np.concatenate([decode(first, rate, 1).samples, decode(second, rate, 1).samples], 1)
    expected = clean(_audio(joined, rate))
    assert cleaned.trimmed_start == pytest.approx(expected.trimmed_start, abs=0.001)
    streamed = cleaned.audio.load()
    assert streamed.shape == expected.audio.samples.shape
    assert np.max(np.abs(streamed - expected.audio.samples)) < 1e-3
    assert len(cleaned.speech16) == pytest.approx(streamed.shape[1] * 16000 / rate, abs=2)


def _audio(samples: np.ndarray, rate: int):
    from ppod_audio.audio.decode import Audio

    return Audio(samples.astype(np.float32), rate)


def test_published_file_is_measured_like_ebur128(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "x.wav", decode(shared("speech/jfk.wav"), 44100, 2).samples, 44100)
    ours = measure_file(path)
    theirs = ebur128(path)
    assert ours.integrated_lufs == pytest.approx(theirs["integrated"], abs=0.05)
    assert ours.true_peak_dbtp == pytest.approx(theirs["true_peak"], abs=0.05)
