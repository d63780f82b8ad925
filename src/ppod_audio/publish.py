"""Writing what listeners get from the episode document: transcripts, chapters and MP3 tags.

Everything here reads the document (and the cover beside it), never the audio or a model, which
is what lets ``ppod render`` re-publish an edited transcript in well under a second.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .config import ShowConfig
from .fileio import write_text
from .tags import ChapterMark, EpisodeTags, write_tags
from .transcript.formats import render_lyrics, write_all
from .transcript.model import EpisodeDocument, document_json

DOCUMENT_FILE = "episode.json"
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
    """Render every transcript format and re-tag ``mp3`` from ``document``."""
    write_text(output_dir / DOCUMENT_FILE, document_json(document))
    write_all(document, output_dir, document.episode.slug)
    write_tags(mp3, episode_tags(document, output_dir), version=id3_version)


def publish_transcripts(
    document: EpisodeDocument, output_dir: Path, show: ShowConfig, mp3: Path
) -> None:
    if show.cover and document.episode.cover:
        source = show.path(show.cover)
        if source.is_file():
            shutil.copyfile(source, output_dir / document.episode.cover)
    publish_document(document, output_dir, mp3, id3_version=show.mp3.id3_version)
