"""Word error rate of our recognition and cleaning against bare faster-whisper.

    python bench/eval_wer.py [--model tiny.en] [--split dev|eval|all] [--prompt none|hotwords|...]

For every reference file in the shared data (``speech/*.wav`` with ``.txt``, and
``conversation/pyannote-sample.wav`` with its ``.stm``) it reports three systems:

  (a) bare   faster-whisper ``WhisperModel.transcribe`` with the same model and settings
  (b) ours   :func:`ppod_audio.speech.transcribe.transcribe`
  (c) clean  (b) followed by :func:`ppod_audio.transcript.clean.clean_words` with the show's
             glossary (``raw_audio/glossary.toml``)

Targets: (b) within 0.5 points of (a); (c) never worse than (b). dev and eval are reported
apart: eval figures are for reporting only, never for choosing settings (data README).

The stereo file (a different talker on each channel, overlapping) is downmixed as the pipeline
does, scored against the left reference followed by the right, and kept out of the totals: the
order of two overlapping talkers is arbitrary, so its WER measures overlap, not recognition.

Data: ``<repo>/../shared/data`` or ``$PPOD_SHARED_DATA``; skipped with a message when absent.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

SPLITS = {
    "dev": [
        "speech/jfk.wav",
        "speech/librivox-0870.wav",
        "speech/librivox-0880.wav",
        "speech/librivox-0890.wav",
        "speech/librivox-0920.wav",
        "speech/librivox-0930.wav",
        "speech/librispeech-1272-128104-0000.wav",
        "speech/harvard-birch-canoe.wav",
        "speech/stereo-two-talkers.wav",
    ],
    "eval": [
        "speech/dagon.wav",
        "speech/arctic-a0024.wav",
        "speech/new-home-in-the-stars.wav",
        "conversation/pyannote-sample.wav",
    ],
}
OUT_OF_TOTALS = {"speech/stereo-two-talkers.wav"}


def normalise(text: str) -> str:
    """The one normalisation for both sides: lower case, no punctuation, single spaces.

    Hyphens become spaces ("ill-disposed" = "ill disposed"); apostrophes inside words stay
    ("don't" is one word).
    """
    text = text.lower().replace("-", " ").replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


def data_root() -> Path:
    return Path(os.environ.get("PPOD_SHARED_DATA", REPO.parent / "shared" / "data"))


def reference(audio: Path) -> str:
    """The reference text of one file (``.txt``, ``.left.txt`` + ``.right.txt``, or ``.stm``)."""
    stem = audio.with_suffix("")
    if audio.with_suffix(".txt").is_file():
        return audio.with_suffix(".txt").read_text(encoding="utf-8")
    if Path(f"{stem}.left.txt").is_file():
        return " ".join(Path(f"{stem}.{side}.txt").read_text() for side in ("left", "right"))
    lines = audio.with_suffix(".stm").read_text(encoding="utf-8").splitlines()
    turns = sorted((float(line.split()[3]), " ".join(line.split()[5:])) for line in lines if line)
    return " ".join(text for _, text in turns)


def demo_reference(path: Path) -> str:
    """The demo episode's reference text without its "Name - Role" header lines.

    The reference is in the house style, where each paragraph follows a short line naming its
    speaker; those names are never spoken, so scoring them would count them as deletions.
    """
    paragraphs = path.read_text(encoding="utf-8").split("\n\n")
    return " ".join(p for p in paragraphs if p.strip() and not (" - " in p and len(p) < 100))


@dataclass
class Row:
    name: str
    split: str
    duration: float
    reference: str
    hypotheses: dict[str, str]
    seconds: dict[str, float]


def wer(references: list[str], hypotheses: list[str]) -> float:
    import jiwer

    return jiwer.wer([normalise(r) for r in references], [normalise(h) for h in hypotheses])


def run_file(path: Path, split: str, args, bare_model, options, clean_options) -> Row:
    from bare_whisper import bare_text

    from ppod_audio.audio.decode import decode
    from ppod_audio.speech.transcribe import transcribe
    from ppod_audio.transcript.clean import clean_words

    audio = decode(path, 16000, 1).samples[0]
    duration = audio.shape[0] / 16000
    hypotheses: dict[str, str] = {}
    seconds: dict[str, float] = {}

    began = time.perf_counter()
    result = transcribe(audio, options)
    hypotheses["b_ours"] = result.text
    seconds["b_ours"] = time.perf_counter() - began

    began = time.perf_counter()
    hypotheses["a_bare"] = bare_text(bare_model, audio, options, result.info.batched)[0]
    seconds["a_bare"] = time.perf_counter() - began

    began = time.perf_counter()
    hypotheses["c_clean"] = " ".join(w.text for w in clean_words(result.words, clean_options))
    seconds["c_clean"] = seconds["b_ours"] + time.perf_counter() - began
    return Row(path.name, split, duration, reference(path), hypotheses, seconds)


SYSTEMS = ("a_bare", "b_ours", "c_clean")


def in_totals(row: Row) -> bool:
    return not any(Path(name).name == row.name for name in OUT_OF_TOTALS)


def report(rows: list[Row]) -> None:
    print(f"{'file':38} {'split':5} {'dur s':>6} " + " ".join(f"{s:>8}" for s in SYSTEMS))
    for row in rows:
        cells = " ".join(f"{wer([row.reference], [row.hypotheses[s]]):8.3f}" for s in SYSTEMS)
        mark = "" if in_totals(row) else "  (not in totals)"
        print(f"{row.name:38} {row.split:5} {row.duration:6.1f} {cells}{mark}")
    for split in ("dev", "eval"):
        scored = [r for r in rows if r.split == split and in_totals(r)]
        if not scored:
            continue
        words = sum(len(normalise(r.reference).split()) for r in scored)
        audio = sum(r.duration for r in scored)
        wers = " ".join(
            f"{wer([r.reference for r in scored], [r.hypotheses[s] for r in scored]):8.3f}"
            for s in SYSTEMS
        )
        rtfs = " ".join(f"{sum(r.seconds[s] for r in scored) / audio:8.3f}" for s in SYSTEMS)
        label = f"TOTAL {split} ({len(scored)} files, {words} words)"
        print(f"{label:38} {split:5} {audio:6.1f} {wers}")
        print(f"{'  real-time factor':38} {split:5} {'':6} {rtfs}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--split", choices=("dev", "eval", "all"), default="all")
    parser.add_argument("--prompt", choices=("none", "hotwords", "initial_prompt"), default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--show-text", action="store_true", help="print hypotheses too")
    args = parser.parse_args(argv)

    root = data_root()
    if not (root / "speech").is_dir():
        print(f"shared data not found at {root} (set PPOD_SHARED_DATA): skipping", file=sys.stderr)
        return 0

    from bare_whisper import bare_model as make_bare_model

    from ppod_audio.speech.models import resolve_model
    from ppod_audio.speech.transcribe import TranscribeOptions, pick_compute_type, pick_device
    from ppod_audio.transcript.clean import CleanOptions
    from ppod_audio.transcript.glossary import Glossary, load_glossary

    glossary_path = REPO / "raw_audio" / "glossary.toml"
    glossary = load_glossary(glossary_path) if glossary_path.is_file() else Glossary()
    options = TranscribeOptions(
        model=args.model,
        device=args.device,
        terms=glossary.terms,
        **({"prompt": args.prompt} if args.prompt else {}),
    )
    resolved = resolve_model(args.model)
    device = pick_device(args.device)
    compute_type = pick_compute_type("auto", device)
    bare_model = make_bare_model(options)
    print(
        f"model {resolved.name} ({resolved.source}, verified={resolved.verified}) on {device} "
        f"{compute_type}, prompt={options.prompt}, glossary {len(glossary.terms)} terms"
    )
    splits = ("dev", "eval") if args.split == "all" else (args.split,)
    rows = []
    clean_options = CleanOptions(glossary=glossary)
    for split in splits:
        for name in SPLITS[split]:
            row = run_file(root / name, split, args, bare_model, options, clean_options)
            rows.append(row)
            if args.show_text:
                print(f"# {name}\n  ref: {row.reference}")
                for system in SYSTEMS:
                    print(f"  {system}: {row.hypotheses[system]}")
    report(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
