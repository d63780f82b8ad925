"""The two kinds of failure a user can see, each with its exit code.

Expected failures carry a one-line message that names the file and the fix; the CLI prints it
without a traceback (``--debug`` shows one). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

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
        super().__init__(" — ".join(parts))


class InputError(PpodError):
    """Bad usage or bad input (a manifest, an audio file): exit code 2."""

    exit_code = 2


class ProcessingError(PpodError):
    """Valid input that could not be processed (a model or encoder failed): exit code 1."""

    exit_code = 1
