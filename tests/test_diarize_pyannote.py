"""The pyannote diarizer: a real pipeline run offline, and the errors a user can meet.

pyannote.audio is an optional extra (it brings a ~6 GB CUDA build of torch), so the tests that run
it skip without it; the error tests need no pyannote and run in every environment. The pipeline
run uses a folder in the layout of ``speaker-diarization-community-1`` with random weights (see
``pyannote_pipeline.py``): its turns are meaningless, but loading and running are the real code.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import read_mono, shared

from ppod_audio.errors import InputError
from ppod_audio.speech.diarize_pyannote import diarize_pyannote
from ppod_audio.speech.turns import Turn

ONE_SECOND = np.zeros(16000, dtype=np.float32)


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """diarize_pyannote sets these process-wide; monkeypatch puts them back after each test.

    They start unset, so a test that finds them set knows diarize_pyannote set them.
    """
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("PYANNOTE_METRICS_ENABLED", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test instead of reaching out."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def random_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip(
        "pyannote.audio", reason="pyannote.audio is optional: pip install 'ppod-audio[pyannote]'"
    )
    from pyannote_pipeline import build_random_pipeline

    return build_random_pipeline(tmp_path_factory.mktemp("pyannote") / "community-1-random")


@pytest.mark.slow
def test_random_pipeline_runs_on_real_speech(random_pipeline: Path, no_network: None) -> None:
    from ppod_audio.speech.diarize_pyannote import _load_pipeline

    audio = read_mono(shared("conversation/three-excerpts.wav"))
    duration = len(audio) / 16000
    _load_pipeline.cache_clear()

    turns = diarize_pyannote(audio, pipeline=str(random_pipeline), device="cpu")

    assert isinstance(turns, list)
    # Seeded random weights still mark speech somewhere; an empty list would test nothing.
    assert turns, "the random pipeline found no speech at all"
    assert all(isinstance(t, Turn) for t in turns)
    assert all(0.0 <= t.start < t.end <= duration for t in turns)
    assert turns == sorted(turns, key=lambda t: (t.start, t.end))
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # no token: the Hub must not be tried

    # The folder is loaded once per process (not per episode); the count reaches clustering.
    short = audio[: 16000 * 8]
    forced = diarize_pyannote(short, pipeline=str(random_pipeline), num_speakers=2, device="cpu")
    assert _load_pipeline.cache_info().hits >= 1
    assert all(0.0 <= t.start < t.end <= 8.0 for t in forced)
    assert len({t.speaker for t in forced}) <= 2

    # A config.yaml path loads the same way.
    by_config = diarize_pyannote(
        audio[: 16000 * 3], pipeline=str(random_pipeline / "config.yaml"), device="cpu"
    )
    assert all(0.0 <= t.start < t.end <= 3.0 for t in by_config)


def test_hub_id_without_token_is_refused_offline(no_network: None) -> None:
    with pytest.raises(InputError) as caught:
        diarize_pyannote(ONE_SECOND, pipeline="pyannote/speaker-diarization-community-1")
    message = str(caught.value)
    assert "token" in message
    assert "show.toml" in message and "pyannote_pipeline" in message
    assert caught.value.exit_code == 2


def test_missing_folder_is_named(tmp_path: Path, no_network: None) -> None:
    missing = tmp_path / "speaker-diarization-community-1"
    with pytest.raises(InputError) as caught:
        diarize_pyannote(ONE_SECOND, pipeline=str(missing))
    assert caught.value.path == missing
    assert str(missing) in str(caught.value)


def test_folder_without_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        diarize_pyannote(ONE_SECOND, pipeline=str(tmp_path))
    assert caught.value.path == tmp_path / "config.yaml"


def test_no_pipeline_configured_says_where_to_set_it() -> None:
    with pytest.raises(InputError, match=r"pyannote_pipeline"):
        diarize_pyannote(ONE_SECOND, pipeline=None)


def test_pyannote_missing_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether or not pyannote is installed here, an absent one gives the install command."""
    (tmp_path / "config.yaml").write_text("pipeline: {}\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)  # "import pyannote.audio" fails
    with pytest.raises(InputError, match=r"pip install 'ppod-audio\[pyannote\]'"):
        diarize_pyannote(ONE_SECOND, pipeline=str(tmp_path))


def test_environment_is_private_and_offline_without_a_token() -> None:
    """Telemetry is always off; the Hub stays reachable only when a token was given for it."""
    from ppod_audio.speech.diarize_pyannote import _configure_environment

    _configure_environment("hf_token")
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    assert "HF_HUB_OFFLINE" not in os.environ
    _configure_environment(None)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
