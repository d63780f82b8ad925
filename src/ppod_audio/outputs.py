"""Where an episode's files live in its output folder, and reading its document.

A neutral home for what the pipeline, publishing, the editor and the edit commands all need
(``edit`` and ``publish`` both read from here; neither reads the other's paths).
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError
from .transcript.model import EpisodeDocument

DOCUMENT_FILE = "episode.json"
HISTORY_DIR = "history"
RECOGNISED_FILE = "recognised.json"
# What to do about a missing or damaged recognised.json: only the pipeline writes it.
RECOGNISED_FIX = "re-run `ppod process` for this episode (it keeps the recognised transcript there)"


def history_dir(output_dir: Path) -> Path:
    return Path(output_dir) / HISTORY_DIR


def document_path(output_dir: Path) -> Path:
    return Path(output_dir) / DOCUMENT_FILE


def recognised_path(output_dir: Path) -> Path:
    """The machine's own first document, which the pipeline keeps for learning corrections."""
    return history_dir(output_dir) / RECOGNISED_FILE


def read_document_bytes(
    path: Path, *, invalid_fix: str, missing: tuple[str, str] | None = None
) -> tuple[EpisodeDocument, bytes]:
    """A document and the bytes it was parsed from, read once: a hash of a second read could
    describe a file another process wrote in between.

    Problems are one-line errors (:class:`InputError`): ``missing`` is the (message, fix) for
    an absent file, ``invalid_fix`` what to do about one that does not parse.
    """
    path = Path(path)
    if missing is not None and not path.is_file():
        raise InputError(missing[0], path, missing[1])
    data = path.read_bytes()
    try:
        return EpisodeDocument.model_validate_json(data), data
    except ValueError as error:
        first = str(error).splitlines()[0]
        raise InputError(f"is not a valid episode document ({first})", path, invalid_fix) from None


def read_document(
    path: Path, *, invalid_fix: str, missing: tuple[str, str] | None = None
) -> EpisodeDocument:
    """:func:`read_document_bytes` without the bytes."""
    return read_document_bytes(path, invalid_fix=invalid_fix, missing=missing)[0]
