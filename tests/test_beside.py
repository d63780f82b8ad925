"""The published audio made in a child process beside the speech models (``ppod_audio.beside``):
its errors reach the user as the sequential path's would, and it leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_episode, three_voices, write_wav


def _process_fresh(folder: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``ppod process`` in a fresh interpreter, as a user runs it (the child's start-up and
    its error reporting are what these tests are about)."""
    return subprocess.run(
        [sys.executable, "-c", "from ppod_audio.cli import main; main()", "process",
         str(folder), "-o", str(out), "--model", "tiny.en"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_silent_recording_is_refused_with_speech_on(show_root: Path, tmp_path: Path) -> None:
    # Only the audio path checks for silence; with speech on it runs in the child, whose
    # error must come back as the same one line and exit code 2, with nothing published.
    silent = write_wav(tmp_path / "take.wav", np.full(5 * 44100, 1e-5, np.float32), 44100)
    folder = make_episode(show_root, "quiet", {"take.wav": silent})
    out = tmp_path / "out"
    result = _process_fresh(folder, out)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "is silent" in errors[0] and "take.wav" in errors[0], errors
    assert "Traceback" not in result.stderr
    assert not list((out / "quiet").glob("*.mp3")), "nothing published"
    assert not list((out / ".cache").glob(".work-*")), "the work folder is removed"


@pytest.mark.slow
def test_audio_child_keeps_a_core_review_model_loads_meanwhile(
    show_root: Path, tmp_path: Path
) -> None:
    # While the child makes the published audio, the parent's core would sit idle after the
    # speech models: it loads spaCy's NER model then (seconds of imports and weights), so the
    # review stage after the join only reads the transcript; and while both run, the speech
    # model leaves the child a core. In a fresh process, as a user runs it.
    folder = make_episode(show_root, "talk", {"talk.wav": three_voices()})
    out = tmp_path / "out"
    result = _process_fresh(folder, out)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "talk" / "report.json").read_text())
    stages = report["stages"]
    assert "review model" in report["overlapped"], report["overlapped"]
    # Diarization ran beside the recogniser, in a thread started when the child had ended.
    assert "diarize" in report["overlapped"], report["overlapped"]
    loading, review = stages["review model"], stages["review"]
    assert loading["cpu"] > 0.5, loading  # spaCy really was loaded there
    assert review["cpu"] < loading["cpu"] / 2, (review, loading)  # and not again in the review
    # The recogniser leaves the child (one thread) a core of its own while both run.
    assert stages["transcribe"]["threads"] == max(1, (os.cpu_count() or 1) - 1), stages
    # The child keeps the cleaned programme for a later audio edit (audio/kept.py).
    assert len(list((out / ".cache" / "cleaned").glob("*.flac"))) == 1
    # Every stage says what it cost in CPU seconds as well as in wall seconds.
    assert all("cpu" in entry for entry in stages.values()), stages
