"""Episodes recorded one microphone per speaker: aligned mixdown and exact attribution."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_episode, read_mono, voice, write_wav

from ppod_audio.cli import cli
from ppod_audio.speech.diarize_tracks import diarize_tracks
from ppod_audio.speech.turns import Turn, to_annotation

RATE = 16000


def _studio_tracks(bleed_db: float = -18.0) -> tuple[np.ndarray, np.ndarray, list[Turn]]:
    """Two talkers taking turns (a short overlap included), each microphone hearing the other."""
    host = [read_mono(voice("steve", 8.0)), read_mono(voice("steve", 5.5, offset=8.0))]
    guest = [read_mono(voice("rebecca", 6.0)), read_mono(voice("rebecca", 3.5, offset=6.0))]
    a = np.zeros(RATE * 60, np.float32)
    b = np.zeros(RATE * 60, np.float32)
    truth: list[Turn] = []
    cursor = RATE
    for host_clip, guest_clip in zip(host, guest, strict=True):
        a[cursor : cursor + len(host_clip)] += host_clip
        truth.append(Turn(cursor / RATE, (cursor + len(host_clip)) / RATE, "Host"))
        cursor += len(host_clip) - RATE // 2  # the guest starts half a second early
        b[cursor : cursor + len(guest_clip)] += guest_clip
        truth.append(Turn(cursor / RATE, (cursor + len(guest_clip)) / RATE, "Guest"))
        cursor += len(guest_clip) + RATE
    a, b = a[:cursor], b[:cursor]
    leak = np.float32(10 ** (bleed_db / 20))
    noise = np.random.default_rng(3).normal(0, 10 ** (-60 / 20), (2, cursor)).astype(np.float32)
    return a + leak * b + noise[0], b + leak * a + noise[1], truth


def test_tracks_diarizer_rejects_bleed() -> None:
    from pyannote.metrics.diarization import DiarizationErrorRate

    host, guest, truth = _studio_tracks()
    turns = diarize_tracks([("Host", host), ("Guest", guest)])
    der = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    error = der(to_annotation(truth), to_annotation(turns))
    assert error < 0.10, f"DER {error:.1%}"
    assert {t.speaker for t in turns} == {"Host", "Guest"}


@pytest.mark.slow
def test_tracks_episode_mixed_and_named(show_root: Path, tmp_path: Path) -> None:
    host, guest, truth = _studio_tracks()
    host_path = write_wav(tmp_path / "host.wav", host, RATE)
    guest_path = write_wav(tmp_path / "guest.wav", guest, RATE)
    manifest = """title = "Two microphones"
[[speakers]]
name = "Alex Host"
role = "Presenter"
track = "tracks/host.wav"
[[speakers]]
name = "Sam Guest"
role = "Guest"
track = "tracks/guest.wav"
"""
    folder = make_episode(
        show_root, "tracks-ep", {"tracks/host.wav": host_path, "tracks/guest.wav": guest_path},
        manifest,
    )  # fmt: skip
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["process", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "tracks-ep" / "episode.json").read_text())
    report = json.loads((out / "tracks-ep" / "report.json").read_text())
    assert report["speech"]["diarizer"] == "embedded"  # the default, switched to tracks
    assert report["speech"]["diarizer_used"] == "tracks"  # and the report says so
    names = {s["id"]: s["name"] for s in document["speakers"]}
    shift = report["intro_offset"] - report["trimmed_start"]
    right = total = 0
    for segment in document["segments"][1:]:
        for word in segment["words"]:
            middle = (word["start"] + word["end"]) / 2 - shift
            owners = [t.speaker for t in truth if t.start <= middle <= t.end]
            if len(owners) == 1:
                total += 1
                expected = "Alex Host" if owners[0] == "Host" else "Sam Guest"
                right += names[word["speaker"]] == expected
    assert total > 40 and right / total >= 0.95, f"{right}/{total}"
    txt = (out / "tracks-ep" / "tracks-ep.txt").read_text()
    assert "Alex Host - Presenter" in txt and "Sam Guest - Guest" in txt


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(["--no-speech"], id="audio alone"),
        # The audio path finds the silence while the speech model already works beside it.
        pytest.param([], id="beside the speech model", marks=pytest.mark.slow),
    ],
)
def test_silent_tracks_are_refused(show_root: Path, tmp_path: Path, options: list[str]) -> None:
    silent = write_wav(tmp_path / "s.wav", np.zeros(RATE * 2, np.float32), RATE)
    manifest = 'title = "x"\n[[speakers]]\nname = "A"\ntrack = "a.wav"\n'
    folder = make_episode(show_root, "silent-tracks", {"a.wav": silent}, manifest)
    result = CliRunner().invoke(cli, ["process", str(folder), "-o", str(tmp_path / "o"), *options])
    assert result.exit_code == 2 and "silent" in result.output


def test_tracks_diarizer_needs_tracks(show_root: Path, tmp_path: Path) -> None:
    """Asked for on one mixed recording, the tracks diarizer is refused, not silently empty."""
    host, guest, _ = _studio_tracks()
    mixed = write_wav(tmp_path / "mixed.wav", host + guest, RATE)
    folder = make_episode(show_root, "one-mix", {"mixed.wav": mixed})
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["process", str(folder), "-o", str(out), "--diarizer", "tracks"]
    )
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "one-mix" in error and "episode.toml" in error
    assert "track =" in error and "--diarizer embedded" in error
    assert json.loads((out / "one-mix" / "report.json").read_text())["status"] == "failed"


@pytest.mark.parametrize("bleed_db", [-12.0, -24.0])
def test_bleed_levels(bleed_db: float) -> None:
    host, guest, truth = _studio_tracks(bleed_db)
    turns = diarize_tracks([("Host", host), ("Guest", guest)])
    host_talk = sum(t.end - t.start for t in turns if t.speaker == "Host")
    true_host = sum(t.end - t.start for t in truth if t.speaker == "Host")
    assert host_talk == pytest.approx(true_host, rel=0.2)
