"""A narrower, cheaper second hearing for shading, measured on the domain dev passages.

    python bench/shading_recheck.py [--model base] [--variants ...]  # dev table of variants
    python bench/shading_recheck.py --audio FILE ... [--variant V]    # cost on real recordings

``[speech] hear_doubted`` (opt-in) hears every word under 0.9 again with tiny.en
(``speech/recheck.py``); ``transcript/confidence.needs_review`` then shades a heard word only
when heard otherwise (or under 0.3). It meets the shading target but costs about half of base's
transcription on real recordings, which the pipeline's RTF budget cannot carry. This measures
narrower and cheaper variants (issue #12), through the pipeline's path (the raw words marked
and heard again before cleaning, as ``speech/stage.py`` does, the cleaned words scored):

* which words are heard: those the default rule (probability and runner-up disputes) shades
  from probability ``floor`` up (under it they stay shaded whatever is heard), disputed ones
  too or not (``disputed``), and unshaded ones under ``band`` (shaded if heard otherwise);
* how: tiny.en with beam 5 or greedy (``beam``), and the clips' layout (``context`` words,
  ``pad`` seconds either side, ``gap`` seconds of silence between the clips of a window);
* the rule after: a heard word is shaded when heard otherwise or under ``low``.

Per variant it prints errors caught / correct words shaded and the second hearing's seconds
against the first transcription's (both from the cache under ``build/domain-cache``, so only
ratios within one machine state mean anything; ``--audio`` measures cost afresh, the two in
one process, on real recordings). Eval is for reporting: choose on dev.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_domain import CACHE, _recognised, domain_files, shading_setup  # noqa: E402
from shading_fit import labelled, rate  # noqa: E402


@dataclass(frozen=True)
class Variant:
    """One way of hearing again: which words, with which decode, laid out how."""

    band: float = 0.0  # unshaded words under this are heard too (0: none)
    floor: float = 0.3  # words under this are not heard (shaded anyway)
    disputed: bool = True  # disputed words heard too (else shaded, not heard)
    beam: int = 5
    context: int = 1
    pad: float = 0.25
    gap: float = 1.0

    def name(self) -> str:
        band = f"+band<{self.band}" if self.band else ""
        disputed = "" if self.disputed else " (not disputed)"
        return (f"rule{band}{disputed} p>={self.floor} beam{self.beam} ctx{self.context} "
                f"pad{self.pad} gap{self.gap}")  # fmt: skip


VARIANTS: dict[str, Variant | None] = {
    "wide": None,  # every word under 0.9: [speech] hear_doubted as it is (opt-in)
    "rule": Variant(),
    "rule-greedy": Variant(beam=1),
    "rule-greedy-tight": Variant(beam=1, pad=0.15, gap=0.5),
    "rule-greedy-noctx": Variant(beam=1, context=0, gap=0.5),
    "rule-tight": Variant(pad=0.15, gap=0.5),
    "band0.7-greedy-tight": Variant(band=0.7, beam=1, pad=0.15, gap=0.5),
    "band0.8-greedy-tight": Variant(band=0.8, beam=1, pad=0.15, gap=0.5),
    "undisputed-band0.8": Variant(band=0.8, floor=0.4, disputed=False),
    "undisputed-band0.8-tight": Variant(band=0.8, floor=0.4, disputed=False, pad=0.15, gap=0.5),
    "undisputed-band0.8-greedy-tight": Variant(
        band=0.8, floor=0.4, disputed=False, beam=1, pad=0.15, gap=0.5
    ),
    "undisputed-band0.7-tight": Variant(band=0.7, floor=0.5, disputed=False, pad=0.15, gap=0.5),
    "undisputed-only-0.5-tight": Variant(floor=0.5, disputed=False, pad=0.15, gap=0.5),
    "undisputed-band0.7-noctx": Variant(
        band=0.7, floor=0.5, disputed=False, context=0, pad=0.2, gap=0.4
    ),
    "undisputed-only-0.4-noctx": Variant(floor=0.4, disputed=False, context=0, pad=0.2, gap=0.4),
    "undisputed-only-0.5-noctx": Variant(floor=0.5, disputed=False, context=0, pad=0.2, gap=0.4),
}


def pick(label: str) -> Variant | None:
    """The variant a label names (None: the pipeline's own, every word under 0.9)."""
    return VARIANTS[label]


def marks_for(variant: Variant | None, words: list, known: frozenset[str]) -> list[bool]:  # type: ignore[type-arg]
    """The words ``variant`` hears again."""
    from ppod_audio.transcript.confidence import _exempt, needs_review

    marks = []
    for i, word in enumerate(words):
        p = word.probability
        if _exempt(word, known):
            marks.append(False)
        elif variant is None:
            marks.append(p < 0.9)
        elif word.disputed and not variant.disputed:
            marks.append(False)
        elif needs_review(words, i, known):
            marks.append(p >= variant.floor)
        else:
            marks.append(p < variant.band)
    return marks


def cached_hearer(hear, folder: Path, spent: list[float], prefix: str = ""):  # type: ignore[no-untyped-def]
    """``hear`` (a 16 kHz window -> its words) with each window's words and seconds saved under
    ``folder`` by a digest of its samples (``prefix`` before it), the seconds added to
    ``spent[0]`` whether heard now or read back."""
    from ppod_audio.transcript.model import Word

    def cached(window):  # type: ignore[no-untyped-def]
        digest = hashlib.sha1(window.tobytes()).hexdigest()[:16]
        where = folder / f"{prefix}{digest}.json"
        if where.is_file():
            saved = json.loads(where.read_text(encoding="utf-8"))
            spent[0] += saved["seconds"]
            return [Word(**w) for w in saved["words"]]
        began = time.perf_counter()
        found = list(hear(window))
        took = time.perf_counter() - began
        spent[0] += took
        folder.mkdir(parents=True, exist_ok=True)
        where.write_text(json.dumps({"seconds": took, "words": [w.model_dump() for w in found]}))
        return found

    return cached


def heard(variant: Variant | None, audio, words: list, marks: list[bool], options, tag: str):  # type: ignore[no-untyped-def]
    """``words`` with the marked ones' ``heard_again`` set, and the seconds the hearing took
    (windows cached by their samples and the decode)."""
    from dataclasses import replace

    from ppod_audio.speech import clips, recheck

    v = variant or Variant(floor=0.0)
    hear = clips.window_hearer(replace(options, model="tiny.en", prompt="none", beam_size=v.beam))
    spent = [0.0]
    cached = cached_hearer(hear, CACHE / f"recheck-tiny-b{v.beam}", spent, f"{tag}-")

    saved = recheck.CONTEXT, recheck.PAD_S, clips.GAP_S
    recheck.CONTEXT, recheck.PAD_S, clips.GAP_S = v.context, v.pad, v.gap
    try:
        again = recheck.hear_again(audio, words, marks, cached)
    finally:
        recheck.CONTEXT, recheck.PAD_S, clips.GAP_S = saved
    return again, spent[0]


def shade(ws: list, i: int, known: frozenset[str], low: float) -> bool:  # type: ignore[type-arg]
    """The rule with a heard word shaded when heard otherwise or under ``low``."""
    from ppod_audio.transcript.confidence import _exempt, needs_review

    word = ws[i]
    if word.heard_again is None or _exempt(word, known):
        return needs_review(ws, i, known)
    return word.probability < low or not word.heard_again


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--audio", nargs="*", type=Path, default=[],
                        help="instead: the cost on these recordings (no reference)")  # fmt: skip
    parser.add_argument("--variant", default="undisputed-band0.7-tight", help="with --audio")
    args = parser.parse_args(argv)
    if args.audio:
        return cost(args.audio, args.model, pick(args.variant))

    from ppod_audio.audio.decode import decode
    from ppod_audio.transcript.clean import clean_words
    from ppod_audio.transcript.confidence import needs_review

    cleaning, options, known = shading_setup(args.model)
    after = cleaning["after"]
    passages = []
    for path, split, speaker in domain_files("dev"):
        audio = decode(path, 16000, 1).samples[0]
        words, seconds = _recognised(path, audio, options)
        words = [w.model_copy(update={"speaker": speaker}) for w in words]
        passages.append((path, split, speaker, audio, words, seconds))
    first = sum(p[-1] for p in passages)

    def scored(word_lists):  # type: ignore[no-untyped-def]
        from eval_domain import Scored

        rows = []
        for (path, split, speaker, audio, _, _), words in zip(passages, word_lists, strict=True):
            text = path.with_suffix(".txt").read_text()
            rows.append(Scored(path.stem, split, speaker, len(audio) / 16000, 0.0, text, {},
                               clean_words(words, after)))  # fmt: skip
        return labelled(rows)

    items = scored([p[4] for p in passages])
    caught, shaded = rate([needs_review(ws, i, known) for ws, i, *_ in items], items)
    print(f"dev: {len(passages)} passages; base transcription {first:.0f} s (from the cache)")
    print(f"  default rule, nothing heard again: {caught:6.1%} caught / {shaded:5.1%} shaded")
    for label in args.variants:
        variant = pick(label)
        lists, spent, count = [], 0.0, 0
        for path, _, _, audio, words, _ in passages:
            marks = marks_for(variant, words, known)
            count += sum(marks)
            again, took = heard(variant, audio, words, marks, options, f"dev-{path.stem}")
            lists.append(again)
            spent += took
        items = scored(lists)
        print(f"  {label:22} {count:4} words heard, {spent:6.1f} s = {spent / first:5.1%} "
              f"of transcription")  # fmt: skip
        for low in (0.3, 0.4, 0.5):
            if variant is not None and low < variant.floor:
                continue
            marks = [shade(ws, i, known, low) for ws, i, *_ in items]
            caught, shaded = rate(marks, items)
            print(f"      heard: shaded if heard otherwise or p < {low}: "
                  f"{caught:6.1%} caught / {shaded:5.1%} shaded")  # fmt: skip
    return 0


def cost(paths: list[Path], model: str, variant: Variant | None) -> int:
    """The variant's second hearing against the first transcription, on real recordings, in
    one process (the machine is shared: only this ratio means anything)."""
    from ppod_audio.audio.decode import decode
    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe

    options = TranscribeOptions(model=model, device="cpu")
    warm = decode(paths[0], 16000, 1).samples[0][:16000]
    transcribe(warm, options)  # load the models outside the timing
    heard(variant, warm, [], [], options, "warm")
    totals = [0.0, 0.0, 0.0]
    for path in paths:
        audio = decode(path, 16000, 1).samples[0]
        began = time.perf_counter()
        words = list(transcribe(audio, options).words)
        first = time.perf_counter() - began
        marks = marks_for(variant, words, frozenset())
        tag = f"cost-{time.time_ns()}"  # never from the cache
        again, second = heard(variant, audio, words, marks, options, tag)
        for stale in (CACHE / f"recheck-tiny-b{(variant or Variant()).beam}").glob(f"{tag}-*"):
            stale.unlink()
        seconds = len(audio) / 16000
        differ = sum(1 for w in again if w.heard_again is False)
        print(f"{path.name}: {seconds:.0f} s, {len(words)} words, {sum(marks)} heard again "
              f"({differ} heard otherwise); transcription {first:.1f} s, second hearing "
              f"{second:.1f} s = {second / first:.1%}")  # fmt: skip
        totals = [totals[0] + seconds, totals[1] + first, totals[2] + second]
    print(f"all: {totals[0]:.0f} s; second hearing {totals[2]:.1f} s = "
          f"{totals[2] / totals[1]:.1%} of transcription's {totals[1]:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
