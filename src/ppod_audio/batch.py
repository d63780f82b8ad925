"""The back catalogue: every episode under a folder, resumable, cached, in parallel.

Three ideas, each small:

* **Plan from keys.** ``plan_episode`` compares the keys the pipeline would record now
  (:func:`ppod_audio.pipeline.episode_keys`) with those in ``report.json`` and the speech cache,
  so ``--dry-run`` says exactly what ``process_episode`` would redo and why, and an up-to-date
  episode is skipped without touching a file (its MP3 keeps its mtime).
* **One lock per episode.** ``output/<episode>/.lock`` (:func:`ppod_audio.pipeline.episode_lock`)
  held with ``flock`` while an episode is planned and processed. The kernel drops it when the
  holder dies, SIGKILL included, so a killed batch never leaves a stale lock; a second batch on
  the same output waits for the episode, then finds it up to date. Temporary files and work
  folders a killed run left are removed under the lock.
* **Same work function everywhere.** ``process_one`` takes and returns plain data, so a local
  process pool and a Dask cluster run the very same code; only progress transport differs.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import EPISODE_FILE
from .review import AWAITING, summary_for
from .speech.stage import SpeechOptions

# Peak RSS of one worker processing the 3.6-minute demo with tiny.en (speech on): 1.41 GB,
# measured with getrusage (README "Batch processing"); rounded up for longer episodes. Larger
# models need more.
WORKER_PEAK_GB = 1.5
# What the OS, the batch's own process and a safety margin keep.
RESERVED_GB = 1.0
# Temporary files in the shared stage cache older than this belong to a dead writer.
STALE_CACHE_TEMP_SECONDS = 600

# Progress sink: (slug, stage, worker), from the workers to the live view.
Events = Callable[[str, str, str], None]


# --- discovery and defaults ---------------------------------------------------------------------


def discover(root: Path, only: str | None = None) -> list[Path]:
    """Episode folders under ``root`` (any depth), sorted; ``only`` is an fnmatch on the name.

    A folder is an episode when it holds ``episode.toml``; hidden folders and the cache are not
    searched, so an output folder inside the raw root is never mistaken for episodes.
    """
    root = Path(root)
    found = []
    for current, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        if EPISODE_FILE in files:
            folder = Path(current)
            if only is None or fnmatch.fnmatch(folder.name, only):
                found.append(folder)
            folders[:] = []  # an episode's subfolders (tracks/) are not episodes
    return sorted(found, key=lambda path: path.name)


def available_memory_gb() -> float:
    """MemAvailable from /proc/meminfo (Linux); psutil elsewhere; 4 GB when neither answers."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    try:
        import psutil

        return psutil.virtual_memory().available / 1024**3
    except ImportError:
        return 4.0


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_jobs(cores: int | None = None, memory_gb: float | None = None) -> int:
    """One worker per core, but no more than memory holds a speech model for.

    Each worker loads its own speech model and holds a whole episode's audio, so on small
    machines memory is the limit: ``min(cores, (available - reserved) // per-worker peak)``, at
    least 1. Not fewer workers than cores: about half of an episode's time is single-threaded
    (decode, mastering, MP3 export), which a second worker overlaps with another's multithreaded
    speech stage (bench/benchmark.py: --jobs 2 vs 1 on 2 cores; see README).
    """
    cores = usable_cores() if cores is None else cores
    memory_gb = available_memory_gb() if memory_gb is None else memory_gb
    by_memory = int((memory_gb - RESERVED_GB) // WORKER_PEAK_GB)
    return max(1, min(cores, by_memory))


# --- planning ---------------------------------------------------------------------------------


@dataclass
class EpisodePlan:
    """What processing this episode would do now, and why."""

    slug: str
    episode_dir: str
    stages: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def up_to_date(self) -> bool:
        return not self.stages and self.error is None

    def describe(self) -> str:
        if self.error:
            return f"would fail: {self.error}"
        if self.up_to_date:
            return "up to date"
        return f"{' + '.join(self.stages)} ({'; '.join(self.reasons)})"


def plan_episode(
    episode_dir: Path, output_root: Path, speech: SpeechOptions, force: bool = False
) -> EpisodePlan:
    """The stages ``process_episode`` would run now and why (:func:`ppod_audio.stages.plan`,
    the very rule the pipeline follows); never raises."""
    from .errors import PpodError, from_os_error
    from .pipeline import ProcessOptions, episode_keys
    from .stages import plan, survey

    episode_dir = Path(episode_dir)
    slug = episode_dir.resolve().name
    result = EpisodePlan(slug, str(episode_dir))
    options = ProcessOptions(output_root=Path(output_root), speech=speech)
    try:
        keys = episode_keys(episode_dir, options)
    except (PpodError, OSError) as error:
        failure = from_os_error(error, episode_dir) if isinstance(error, OSError) else error
        result.error = str(failure)
        result.stages = ["settings"]
        return result
    facts = survey(keys, Path(output_root) / slug, options.cache(), force=force,
                   speech_enabled=speech.enabled)  # fmt: skip
    decided = plan(facts)
    result.stages, result.reasons = decided.stages, decided.reasons
    return result


# --- the work, in a worker ----------------------------------------------------------------------


_worker_events: Any = None  # a multiprocessing queue, set by the pool initializer


def _init_local_worker(events: Any) -> None:
    """Pool initializer: remember the progress queue, and die with the batch (Linux).

    Without PR_SET_PDEATHSIG a SIGKILLed batch would leave its workers finishing episodes
    nobody waits for.
    """
    global _worker_events
    _worker_events = events
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _dask_events(queue_name: str) -> Callable[[str, str, str], None]:
    from distributed import Queue

    sink = Queue(queue_name)
    return lambda slug, stage, worker: sink.put((slug, stage, worker))


def process_one(
    episode_dir: str,
    output_root: str,
    force: bool,
    speech: SpeechOptions,
    queue_name: str | None = None,
) -> Outcome:
    """Lock, re-plan, process one episode; plain data out (an :class:`Outcome`). Runs in a
    pool worker or on Dask.

    A file-system failure outside the pipeline proper (the output folder cannot be created or
    locked: read-only, full, forbidden) fails this episode with one line, like any other."""
    from .errors import from_os_error
    from .pipeline import ProcessOptions, episode_lock, process_locked, remove_leftovers

    worker = f"pid {os.getpid()}"
    events: Events | None = None
    if queue_name is not None:
        with contextlib.suppress(Exception):
            events = _dask_events(queue_name)
    elif _worker_events is not None:
        events = lambda slug, stage, who: _worker_events.put((slug, stage, who))  # noqa: E731
    slug = Path(episode_dir).resolve().name
    output_dir = Path(output_root) / slug

    def say(stage: str) -> None:
        if events:
            with contextlib.suppress(Exception):
                events(slug, stage, worker)

    started = time.perf_counter()
    say("waiting")
    options = ProcessOptions(
        output_root=Path(output_root),
        force=force,
        speech=speech,
        progress=lambda _slug, stage: say(stage),
    )
    try:
        with episode_lock(output_dir, on_wait=lambda: say("locked by another run; waiting")):
            remove_leftovers(output_dir, options.cache().root, slug)
            plan = plan_episode(Path(episode_dir), Path(output_root), speech, force)
            if plan.up_to_date:
                return _outcome(slug, output_dir, "up to date", True, started, plan=plan)
            result = process_locked(Path(episode_dir), options)
    except OSError as error:
        failure = from_os_error(error, output_dir)
        return _outcome(slug, output_dir, "failed", False, started, error=str(failure),
                        exit_code=failure.exit_code)  # fmt: skip
    status = "processed" if result.ok else "failed"
    return _outcome(slug, output_dir, status, result.ok, started, result.report, result.error,
                    result.exit_code, plan)  # fmt: skip


@dataclass
class Outcome:
    """One episode's result in a batch; ``--json`` prints these fields, an object an episode."""

    episode: str
    status: str  # "processed", "up to date" or "failed"
    ok: bool
    error: str | None  # the one-line reason it failed
    exit_code: int  # as ``ppod process`` would have exited: 1 processing, 2 bad input
    output_dir: str
    planned: str | None  # the plan it was processed under (``EpisodePlan.describe``)
    why: str  # the plan's reasons
    stages_run: list[str]  # the report's stages that did work ...
    stages_cached: list[str]  # ... and those that reused an earlier result
    seconds: float  # wall time of this episode in the batch
    duration: float | None  # of the published MP3
    review: dict[str, Any] | None  # the safeguarding review's summary
    awaiting_review: bool  # held back until every review item is decided


def _outcome(
    slug: str,
    output_dir: Path,
    status: str,
    ok: bool,
    started: float,
    report: dict[str, Any] | None = None,
    error: str | None = None,
    exit_code: int = 0,
    plan: EpisodePlan | None = None,
) -> Outcome:
    stages = (report or {}).get("stages", {})
    review = summary_for(output_dir) if ok else None
    return Outcome(
        episode=slug,
        status=status,
        ok=ok,
        error=error,
        exit_code=exit_code,
        output_dir=str(output_dir),
        planned=plan.describe() if plan else None,
        why="; ".join(plan.reasons) if plan else "",
        stages_run=[name for name, entry in stages.items() if not entry.get("cached")],
        stages_cached=[name for name, entry in stages.items() if entry.get("cached")],
        seconds=round(time.perf_counter() - started, 3),
        duration=(report or {}).get("duration"),
        review=review,
        awaiting_review=bool(review and review["status"] == AWAITING),
    )


# --- executors ----------------------------------------------------------------------------------


@dataclass
class BatchOptions:
    output_root: Path = Path("output")
    jobs: int | None = None
    scheduler: str | None = None
    force: bool = False
    speech: SpeechOptions = field(default_factory=SpeechOptions)


Done = Callable[["Outcome"], None]


@contextlib.contextmanager
def _forwarding(progress: Any, events: Events, poll_seconds: float) -> Iterator[None]:
    """While the block runs, a thread hands the workers' progress messages on to ``events``.

    ``progress`` is a multiprocessing or a Dask queue: both answer ``get(timeout=...)``. A broken
    message or sink must not stop the forwarding, nor the batch.
    """
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                events(*progress.get(timeout=poll_seconds))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield
    finally:
        stop.set()
        reader.join(timeout=2)


def _run_local(episodes: list[Path], options: BatchOptions, events: Events, done: Done) -> None:
    """A process pool ('spawn': no forked copies of threads or of a loaded model)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    jobs = min(options.jobs or default_jobs(), len(episodes))
    with (
        _forwarding(progress, events, poll_seconds=0.2),
        ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_init_local_worker, initargs=(progress,)
        ) as pool,
    ):
        pending = {
            pool.submit(
                process_one, str(path), str(options.output_root), options.force, options.speech
            ): path  # fmt: skip
            for path in episodes
        }
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                path = pending.pop(future)
                done(_collect(future, path, options))


def _run_dask(episodes: list[Path], options: BatchOptions, events: Events, done: Done) -> None:
    """Episodes as Dask tasks; paths must be the same on every worker (a shared filesystem)."""
    from distributed import Client, Queue, as_completed

    queue_name = f"ppod-progress-{uuid.uuid4().hex}"
    with Client(options.scheduler) as client:
        progress = Queue(queue_name, client=client)
        futures = {
            client.submit(process_one, str(path.resolve()),
                          str(Path(options.output_root).resolve()), options.force, options.speech,
                          queue_name, pure=False, key=f"ppod-{path.name}-{uuid.uuid4().hex[:8]}"):
            path
            for path in episodes
        }  # fmt: skip
        with _forwarding(progress, events, poll_seconds=0.5):
            for future in as_completed(futures):
                done(_collect(future, futures[future], options))


def _collect(future: Any, path: Path, options: BatchOptions) -> Outcome:
    """A worker that died (crash, OOM kill) fails its episode only."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - the batch must go on whatever one worker did
        slug = path.resolve().name
        output_dir = Path(options.output_root) / slug
        crashed = f"worker crashed: {error!r}"
        return _outcome(slug, output_dir, "failed", False, time.perf_counter(), error=crashed,
                        exit_code=1)  # fmt: skip


# --- the batch ----------------------------------------------------------------------------------


@dataclass
class BatchState:
    """What the live view shows; updated from the reader thread and the main thread."""

    total: int
    started: float = field(default_factory=time.perf_counter)
    results: list[Outcome] = field(default_factory=list)
    running: dict[str, tuple[str, str]] = field(default_factory=dict)  # slug -> (stage, worker)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.results)

    @property
    def remaining(self) -> int:
        return self.total - len(self.results)

    def eta(self) -> float | None:
        """Remaining episodes times the mean time of those that really ran, over the workers."""
        ran = [r.seconds for r in self.results if r.status != "up to date"]
        if not ran or not self.remaining:
            return None if self.remaining else 0.0
        workers = max(1, len(self.running))
        return sum(ran) / len(ran) * self.remaining / workers


def run_batch(
    episodes: list[Path], options: BatchOptions, state: BatchState | None = None
) -> list[Outcome]:
    """Process these episode folders (``discover``'s); one outcome per episode, in order.

    Up-to-date episodes are answered here, without starting a worker; the rest go to the pool or
    the cluster, where each is re-planned under its lock (another run may have finished it).
    """
    from .pipeline import remove_stale_temporaries

    state = state or BatchState(total=len(episodes))
    cache = Path(options.output_root) / ".cache"
    if cache.is_dir():
        remove_stale_temporaries(cache, older_than=STALE_CACHE_TEMP_SECONDS)

    def record(result: Outcome) -> None:
        with state.lock:
            state.running.pop(result.episode, None)
            state.results.append(result)

    def on_event(slug: str, stage: str, worker: str) -> None:
        with state.lock:
            if not any(r.episode == slug for r in state.results):
                state.running[slug] = (stage, worker)

    todo = []
    for path in episodes:
        plan = plan_episode(path, options.output_root, options.speech, options.force)
        if plan.up_to_date:
            outcome = _outcome(plan.slug, Path(options.output_root) / plan.slug, "up to date",
                               True, time.perf_counter(), plan=plan)  # fmt: skip
            record(outcome)
        else:
            todo.append(path)
    if todo:
        runner = _run_dask if options.scheduler else _run_local
        runner(todo, options, on_event, record)
    order = {path.resolve().name: index for index, path in enumerate(episodes)}
    return sorted(state.results, key=lambda r: order.get(r.episode, 0))


def plan_batch(root: Path, options: BatchOptions, only: str | None = None) -> list[EpisodePlan]:
    return [
        plan_episode(path, options.output_root, options.speech, options.force)
        for path in discover(root, only)
    ]


# --- presentation (the CLI's view; kept here so cli.py stays one thin command) -----------------


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _live_view(state: BatchState) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    with state.lock:
        done = len(state.results) - state.failed
        header = Text(
            f"episodes: {done} done, {state.failed} failed, {state.remaining} remaining   "
            f"elapsed {_clock(time.perf_counter() - state.started)}   eta {_clock(state.eta())}"
        )
        table = Table(box=None, show_header=True, header_style="bold")
        table.add_column("episode")
        table.add_column("stage")
        table.add_column("worker")
        for slug, (stage, worker) in sorted(state.running.items()):
            table.add_row(slug, stage, worker)
    return Group(header, table)


def summary_table(results: list[Outcome]) -> Any:
    from rich.table import Table

    table = Table(title="ppod batch")
    for column in ("episode", "result", "stages run", "seconds", "reason"):
        table.add_column(column)
    for r in results:
        colour = "green" if r.ok else "red"
        reason = r.error or r.why
        status = r.status
        if r.awaiting_review:
            colour, status = "yellow", f"{status}, {AWAITING} ({r.review['pending']} items)"
        table.add_row(r.episode, f"[{colour}]{status}[/]", ", ".join(r.stages_run),
                      f"{r.seconds:.1f}", reason or "")  # fmt: skip
    return table


def run_cli(
    root: Path,
    options: BatchOptions,
    only: str | None,
    dry_run: bool,
    as_json: bool,
) -> int:
    """``ppod batch``: live view on stderr, summary table (or JSON on stdout); the exit code."""
    import json

    from rich.console import Console
    from rich.live import Live

    from .errors import InputError

    root = Path(root)
    if not root.is_dir():
        raise InputError("is not a folder", root, "give the folder that holds the episodes")
    console = Console(stderr=True)
    if dry_run:
        plans = plan_batch(root, options, only)
        if as_json:
            print(json.dumps([asdict(p) | {"would": p.describe()} for p in plans], indent=2))
        else:
            for plan in plans:
                print(f"{plan.slug}: {plan.describe()}")
        return 0
    episodes = discover(root, only)
    state = BatchState(total=len(episodes))
    if state.total == 0:
        console.print(f"no episode folders (with {EPISODE_FILE}) under {root}")
        return 0
    with Live(_live_view(state), console=console, refresh_per_second=4, transient=True) as live:
        ticker = threading.Event()

        def refresh() -> None:
            while not ticker.wait(0.5):
                live.update(_live_view(state))

        thread = threading.Thread(target=refresh, daemon=True)
        thread.start()
        try:
            results = run_batch(episodes, options, state=state)
        finally:
            ticker.set()
            thread.join(timeout=1)
    if as_json:
        print(json.dumps([asdict(result) for result in results], indent=2))
    else:
        console.print(summary_table(results))
        waiting = [r for r in results if r.awaiting_review]
        if waiting:
            console.print(f"{AWAITING}: " + ", ".join(
                f"{r.episode} ({r.review['pending']} items: ppod review {r.output_dir})"
                for r in waiting))  # fmt: skip
        console.print(
            f"{sum(r.ok for r in results)} ok, {sum(not r.ok for r in results)} failed, "
            f"{_clock(time.perf_counter() - state.started)} elapsed"
        )
    return 0 if all(r.ok for r in results) else 1
