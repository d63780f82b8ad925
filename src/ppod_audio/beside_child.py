"""The child side of :mod:`.beside`: make the published audio and report on stdout.

    python -m ppod_audio.beside_child EPISODE_DIR WORK_FOLDER PARENT_PID [KEPT_FOLDER KEY]

Apart from :mod:`.beside` because it runs the pipeline's audio path, and the pipeline imports
:mod:`.beside` (one direction only: ``tests/test_layers.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import progress
from .errors import PpodError, from_os_error


def _die_with_parent(parent: int) -> None:
    """A parent killed outright (SIGKILL: no ``stop``) takes this child with it (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the line above: nobody waits for this work
        sys.exit(1)


def main(argv: list[str]) -> int:
    episode_dir, folder = Path(argv[0]), Path(argv[1])
    _die_with_parent(int(argv[2]))
    # The protocol owns the real stdout; anything a library prints goes to stderr instead.
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    def send(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    def report(event: progress.ProgressEvent) -> None:
        send({"stage": event.stage, "fraction": event.fraction, "elapsed": event.elapsed})

    began, cpu = time.perf_counter(), progress.cpu_seconds()
    from .audio.kept import KeptProgramme
    from .pipeline import _Timer, episode_settings, make_published_audio

    kept = KeptProgramme(Path(argv[3]), argv[4]) if len(argv) >= 5 else None

    # The child's own start-up (importing the pipeline), off the parent's clock otherwise.
    start = {"seconds": round(time.perf_counter() - began, 3),
             "cpu": round(progress.cpu_seconds() - cpu, 3)}  # fmt: skip
    try:
        try:
            manifest, show = episode_settings(episode_dir)
            timer = _Timer()
            with progress.listening(report, manifest.slug):
                made = make_published_audio(manifest, show, folder, timer, kept)
        except OSError as failure:
            raise from_os_error(failure, folder) from failure
    except PpodError as error:
        send({"error": str(error), "exit_code": error.exit_code})
        return 0
    stages = {name: {key: entry[key] for key in ("seconds", "cpu") if key in entry}
              for name, entry in timer.stages.items()}  # fmt: skip
    stages = {"audio start-up": start, **stages}
    send({"result": {"trimmed_start": made.cleaned.trimmed_start, "noise": made.cleaned.noise,
                     "mastered": asdict(made.mastered), "stages": stages,
                     "mp3": str(made.mp3)}})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
