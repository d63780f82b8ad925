"""The two kinds of failure a user can see, each with its exit code.

Expected failures carry a one-line message that names the file and the fix; the CLI prints it
without a traceback (``--debug`` shows one). Anything else is a bug and keeps its traceback.
File-system failures (disk full, read-only, permissions, names too long) arrive as ``OSError``
from wherever the write happened; :func:`from_os_error` is the one place that words them.
"""

from __future__ import annotations

import errno
from pathlib import Path


class PpodError(Exception):
    """An expected failure with a message meant for the user."""

    exit_code = 1

    def __init__(self, message: str, path: str | Path | None = None, fix: str | None = None):
        self.path = Path(path) if path is not None else None
        self.fix = fix
        parts = [f"{path}: {message}" if path is not None else message]
        if fix:
            parts.append(fix)
        # One line whatever the parts hold (a TOML parser's or a tool's message can span
        # several): a user, a log line and a batch summary all read it as one.
        super().__init__(" ".join(" — ".join(parts).split()))


class InputError(PpodError):
    """Bad usage or bad input (a manifest, an audio file): exit code 2."""

    exit_code = 2


class ProcessingError(PpodError):
    """Valid input that could not be processed (a model or encoder failed): exit code 1."""

    exit_code = 1


_FIX_OUTPUT = "or choose another output folder with -o"


def from_os_error(error: OSError, path: str | Path | None = None) -> PpodError:
    """A file-system failure as one line naming the file: ``error.filename`` when the OS gave
    one (``open``, ``mkdir``), else ``path`` (a ``write`` that filled the disk names nothing).

    A full disk is a processing failure (exit 1: the input was fine, run again once there is
    room); a read-only or forbidden location, a name too long or a file where a folder should be
    is bad usage (exit 2: choose another place or name).
    """
    where = error.filename if error.filename else path
    if where is not None and Path(where).name.startswith(".") and ".tmp" in Path(where).name:
        where = Path(where).parent  # ``atomic_path``'s temporary: the user knows the folder
    code = error.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return ProcessingError(
            "no space left on the device", where, f"free some space, {_FIX_OUTPUT}, and run again"
        )
    if code == errno.EROFS:
        return InputError("is on a read-only file system", where, f"make it writable {_FIX_OUTPUT}")
    if code in (errno.EACCES, errno.EPERM):
        fix = f"check its permissions (ls -l) {_FIX_OUTPUT}"
        return InputError("permission denied", where, fix)
    if code == errno.ENAMETOOLONG:
        return InputError(
            "file name is too long for the file system", where,
            "rename the episode folder to a shorter name",
        )  # fmt: skip
    if code in (errno.ENOTDIR, errno.EEXIST):
        return InputError(
            "is a file where a folder is needed", where, "give -o a folder (created if missing)"
        )
    if code == errno.EISDIR:
        return InputError("is a folder where a file is needed", where, "give a file")
    reason = error.strerror or type(error).__name__
    return ProcessingError(reason[0].lower() + reason[1:], where, "check the file and run again")
