"""How far a run has got, for the person waiting: each stage, its percentage, the time left.

The work reports, the display listens. A stage is opened with :func:`stage` (the pipeline's
stage timer does it) and the loop doing the work calls :func:`advance` with the fraction done;
both are no-ops unless a listener was installed with :func:`listening` for this run. The current
listener and stage live in context variables, so a stage run in a worker thread (the audio path
beside the speech models) reports under its own name when the thread was started with a copy of
the context (:func:`in_thread`), and nothing needs passing down through the stages' signatures.

What a listener gets is a :class:`ProgressEvent`; :class:`PlainLines` turns those into
timestamped lines for a log or a pipe (``14:02:11 demo: transcribe 40% (eta 0:12)``), and the
CLI shows a rich progress bar when its output is a terminal.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

T = TypeVar("T")

# An estimate of the time left from under this fraction done is mostly noise: not shown.
ETA_FROM = 0.05


@dataclass(frozen=True)
class ProgressEvent:
    """One stage of one episode at ``fraction`` (0 when it starts, 1 when it ends)."""

    episode: str
    stage: str
    fraction: float
    elapsed: float
    """Seconds since the stage started."""

    @property
    def done(self) -> bool:
        return self.fraction >= 1.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far; None until enough of the stage is done to tell."""
        if self.done:
            return 0.0
        if self.fraction < ETA_FROM:
            return None
        return self.elapsed * (1.0 - self.fraction) / self.fraction


Listener = Callable[[ProgressEvent], None]

# What :class:`PlainLines` writes, so a reader of the output (a test, a log filter) can tell
# progress from an error line.
PLAIN_LINE = re.compile(r"^\d\d:\d\d:\d\d \S+: \S+ (\d+%( \(eta [\d:]+\))?|done in [\d:]+)$")


class Cancelled(Exception):  # noqa: N818 - it is not an error: the run stopped elsewhere
    """Raised by :func:`advance` in a stage whose run was cancelled (another stage failed)."""


@dataclass
class _Run:
    listener: Listener | None
    episode: str
    lock: threading.Lock
    cancelled: threading.Event


@dataclass
class _Stage:
    name: str
    started: float
    last: float = -1.0


_run: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("ppod_run", default=None)
_stage: contextvars.ContextVar[_Stage | None] = contextvars.ContextVar("ppod_stage", default=None)


@contextlib.contextmanager
def listening(listener: Listener | None, episode: str) -> Iterator[None]:
    """Send this run's progress (in this context and threads started by :func:`in_thread`) to
    ``listener``; with none, stages can still be cancelled (:func:`cancel`)."""
    token = _run.set(_Run(listener, episode, threading.Lock(), threading.Event()))
    try:
        yield
    finally:
        _run.reset(token)


def _emit(run: _Run, current: _Stage, fraction: float) -> None:
    if run.listener is None:
        return
    event = ProgressEvent(run.episode, current.name, fraction, time.monotonic() - current.started)
    with run.lock:  # two stages (two threads) report to one display
        run.listener(event)


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """A stage: reported at 0 % when it starts and at 100 % when it ends without error."""
    run = _run.get()
    if run is None or run.listener is None:
        yield
        return
    current = _Stage(name, time.monotonic())
    token = _stage.set(current)
    try:
        current.last = 0.0
        _emit(run, current, 0.0)
        yield
        _emit(run, current, 1.0)
    finally:
        _stage.reset(token)


def advance(fraction: float) -> None:
    """The current stage is ``fraction`` done (clamped to 0..0.99: only its end says 100 %).

    Cheap enough to call per block or segment: it reports only a step of at least 1 %. In a run
    that was cancelled it raises :class:`Cancelled`, so a worker thread stops at its next block.
    """
    run, current = _run.get(), _stage.get()
    if run is not None and run.cancelled.is_set():
        raise Cancelled
    if run is None or current is None:
        return
    fraction = min(max(float(fraction), 0.0), 0.99)
    if fraction - current.last < 0.01:
        return
    current.last = fraction
    _emit(run, current, fraction)


def relay(stage_name: str, fraction: float, elapsed: float) -> None:
    """Pass on a stage's progress reported from elsewhere (a child process's stage)."""
    run = _run.get()
    if run is None or run.listener is None:
        return
    with run.lock:
        run.listener(ProgressEvent(run.episode, stage_name, fraction, elapsed))


def checkpoint() -> None:
    """Where a loop that cannot say how far it is may still be stopped (see :func:`cancel`)."""
    run = _run.get()
    if run is not None and run.cancelled.is_set():
        raise Cancelled


def cancel() -> None:
    """Stop this run's other stages (in worker threads) at their next :func:`advance`."""
    run = _run.get()
    if run is not None:
        run.cancelled.set()


def in_thread(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` bound to a copy of this context, for a worker thread to run (it reports to
    the same listener)."""
    context = contextvars.copy_context()
    return lambda *args, **kwargs: context.run(function, *args, **kwargs)


def cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process's threads and by the children
    it has waited for (ffmpeg's decodes and encodes): a stage's cost apart from the time it
    waited for cores, which on a shared machine is most of its wall time."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def clock(seconds: float) -> str:
    """``0:12``, ``3:05``, ``1:02:03``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class PlainLines:
    """Progress as timestamped lines, for output that is not a terminal (a log, CI, a pipe).

    A line when a stage starts and ends, and in between at most one every ``every`` seconds or
    every ``step`` of progress, whichever comes first, so a log stays readable over an hour.
    """

    def __init__(self, stream: IO[str], every: float = 5.0, step: float = 0.1):
        self.stream = stream
        self.every = every
        self.step = step
        self.shown: dict[tuple[str, str], tuple[float, float]] = {}

    def __call__(self, event: ProgressEvent) -> None:
        key = (event.episode, event.stage)
        now = time.monotonic()
        last = self.shown.get(key)
        if last is not None and not event.done:
            fraction, when = last
            if event.fraction - fraction < self.step and now - when < self.every:
                return
        self.shown[key] = (event.fraction, now)
        self.stream.write(self.line(event) + "\n")
        self.stream.flush()

    @staticmethod
    def line(event: ProgressEvent) -> str:
        stamp = time.strftime("%H:%M:%S")
        if event.done:
            state = f"done in {clock(event.elapsed)}"
        else:
            eta = event.eta
            state = f"{event.fraction:.0%}" + (f" (eta {clock(eta)})" if eta is not None else "")
        return f"{stamp} {event.episode}: {event.stage} {state}"


def rich_display(console: Any) -> contextlib.AbstractContextManager[Listener]:
    """A live rich progress display on ``console``: one bar per stage, percentage, time left."""
    return _RichDisplay(console)


class _RichDisplay:
    def __init__(self, console: Any):
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[tuple[str, str], Any] = {}

    def __enter__(self) -> Listener:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, event: ProgressEvent) -> None:
        key = (event.episode, event.stage)
        task = self.tasks.get(key)
        if task is None:
            task = self.progress.add_task(f"{event.episode}: {event.stage}", total=1.0)
            self.tasks[key] = task
        self.progress.update(task, completed=event.fraction)
