"""The baseline every speed and accuracy comparison is made against: faster-whisper called
directly, as a user would, with the pipeline's model file and settings.

One place builds it so the bench scripts cannot drift apart (a different beam size or VAD
setting in one of them would make its ratio meaningless).

Run as a script it is the benchmark's baseline process (``bench/benchmark.py`` times it from
outside, start-up included, like ``ppod process``)::

    python bench/bare_whisper.py RECORDING [--model tiny.en] [--device cpu]

It does what a user of faster-whisper would: load the model, decode the file with
``faster_whisper.decode_audio``, transcribe it with the pipeline's settings, and print one JSON
line of timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ppod_audio.speech.models import resolve_model  # noqa: E402
from ppod_audio.speech.transcribe import (  # noqa: E402
    TranscribeOptions,
    decode_arguments,
    pick_compute_type,
    pick_device,
    pick_language,
    pick_threads,
)


def bare_model(options: TranscribeOptions) -> Any:
    """``WhisperModel`` on the same files, device, precision and threads as the pipeline."""
    from faster_whisper import WhisperModel

    device = pick_device(options.device)
    return WhisperModel(
        resolve_model(options.model).path,
        device=device,
        compute_type=pick_compute_type(options.compute_type, device),
        cpu_threads=pick_threads(options.cpu_threads),
        local_files_only=True,
    )


def bare_arguments(options: TranscribeOptions) -> dict[str, Any]:
    """The keyword arguments the pipeline passes to ``transcribe`` for these options."""
    return decode_arguments(options, pick_language(options, resolve_model(options.model)))


def bare_text(
    model: Any, audio: np.ndarray, options: TranscribeOptions, batched: bool = False
) -> tuple[str, int]:
    """Transcript text and word count of one faster-whisper call on ``audio``.

    ``batched`` goes through ``BatchedInferencePipeline``, the path faster-whisper's README gives
    for long audio on a GPU, so the pipeline's batched runs have a bare baseline too.
    """
    if batched:
        from faster_whisper import BatchedInferencePipeline

        segments, _ = BatchedInferencePipeline(model=model).transcribe(
            audio, batch_size=options.batch_size, without_timestamps=False,
            **bare_arguments(options),
        )  # fmt: skip
    else:
        segments, _ = model.transcribe(audio, **bare_arguments(options))
    segments = list(segments)  # decoding happens here
    words = sum(len(segment.words or ()) for segment in segments)
    return " ".join(segment.text.strip() for segment in segments), words


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="bare faster-whisper on one recording")
    parser.add_argument("audio", type=Path)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from faster_whisper import decode_audio

    options = TranscribeOptions(model=args.model, device=args.device)
    model = bare_model(options)
    loaded = time.perf_counter()
    audio = decode_audio(str(args.audio))
    decoded = time.perf_counter()
    _, words = bare_text(model, audio, options)
    finished = time.perf_counter()
    print(json.dumps({"load": round(loaded - started, 3), "decode": round(decoded - loaded, 3),
                      "transcribe": round(finished - decoded, 3), "words": words,
                      "audio_seconds": round(len(audio) / 16000, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
