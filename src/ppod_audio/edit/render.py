"""``ppod render``: re-publish an output folder from its ``episode.json`` alone.

Rendering is text work (every transcript format) plus re-tagging the MP3 with mutagen, so an
edited transcript reaches every output in a fraction of a second. The document is checked
first (:mod:`ppod_audio.edit.checks`: every file it names inside the folder, every time
sane); then every output, the re-tagged MP3 copy and any new ``episode.json`` with its
history entry, is staged and published as one set (:mod:`ppod_audio.staging`): a failure
midway (disk full, a tag mutagen rejects) leaves every published file as it was.

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
from ..outputs import (
    HISTORY_DIR,
    RECOGNISED_FIX,
    document_path,
    history_dir,
    read_document,
    read_document_bytes,
    recognised_path,
)
from ..paths import plain_name
from ..publish import published_report, stage_document
from ..staging import Staging, staged
from ..transcript.formats import render_txt
from ..transcript.model import EpisodeDocument, document_json
from .audio_edits import keep_redacted
from .checks import check_document, document_files
from .history import stage_save

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
    """The report of what is published (a failed run's report keeps it), or an empty dict
    when the pipeline has not written one."""
    return published_report(output_dir) or {}


def episode_source(output_dir: Path, report: dict[str, Any]) -> Path | None:
    """The recordings folder report.json names (``source``), or ``None`` when it names none
    or it is gone. Only ``episode.toml`` and ``show.toml`` are read through it (and ``ppod
    glossary learn`` writes the show's glossary): a ``source`` that is not this episode's
    folder (the pipeline names both after the episode) is refused."""
    source = report.get("source")
    if not source:
        return None
    if not isinstance(source, str) or "\0" in source:
        raise InputError("source is not a folder name", Path(output_dir) / "report.json",
                         "re-run `ppod process` for this episode")  # fmt: skip
    folder = Path(source)
    if not folder.is_dir():
        return None
    if folder.resolve().name != Path(output_dir).resolve().name:
        raise InputError(
            f"source = {source!r} is not this episode's recordings folder",
            Path(output_dir) / "report.json",
            "re-run `ppod process` for this episode",
        )
    return folder


def require_folder(output_dir: Path) -> None:
    if not Path(output_dir).is_dir():
        raise InputError("is not a folder", output_dir, "give an output/<episode> folder")


def load_episode_bytes(output_dir: Path, *, checked: bool = True) -> tuple[EpisodeDocument, bytes]:
    """``episode.json`` and the bytes it was parsed from, or a one-line error saying what to do.

    ``checked``: also refuse a document naming files outside the folder or absurd times
    (:func:`ppod_audio.edit.checks.check_document`), before anything is read through it.
    """
    require_folder(output_dir)
    document, data = read_document_bytes(
        document_path(output_dir),
        missing=("does not exist", "give the folder `ppod process` wrote (output/<episode>)"),
        invalid_fix="fix it or restore one with `ppod render --revert`",
    )
    if checked:
        check_document(document, output_dir)
    return document, data


def load_episode_document(output_dir: Path) -> EpisodeDocument:
    return load_episode_bytes(output_dir)[0]


def id3_version(report: dict[str, Any]) -> int:
    """The ID3 version the pipeline wrote (report.json ``mp3_settings.id3``, e.g. "2.3")."""
    value = str(report.get("mp3_settings", {}).get("id3", "2.3"))
    return 4 if value.endswith("4") else 3


def find_mp3(output_dir: Path, document: EpisodeDocument) -> Path:
    """The document's MP3, confined to ``output_dir`` (and an MP3)."""
    return document_files(document, output_dir).mp3


def refresh_from_manifest(
    document: EpisodeDocument, output_dir: Path, report: dict[str, Any]
) -> tuple[EpisodeDocument, list[str]]:
    """The document with whatever the manifest changed since the pipeline last ran.

    A three-way comparison (manifest now, manifest then = ``recognised.json``, document now)
    so a manifest edit reaches the tags while the editor's own edits are kept. Without the
    source folder or the recognised document there is nothing to compare, and nothing changes.
    """
    source = episode_source(output_dir, report)
    recognised_file = recognised_path(output_dir)
    if source is None or not recognised_file.is_file():
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


def keep_text_edits(output_dir: Path, document: EpisodeDocument, staging: Staging) -> Path | None:
    """Keep ``<episode>.txt`` in history/ if it holds edits that rendering would overwrite.

    An editor who edits the text file and then runs ``ppod render`` without ``--from-text``
    must not lose what they typed. The copy is staged with the render it comes before.
    """
    try:
        stem = plain_name(output_dir, document.episode.slug, source=document_path(output_dir),
                          field="episode.slug")  # fmt: skip
    except InputError:
        return None  # not a text file this folder's transcripts were named after
    txt = Path(output_dir) / f"{stem}.txt"
    if not txt.is_file() or txt.is_symlink():
        return None
    text = txt.read_bytes()
    if text == render_txt(document).encode("utf-8"):
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = history_dir(output_dir) / f"{txt.stem}-{stamp}-{time.time_ns() % 10**9:09d}.txt"
    staging.write_bytes(target, text)
    return target


def text_edit_note(output_dir: Path, baseline: EpisodeDocument, staging: Staging) -> list[str]:
    """Keep unapplied edits of the text file (see :func:`keep_text_edits`) and say so."""
    kept = keep_text_edits(output_dir, baseline, staging)
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
    so one render makes at most one history entry. Every output is published at once or none.
    """
    started = time.perf_counter()
    with staged(output_dir) as staging:
        result = stage_render(staging, output_dir, document, refresh=refresh)
    result.seconds = time.perf_counter() - started
    return result


def stage_render(
    staging: Staging,
    output_dir: Path,
    document: EpisodeDocument | None = None,
    *,
    refresh: bool = True,
) -> RenderResult:
    """:func:`render_episode`'s work, staged in ``staging`` (which a save shares)."""
    output_dir = Path(output_dir)
    notes: list[str] = []
    loaded = document is None
    if document is None:
        document = load_episode_document(output_dir)
        notes += text_edit_note(output_dir, document, staging)
    report = read_report(output_dir)
    # A redacted span typed back into episode.json is redacted again before anything is staged.
    refreshed = keep_redacted(document, report) if loaded else document
    if refresh:
        refreshed, changes = refresh_from_manifest(refreshed, output_dir, report)
        notes += changes
    files = check_document(refreshed, output_dir)  # before anything is staged from it
    if refreshed is not document:
        stage_save(staging, output_dir, document_json(refreshed).encode("utf-8"))
        document = refreshed
    mp3 = staging.copy(files.mp3, files.mp3, rank=2)
    shutil.copymode(files.mp3, mp3)
    stage_document(staging, document, output_dir, mp3, cover=files.cover,
                   id3_version=id3_version(report))  # fmt: skip
    return RenderResult(output_dir, files.mp3, 0.0, notes)
