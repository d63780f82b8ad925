"""The episode document: the one editable source of truth for everything a listener sees.

Every transcript format, the chapters and the MP3's lyrics and chapter frames are rendered from
an :class:`EpisodeDocument` and only from it, so an editor's fix reaches every output.

All times are seconds on the *published* timeline (the MP3, content warning included): the
pipeline shifts recognition and diarization times by the intro's offset once, when it builds the
document, and nothing downstream shifts anything again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

# 2: a word may record what recognition heard before a correction (``Word.original``, written
# only when set; ``Word.joined`` marks the further words of one correction written as several).
# Version 1 documents load unchanged: they simply have no corrections recorded.
SCHEMA_VERSION = 2

# Speaker id of the content-warning segment that opens every transcript.
WARNING_SPEAKER_ID = "warning"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Word(_Model):
    """One recognised word, punctuation attached (``"partnership,"``).

    ``overlap`` is true when someone else was talking too while the word was said (crosstalk):
    ``speaker`` is still the one person the word is attributed to (who said it, as
    :func:`ppod_audio.transcript.segments.assign_speakers` decides). It is written to
    ``episode.json`` only where true, so a document without crosstalk looks exactly as before
    and older documents read unchanged.
    """

    text: str
    start: float
    end: float
    probability: float | None = None
    speaker: str | None = None
    original: str | None = Field(
        None, description="What recognition heard, when a correction replaced it (to undo)."
    )
    overlap: bool = False
    joined: bool = Field(
        False,
        description=(
            "Part of the correction of the word before: one correction written as several words"
            ' ("Beapod" -> "P Pod"), each recording the whole heard phrase; undone together.'
        ),
    )
    heard_again: bool | None = Field(
        None,
        description="Whether a second hearing of a word the shading rule doubted heard the "
        "same word there (None: not heard again); shading keeps only the ones it did not.",
    )

    disputed: int | None = Field(
        None,
        description="How many of beam search's runner-up hypotheses wrote another word here "
        "(None: not recorded); shading doubts a word the decode itself hesitated over.",
    )

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave ``original``, ``overlap``, ``joined`` and ``heard_again`` out when unset:
        documents without corrections, crosstalk or a second hearing stay exactly as small as
        before, and older readers see nothing new."""
        data = handler(self)
        if data.get("original") is None:
            data.pop("original", None)
        if not self.overlap:
            data.pop("overlap", None)
        if not self.joined:
            data.pop("joined", None)
        if self.heard_again is None:
            data.pop("heard_again", None)
        if self.disputed is None:
            data.pop("disputed", None)
        return data


def one_correction(written: list[Word], heard: str) -> list[Word]:
    """``written`` as one correction of the phrase ``heard``: every word records the phrase
    and all but the first are ``joined`` to the word before, so the editor undoes them together
    and puts the phrase back once (a word each recording it alone would put it back once per
    word). Where as many words are written as were heard, pair them instead, word by word."""
    return [
        w.model_copy(update={"original": heard, "joined": i > 0}) for i, w in enumerate(written)
    ]


@dataclass(frozen=True)
class Turn:
    """``speaker`` talks from ``start`` to ``end`` seconds.

    Turns of different speakers may overlap in time (crosstalk). Where a diarizer knows who
    dominates an overlap (pyannote does), the one who does not holds an ``overlap`` turn there:
    they talk too, under someone else. A word said there goes to the talker whose sentence
    the recogniser wrote on through the overlap, else to the dominant speaker
    (:func:`ppod_audio.transcript.segments.assign_speakers`); RTTM and scoring count both.
    """

    start: float
    end: float
    speaker: str
    overlap: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start


class Segment(_Model):
    """A paragraph spoken by one speaker.

    ``text`` is what is published; ``words`` carry the timings. When a segment has words its text
    is their texts joined by spaces (:func:`segment_from_words` keeps that true); the
    content-warning segment has text and no words.
    """

    speaker: str | None
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)


class Speaker(_Model):
    id: str
    name: str
    role: str | None = None


class Chapter(_Model):
    start: float
    title: str
    end: float | None = None


class AudioEdit(_Model):
    """One edit that changes the audio: a redaction (tone or silence), a cut, or a tidy cut.

    ``start``/``end`` are seconds on the *raw recording's* clock (as the speech models heard
    it), not the published one: a re-run with another content warning or a new trim puts the
    edit on the same sound. No words are stored here: a redacted word survives only in
    ``history/`` (:mod:`ppod_audio.edit.audio_edits`).
    """

    id: str
    kind: Literal["redact", "cut", "tidy"]
    start: float
    end: float
    mode: Literal["tone", "silence"] | None = Field(
        None, description="Redactions: tone or silence; unset, show.toml's redact_with."
    )
    made: str | None = Field(None, description="When the edit was made (ISO 8601).")
    before: str | None = Field(
        None, description="The history/ version the edit replaced (what an undo goes back to)."
    )


class EpisodeInfo(_Model):
    slug: str
    title: str
    show: str
    season: int | None = None
    number: int | None = None
    date: str | None = None
    description: str | None = None
    language: str = "en"
    author: str | None = None
    publisher: str | None = None
    copyright: str | None = None
    website: str | None = None
    genre: str = "Podcast"
    cover: str | None = Field(None, description="Cover image file beside the document.")


class EpisodeDocument(_Model):
    """``episode.json``: metadata, speakers, segments with words, chapters."""

    schema_version: int = SCHEMA_VERSION
    episode: EpisodeInfo
    audio: str = Field(description="The published MP3, relative to the document's folder.")
    duration: float
    intro_offset: float = Field(
        0.0, description="Seconds the content warning adds before the programme starts."
    )
    speakers: list[Speaker] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)
    chapters: list[Chapter] = Field(default_factory=list)
    model: str | None = Field(None, description="The speech model that made the words.")
    audio_edits: list[AudioEdit] = Field(
        default_factory=list, description="Redactions and cuts applied to the audio, in order."
    )
    vocabulary: list[str] = Field(
        default_factory=list,
        description="The show's names and terms the words were corrected against: the editor "
        "does not shade them as unsure (written only when set).",
    )

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave ``audio_edits`` and ``vocabulary`` out when empty: a document without them is
        written exactly as before they existed, and readers of schema 2 see nothing new."""
        data = handler(self)
        for name in ("audio_edits", "vocabulary"):
            if not data.get(name):
                data.pop(name, None)
        return data

    def speaker_name(self, speaker_id: str | None) -> str:
        for speaker in self.speakers:
            if speaker.id == speaker_id:
                return speaker.name
        return speaker_id or "Unknown speaker"

    def speaker_label(self, speaker_id: str | None) -> str:
        """``Name - Role`` as the house style prints it above a paragraph."""
        for speaker in self.speakers:
            if speaker.id == speaker_id:
                return f"{speaker.name} - {speaker.role}" if speaker.role else speaker.name
        return speaker_id or "Unknown speaker"

    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]

    def plain_text(self) -> str:
        return "\n\n".join(segment.text for segment in self.segments)


def segment_from_words(words: list[Word], speaker: str | None) -> Segment:
    return Segment(
        speaker=speaker,
        start=words[0].start,
        end=words[-1].end,
        text=" ".join(word.text for word in words),
        words=words,
    )


def load_document(path: Path) -> EpisodeDocument:
    return EpisodeDocument.model_validate_json(Path(path).read_text(encoding="utf-8"))


def document_json(document: EpisodeDocument) -> str:
    return json.dumps(document.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"
