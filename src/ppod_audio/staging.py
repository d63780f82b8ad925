"""Publishing a set of files together: all written first, then all renamed, or none.

An episode's outputs (MP3, ``episode.json``, every transcript, ``report.json``) describe one
another; publishing them one by one let a failure midway (disk full, a tag mutagen rejects, a
crash) leave new transcripts beside an old MP3. A :class:`Staging` writes every file to a
temporary name beside its destination (same file system), and only when all are written:

1. records the renames in a journal (``.publish.journal``, written atomically and fsynced);
2. renames each temporary file into place (renames need no space and cannot half-happen);
3. deletes the journal.

A failure before step 1 deletes the temporary files: every published file is as it was. A crash
during step 2 leaves the journal, and :func:`recover`, which every command that takes the
episode's lock runs first, finishes the renames: the set is then entirely the new one. Only a
reader looking in the instant between a crash and the next command sees a mixture.

Every destination is confined to the staging's folder (:func:`ppod_audio.paths.inside`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .fileio import FILE_MODE
from .paths import inside

JOURNAL_FILE = ".publish.journal"


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _power_cut_here(point: str, folder: Path) -> None:
    """A test hook: ``PPOD_TEST_KILL_AT=<point>:<folder name>`` SIGKILLs this process group at
    that point, as a power cut would, so a crash test lands where it means to, every time
    (tests/test_batch.py). Unset in use: one environment lookup per commit."""
    if os.environ.get("PPOD_TEST_KILL_AT") == f"{point}:{folder.name}":
        os.killpg(os.getpgrp(), signal.SIGKILL)


def _replace(temporary: Path, destination: Path) -> None:
    """One rename of the commit (a single function, so a test can crash between two)."""
    os.replace(temporary, destination)


class Staging:
    """Files for ``folder`` staged under temporary names until :meth:`commit`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self._staged: list[tuple[Path, Path, int]] = []  # (temporary, destination, rank)
        self.committed = False

    def path(self, destination: Path | str, *, rank: int = 0) -> Path:
        """A new temporary file that will become ``destination`` (inside the folder).

        Files are renamed into place by ``rank``, then in the order they were staged: the
        pipeline's MP3 and ``episode.json`` late, ``report.json`` last.
        """
        relative = os.path.relpath(Path(destination).absolute(), self.folder)
        target = inside(self.folder, relative, source=destination, field="an output")
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
        )
        os.close(handle)
        os.chmod(name, FILE_MODE)
        temporary = Path(name)
        for old, _ in self._pairs(lambda d: d == target):
            old.unlink(missing_ok=True)
        self._staged = [entry for entry in self._staged if entry[1] != target]
        self._staged.append((temporary, target, rank))
        return temporary

    def _pairs(self, keep=lambda destination: True) -> list[tuple[Path, Path]]:
        ordered = sorted(self._staged, key=lambda entry: entry[2])  # stable: staging order
        return [(t, d) for t, d, _ in ordered if keep(d)]

    def write_bytes(self, destination: Path | str, data: bytes, *, rank: int = 0) -> Path:
        temporary = self.path(destination, rank=rank)
        temporary.write_bytes(data)
        return temporary

    def copy(self, source: Path, destination: Path | str, *, rank: int = 0) -> Path:
        temporary = self.path(destination, rank=rank)
        shutil.copyfile(source, temporary)
        return temporary

    @property
    def destinations(self) -> list[Path]:
        return [destination for _, destination in self._pairs()]

    def commit(self) -> None:
        """Make every staged file published (see the module's docstring)."""
        pairs = self._pairs()
        for temporary, _ in pairs:
            with open(temporary, "rb+") as stream:
                os.fsync(stream.fileno())
        journal = self.folder / JOURNAL_FILE
        entries = [
            [os.path.relpath(t, self.folder), os.path.relpath(d, self.folder)] for t, d in pairs
        ]
        with tempfile.NamedTemporaryFile(
            "w", dir=self.folder, prefix=".publish.", suffix=".tmp", delete=False
        ) as stream:
            json.dump(entries, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(stream.name, journal)
        _fsync_dir(self.folder)
        for index, (temporary, destination) in enumerate(pairs):
            if index == 1:
                _power_cut_here("mid-commit", self.folder)
            _replace(temporary, destination)
        for folder in {destination.parent for _, destination in pairs}:
            _fsync_dir(folder)
        journal.unlink()
        self.committed = True

    def discard(self) -> None:
        for temporary, _ in self._pairs():
            temporary.unlink(missing_ok=True)
        self._staged = []


@contextlib.contextmanager
def staged(folder: Path) -> Iterator[Staging]:
    """A :class:`Staging` committed when the block ends cleanly, discarded otherwise."""
    staging = Staging(folder)
    try:
        yield staging
        staging.commit()
    finally:
        if not staging.committed:
            staging.discard()


def recover(folder: Path) -> list[Path]:
    """Finish a commit a crash interrupted; only safe under the episode's lock.

    Returns the destinations completed. The journal is written only once every temporary file
    is complete, so finishing its renames publishes the whole new set.
    """
    folder = Path(folder).resolve()
    journal = folder / JOURNAL_FILE
    if not journal.is_file():
        return []
    try:
        entries = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        entries = []  # torn before its rename: the commit never started
    done = []
    for temporary, destination in entries:
        source = inside(folder, temporary, source=journal, field="a staged file")
        target = inside(folder, destination, source=journal, field="a destination")
        if source.is_file():
            os.replace(source, target)
            done.append(target)
    journal.unlink()
    _fsync_dir(folder)
    return done
