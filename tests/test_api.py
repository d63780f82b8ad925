"""The library API (docs/api.md), used as a script author would: import ppod_audio, call it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_episode, make_show, normalise, shared, without_noise_reduction
from test_first_run import tone_take

import ppod_audio


def test_import_is_cheap_and_exports_what_it_documents() -> None:
    """``import ppod_audio`` must not load torch or faster-whisper (``ppod --help`` and
    ``ppod render`` must not pay for them)."""
    code = (
        "import sys, ppod_audio; ppod_audio.process; ppod_audio.load_document; "
        "heavy = [m for m in ('torch', 'faster_whisper', 'ctranslate2') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for name in ppod_audio.__all__:
        assert getattr(ppod_audio, name) is not None
    with pytest.raises(AttributeError):
        ppod_audio.no_such_name  # noqa: B018


def test_process_load_and_render_an_episode(tmp_path: Path) -> None:
    folder = make_episode(
        without_noise_reduction(make_show(tmp_path / "show")),
        "ep",
        {"t.wav": tone_take(tmp_path / "t.wav")},
    )
    stages: list[str] = []
    result = ppod_audio.process(
        folder, tmp_path / "out", speech=False, progress=lambda slug, stage: stages.append(stage)
    )
    assert result.ok, result.error
    assert stages, "progress was never reported"
    document = ppod_audio.load_document(result.output_dir)
    assert isinstance(document, ppod_audio.EpisodeDocument)
    assert document.episode.title == "Test episode" and document.intro_offset > 15
    lines = ppod_audio.render(result.output_dir)
    assert lines and (result.output_dir / "ep.srt").is_file()


def test_a_bad_episode_is_a_result_not_an_exception(tmp_path: Path) -> None:
    result = ppod_audio.process(tmp_path / "missing", tmp_path / "out", speech=False)
    assert not result.ok and result.exit_code == 2 and "missing" in (result.error or "")
    with pytest.raises(ppod_audio.PpodError):
        ppod_audio.load_document(tmp_path / "out" / "missing")


@pytest.mark.shared
@pytest.mark.slow
def test_transcribe_and_diarize_real_speech() -> None:
    jfk = shared("speech/jfk.wav")
    transcription = ppod_audio.transcribe(jfk)
    text = normalise(" ".join(word.text for word in transcription.words))
    assert "ask not what your country can do for you" in text
    turns = ppod_audio.diarize(shared("conversation/three-excerpts.wav"))
    assert len({turn.speaker for turn in turns}) == 3
