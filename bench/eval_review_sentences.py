"""The safeguarding review on single sentences: names and places the recogniser does not know.

    python bench/eval_review_sentences.py [--model tiny.en] [-v]

``bench/eval_review.py`` measures the review on a whole episode, but its inserted items come
from a few sentence forms. These sentences say invented names and West Country places in other
ways ("a girl called ...", "we spoke with ... and his foster carer", "sent from ... to stay"),
in the demo's three espeak-ng voices; each is recognised alone (``transcribe``, the project's
speech model) and reviewed with the show's cast and allow-list, reading the words only and
hearing the name's places again in the sentence's audio. Printed for each: the identifying
sentences with a review item (recall), and the items flagged in the sentences that identify
nobody (false flags). Written while the unsure-word rules were made, so it is a tuning set too,
not a held-out one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from make_demo_episode import JASMINE, REBECCA, STEVE, espeak, speech_only, to_rate  # noqa: E402

from ppod_audio.review import build_review  # noqa: E402
from ppod_audio.speech.transcribe import TranscribeOptions, transcribe  # noqa: E402
from ppod_audio.transcript.model import (  # noqa: E402
    EpisodeDocument,
    EpisodeInfo,
    Speaker,
    segment_from_words,
)

CAST = ["Steve Macabee", "Jasmine Wark", "Rebecca Leggett"]
# (sentence, True when it identifies someone)
SENTENCES = [
    ("I worked with a girl called Tamsin Pridham, she was nine at the time.", True),
    ("The case involved Kerys Alcott and her stepdad, who drank a lot.", True),
    ("We met Oliver Nankivell and his mum at the hospital that week.", True),
    ("Her brother lived in Wiveliscombe with their nan for a while.", True),
    ("The family moved from Dulverton last spring, and nobody followed up.", True),
    ("I was working with Demelza Trevithick and her grandad on the plan.", True),
    ("A boy named Kit Halloran told his teacher what had happened.", True),
    ("Then we spoke with Ffion Carbery and her dad about the referral.", True),
    ("A girl called Lowenna Tregear was moved to a foster placement.", True),
    ("The review involved Jago Penhallow, who was fifteen, and his older sister.", True),
    ("Her social worker had been working with Morwenna Jory for about a year.", True),
    ("They were living in Porlock at the time, in a caravan.", True),
    ("The school was told that Tegan Vosper and her mum had moved away.", True),
    ("We later spoke with Aled Brimblecombe and his foster carer.", True),
    ("The baby was taken to Musgrove Park Hospital that night.", True),
    ("Her nan lived in Watchet, near the harbour.", True),
    ("The little boy, named Elowen Chynoweth, was known to the police.", True),
    ("He was sent from Williton to stay with relatives.", True),
    ("We were involved in the review from the very start.", False),
    ("I worked with schools and health visitors across the county.", False),
    ("She called a meeting with the designated safeguarding lead.", False),
    ("Children who live in poverty need more help from all of us.", False),
    ("The practitioner spoke with the child and her mum about the plan.", False),
    ("We have been working with partners in education and health.", False),
    ("A multi agency meeting was called to look at the learning.", False),
    ("The boy and his dad were seen by the GP the next day.", False),
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("-v", action="store_true", help="print every sentence as heard")
    args = parser.parse_args()
    import tomllib

    allow = tomllib.loads((REPO / "raw_audio" / "show.toml").read_text())["safeguarding"]["allow"]
    voices = [STEVE, JASMINE, REBECCA]
    counts = {name: [0, 0, 0, 0] for name in ("words only", "heard again")}  # found, total...
    for n, (text, identifying) in enumerate(SENTENCES):
        audio = to_rate(speech_only(espeak(text, voices[n % 3])), 16000).astype(np.float32)
        silence = np.zeros(8000, np.float32)
        audio = np.concatenate([silence, audio, silence])
        words = transcribe(audio, TranscribeOptions(model=args.model, cpu_threads=2)).words
        for word in words:
            word.speaker = "s1"
        document = EpisodeDocument(
            episode=EpisodeInfo(slug="sentences", title="Sentences", show="The P Pod"),
            audio="sentences.mp3",
            duration=len(audio) / 16000,
            speakers=[Speaker(id="s1", name=voices[n % 3].name)],
            segments=[segment_from_words(words, "s1")] if words else [],
            model=args.model,
        )
        heard = " ".join(f"{w.text}[{w.probability or 0:.2f}]" for w in words)
        for name, samples in (("words only", None), ("heard again", audio)):
            items = build_review(document, CAST, allow, audio=samples).items
            count = counts[name]
            count[0] += identifying and bool(items)
            count[1] += identifying
            count[2] += 0 if identifying else len(items)
            count[3] += not identifying
            if args.v or (identifying and not items) or (not identifying and items):
                mark = "hit " if identifying and items else "MISS" if identifying else "FLAG"
                print(f"{name}: {mark} {text}\n     heard: {heard}\n     items: "
                      f"{[(i.kind, i.text, i.why) for i in items]}")  # fmt: skip
    for name, (found, total, false, clean) in counts.items():
        print(f"model {args.model}, {name}: identifying sentences with an item {found}/{total}; "
              f"items in the {clean} sentences identifying nobody: {false}")  # fmt: skip


if __name__ == "__main__":
    main()
