"""``ppod glossary learn``: corrections an editor made become glossary entries."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner
from conftest import recurring_word

from ppod_audio.cli import cli
from ppod_audio.edit.history import save_document
from ppod_audio.edit.learn import Proposal, add_replacements, propose
from ppod_audio.outputs import recognised_path
from ppod_audio.transcript.clean import CleanOptions, clean_words
from ppod_audio.transcript.glossary import load_glossary
from ppod_audio.transcript.model import (
    EpisodeDocument,
    EpisodeInfo,
    Word,
    load_document,
    segment_from_words,
)


def document(*paragraphs: str) -> EpisodeDocument:
    segments, start = [], 0.0
    for text in paragraphs:
        words = []
        for token in text.split():
            words.append(Word(text=token, start=start, end=start + 0.4, speaker="S1"))
            start += 0.5
        segments.append(segment_from_words(words, "S1"))
    return EpisodeDocument(
        episode=EpisodeInfo(slug="ep", title="T", show="S"), audio="ep.mp3", duration=start,
        segments=segments,
    )  # fmt: skip


def test_consistent_corrections_are_proposed_with_counts() -> None:
    recognised = document(
        "Welcome to the Peapod, the podcast.",
        "Peapod is made by the SCP and their partners.",
        "Thanks for listening to the Peapod.",
        "Their work is safe larding children.",
    )
    corrected = document(
        "Welcome to the P Pod, the podcast.",
        "P Pod is made by the SSCP and their partners.",
        "Thanks for listening to the P Pod.",
        "There work is safeguarding children.",
    )
    proposals = propose(recognised, corrected)
    assert proposals[0] == Proposal("Peapod", "P Pod", 3)
    assert Proposal("SCP", "SSCP", 1) in proposals
    assert Proposal("safe larding", "safeguarding", 1) in proposals
    # "Their" was left alone once: replacing it everywhere would undo that, so it is not offered.
    assert all(p.wrong.lower() != "their" for p in proposals)


def test_entries_are_appended_to_the_replace_table_keeping_comments(tmp_path: Path) -> None:
    path = tmp_path / "glossary.toml"
    path.write_text(
        '# The glossary\nterms = ["P Pod"]\n\n[replace]\n# wrong -> right\n"PPod" = "P Pod"\n\n'
        "# trailing comment\n",
        encoding="utf-8",
    )
    add_replacements(path, [Proposal("Peapod", "P Pod", 3), Proposal('say "hi"', "hello", 1)])
    text = path.read_text()
    assert "# The glossary" in text and "# wrong -> right" in text and "# trailing comment" in text
    assert tomllib.loads(text)["replace"] == {
        "PPod": "P Pod", "Peapod": "P Pod", 'say "hi"': "hello"
    }  # fmt: skip
    bare = tmp_path / "bare.toml"
    bare.write_text('terms = ["SSCP"]\n', encoding="utf-8")
    add_replacements(bare, [Proposal("SCP", "SSCP", 1)])
    assert load_glossary(bare).replacements == (("SCP", "SSCP"),)


def correct(episode: Path, wrong: str, right: str) -> int:
    doc = load_document(episode / "episode.json")
    count = 0
    for segment in doc.segments:
        for word in segment.words:
            if wrong in word.text:
                word.text = word.text.replace(wrong, right)
                count += 1
        segment.text = " ".join(w.text for w in segment.words) if segment.words else segment.text
    save_document(episode, doc)
    return count


def test_learn_yes_adds_entries_that_fix_the_next_episode(edit_episode: Path) -> None:
    wrong = recurring_word(edit_episode)
    right = wrong[::-1]  # stands for the editor's spelling (a change of case is not a fix)
    seen = correct(edit_episode, wrong, right)
    assert seen >= 2
    result = CliRunner().invoke(cli, ["glossary", "learn", "--yes", str(edit_episode)])
    assert result.exit_code == 0, result.output
    assert f'"{wrong}" -> "{right}" (corrected {seen}x)' in result.output
    glossary_path = edit_episode.parents[1] / "raw_audio" / "glossary.toml"
    glossary = load_glossary(glossary_path)
    assert (wrong, right) in glossary.replacements
    assert "# Wrong -> right" in glossary_path.read_text()  # the file's comments survive
    heard = [Word(text=t, start=i, end=i + 0.5) for i, t in enumerate(["the", wrong, "team"])]
    fixed = clean_words(heard, CleanOptions(glossary=glossary))
    assert [w.text for w in fixed] == ["the", right, "team"]
    again = CliRunner().invoke(cli, ["glossary", "learn", "--yes", str(edit_episode)])
    assert "no new corrections" in again.output  # already in the glossary


def test_learn_asks_for_each_proposal(edit_episode: Path) -> None:
    wrong = recurring_word(edit_episode)
    correct(edit_episode, wrong, wrong[::-1])
    glossary_path = edit_episode.parents[1] / "raw_audio" / "glossary.toml"
    before = glossary_path.read_text()
    result = CliRunner().invoke(cli, ["glossary", "learn", str(edit_episode)], input="n\n" * 20)
    assert result.exit_code == 0, result.output
    assert "add? [Y/n]" in result.output and "added 0 of" in result.output
    assert glossary_path.read_text() == before


def test_learn_without_the_recognised_transcript_says_why(edit_episode: Path) -> None:
    recognised_path(edit_episode).unlink()
    result = CliRunner().invoke(cli, ["glossary", "learn", "--yes", str(edit_episode)])
    assert result.exit_code == 2
    assert "recognised.json: is missing" in result.output and "ppod process" in result.output


def test_learn_with_a_damaged_recognised_transcript_is_one_line(edit_episode: Path) -> None:
    recognised_path(edit_episode).write_text('{"episode": 3}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["glossary", "learn", "--yes", str(edit_episode)])
    assert result.exit_code == 2, result.output
    assert "recognised.json: is not a valid episode document (" in result.output
    assert "ppod process" in result.output
    assert len(result.output.strip().splitlines()) == 1
