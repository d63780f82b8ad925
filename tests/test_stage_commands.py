"""The stage commands on any audio file, and the voice library through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import srt
import webvtt
from click.testing import CliRunner
from conftest import DEMO, THREE_VOICES_TURNS, shared, three_voices, voice

from ppod_audio.cli import cli
from ppod_audio.speech.turns import read_rttm


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.slow
@pytest.mark.shared
def test_transcribe_formats(tmp_path: Path) -> None:
    audio = shared("speech/jfk.wav")
    result = invoke("transcribe", str(audio))
    assert result.exit_code == 0, result.output
    assert "ask not what your country can do for you" in result.output
    for fmt in ("srt", "vtt", "json"):
        out = tmp_path / f"jfk.{fmt}"
        result = invoke("transcribe", str(audio), "--format", fmt, "-o", str(out))
        assert result.exit_code == 0, result.output
    assert list(srt.parse(Path(tmp_path / "jfk.srt").read_text()))[0].start.total_seconds() < 1
    assert "country" in " ".join(c.text for c in webvtt.read(str(tmp_path / "jfk.vtt")))
    words = [w for s in json.loads((tmp_path / "jfk.json").read_text())["segments"]
             for w in s["words"]]  # fmt: skip
    assert len(words) >= 20 and all(0 <= w["probability"] <= 1 for w in words)


def test_transcribe_unknown_model_is_a_clear_error() -> None:
    result = invoke("transcribe", str(voice("steve", 3.0)), "--model", "medium.en")
    assert result.exit_code == 2
    assert "medium.en" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_diarize_writes_rttm(tmp_path: Path) -> None:
    rttm = tmp_path / "three.rttm"
    result = invoke("diarize", str(three_voices()), "--rttm", str(rttm))
    assert result.exit_code == 0, result.output
    (turns,) = read_rttm(rttm).values()
    assert len({t.speaker for t in turns}) == 3
    # Each talker's turn is one speaker's: the labels follow who spoke.
    owner = {name: {t.speaker for t in turns if start - 0.3 <= (t.start + t.end) / 2 <= end + 0.3}
             for start, end, name in THREE_VOICES_TURNS}  # fmt: skip
    assert all(len(labels) == 1 for labels in owner.values()), owner
    assert len({next(iter(labels)) for labels in owner.values()}) == 3, owner
    result = invoke("diarize", str(three_voices()), "--num-speakers", "2", "--rttm", str(rttm))
    assert result.exit_code == 0
    (turns,) = read_rttm(rttm).values()
    assert len({t.speaker for t in turns}) == 2, "told two, it finds two, not one"


@pytest.mark.slow  # the speaker model
def test_voices_enroll_list_remove(tmp_path: Path) -> None:
    show = tmp_path / "show"
    show.mkdir()
    (show / "show.toml").write_text('voices = "library"\n')
    katie = voice("jasmine")
    result = invoke("voices", "enroll", "Katie", str(katie), "--show", str(show))
    assert result.exit_code == 0, result.output
    assert (show / "library" / "katie.npz").is_file()
    result = invoke("voices", "list", "--show", str(show))
    assert "Katie" in result.output
    result = invoke("voices", "remove", "Nobody", "--show", str(show))
    assert result.exit_code == 2 and "Nobody" in result.output
    result = invoke("voices", "remove", "Katie", "--show", str(show))
    assert result.exit_code == 0
    assert "no voices enrolled" in invoke("voices", "list", "--show", str(show)).output


def test_shipped_voice_library_names_the_demo_cast() -> None:
    result = invoke("voices", "list", "--show", str(DEMO.parent))
    for name in ("Steve Macabee", "Jasmine Wark", "Rebecca Leggett"):
        assert name in result.output
