"""The published audio made in a child process, beside the speech models.

Decoding, cleaning, mastering and encoding the published audio share nothing with speech
recognition and diarization but the recordings (the models hear the recording as it came, not
the cleaned programme), and on two cores faster-whisper leaves most of one idle. So when both
are to run, the pipeline starts this child first and runs the speech models meanwhile.

A process, not a thread: RNNoise is called once per 10 ms frame through ctypes, and each call
gives up and takes back Python's lock; beside faster-whisper's Python loop a thread waited for
it at every frame (measured: the cleaning took ten times as long). The child re-reads the
episode's settings itself, writes the MP3 into the run's work folder and reports on its own
stdout, one JSON object a line: progress events, then its result or its error (a ``PpodError``
keeps its message and exit code across). Killing it is safe: it writes only into that folder.

    python -m ppod_audio.beside_child EPISODE_DIR WORK_FOLDER PARENT_PID [KEPT_FOLDER KEY]

The child's side is :mod:`.beside_child` (it imports the pipeline; this module must not).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import progress
from .errors import InputError, ProcessingError


@dataclass
class AudioResult:
    """What the parent needs from the audio path (the cleaned programme stays on disk)."""

    trimmed_start: float
    noise: dict[str, Any]
    mastered: dict[str, Any]  # ``Mastered`` as a dict
    stages: dict[str, dict[str, float]]  # decode+clean, master, export: seconds and cpu
    mp3: Path


class Beside:
    """The child running; :meth:`result` waits for it, :meth:`stop` ends it early."""

    def __init__(
        self,
        episode_dir: Path,
        folder: Path,
        on_stage: Callable[[str], None] | None,
        kept: tuple[Path, str] | None = None,
    ):
        """``kept``: where the child keeps the cleaned programme (folder, clean key), or
        reads it back from (:mod:`.audio.kept`)."""
        self.on_stage = on_stage
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        # ``-m`` needs this package importable the way the parent imported it (a checkout run
        # with PYTHONPATH=src, or an installed package): hand the parent's path on.
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ppod_audio.beside_child", str(episode_dir), str(folder),
             str(os.getpid()), *([str(kept[0]), kept[1]] if kept else [])],
            stdout=subprocess.PIPE, stderr=self.errors, stdin=subprocess.DEVNULL, text=True,
            env=env,
        )  # fmt: skip
        self.outcome: dict[str, Any] | None = None
        # Set when the child's output ends (it has exited): its core is free for other work.
        self.finished = threading.Event()
        self.reader = threading.Thread(target=progress.in_thread(self._read), daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            for line in self.process.stdout:
                message = json.loads(line)
                if "stage" in message:
                    if message["fraction"] == 0.0 and self.on_stage is not None:
                        self.on_stage(message["stage"])
                    progress.relay(message["stage"], message["fraction"], message["elapsed"])
                else:
                    self.outcome = message
        finally:
            self.finished.set()

    def result(self) -> AudioResult:
        code = self.process.wait()
        self.reader.join()
        outcome = self.outcome or {}
        if "error" in outcome:
            kind = InputError if outcome["exit_code"] == 2 else ProcessingError
            raise kind(outcome["error"])
        if code != 0 or "result" not in outcome:
            self.errors.seek(0)
            tail = self.errors.read().decode(errors="replace").strip()[-500:]
            raise ProcessingError(f"making the published audio failed (exit {code}): {tail}")
        data = outcome["result"]
        return AudioResult(data["trimmed_start"], data["noise"], data["mastered"], data["stages"],
                           Path(data["mp3"]))  # fmt: skip

    def stop(self) -> None:
        """End the child (another stage failed); what it wrote is in the work folder only."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        self.reader.join()
        self.errors.close()
