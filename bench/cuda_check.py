"""The CUDA path of speech recognition, measured against the CPU path on the same machine.

    python bench/cuda_check.py [--audio FILE --reference TEXT] [--repeat N]

CI has no GPU, so this is run by hand on a machine with one (and skips with a message where
ctranslate2 sees none). On the demo episode (default) it runs:

  cpu  auto          what ``ppod process`` does on a laptop: int8, sequential
  cuda auto          what it does on a GPU: float16, sequential
  cuda batched       float16 with ``batched=True`` (``[speech] batched`` in show.toml)
  cuda bare          faster-whisper called directly, same model and settings as "cuda auto"
  cuda bare batched  faster-whisper's own BatchedInferencePipeline, settings as "cuda batched"

and prints words, WER against the reference text, model load time and real-time factor. The
audio is also tiled ``--repeat`` times (default 8: about 28 minutes of demo) to time the GPU path
on an episode-length input, where batching matters.

WER uses the normalisation of ``bench/eval_wer.py``; the pipeline must match the bare call. The
first CUDA row includes CUDA's start-up (context, cuBLAS handles), so its RTF is high; the tiled
rows are the steady state.

On an H100 (driver 580, ctranslate2 4.8.5, tiny.en, the 206.6 s demo), 26 November 2026:

  run                device     type batched  words    WER  load s     RTF
  cpu auto              cpu     int8   False    490  0.161    0.28  0.0408
  cuda auto            cuda  float16   False    453  0.206    0.27  0.0864
  cuda batched         cuda  float16    True    453  0.233    0.00  0.0109
  cuda bare            cuda            False    458  0.206          0.0116
  cuda bare batched    cuda             True    459  0.233          0.0132
  tiled x8 (27.5 min): cuda auto 3862 words WER 0.215 RTF 0.0133;
                       cuda batched 3662 words WER 0.252 RTF 0.0112

(the "cpu" row ran on that machine's 16 cores. Pipeline and bare word counts differ because
the pipeline joins a word piece that has no leading space to the word before it, "cold" +
"-hearted", and drops empty words; the texts, and so the WER, are the same.)

ctranslate2 4.8's PyPI wheel loads ``libcublas.so.12``. On a machine with only CUDA 13's cuBLAS,
symbolic links named ``libcublas.so.12`` and ``libcublasLt.so.12`` to the CUDA 13 libraries, in a
folder on ``LD_LIBRARY_PATH``, worked (H100, driver 580, November 2026).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp"


def load_16k(path: Path) -> np.ndarray:
    """Float32 mono 16 kHz samples, decoded by faster-whisper's own PyAV reader.

    Deliberately not the pipeline's ffmpeg decoder: the GPU machine has no ffmpeg binary package
    (imageio-ffmpeg), and with this reader it needs nothing beyond faster-whisper's requirements.
    """
    from faster_whisper import decode_audio

    return decode_audio(str(path), sampling_rate=16000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audio", type=Path, default=DEMO / "recording.flac")
    parser.add_argument("--reference", type=Path, default=DEMO / "reference" / "reference.txt")
    parser.add_argument("--repeat", type=int, default=8)
    parser.add_argument("--model", default="tiny.en")
    args = parser.parse_args(argv)

    from bare_whisper import bare_model, bare_text
    from eval_wer import demo_reference, wer

    from ppod_audio.speech.models import resolve_model
    from ppod_audio.speech.transcribe import TranscribeOptions, cuda_available, transcribe

    if not cuda_available():
        print("SKIP: ctranslate2 sees no CUDA device (nothing to compare)")
        return 0
    import ctranslate2

    print(f"ctranslate2 {ctranslate2.__version__}, CUDA devices: "
          f"{ctranslate2.get_cuda_device_count()}, compute types on cuda: "
          f"{sorted(ctranslate2.get_supported_compute_types('cuda'))}")  # fmt: skip
    audio = load_16k(args.audio)
    reference = demo_reference(args.reference)
    duration = len(audio) / 16000
    base = TranscribeOptions(model=args.model)
    runs = {
        "cpu auto": replace(base, device="cpu"),
        "cuda auto": replace(base, device="cuda"),
        "cuda batched": replace(base, device="cuda", batched=True),
    }
    print(f"{args.audio.name}: {duration:.1f} s; model {resolve_model(args.model).name}")
    print(f"{'run':18}{'device':>7}{'type':>9}{'batched':>8}{'words':>7}{'WER':>7}"
          f"{'load s':>8}{'RTF':>8}")  # fmt: skip
    results = {}
    for name, options in runs.items():
        result = results[name] = transcribe(audio, options)
        info = result.info
        print(
            f"{name:18}{info.device:>7}{info.compute_type:>9}{info.batched!s:>8}"
            f"{len(result.words):>7}{wer([reference], [result.text]):7.3f}"
            f"{info.load_seconds:8.2f}{info.real_time_factor:8.4f}"
        )
    model = bare_model(runs["cuda auto"])  # the batched run differs only in how it decodes
    for name, label in (("cuda auto", "cuda bare"), ("cuda batched", "cuda bare batched")):
        batched = results[name].info.batched
        began = time.perf_counter()
        text, words = bare_text(model, audio, runs[name], batched)
        seconds = time.perf_counter() - began
        print(f"{label:18}{'cuda':>7}{'':>9}{batched!s:>8}{words:>7}"
              f"{wer([reference], [text]):7.3f}{'':>8}{seconds / duration:8.4f}")  # fmt: skip

    if args.repeat > 1:
        long = np.tile(audio, args.repeat)
        print(f"\ntiled x{args.repeat}: {len(long) / 16000 / 60:.1f} min")
        long_reference = " ".join([reference] * args.repeat)
        for name in ("cuda auto", "cuda batched"):
            result = transcribe(long, runs[name])
            print(f"{name:18} words {len(result.words):6}  WER "
                  f"{wer([long_reference], [result.text]):.3f}  "
                  f"RTF {result.info.real_time_factor:.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
