"""Saving an edited document: made consistent, the previous version kept, then re-published.

Both editors (the browser and the text file) end here, so the rules that keep a document
publishable live in one place: a segment's text is its words joined by spaces (the caption
renderers rely on one text token per timed word), a word edited into several ("Peapod" ->
"P Pod") becomes several words sharing its time, and a speaker no paragraph uses is dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..staging import staged
from ..transcript.clean import spread
from ..transcript.model import EpisodeDocument, Segment, Word, document_json, segment_from_words
from .audio_edits import keep_redacted
from .checks import check_document
from .history import revision_of, stage_save
from .render import (
    RenderResult,
    load_episode_bytes,
    read_report,
    refresh_from_manifest,
    stage_render,
    text_edit_note,
)


@dataclass
class SaveResult:
    """What a save did; ``document`` is what ``episode.json`` now holds and ``revision`` the
    sha256 of its bytes, so a caller need not read back what was just written."""

    backup: Path | None
    render: RenderResult
    document: EpisodeDocument
    revision: str
    notes: list[str] = field(default_factory=list)


def _split(word: Word) -> list[Word]:
    texts = tuple(word.text.split())
    if len(texts) == 1 and texts[0] == word.text:
        return [word]
    if len(texts) == 1:
        return [word.model_copy(update={"text": texts[0]})]
    return [
        word.model_copy(update={"text": text, "start": start, "end": end})
        for text, (start, end) in zip(texts, spread(word.start, word.end, texts), strict=True)
    ]


def tidy(document: EpisodeDocument) -> EpisodeDocument:
    """The document with every segment's text matching its words, and only used speakers."""
    segments: list[Segment] = []
    for segment in document.segments:
        if not segment.words:
            if segment.text.strip():
                segments.append(segment.model_copy(update={"text": " ".join(segment.text.split())}))
            continue
        words = [
            piece.model_copy(update={"speaker": segment.speaker})
            for word in segment.words
            for piece in _split(word)
        ]
        if not words:
            continue  # every word deleted: the paragraph goes
        segments.append(segment_from_words(words, segment.speaker))
    used = {segment.speaker for segment in segments}
    return document.model_copy(
        update={"segments": segments, "speakers": [s for s in document.speakers if s.id in used]}
    )


def save_and_render(
    output_dir: Path, document: EpisodeDocument, *, keep_text: bool = True
) -> SaveResult:
    """Keep the previous ``episode.json``, write ``document``, re-publish every output.

    ``keep_text=False`` when ``document`` was folded from the text file itself. The document
    is checked whole (:mod:`ppod_audio.edit.checks`) before anything is written, and the
    history entry, ``episode.json`` and every output are published together or not at all.
    """
    started = time.perf_counter()
    document = keep_redacted(tidy(document), read_report(output_dir))
    # Refreshed before saving, so a changed manifest does not make a second save (and backup).
    document, refreshed = refresh_from_manifest(document, output_dir, read_report(output_dir))
    check_document(document, output_dir)
    with staged(output_dir) as staging:
        notes = []
        if keep_text:  # the document being replaced, whatever it holds (a revert repairs it)
            notes = text_edit_note(output_dir, load_episode_bytes(output_dir, checked=False)[0],
                                   staging)  # fmt: skip
        data = document_json(document).encode("utf-8")
        kept = stage_save(staging, output_dir, data)
        result = stage_render(staging, output_dir, document, refresh=False)
    result.seconds = time.perf_counter() - started
    revision = revision_of(data)
    return SaveResult(kept, result, document, revision, notes + refreshed + result.notes)
