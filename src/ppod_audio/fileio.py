"""Writing outputs so that a crash never leaves half a file: temp name, fsync, rename.

``os.replace`` is atomic on one filesystem, so every temporary file lives beside its destination.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# The mode a plain ``open()`` gives a new file (0644 under umask 022): ``mkstemp`` makes files
# 0600, and published files must be readable by a web server like any other file the user
# writes. Read once, at import: reading the umask means setting it for a moment, which is not
# thread-safe (the editor serves threads).
FILE_MODE = 0o666 & ~_read_umask()


@contextlib.contextmanager
def atomic_path(destination: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; it replaces it only if the block succeeds."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{destination.stem}.", suffix=f".tmp{destination.suffix}", dir=destination.parent
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(destination: Path, text: str) -> None:
    with atomic_path(destination) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_bytes(destination: Path, data: bytes) -> None:
    with atomic_path(destination) as temporary:
        temporary.write_bytes(data)


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=256)
def _stamped_sha256(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(Path(path))


def stamped_sha256(path: Path) -> str:
    """SHA-256 of ``path``, hashed once per process per (size, mtime): keyed on both so a file
    replaced on disk is hashed again. Models are 75-500 MB and recordings up to a gigabyte;
    a batch worker plans an episode under its lock and then processes it, and the model is
    checked on every load."""
    stat = Path(path).stat()
    return _stamped_sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
