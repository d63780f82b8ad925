"""Writing what listeners get from the episode document: transcripts, chapters and MP3 tags.

Everything here reads the document (and the cover beside it), never the audio or a model, which
is what lets ``ppod render`` re-publish an edited transcript in well under a second.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from .config import ShowConfig
from .edit.history import document_path, recognised_path
from .fileio import file_sha256, write_bytes
from .tags import ChapterMark, EpisodeTags, write_tags
from .transcript.formats import render_lyrics, write_all
from .transcript.model import (
    WARNING_SPEAKER_ID,
    EpisodeDocument,
    document_json,
)

REPORT_FILE = "report.json"


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def read_report(output_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(output_dir) / REPORT_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def episode_tags(document: EpisodeDocument, folder: Path) -> EpisodeTags:
    info = document.episode
    cover = folder / info.cover if info.cover else None
    return EpisodeTags(
        title=info.title,
        artist=info.author or info.show,
        album=info.show,
        album_artist=info.author or info.show,
        genre=info.genre,
        track=info.number,
        disc=info.season,
        date=info.date,
        description=info.description,
        copyright=info.copyright,
        publisher=info.publisher,
        language=info.language,
        website=info.website,
        cover=cover if cover and cover.is_file() else None,
        lyrics=render_lyrics(document) if document.segments else None,
        chapters=[
            ChapterMark(c.start, c.end if c.end is not None else document.duration, c.title)
            for c in document.chapters
        ],
    )


def publish_document(
    document: EpisodeDocument, output_dir: Path, mp3: Path, *, id3_version: int = 3
) -> None:
    """Render every transcript format and re-tag ``mp3`` from ``document``.

    ``episode.json`` is the caller's to write: an editor's save has written it already (once,
    with its history kept), the pipeline writes it in :func:`publish_transcripts`.
    """
    write_all(document, output_dir, document.episode.slug)
    write_tags(mp3, episode_tags(document, output_dir), version=id3_version)


def publish_transcripts(
    document: EpisodeDocument, output_dir: Path, show: ShowConfig, mp3: Path
) -> str:
    """Write ``episode.json`` and everything rendered from it; return the SHA-256 of the
    ``episode.json`` bytes written (a hash of a re-read could describe an editor's save that
    landed in between, which the next run would then overwrite as the pipeline's own)."""
    if show.cover and document.episode.cover:
        source = show.path(show.cover)
        if source.is_file():
            shutil.copyfile(source, output_dir / document.episode.cover)
    data = document_json(document).encode("utf-8")
    write_bytes(document_path(output_dir), data)
    publish_document(document, output_dir, mp3, id3_version=show.mp3.id3_version)
    return hashlib.sha256(data).hexdigest()


# --- the editor's document and its history -----------------------------------------------------


def document_sha256(output_dir: Path) -> str | None:
    path = document_path(output_dir)
    return file_sha256(path) if path.is_file() else None


def edited_document(
    output_dir: Path, previous: dict[str, Any] | None
) -> tuple[bytes, EpisodeDocument | None] | None:
    """``episode.json`` if a person changed it since the pipeline wrote it: its bytes (read
    once, so what is hashed, parsed and kept in history is the same file) and the document,
    ``None`` when it no longer parses. ``None`` when nobody edited it."""
    path = document_path(output_dir)
    if previous is None or not path.is_file():
        return None
    data = path.read_bytes()
    if previous.get("keys", {}).get("document") == hashlib.sha256(data).hexdigest():
        return None
    try:
        return data, EpisodeDocument.model_validate_json(data)
    except ValueError:
        return data, None


def save_recognised(output_dir: Path, machine: EpisodeDocument) -> None:
    """The machine's own transcript, kept so corrections can be learnt from the difference."""
    write_bytes(recognised_path(output_dir), document_json(machine).encode("utf-8"))


def refresh_edited(edited: EpisodeDocument, machine: EpisodeDocument) -> EpisodeDocument:
    """The editor's segments on this run's clock, with this run's metadata and chapters.

    The content warning is not the editor's: it always comes from this run (show.toml's text),
    its speaker entry too, so switching the warning off or renaming its voice takes effect.
    """
    delta = machine.intro_offset - edited.intro_offset
    segments = [s for s in machine.segments[:1] if s.speaker == WARNING_SPEAKER_ID]
    speakers = [s for s in machine.speakers if s.id == WARNING_SPEAKER_ID] + [
        s for s in edited.speakers if s.id != WARNING_SPEAKER_ID
    ]
    for segment in edited.segments:
        if segment.speaker == WARNING_SPEAKER_ID:
            continue
        words = [
            w.model_copy(update={"start": w.start + delta, "end": w.end + delta})
            for w in segment.words
        ]
        segments.append(
            segment.model_copy(
                update={"start": segment.start + delta, "end": segment.end + delta, "words": words}
            )
        )
    return edited.model_copy(
        update={
            "episode": machine.episode,
            "audio": machine.audio,
            "duration": machine.duration,
            "intro_offset": machine.intro_offset,
            "chapters": machine.chapters,
            "speakers": speakers,
            "segments": segments,
        }
    )
