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


# --- bad input, found by the loader (the end-to-end corpus is tests/test_bad_inputs.py) ---------


def _manifest_error(tmp_path: Path, extra: str, title: str = "x") -> str:
    return _error(_episode(tmp_path, f'title = "{title}"\ninputs = ["take.wav"]\n{extra}'))


@pytest.mark.parametrize("date", ['"2024-13-45"', '"2024-02-30"', '"1 March 2024"', '"20240301"'])
def test_date_must_be_an_iso_date(tmp_path: Path, date: str) -> None:
    assert "date must be an ISO date (YYYY-MM-DD)" in _manifest_error(tmp_path, f"date = {date}")


def test_toml_dates_are_iso_text(tmp_path: Path) -> None:
    folder = _episode(tmp_path, 'title = "x"\ninputs = ["take.wav"]\ndate = 2024-03-01T10:00:00')
    assert load_episode(folder).date == "2024-03-01"


def test_same_speaker_twice_is_refused(tmp_path: Path) -> None:
    speakers = '[[speakers]]\nname = "Ann Lee"\n[[speakers]]\nname = " ann  lee"'
    message = _manifest_error(tmp_path, speakers)
    assert "speakers[1] ' ann lee' is listed twice (also speakers[0])" in message


@pytest.mark.parametrize("start", ["inf", "-inf", "nan"])
def test_chapter_start_must_be_finite(tmp_path: Path, start: str) -> None:
    message = _manifest_error(tmp_path, f'[[chapters]]\nstart = {start}\ntitle = "c"')
    assert "chapters[0].start must be" in message


@pytest.mark.parametrize(
    ("char", "name"),
    [("\\u0000", "U+0000 (control character)"), ("\\u202E", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
     ("\\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"), ("\\u202A", "U+202A (LEFT-TO-RIGHT EMBEDDING)"),
     ("\\n", "U+000A (control character)")],
)  # fmt: skip
def test_control_characters_in_titles_are_refused(tmp_path: Path, char: str, name: str) -> None:
    message = _manifest_error(tmp_path, "", title=f"A{char}B")
    assert f"title contains {name} at character 2" in message


def test_descriptions_keep_line_breaks_but_not_other_controls(tmp_path: Path) -> None:
    folder = _episode(tmp_path, 'title = "x"\ninputs = ["take.wav"]\ndescription = "a\\nb\\tc"')
    assert load_episode(folder).description == "a\nb\tc"
    (tmp_path / "2").mkdir()
    message = _error(_episode(tmp_path / "2", 'title = "x"\ninputs = ["take.wav"]\n'
                              'description = "a\\u0007b"'))  # fmt: skip
    assert "description contains U+0007" in message


@pytest.mark.parametrize(
    ("encode", "says"),
    [(lambda t: t.encode("utf-16"), "is UTF-16 text"),
     (lambda t: t.encode("utf-16-be"), "is UTF-16 text (no byte-order mark)"),
     (lambda t: b"\xef\xbb\xbf" + t.encode(), "byte-order mark (UTF-8 with BOM)"),
     (lambda t: t.replace("x", "caf\u00e9").encode("latin-1"), "byte 0xe9 on line 1")],
)  # fmt: skip
def test_toml_encoding_is_named_with_the_fix(tmp_path: Path, encode, says: str) -> None:
    folder = _episode(tmp_path, "")
    (folder / "episode.toml").write_bytes(encode('title = "x"\ninputs = ["take.wav"]\n'))
    message = _error(folder)
    assert says in message and "save it as UTF-8" in message
    assert str(folder / "episode.toml") in message


def test_input_that_is_a_fifo_or_empty_is_named_as_such(tmp_path: Path) -> None:
    import os

    folder = _episode(tmp_path, 'title = "x"\ninputs = ["pipe.wav"]\n', audio=False)
    os.mkfifo(folder / "pipe.wav")
    assert "pipe.wav: is a named pipe (FIFO), not a regular file" in _error(folder)
    (folder / "pipe.wav").unlink()
    (folder / "pipe.wav").touch()
    assert "pipe.wav: is empty (0 bytes)" in _error(folder)


def test_os_errors_become_one_line_with_the_right_code(tmp_path: Path) -> None:
    import errno

    from ppod_audio.errors import from_os_error

    full = from_os_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path)
    assert full.exit_code == 1 and str(full).startswith(f"{tmp_path}: no space left")
    readonly = from_os_error(OSError(errno.EROFS, "Read-only file system", str(tmp_path / "x")))
    assert readonly.exit_code == 2 and "x: is on a read-only file system" in str(readonly)
    temporary = OSError(errno.EACCES, "Permission denied", str(tmp_path / ".ep.ab12cd34.tmp.mp3"))
    assert str(from_os_error(temporary)).startswith(f"{tmp_path}: permission denied")
    long = from_os_error(OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300))
    assert long.exit_code == 2 and "rename the episode folder" in str(long)
