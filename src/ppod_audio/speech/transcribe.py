"""Speech recognition with faster-whisper: 16 kHz mono float32 in, timed words out.

Modelled on faster-whisper's own ``transcribe``: the same defaults (beam 5, temperature fallback,
``condition_on_previous_text``), so our output equals a bare ``WhisperModel.transcribe`` with the
same model (``bench/eval_wer.py`` checks it). What we add is what the pipeline needs: a model that
resolves offline and verified (:mod:`.models`), device and precision chosen for the machine, VAD
always on (a studio recording has long pauses where Whisper invents text), batched decoding for
long audio, word timestamps, the glossary as a prompt, and timings for ``report.json``.

faster-whisper and ctranslate2 are imported inside the functions that need them, so ``ppod
--help`` and a cached re-run never pay for them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .. import progress
from ..defaults import SPEECH_RATE
from ..errors import InputError, ProcessingError
from ..transcript.model import Word
from .hypotheses import HYPOTHESES, HypothesisRecorder, word_disputes
from .models import DEFAULT_MODEL, ResolvedModel, resolve_model

SAMPLE_RATE = SPEECH_RATE

# With ``batched=True``, audio longer than this goes through BatchedInferencePipeline: VAD cuts it
# into <=30 s chunks decoded in parallel. It is off by default on every device because it loses
# words. CPU (2 cores, tiny.en): 120 s of conversation 3.1x faster, but 97 s of read sentences
# joined by 1 s gaps lost a third of the words (WER 35 % vs 3 %). CUDA (H100, float16, tiny.en,
# ``bench/cuda_check.py``): on 27.5 minutes of the demo only 1.2x faster (RTF 0.0097 vs 0.0117)
# for 5 % fewer words and WER 25.2 % vs 21.5 %; sequential is already 85x real time there.
# without_timestamps is off: timestamp tokens measured slightly better. Shorter audio gains
# nothing.
BATCH_THRESHOLD_S = 60.0

PROMPT_MODES = ("none", "hotwords", "initial_prompt")


@dataclass(frozen=True)
class VadSettings:
    """Silero VAD settings (faster-whisper's ``VadOptions``), tuned for conversation.

    faster-whisper's defaults (2 s minimum silence) suit dictation; for a studio conversation a
    1 s pause already separates turns, and 400 ms padding keeps soft word ends.
    """

    threshold: float = 0.5
    min_speech_duration_ms: int = 0
    min_silence_duration_ms: int = 1000
    speech_pad_ms: int = 400

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "min_speech_duration_ms": self.min_speech_duration_ms,
            "min_silence_duration_ms": self.min_silence_duration_ms,
            "speech_pad_ms": self.speech_pad_ms,
        }


@dataclass(frozen=True)
class TranscribeOptions:
    """Everything that changes the words (the speech stage's key covers it through
    ``SpeechOptions`` and the show's prompt setting).

    ``prompt`` decides how ``terms`` (the glossary's terms and the speakers' names) reach the
    model. Measured with tiny.en on the dev split (``bench/eval_wer.py --split dev --prompt``,
    show glossary): WER 3.4 % with "none", 6.8 % with "hotwords", 8.5 % with "initial_prompt" —
    on speech that does not use the terms a prompt makes the model drop or rewrite words. So
    the default is "none" and the glossary fixes spellings after recognition
    (:mod:`ppod_audio.transcript.clean`) instead.
    """

    model: str = DEFAULT_MODEL
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    compute_type: str = "auto"  # "auto": int8 on CPU, float16 on CUDA; or any CTranslate2 type
    beam_size: int = 5
    language: str | None = None  # None: "en" for English-only models, else detected
    vad_filter: bool = True
    vad: VadSettings = field(default_factory=VadSettings)
    batched: bool = False  # BatchedInferencePipeline for audio over BATCH_THRESHOLD_S
    batch_size: int = 8
    word_timestamps: bool = True
    # Whisper's segment timestamp tokens; words keep their times either way (cross-attention
    # alignment). False is faster-whisper's sequential default.
    without_timestamps: bool = False
    terms: tuple[str, ...] = ()
    prompt: str = "none"  # "none" | "hotwords" | "initial_prompt"
    cpu_threads: int = 0  # 0: all cores
    # faster-whisper computes the log-mel features of its whole input at once (2.5 GB for an
    # hour); longer audio is cut at its quietest moment near every 5 minutes instead.
    piece_seconds: float = 300.0
    allow_download: bool = False
    # How many of beam search's hypotheses to keep per window (1: the best only; at most the
    # beam). With more, every word records how many of the runner-ups wrote another word there
    # (``Word.disputed``, :mod:`.hypotheses`, for shading); the best, and so the words, are
    # the same, and the cost is lost in the noise (the beams are searched either way).
    hypotheses: int = HYPOTHESES


@dataclass(frozen=True)
class TranscriptionInfo:
    """What ``report.json`` records about the run."""

    model: str
    model_path: str
    model_verified: bool
    device: str
    compute_type: str
    language: str
    language_probability: float
    duration: float
    duration_after_vad: float | None
    batched: bool
    load_seconds: float
    transcribe_seconds: float

    @property
    def real_time_factor(self) -> float:
        """Seconds of processing per second of audio (below 1: faster than real time)."""
        return self.transcribe_seconds / self.duration if self.duration else 0.0


@dataclass(frozen=True)
class Transcription:
    words: list[Word]
    info: TranscriptionInfo

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


# ---------------------------------------------------------------------------------- choices


def cuda_available() -> bool:
    import ctranslate2

    try:
        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # a broken CUDA install must not stop CPU work
        return False


def pick_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise InputError(f"unknown device '{device}'", None, "use auto, cpu or cuda")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        raise InputError("device cuda was asked for but no CUDA GPU is visible", None, "use cpu")
    return device


def pick_compute_type(compute_type: str, device: str) -> str:
    """int8 on CPU (about 2x faster than float32, same WER on tiny/base); float16 on a GPU."""
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


def pick_threads(cpu_threads: int) -> int:
    return cpu_threads if cpu_threads > 0 else (os.cpu_count() or 1)


def pick_language(options: TranscribeOptions, resolved: ResolvedModel) -> str | None:
    if options.language:
        return options.language
    return "en" if resolved.english_only else None


def prompt_arguments(terms: tuple[str, ...], mode: str) -> dict[str, str]:
    """The glossary as faster-whisper ``hotwords`` or ``initial_prompt`` (or nothing)."""
    if mode not in PROMPT_MODES:
        raise InputError(f"unknown prompt mode '{mode}'", None, f"use {', '.join(PROMPT_MODES)}")
    unique = list(dict.fromkeys(term.strip() for term in terms if term.strip()))
    if mode == "none" or not unique:
        return {}
    if mode == "hotwords":
        return {"hotwords": ", ".join(unique)}
    # Whisper continues the style of its prompt: a punctuated sentence keeps punctuation on.
    return {"initial_prompt": f"Glossary: {', '.join(unique)}."}


def decode_arguments(options: TranscribeOptions, language: str | None) -> dict[str, Any]:
    """Keyword arguments for ``transcribe`` shared by the bare and batched paths."""
    arguments: dict[str, Any] = {
        "language": language,
        "beam_size": options.beam_size,
        "word_timestamps": options.word_timestamps,
        "without_timestamps": options.without_timestamps,
        "vad_filter": options.vad_filter,
        "vad_parameters": options.vad.as_dict() if options.vad_filter else None,
    }
    arguments.update(prompt_arguments(options.terms, options.prompt))
    return arguments


# ---------------------------------------------------------------------------------- loading


@lru_cache(maxsize=4)
def load_model(path: str, device: str, compute_type: str, cpu_threads: int, download: bool):
    """One ``WhisperModel`` per (path, device, precision, threads) in this process."""
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            path,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            local_files_only=not download,
        )
    except (RuntimeError, ValueError, OSError) as error:
        raise ProcessingError(
            f"speech model could not be loaded on {device} ({compute_type}): {error}",
            path,
            "run `ppod doctor`; try --device cpu or another --model",
        ) from error


# ---------------------------------------------------------------------------------- words


def pieces(audio: np.ndarray, seconds: float) -> list[tuple[int, int]]:
    """Sample ranges of at most about ``seconds``, cut at the quietest 100 ms near each boundary
    (searched 20 s either side), so no word is cut in two."""
    size = int(seconds * SAMPLE_RATE)
    if len(audio) <= size + SAMPLE_RATE * 30:
        return [(0, len(audio))]
    frame = SAMPLE_RATE // 10
    search = 20 * SAMPLE_RATE
    cuts = [0]
    while len(audio) - cuts[-1] > size + SAMPLE_RATE * 30:
        lo = cuts[-1] + size - search
        window = audio[lo : lo + 2 * search]
        frames = window[: len(window) // frame * frame].reshape(-1, frame)
        quietest = int(np.argmin(np.mean(frames * frames, axis=1)))
        cuts.append(lo + quietest * frame + frame // 2)
    return list(zip(cuts, cuts[1:] + [len(audio)], strict=True))


def words_from_segments(segments, duration: float, recorder=None) -> list[Word]:
    """faster-whisper's words as :class:`Word`: text stripped, times clamped into the audio.

    Whisper writes a word with its leading space (" partnership,"); punctuation is already
    attached. Times are made monotonic and kept within the audio because every caption format
    downstream assumes it; the corrections are a few milliseconds at most.
    """
    words: list[Word] = []
    last_start = 0.0
    for segment in segments:
        disputes = word_disputes(segment, recorder) if recorder is not None else None
        for position, raw in enumerate(segment.words or ()):
            disputed = None if disputes is None else disputes[position]
            text = raw.word.strip()
            if not text:
                continue
            start = min(max(float(raw.start), last_start), duration)
            end = min(max(float(raw.end), start), duration)
            probability = min(max(float(raw.probability), 0.0), 1.0)
            if position > 0 and words and not raw.word[:1].isspace():
                # No leading space: the rest of the previous word ("cold" + "-hearted").
                previous = words[-1]
                words[-1] = Word(
                    text=previous.text + text,
                    start=previous.start,
                    end=max(previous.end, end),
                    probability=min(previous.probability or 1.0, probability),
                    disputed=None if disputed is None else max(previous.disputed or 0, disputed),
                )
                continue
            words.append(
                Word(text=text, start=start, end=end, probability=probability, disputed=disputed)
            )
            last_start = start
    return words


def recording(model: Any, language: str | None, hypotheses: int) -> tuple[Any, HypothesisRecorder]:
    """A shallow copy of ``model`` (a ``WhisperModel``; the cached one stays as it is) whose
    CTranslate2 model is a :class:`~.hypotheses.HypothesisRecorder` keeping ``hypotheses`` of
    beam search's hypotheses, and the recorder."""
    import copy

    from faster_whisper.tokenizer import Tokenizer

    tokenizer = Tokenizer(
        model.hf_tokenizer,
        model.model.is_multilingual,
        task="transcribe",
        language=language or "en",
    )
    recorder = HypothesisRecorder(model.model, tokenizer, hypotheses)
    copied = copy.copy(model)
    copied.model = recorder
    return copied, recorder


def _reporting(segments: Iterable[Any], first: int, total: int) -> Iterator[Any]:
    """The segments, each reported as progress (how far into the audio it ends)."""
    for segment in segments:
        progress.advance((first + segment.end * SAMPLE_RATE) / max(total, 1))
        yield segment


def check_audio(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise InputError(
            f"speech recognition needs mono audio, got shape {audio.shape}",
            None,
            "decode it as 16 kHz mono first (ppod_audio.audio.decode.decode(path, 16000, 1))",
        )
    return audio.astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------- public


def transcribe(
    audio: np.ndarray,
    options: TranscribeOptions | None = None,
    on_piece: Callable[[list[Word]], None] | None = None,
) -> Transcription:
    """Recognise ``audio`` (float32 mono at 16 kHz) into timed, punctuated words.

    ``on_piece`` is handed each piece's words (``piece_seconds`` of audio, on the recording's
    clock) as soon as they are decoded, so work on them (the second hearing of the doubted
    words, ``speech/recheck``) can run beside the recognition of the next piece."""
    options = options or TranscribeOptions()
    audio = check_audio(audio)
    duration = audio.shape[0] / SAMPLE_RATE

    resolved = resolve_model(options.model, allow_download=options.allow_download)
    device = pick_device(options.device)
    compute_type = pick_compute_type(options.compute_type, device)
    threads = pick_threads(options.cpu_threads)
    began = time.perf_counter()
    model = load_model(resolved.path, device, compute_type, threads, resolved.source == "download")
    loaded = time.perf_counter()

    language = pick_language(options, resolved)
    arguments = decode_arguments(options, language)
    batched = options.batched and duration > BATCH_THRESHOLD_S
    if batched and not options.vad_filter and duration > 30:
        batched = False  # the batched pipeline needs VAD to cut audio over 30 s into chunks
    if batched:
        from faster_whisper import BatchedInferencePipeline

        pipeline = BatchedInferencePipeline(model=model)
    recorder = None
    if options.hypotheses > 1 and not batched:
        model, recorder = recording(model, language, options.hypotheses)
    words: list[Word] = []
    for first, last in pieces(audio, options.piece_seconds):
        piece = audio[first:last]
        if batched:
            segments, info = pipeline.transcribe(piece, batch_size=options.batch_size, **arguments)
        else:
            segments, info = model.transcribe(piece, **arguments)
        # segments is lazy: decoding happens here
        found = words_from_segments(
            _reporting(segments, first, len(audio)), len(piece) / SAMPLE_RATE, recorder
        )
        shift = first / SAMPLE_RATE
        placed = [w.model_copy(update={"start": w.start + shift, "end": w.end + shift})
                  for w in found]  # fmt: skip
        words += placed
        if on_piece is not None:
            on_piece(placed)
    finished = time.perf_counter()

    return Transcription(
        words=words,
        info=TranscriptionInfo(
            model=resolved.name,
            model_path=resolved.path,
            model_verified=resolved.verified,
            device=device,
            compute_type=compute_type,
            language=info.language,
            language_probability=float(info.language_probability),
            duration=duration,
            duration_after_vad=getattr(info, "duration_after_vad", None),
            batched=batched,
            load_seconds=loaded - began,
            transcribe_seconds=finished - loaded,
        ),
    )
