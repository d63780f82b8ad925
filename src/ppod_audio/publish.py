"""Writing what listeners get from the episode document: transcripts, chapters and MP3 tags.

Everything here reads the document (and the cover beside it), never the audio or a model, which
is what lets ``ppod render`` re-publish an edited transcript in well under a second.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .config import ShowConfig
from .fileio import file_sha256
from .outputs import document_path, recognised_path
from .paths import plain_name
from .staging import Staging
from .tags import ChapterMark, EpisodeTags, write_tags
from .transcript.formats import RENDERERS, render_lyrics
from .transcript.model import (
    WARNING_SPEAKER_ID,
    EpisodeDocument,
    document_json,
)

REPORT_FILE = "report.json"


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def read_report(output_dir: Path) -> dict[str, Any] | None:
    """``report.json`` as the last run wrote it (``status`` says whether that run failed)."""
    try:
        report = json.loads((Path(output_dir) / REPORT_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return report if isinstance(report, dict) else None


def published_report(output_dir: Path) -> dict[str, Any] | None:
    """The report of the run whose outputs are published: the last report if it succeeded,
    else the successful one a failed run kept (``last_ok``). A failed run publishes nothing,
    so its report must not hide the keys of what is published: without them the next run
    would take an editor's ``episode.json`` for the pipeline's own and replace it."""
    report = read_report(output_dir)
    if report is None or report.get("status") == "ok":
        return report
    last = report.get("last_ok")
    return last if isinstance(last, dict) else None


def failure_report(output_dir: Path, report: dict[str, Any]) -> dict[str, Any]:
    """``report`` (a failed run's) carrying the report of what is still published."""
    last = published_report(output_dir)
    if last is not None:
        report["last_ok"] = last
        report["previous"] = {"status": "ok", "finished": last.get("finished")}
    return report


def episode_tags(document: EpisodeDocument, cover: Path | None) -> EpisodeTags:
    """The MP3's tags; ``cover`` is the image file to embed, already confined by the caller."""
    info = document.episode
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


def stage_document(
    staging: Staging,
    document: EpisodeDocument,
    output_dir: Path,
    mp3: Path,
    *,
    cover: Path | None,
    id3_version: int = 3,
) -> None:
    """Stage every transcript format and tag ``mp3`` (a staged copy) from ``document``.

    Everything is rendered before the first file is staged; ``episode.json`` is the caller's.
    """
    stem = plain_name(output_dir, document.episode.slug, source=document_path(output_dir),
                      field="episode.slug")  # fmt: skip
    rendered = {suffix: render(document) for suffix, render in RENDERERS.values()}
    for suffix, text in rendered.items():
        staging.write_bytes(Path(output_dir) / f"{stem}{suffix}", text.encode("utf-8"))
    write_tags(mp3, episode_tags(document, cover), version=id3_version,
               source=document_path(output_dir))  # fmt: skip


def stage_transcripts(
    staging: Staging, document: EpisodeDocument, output_dir: Path, show: ShowConfig, mp3: Path
) -> str:
    """Stage ``episode.json``, the cover and everything rendered from the document, and tag
    ``mp3``; return the SHA-256 of the ``episode.json`` bytes staged (a hash of a re-read
    could describe an editor's save that landed in between, which the next run would then
    overwrite as the pipeline's own)."""
    cover = None
    if show.cover and document.episode.cover:
        source = show.path(show.cover)
        if source.is_file():
            cover = staging.copy(source, Path(output_dir) / document.episode.cover)
    data = document_json(document).encode("utf-8")
    staging.write_bytes(document_path(output_dir), data, rank=1)
    stage_document(staging, document, output_dir, mp3, cover=cover,
                   id3_version=show.mp3.id3_version)  # fmt: skip
    return hashlib.sha256(data).hexdigest()


# --- the editor's document and its history -----------------------------------------------------


def document_sha256(output_dir: Path) -> str | None:
    path = document_path(output_dir)
    return file_sha256(path) if path.is_file() else None


def edited_document(
    output_dir: Path, previous: dict[str, Any] | None
) -> tuple[bytes, EpisodeDocument | None] | None:
    """``episode.json`` if a person changed it since the pipeline wrote it, or the pipeline
    wrote a person's document (``edited`` in its report): its bytes (read once, so what is
    hashed, parsed and kept in history is the same file) and the document, ``None`` when it
    no longer parses. ``None`` when it is the machine's own."""
    path = document_path(output_dir)
    if not path.is_file():
        return None
    data = path.read_bytes()
    # Without a report (deleted, damaged) nobody can tell: treated as edited, so it is kept
    # in history/ rather than silently replaced.
    if previous is not None:
        written = previous.get("keys", {}).get("document") == hashlib.sha256(data).hexdigest()
        # The pipeline wrote this file, but what it wrote was a person's (a kept edit): it is
        # still theirs, or the run after the one that kept an edit would discard it.
        if written and not previous.get("edited"):
            return None
    try:
        return data, EpisodeDocument.model_validate_json(data)
    except ValueError:
        return data, None


def stage_recognised(staging: Staging, output_dir: Path, machine: EpisodeDocument) -> None:
    """The machine's own transcript, kept so corrections can be learnt from the difference."""
    staging.write_bytes(recognised_path(output_dir), document_json(machine).encode("utf-8"))


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
