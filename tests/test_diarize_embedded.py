"""The embedded diarizer on real speech, and the RTTM/turn helpers it returns through."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from ppod_audio.speech.turns import (
    Turn,
    merge_adjacent,
    read_rttm,
    relabel_by_first_appearance,
    speaker_durations,
    write_rttm,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "conversation"


def _load(path: Path) -> np.ndarray:
    soundfile = pytest.importorskip("soundfile")
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    assert rate == 16000, "the shared conversation clips are 16 kHz"
    return samples.mean(axis=1)


def test_rttm_roundtrip(tmp_path: Path) -> None:
    turns = [Turn(0.5, 2.25, "SPEAKER_00"), Turn(2.5, 4.0, "SPEAKER_01")]
    path = tmp_path / "episode.rttm"
    write_rttm(turns, "episode", path)
    assert read_rttm(path) == {"episode": turns}
    stream = io.StringIO()
    write_rttm(turns, "episode", stream)
    assert stream.getvalue() == path.read_text()
    with pytest.raises(ValueError):
        write_rttm(turns, "has space", io.StringIO())


def test_turn_helpers() -> None:
    turns = [Turn(3.0, 4.0, "b"), Turn(0.0, 1.0, "a"), Turn(1.2, 2.0, "a")]
    assert merge_adjacent(turns, max_gap=0.5) == [Turn(0.0, 2.0, "a"), Turn(3.0, 4.0, "b")]
    assert speaker_durations(turns) == pytest.approx({"a": 1.8, "b": 1.0})
    labels = [t.speaker for t in relabel_by_first_appearance(turns)]
    assert labels == ["SPEAKER_00", "SPEAKER_00", "SPEAKER_01"]


def test_silence_gives_no_turns() -> None:
    from ppod_audio.speech.diarize_embedded import diarize_embedded

    assert diarize_embedded(np.zeros(16000 * 2, dtype=np.float32)) == []


@pytest.mark.slow
def test_three_excerpts_der_at_most_3_percent() -> None:
    """Dev clip, speaker count estimated: DER (collar 0.25 s, overlap scored) <= 3 %."""
    audio_path = SHARED / "three-excerpts.wav"
    if not audio_path.exists():
        pytest.skip(f"shared test data not found at {SHARED}")
    metrics = pytest.importorskip("pyannote.metrics.diarization")
    from ppod_audio.speech.diarize_embedded import diarize_embedded
    from ppod_audio.speech.turns import to_annotation

    (reference,) = read_rttm(SHARED / "three-excerpts.rttm").values()
    hypothesis = diarize_embedded(_load(audio_path))
    metric = metrics.DiarizationErrorRate(collar=0.25, skip_overlap=False)
    der = metric(to_annotation(reference), to_annotation(hypothesis))
    assert len({t.speaker for t in hypothesis}) == 3
    assert hypothesis[0].speaker == "SPEAKER_00"
    assert der <= 0.03, f"DER {der:.1%}"
