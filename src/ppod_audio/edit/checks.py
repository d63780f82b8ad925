"""What an episode document must satisfy before anything is published from it.

A document reaches ``ppod render`` and the editor from people (a hand edit, a web page's save),
so it is checked whole before the first byte is written:

* every file it names stays inside the episode's folder (:mod:`ppod_audio.paths`): the MP3 it
  re-tags (which must be an MP3), the cover it embeds, the stem the transcripts are named after;
* every time is a finite number on the published programme: not negative, no end before its
  start, nothing starting after the end, and the programme no longer than the MP3 itself (so a
  chapter at 1e12 s cannot be made to fit by claiming a longer programme).

A refusal is one :class:`InputError` line naming ``episode.json`` and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..paths import inside, plain_name
from ..transcript.model import EpisodeDocument

DOCUMENT_FILE = "episode.json"
# A word (or paragraph) that starts before the end may run past it: the recogniser's last
# word can end in trailing silence the cleaner trimmed (the renderers clamp it). A longer
# overhang is not a timing, it is a typo or an attack.
END_SLACK_SECONDS = 10.0
# An MP3's length as mutagen reads it differs from the mastered duration by encoder padding.
MP3_SLACK_SECONDS = 1.0


@dataclass(frozen=True)
class DocumentFiles:
    """The files a document names, resolved inside its folder."""

    mp3: Path
    cover: Path | None
    stem: str
    mp3_seconds: float


def mp3_seconds(path: Path, source: Path | str) -> float:
    """The length of the MP3 ``path``, or an error if it is not one (tagging any other file
    would prepend an ID3 header to it)."""
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    try:
        return float(MP3(path).info.length)
    except (MutagenError, OSError) as error:
        raise InputError(
            f"audio = {path.name!r} is not a readable MP3 ({error})",
            source,
            "name the episode's MP3 (re-run `ppod process` if it is gone)",
        ) from None


def document_files(document: EpisodeDocument, folder: Path) -> DocumentFiles:
    """The MP3, cover and transcript stem ``document`` names, each confined to ``folder``."""
    source = Path(folder) / DOCUMENT_FILE
    info = document.episode
    stem = plain_name(folder, info.slug, source=source, field="episode.slug")
    mp3 = inside(folder, document.audio, source=source, field="audio")
    if mp3.suffix.lower() != ".mp3":
        raise InputError(f"audio = {document.audio!r} is not an .mp3", source, "name the MP3")
    if not mp3.is_file():
        raise InputError(
            f"has no {document.audio}", folder, "run `ppod process` for this episode first"
        )
    cover = inside(folder, info.cover, source=source, field="episode.cover") if info.cover else None
    return DocumentFiles(mp3, cover, stem, mp3_seconds(mp3, source))


def _time(value: float, field: str, source: Path) -> float:
    if not math.isfinite(value):
        raise InputError(f"{field} is {value}, not a time", source, "give seconds as a number")
    if value < 0:
        raise InputError(f"{field} = {value} is negative", source, "give a time from 0")
    return value


def _span(start: float, end: float, field: str, duration: float, source: Path) -> None:
    _time(start, f"{field}.start", source)
    _time(end, f"{field}.end", source)
    if end < start:
        raise InputError(f"{field} ends ({end}) before it starts ({start})", source, "fix it")
    if start > duration:
        raise InputError(
            f"{field} starts at {start} s, after the end of the programme ({duration} s)",
            source,
            "give a time inside the episode",
        )
    if end > duration + END_SLACK_SECONDS:
        raise InputError(
            f"{field} ends at {end} s, past the end of the programme ({duration} s)",
            source,
            "give a time inside the episode",
        )


def check_times(document: EpisodeDocument, programme_seconds: float, source: Path) -> None:
    """Every time in ``document`` finite and on a programme no longer than the MP3."""
    duration = _time(document.duration, "duration", source)
    if duration == 0 or duration > programme_seconds + MP3_SLACK_SECONDS:
        raise InputError(
            f"duration = {duration} s does not match the MP3 ({programme_seconds:.3f} s)",
            source,
            "restore the duration `ppod process` wrote (ppod render --revert)",
        )
    offset = _time(document.intro_offset, "intro_offset", source)
    if offset > duration:
        raise InputError(f"intro_offset = {offset} is past the end", source, "restore it")
    for s, segment in enumerate(document.segments):
        _span(segment.start, segment.end, f"segments[{s}]", duration, source)
        for w, word in enumerate(segment.words):
            _span(word.start, word.end, f"segments[{s}].words[{w}]", duration, source)
            if word.probability is not None and not 0 <= word.probability <= 1:
                raise InputError(
                    f"segments[{s}].words[{w}].probability = {word.probability} is not 0-1",
                    source,
                    "remove it",
                )
    for c, chapter in enumerate(document.chapters):
        end = chapter.end if chapter.end is not None else duration
        _span(chapter.start, end, f"chapters[{c}]", duration, source)
        if chapter.start >= duration:
            raise InputError(
                f"chapters[{c}] starts at {chapter.start} s, at or after the end ({duration} s)",
                source,
                "give a time inside the episode",
            )


def check_document(document: EpisodeDocument, folder: Path) -> DocumentFiles:
    """Everything :mod:`ppod_audio.edit.checks` promises, or one :class:`InputError`."""
    files = document_files(document, folder)
    check_times(document, files.mp3_seconds, Path(folder) / DOCUMENT_FILE)
    return files
