"""The stages of one episode, as data: what each depends on, when its last result is kept, and
the callable that does its work.

``pipeline._process_in`` runs what :func:`plan` says must run, each stage by its row's ``run``
(``pipeline._run_stages``), and ``batch.plan_episode`` prints the same plan
(``ppod batch --dry-run``), so the dry run says what processing then does by construction, not
by a second copy of the rules. A stage re-runs when the key it depends on
moved (``pipeline.stage_keys``), when its last result is gone, or when a stage it reads from
re-runs. The document stages run on every ``ppod process`` (they are cheap and refresh an
editor's document); the plan lists them only when the batch must run the episode at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .cache import Cache
from .errors import PpodError
from .paths import inside


@dataclass(frozen=True)
class Facts:
    """What the plan is decided from: this run's keys and what the last runs left."""

    keys: dict[str, Any]
    # The report of the run whose outputs are published (``publish.published_report``).
    previous: dict[str, Any] | None
    # The last run failed (its report is not ``previous``): the batch must run the episode.
    last_failed: bool
    # A speech result for ``keys["speech"]`` is in the cache.
    speech_cached: bool
    speech_enabled: bool
    # The published MP3 made from ``keys["audio"]``, or None (see :func:`published_mp3`).
    mp3: Path | None
    # ``episode.json`` is not the bytes the last run wrote (a person saved it since).
    edited: bool
    force: bool
    # The cleaned programme for ``keys["clean"]`` is kept in the cache (:mod:`.audio.kept`).
    cleaned_kept: bool = False

    @property
    def old(self) -> dict[str, Any]:
        return (self.previous or {}).get("keys", {})

    def moved(self, key: str) -> bool:
        return self.old.get(key) != self.keys.get(key)


class EpisodeWork(Protocol):
    """One episode's run as the stages' ``run`` callables see it (``pipeline._EpisodeRun``):
    the settings, the plan, and what the stages before made. Each method is one stage's work."""

    def clean(self) -> None: ...
    def recognise(self) -> None: ...
    def make_mp3(self) -> None: ...
    def build(self) -> None: ...
    def publish(self) -> None: ...


def _decode_clean(work: EpisodeWork) -> None:
    """Decode and clean the programme the MP3 is made from (the kept copy read back instead
    when there is one); the speech models decode their own copy as part of theirs."""
    work.clean()


def _speech(work: EpisodeWork) -> None:
    """Words and speaker turns from the recording, cached under the speech key."""
    work.recognise()


def _master_export(work: EpisodeWork) -> None:
    """Audio edits, mastering and the MP3's encode and measurement: one pass makes both."""
    work.make_mp3()


def _document(work: EpisodeWork) -> None:
    """Name the speakers and build the document (the editor's kept while it fits)."""
    work.build()


def _publish(work: EpisodeWork) -> None:
    """Transcripts, MP3, review list and report.json published as one set."""
    work.publish()


@dataclass(frozen=True)
class Stage:
    """One row of the table."""

    name: str  # in the plan, and in report.json's ``stages`` unless ``steps`` say otherwise
    key: str  # the stage key (``pipeline.stage_keys``) its result depends on
    reuse: Callable[[Facts], bool]  # whether its last result stands (upstream aside)
    # Does the stage's work; rows that share one (master and export) run it once.
    run: Callable[[EpisodeWork], None]
    changed: str = ""  # why it re-runs when its key moved
    missing: str = ""  # why it re-runs when its key did not (the result is gone)
    # The names report.json records for its work (the speech stage times its two models apart).
    steps: tuple[str, ...] = ()
    # Stages whose re-running re-runs this one.
    after: tuple[str, ...] = ()
    # Its result is kept beyond the run: a stage after it that re-runs reads that instead.
    kept: Callable[[Facts], bool] | None = None
    # Other keys its result depends on: (key, why it re-runs when that key moved).
    also: tuple[tuple[str, str], ...] = ()
    # It needs only the recordings: when the speech models run, it runs in the audio child
    # beside them (``pipeline._run_stages``, :mod:`.beside`).
    beside_speech: bool = False
    # ``ppod process`` runs it every time (cheap, and it refreshes an editor's document); the
    # plan lists it only when the batch must run the episode at all.
    every_run: bool = False

    def recorded(self) -> tuple[str, ...]:
        return self.steps or (self.name,)


def _speech_reused(facts: Facts) -> bool:
    # With speech off there is nothing to run: the run has no words of its own.
    return not facts.speech_enabled or (facts.speech_cached and not facts.force)


def _audio_reused(facts: Facts) -> bool:
    return facts.mp3 is not None and not facts.force


def _text_reused(facts: Facts) -> bool:
    return not (facts.force or facts.last_failed or facts.moved("text") or facts.edited)


_AUDIO_CHANGED = "cleaning, loudness, MP3 or content-warning settings changed"
_EDITS = (("edits", "audio edits changed"),)  # redactions, cuts, tidying (edit/audio_edits.py)

STAGES: tuple[Stage, ...] = (
    # Decoding serves the speech models (16 kHz) and mastering (full rate): it runs for them.
    # The cleaned programme is kept (the clean key: recordings and cleaning settings), so a
    # re-master (an audio edit, a loudness or MP3 setting) reads it back instead.
    Stage("decode+clean", "clean", lambda facts: True, _decode_clean, after=("speech", "master"),
          kept=lambda facts: facts.cleaned_kept and not facts.force, beside_speech=True),
    Stage("speech", "speech", _speech_reused, _speech, "model or speech settings changed",
          "speech result missing from the cache", steps=("transcribe", "diarize")),
    Stage("master", "audio", _audio_reused, _master_export, _AUDIO_CHANGED,
          "published MP3 missing", also=_EDITS, beside_speech=True),
    Stage("export", "audio", _audio_reused, _master_export, _AUDIO_CHANGED,
          "published MP3 missing", also=_EDITS, beside_speech=True),
    Stage("document", "text", _text_reused, _document, after=("speech", "master"),
          every_run=True),
    # Publishing includes the safeguarding review list written beside the transcripts.
    Stage("publish", "text", _text_reused, _publish, steps=("publish", "review"),
          after=("document",), every_run=True),
)  # fmt: skip

STAGE_NAMES = tuple(stage.name for stage in STAGES)


@dataclass
class Plan:
    """The stages to run, in order, and why."""

    stages: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def runs(self, name: str) -> bool:
        return name in self.stages


def plan(facts: Facts) -> Plan:
    """Which stages of :data:`STAGES` run, in table order, with the reasons a person reads."""
    result = Plan()
    if facts.force:
        result.reasons.append("--force")
    elif facts.last_failed:
        result.reasons.append("previous run failed")
    elif facts.previous is None:
        result.reasons.append("no previous report")
    stale = set()
    for stage in STAGES:
        if any(name in stale for name in stage.after) or not stage.reuse(facts):
            stale.add(stage.name)
    # A stage that reads from a later one (decode+clean feeds speech and master) runs for it.
    for stage in STAGES:
        kept = stage.kept is not None and stage.kept(facts)
        if any(name in stale for name in stage.after) and not kept:
            stale.add(stage.name)
    result.stages = [stage.name for stage in STAGES if stage.name in stale]
    if result.reasons:
        return result
    inputs_changed = facts.moved("inputs")
    for stage in STAGES:
        if stage.name in stale and stage.changed and not stage.reuse(facts):
            also = next((why for key, why in stage.also if facts.moved(key)), stage.missing)
            why = "inputs changed" if inputs_changed else (
                stage.changed if facts.moved(stage.key) else also)  # fmt: skip
            if why not in result.reasons:
                result.reasons.append(why)
    if result.stages:
        if facts.moved("glossary"):
            result.reasons.append("glossary changed")
        elif facts.moved("text") and not result.reasons:
            result.reasons.append("episode metadata, voiceprints or cover changed")
        if facts.edited:
            result.reasons.append("episode.json edited")
    return result


def published_mp3(
    output_dir: Path, previous: dict[str, Any] | None, audio_key: str, edits_key: str | None = None
) -> Path | None:
    """The published MP3, when it can stand for this run's audio: the last good run made it
    from the same audio key and audio edits, and it is the file its report names, inside the
    episode's folder (a hand-edited report naming a file elsewhere means nothing to reuse)."""
    if previous is None or previous.get("status") != "ok":
        return None
    old = previous.get("keys", {})
    if old.get("audio") != audio_key or old.get("edits") != edits_key:
        return None
    try:
        path = inside(output_dir, previous.get("mp3"), source="report.json", field="mp3")
    except PpodError:
        return None
    return path if path.is_file() else None


def ran(stages: dict[str, dict[str, Any]]) -> list[str]:
    """The table's stages a report's ``stages`` (name -> {"cached", "seconds"}) shows at work."""
    worked = {name for name, entry in stages.items() if not entry.get("cached")}
    return [stage.name for stage in STAGES if worked & set(stage.recorded())]


def survey(
    keys: dict[str, Any], output_dir: Path, cache: Cache, *, force: bool, speech_enabled: bool
) -> Facts:
    """The facts for :func:`plan`, read from the episode's output folder and the stage cache."""
    from .audio.kept import KeptProgramme
    from .publish import document_sha256, published_report, read_report

    last = read_report(output_dir)
    previous = published_report(output_dir)
    written = (previous or {}).get("keys", {}).get("document")
    return Facts(
        keys=keys,
        previous=previous,
        last_failed=last is not None and last.get("status") != "ok",
        speech_cached=cache.has("speech", keys["speech"]),
        speech_enabled=speech_enabled,
        mp3=published_mp3(output_dir, previous, keys["audio"], keys.get("edits")),
        edited=written != document_sha256(output_dir),
        force=force,
        cleaned_kept=KeptProgramme.in_cache(cache.root, keys["clean"]).exists(),
    )
