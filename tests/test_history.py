"""Every saved episode.json is kept; any one can be restored, and writes are atomic."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEMO, fix_first_word

from ppod_audio.cli import cli
from ppod_audio.edit.history import list_history, restorable, save_document
from ppod_audio.errors import InputError
from ppod_audio.transcript.model import EpisodeDocument, EpisodeInfo, Segment, load_document


def revert(folder: Path, stamp: str | None = None) -> Path | None:
    """What ``ppod render --revert`` does to episode.json: the kept version, validated, saved
    (keeping the one it replaces); the command then renders it in the same write."""
    return save_document(folder, restorable(folder, stamp)[1])


def document(text: str) -> EpisodeDocument:
    return EpisodeDocument(
        episode=EpisodeInfo(slug="ep", title="Test", show="The P Pod"),
        audio="ep.mp3",
        duration=10.0,
        segments=[Segment(speaker=None, start=0.0, end=2.0, text=text)],
    )


def text_of(folder: Path) -> str:
    return load_document(folder / "episode.json").segments[0].text


def test_each_save_keeps_the_previous_version(tmp_path: Path) -> None:
    assert save_document(tmp_path, document("one")) is None  # nothing to keep yet
    first = save_document(tmp_path, document("two"))
    second = save_document(tmp_path, document("three"))
    assert save_document(tmp_path, document("three")) is None  # unchanged: no copy
    assert first is not None and second is not None
    assert [r.path for r in list_history(tmp_path)] == [first, second]
    assert first.name.startswith("episode-") and len(first.stem) == len("episode-") + 21
    assert load_document(first).segments[0].text == "one"
    assert text_of(tmp_path) == "three"
    assert not list(tmp_path.rglob(".*tmp*")), "atomic writes leave no temporary files"


def test_revert_restores_and_keeps_what_it_replaces(tmp_path: Path) -> None:
    for text in ("one", "two", "three"):
        save_document(tmp_path, document(text))
    kept = revert(tmp_path)
    assert text_of(tmp_path) == "two" and kept is not None
    assert load_document(kept).segments[0].text == "three"  # the revert can be undone
    oldest = list_history(tmp_path)[0]
    revert(tmp_path, oldest.stamp[:-3])  # a unique prefix is enough
    assert text_of(tmp_path) == "one"
    with pytest.raises(InputError, match="matches no saved version"):
        revert(tmp_path, "19990101")


def test_a_damaged_backup_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    save_document(tmp_path, document("one"))
    save_document(tmp_path, document("two"))
    list_history(tmp_path)[-1].path.write_text("{not json", encoding="utf-8")
    before = (tmp_path / "episode.json").read_bytes()
    with pytest.raises(InputError, match="is not a valid episode document"):
        revert(tmp_path)
    assert (tmp_path / "episode.json").read_bytes() == before
    assert len(list_history(tmp_path)) == 1


def test_no_history_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="has no saved versions"):
        revert(tmp_path)


def test_cli_lists_and_reverts_then_re_renders(edit_episode: Path) -> None:
    vtt = edit_episode / f"{DEMO.name}.vtt"
    original = vtt.read_text()
    fix_first_word(edit_episode, "Zanzibar")  # not what recognition and cleaning wrote
    runner = CliRunner()
    assert runner.invoke(cli, ["render", str(edit_episode)]).exit_code == 0
    assert vtt.read_text() != original
    listed = runner.invoke(cli, ["render", "--list-history", str(edit_episode)])
    assert listed.exit_code == 0 and "episode-" in listed.output
    result = runner.invoke(cli, ["render", "--revert", str(edit_episode)])
    assert result.exit_code == 0, result.output
    assert "restored episode-" in result.output
    assert vtt.read_text() == original
