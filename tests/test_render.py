"""``ppod render``: every output re-published from episode.json alone, quickly and safely."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEMO, fix_first_word
from mutagen.id3 import ID3

from ppod_audio.cli import cli
from ppod_audio.edit.render import render_episode
from ppod_audio.edit.save import save_and_render
from ppod_audio.staging import Staging
from ppod_audio.transcript.model import load_document

SLUG = DEMO.name


def audio_payload(mp3: Path) -> bytes:
    """The MP3's bytes after its ID3v2 tag: the audio, which re-tagging must not touch."""
    data = mp3.read_bytes()
    size = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    return data[size:]


def test_render_republishes_every_format_and_the_mp3_tags(edit_episode: Path) -> None:
    mp3 = edit_episode / f"{SLUG}.mp3"
    audio = audio_payload(mp3)
    chapters_before = sorted(
        (c.start_time, str(c.sub_frames["TIT2"])) for c in ID3(mp3).getall("CHAP")
    )
    fix_first_word(edit_episode, "Zanzibar")
    result = CliRunner().invoke(cli, ["render", str(edit_episode)])
    assert result.exit_code == 0, result.output
    assert re.match(r"rendered .* in \d+ ms", result.output)
    for suffix in (".txt", ".vtt", ".srt", ".html", ".transcript.json", ".lyrics.txt"):
        assert "Zanzibar" in (edit_episode / f"{SLUG}{suffix}").read_text(), suffix
    tags = ID3(mp3)
    assert tags.version[:2] == (2, 3)  # the version the pipeline used (report.json)
    assert "Zanzibar" in tags.getall("USLT")[0].text
    assert (
        sorted((c.start_time, str(c.sub_frames["TIT2"])) for c in tags.getall("CHAP"))
        == chapters_before
    )
    assert tags.getall("APIC")[0].data[:4] == b"\x89PNG"
    assert audio_payload(mp3) == audio
    assert not list(edit_episode.glob(".*tmp*")), "the MP3 is tagged as a copy, then renamed"


def test_render_needs_no_audio_decoding(
    edit_episode: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps render fast: no ffmpeg at all. (How fast is bench/bench_render.py's figure:
    a wall-clock assertion here would fail on a busy machine, not on slow code.)"""

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"render started a process (ffmpeg?): {args[:1]}")

    fix_first_word(edit_episode, "Zanzibar")
    # Every ffmpeg call (decoding, encoding, measuring) goes through subprocess.Popen.
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    render_episode(edit_episode)
    assert "Zanzibar" in (edit_episode / f"{SLUG}.vtt").read_text()


def test_a_save_writes_episode_json_once_with_one_backup(
    edit_episode: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when a changed manifest refreshes the saved document, one save is one write of
    episode.json and one history entry."""
    manifest = edit_episode.parents[1] / "raw_audio" / SLUG / "episode.toml"
    text = manifest.read_text()
    manifest.write_text(re.sub(r'(?m)^title = ".*"$', 'title = "A new title"', text))
    doc = load_document(edit_episode / "episode.json")
    doc.segments[1].words[0].text = "Zanzibar"
    written: list[str] = []
    path = Staging.path

    def counting(self: Staging, destination: Path, **kwargs: int) -> Path:
        written.append(Path(destination).name)
        return path(self, destination, **kwargs)

    monkeypatch.setattr(Staging, "path", counting)
    saved = save_and_render(edit_episode, doc)
    assert written.count("episode.json") == 1
    assert len(list((edit_episode / "history").glob("episode-*.json"))) == 1
    assert "title from episode.toml" in saved.notes
    data = (edit_episode / "episode.json").read_bytes()
    assert saved.revision == hashlib.sha256(data).hexdigest()
    assert saved.document == load_document(edit_episode / "episode.json")
    assert saved.document.episode.title == "A new title"
    assert saved.document.segments[1].words[0].text == "Zanzibar"
    assert str(ID3(edit_episode / f"{SLUG}.mp3")["TIT2"]) == "A new title"


def test_a_changed_manifest_reaches_the_tags(edit_episode: Path) -> None:
    fix_first_word(edit_episode, "Zanzibar")  # an editor's change the manifest must not undo
    manifest = edit_episode.parents[1] / "raw_audio" / SLUG / "episode.toml"
    text = manifest.read_text()
    manifest.write_text(re.sub(r'(?m)^title = ".*"$', 'title = "A new title"', text))
    result = CliRunner().invoke(cli, ["render", str(edit_episode)])
    assert result.exit_code == 0, result.output
    assert "title from episode.toml" in result.output
    assert str(ID3(edit_episode / f"{SLUG}.mp3")["TIT2"]) == "A new title"
    doc = load_document(edit_episode / "episode.json")
    assert doc.episode.title == "A new title" and doc.segments[1].words[0].text == "Zanzibar"


def test_unapplied_text_edits_are_kept_before_rendering_over_them(edit_episode: Path) -> None:
    txt = edit_episode / f"{SLUG}.txt"
    txt.write_text(txt.read_text() + "\nA sentence typed by the editor.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(edit_episode)])
    assert result.exit_code == 0 and "--from-text" in result.output
    kept = list((edit_episode / "history").glob(f"{SLUG}-*.txt"))
    assert len(kept) == 1 and "typed by the editor" in kept[0].read_text()
    assert "typed by the editor" not in txt.read_text()


def test_bad_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["render", str(tmp_path)])
    assert result.exit_code == 2
    assert "episode.json: does not exist" in result.output
    assert len(result.output.strip().splitlines()) == 1
