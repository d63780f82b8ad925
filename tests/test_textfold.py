"""Folding an edited house-style text file back into episode.json, timings kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEMO, recurring_word

from ppod_audio.cli import cli
from ppod_audio.edit.textfold import fold_text
from ppod_audio.errors import InputError
from ppod_audio.transcript.formats import render_txt
from ppod_audio.transcript.model import (
    EpisodeDocument,
    EpisodeInfo,
    Segment,
    Speaker,
    Word,
    load_document,
    segment_from_words,
)

TXT = Path("episode.txt")


def words(text: str, start: float, speaker: str) -> list[Word]:
    """Half-second words from ``start``, each with its own confidence."""
    return [
        Word(text=t, start=start + i * 0.5, end=start + i * 0.5 + 0.4, probability=0.9,
             speaker=speaker)
        for i, t in enumerate(text.split())
    ]  # fmt: skip


@pytest.fixture
def document() -> EpisodeDocument:
    return EpisodeDocument(
        episode=EpisodeInfo(slug="ep", title="Test", show="The P Pod", season=1, number=2),
        audio="ep.mp3",
        duration=60.0,
        intro_offset=5.0,
        speakers=[
            Speaker(id="warning", name="Content warning"),
            Speaker(id="S1", name="Steve Macabee", role="Training Manager"),
            Speaker(id="S2", name="Jasmine Wark", role="Business Manager"),
        ],
        segments=[
            Segment(speaker="warning", start=0.0, end=4.3, text="Please note: adults only."),
            segment_from_words(
                words("Welcome to the Peapod, the partnership podcast.", 5, "S1"), "S1"
            ),  # fmt: skip
            segment_from_words(words("So Jasmine, introduce yourself?", 10, "S1"), "S1"),
            segment_from_words(words("Hi, I'm Jasmine from the partnership.", 15, "S2"), "S2"),
        ],
    )


def fold(document: EpisodeDocument, text: str) -> EpisodeDocument:
    return fold_text(text, document, TXT).document


def timings(document: EpisodeDocument) -> dict[str, tuple[float, float]]:
    return {w.text: (w.start, w.end) for w in document.words()}


def test_unchanged_text_folds_to_the_same_document(document: EpisodeDocument) -> None:
    result = fold_text(render_txt(document), document, TXT)
    assert not result.changed
    assert result.document == document


def test_fixed_words_keep_every_unchanged_timing(document: EpisodeDocument) -> None:
    text = render_txt(document).replace("Peapod,", "P Pod,").replace("I'm", "I am")
    folded = fold(document, text)
    before, after = document.words(), folded.words()
    kept = {(w.text, w.start, w.end, w.probability) for w in before}
    untouched = [w for w in after if w.text not in {"P", "Pod,", "I", "am"}]
    assert untouched and all((w.text, w.start, w.end, w.probability) in kept for w in untouched)
    # "Peapod," (5.0+1.5 .. 6.9) -> "P Pod,": both inside the span they replace, in order.
    p, pod = (w for w in after if w.text in {"P", "Pod,"})
    assert 6.5 <= p.start < p.end <= pod.start < pod.end <= 6.9
    assert p.probability is None  # a person wrote it: no recogniser confidence
    for segment in folded.segments[1:]:
        assert segment.text == " ".join(w.text for w in segment.words)


def test_one_for_one_replacement_takes_the_replaced_words_timing(
    document: EpisodeDocument,
) -> None:
    folded = fold(document, render_txt(document).replace("Peapod,", "Pod,"))
    assert timings(folded)["Pod,"] == timings(document)["Peapod,"]


def test_inserted_words_go_between_their_neighbours(document: EpisodeDocument) -> None:
    text = render_txt(document).replace("the partnership podcast", "the partnership's own podcast")
    folded = fold(document, text)
    own = next(w for w in folded.words() if w.text == "own")
    before = timings(document)
    assert before["partnership"][0] <= own.start <= own.end <= before["podcast."][1]
    assert timings(folded)["podcast."] == before["podcast."]


def test_punctuation_and_case_fixes_keep_timings(document: EpisodeDocument) -> None:
    folded = fold(document, render_txt(document).replace("So Jasmine,", "So, Jasmine,"))
    assert timings(folded)["So,"] == timings(document)["So"]


def test_merging_and_splitting_paragraphs_keep_timings(document: EpisodeDocument) -> None:
    text = render_txt(document).replace("podcast.\n\nSo Jasmine", "podcast. So Jasmine")
    merged = fold(document, text)
    assert len(merged.segments) == len(document.segments) - 1
    assert [(w.start, w.end) for w in merged.words()] == [
        (w.start, w.end) for w in document.words()
    ]
    split = fold(document, render_txt(document).replace("Peapod, the", "Peapod,\n\nthe"))
    assert len(split.segments) == len(document.segments) + 1
    assert split.words() == document.words()


def test_renamed_speaker_line_applies_to_that_paragraph(document: EpisodeDocument) -> None:
    text = render_txt(document).replace(
        "Jasmine Wark - Business Manager", "Rebecca Leggett - Business Officer"
    )
    folded = fold(document, text)
    last = folded.segments[-1]
    rebecca = next(s for s in folded.speakers if s.name == "Rebecca Leggett")
    assert last.speaker == rebecca.id and rebecca.role == "Business Officer"
    assert all(w.speaker == rebecca.id for w in last.words)
    assert [(w.start, w.end) for w in last.words] == [
        (w.start, w.end) for w in document.segments[-1].words
    ]
    assert all(s.name != "Jasmine Wark" for s in folded.speakers)  # no paragraph left: dropped


def test_a_known_name_alone_is_that_speaker(document: EpisodeDocument) -> None:
    text = render_txt(document).replace("Jasmine Wark - Business Manager", "Steve Macabee")
    folded = fold(document, text)
    assert {s.speaker for s in folded.segments[1:]} == {"S1"}


def test_text_without_a_speaker_is_refused_with_its_line(document: EpisodeDocument) -> None:
    text = render_txt(document).replace("Content warning\n\n", "")
    line = text.splitlines().index("Please note: adults only.") + 1
    with pytest.raises(InputError, match=rf"episode\.txt:{line}: .*no speaker line"):
        fold(document, text)


def test_a_speaker_line_without_a_paragraph_is_refused(document: EpisodeDocument) -> None:
    text = render_txt(document).replace("Hi, I'm Jasmine from the partnership.\n", "")
    with pytest.raises(InputError, match=r"episode\.txt:\d+: this speaker line has no paragraph"):
        fold(document, text)


def test_the_content_warning_stays_a_paragraph_without_words(document: EpisodeDocument) -> None:
    folded = fold(document, render_txt(document).replace("adults only.", "adults, only."))
    warning = folded.segments[0]
    assert warning.words == [] and warning.text == "Please note: adults, only."
    assert (warning.start, warning.end) == (0.0, 4.3)


# --- end to end on the demo ---------------------------------------------------------------------


def test_render_from_text_updates_outputs_and_keeps_timings(edit_episode: Path) -> None:
    import re

    slug = DEMO.name
    before = load_document(edit_episode / "episode.json")
    wrong = recurring_word(edit_episode)  # a word recognised several times, fixed everywhere
    right = wrong[::-1]
    txt = edit_episode / f"{slug}.txt"
    txt.write_text(re.sub(rf"\b{wrong}\b", right, txt.read_text()), encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", "--from-text", str(edit_episode)])
    assert result.exit_code == 0, result.output
    after = load_document(edit_episode / "episode.json")
    vtt = (edit_episode / f"{slug}.vtt").read_text()
    assert not re.search(rf"\b{wrong}\b", vtt) and right in vtt
    old = [(w.text, w.start, w.end) for w in before.words() if w.text != wrong]
    assert old == [(w.text, w.start, w.end) for w in after.words() if w.text != right]
    moved = [(w.start, w.end) for w in before.words() if w.text == wrong]
    assert moved == [(w.start, w.end) for w in after.words() if w.text == right]
    assert len(list((edit_episode / "history").glob("episode-*.json"))) == 1


def test_refused_text_edit_leaves_every_file_untouched(edit_episode: Path) -> None:
    txt = edit_episode / f"{DEMO.name}.txt"
    lines = txt.read_text().splitlines()
    first_label = lines.index("Content warning")
    del lines[first_label]
    orphan = next(i for i in range(first_label, len(lines)) if lines[i].strip()) + 1
    txt.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def files() -> dict[Path, bytes]:  # history/ included: a refused fold keeps nothing there
        return {p.relative_to(edit_episode): p.read_bytes() for p in edit_episode.rglob("*")
                if p.is_file()}  # fmt: skip

    snapshot = files()
    result = CliRunner().invoke(cli, ["render", "--from-text", str(edit_episode)])
    assert result.exit_code == 2
    assert f"{DEMO.name}.txt:{orphan}: this paragraph has no speaker line" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert snapshot == files()
    assert json.loads((edit_episode / "episode.json").read_text())  # still the valid original


def test_a_corrected_words_original_survives_a_text_edit(document: EpisodeDocument) -> None:
    """Cleaning records what recognition heard (``Word.original``, for the editor's undo); an
    edit of the text elsewhere must not erase that record from the words it keeps."""
    segment = document.segments[3]
    corrected = [
        w.model_copy(update={"original": "Jasmin"}) if w.text == "Jasmine" else w
        for w in segment.words
    ]
    document.segments[3] = segment.model_copy(update={"words": corrected})
    folded = fold(document, render_txt(document).replace("introduce", "please introduce"))
    originals = {w.text: w.original for w in folded.words() if w.original}
    assert originals == {"Jasmine": "Jasmin"}


def test_a_correction_of_several_words_stays_one_through_a_text_edit(
    document: EpisodeDocument,
) -> None:
    """A correction written as several words (``Word.joined``, issue #12) is still one after an
    edit of the text elsewhere, so the editor still undoes it as one."""
    heard = words("Welcome to the P Pod, the partnership podcast.", 5, "S1")
    heard[3:5] = [
        w.model_copy(update={"original": "Peapod,", "joined": k == 1})
        for k, w in enumerate(heard[3:5])
    ]
    document.segments[1] = segment_from_words(heard, "S1")
    folded = fold(document, render_txt(document).replace("introduce", "please introduce"))
    marked = [(w.text, w.original, w.joined) for w in folded.words() if w.original]
    assert marked == [("P", "Peapod,", False), ("Pod,", "Peapod,", True)]
