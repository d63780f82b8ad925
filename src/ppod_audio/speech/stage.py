"""The speech stage of the pipeline: words from faster-whisper, turns from a diarizer.

Its result (words with speaker ids, the turns, one voice embedding per speaker) is what the
cache keeps, because it is the slow part. Naming speakers and cleaning text happen later, in
the document stage, so enrolling a voice or editing the glossary's replacements never runs a
speech model again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cache import Cache, make_key
from ..config import EPISODE_FILE, EpisodeManifest, ShowConfig, SpeechSettings
from ..defaults import DEFAULT_MODEL, MAX_SPEAKERS, SPEECH_RATE
from ..errors import InputError
from ..transcript.model import Word
from .turns import Turn

if TYPE_CHECKING:
    from ..audio.prepare import CleanedEpisode

StageTimer = Callable[[str], contextlib.AbstractContextManager[dict[str, Any]]]


@dataclass(frozen=True)
class SpeechOptions:
    """What the user can choose per run; ``None`` means "as show.toml says"."""

    enabled: bool = True
    model: str | None = None
    device: str | None = None
    diarizer: str | None = None
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    allow_download: bool = False
    batched: bool | None = None

    def resolved(self, show: ShowConfig) -> SpeechOptions:
        return replace(
            self,
            model=self.model or show.speech.model,
            device=self.device or show.speech.device,
            diarizer=self.diarizer or show.speech.diarizer,
            batched=show.speech.batched if self.batched is None else self.batched,
        )


@dataclass
class SpeechResult:
    """Words and turns on the cleaned episode's timeline (before the intro offset)."""

    words: list[Word] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    embeddings: dict[str, list[float]] = field(default_factory=dict)
    track_speakers: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    diarizer: str | None = None
    # What really diarized: "embedded" (the setting) runs as "tracks" on a per-speaker episode.
    diarizer_used: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    audio_seconds: float = 0.0
    # What the speech stage itself found worth saying (fewer voices than listed); cached with
    # it. The episode's other warnings are the pipeline's, not the speech result's.
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["words"] = [word.model_dump() for word in self.words]
        data["turns"] = [asdict(turn) for turn in self.turns]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpeechResult:
        data = dict(data)
        data["words"] = [Word.model_validate(word) for word in data["words"]]
        data["turns"] = [Turn(**turn) for turn in data["turns"]]
        return cls(**data)

    @classmethod
    def off(cls) -> SpeechResult:
        """What a run with speech switched off has: no words, no model, no diarizer."""
        return cls(model=None, diarizer=None)

    @classmethod
    def from_cache(cls, cache: Cache, key: str) -> SpeechResult | None:
        data = cache.get("speech", key)
        return cls.from_json(data) if data else None

    def save(self, cache: Cache, key: str) -> None:
        cache.put("speech", key, self.to_json())

    def summary(self) -> dict[str, Any]:
        rtf = {
            stage: round(seconds / self.audio_seconds, 4)
            for stage, seconds in self.timings.items()
            if self.audio_seconds
        }
        return {
            "model": self.model,
            "diarizer": self.diarizer,
            "diarizer_used": self.diarizer_used,
            "words": len(self.words),
            "speaker_clusters": sorted({turn.speaker for turn in self.turns}),
            "seconds": self.timings,
            "real_time_factor": rtf,
        }


def speech_key(
    hashes: list[tuple[str, str]],
    options: SpeechOptions,
    manifest: EpisodeManifest,
    show: ShowConfig,
    terms: list[str],
) -> str:
    """What the speech models' result depends on.

    The models hear the recordings as they came (``CleanedEpisode.speech16``: untrimmed,
    unfiltered, 16 kHz), so the inputs' hashes stand in for the audio and cleaning or MP3 settings
    never re-run them; the trim is applied later, in the document stage. The speaker list counts
    (it sets the cluster count and names the tracks); glossary terms only when they are handed to
    the model as a prompt; the pyannote pipeline only when it diarizes. ``allow_download`` says
    where a model may come from, not what it hears.
    """
    pipeline = show.speech.pyannote_pipeline if options.diarizer == "pyannote" else None
    from .campplus import ENCODER_ID
    from .hypotheses import HYPOTHESES

    # Settings added later join the key only when they are not their default, so keys made
    # before they existed still match: the beam (faster-whisper's 5) and the second hearing of
    # doubted words (its words record it).
    later = [show.speech.beam_size] if show.speech.beam_size != 5 else []
    later += ["hear_doubted"] if show.speech.hear_doubted else []
    # Since words record beam search's runner-ups (Word.disputed) they differ from what was
    # cached before: this changes every key once.
    later += [f"hypotheses {HYPOTHESES}"]
    return make_key("speech", hashes, asdict(replace(options, allow_download=False)), terms,
                    show.speech.prompt, *later, pipeline, ENCODER_ID,
                    [(s.name, s.track) for s in manifest.speakers],
                    speaker_counts(manifest, show, options))  # fmt: skip


def speaker_counts(
    manifest: EpisodeManifest, show: ShowConfig, options: SpeechOptions
) -> tuple[int | None, int | None, int | None]:
    """``(num_speakers, min_speakers, max_speakers)`` for the diarizer.

    What the run was told wins (``ppod diarize --num-speakers`` and the like). Otherwise the
    episode's ``[[speakers]]`` list is the count: the diarizer then only has to find who is who,
    which is far more reliable than estimating how many voices there are. When show.toml (or the
    episode's ``[overrides.speech]``) says ``speakers_complete = false``, the list is a floor
    instead: at least that many, and the count estimated above it.
    """
    if options.num_speakers or options.min_speakers or options.max_speakers:
        return options.num_speakers, options.min_speakers, options.max_speakers
    listed = len(manifest.speakers)
    if not listed:
        return None, None, None
    if show.speech.speakers_complete:
        return listed, None, None
    return None, listed, max(listed + 2, MAX_SPEAKERS)


def run_speech(
    cleaned: CleanedEpisode,
    manifest: EpisodeManifest,
    show: ShowConfig,
    options: SpeechOptions,
    terms: list[str],
    stage: StageTimer,
    cpu_threads: int = 0,
    diarize_beside: threading.Event | None = None,
) -> SpeechResult:
    """Recognise and diarize the episode's 16 kHz copy. ``cpu_threads``: the recogniser's CPU
    threads (0: one per core), fewer when another process works beside it (the pipeline's
    audio child); not in the speech key, since the words do not depend on it.

    ``diarize_beside``: diarize in a thread beside the recogniser (:mod:`.background`), started
    when the event is set (the pipeline sets it when its audio child is done) or when the words
    are in, whichever is first; ``None``: after the words, in this thread. The result is the
    same either way."""
    if not options.enabled:
        return SpeechResult.off()
    result = SpeechResult(model=options.model, diarizer=options.diarizer)
    if options.diarizer == "tracks" and not cleaned.tracks:
        # Checked before the model runs: diarizing no tracks would give no speakers at all.
        raise InputError(
            f"the tracks diarizer needs one file per speaker, and episode {manifest.slug} has "
            "a mixed recording",
            manifest.root / EPISODE_FILE,
            'give each [[speakers]] entry its own track = "file" in episode.toml, or use '
            "--diarizer embedded",
        )
    audio16 = cleaned.speech16
    result.audio_seconds = len(audio16) / SPEECH_RATE

    def diarize() -> Diarized:
        return _diarize(audio16, cleaned, manifest, show, options)

    beside = None
    if diarize_beside is not None and overlaps(options.diarizer):
        from .background import BackgroundStage

        beside = BackgroundStage("diarize", diarize, diarize_beside, stage)
    try:
        with stage("transcribe") as entry:
            result.words = _transcribe(
                audio16, options, show.speech, terms,
                [speaker.name for speaker in manifest.speakers], cpu_threads,
            )  # fmt: skip
            from .transcribe import pick_threads

            entry["threads"] = pick_threads(cpu_threads)
            diarizer_cpu = beside.cpu() if beside is not None else 0.0
        # The process's CPU in the stage, less what the diarizing thread spent meanwhile.
        if "cpu" in entry:
            entry["cpu"] = round(entry["cpu"] - diarizer_cpu, 3)
        result.timings["transcribe"] = entry["seconds"]
        if beside is not None:
            diarized, timed = beside.result(), beside.entry
        else:
            with stage("diarize") as timed:
                diarized = diarize()
    except BaseException:
        if beside is not None:
            beside.abandon()
        raise
    result.diarizer_used, result.turns = diarized.backend, diarized.turns
    result.track_speakers, result.embeddings = diarized.track_speakers, diarized.embeddings
    result.timings["diarize"] = timed["seconds"]
    result.warnings += speaker_count_warnings(
        result.turns, len(manifest.speakers), result.diarizer_used
    )

    if result.turns:
        from ..transcript.segments import assign_speakers

        result.words = assign_speakers(result.words, result.turns)
    return result


def overlaps(diarizer: str | None) -> bool:
    """Whether ``diarizer`` may run beside the recogniser: the in-package ones, whose threads
    are known (the embedded one: one torch and one onnxruntime thread; tracks: numpy). The
    pyannote pipeline sets its own torch threads for the whole process, so it runs after."""
    return diarizer in ("embedded", "tracks")


def speaker_count_warnings(turns: list[Turn], listed: int, backend: str | None) -> list[str]:
    """A warning when diarization told fewer voices apart than episode.toml lists.

    The listed count is passed to the diarizer, but a speaker who says little, or whose voice
    the embedded encoder cannot tell from another's (two similar voices on a telephone line,
    far-field meeting audio), still comes back merged into someone else; their paragraphs then
    carry another person's name, which an editor should know before publishing.
    """
    found = len({turn.speaker for turn in turns})
    if not turns or not listed or found >= listed:
        return []
    return [
        f"the {backend} diarizer told {found} voice{'s' if found != 1 else ''} apart but "
        f"episode.toml lists {listed} speakers: check who is named in the transcript "
        "(voiceprints name the voices found; one track per speaker makes attribution exact)"
    ]


def _transcribe(
    audio16: np.ndarray,
    options: SpeechOptions,
    settings: SpeechSettings,
    terms: list[str],
    names: list[str] | None = None,
    cpu_threads: int = 0,
) -> list[Word]:
    """The recogniser's words, as show.toml's ``[speech]`` asks (its ``prompt`` and
    ``beam_size``); with ``prompt = "unsure"``, its unsure stretches heard again with the terms
    as hotwords (:mod:`ppod_audio.speech.redecode`); with ``hear_doubted``, the words shading
    would doubt heard a second time (:mod:`ppod_audio.speech.recheck`)."""
    from .transcribe import TranscribeOptions, transcribe

    prompt = settings.prompt

    transcribe_options = TranscribeOptions(
        model=options.model or DEFAULT_MODEL,
        device=options.device or "auto",
        terms=tuple(terms),
        prompt="none" if prompt == "unsure" else prompt,
        allow_download=options.allow_download,
        batched=bool(options.batched),
        beam_size=settings.beam_size,
        cpu_threads=cpu_threads,
    )
    beside = None
    if settings.hear_doubted:
        from ..transcript.confidence import known_words
        from .recheck import HearingBeside, hearer

        # The show's words are never shaded, so never heard again (as the document's rule).
        known = known_words([*terms, *(names or ())])
        # One thread: it works beside the recogniser (recheck.HearingBeside).
        hear = hearer(replace(transcribe_options, cpu_threads=1))
        beside = HearingBeside(audio16, known, hear)
    # With prompt "unsure" the doubted words are heard after the terms' second decode, which
    # changes words, so not beside the first.
    redecoding = prompt == "unsure" and bool(terms)
    try:
        hear_early = None if redecoding else beside
        words = transcribe(audio16, transcribe_options, hear_early).words
        if redecoding:
            from ..transcript.vocabulary import build_vocabulary
            from .redecode import redecode_terms

            vocabulary = build_vocabulary(terms, names or ())
            words, _ = redecode_terms(audio16, words, transcribe_options, vocabulary)
        if beside is not None:
            if hear_early is None:
                beside(words)
            words = beside.words()
    finally:
        if beside is not None:
            beside.close()
    return words


@dataclass
class Diarized:
    """Who spoke when, as the speech result keeps it."""

    backend: str  # what really diarized ("tracks" for a per-speaker episode set to embedded)
    turns: list[Turn]
    track_speakers: dict[str, str]  # cluster -> the speaker whose track it is (tracks only)
    embeddings: dict[str, list[float]]  # cluster -> its voice, for naming by voiceprint


def _diarize(
    audio16: np.ndarray,
    cleaned: CleanedEpisode,
    manifest: EpisodeManifest,
    show: ShowConfig,
    options: SpeechOptions,
) -> Diarized:
    """The backend used, turns, each cluster's track name (tracks only) and voice embedding."""
    backend = options.diarizer
    if cleaned.tracks and backend in ("embedded", "tracks"):
        backend = "tracks"
    num_speakers, min_speakers, max_speakers = speaker_counts(manifest, show, options)
    if backend == "none":
        return Diarized(backend, [], {}, {})
    if backend == "tracks":
        from .diarize_tracks import diarize_tracks

        turns = diarize_tracks(cleaned.tracks)
        return Diarized(backend, turns, {name: name for name, _ in cleaned.tracks}, {})
    if backend == "pyannote":
        from .diarize_pyannote import diarize_pyannote
        from .voiceprints import cluster_embeddings

        turns = diarize_pyannote(
            audio16,
            pipeline=_pipeline_location(show),
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            device=options.device or "auto",
        )
        # Voiceprints live in CAM++'s space, so pyannote's clusters are embedded again, from
        # the speech each one holds alone (its crosstalk would mix two voices into one print).
        vectors = cluster_embeddings(audio16, [turn for turn in turns if not turn.overlap])
        embeddings = {label: vector.tolist() for label, vector in vectors.items()}
        return Diarized(backend, turns, {}, embeddings)
    from .diarize_embedded import diarize_embedded_detailed

    detailed = diarize_embedded_detailed(
        audio16,
        num_speakers=num_speakers,
        min_speakers=min_speakers or 1,
        max_speakers=max_speakers or MAX_SPEAKERS,
    )
    centroids = {label: np.asarray(v).tolist() for label, v in detailed.centroids.items()}
    return Diarized("embedded", detailed.turns, {}, centroids)


def _pipeline_location(show: ShowConfig) -> str | None:
    """A relative ``pyannote_pipeline`` is relative to show.toml; a Hub id passes through."""
    configured = show.speech.pyannote_pipeline
    if configured and not Path(configured).is_absolute() and (show.root / configured).exists():
        return str(show.path(configured))
    return configured
