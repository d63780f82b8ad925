"""Diarization beside the recogniser (``ppod_audio.speech.background``) gives the sequential result.

The speech stage diarizes in a thread while faster-whisper transcribes; the diarizer's turns,
its voices and the words' speakers must be exactly what diarizing after the words gives, on
real speech (the demo's first minute, three voices) with the real models.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import DEMO, ffmpeg, make_episode

from ppod_audio import progress
from ppod_audio.pipeline import _Timer, episode_settings, load_and_clean
from ppod_audio.speech.stage import SpeechOptions, SpeechResult, run_speech


@pytest.fixture(scope="module")
def heard(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo's first minute as the speech stage hears it, with its manifest and settings."""
    from conftest import make_show

    tmp = tmp_path_factory.mktemp("overlap")
    take = tmp / "take.flac"
    ffmpeg("-i", str(DEMO / "recording.flac"), "-t", "60", str(take))
    root = make_show(tmp / "raw_audio")
    manifest_text = (
        'title = "Overlap"\nseason = 1\nepisode = 1\ninputs = ["take.flac"]\n'
        '[[speakers]]\nname = "Steve Macabee"\n[[speakers]]\nname = "Jasmine"\n'
        '[[speakers]]\nname = "Rebecca"\n'
    )
    folder = make_episode(root, "overlap", {"take.flac": take}, manifest_text)
    manifest, show = episode_settings(folder)
    work = tmp / "work"
    work.mkdir()
    return load_and_clean(manifest, show, work, audio=False), manifest, show


def _speech(heard, go: threading.Event | None, events: list[progress.ProgressEvent]):  # type: ignore[no-untyped-def]
    cleaned, manifest, show = heard
    options = SpeechOptions(model="tiny.en", diarizer="embedded").resolved(show)
    timer = _Timer()
    with progress.listening(events.append, "overlap"):
        result = run_speech(cleaned, manifest, show, options, [], timer.stage, cpu_threads=1,
                            diarize_beside=go)  # fmt: skip
    return result, timer.stages


def _key(result: SpeechResult) -> tuple[object, ...]:
    return (result.turns, result.embeddings, [w.model_dump() for w in result.words],
            result.diarizer_used, result.warnings)  # fmt: skip


def _moments(events: list[progress.ProgressEvent]) -> list[tuple[str, str]]:
    """Each stage's start and end, in the order the listener heard them."""
    return [(e.stage, "end" if e.done else "start") for e in events
            if e.fraction == 0.0 or e.done]  # fmt: skip


@pytest.mark.slow
def test_diarizing_beside_the_recogniser_gives_the_sequential_turns(heard) -> None:  # type: ignore[no-untyped-def]
    alone_events: list[progress.ProgressEvent] = []
    alone, alone_stages = _speech(heard, None, alone_events)
    assert len({turn.speaker for turn in alone.turns}) >= 2, alone.turns  # real diarization

    go = threading.Event()
    go.set()  # no audio child: the diarizer starts at once
    beside_events: list[progress.ProgressEvent] = []
    beside, beside_stages = _speech(heard, go, beside_events)
    assert _key(beside) == _key(alone)

    # Sequential: diarize starts after transcribe ends. Beside it: it starts while transcribing.
    moments = _moments(alone_events)
    assert moments.index(("diarize", "start")) > moments.index(("transcribe", "end")), moments
    moments = _moments(beside_events)
    assert moments.index(("diarize", "start")) < moments.index(("transcribe", "end")), moments
    # Each stage keeps its own timing; the diarizer's CPU is its thread's, not the recogniser's.
    assert beside_stages["diarize"]["cpu"] > 0.1, beside_stages
    assert beside_stages["transcribe"]["cpu"] > 0.1, beside_stages
    assert beside.timings["diarize"] == beside_stages["diarize"]["seconds"]


@pytest.mark.slow
def test_diarizing_waits_for_the_cores_until_the_words_are_in(heard) -> None:  # type: ignore[no-untyped-def]
    # The pipeline sets the event when its audio child ends; a child still running when the
    # words are in must not hold the diarizer back any longer.
    never = threading.Event()
    events: list[progress.ProgressEvent] = []
    result, stages = _speech(heard, never, events)
    moments = _moments(events)
    assert moments.index(("diarize", "start")) > moments.index(("transcribe", "end")), moments
    assert result.turns and set(stages) >= {"transcribe", "diarize"}, stages


def test_a_run_stopped_while_transcribing_stops_the_diarizer(tmp_path: Path) -> None:
    """A failure in the recogniser abandons the waiting diarizer: no thread is left behind."""
    from ppod_audio.speech.background import BackgroundStage

    started = threading.Event()

    def work() -> int:
        started.set()
        return 1

    timer = _Timer()
    with progress.listening(None, "stopped"):
        beside = BackgroundStage("diarize", work, threading.Event(), timer.stage)
        beside.abandon()
    assert not beside.thread.is_alive() and not started.is_set()
    assert "diarize" not in timer.stages
