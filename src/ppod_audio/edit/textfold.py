"""Folding an edited house-style ``<episode>.txt`` back into ``episode.json``.

An editor may fix words, merge or split paragraphs and change the speaker line above a paragraph
in any text editor. The text has no timings, so the edit is folded back by aligning its words
with the document's (:class:`difflib.SequenceMatcher` on case- and punctuation-free tokens):

* a word that is still there keeps its own start, end and confidence, whatever paragraph it
  now sits in (a fixed comma or capital counts as still there);
* replaced words share the time of the words they replace (one for one: each takes its
  predecessor's timing), and inserted words the gap between their neighbours;
* a speaker line applies to the paragraphs under it: a known name (or ``Name - Role``) is that
  speaker, an unknown one becomes a new speaker.

What cannot be folded back unambiguously is refused with ``<file>:<line>`` and nothing is
written: text above the first speaker line, a speaker line with no paragraph under it, or a
file with no transcript left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from pathlib import Path

from ..errors import InputError
from ..transcript.clean import match_key, spread
from ..transcript.formats import speaker_label, txt_header_lines
from ..transcript.model import (
    WARNING_SPEAKER_ID,
    EpisodeDocument,
    Segment,
    Speaker,
    Word,
    segment_from_words,
)

# A speaker line an editor typed: short, no sentence punctuation, "Name - Role" or a few
# capitalised words ("Jane Smith", "Speaker 3").
_LABEL_MAX_CHARS = 90
_LABEL_END = (".", "?", "!", ",", ";", ":", "\u2026", '"', "\u201d")
_NEW_NAME = re.compile(r"^(?:[A-Z0-9][\w.'\u2019-]*)(?: [A-Z0-9][\w.'\u2019-]*){0,4}$")


@dataclass
class Paragraph:
    """One paragraph of the edited file, with where it came from for error messages."""

    text: str
    line: int
    speaker: str | None = None


@dataclass
class FoldResult:
    document: EpisodeDocument
    changed: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class _Token:
    """An old word (real, or spread over a paragraph that has no word timings) or a new one."""

    text: str
    start: float
    end: float
    probability: float | None = None
    segment: int = -1  # the old segment it came from
    synthetic: bool = False  # from a segment without words (the content warning)
    original: str | None = None  # what recognition heard, when cleaning corrected the word
    joined: bool = False  # a further word of one correction written as several (Word.joined)


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines with the 1-based number of their first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line.strip())
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


class _Speakers:
    """Speaker lines to speaker ids: the document's speakers first, new ones as they appear."""

    def __init__(self, document: EpisodeDocument):
        self.document = document
        self.speakers = [speaker.model_copy() for speaker in document.speakers]
        self.labels: dict[str, str] = {}
        self.names: dict[str, str] = {}
        ids = [s.id for s in document.speakers]
        ids += [seg.speaker for seg in document.segments if seg.speaker and seg.speaker not in ids]
        for speaker_id in ids:
            self.labels[_fold(speaker_label(document, speaker_id))] = speaker_id
        for speaker in self.speakers:
            self.names.setdefault(_fold(speaker.name), speaker.id)
        if WARNING_SPEAKER_ID in ids:
            self.names.setdefault(
                _fold(speaker_label(document, WARNING_SPEAKER_ID)), WARNING_SPEAKER_ID
            )
        self.notes: list[str] = []

    def known(self, line: str) -> bool:
        folded = _fold(line)
        return folded in self.labels or folded in self.names

    def resolve(self, line: str) -> str:
        folded = _fold(line)
        if folded in self.labels:
            return self.labels[folded]
        name, _, role = (" ".join(line.split())).partition(" - ")
        name, role = name.strip(), role.strip() or None
        speaker_id = self.names.get(_fold(name))
        if speaker_id is not None:
            speaker = next((s for s in self.speakers if s.id == speaker_id), None)
            if speaker is not None and role and speaker.role != role:
                self.notes.append(f"{speaker.name}'s role is now {role!r}")
                speaker.role = role
            return speaker_id
        taken = {s.id for s in self.speakers}
        number = 1
        while f"E{number}" in taken:
            number += 1
        speaker = Speaker(id=f"E{number}", name=name, role=role)
        self.speakers.append(speaker)
        self.names[_fold(name)] = speaker.id
        self.labels[_fold(line)] = speaker.id
        self.notes.append(f"new speaker {name!r}")
        return speaker.id


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _looks_like_label(line: str) -> bool:
    """A line an editor typed as a new speaker line (not a known name)."""
    if len(line) > _LABEL_MAX_CHARS or line.endswith(_LABEL_END):
        return False
    name = line.partition(" - ")[0].strip()
    return bool(_NEW_NAME.match(name))


def parse_text(
    text: str, document: EpisodeDocument, path: Path
) -> tuple[list[Paragraph], _Speakers, list[str]]:
    """The edited file as paragraphs with speaker ids; refuses what cannot be attributed."""
    lines = text.splitlines()
    blocks = _blocks(lines)
    notes: list[str] = []
    header = [" ".join(line.split()) for line in txt_header_lines(document)]
    limit = len(header) + 2
    texts = [" ".join(block) for _, block in blocks[:limit]]
    if header[-1] in texts:
        end = texts.index(header[-1]) + 1
        if texts[:end] != header:
            notes.append("header lines are made from episode.toml; edit it there to change them")
        blocks = blocks[end:]
    speakers = _Speakers(document)
    original = {seg.text for seg in document.segments}
    any_speaker = any(seg.speaker for seg in document.segments)

    paragraphs: list[Paragraph] = []
    current: str | None = None
    label_line = 0
    label_used = True
    for first, block in blocks:
        lines_left = list(block)
        number = first
        head = lines_left[0]
        is_label = speakers.known(head) or (
            len(lines_left) == 1 and head not in original and _looks_like_label(head)
        )
        if is_label:
            if not label_used:
                raise _unused_label(path, label_line)
            current, label_line, label_used = speakers.resolve(head), number, False
            lines_left, number = lines_left[1:], number + 1
        if lines_left:
            if current is None and any_speaker:
                raise InputError(
                    "this paragraph has no speaker line above it",
                    f"{path}:{number}",
                    'put a "Name - Role" line and a blank line before it',
                )
            paragraphs.append(Paragraph(" ".join(" ".join(lines_left).split()), number, current))
            label_used = True
    if not label_used:
        raise _unused_label(path, label_line)
    if not paragraphs and document.segments:
        raise InputError(
            "has no transcript paragraphs left", path, "restore the text or use --revert"
        )
    return paragraphs, speakers, notes


def _unused_label(path: Path, line: int) -> InputError:
    return InputError(
        "this speaker line has no paragraph under it",
        f"{path}:{line}",
        "delete the line or put the paragraph it names under it",
    )


def _old_tokens(document: EpisodeDocument) -> list[_Token]:
    tokens: list[_Token] = []
    for index, segment in enumerate(document.segments):
        if segment.words:
            tokens += [
                _Token(
                    w.text,
                    w.start,
                    w.end,
                    w.probability,
                    index,
                    original=w.original,
                    joined=w.joined,
                )
                for w in segment.words
            ]
        else:
            texts = tuple(segment.text.split())
            for text, (start, end) in zip(
                texts, spread(segment.start, segment.end, texts), strict=True
            ):
                tokens.append(_Token(text, start, end, None, index, synthetic=True))
    return tokens


def _gap(old: list[_Token], at: int) -> tuple[float, float]:
    """Where words inserted before ``old[at]`` are heard: between their neighbours.

    Neighbours that touch leave no gap; the new words then share the time from the middle of
    the word before to the middle of the word after (the neighbours keep their own timings).
    """
    before = old[at - 1] if at > 0 else None
    after = old[at] if at < len(old) else None
    if before is None and after is None:
        return 0.0, 0.0
    low = before.end if before else after.start  # type: ignore[union-attr]
    high = after.start if after else before.end  # type: ignore[union-attr]
    if high - low < 0.05:
        low = (before.start + before.end) / 2 if before else low
        high = (after.start + after.end) / 2 if after else high
    return low, max(low, high)


def align(old: list[_Token], new_texts: list[str]) -> list[_Token]:
    """Timed tokens for ``new_texts``: kept words keep their times, changed ones interpolate."""
    matcher = SequenceMatcher(
        None, [match_key(t.text) for t in old], [match_key(t) for t in new_texts], autojunk=False
    )
    result: list[_Token] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        texts = new_texts[j1:j2]
        if tag == "equal":
            result += [replace(o, text=text) for text, o in zip(texts, old[i1:i2], strict=True)]
        elif tag == "delete":
            continue
        elif tag == "replace" and i2 - i1 == j2 - j1:
            result += [
                _Token(text, o.start, o.end, None, o.segment, o.synthetic)
                for text, o in zip(texts, old[i1:i2], strict=True)
            ]
        else:
            if tag == "replace":
                low, high = old[i1].start, max(old[i1].start, old[i2 - 1].end)
                segment, synthetic = old[i1].segment, old[i1].synthetic
            else:
                low, high = _gap(old, i1)
                segment, synthetic = -1, False
            for text, (start, end) in zip(texts, spread(low, high, tuple(texts)), strict=True):
                result.append(_Token(text, start, end, None, segment, synthetic))
    return result


def fold_text(text: str, document: EpisodeDocument, path: Path) -> FoldResult:
    """The document the edited text describes, every kept word with its original timing."""
    paragraphs, speakers, notes = parse_text(text, document, path)
    new_texts = [word for paragraph in paragraphs for word in paragraph.text.split()]
    tokens = align(_old_tokens(document), new_texts)
    segments: list[Segment] = []
    position = 0
    for paragraph in paragraphs:
        count = len(paragraph.text.split())
        mine, position = tokens[position : position + count], position + count
        segments.append(_segment(mine, paragraph, document))
    used = {segment.speaker for segment in segments}
    folded = document.model_copy(
        update={
            "segments": segments,
            "speakers": [s for s in speakers.speakers if s.id in used],
        }
    )
    notes += speakers.notes
    return FoldResult(folded, folded != document, notes)


def _segment(tokens: list[_Token], paragraph: Paragraph, document: EpisodeDocument) -> Segment:
    """A paragraph as a segment; one made only of a wordless segment's text stays wordless."""
    sources = {t.segment for t in tokens if t.segment >= 0}
    wordless = all(t.synthetic or t.segment < 0 for t in tokens)
    if sources and wordless and any(t.synthetic for t in tokens):
        old = [document.segments[i] for i in sorted(sources)]
        return Segment(
            speaker=paragraph.speaker,
            start=min(s.start for s in old),
            end=max(s.end for s in old),
            text=paragraph.text,
        )
    words = [
        Word(
            text=t.text,
            start=t.start,
            end=t.end,
            probability=t.probability,
            speaker=paragraph.speaker,
            original=t.original,
            joined=t.joined,
        )
        for t in tokens
    ]
    return segment_from_words(words, paragraph.speaker)


def read_text_file(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            "does not exist", path, "run `ppod render` to write it, then edit it"
        ) from None
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", path, "save it as UTF-8") from None


def fold_file(output_dir: Path, document: EpisodeDocument) -> FoldResult:
    """Fold ``<output_dir>/<slug>.txt`` into ``document``."""
    path = Path(output_dir) / f"{document.episode.slug}.txt"
    return fold_text(read_text_file(path), document, path)
