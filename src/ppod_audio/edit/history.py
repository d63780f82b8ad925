"""Every saved version of ``episode.json``, kept so an editor can always go back.

Before any save replaces ``episode.json`` the previous file is copied, byte for byte, to
``history/episode-YYYYmmddTHHMMSSffffff.json``; ``ppod render --revert`` copies one back (after
keeping the current file the same way, so a revert can itself be undone). Every write is atomic
(:mod:`ppod_audio.fileio`), so a crash leaves either the old file or the new one, never half.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ..errors import InputError
from ..fileio import write_bytes
from ..outputs import HISTORY_DIR, document_path, history_dir, read_document
from ..paths import inside
from ..staging import Staging
from ..transcript.model import EpisodeDocument, document_json

STAMP_FORMAT = "%Y%m%dT%H%M%S%f"
_BACKUP = re.compile(r"^episode-(?P<stamp>\d{8}T\d{12})\.json$")


@dataclass(frozen=True)
class Revision:
    """One kept version: its stamp (also its name) and when it was replaced."""

    stamp: str
    path: Path

    @property
    def saved_at(self) -> datetime:
        return datetime.strptime(self.stamp, STAMP_FORMAT)


def list_history(output_dir: Path) -> list[Revision]:
    """Kept versions, oldest first (the stamp sorts as the time it was taken). A history/
    that is a link out of the folder is refused: a revert would publish what it points at."""
    folder = history_dir(output_dir)
    if not folder.is_dir():
        return []
    inside(output_dir, HISTORY_DIR, source=folder, field="history/")
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _BACKUP.match(path.name)
        if match:
            found.append(Revision(match["stamp"], path))
    return sorted(found, key=lambda revision: revision.stamp)


def _free_path(output_dir: Path) -> Path:
    """A backup name for now; two saves within one microsecond must not overwrite each other."""
    moment = datetime.now()
    while True:
        path = history_dir(output_dir) / f"episode-{moment.strftime(STAMP_FORMAT)}.json"
        if not path.exists():
            return path
        moment += timedelta(microseconds=1)


def backup(output_dir: Path, data: bytes | None = None) -> Path | None:
    """Keep the current ``episode.json`` (or ``data``, its bytes as the caller already read
    them) in ``history/``; ``None`` when there is none yet."""
    if data is None:
        current = document_path(output_dir)
        if not current.is_file():
            return None
        data = current.read_bytes()
    target = _free_path(output_dir)
    write_bytes(target, data)
    return target


def revision_of(data: bytes) -> str:
    """The revision an editor holds: the SHA-256 of the ``episode.json`` bytes. One definition
    for the server's conflict check and the save's answer: if they differed, every save after
    the first would be refused as a conflict."""
    return hashlib.sha256(data).hexdigest()


def save_document(output_dir: Path, document: EpisodeDocument) -> Path | None:
    """Write ``document`` as ``episode.json``, keeping the previous version first.

    Returns the backup's path, or ``None`` when nothing changed (no backup is made then, so
    saving twice does not fill the history with copies).
    """
    return save_bytes(output_dir, document_json(document).encode("utf-8"))


def save_bytes(output_dir: Path, data: bytes) -> Path | None:
    """:func:`save_document` for a caller that also needs the exact bytes written (to hash)."""
    current = document_path(output_dir)
    if current.is_file() and current.read_bytes() == data:
        return None
    kept = backup(output_dir)
    write_bytes(current, data)
    return kept


def stage_save(staging: Staging, output_dir: Path, data: bytes) -> Path | None:
    """:func:`save_bytes` staged: the previous version's copy in history/ and the new
    ``episode.json`` are published with the rest of a render, or not at all."""
    current = document_path(output_dir)
    kept = None
    if current.is_file():
        old = current.read_bytes()
        if old == data:
            return None
        kept = _free_path(output_dir)
        staging.write_bytes(kept, old)
    staging.write_bytes(current, data, rank=1)
    return kept


def find_revision(output_dir: Path, stamp: str | None = None) -> Revision:
    """The newest kept version, or the one whose stamp (or file name) starts with ``stamp``."""
    revisions = list_history(output_dir)
    if not revisions:
        raise InputError(
            "has no saved versions to go back to", history_dir(output_dir), "save an edit first"
        )
    if not stamp:
        return revisions[-1]
    wanted = stamp.removeprefix("episode-").removesuffix(".json")
    matches = [r for r in revisions if r.stamp.startswith(wanted)]
    if len(matches) != 1:
        problem = "matches no saved version" if not matches else "matches several saved versions"
        raise InputError(
            f"--revert {stamp} {problem}",
            history_dir(output_dir),
            "give a stamp from `ppod render --list-history`",
        )
    return matches[0]


def restorable(output_dir: Path, stamp: str | None = None) -> tuple[Revision, EpisodeDocument]:
    """A kept version and its document, validated: a damaged backup is refused before anything
    is written."""
    revision = find_revision(output_dir, stamp)
    return revision, read_document(revision.path, invalid_fix="choose another version")
