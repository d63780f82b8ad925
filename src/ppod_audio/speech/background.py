"""Diarization in a thread beside the recogniser.

The diarizer hears only the 16 kHz recording, not the words, so it need not wait for them: the
words are assigned to its turns once both are done. On 2 cores the recogniser leaves CPU idle
(bare faster-whisper averages about 1.3 busy cores; beside the audio child it runs on one thread,
and the child is done long before it on a long episode), so diarizing after transcription put
its whole cost (54 s of a 30-minute episode) on the run's critical path for nothing.

The thread starts when ``go`` is set (the pipeline sets it when the audio child has ended, so the
three do not share two cores) or when the words are in, whichever is first. The embedded
diarizer runs its encoder on one torch thread and Silero on one onnxruntime thread whatever the
caller's settings (``EmbeddedDiarizerOptions.torch_threads``, faster-whisper's VAD session), so
its result is the sequential one's exactly (``tests/test_background_stage.py``).

A thread, not a process (as the audio child is): its heavy parts (torch, onnxruntime, the
filterbank over a whole region) are coarse calls, so it holds Python's lock seldom, and it needs
no second copy of the recording or of the models' start-up.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .. import progress

T = TypeVar("T")

StageTimer = Callable[[str], contextlib.AbstractContextManager[dict[str, Any]]]


class BackgroundStage(Generic[T]):
    """``work`` run as the stage ``name`` in a worker thread once ``go`` is set.

    Its stage entry records the thread's own CPU seconds (the process's would count the
    recogniser's too); :meth:`cpu` reads them while it runs, so the stage it overlaps can leave
    them out of its own.
    """

    def __init__(self, name: str, work: Callable[[], T], go: threading.Event, stage: StageTimer):
        self.name = name
        self.go = go
        self._work = work
        self._stage = stage
        self._result: T | None = None
        self._error: BaseException | None = None
        self._abandoned = False
        self._cpu: float | None = None  # the thread's CPU seconds, once it has ended
        self.entry: dict[str, Any] = {}  # its stage's entry (seconds, cpu), once it has ended
        self._clock: int | None = None  # the thread's CPU clock, read by :meth:`cpu`
        self.thread = threading.Thread(target=progress.in_thread(self._run), daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self._clock = time.pthread_getcpuclockid(threading.get_ident())
        try:
            self.go.wait()
            if self._abandoned:
                return
            with self._stage(self.name) as entry:
                self._result = self._work()
            # After the timer's own figures: this thread's CPU, not the whole process's.
            entry["cpu"] = round(time.thread_time(), 3)
            self.entry = entry
        except BaseException as error:  # noqa: BLE001 - handed to the caller in result()
            self._error = error
        finally:
            self._cpu = time.thread_time()

    def cpu(self) -> float:
        """The thread's CPU seconds so far (it starts at zero; waiting for ``go`` costs none)."""
        if self._cpu is not None:
            return self._cpu
        if self._clock is None:  # not running yet
            return 0.0
        try:
            return time.clock_gettime(self._clock)
        except OSError:  # it ended between the two reads
            return self._cpu or 0.0

    def result(self) -> T:
        """Start it now if it has not started (the caller's own work is done), and wait."""
        self.go.set()
        self.thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    def abandon(self) -> None:
        """The run failed elsewhere: stop it at its next progress step and wait for it."""
        self._abandoned = True
        progress.cancel()
        self.go.set()
        self.thread.join()
