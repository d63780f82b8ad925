"""Make the domain evaluation set: the show's own words, spoken, with their reference text.

    python bench/make_domain_set.py [--out build/domain-set]

The shared real-speech set (``../shared/data``) has none of this show's vocabulary — no cast
names, no "SSCP", "CSPR" or "rapid review" — so it cannot say whether recognition (or a
correction after it) gets the words that matter to this show right. This script renders other
passages of the seed transcript (``../shared/seed/ppod-s01e02-what-is-the-sscp.txt``: the
introductions, learning reviews, data, the newsletter and the sign-off; none of the demo
excerpt's sentences) the way the demo was made (``scripts/make_demo_episode.py``): espeak-ng
voices, but other ones and at other speeds and pitches, with a quiet room under them.

Passages alternate between ``dev`` (for choosing settings and thresholds) and ``eval`` (for
reporting only); ``DEV_ONLY``'s passages, added later for causes eval showed and dev lacked,
are dev only, in four voice settings each, numbered after the others, and ``DEV_MORE``'s
(added for the same reason, issue 12 again) after those, then both again in the two voices
recognised least surely (``UNSURE_VOICES``). The recogniser's
errors in the seed are fixed in the text ("SCP", "factory partner", "CFP R"), so each
passage's text is exactly what is spoken: its reference.

Written, not committed (audio is generated on demand and is deterministic for an espeak-ng
version): ``<out>/<split>/<NN>-<speaker>.wav`` (16 kHz mono, 16-bit) with ``.txt`` beside it,
and ``<out>/passages.json`` listing every passage with its speaker, voice and split.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from make_demo_episode import Speaker, espeak, speech_only, to_rate  # noqa: E402

RATE = 16000
DEFAULT_OUT = REPO / "build" / "domain-set"
SEED = 20261130
NOISE_DBFS = -55.0  # RMS of the room under the voices
PEAK_DBFS = -3.0
PAD_S = 0.4

STEVE, JASMINE, REBECCA = "Steve Macabee", "Jasmine Wark", "Rebecca Leggett"
ROLES = {
    STEVE: "SSCP Multiagency Training Manager",
    JASMINE: "SSCP Business Manager",
    REBECCA: "SSCP Partnership Business Officer",
}
# Two voices per person, neither the demo's (en-gb+m3 155/45, en-us+f4 160/55,
# en-gb-x-rp+klatt2 150/60): passages alternate between them.
VOICES: dict[str, tuple[Speaker, Speaker]] = {
    STEVE: (
        Speaker(STEVE, ROLES[STEVE], "en-gb+m1", 165, 40),
        Speaker(STEVE, ROLES[STEVE], "en-gb-x-gbcwmd+m4", 150, 50),
    ),
    JASMINE: (
        Speaker(JASMINE, ROLES[JASMINE], "en-gb+f3", 170, 62),
        Speaker(JASMINE, ROLES[JASMINE], "en-gb-x-rp+f2", 150, 58),
    ),
    REBECCA: (
        Speaker(REBECCA, ROLES[REBECCA], "en-us+f2", 158, 66),
        Speaker(REBECCA, ROLES[REBECCA], "en-gb-scotland+f5", 145, 55),
    ),
}

# Passages of the seed, its recognition errors fixed; even positions are dev, odd are eval.
PASSAGES: tuple[tuple[str, str], ...] = (
    (
        STEVE,
        "Hello and welcome to the P Pod. The Partnership podcast from the Somerset Safeguarding "
        "Children Partnership. Throughout these podcasts, we'll be bringing you news and updates "
        "in relation to safeguarding children in Somerset and nationally.",
    ),
    (
        STEVE,
        "I'm joined in the studio today by two of my colleagues from the business unit, Jasmine "
        "Wark and Rebecca Leggett. My name is Steve Macabee, and I'm the multi-agency training "
        "manager for the SSCP.",
    ),
    (
        REBECCA,
        "Hi everyone, I'm Rebecca Leggett, and I am the partnership business officer for the "
        "SSCP. In quality assurance, I get the opportunity to run focus groups with frontline "
        "practitioners.",
    ),
    (
        JASMINE,
        "Of course. Hi, I'm Jasmine Wark, and I'm the business manager for the Somerset "
        "Safeguarding Children Partnership. The business unit isn't the partnership: we work "
        "for the partnership.",
    ),
    (
        JASMINE,
        "In Somerset, the partnership is led by three agencies. Those are Somerset Council, "
        "Somerset Integrated Care Board, and Avon and Somerset Constabulary.",
    ),
    (
        STEVE,
        "The government didn't include education as a statutory partner, which caused a lot of "
        "debate at the time of Working Together. Education isn't a single body.",
    ),
    (
        JASMINE,
        "You may have heard of serious case reviews. If there is a serious incident in "
        "Somerset, it's the duty of the local authority to notify the national panel, and "
        "start what we call a rapid review.",
    ),
    (
        STEVE,
        "I think people are often quite familiar with serious case reviews. Jasmine, could you "
        "summarise the difference between a serious case review and a rapid review?",
    ),
    (
        JASMINE,
        "A serious case review would often take many months to publish. The approach with rapid "
        "reviews is that they have to be undertaken within three weeks.",
    ),
    (
        STEVE,
        "And because we love acronyms, there's the CSPR. What's the difference between a rapid "
        "review and a child safeguarding practice review?",
    ),
    (
        JASMINE,
        "The criteria for a rapid review and a CSPR are exactly the same. But even a CSPR has a "
        "six month deadline, so no reviews take two or three years any more.",
    ),
    (
        JASMINE,
        "There are different approaches to undertaking a CSPR. You can have thematic CSPRs, "
        "which look at more than one child and the trends across the incidents.",
    ),
    (
        REBECCA,
        "I think it's also really important to recognise that a rapid review and a CSPR can "
        "highlight good practice that agencies are showing.",
    ),
    (
        REBECCA,
        "Over the last couple of years we've seen non-accidental injuries rising nationally, "
        "and we might look at this through the quality and performance subgroup of the SSCP.",
    ),
    (
        STEVE,
        "Rebecca, in terms of picking up on those themes, how does the work you do around the "
        "data get fed into the work of the Somerset Safeguarding Children Partnership?",
    ),
    (
        REBECCA,
        "You can sign up to our newsletter, the Learning Bulletin. We'll have outcomes from the "
        "rapid reviews, and articles from across the multi-agency system.",
    ),
    (
        STEVE,
        "Thank you, Jasmine Wark and Rebecca Leggett. If you'd like to find out more about the "
        "SSCP, or would like to join us for a future episode of the P Pod, get in touch.",
    ),
    (
        JASMINE,
        "Safeguarding is everyone's responsibility. Every part of the safeguarding system, from "
        "Avon and Somerset Constabulary to our schools, has a really important perspective.",
    ),
)

# More dev passages, added after the eval figures showed causes the dev passages above lacked:
# the long name and "Learning Bulletin" said more often, "rapid reviews" in the plural, by every
# voice. Seed sentences (its recognition errors fixed, lightly joined where the seed runs on),
# none of them an eval passage's. Each is rendered in both of its speaker's voices, then in the
# first faster and lower and the second slower and higher: dev only, after the passages above,
# so those keep their numbers, voices and noise.
DEV_ONLY: tuple[tuple[str, str], ...] = (
    (
        STEVE,
        "If you'd like to find out more about the Somerset Safeguarding Children Partnership, "
        "you can find details by going to our website.",
    ),
    (
        JASMINE,
        "Some of that might be through speaking directly to practitioners, like through "
        "podcasts, our Learning Bulletin and training.",
    ),
    (
        STEVE,
        "I think that's the other big shift with the rapid reviews and child safeguarding "
        "practice reviews. It's not about finding fault.",
    ),
    (
        JASMINE,
        "You can find the learning activity that we might have undertaken through rapid "
        "reviews or CSPRs on our website.",
    ),
    (
        REBECCA,
        "Every part of the Somerset Safeguarding Children Partnership can write for the "
        "Learning Bulletin, to understand what our partners do.",
    ),
    (
        STEVE,
        "It doesn't all just come from a rapid review. How does the Somerset Safeguarding "
        "Children Partnership look at the bigger picture?",
    ),
)


# A second batch of dev passages (issue 12 again), added when eval still showed causes dev had
# too few of: a term's one word heard as another word barely like it ("rapid" heard right, the
# next word not), and correct words the recogniser was unsure of, which shading must leave
# alone. Seed sentences again (its errors fixed, lightly joined), none of them an eval
# passage's nor like one, each rendered in four voice settings chosen before any was heard:
# the speaker's two voices slower and lower, then faster and higher, and the other two
# speakers' first voices (:data:`MORE_SETTINGS`). Dev only, numbered after ``DEV_ONLY``'s.
DEV_MORE: tuple[tuple[str, str], ...] = (
    (
        JASMINE,
        "If you meet the criteria for a rapid review, you may well meet the criteria for a "
        "CSPR. But there's a difference between them.",
    ),
    (
        JASMINE,
        "A rapid review takes three weeks to submit. Any action you're taking after a rapid "
        "review is taking a deeper look at the learning.",
    ),
    (
        REBECCA,
        "The Learning Bulletin is a monthly newsletter that will update you on publications "
        "and on the protocols that might come into place.",
    ),
    (
        STEVE,
        "We will explain what safeguarding children partnerships actually are, and the role of "
        "the business unit of the partnership.",
    ),
    (
        JASMINE,
        "The working together guidance that was published by the government gave us this new "
        "idea of safeguarding partnerships.",
    ),
    (
        STEVE,
        "We hope you found listening to today's podcast useful, and thank you for joining us "
        "as well. Do come back for future episodes.",
    ),
)
MORE_SETTINGS = ((0, -20, -8), (1, +20, +8))  # (voice, wpm change, pitch change)
# The two voices base and tiny.en were least sure of while hearing them right (on the dev
# passages above: about a fifth of the correct words under 0.6, against 8 % overall), so that
# shading is chosen on enough such words: ``DEV_ONLY``'s and ``DEV_MORE``'s sentences again in
# each, where not already rendered in it, numbered after ``DEV_MORE``'s.
UNSURE_VOICES = (VOICES[REBECCA][1], VOICES[STEVE][1])


@dataclass(frozen=True)
class Passage:
    """One rendered passage: where it is, who says it in which voice, and its split."""

    name: str
    split: str
    speaker: str
    voice: str
    wpm: int
    pitch: int
    text: str
    seconds: float


def render(speaker: Speaker, text: str, rng: np.random.Generator) -> np.ndarray:
    """The passage in ``speaker``'s voice at 16 kHz, padded, levelled, over a quiet room."""
    clip = to_rate(speech_only(espeak(text, speaker)), RATE)
    clip *= 10 ** (PEAK_DBFS / 20) / float(np.max(np.abs(clip)))
    pad = np.zeros(int(PAD_S * RATE))
    audio = np.concatenate([pad, clip, pad])
    noise = rng.standard_normal(audio.size)
    noise = np.convolve(noise, np.ones(8) / 8, mode="same")  # duller than white, like a room
    noise *= 10 ** (NOISE_DBFS / 20) / np.sqrt(np.mean(noise**2))
    return audio + noise


def _write_if_changed(path: Path, audio: np.ndarray) -> None:
    """Write the passage unless the same samples are there already: an unchanged file keeps its
    mtime, so eval_domain.py's recognition cache (keyed by size and mtime) stays valid."""
    if path.is_file():
        there, rate = sf.read(path, dtype="int16")
        pcm = np.clip(np.round(audio * 32768), -32768, 32767).astype(np.int16)
        if rate == RATE and there.shape == pcm.shape and np.abs(there - pcm).max() <= 1:
            return
    sf.write(path, audio, RATE, subtype="PCM_16")


def make(out: Path) -> list[Passage]:
    rng = np.random.default_rng(SEED)
    passages: list[Passage] = []
    uses: dict[str, int] = {}
    plan: list[tuple[str, Speaker, str]] = []  # (split, voice, text) in order
    for number, (person, text) in enumerate(PASSAGES, start=1):
        variant = uses.get(person, 0) % 2
        uses[person] = uses.get(person, 0) + 1
        plan.append(("dev" if number % 2 else "eval", VOICES[person][variant], text))
    for person, text in DEV_ONLY:
        plan += [("dev", voice, text) for voice in VOICES[person]]
    for person, text in DEV_ONLY:  # and once more, the first voice faster and lower
        voice = VOICES[person][0]
        plan.append(("dev", replace(voice, wpm=voice.wpm + 20, pitch=voice.pitch - 10), text))
    for person, text in DEV_ONLY:  # and the second slower and higher
        voice = VOICES[person][1]
        plan.append(("dev", replace(voice, wpm=voice.wpm - 15, pitch=voice.pitch + 10), text))
    for person, text in DEV_MORE:
        for variant, faster, higher in MORE_SETTINGS:
            voice = VOICES[person][variant]
            plan.append(("dev", replace(voice, wpm=voice.wpm + faster, pitch=voice.pitch + higher),
                         text))  # fmt: skip
        others = [VOICES[other][0] for other in VOICES if other != person]
        plan += [("dev", replace(voice, name=person, role=ROLES[person]), text) for voice in others]
    for person, text in DEV_ONLY + DEV_MORE:
        for voice in UNSURE_VOICES:
            if not any(v.voice == voice.voice and v.wpm == voice.wpm and t == text
                       for _, v, t in plan):  # fmt: skip
                plan.append(("dev", replace(voice, name=person, role=ROLES[person]), text))
    for number, (split, speaker, text) in enumerate(plan, start=1):
        person = speaker.name
        audio = render(speaker, text, rng)
        name = f"{number:02d}-{person.split()[0].lower()}"
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        _write_if_changed(folder / f"{name}.wav", audio)
        text_path = folder / f"{name}.txt"
        if not text_path.is_file() or text_path.read_text(encoding="utf-8") != text + "\n":
            text_path.write_text(text + "\n", encoding="utf-8")
        passages.append(
            Passage(name, split, person, speaker.voice, speaker.wpm, speaker.pitch, text,
                    round(audio.size / RATE, 2))
        )  # fmt: skip
    listing = {
        "cast": [{"name": name, "role": role} for name, role in ROLES.items()],
        "passages": [asdict(p) for p in passages],
    }
    (out / "passages.json").write_text(json.dumps(listing, indent=1) + "\n", encoding="utf-8")
    return passages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    passages = make(args.out)
    for split in ("dev", "eval"):
        chosen = [p for p in passages if p.split == split]
        words = sum(len(p.text.split()) for p in chosen)
        seconds = sum(p.seconds for p in chosen)
        print(f"{split}: {len(chosen)} passages, {words} words, {seconds:.1f} s")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
