"""Confining a path read from a document to the folder it describes.

``episode.json``, ``report.json`` and an editor's save name files (the MP3, the cover, the
transcripts' stem). Those documents can be edited by hand or sent by a web page, so every such
name is resolved here, symlinks included, before anything is read or written through it: a
name that leads outside the episode's folder (``../../x``, ``/etc/passwd``, a link pointing
away) is refused with a one-line :class:`InputError` naming the file and the field.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError


def inside(folder: Path, relative: str, *, source: Path | str, field: str) -> Path:
    """``folder / relative`` resolved, or :class:`InputError` if it is not strictly inside.

    ``source`` is the file the name came from and ``field`` its key there, for the message.
    The folder itself is refused too: every field names a file in it.
    """
    root = Path(folder).resolve()
    if not isinstance(relative, str) or not relative or "\0" in relative:
        raise InputError(f"{field} must be a file name", source, "give a file in the folder")
    if Path(relative).is_absolute():
        raise InputError(
            f"{field} = {relative!r} is an absolute path", source, f"give a file inside {root}"
        )
    candidate = (root / relative).resolve()
    if candidate == root or not candidate.is_relative_to(root):
        raise InputError(
            f"{field} = {relative!r} points outside {root}", source, "give a file inside it"
        )
    return candidate


def plain_name(folder: Path, name: str, *, source: Path | str, field: str) -> str:
    """``name`` if it is one file name (no folder part) whose files stay in ``folder``.

    For a stem that outputs are named after (the slug: ``<slug>.txt``, ``<slug>.vtt``...).
    """
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name:
        raise InputError(
            f"{field} = {name!r} is not a plain file name", source, "give a name without folders"
        )
    inside(folder, name, source=source, field=field)
    return name
