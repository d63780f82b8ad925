"""The cleaned programme kept between runs (audio/kept.py): an audio edit re-masters from it.

Real ffmpeg writes and reads the FLAC; the end-to-end test publishes real speech the repository
makes, then cuts it, once with the kept programme and once without, and compares the two MP3s.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import NO_NOISE_REDUCTION, ebur128, make_episode, make_show, read_mono, voice

from ppod_audio.audio.disk import DiskAudio, DiskAudioWriter
from ppod_audio.audio.kept import KeptProgramme
from ppod_audio.cli import cli

RATE = 44100


def _programme(folder: Path, peak: float) -> tuple[np.ndarray, DiskAudio]:
    """Two channels of speech-like noise and a quiet tail, scaled to ``peak`` (over 1.0 is a
    cleaned programme that overshoots before mastering)."""
    rng = np.random.default_rng(7)
    loud = rng.standard_normal((2, RATE * 3)).astype(np.float32)
    quiet = (rng.standard_normal((2, RATE)) * 1e-4).astype(np.float32)  # a -80 dBFS pause
    samples = np.concatenate([loud / np.max(np.abs(loud)) * peak, quiet], axis=1)
    writer = DiskAudioWriter(folder / "cleaned.f32", 2, RATE)
    writer.append(samples)
    return samples, writer.close()


@pytest.mark.parametrize("peak", [0.5, 1.7])
def test_the_programme_comes_back_to_24_bits_overshoot_included(tmp_path: Path, peak: float):
    samples, audio = _programme(tmp_path, peak)
    kept = KeptProgramme(tmp_path / "cache", "k" * 64)
    kept.save(audio, {"trimmed_start": 1.25, "channels": 2, "rate": RATE})
    assert kept.exists() and not list((tmp_path / "cache").glob(".*partial"))

    restored = kept.load(tmp_path / "work")
    assert restored is not None
    back, info = restored
    assert info["trimmed_start"] == 1.25 and back.frames == samples.shape[1]
    again = back.read(0, back.frames)
    scale = info["scale"]
    assert scale == (2.0 if peak > 1.0 else 1.0)  # no clipping at full scale
    # 24-bit steps of the stored (scaled) programme: the quiet tail survives too.
    assert np.max(np.abs(again - samples)) <= scale * 2.0**-23
    tail = again[:, -RATE:]
    assert 20 * np.log10(np.sqrt(np.mean(tail**2))) == pytest.approx(-80, abs=1.0)


def test_a_damaged_or_missing_programme_reads_as_nothing(tmp_path: Path) -> None:
    _, audio = _programme(tmp_path, 0.5)
    kept = KeptProgramme(tmp_path / "cache", "d" * 64)
    assert kept.load(tmp_path / "work") is None  # nothing kept yet
    kept.save(audio, {"trimmed_start": 0.0, "channels": 2, "rate": RATE})
    data = kept.flac.read_bytes()
    kept.flac.write_bytes(data[: len(data) // 2])  # cut short: a crash, a full disk
    assert kept.load(tmp_path / "work2") is None
    kept.remove()
    assert not kept.exists()


def _cut(folder: Path) -> dict:
    result = CliRunner().invoke(cli, ["cut", str(folder), "--from", "25.0", "--to", "27.0"])
    assert result.exit_code == 0, result.output
    return json.loads((folder / "report.json").read_text())


def test_an_audio_edit_remasters_from_the_kept_programme(tmp_path: Path) -> None:
    root = make_show(tmp_path / "raw_audio")
    make_episode(root, "ep", {"talk.wav": voice("jasmine", 12.0)},
                 'title = "Kept"\ninputs = ["talk.wav"]\n' + NO_NOISE_REDUCTION)  # fmt: skip
    out = tmp_path / "output"
    result = CliRunner().invoke(cli, ["process", str(root / "ep"), "-o", str(out), "--no-speech"])
    assert result.exit_code == 0, result.output
    assert len(list((out / ".cache" / "cleaned").glob("*.flac"))) == 1

    # The same episode, its kept programme gone: the cut cleans the recording again.
    shutil.copytree(out, tmp_path / "without")
    shutil.rmtree(tmp_path / "without" / ".cache" / "cleaned")
    without_report = _cut(tmp_path / "without" / "ep")
    assert not without_report["stages"]["decode+clean"]["cached"]

    report = _cut(out / "ep")
    assert report["stages"]["decode+clean"]["cached"] is True
    assert report["trimmed_start"] == without_report["trimmed_start"]
    assert report["cleaning"] == without_report["cleaning"]
    kept_mp3, fresh_mp3 = out / "ep" / "ep.mp3", tmp_path / "without" / "ep" / "ep.mp3"
    measured = ebur128(kept_mp3)
    assert measured["integrated"] == pytest.approx(-16.0, abs=0.5)
    assert measured["true_peak"] <= -1.0
    kept_audio, fresh_audio = read_mono(kept_mp3), read_mono(fresh_mp3)
    assert len(kept_audio) == len(fresh_audio)
    difference = np.sqrt(np.mean((kept_audio - fresh_audio) ** 2))
    # The same audio to the MP3 encoder's own noise (measured -56 dB: the 24-bit steps change
    # some of LAME's rounding); a wrong trim or a missed cut would be near 0 dB.
    assert 20 * np.log10(difference / np.sqrt(np.mean(fresh_audio**2)) + 1e-12) < -40
