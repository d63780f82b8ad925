"""The safeguarding review, measured: recall of inserted identifying items, flags on clean talk.

    python bench/eval_review.py [--split dev|eval|all] [--passages N] [--keep DIR [--reuse]]
                                [--no-cost]

Passages of the real episode's talk (``../shared/seed/ppod-s01e02-what-is-the-sscp.txt``) are
rendered with espeak-ng in the demo's three voices (as ``scripts/make_demo_episode.py`` renders
the demo). Every other passage gets one invented identifying sentence inserted between two of
its sentences: a child's name with an age, a family's street and town, a school, a phone number
read out, a postcode. Each identifying item is synthesised as its own clip, so its time in the
recording is known exactly; the rest of the passage is synthesised around it.

The whole pipeline (``ppod process``, the project's show.toml (its model) and its allow-list) then
runs on the recording (or, with ``--reuse``, its kept output is read), and the review is built
twice in this run from the published document: reading the words only (the rules before the
second hearing) and hearing the places where a name is said again in the published MP3
(``review._heard_again_hits``). For each the script prints:

* recall: inserted items that some review item overlaps (on the published clock, 0.3 s slack),
  per kind, and the items missed with what the recogniser heard there;
* flags per 10 minutes of clean talk: review items inside passages without insertions (the
  seed's own talk, where nothing needs redacting), scaled to 10 minutes, with the items listed;

and the CPU seconds of each review and of recognising the whole published MP3 again with the
show's model (the transcription they are compared with), measured in the same run.

Passages alternate dev/eval; the patterns were tuned on dev only, eval is for reporting.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from make_demo_episode import (  # noqa: E402
    JASMINE,
    REBECCA,
    STEVE,
    Speaker,
    espeak,
    speech_only,
    to_rate,
)

SEED_FILE = Path(
    __import__("os").environ.get("PPOD_SEED", REPO.parent / "shared" / "seed" /
                                 "ppod-s01e02-what-is-the-sscp.txt")
)  # fmt: skip
RATE = 44100
GAP_S = 0.45  # between sentences
PIECE_GAP_S = 0.08  # between the pieces of one sentence (around an inserted item)
SLACK_S = 0.3
VOICES = {"Steve Macabee": STEVE, "Jasmine Wark": JASMINE, "Rebecca Leggett": REBECCA}

FIRST = ["Kayleigh", "Tyler", "Connor", "Chloe", "Jayden", "Amber", "Mason", "Lily", "Ryan",
         "Ellie", "Callum", "Megan", "Bradley", "Jade", "Kieran", "Shannon"]  # fmt: skip
LAST = ["Thompson", "Jenkins", "Carter", "Barrett", "Hughes", "Fletcher", "Whitlock", "Brennan",
        "Pollard", "Sanderson", "Morgan", "Hayward", "Dawson", "Griffiths"]  # fmt: skip
STREETS = ["Hill Street", "Ashford Road", "Mill Lane", "Orchard Close", "Station Road",
           "Victoria Avenue", "Priory Way", "Church Lane"]  # fmt: skip
TOWNS = ["Bridgwater", "Taunton", "Yeovil", "Frome", "Minehead", "Chard", "Glastonbury",
         "Wellington", "Crewkerne", "Shepton Mallet"]  # fmt: skip
SCHOOLS = ["Oakfield Primary School", "Northgate Primary School", "Hillview Academy",
           "Saint Mary's Primary School", "Castle School", "Elmwood Academy"]  # fmt: skip
AGES = ["seven", "nine", "eleven", "fourteen", "six", "twelve"]
DIGITS = ["oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
POSTCODES = ["T A one two B X", "B A four seven Q N", "T A six three D R"]


@dataclass
class Item:
    kind: str
    text: str
    start: float = 0.0  # on the raw recording's clock, set when rendered
    end: float = 0.0


@dataclass
class Passage:
    speaker: str
    pieces: list[list[str | Item]]  # sentences; a sentence is text pieces and items
    split: str
    inserted: bool
    start: float = 0.0
    end: float = 0.0
    items: list[Item] = field(default_factory=list)


def seed_turns() -> list[tuple[str, str]]:
    """(speaker, text) for each turn of the seed transcript."""
    if not SEED_FILE.is_file():
        sys.exit(f"needs the seed transcript {SEED_FILE} (set PPOD_SEED)")
    turns: list[tuple[str, str]] = []
    speaker = None
    for line in SEED_FILE.read_text(encoding="utf-8").splitlines():
        header = re.match(r"^(Steve Macabee|Jasmine Wark|Rebecca Leggett) - ", line)
        if header:
            speaker = header.group(1)
            turns.append((speaker, ""))
        elif line.startswith("People on this episode"):
            break
        elif speaker and line.strip():
            turns[-1] = (speaker, (turns[-1][1] + " " + line.strip()).strip())
    return [turn for turn in turns if turn[1]]


def passages_of(turns: list[tuple[str, str]], words: int = 45) -> list[tuple[str, list[str]]]:
    """Turns cut into passages of whole sentences, about ``words`` words each."""
    out = []
    for speaker, text in turns:
        sentences = [s for s in re.split(r"(?<=[.?!])\s+", text) if s.strip()]
        current: list[str] = []
        for sentence in sentences:
            current.append(sentence)
            if sum(len(s.split()) for s in current) >= words:
                out.append((speaker, current))
                current = []
        if current and sum(len(s.split()) for s in current) >= 12:
            out.append((speaker, current))
    return out


def insertion(rng: random.Random, number: int) -> list[str | Item]:
    """One invented identifying sentence; its items are separate pieces (their times known)."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    town, street, school = rng.choice(TOWNS), rng.choice(STREETS), rng.choice(SCHOOLS)
    age = rng.choice(AGES)
    phone = "oh seven seven " + " ".join(rng.choice(DIGITS[1:]) for _ in range(8))
    forms: list[list[str | Item]] = [
        ["I remember working with", Item("name", f"{first} {last}"), "who was",
         Item("age", f"{age} years old"), "at the time."],
        ["The family lived on", Item("place", street), "in", Item("place", town), "."],
        ["Her little brother went to", Item("place", school), "in", Item("place", town), "."],
        ["If you need to reach the mum, her number is", Item("phone", phone), "."],
        ["The case involved", Item("name", f"{first} {last}"), "and her stepdad, from",
         Item("place", town), "."],
        ["They moved to a flat, the postcode was", Item("postcode", rng.choice(POSTCODES)),
         "and the school was never told."],
    ]  # fmt: skip
    return forms[number % len(forms)]


def build(split: str, count: int, rng: random.Random) -> list[Passage]:
    all_passages = passages_of(seed_turns())
    chosen = [p for i, p in enumerate(all_passages) if (i % 2 == 0) == (split == "dev")][:count]
    passages = []
    for i, (speaker, sentences) in enumerate(chosen):
        pieces: list[list[str | Item]] = [[s] for s in sentences]
        inserted = i % 2 == 0
        passage = Passage(speaker, pieces, split, inserted)
        if inserted:
            sentence = insertion(rng, i // 2)
            pieces.insert(max(1, len(pieces) // 2), sentence)
            passage.items = [piece for piece in sentence if isinstance(piece, Item)]
        passages.append(passage)
    return passages


def render(passages: list[Passage], path: Path) -> float:
    """Synthesise the passages in turn into one recording; set every time; its length."""
    pieces: list[np.ndarray] = [np.zeros(int(1.0 * RATE))]
    clock = 1.0

    def add(samples: np.ndarray, gap: float) -> tuple[float, float]:
        nonlocal clock
        start = clock
        pieces.append(samples)
        clock += len(samples) / RATE
        end = clock
        pieces.append(np.zeros(int(gap * RATE)))
        clock += int(gap * RATE) / RATE
        return start, end

    for passage in passages:
        voice: Speaker = VOICES[passage.speaker]
        passage.start = clock
        for sentence in passage.pieces:
            for n, piece in enumerate(sentence):
                last = n == len(sentence) - 1
                text = piece.text if isinstance(piece, Item) else piece
                if text.strip() in {"", "."}:
                    continue
                clip = to_rate(speech_only(espeak(text, voice)), RATE)
                start, end = add(clip, GAP_S if last else PIECE_GAP_S)
                if isinstance(piece, Item):
                    piece.start, piece.end = start, end
        passage.end = clock
        pieces.append(np.zeros(int(0.4 * RATE)))
        clock += int(0.4 * RATE) / RATE
    audio = np.concatenate(pieces)
    audio = audio / max(1e-9, np.abs(audio).max()) * 10 ** (-6 / 20)
    noise = np.random.default_rng(7).normal(0, 10 ** (-60 / 20), len(audio))
    sf.write(path, (audio + noise).astype(np.float32), RATE, subtype="PCM_16")
    return clock


def make_show(root: Path, slug: str, recording: Path) -> Path:
    root.mkdir(parents=True)
    for name in ("show.toml", "glossary.toml"):
        shutil.copy(REPO / "raw_audio" / name, root / name)
    shutil.copytree(REPO / "raw_audio" / "assets", root / "assets")
    shutil.copytree(REPO / "raw_audio" / "voices", root / "voices")
    folder = root / slug
    folder.mkdir()
    shutil.copy(recording, folder / recording.name)
    cast = "".join(f'\n[[speakers]]\nname = "{name}"\n' for name in VOICES)
    (folder / "episode.toml").write_text(
        f'title = "Review bench {slug}"\ninputs = ["{recording.name}"]\n{cast}', encoding="utf-8"
    )
    return folder


def evaluate(
    split: str, count: int, work: Path, reuse: bool = False, cost: bool = True
) -> dict[str, float]:
    from ppod_audio.pipeline import ProcessOptions, process_episode

    rng = random.Random(f"review-{split}")
    passages = build(split, count, rng)
    recording = work / f"review-{split}.wav"
    length = render(passages, recording)
    show = work / f"show-{split}"
    if reuse and show.is_dir():
        shutil.rmtree(show)
    folder = make_show(show, f"review-{split}", recording)
    out = work / f"out-{split}"
    if not (reuse and (out / folder.name / "report.json").is_file()):
        import time

        wall, cpu = time.perf_counter(), time.process_time()
        result = process_episode(folder, ProcessOptions(output_root=out))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if not result.ok:
            sys.exit(f"{folder}: {result.error}")
        # The whole pipeline's cost on this recording: wall (loaded machine) and CPU / 2 cores.
        print(f"{split}: model {result.report['speech']['model']}, {length / 60:.1f} min; "
              f"pipeline RTF wall {wall / length:.3f}, CPU/2 {cpu / 2 / length:.3f}; stages "
              + " ".join(f"{k}={v['seconds']:.0f}" for k, v in result.report["stages"].items()),
              flush=True)  # fmt: skip
    report = json.loads((out / folder.name / "report.json").read_text(encoding="utf-8"))
    shift = report["intro_offset"] - report["trimmed_start"]
    # The review, rebuilt from the published document and MP3 in this run, once reading the
    # words only (the rules before the second hearing) and once hearing the name's places
    # again; and, for the cost, the recording heard whole by the episode's model.
    reviews, costs = _reviews_and_costs(folder, out / folder.name, cost)
    document = json.loads((out / folder.name / "episode.json").read_text(encoding="utf-8"))
    words = [w for s in document["segments"] for w in s["words"]]

    def heard(start: float, end: float) -> str:
        return " ".join(w["text"] for w in words if w["end"] > start and w["start"] < end)

    print(f"\n=== {split}: {len(passages)} passages, {length / 60:.1f} min recorded ===")
    clean = [p for p in passages if not p.inserted]
    clean_seconds = sum(p.end - p.start for p in clean)
    figures: dict[str, float] = {}
    for name, review in reviews.items():
        found: dict[str, list[int]] = {}
        misses = []
        for passage in passages:
            for item in passage.items:
                start, end = item.start + shift - SLACK_S, item.end + shift + SLACK_S
                hit = [r for r in review.items if r.end > start and r.start < end]
                found.setdefault(item.kind, [0, 0])
                found[item.kind][0] += bool(hit)
                found[item.kind][1] += 1
                if not hit:
                    misses.append(f"  missed {item.kind:8} {item.text!r}: "
                                  f"heard {heard(start, end)!r}")  # fmt: skip
        in_clean = [r for r in review.items
                    if any(p.start + shift <= r.start < p.end + shift for p in clean)]  # fmt: skip
        hits = sum(v[0] for v in found.values())
        total = sum(v[1] for v in found.values())
        rate = len(in_clean) / max(clean_seconds, 1e-9) * 600
        print(f"\n--- {split}, {name} ---")
        print(f"recall of inserted identifying items: {hits}/{total} = "
              f"{hits / max(total, 1):.1%}")  # fmt: skip
        for kind, (ok, n) in sorted(found.items()):
            print(f"  {kind:9} {ok}/{n}")
        print("\n".join(misses))
        print(f"flagged in clean talk: {len(in_clean)} items in {clean_seconds / 60:.1f} min = "
              f"{rate:.1f} per 10 minutes")  # fmt: skip
        for r in in_clean:
            print(f"  {r.kind:12} {r.text!r}  ({r.why})")
        print(f"review items in all: {len(review.items)}")
        figures[f"{name} recall"], figures[f"{name} per_10_min"] = hits / max(total, 1), rate
    transcribe_cpu = costs["transcription"]

    def share(name: str) -> str:  # --no-cost: the whole recording was not heard again
        return f" ({costs[name] / transcribe_cpu:.1%} of it)" if transcribe_cpu > 0 else ""

    heard = f"transcription {transcribe_cpu:.1f}; " if transcribe_cpu > 0 else ""
    print(f"\nCPU seconds in this run ({length / 60:.1f} min recorded): {heard}" + "; ".join(
        f"review {name} {costs[name]:.1f}{share(name)}" for name in reviews))  # fmt: skip
    return figures


def _reviews_and_costs(
    folder: Path, published: Path, cost: bool = True
) -> tuple[dict, dict[str, float]]:
    """The review without and with the second hearing, and CPU seconds of each and of hearing
    the whole published MP3 with the show's model (the transcription they are compared with)."""
    import time

    from ppod_audio.audio.decode import decode
    from ppod_audio.config import load_episode, load_show
    from ppod_audio.pipeline import review_allow_list
    from ppod_audio.review import build_review, ner_model
    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe
    from ppod_audio.transcript.model import load_document

    show = load_show(folder.parent)
    manifest = load_episode(folder)
    roster = [s.name for s in manifest.speakers]
    allow = review_allow_list(show, manifest)
    document = load_document(published / "episode.json")
    mp3 = next(published.glob("*.mp3"))
    ner_model()  # loaded once, outside the timings (the pipeline loads it beside the speech)
    costs: dict[str, float] = {}
    reviews = {}
    for name, with_audio in (("words only (before)", False), ("heard again (after)", True)):
        cpu = time.process_time()
        audio = mp3 if with_audio else None  # as the pipeline gives it: the published MP3
        reviews[name] = build_review(document, roster, allow, audio=audio)
        costs[name] = time.process_time() - cpu
    cpu = time.process_time()
    if cost:
        transcribe(decode(mp3, 16000, 1).samples[0], TranscribeOptions(model=show.speech.model))
    costs["transcription"] = max(time.process_time() - cpu, 1e-9)
    return reviews, costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["dev", "eval", "all"], default="all")
    parser.add_argument("--passages", type=int, default=24, help="passages per split")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: rebuild only the review from the kept transcripts",
    )
    parser.add_argument(
        "--no-cost",
        action="store_true",
        help="skip hearing the whole recording again for the CPU comparison",
    )
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    splits = ["dev", "eval"] if args.split == "all" else [args.split]
    work = args.keep or Path(tempfile.mkdtemp(prefix="eval-review-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for split in splits:
            evaluate(split, args.passages, work, args.reuse, not args.no_cost)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
