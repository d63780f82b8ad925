"""One command at a time per episode, and what a killed one left behind.

``ppod process``, ``ppod batch``, ``ppod render`` and each save of ``ppod edit`` hold
``<output>/<episode>/.lock`` while they change the episode's outputs, so none of them can
interleave with another. Whoever takes the lock first finishes a publication a crash
interrupted (:func:`ppod_audio.staging.recover`) and only then removes stale temporary files
(which the interrupted publication's renames still need).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import InputError, PpodError
from .staging import recover

LOCK_FILE = ".lock"


class EpisodeBusy(PpodError):
    """Another command holds the episode's lock (only raised when asked not to wait)."""

    exit_code = 1


@contextlib.contextmanager
def episode_lock(
    output_dir: Path, on_wait: Callable[[], None] | None = None, *, wait: bool = True
) -> Iterator[None]:
    """Hold ``output_dir/.lock`` exclusively; if another run has it, call ``on_wait`` and wait
    (or raise :class:`EpisodeBusy` when ``wait`` is False).

    ``flock`` locks belong to the open file: the kernel releases them when the process dies, so a
    SIGKILLed run leaves nothing to clean up. The lock file itself stays (deleting it would let
    two runs lock two different files of the same name). Not re-entrant: a second ``open`` in the
    same process waits for the first.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / LOCK_FILE
    try:  # never through a link: opening one would create the file it points at
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise InputError("is a symbolic link", path, "delete it; ppod makes its own") from None
    with os.fdopen(descriptor, "r+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise EpisodeBusy(
                    "is being processed or rendered by another command",
                    output_dir,
                    "save again when it has finished",
                ) from None
            if on_wait:
                on_wait()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def remove_stale_temporaries(folder: Path, older_than: float = 0.0) -> list[Path]:
    """Delete ``.name.XXXX.tmp.ext`` files (``fileio.atomic_path``, ``staging``) a killed run
    left behind."""
    removed = []
    now = time.time()
    for path in Path(folder).rglob(".*.tmp*"):
        with contextlib.suppress(OSError):
            if path.is_file() and now - path.stat().st_mtime >= older_than:
                path.unlink()
                removed.append(path)
    return removed


def tidy_episode(output_dir: Path) -> list[Path]:
    """Under the lock: finish an interrupted publication, then drop stale temporaries.
    Returns the files the interrupted publication completed."""
    if not Path(output_dir).is_dir():
        return []
    done = recover(output_dir)
    remove_stale_temporaries(output_dir)
    return done


@contextlib.contextmanager
def locked_episode(
    output_dir: Path, on_wait: Callable[[], None] | None = None, *, wait: bool = True
) -> Iterator[None]:
    """:func:`episode_lock` plus :func:`tidy_episode`: what ``render`` and the editor hold."""
    with episode_lock(output_dir, on_wait, wait=wait):
        tidy_episode(output_dir)
        yield
