"""Are the recogniser's words speech evidence the diarizer lacks? Dev only.

Run ``python bench/words_as_speech.py [--only NAMES]``. For each dev file of
``bench/eval_diarization.py`` (the demo, three-excerpts, the spliced cases, the monologues and
AMI trn01..trn09) it transcribes the audio as the speech stage does (``stage._transcribe`` with
show.toml's default ``[speech]``: Whisper base, beam 5, Silero VAD on, no prompt), diarizes it
with the count known (as ``ppod process`` does from the episode's speaker list), and measures on
10 ms frames inside the file's UEM, with no collar:

- ``unturned``: seconds the words cover where no turn is (words from start to end), and of it how
  much the reference calls speech (precision) and how much nobody (false alarm if turned);
- the same for words of probability >= 0.5;
- ``nobody``: reference speech no turn covers (the "given to nobody" miss), and how much of it
  the words cover.

WhisperX's premise is that words are where speech is; this checks the premise against the
diarizer's turns before any step is built on it. ``--cache DIR`` keeps the words per file (JSON)
so a second run re-uses them; ``--no-vad`` transcribes with the recogniser's Silero filter off
(a side check: the pipeline always filters).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_diarization import RATE, Case, load_cases  # noqa: E402

from ppod_audio.speech.diarize_embedded import diarize_embedded, load_encoder  # noqa: E402
from ppod_audio.transcript.model import Turn, Word  # noqa: E402

FRAME = 0.01


def stage_words(audio: np.ndarray, vad: bool = True) -> list[Word]:
    """The words the speech stage writes for ``audio`` with show.toml's defaults; with ``vad``
    off, the same recogniser with its Silero filter off (not what the pipeline runs: a side
    check of whether the filter is what keeps the words off the diarizer's misses)."""
    from ppod_audio.config import SpeechSettings
    from ppod_audio.speech.stage import SpeechOptions, _transcribe
    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe

    settings = SpeechSettings()
    if not vad:
        options = TranscribeOptions(model=settings.model, device="cpu", vad_filter=False,
                                    beam_size=settings.beam_size)  # fmt: skip
        return transcribe(audio, options).words
    options = SpeechOptions(model=settings.model, device="cpu", batched=settings.batched)
    return _transcribe(audio, options, settings, [])


def mask(spans: list[tuple[float, float]], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for start, end in spans:
        out[max(0, int(round(start / FRAME))) : max(0, int(round(end / FRAME)))] = True
    return out


def measure(case: Case, words: list[Word], turns: list[Turn]) -> dict[str, float]:
    n = int(np.ceil(len(case.audio) / RATE / FRAME))
    scored = np.ones(n, dtype=bool)
    if case.uem:
        scored = mask([case.uem], n)
    reference = mask([(t.start, t.end) for t in case.reference], n) & scored
    turned = mask([(t.start, t.end) for t in turns], n)
    worded = mask([(w.start, w.end) for w in words], n) & scored
    sure = mask([(w.start, w.end) for w in words if (w.probability or 0) >= 0.5], n) & scored
    out = {}
    for name, cover in (("all", worded), ("p50", sure)):
        outside = cover & ~turned
        out[f"{name}_out"] = outside.sum() * FRAME
        out[f"{name}_out_ref"] = (outside & reference).sum() * FRAME
    # Speaker-seconds, as the miss counts them: each reference voice no turn covers.
    out["nobody"] = out["nobody_worded"] = out["nobody_sure"] = 0.0
    for speaker in {t.speaker for t in case.reference}:
        voice = mask([(t.start, t.end) for t in case.reference if t.speaker == speaker], n)
        nobody = voice & scored & ~turned
        out["nobody"] += nobody.sum() * FRAME
        out["nobody_worded"] += (nobody & worded).sum() * FRAME
        out["nobody_sure"] += (nobody & sure).sum() * FRAME
    out["words"] = len(words)
    return out


def share(part: float, whole: float) -> str:
    """``part`` as a percentage of ``whole``, "-" when there is no whole."""
    return f"{100 * part / whole:.0f} %" if whole else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated file names or groups")
    parser.add_argument("--cache", type=Path, help="folder to keep each file's words in")
    parser.add_argument(
        "--no-vad", action="store_true", help="transcribe with the recogniser's VAD filter off "
        "(a side check; the pipeline always filters)"
    )  # fmt: skip
    args = parser.parse_args()
    load_encoder()
    cases = load_cases("dev")
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        cases = [c for c in cases if c.name in wanted or c.group in wanted]
    print(f"{'file':<22}{'words':>6}{'out s':>7}{'ref s':>7}{'prec':>6}"
          f"{'out>.5':>8}{'ref':>6}{'prec':>6}{'nobody':>8}{'worded':>8}{'sure':>6}")  # fmt: skip
    groups: dict[str, dict[str, float]] = {}
    for case in cases:
        cached = args.cache / f"{case.name}.json" if args.cache else None
        if cached and cached.exists():
            words = [Word.model_validate(w) for w in json.loads(cached.read_text())]
        else:
            words = stage_words(case.audio, vad=not args.no_vad)
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps([w.model_dump() for w in words]))
        count = len({t.speaker for t in case.reference})
        turns = diarize_embedded(case.audio, RATE, num_speakers=count)
        m = measure(case, words, turns)
        group = "AMI dev" if case.group == "AMI dev" else "non-AMI dev"
        total = groups.setdefault(group, {})
        for key, value in m.items():
            total[key] = total.get(key, 0.0) + value

        print(
            f"{case.name:<22}{m['words']:>6}{m['all_out']:>7.2f}{m['all_out_ref']:>7.2f}"
            f"{share(m['all_out_ref'], m['all_out']):>6}"
            f"{m['p50_out']:>8.2f}{m['p50_out_ref']:>6.2f}"
            f"{share(m['p50_out_ref'], m['p50_out']):>6}"
            f"{m['nobody']:>8.2f}{m['nobody_worded']:>8.2f}{m['nobody_sure']:>6.2f}",
            flush=True,
        )
    print("\n=== TOTALS ===")
    for group, m in groups.items():
        print(
            f"{group}: word-covered time outside any turn {m['all_out']:.2f} s, of it reference "
            f"speech {m['all_out_ref']:.2f} s ({share(m['all_out_ref'], m['all_out'])}); "
            f"p>=0.5: {m['p50_out']:.2f} s, {m['p50_out_ref']:.2f} s reference "
            f"({share(m['p50_out_ref'], m['p50_out'])}); reference speaker-seconds no turn covers "
            f"{m['nobody']:.2f} s, words cover {m['nobody_worded']:.2f} s of it "
            f"({m['nobody_sure']:.2f} s with p>=0.5)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
