"""One episode, start to finish: load -> clean -> level -> speech -> intro -> export -> publish.

Each stage is a function of its inputs and settings. Speech results (the slow part) are cached
under keys built from the recordings and the model settings, so a change of glossary, cleaning or
loudness target never runs the speech model again, and an unchanged episode does no audio work at
all (its audio key matches the MP3 already published).

One run at a time per episode: ``process_episode`` holds ``<output>/<episode>/.lock`` (``flock``,
released by the kernel however the holder dies), and under it removes what a killed run left.

Everything is staged under temporary names and published as one set at the end
(:mod:`ppod_audio.staging`: transcripts, ``episode.json``, the MP3, ``report.json`` last), so a
failure leaves the previous outputs untouched, and a crash midway is finished by the next
command that takes the lock: never new transcripts beside an old MP3.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__, progress
from . import stages as stage_table
from .audio import decode as decoding
from .audio.clean import clean
from .audio.decode import Audio
from .audio.denoise import DENOISER_VERSION
from .audio.kept import KeptProgramme
from .audio.loudness import LevellerOptions
from .audio.master import TRUE_PEAK_MARGIN_DB, Mastered, MasterSettings, master_to_mp3
from .audio.prepare import CleanedEpisode, prepare_mixed, prepare_tracks
from .beside import Beside
from .cache import Cache, make_key
from .config import (
    EPISODE_FILE,
    EpisodeManifest,
    ShowConfig,
    apply_overrides,
    load_episode,
    load_show,
    require_show_file,
)
from .cover import cover_warnings, inspect_cover
from .edit import audio_edits
from .edit.history import backup as backup_document
from .errors import InputError, PpodError, from_os_error
from .fileio import LONGEST_SUFFIX, name_max, stamped_sha256, write_text
from .lock import LOCK_FILE, episode_lock, remove_stale_temporaries, tidy_episode
from .outputs import document_path
from .publish import (
    edited_document,
    failure_report,
    published_report,
    refresh_edited,
    report_json,
    stage_recognised,
    stage_transcripts,
)
from .review import REVIEW_FILE, review_json
from .speech.naming import name_speakers
from .speech.stage import SpeechOptions, SpeechResult, overlaps, run_speech, speech_key
from .speech.voiceprints import list_voices
from .stages import Facts, Plan, survey
from .stages import plan as plan_stages
from .staging import staged
from .transcript.document import build_document, glossary_terms, load_show_glossary
from .transcript.model import WARNING_SPEAKER_ID, EpisodeDocument

if TYPE_CHECKING:
    from .review import Review

Progress = Callable[[str, str], None]

__all__ = ["LOCK_FILE", "episode_lock", "remove_stale_temporaries"]  # kept importable from here


@dataclass
class ProcessOptions:
    output_root: Path = Path("output")
    cache_dir: Path | None = None
    force: bool = False
    speech: SpeechOptions = field(default_factory=SpeechOptions)
    progress: Progress | None = None
    # Each stage's percentage and time left, as it goes (``progress.ProgressEvent``).
    listener: progress.Listener | None = None
    # An edited document to publish in place of episode.json (an audio edit being applied:
    # ``ppod redact``/``cut``); its audio_edits are rendered into this run's MP3.
    document: EpisodeDocument | None = None

    def cache(self) -> Cache:
        return Cache(self.cache_dir or Path(self.output_root) / ".cache")


@dataclass
class EpisodeResult:
    slug: str
    output_dir: Path
    ok: bool
    report: dict[str, Any]
    error: str | None = None
    exit_code: int = 0
    # Kept for ``ppod --debug process``, which re-raises it to show where it came from.
    exception: PpodError | None = None


@dataclass
class _Timer:
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress: Progress | None = None
    slug: str = ""

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        if self.progress:
            self.progress(self.slug, name)
        entry: dict[str, Any] = {"cached": False}
        started, cpu = time.perf_counter(), progress.cpu_seconds()
        with progress.stage(name):
            yield entry
        entry["seconds"] = round(time.perf_counter() - started, 3)
        # CPU seconds of this process (all its threads) and its ffmpeg children in the stage:
        # the work, apart from waiting for cores (``bench/pipeline_rtf.py`` prints them).
        entry["cpu"] = round(progress.cpu_seconds() - cpu, 3)
        self.stages[name] = entry


def episode_settings(episode_dir: Path) -> tuple[EpisodeManifest, ShowConfig]:
    manifest = load_episode(episode_dir)
    show = apply_overrides(load_show(Path(episode_dir).resolve().parent), manifest)
    return manifest, show


def check_before_work(manifest: EpisodeManifest, show: ShowConfig) -> list[str]:
    """Everything a run reads besides the recordings, checked before any audio or speech work:
    the content warning (decoded through once), the cover (refused unless a whole JPEG/PNG)
    and the glossary (parsed). Returns warnings for the report (a cover Apple would reject).
    The show's assets are checked once per process (a batch pays for them once)."""
    warnings: list[str] = []
    intro = show.content_warning
    if intro.active:
        decoding.check_audio(require_show_file(show, intro.audio, "content_warning.audio"))
    if show.cover:
        warnings += cover_warnings(inspect_cover(show.path(show.cover)))
    load_show_glossary(show, manifest)
    return warnings


def check_name_fits(episode_dir: Path, output_dir: Path) -> None:
    """An episode folder's name becomes every output's name (``<slug>.transcript.json`` and its
    temporary twin): refuse one the output's file system cannot hold before any work, rather
    than fail at the last rename with half the transcripts published."""
    slug = output_dir.name
    limit = name_max(output_dir.parent) - LONGEST_SUFFIX
    if len(slug.encode()) > limit:
        raise InputError(
            f"the folder name is {len(slug.encode())} bytes long; outputs named after it need "
            f"{LONGEST_SUFFIX} more and the file system allows {limit + LONGEST_SUFFIX}",
            episode_dir, f"rename the folder to at most {limit} characters",
        )  # fmt: skip


def input_hashes(manifest: EpisodeManifest) -> list[tuple[str, str]]:
    files = manifest.input_paths() or [path for _, path in manifest.track_paths()]
    return [(path.name, stamped_sha256(path)) for path in files]


def output_channels(show: ShowConfig) -> int:
    return 1 if show.mp3.channels == "mono" else 2


def clean_key(manifest: EpisodeManifest, show: ShowConfig, hashes: list[tuple[str, str]]) -> str:
    tracks = [(s.name, s.track) for s in manifest.track_speakers]
    return make_key("clean", hashes, tracks, show.clean.model_dump(), show.mp3.sample_rate,
                    output_channels(show), DENOISER_VERSION)  # fmt: skip


def audio_key(clean: str, show: ShowConfig) -> str:
    """Everything the published MP3's samples depend on."""
    intro = show.content_warning
    intro_hash = stamped_sha256(show.path(intro.audio)) if intro.active else None
    return make_key("audio", clean, show.loudness.model_dump(), show.mp3.model_dump(),
                    intro.model_dump(), intro_hash, TRUE_PEAK_MARGIN_DB)  # fmt: skip


def _files_sha256(paths: list[Path]) -> list[tuple[str, str]]:
    return [(path.name, stamped_sha256(path)) for path in sorted(paths) if path.is_file()]


def stage_keys(
    manifest: EpisodeManifest, show: ShowConfig, speech_options: SpeechOptions
) -> dict[str, Any]:
    """Every stage's key, computed without processing anything.

    One function for ``_process`` and for the batch planner (``ppod batch --dry-run``), so what
    the planner says would run is what the pipeline then runs. ``text`` covers the document and
    rendering stages (metadata, glossary, voiceprints, cover); ``glossary`` is kept apart only so
    the planner can say *why* text stages re-run. ``terms`` is the speech prompt, not a key.
    """
    hashes = input_hashes(manifest)
    clean_k = clean_key(manifest, show, hashes)
    audio_k = audio_key(clean_k, show)
    prompted = speech_options.enabled and show.speech.prompt != "none"
    terms = glossary_terms(show, manifest) if prompted else []
    speech_k = speech_key(hashes, speech_options, manifest, show, terms)
    glossary = _files_sha256([show.path(show.glossary)]) if show.glossary else []
    voices = show.path(show.voices)
    text_k = make_key("text", speech_k, audio_k, manifest.model_dump(mode="json"),
                      show.model_dump(mode="json"), glossary,
                      _files_sha256([show.path(show.cover)]) if show.cover else [],
                      _files_sha256(list(voices.iterdir())) if voices.is_dir() else [])  # fmt: skip
    tracks = [(s.name, s.track) for s in manifest.track_speakers]
    return {"inputs": make_key("inputs", hashes, tracks), "clean": clean_k, "audio": audio_k,
            "speech": speech_k, "glossary": make_key("glossary", glossary), "text": text_k,
            "terms": terms}  # fmt: skip


def episode_keys(episode_dir: Path, options: ProcessOptions) -> dict[str, Any]:
    """The keys ``process_episode`` would record for this episode now (raises ``PpodError``)."""
    manifest, show = episode_settings(episode_dir)
    check_before_work(manifest, show)
    keys = stage_keys(manifest, show, options.speech.resolved(show))
    keys["edits"] = audio_edits_key(Path(options.output_root) / manifest.slug, show, keys["speech"])
    return keys


def audio_edits_key(
    output_dir: Path, show: ShowConfig, speech_k: str, incoming: EpisodeDocument | None = None
) -> str | None:
    """The key of the audio edits the MP3 carries (``None``: none, and no tidying): the edit
    list of the published ``episode.json`` (or ``incoming``, a command's), as replayed."""
    stored = audio_edits.stored_edits(output_dir, published_report(output_dir), incoming)
    return audio_edits.edits_key(stored, show, speech_k)


# --- audio ------------------------------------------------------------------------------------


def load_and_clean(
    manifest: EpisodeManifest,
    show: ShowConfig,
    work: Path,
    *,
    speech: bool = True,
    audio: bool = True,
) -> CleanedEpisode:
    """Decode and clean the recordings into ``work`` (on disk), streamed. ``speech`` False
    skips the 16 kHz copies (the speech result is cached or speech is off); ``audio`` False
    decodes only those (the published MP3 is reused: a new model over a back catalogue)."""
    rate = show.mp3.sample_rate
    if manifest.track_speakers:
        tracks = [(speaker.name, path) for speaker, path in manifest.track_paths()]
        return prepare_tracks(tracks, work, rate, show.clean,
                              manifest.root / EPISODE_FILE, speech=speech, audio=audio)  # fmt: skip
    return prepare_mixed(manifest.input_paths(), work, rate, output_channels(show) == 1,
                         show.clean, speech=speech, audio=audio)  # fmt: skip


def load_intro(show: ShowConfig, channels: int) -> Audio | None:
    """The content-warning clip, cleaned like an episode, with its dead air trimmed short."""
    warning = show.content_warning
    if not warning.active:
        return None
    intro = decoding.decode(show.path(warning.audio), show.mp3.sample_rate, channels)
    return clean(intro, highpass_hz=show.clean.highpass_hz, keep_silence_seconds=0.15).audio


def master_settings(show: ShowConfig) -> MasterSettings:
    loudness = show.loudness
    return MasterSettings(
        target_lufs=loudness.target_lufs,
        true_peak_dbtp=loudness.true_peak_dbtp,
        level_speakers=loudness.level_speakers,
        leveller=LevellerOptions(
            max_boost_db=loudness.max_boost_db, max_cut_db=loudness.max_cut_db
        ),  # fmt: skip
        out_channels=output_channels(show),
        bitrate_kbps=show.mp3.bitrate_kbps,
        out_rate=show.mp3.sample_rate,
        gap_seconds=show.content_warning.gap_seconds,
        crossfade_seconds=show.content_warning.crossfade_seconds,
    )


@dataclass
class PublishedAudio:
    """The audio path's result: the cleaned programme, its mastering, the MP3 made."""

    cleaned: CleanedEpisode
    mastered: Mastered
    mp3: Path


def clean_published(
    manifest: EpisodeManifest,
    show: ShowConfig,
    folder: Path,
    timer: _Timer,
    kept: KeptProgramme | None = None,
) -> CleanedEpisode:
    """Decode and clean the programme the MP3 is made from (full rate, on disk in ``folder``),
    or read it back from ``kept`` when an earlier run kept it; keep what is cleaned here."""
    if kept is not None:
        began = time.perf_counter()
        restored = kept.load(folder)
        if restored is not None:
            audio, info = restored
            timer.stages["decode+clean"] = {
                "cached": True,
                "seconds": round(time.perf_counter() - began, 3),
            }
            return CleanedEpisode(audio, np.zeros(0, np.float32), float(info["trimmed_start"]),
                                  noise=info.get("noise") or {})  # fmt: skip
    with timer.stage("decode+clean"):
        cleaned = load_and_clean(manifest, show, folder, speech=False)
        assert cleaned.audio is not None
        if kept is not None:
            info = {"trimmed_start": cleaned.trimmed_start, "noise": cleaned.noise,
                    "channels": cleaned.audio.channels, "rate": cleaned.audio.rate}  # fmt: skip
            kept.save(cleaned.audio, info)
    return cleaned


def master_published(
    cleaned: CleanedEpisode, programme: Audio, show: ShowConfig, folder: Path, timer: _Timer
) -> PublishedAudio:
    """Master and encode ``programme`` (the cleaned audio, audio edits applied) with the
    content warning in front, into ``folder``."""
    intro = load_intro(show, programme.channels)
    mp3 = folder / "published.mp3"
    if timer.progress:
        timer.progress(timer.slug, "master")
    mastered = master_to_mp3(programme, intro, master_settings(show), mp3)
    for stage, seconds in mastered.seconds.items():
        timer.stages[stage] = {"cached": False, "seconds": round(seconds, 3),
                               "cpu": round(mastered.cpu.get(stage, 0.0), 3)}  # fmt: skip
    return PublishedAudio(cleaned, mastered, mp3)


def make_published_audio(
    manifest: EpisodeManifest,
    show: ShowConfig,
    folder: Path,
    timer: _Timer,
    kept: KeptProgramme | None = None,
) -> PublishedAudio:
    """Decode, clean, master and encode the published audio into ``folder`` (no audio edits).

    Independent of the speech models, which hear the recording as it came (not the cleaned
    programme), so ``_process_in`` runs it in a child process beside them (:mod:`.beside`).
    """
    cleaned = clean_published(manifest, show, folder, timer, kept)
    assert cleaned.audio is not None
    return master_published(cleaned, cleaned.audio, show, folder, timer)


@contextlib.contextmanager
def _beside(
    episode_dir: Path, folder: Path, timer: _Timer, run: bool, kept: KeptProgramme
) -> Iterator[Beside | None]:
    """The published audio made in a child process while the block runs (:mod:`.beside`);
    ``run`` False: not at all. If the block fails, the child is ended."""
    if not run:
        yield None
        return
    on_stage = (lambda name: timer.progress(timer.slug, name)) if timer.progress else None
    child = Beside(episode_dir, folder, on_stage, kept=(kept.folder, kept.key))
    try:
        yield child
    finally:
        child.stop()


def _threads_beside(child: Beside | None) -> int:
    """The recogniser's CPU threads: one core left to the audio child while it runs.

    The child's chain (decoding, noise reduction, mastering) is the longer of the two
    (``bench/pipeline_rtf.py``: 119 against 64 CPU seconds per 10 minutes for tiny.en, 136
    against 111 for base, measured with a one-thread denoiser); a recogniser on every core
    takes a share of the child's core and lengthens the run by that much. The denoiser's
    segments run on every core (``audio.denoise.workers``), so once speech is done the child
    has both. 0 (every core) when nothing runs beside it."""
    if child is None:
        return 0
    return max(1, (os.cpu_count() or 1) - 1)


def _cores_free(child: Beside | None) -> threading.Event:
    """When diarization may start beside the recogniser (:mod:`.speech.background`): once the
    audio child has ended (before, the recogniser, the child and the diarizer would share two
    cores, and the recogniser is the run's critical path), at once when there is none (the
    recogniser alone leaves most of a core idle: bare faster-whisper averages 1.3 busy cores)."""
    if child is not None:
        return child.finished
    free = threading.Event()
    free.set()
    return free


def _load_review_model(timer: _Timer) -> threading.Thread:
    """Load the safeguarding review's NER model (spaCy: seconds of imports and weights) in a
    thread while the parent waits for the audio child, so the review after it does not.

    Timed as the stage "review model" with its thread's own CPU seconds; a failure to load is
    left to the review itself, which reports it."""

    def load() -> None:
        from .review import ner_model

        started, cpu = time.perf_counter(), time.thread_time()
        with contextlib.suppress(PpodError):
            ner_model()
        timer.stages["review model"] = {"cached": False,
                                        "seconds": round(time.perf_counter() - started, 3),
                                        "cpu": round(time.thread_time() - cpu, 3)}  # fmt: skip

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    return thread


def _published_from(child: Beside, timer: _Timer) -> PublishedAudio:
    """The child's result as the sequential path's (its stages timed, its MP3 in the folder)."""
    made = child.result()
    for name, entry in made.stages.items():
        timer.stages[name] = {"cached": False, **entry}
    cleaned = CleanedEpisode(None, np.zeros(0, np.float32), made.trimmed_start, noise=made.noise)
    return PublishedAudio(cleaned, Mastered(**made.mastered), made.mp3)


# --- the episode --------------------------------------------------------------------------------


def process_episode(episode_dir: Path, options: ProcessOptions | None = None) -> EpisodeResult:
    """Process one episode folder under its lock; never raises for an expected failure."""
    options = options or ProcessOptions()
    slug = Path(episode_dir).resolve().name
    output_dir = Path(options.output_root) / slug
    progress = options.progress
    waiting = (lambda: progress(slug, "locked by another run; waiting")) if progress else None
    with episode_lock(output_dir, on_wait=waiting):
        remove_leftovers(output_dir, options.cache().root, slug)
        return process_locked(episode_dir, options)


def process_locked(episode_dir: Path, options: ProcessOptions) -> EpisodeResult:
    """``process_episode`` for a caller that already holds the lock (the batch re-plans under it).

    Never raises for an expected failure: the error is returned and recorded in ``report.json``.
    """
    episode_dir = Path(episode_dir)
    slug = episode_dir.resolve().name
    output_dir = Path(options.output_root) / slug
    try:
        try:
            check_name_fits(episode_dir, output_dir)
            report = _process(episode_dir, output_dir, options)
        except OSError as failure:  # disk full, read-only, permissions: one line, not a trace
            raise from_os_error(failure, output_dir) from failure
        return EpisodeResult(slug, output_dir, True, report)
    except PpodError as error:
        report = {"episode": slug, "status": "failed", "error": str(error), "version": __version__}
        _write_failure(output_dir, report)
        return EpisodeResult(slug, output_dir, False, report, str(error), error.exit_code, error)


def remove_leftovers(output_dir: Path, cache_root: Path, slug: str) -> None:
    """What a killed run of this episode left; only safe under its lock, which every run holds.

    Its work folder holds the whole episode as full-rate float32 and would stay forever. The
    pattern is ``_process_in``'s prefix plus ``TemporaryDirectory``'s 8 random characters, so it
    never matches another episode's (``ep-2``'s folders are longer than ``ep``'s).
    """
    tidy_episode(output_dir)  # an interrupted publication finished, then temporaries removed
    for folder in Path(cache_root).glob(f".work-{glob.escape(slug)}-????????"):
        shutil.rmtree(folder, ignore_errors=True)


def _write_failure(output_dir: Path, report: dict[str, Any]) -> None:
    """Record the failure in report.json without touching outputs of an earlier good run.

    The report of what is published is kept inside it (``last_ok``): its keys are what tells
    the next run an editor's ``episode.json`` from the pipeline's own.
    """
    with contextlib.suppress(OSError):
        write_text(output_dir / "report.json", report_json(failure_report(output_dir, report)))


def _process(episode_dir: Path, output_dir: Path, options: ProcessOptions) -> dict[str, Any]:
    # ``work`` owns the temporary folder of cleaned audio: removed however the run ends.
    with contextlib.ExitStack() as work:
        return _process_in(work, episode_dir, output_dir, options)


def _process_in(
    work: contextlib.ExitStack, episode_dir: Path, output_dir: Path, options: ProcessOptions
) -> dict[str, Any]:
    started = time.perf_counter()
    manifest, show = episode_settings(episode_dir)
    early_warnings = check_before_work(manifest, show)
    slug = manifest.slug
    work.enter_context(progress.listening(options.listener, slug))
    timer = _Timer(progress=options.progress, slug=slug)
    cache = options.cache()
    speech_options = options.speech.resolved(show)

    with timer.stage("hash"):
        stage_k = stage_keys(manifest, show, speech_options)
        stage_k["edits"] = audio_edits_key(output_dir, show, stage_k["speech"], options.document)

    # The same plan ``ppod batch --dry-run`` prints (:mod:`ppod_audio.stages`).
    facts = survey(stage_k, output_dir, cache, force=options.force,
                   speech_enabled=speech_options.enabled)  # fmt: skip
    run = _EpisodeRun(episode_dir, output_dir, manifest, show, options, speech_options,
                      cache, timer, stage_k, facts, plan_stages(facts), early_warnings,
                      started)  # fmt: skip
    run.prepare(work)
    _run_stages(run)
    return run.report


def _run_stages(run: _EpisodeRun) -> None:
    """The table's stages (:data:`ppod_audio.stages.STAGES`) that the plan names, in its order,
    each by its ``run``; the text stages every time (they refresh an editor's document).

    The one thing decided here rather than in the table: when the speech models run and the
    MP3 is made without audio edits (tidying reads this run's words), the stages that may run
    beside speech (``Stage.beside_speech``: decode+clean, master, export) run in the audio
    child (:mod:`.beside`) while the parent runs the others, and the parent collects the
    child's result before the text stages. A callable two rows share runs once."""
    table = stage_table.STAGES
    todo = set(run.plan.stages) | {stage.name for stage in table if stage.every_run}
    if run.speech is None:  # planned, or its cached result could not be read back
        todo.add("speech")
    beside = "speech" in todo and "master" in todo and run.keys["edits"] is None
    in_child = {stage.name for stage in table if stage.beside_speech} if beside else set()
    done: set[Callable[[Any], None]] = set()

    def run_rows(rows: list[stage_table.Stage]) -> None:
        for stage in rows:
            if stage.name in todo and stage.name not in in_child and stage.run not in done:
                done.add(stage.run)
                stage.run(run)

    with _beside(run.episode_dir, run.folder, run.timer, beside, run.kept) as child:
        run.child = child
        run_rows([stage for stage in table if not stage.every_run])
        if child is not None:
            # The parent's core is idle until the child is done: load what the review needs.
            run.loading = _load_review_model(run.timer)
            run.published = _published_from(child, run.timer)
    run.overlapped = beside
    run_rows([stage for stage in table if stage.every_run])


@dataclass
class _EpisodeRun:
    """One run of one episode: its settings and plan, and what each stage has made so far.

    Its methods are the stages' work (the table's ``run`` callables call them,
    :class:`ppod_audio.stages.EpisodeWork`); :func:`_run_stages` calls them in the table's order.
    """

    episode_dir: Path
    output_dir: Path
    manifest: EpisodeManifest
    show: ShowConfig
    options: ProcessOptions
    speech_options: SpeechOptions
    cache: Cache
    timer: _Timer
    keys: dict[str, Any]  # ``stage_keys`` and the audio edits' key
    facts: Facts
    plan: Plan
    early_warnings: list[str]
    started: float  # perf_counter at the start, for the report's elapsed seconds
    folder: Path = Path()  # the work folder, made only when there is audio work
    kept: KeptProgramme | None = None
    stored_edits: list[Any] = field(default_factory=list)
    speech: SpeechResult | None = None
    ran_speech: bool = False  # the speech models ran in this run
    child: Beside | None = None
    overlapped: bool = False  # the audio child made the MP3 beside the speech models
    loading: threading.Thread | None = None  # the review's model, loading in a thread
    cleaned: CleanedEpisode | None = None
    published: PublishedAudio | None = None
    edits: list[Any] | None = None  # this run's audio edits, once the words are known
    tidy: Any = None
    machine: EpisodeDocument | None = None
    document: EpisodeDocument | None = None
    words_k: str = ""
    persons: bool = False
    warnings: list[str] = field(default_factory=list)
    naming: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def makes_audio(self) -> bool:
        """The MP3 is made in this run (not the published one reused)."""
        return self.plan.runs("master")

    @property
    def trimmed_start(self) -> float:
        if not self.makes_audio:
            assert self.facts.previous is not None
            return self.facts.previous["trimmed_start"]
        cleaned = self.published.cleaned if self.published else self.cleaned
        assert cleaned is not None
        return cleaned.trimmed_start

    def prepare(self, work: contextlib.ExitStack) -> None:
        """What the stages start from: the speech result the plan reuses, the audio edits to
        replay, the work folder."""
        # Redactions and cuts made since (or kept from) earlier runs: replayed on this run's
        # audio (their key is in ``keys["edits"]``, so the plan re-masters when they change).
        self.stored_edits = audio_edits.stored_edits(self.output_dir, self.facts.previous,
                                                     self.options.document)  # fmt: skip
        speech_k = self.keys["speech"]
        if self.facts.speech_cached and not self.options.force:
            self.speech = SpeechResult.from_cache(self.cache, speech_k)
        if self.speech is not None:
            self.timer.stages["speech"] = {"cached": True, "seconds": 0.0}
        elif not self.speech_options.enabled:
            self.speech = SpeechResult.off()
            self.speech.save(self.cache, speech_k)  # the planner finds it, as for any result
        if self.makes_audio or self.speech is None:
            self.cache.root.mkdir(parents=True, exist_ok=True)
            self.folder = Path(work.enter_context(tempfile.TemporaryDirectory(
                prefix=f".work-{self.manifest.slug}-", dir=self.cache.root)))  # fmt: skip
        self.kept = KeptProgramme.in_cache(self.cache.root, self.keys["clean"])
        if self.options.force:
            self.kept.remove()  # --force redoes everything, cleaning included

    # --- the stages' work (``stages.STAGES``) ---------------------------------------------

    def clean(self) -> None:
        """decode+clean: the programme the MP3 is made from, decoded and cleaned (or read back
        from the kept copy). It runs for the speech models too, which decode their own 16 kHz
        copy of the recording as it came (:meth:`recognise`)."""
        if self.makes_audio and self.cleaned is None:
            self.cleaned = clean_published(self.manifest, self.show, self.folder, self.timer,
                                           self.kept)  # fmt: skip

    def recognise(self) -> None:
        """speech: words and turns from the recording as it came, cached under the speech key;
        diarization beside recognition once the audio child is done (:mod:`.speech.background`)."""
        with self.timer.stage("decode-speech"):
            heard = load_and_clean(self.manifest, self.show, self.folder, audio=False)
        self.speech = run_speech(heard, self.manifest, self.show, self.speech_options,
                                 self.keys["terms"], self.timer.stage,
                                 cpu_threads=_threads_beside(self.child),
                                 diarize_beside=_cores_free(self.child))  # fmt: skip
        self.speech.save(self.cache, self.keys["speech"])
        self.ran_speech = True

    def make_mp3(self) -> None:
        """master and export (one pass makes both, :func:`.audio.master.master_to_mp3`): this
        run's audio edits rendered into the cleaned programme, mastered with the content
        warning in front, encoded and measured."""
        self.clean()  # the kept copy read back when the plan did not clean again
        self._settle_edits()
        assert self.cleaned is not None and self.cleaned.audio is not None
        programme = self.cleaned.audio
        if self.edits:
            with self.timer.stage("audio edits"):
                programme = audio_edits.render_audio(
                    self.cleaned.audio, self.edits, self.trimmed_start,
                    self.show.safeguarding.redact_with, self.folder / "edited.f32")  # fmt: skip
        self.published = master_published(self.cleaned, programme, self.show, self.folder,
                                          self.timer)  # fmt: skip

    def _settle_edits(self) -> None:
        """This run's audio edits (redactions, cuts, tidying), once: tidying reads word timings,
        this run's or (speech off) the published transcript's."""
        if self.edits is not None:
            return
        assert self.speech is not None
        tidy_words = self.speech.words or audio_edits.published_words(
            self.output_dir, self.options.document, self.trimmed_start, self.show)  # fmt: skip
        self.edits, self.tidy = audio_edits.edits_for_run(
            self.stored_edits, self.show, tidy_words, self.trimmed_start)  # fmt: skip

    def _audio_made(self) -> tuple[float, float, dict[str, Any]]:
        """The content warning's offset, the MP3's duration and its loudness: this run's, or
        the published MP3's when it is reused."""
        if not self.makes_audio:
            previous = self.facts.previous
            assert previous is not None
            return previous["intro_offset"], previous["duration"], previous["loudness"]
        assert self.published is not None
        mastered = self.published.mastered
        loudness = {"input": mastered.input, "output": mastered.output,
                    "target_lufs": self.show.loudness.target_lufs,
                    "true_peak_limit_dbtp": self.show.loudness.true_peak_dbtp,
                    "gain_passes": mastered.gain_passes, "encodes": mastered.encodes,
                    "measured_by": "ffmpeg ebur128 on the published MP3"}  # fmt: skip
        return mastered.offset, mastered.duration, loudness

    def build(self) -> None:
        """document: speakers named, the machine's document built on this run's clock, and the
        document to publish (an editor's, kept while its words still fit)."""
        self._settle_edits()
        assert self.speech is not None and self.edits is not None
        manifest, show, speech, edits = self.manifest, self.show, self.speech, self.edits
        trimmed_start = self.trimmed_start
        offset, duration, _ = self._audio_made()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if not self.makes_audio:
            self.timer.stages["master"] = {"cached": True, "seconds": 0.0}
        with self.timer.stage("document"):
            # How each cluster was named, for report.json (redone every run, never cached).
            speakers, clusters, named_warnings = name_speakers(
                speech, manifest, show, self.naming, voices=list_voices(show.path(show.voices))
            )
            # The episode's warnings: the speech result's own, then the later stages'.
            warnings = sorted(set(speech.warnings) | set(named_warnings))
            machine = build_document(
                manifest=manifest,
                show=show,
                words=speech.words,
                speakers=speakers,
                clusters=clusters,
                glossary=load_show_glossary(show, manifest),
                model=speech.model,
                intro_offset=offset,
                trimmed_start=trimmed_start,
                # Built on the uncut clock, then the edits cut it to the MP3's length.
                duration=duration + audio_edits.cut_seconds(edits),
                warnings=warnings,
            )
            machine = audio_edits.apply_edits(machine, edits, trimmed_start)
            machine = machine.model_copy(update={"duration": round(duration, 3)})
            warnings += [w for w in self.early_warnings if w not in warnings]
            document, self.words_k = _keep_editors_work(
                self.output_dir, self.facts.previous, machine, self.keys["speech"],
                self.keys["inputs"], trimmed_start, self.options.force,
                self.speech_options.enabled, warnings, self.options.document)  # fmt: skip
            # Whose document this is, decided before the redactions are enforced on it (that
            # makes a copy even of the machine's own, which must not count as a person's).
            self.persons = document is not machine
            self.document = audio_edits.enforce_redactions(document, machine.audio_edits,
                                                           trimmed_start)  # fmt: skip
        self.machine, self.warnings = machine, warnings

    def publish(self) -> None:
        """publish: the MP3, the transcripts, the review and report.json staged and published
        as one set (:mod:`.staging`; the MP3, episode.json and report.json last): a failure
        leaves the previous set."""
        assert self.machine is not None and self.document is not None
        output_dir, show, manifest, timer = self.output_dir, self.show, self.manifest, self.timer
        offset, duration, loudness = self._audio_made()
        with staged(output_dir) as staging:
            target_mp3 = staging.path(output_dir / f"{manifest.slug}.mp3", rank=1)
            if self.makes_audio:
                assert self.published is not None
                shutil.move(self.published.mp3, target_mp3)
            else:
                assert self.facts.mp3 is not None
                shutil.copyfile(self.facts.mp3, target_mp3)
            with timer.stage("publish"):
                stage_recognised(staging, output_dir, self.machine)
                written_sha256 = stage_transcripts(staging, self.document, output_dir, show,
                                                   target_mp3)  # fmt: skip
            if self.loading is not None:
                self.loading.join()
            with timer.stage("review"):
                review = safeguarding_review(output_dir, manifest, show, self.document,
                                             self.cache, audio=target_mp3,
                                             force=self.options.force)  # fmt: skip
                staging.write_bytes(output_dir / REVIEW_FILE, review_json(review).encode("utf-8"))
            report = self._report(offset, duration, loudness, written_sha256, review)
            staging.write_bytes(output_dir / "report.json", report_json(report).encode("utf-8"),
                                rank=2)  # fmt: skip
        self.report = report

    def _report(
        self,
        offset: float,
        duration: float,
        loudness: dict[str, Any],
        written_sha256: str,
        review: Review,
    ) -> dict[str, Any]:
        keys = self.keys
        keys = {
            "inputs": keys["inputs"],
            "clean": keys["clean"],
            "audio": keys["audio"],
            # The speech result the published words came from (a run without speech
            # recognition keeps the earlier words, and with them their key).
            "speech": self.words_k,
            "text": keys["text"],
            "glossary": keys["glossary"],
            "document": written_sha256,
            "edits": keys["edits"],
        }
        assert self.speech is not None and self.document is not None and self.edits is not None
        made = Made(self.document, loudness, offset, duration, self.trimmed_start, self.warnings,
                    self.naming)  # fmt: skip
        report = _report(self.manifest, self.show, self.speech, made, self.timer, keys,
                         time.perf_counter() - self.started)  # fmt: skip
        report["source"] = str(Path(self.episode_dir).resolve())
        if self.overlapped:  # their seconds overlap the speech stages' (counted once by the clock)
            report["overlapped"] = ["audio start-up", "decode+clean", "master", "export",
                                    "review model"]  # fmt: skip
        if self.ran_speech and overlaps(self.speech_options.diarizer):  # beside the recogniser
            report.setdefault("overlapped", []).append("diarize")
        # The published document holds words or edits not made by this run's machine: the
        # next run must treat it as the editor's too (see ``publish.edited_document``).
        report["edited"] = self.persons
        # Noise and hum reduction: what was done, pause floor and DNSMOS before and after.
        previous = self.facts.previous
        if self.makes_audio:
            cleaned = self.published.cleaned if self.published else self.cleaned
            assert cleaned is not None
            report["cleaning"] = cleaned.noise
        else:
            report["cleaning"] = previous.get("cleaning") if previous else None
        report["review"], report["ready"] = review.summary(), review.ready
        report["audio_edits"] = audio_edits.edits_report(self.edits, self.tidy)
        return report


def review_allow_list(show: ShowConfig, manifest: EpisodeManifest) -> list[str]:
    """What the review never flags: show.toml's allow-list and the glossary's terms, the show's
    own vocabulary (its agencies, review types, bulletins: "CSPR", "Learning Bulletin")."""
    return [*show.safeguarding.allow, *glossary_terms(show, manifest)]


def safeguarding_review(
    output_dir: Path,
    manifest: EpisodeManifest,
    show: ShowConfig,
    document: EpisodeDocument,
    cache: Cache | None = None,
    audio: Path | None = None,
    force: bool = False,
) -> Review:
    """The review of the published document; decisions on items still there survive.

    ``audio`` (the published MP3) lets the review hear the places where a name is said again.

    The undecided list is cached on the document and settings: an unchanged re-run must not load
    spaCy (about 4 s) to find the same items again. ``force`` (``--force``: redo everything)
    builds it again and replaces the cached one."""
    from importlib.metadata import version

    from .review import (
        NER_DISTRIBUTION,
        RULES_VERSION,
        Review,
        build_review,
        carry_decisions,
        read_review,
    )

    roster = [speaker.name for speaker in manifest.speakers]
    settings = show.safeguarding
    allow = review_allow_list(show, manifest)
    key = make_key("review", document.model_dump(mode="json"), roster, settings.model_dump(),
                   allow, version(NER_DISTRIBUTION), RULES_VERSION)  # fmt: skip
    found = cache.get("review", key) if cache is not None and not force else None
    if found:
        review = Review.model_validate(found)
    else:
        review = build_review(document, roster, allow, required=settings.require_review,
                              audio=audio if settings.hear_again else None)  # fmt: skip
        if cache is not None:
            cache.put("review", key, review.model_dump(mode="json"))
    return carry_decisions(read_review(output_dir), review)


def _keep_editors_work(
    output_dir: Path,
    previous: dict[str, Any] | None,
    machine: EpisodeDocument,
    speech_k: str,
    inputs_k: str,
    trimmed_start: float,
    force: bool,
    speech_enabled: bool,
    warnings: list[str],
    incoming: EpisodeDocument | None = None,
) -> tuple[EpisodeDocument, str]:
    """Re-processing must not throw away an editor's corrections, nor a transcript.

    Returns the document to publish and the key of the speech result its words came from.

    ``episode.json`` differing from the hash this pipeline last wrote means a person edited it.
    If the words underneath are the same (same speech key) on the same clock (same trim, same
    cuts), their edited document is kept, with metadata, chapters and intro offset refreshed
    from this run;
    otherwise (a new model, new audio, a new trim, or ``--force``) the machine's document wins and
    theirs is kept in ``history/``. The trim is checked apart because the speech key leaves out
    the cleaning settings (speech hears the untrimmed recording), and ``refresh_edited`` moves
    words only by the intro's change.

    A run without speech recognition (``--no-speech``) has no words of its own: the transcript
    already published (edited or not) is kept while it still fits the recordings (same inputs,
    same trim); otherwise it goes to ``history/``, and the warnings say which.

    ``incoming``: an edited document a command is publishing (an audio edit), taken as the
    editor's ``episode.json`` would be.
    """
    same_clock = previous is not None and previous.get("trimmed_start") == round(trimmed_start, 3)
    old_keys: dict[str, Any] = (previous or {}).get("keys", {})
    if not speech_enabled and not force:
        kept = _published_words(output_dir, previous, machine, warnings,
                                fits=same_clock and old_keys.get("inputs") == inputs_k,
                                incoming=incoming, trimmed_start=trimmed_start)  # fmt: skip
        if kept is not None:
            return kept, old_keys.get("speech") or speech_k
    edited: tuple[bytes, EpisodeDocument | None] | None
    if incoming is not None:
        edited = (incoming.model_dump_json().encode("utf-8"), incoming)
    else:
        edited = edited_document(output_dir, previous)
    if edited is None:
        return machine, speech_k
    data, parsed = edited
    # On this run's clock (its cuts applied), or None when it had a cut this run undoes.
    document = None if parsed is None else audio_edits.adopt_cuts(parsed, machine, trimmed_start)
    same_words = same_clock and old_keys.get("speech") == speech_k
    if document is not None and same_words and not force:
        warnings.append("kept the editor's changes to episode.json (use --force to discard)")
        return refresh_edited(document, machine), speech_k
    backup = backup_document(output_dir, data)
    why = "had edits" if parsed is not None else "had edits but no longer parses"
    warnings.append(f"episode.json {why}; replaced, previous version kept as history/{backup.name}")
    return machine, speech_k


def _published_words(
    output_dir: Path,
    previous: dict[str, Any] | None,
    machine: EpisodeDocument,
    warnings: list[str],
    *,
    fits: bool,
    incoming: EpisodeDocument | None = None,
    trimmed_start: float = 0.0,
) -> EpisodeDocument | None:
    """For a run without speech recognition: the published transcript (or ``incoming``, the
    one a command is publishing), kept (``fits``) or moved to history/; ``None`` when there is
    none to keep."""
    path = document_path(output_dir)
    if incoming is not None:
        published, data = incoming, incoming.model_dump_json().encode("utf-8")
    elif not path.is_file():
        return None
    else:
        data = path.read_bytes()
        try:
            published = EpisodeDocument.model_validate_json(data)
        except ValueError:
            return None  # a damaged file: the edited-document rule keeps it in history/
    if not any(s.speaker != WARNING_SPEAKER_ID for s in published.segments):
        return None
    adopted = audio_edits.adopt_cuts(published, machine, trimmed_start)
    if fits and adopted is not None:
        published = adopted
        warnings.append("speech recognition was off for this run: kept the transcript already "
                        "published (its words, speakers and any edits)")  # fmt: skip
        return refresh_edited(published, machine)
    backup = backup_document(output_dir, data)
    warnings.append(
        "speech recognition was off and the recordings changed, so the earlier "
        f"transcript no longer fits the audio: kept as history/{backup.name}"
    )
    return machine


@dataclass
class Made:
    """What this run published, as report.json describes it."""

    document: EpisodeDocument
    loudness: dict[str, Any]  # before/after, as measured on the MP3 (or the reused report's)
    offset: float  # the content warning's length plus its gap
    duration: float  # of the published MP3
    trimmed_start: float  # seconds of dead air cut from the recording's head
    warnings: list[str]  # the episode's: speech, naming, chapters, cover, kept edits
    naming: dict[str, dict[str, Any]]  # cluster -> how it was named


def _report(
    manifest: EpisodeManifest,
    show: ShowConfig,
    speech: SpeechResult,
    made: Made,
    timer: _Timer,
    keys: dict[str, str],
    elapsed: float,
) -> dict[str, Any]:
    document, duration, offset = made.document, made.duration, made.offset
    programme = max(duration - offset, 1e-9)
    return {
        "episode": manifest.slug,
        "status": "ok",
        "version": __version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "title": manifest.title,
        "mp3": f"{manifest.slug}.mp3",
        "duration": round(duration, 3),
        "intro_offset": round(offset, 3),
        "trimmed_start": round(made.trimmed_start, 3),
        "loudness": made.loudness,
        "mp3_settings": {"bitrate_kbps": show.mp3.bitrate_kbps, "channels": show.mp3.channels,
                         "sample_rate": show.mp3.sample_rate, "id3": f"2.{show.mp3.id3_version}"},
        "speech": speech.summary(),
        "speakers": [s.model_dump() for s in document.speakers],
        "naming": made.naming,
        "stages": timer.stages,
        "elapsed_seconds": round(elapsed, 3),
        "real_time_factor": round(elapsed / programme, 4),
        "warnings": made.warnings,
        "keys": keys,
    }  # fmt: skip
