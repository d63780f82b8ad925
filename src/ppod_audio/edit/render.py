"""``ppod render``: re-publish an output folder from its ``episode.json`` alone.

Rendering is text work (every transcript format) plus re-tagging the MP3 with mutagen, so an
edited transcript reaches every output in a fraction of a second. The MP3 is tagged as a
temporary copy beside it and renamed over it: a crash while tagging leaves the previous,
complete MP3, never a half-written one a podcast host would reject.

Episode metadata follows the manifest: when ``episode.toml`` (found through report.json's
``source``) now says something different from what the pipeline recorded when it made the
document (``history/recognised.json``), the new title, description, numbers, date and chapters
are taken; anything the manifest did not change stays as the editor left it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, PpodError
from ..fileio import atomic_path, write_bytes
from ..publish import publish_document
from ..publish import read_report as publish_report
from ..transcript.formats import render_txt
from ..transcript.model import EpisodeDocument
from .history import (
    HISTORY_DIR,
    RECOGNISED_FIX,
    document_path,
    history_dir,
    read_document,
    read_document_bytes,
    recognised_path,
    save_document,
)

# What a changed manifest may change in an edited document; the rest of the episode's metadata
# is the show's (or the editor's), not the episode.toml's.
_MANIFEST_FIELDS = ("title", "season", "number", "date", "description")


@dataclass
class RenderResult:
    """What a render did, for the command to print."""

    output_dir: Path
    mp3: Path
    seconds: float
    notes: list[str] = field(default_factory=list)


def read_report(output_dir: Path) -> dict[str, Any]:
    """report.json, or an empty dict when the pipeline has not written one."""
    return publish_report(output_dir) or {}


def load_episode_bytes(output_dir: Path) -> tuple[EpisodeDocument, bytes]:
    """``episode.json`` and the bytes it was parsed from, or a one-line error saying what to do."""
    if not Path(output_dir).is_dir():
        raise InputError("is not a folder", output_dir, "give an output/<episode> folder")
    return read_document_bytes(
        document_path(output_dir),
        missing=("does not exist", "give the folder `ppod process` wrote (output/<episode>)"),
        invalid_fix="fix it or restore one with `ppod render --revert`",
    )


def load_episode_document(output_dir: Path) -> EpisodeDocument:
    return load_episode_bytes(output_dir)[0]


def id3_version(report: dict[str, Any]) -> int:
    """The ID3 version the pipeline wrote (report.json ``mp3_settings.id3``, e.g. "2.3")."""
    value = str(report.get("mp3_settings", {}).get("id3", "2.3"))
    return 4 if value.endswith("4") else 3


def find_mp3(output_dir: Path, document: EpisodeDocument) -> Path:
    mp3 = Path(output_dir) / document.audio
    if not mp3.is_file():
        raise InputError(
            f"has no {document.audio}", output_dir, "run `ppod process` for this episode first"
        )
    return mp3


def refresh_from_manifest(
    document: EpisodeDocument, output_dir: Path, report: dict[str, Any]
) -> tuple[EpisodeDocument, list[str]]:
    """The document with whatever the manifest changed since the pipeline last ran.

    A three-way comparison (manifest now, manifest then = ``recognised.json``, document now)
    so a manifest edit reaches the tags while the editor's own edits are kept. Without the
    source folder or the recognised document there is nothing to compare, and nothing changes.
    """
    source = report.get("source")
    recognised_file = recognised_path(output_dir)
    if not source or not recognised_file.is_file():
        return document, []
    from ..config import apply_overrides, load_episode, load_show
    from ..transcript.document import chapters_for, episode_info

    try:
        manifest = load_episode(Path(source))
        show = apply_overrides(load_show(Path(source).parent), manifest)
        then = read_document(recognised_file, invalid_fix=RECOGNISED_FIX)
    except (PpodError, ValueError) as error:
        return document, [f"episode metadata not refreshed: {error}"]
    now = episode_info(manifest, show)
    changes = {
        name: getattr(now, name)
        for name in _MANIFEST_FIELDS
        if getattr(now, name) != getattr(then.episode, name)
        and getattr(now, name) != getattr(document.episode, name)
    }
    notes = [f"{name} from episode.toml" for name in changes]
    update: dict[str, Any] = {}
    if changes:
        update["episode"] = document.episode.model_copy(update=changes)
    if "trimmed_start" in report:
        chapters = chapters_for(
            manifest, show, document.intro_offset, float(report["trimmed_start"]), document.duration
        )
        if chapters != then.chapters and chapters != document.chapters:
            update["chapters"] = chapters
            notes.append("chapters from episode.toml")
    return (document.model_copy(update=update) if update else document), notes


def keep_text_edits(output_dir: Path, document: EpisodeDocument) -> Path | None:
    """Keep ``<episode>.txt`` in history/ if it holds edits that rendering would overwrite.

    An editor who edits the text file and then runs ``ppod render`` without ``--from-text``
    must not lose what they typed.
    """
    txt = Path(output_dir) / f"{document.episode.slug}.txt"
    if not txt.is_file():
        return None
    text = txt.read_bytes()
    if text == render_txt(document).encode("utf-8"):
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = history_dir(output_dir) / f"{txt.stem}-{stamp}-{time.time_ns() % 10**9:09d}.txt"
    write_bytes(target, text)
    return target


def text_edit_note(output_dir: Path, baseline: EpisodeDocument) -> list[str]:
    """Keep unapplied edits of the text file (see :func:`keep_text_edits`) and say so."""
    kept = keep_text_edits(output_dir, baseline)
    if kept is None:
        return []
    return [
        f"{baseline.episode.slug}.txt had edits not in episode.json; kept as "
        f"{HISTORY_DIR}/{kept.name} (apply them with --from-text)"
    ]


def render_episode(
    output_dir: Path, document: EpisodeDocument | None = None, *, refresh: bool = True
) -> RenderResult:
    """Rebuild every transcript file and re-tag the MP3 from ``episode.json`` (or ``document``).

    No audio is decoded and no model is loaded. A ``document`` given here is one the caller
    has just saved (and whose text-file edits it has dealt with); without one, the text file is
    checked for edits rendering would overwrite. ``episode.json`` is written only when the
    manifest changed something (``refresh=False``: the caller has refreshed and saved already),
    so one render makes at most one history entry.
    """
    started = time.perf_counter()
    output_dir = Path(output_dir)
    notes: list[str] = []
    if document is None:
        document = load_episode_document(output_dir)
        notes += text_edit_note(output_dir, document)
    report = read_report(output_dir)
    refreshed = document
    if refresh:
        refreshed, changes = refresh_from_manifest(document, output_dir, report)
        notes += changes
    mp3 = find_mp3(output_dir, refreshed)
    if refreshed is not document:
        save_document(output_dir, refreshed)
        document = refreshed
    with atomic_path(mp3) as temporary:
        shutil.copyfile(mp3, temporary)
        shutil.copymode(mp3, temporary)
        publish_document(document, output_dir, temporary, id3_version=id3_version(report))
    return RenderResult(output_dir, mp3, time.perf_counter() - started, notes)
