"""Transcripts of a bare audio file (``ppod transcribe``): the same renderers, no episode.

Wrapping the words in a one-speaker document means the stage command and the pipeline share
every renderer, instead of a second SRT/VTT writer drifting from the first.
"""

from __future__ import annotations

from .formats import render_srt, render_txt, render_vtt
from .model import EpisodeDocument, EpisodeInfo, Word, document_json
from .segments import build_segments


def words_document(words: list[Word], *, title: str, model: str | None) -> EpisodeDocument:
    duration = words[-1].end if words else 0.0
    return EpisodeDocument(
        episode=EpisodeInfo(slug=title, title=title, show=""),
        audio="",
        duration=duration,
        segments=build_segments(words) if words else [],
        model=model,
    )


def render_words(words: list[Word], fmt: str, *, title: str, model: str | None) -> str:
    document = words_document(words, title=title, model=model)
    if fmt == "json":
        return document_json(document)
    if fmt == "srt":
        return render_srt(document)
    if fmt == "vtt":
        return render_vtt(document)
    return render_txt(document, header=False)
