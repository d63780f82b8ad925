"""Manifests and show settings: strict validation with messages that name file and key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO, RAW_AUDIO, write_wav

from ppod_audio.config import apply_overrides, load_episode, load_show
from ppod_audio.errors import InputError


def _episode(tmp_path: Path, manifest: str, audio: bool = True) -> Path:
    folder = tmp_path / "ep"
    folder.mkdir()
    if audio:
        write_wav(folder / "take.wav", np.zeros(1000, np.float32), 16000)
    (folder / "episode.toml").write_text(manifest)
    return folder


def _error(folder: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_episode(folder)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_committed_show_and_demo_manifest_load() -> None:
    show = load_show(RAW_AUDIO)
    assert show.title == "The P Pod" and show.loudness.target_lufs == -16.0
    assert show.path(show.cover).is_file() and show.path(show.content_warning.audio).is_file()
    manifest = load_episode(DEMO)
    assert [s.name for s in manifest.speakers] == [
        "Steve Macabee",
        "Jasmine Wark",
        "Rebecca Leggett",
    ]
    assert manifest.input_paths()[0].is_file()


def test_wrong_type_names_file_and_key(tmp_path: Path) -> None:
    folder = _episode(
        tmp_path,
        """
title = "x"
inputs = ["take.wav"]
[[speakers]]
name = "Steve"
role = "Host"
[[speakers]]
name = "Jasmine"
role = 3
""",
    )
    message = _error(folder)
    assert str(folder / "episode.toml") in message
    assert "speakers[1].role must be a valid string" in message


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    message = _error(_episode(tmp_path, 'title = "x"\ninputs = ["take.wav"]\ntarget_lufs = -16\n'))
    assert "target_lufs is not a known setting" in message


def test_missing_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "ep"
    folder.mkdir()
    message = _error(folder)
    assert "episode.toml" in message and "not found" in message


def test_bad_toml_syntax(tmp_path: Path) -> None:
    assert "not valid TOML" in _error(_episode(tmp_path, 'title = "x\n'))


def test_path_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    message = _error(_episode(tmp_path, 'title = "x"\ninputs = ["../../etc/passwd"]\n'))
    assert "inputs[0]" in message and "outside" in message


def test_missing_input_file(tmp_path: Path) -> None:
    message = _error(_episode(tmp_path, 'title = "x"\ninputs = ["nope.flac"]\n'))
    assert "nope.flac" in message and "does not exist" in message


def test_no_audio_listed(tmp_path: Path) -> None:
    assert "lists no audio" in _error(_episode(tmp_path, 'title = "x"\n'))


def test_overrides_are_validated_and_applied(tmp_path: Path) -> None:
    folder = _episode(
        tmp_path,
        'title = "x"\ninputs = ["take.wav"]\n[overrides]\nloudness = { target_lufs = -19.0 }\n',
    )
    show = apply_overrides(load_show(RAW_AUDIO), load_episode(folder))
    assert show.loudness.target_lufs == -19.0
    bad = tmp_path / "bad"
    bad.mkdir()
    write_wav(bad / "take.wav", np.zeros(1000, np.float32), 16000)
    (bad / "episode.toml").write_text(
        'title = "x"\ninputs = ["take.wav"]\n[overrides]\nloudness = { target_lufs = 5 }\n'
    )
    with pytest.raises(InputError, match="overrides.loudness.target_lufs"):
        apply_overrides(load_show(RAW_AUDIO), load_episode(bad))


def test_batched_decoding_is_opt_in_per_episode_or_run(tmp_path: Path) -> None:
    from ppod_audio.speech.stage import SpeechOptions

    show = load_show(RAW_AUDIO)
    assert SpeechOptions().resolved(show).batched is False  # it drops words: off by default
    folder = _episode(
        tmp_path, 'title = "x"\ninputs = ["take.wav"]\n[overrides]\nspeech = { batched = true }\n'
    )
    episode_show = apply_overrides(show, load_episode(folder))
    assert SpeechOptions().resolved(episode_show).batched is True
    assert SpeechOptions(batched=False).resolved(episode_show).batched is False


def test_show_file_errors_name_show_toml(tmp_path: Path) -> None:
    (tmp_path / "show.toml").write_text('[loudness]\ntarget_lufs = "loud"\n')
    with pytest.raises(InputError, match=r"show.toml: loudness.target_lufs"):
        load_show(tmp_path)
