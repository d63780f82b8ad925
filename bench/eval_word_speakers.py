"""Who said each word where two people talk at once: the share of words put under the right
speaker, overall and inside overlaps, for each word-attribution rule, in one run.

    python bench/eval_word_speakers.py [--model base|tiny.en] [--split dev|eval] [--pause 0.5]
        [--cache DIR] [--verbose]

``dominant`` is the rule before (``assign_speakers(..., overlap_rule="dominant")``),
``utterance`` the rule now (the default); both are scored on the same words and turns.

Dev cases are real single-voice recordings mixed here with a known offset, so the truth of who
said each word is known: each source is recognised alone (its word times shifted by its offset
are the truth), the mix is recognised and diarized (``diarize_embedded``, the true count given)
as the pipeline does, and each word recognised in the mix is matched to a source word of the
same text (difflib alignment per source, within 1 s); words matching neither source are not
scored (whisper often writes a blend of two voices: "could rise" for "horizon"). A diarizer
label is named after the source most of its words said alone belong to (words outside the
overlap, which no rule changes), so the rules are compared on the same mapping.

The stereo file (a different talker on each channel) is the first dev case: its channels are
the sources, mixed to mono. Eval (``--split eval``, report only, never to choose): the
pyannote sample's ``.stm`` transcript with speakers, scored the same way against the words of
each speaker's lines, with the embedded diarizer.

"inside overlaps" means the word's midpoint falls where both sources speak (each source's span
from its first recognised word to its last).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ppod_audio.speech.diarize_embedded import diarize_embedded  # noqa: E402
from ppod_audio.speech.transcribe import TranscribeOptions, transcribe  # noqa: E402
from ppod_audio.transcript.model import Turn, Word  # noqa: E402
from ppod_audio.transcript.segments import assign_speakers  # noqa: E402

RATE = 16000
DATA = Path(os.environ.get("PPOD_SHARED_DATA", REPO.parent / "shared" / "data"))
SPEECH = DATA / "speech"
DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp" / "reference"
RULES = ("dominant", "utterance")


@dataclass
class Source:
    """One voice of a mix: its samples and where it starts in the mix (seconds)."""

    name: str
    samples: np.ndarray
    offset: float


def read(path: Path, seconds: float | None = None) -> np.ndarray:
    samples, rate = soundfile.read(path, dtype="float32")
    assert rate == RATE, path
    if samples.ndim > 1:
        samples = samples.mean(1)
    return samples if seconds is None else samples[: int(seconds * RATE)]


def level(samples: np.ndarray) -> np.ndarray:
    """The source at one loudness (RMS of its louder half), so neither voice buries the other."""
    power = np.sort(samples.astype(np.float64) ** 2)
    loud = float(np.mean(power[len(power) // 2 :])) or 1e-12
    return (samples * (0.1 / np.sqrt(loud))).astype(np.float32)


def mixed(sources: list[Source]) -> np.ndarray:
    length = max(int(s.offset * RATE) + len(s.samples) for s in sources)
    mix = np.zeros(length, np.float32)
    for s in sources:
        at = int(s.offset * RATE)
        mix[at : at + len(s.samples)] += s.samples
    return mix


def dev_cases() -> dict[str, list[Source]]:
    """Two voices each: one handing over to another (the second starts before the first ends)
    and a short sentence said over someone's longer speech (an interjection)."""

    def src(name: str, path: Path, offset: float, seconds: float | None = None) -> Source:
        return Source(name, level(read(path, seconds)), offset)

    stereo, _ = soundfile.read(SPEECH / "stereo-two-talkers.wav", dtype="float32")
    steve, jasmine, rebecca = (DEMO / f"enroll-{n}.flac" for n in ("steve", "jasmine", "rebecca"))
    katie = DATA / "conversation" / "katie-steve.enroll-katie.wav"
    return {
        # The stereo file's own levels: the mix is what the pipeline hears.
        "stereo-two-talkers": [
            Source("left", np.ascontiguousarray(stereo[:, 0]), 0.0),
            Source("right", np.ascontiguousarray(stereo[:, 1]), 0.0),
        ],
        "steve>rebecca 2.5s": [src("steve", steve, 0.0, 12.0), src("rebecca", rebecca, 9.5, 12.0)],
        "jasmine>steve 2s": [src("jasmine", jasmine, 0.0, 12.0), src("steve", steve, 10.0, 12.0)],
        "katie>rebecca 3s": [src("katie", katie, 0.0, 12.0), src("rebecca", rebecca, 9.0, 12.0)],
        "jfk>librispeech 3s": [
            src("jfk", SPEECH / "jfk.wav", 0.0),
            src("libri", SPEECH / "librispeech-1272-128104-0000.wav", 8.0),
        ],
        "rebecca>jasmine 3s": [
            src("rebecca", rebecca, 0.0, 10.0),
            src("jasmine", jasmine, 7.0, 10.0),
        ],
        "katie-steve: steve>katie 4s": [
            src("steve", DATA / "conversation" / "katie-steve.enroll-steve.wav", 0.0, 12.0),
            src("katie", katie, 8.0, 10.0),
        ],
        "jasmine+librispeech": [
            src("jasmine", jasmine, 0.0),
            src("libri", SPEECH / "librispeech-1272-128104-0000.wav", 5.0),
        ],
        "steve+librivox-0890": [
            src("steve", steve, 0.0),
            src("librivox", SPEECH / "librivox-0890.wav", 9.0),
        ],
        "steve+harvard": [
            src("steve", steve, 0.0),
            src("harvard", SPEECH / "harvard-birch-canoe.wav", 6.0),
        ],
        "rebecca+librivox-0880": [
            src("rebecca", rebecca, 0.0),
            src("librivox", SPEECH / "librivox-0880.wav", 8.0),
        ],
        "katie+librivox-0930": [
            src("katie", katie, 0.0),
            src("librivox", SPEECH / "librivox-0930.wav", 7.0),
        ],
    }


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9']", "", text.lower())


def truth(
    mix_words: list[Word], by_source: dict[str, list[Word]], within: float = 1.0
) -> list[str | None]:
    """Per mix word, the source whose own words have that word at about that time (``within``
    seconds, midpoint to midpoint)."""
    said = [norm(w.text) for w in mix_words]
    found: list[dict[str, float]] = [{} for _ in mix_words]
    for name, words in by_source.items():
        matcher = difflib.SequenceMatcher(None, said, [norm(w.text) for w in words], autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                mine, theirs = mix_words[block.a + k], words[block.b + k]
                gap = abs((mine.start + mine.end) / 2 - (theirs.start + theirs.end) / 2)
                if gap <= within:
                    found[block.a + k][name] = gap
    return [min(f, key=lambda n: f[n]) if f else None for f in found]


def both_speak(by_source: dict[str, list[Word]]) -> Callable[[float], bool]:
    """Whether two sources speak at an instant: each source's span runs from its first
    recognised word to its last."""
    windows = [(ws[0].start, ws[-1].end) for ws in by_source.values() if ws]
    return lambda at: len(windows) > 1 and all(a <= at <= b for a, b in windows)


@dataclass
class Tally:
    right: int = 0
    total: int = 0
    right_over: int = 0
    total_over: int = 0

    def add(self, other: Tally) -> None:
        self.right += other.right
        self.total += other.total
        self.right_over += other.right_over
        self.total_over += other.total_over

    def __str__(self) -> str:
        def share(a: int, b: int) -> str:
            return f"{100 * a / b:5.1f}% ({a}/{b})" if b else "    - (0/0)"

        return f"{share(self.right, self.total)}  overlap {share(self.right_over, self.total_over)}"


def score(
    words: list[Word],
    turns: list[Turn],
    true: list[str | None],
    overlapped: Callable[[float], bool],
    pause: float,
) -> dict[str, Tally]:
    """Each rule's tally. A diarizer label is named after the source of most of its words said
    outside the overlap (where every rule agrees), so the rules share one naming."""
    labelled = {
        rule: assign_speakers(words, turns, overlap_rule=rule, pause=pause) for rule in RULES
    }
    votes: dict[str, dict[str, int]] = {}
    for w, t in zip(labelled["dominant"], true, strict=True):
        if t is not None and w.speaker is not None and not overlapped((w.start + w.end) / 2):
            votes.setdefault(w.speaker, {}).setdefault(t, 0)
            votes[w.speaker][t] += 1
    names = {label: max(v, key=lambda s: v[s]) for label, v in votes.items()}
    sources = {t for t in true if t is not None}
    for label in {w.speaker for w in labelled["dominant"]} - set(names):
        left = sources - set(names.values())  # a label heard only in the overlap
        names[label or ""] = sorted(left)[0] if left else "?"
    out = {}
    for rule, got in labelled.items():
        tally = Tally()
        for w, t in zip(got, true, strict=True):
            if t is None:
                continue
            ok = names.get(w.speaker or "", "?") == t
            tally.right += ok
            tally.total += 1
            if overlapped((w.start + w.end) / 2):
                tally.right_over += ok
                tally.total_over += 1
        out[rule] = tally
    return out


def recognised(
    case: str, sources: list[Source], options: TranscribeOptions, cache: Path | None
) -> tuple[dict[str, list[Word]], list[Word], list[Turn]]:
    """Each source's words (shifted to the mix), the mix's words and its turns; kept in
    ``cache`` (a folder) when given, so rules can be compared without recognising again."""
    slug = re.sub(r"[^a-z0-9]+", "-", case.lower())
    stored = cache / f"{slug}-{options.model}.json" if cache else None
    if stored is not None and stored.exists():
        data = json.loads(stored.read_text())
        return (
            {n: [Word(**w) for w in ws] for n, ws in data["sources"].items()},
            [Word(**w) for w in data["words"]],
            [Turn(**t) for t in data["turns"]],
        )
    by_source = {
        s.name: [
            w.model_copy(update={"start": w.start + s.offset, "end": w.end + s.offset})
            for w in transcribe(s.samples, options).words
        ]
        for s in sources
    }
    mix = mixed(sources)
    words = transcribe(mix, options).words
    turns = diarize_embedded(mix, num_speakers=len(sources))
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps({
            "sources": {n: [w.model_dump() for w in ws] for n, ws in by_source.items()},
            "words": [w.model_dump() for w in words],
            "turns": [dataclasses.asdict(t) for t in turns],
        }))  # fmt: skip
    return by_source, words, turns


def run_dev(
    options: TranscribeOptions, pause: float, verbose: bool, cache: Path | None = None
) -> None:
    totals = {rule: Tally() for rule in RULES}
    for case, sources in dev_cases().items():
        by_source, words, turns = recognised(case, sources, options, cache)
        true = truth(words, by_source)
        tallies = score(words, turns, true, both_speak(by_source), pause)
        for rule in RULES:
            totals[rule].add(tallies[rule])
        print(f"{case:24s} " + " | ".join(f"{r}: {tallies[r]}" for r in RULES), flush=True)
        if verbose:
            got = assign_speakers(words, turns, pause=pause)
            old = assign_speakers(words, turns, overlap_rule="dominant", pause=pause)
            for w, o, t in zip(got, old, true, strict=True):
                print(f"    {w.start:6.2f}-{w.end:6.2f} {w.text:14s} true={t} old={o.speaker} "
                      f"new={w.speaker}{' overlap' if w.overlap else ''}")  # fmt: skip
            for t in turns:
                print("    turn", t)
    print(f"{'dev, all':24s} " + " | ".join(f"{r}: {totals[r]}" for r in RULES))


def run_eval(options: TranscribeOptions, pause: float) -> None:
    """pyannote-sample: the .stm's lines (start, end, speaker, text) are the truth."""
    wav = DATA / "conversation" / "pyannote-sample.wav"
    by_source: dict[str, list[Word]] = {}
    for line in (DATA / "conversation" / "pyannote-sample.stm").read_text().splitlines():
        fields = line.split(maxsplit=5)  # file channel speaker start end text
        if len(fields) < 6 or line.startswith(";;"):
            continue
        start, end, speaker, text = float(fields[3]), float(fields[4]), fields[2], fields[5]
        tokens = text.split()
        step = (end - start) / max(len(tokens), 1)  # no word times in an .stm: spread evenly
        by_source.setdefault(speaker, []).extend(
            Word(text=tok, start=start + i * step, end=start + (i + 1) * step)
            for i, tok in enumerate(tokens)
        )
    audio = read(wav)
    words = transcribe(audio, options).words
    turns = diarize_embedded(audio, num_speakers=len(by_source))
    true = truth(words, by_source, within=2.0)  # the .stm's word times are only spread
    lines = [[(w.start, w.end) for w in ws] for ws in by_source.values()]

    def overlapped(at: float) -> bool:  # two speakers' .stm lines cover the instant
        return sum(any(a <= at <= b for a, b in spans) for spans in lines) > 1

    tallies = score(words, turns, true, overlapped, pause)
    print(f"{'pyannote-sample (eval)':24s} " + " | ".join(f"{r}: {tallies[r]}" for r in RULES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--split", choices=("dev", "eval"), default="dev")
    parser.add_argument("--pause", type=float, default=0.5)
    parser.add_argument("--cache", type=Path, help="folder keeping recognised words and turns")
    parser.add_argument("--verbose", action="store_true", help="print every word and turn")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"needs the shared recordings in {DATA} (or $PPOD_SHARED_DATA); absent here")
    options = TranscribeOptions(model=args.model)
    print(f"model {args.model}, pause {args.pause} s: share of scored words given the right voice")
    if args.split == "dev":
        run_dev(options, args.pause, args.verbose, args.cache)
    else:
        run_eval(options, args.pause)


if __name__ == "__main__":
    main()
