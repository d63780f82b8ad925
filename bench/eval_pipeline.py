"""The whole pipeline, measured: WER, DER, speaker naming and real-time factor per stage.

    python bench/eval_pipeline.py [--split dev|eval|all] [--skip-wer] [--names-only]

Unlike ``eval_wer.py`` (our transcribe() against bare faster-whisper on the same array), this
runs ``ppod process`` itself on each reference file, so the transcript scored is the published
one: decoded, cleaned (high-pass, trimmed), resampled, recognised, diarized and text-cleaned.
It prints:

1. WER per file: bare faster-whisper on the original file (same model, beam, VAD settings and
   word timestamps as the pipeline) against the pipeline's raw words and its cleaned transcript.
2. The demo episode: WER and DER against its ground truth, the names on the paragraphs, and the
   real-time factor of every stage.
3. Names on the demo from introductions alone (no voice library at all) and with voiceprints:
   the share of words under the right person's name in each case.
4. Speaker naming on ``conversation/katie-steve.wav`` from its two enrolment clips.

dev and eval are printed apart; eval figures are for reporting, never for tuning.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_wer import (  # noqa: E402
    OUT_OF_TOTALS,
    SPLITS,
    data_root,
    demo_reference,
    normalise,
    reference,
)

if TYPE_CHECKING:
    from ppod_audio.speech.stage import SpeechResult
    from ppod_audio.speech.transcribe import TranscribeOptions

DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp"


def make_show(root: Path, voices: bool = True) -> Path:
    """The project's own show (glossary, assets, voices): every bench measures the same one.

    ``voices`` False leaves the voice library out, so names can only come from the transcript.
    """
    root.mkdir(parents=True)
    for name in ("show.toml", "glossary.toml"):
        shutil.copy(REPO / "raw_audio" / name, root / name)
    shutil.copytree(REPO / "raw_audio" / "assets", root / "assets")
    if voices:
        shutil.copytree(REPO / "raw_audio" / "voices", root / "voices")
    return root


def process(folder: Path, out: Path, cache: Path | None = None) -> tuple[dict, dict]:
    from ppod_audio.pipeline import ProcessOptions, process_episode

    result = process_episode(folder, ProcessOptions(output_root=out, cache_dir=cache))
    if not result.ok:
        raise SystemExit(f"{folder.name}: {result.error}")
    document = json.loads((out / folder.name / "episode.json").read_text())
    return result.report, document


def spoken_words(document: dict) -> list[dict]:
    return [w for segment in document["segments"][1:] for w in segment["words"]]


def speech_result(out: Path, report: dict) -> SpeechResult:
    """The speech stage's words and turns before text cleaning, from the pipeline's own cache."""
    from ppod_audio.cache import Cache
    from ppod_audio.speech.stage import SpeechResult

    result = SpeechResult.from_cache(Cache(out / ".cache"), report["keys"]["speech"])
    if result is None:
        raise SystemExit(f"no cached speech result under {out / '.cache'}")
    return result


def recognised_text(speech: SpeechResult) -> str:
    return " ".join(word.text for word in speech.words)


def bare_transcript(path: Path, model: Any, options: TranscribeOptions) -> str:
    """faster-whisper as a user would call it, on the original file, with our settings."""
    from bare_whisper import bare_text

    from ppod_audio.audio.decode import decode

    text, _ = bare_text(model, decode(path, 16000, 1).samples[0], options)
    return text


def wer_table(split: str, work: Path) -> None:
    import jiwer
    from bare_whisper import bare_model

    from ppod_audio.speech.transcribe import TranscribeOptions

    options = TranscribeOptions()
    model = bare_model(options)
    show = make_show(work / "wer-show")
    out = work / "wer-out"
    print(f"\n=== WER through the whole pipeline ({split}) ===")
    print(f"{'file':34} {'split':5} {'bare':>7} {'raw':>7} {'clean':>7}")
    totals: dict[str, list[list[str]]] = {}
    for name in SPLITS["dev"] + SPLITS["eval"] if split == "all" else SPLITS[split]:
        part = "dev" if name in SPLITS["dev"] else "eval"
        path = data_root() / name
        folder = show / path.stem
        folder.mkdir()
        shutil.copy(path, folder / path.name)
        (folder / "episode.toml").write_text(f'title = "{path.stem}"\ninputs = ["{path.name}"]\n')
        report, document = process(folder, out)
        ref = normalise(reference(path))
        hyps = {
            "bare": normalise(bare_transcript(path, model, options)),
            "raw": normalise(recognised_text(speech_result(out, report))),
            "clean": normalise(" ".join(s["text"] for s in document["segments"][1:])),
        }
        scores = {k: jiwer.wer(ref, v) for k, v in hyps.items()}
        note = "  (not in totals: overlapped talkers)" if name in OUT_OF_TOTALS else ""
        print(f"{path.name:34} {part:5} {scores['bare']:7.3f} {scores['raw']:7.3f} "
              f"{scores['clean']:7.3f}{note}")  # fmt: skip
        if name not in OUT_OF_TOTALS:
            for key, hyp in hyps.items():
                totals.setdefault(f"{part}:{key}", [[], []])
                totals[f"{part}:{key}"][0].append(ref)
                totals[f"{part}:{key}"][1].append(hyp)
    for part in ("dev", "eval"):
        if f"{part}:bare" in totals:
            row = {k: jiwer.wer(*totals[f"{part}:{k}"]) for k in ("bare", "raw", "clean")}
            print(f"{'TOTAL ' + part:34} {part:5} {row['bare']:7.3f} {row['raw']:7.3f} "
                  f"{row['clean']:7.3f}")  # fmt: skip


def demo_table(work: Path) -> None:
    import jiwer
    from pyannote.metrics.diarization import DiarizationErrorRate

    from ppod_audio.speech.turns import read_rttm, to_annotation

    show = make_show(work / "demo-show")
    shutil.copytree(DEMO, show / DEMO.name)
    started = time.perf_counter()
    report, document = process(show / DEMO.name, work / "demo-out")
    wall = time.perf_counter() - started
    ref = normalise(demo_reference(DEMO / "reference" / "reference.txt"))
    hyp = normalise(" ".join(s["text"] for s in document["segments"][1:]))
    speech = speech_result(work / "demo-out", report)
    raw = recognised_text(speech)
    (truth,) = read_rttm(DEMO / "reference" / "reference.rttm").values()
    turns = speech.turns  # the diarizer's, on the raw clock
    right, total = words_named_right(report, document)
    der = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    print("\n=== Demo episode (dev) ===")
    print(
        f"WER cleaned transcript: {jiwer.wer(ref, hyp):.3f}   "
        f"(machine words before cleaning: "
        f"{jiwer.wer(ref, normalise(raw)):.3f})"
    )
    print(
        f"DER of the pipeline's speaker turns vs reference RTTM (collar 0.25, overlap scored): "
        f"{der(to_annotation(truth), to_annotation(turns)):.1%}"
    )
    print(f"words under the right person's name: {right}/{total} = {right / max(total, 1):.1%}")
    print(f"speakers: {', '.join(s['name'] for s in document['speakers'])}")
    audio_seconds = report["duration"] - report["intro_offset"]
    print(f"programme {audio_seconds:.1f} s; wall {wall:.1f} s (incl. model loads); "
          f"RTF {wall / audio_seconds:.3f}")  # fmt: skip
    for stage, entry in report["stages"].items():
        print(
            f"  {stage:16} {entry['seconds']:7.2f} s   RTF {entry['seconds'] / audio_seconds:.4f}"
        )
    out = report["loudness"]["output"]
    print(f"loudness {out['integrated_lufs']} LUFS, true peak {out['true_peak_dbtp']} dBTP, "
          f"LRA {out['loudness_range_lu']} LU")  # fmt: skip


def words_named_right(report: dict, document: dict) -> tuple[int, int]:
    """Published words on the demo whose paragraph names the person the reference RTTM says
    was speaking (words outside every reference turn are not counted)."""
    from ppod_audio.speech.turns import read_rttm

    (truth,) = read_rttm(DEMO / "reference" / "reference.rttm").values()
    names = {s["id"]: s["name"].replace(" ", "_") for s in document["speakers"]}
    shift = report["intro_offset"] - report["trimmed_start"]
    right = total = 0
    for word in spoken_words(document):
        middle = (word["start"] + word["end"]) / 2 - shift
        owner = [t.speaker for t in truth if t.start <= middle <= t.end]
        if owner:
            total += 1
            right += names[word["speaker"]] == owner[0]
    return right, total


def introductions_table(work: Path) -> None:
    """The demo named with no voiceprints at all (introductions only), then with voiceprints.

    Both runs share one cache, so the speech models run once and the figures differ only by
    how the clusters were named.
    """
    print("\n=== Names on the demo (dev): introductions alone vs voiceprints ===")
    cache = work / "names-cache"
    for voices in (False, True):
        show = make_show(work / f"names-show-{voices}", voices=voices)
        shutil.copytree(DEMO, show / DEMO.name)
        report, document = process(show / DEMO.name, work / f"names-out-{voices}", cache)
        right, total = words_named_right(report, document)
        how = "with voiceprints" if voices else "no voiceprints (introductions only)"
        print(f"{how:38} words under the right name: {right}/{total} = "
              f"{right / max(total, 1):.1%}")  # fmt: skip
        for cluster, named in sorted(report["naming"].items()):
            confidence = f" confidence {named['confidence']:.2f}" if "confidence" in named else ""
            print(f"  {cluster} -> {named['name']} (by {named['by']}{confidence})")
        for warning in report["warnings"]:
            print(f"  warning: {warning}")


def naming_table() -> None:
    import numpy as np

    from ppod_audio.audio.decode import decode
    from ppod_audio.speech.diarize_embedded import diarize_embedded_detailed
    from ppod_audio.speech.voiceprints import enroll, name_clusters, similarity_matrix

    root = data_root() / "conversation"
    audio = decode(root / "katie-steve.wav", 16000, 1).samples[0]
    with tempfile.TemporaryDirectory() as library:
        voices = [
            enroll(
                library,
                who,
                [decode(root / f"katie-steve.enroll-{who.lower()}.wav", 16000, 1).samples[0]],
            )  # fmt: skip
            for who in ("Katie", "Steve")
        ]
    print("\n=== Speaker naming: katie-steve (dev) ===")
    for count in (None, 2):
        detailed = diarize_embedded_detailed(audio, num_speakers=count)
        centroids = {k: np.asarray(v) for k, v in detailed.centroids.items()}
        named = name_clusters(centroids, voices, candidates=["Katie", "Steve"], threshold=0.5)
        first = min(detailed.turns, key=lambda t: t.start).speaker
        sims = similarity_matrix(centroids, voices)
        print(f"count {count or 'estimated'}: {named}; first talker {first} -> "
              f"{named.get(first)} (expected Katie: opens 'Good morning, Steve')")  # fmt: skip
        for label, row in zip(centroids, sims, strict=True):
            print(
                f"  {label}: "
                + ", ".join(f"{v.name} {s:.3f}" for v, s in zip(voices, row, strict=True))
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "eval", "all"], default="all")
    parser.add_argument("--skip-wer", action="store_true")
    parser.add_argument(
        "--names-only", action="store_true", help="only the demo's names, with and without prints"
    )
    args = parser.parse_args()
    if not data_root().is_dir():
        print(f"skipped: {data_root()} (../shared/data) is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.names_only:
            introductions_table(work)
            return 0
        demo_table(work)
        introductions_table(work)
        naming_table()
        if not args.skip_wer:
            wer_table(args.split, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
