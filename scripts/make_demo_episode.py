"""Make the demo episode: a synthetic "raw studio recording" with its ground truth.

The real studio recordings cannot live in the repository, yet the pipeline needs a committed
episode that exercises every step end to end. This script synthesises an excerpt of The P Pod
season 1 episode 2 ("What is the SSCP?") with three espeak-ng voices and then deliberately
spoils it the way a real room does, so that each cleaning step has something to fix:

* room noise (pink, band-limited) at about -56 dBFS RMS, for the noise floor checks;
* a 43/50/57 Hz rumble plus a DC offset, for the high-pass filter;
* guests 8-10 dB quieter than the host, for per-speaker levelling;
* about 5 s of room tone at each end, for silence trimming;
* a low overall level (host peaks near -10 dBFS), for loudness normalisation.

Because the speech is synthesised turn by turn, the exact words and the exact time span of
each turn are known, and are written beside the audio as a reference transcript and an RTTM
file for scoring transcription and diarisation. Short clean clips of each voice saying other
sentences are written too, for enrolling speakers in the voice library.

Each voice's clean stem (its turns alone, at their places and gains, before the room is added)
is written to ``output/demo-stems/`` (not committed: 15 MB), so ``bench/eval_noise.py`` can
score the published audio against what was said (PESQ, STOI).

Run from the repository root: ``python scripts/make_demo_episode.py``. The output is
deterministic (fixed random seed) for a given espeak-ng version.
``python scripts/make_demo_episode.py --stems-only`` writes only the stems, leaving the committed
episode alone, and checks that they belong to it (the regenerated mix matches the recording).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from scipy.signal import butter, resample_poly, sosfilt

ROOT = Path(__file__).resolve().parent.parent
EPISODE_DIR = ROOT / "raw_audio" / "demo-what-is-the-sscp"
REFERENCE_DIR = EPISODE_DIR / "reference"
RTTM_FILE_ID = "recording"
STEMS_DIR = ROOT / "output" / "demo-stems"

SEED = 20240301
ESPEAK_RATE = 22050
RATE = 44100
ENROL_RATE = 16000

LEAD_IN_S = 5.2  # room tone before the first word
TAIL_S = 4.7  # room tone after the last word
GAP_RANGE_S = (0.3, 0.9)
HOST_PEAK_DBFS = -10.0
GUEST_OFFSET_DB = {"Jasmine Wark": -8.5, "Rebecca Leggett": -9.5}  # relative to the host's LUFS
ROOM_NOISE_DBFS = -56.5  # RMS of the room noise alone
RUMBLE = ((43.0, 0.0030), (50.0, 0.0045), (57.0, 0.0020))  # (Hz, peak amplitude)
DC_OFFSET = 0.01
MAX_RECORDING_BYTES = 12_000_000


@dataclass(frozen=True)
class Speaker:
    """One voice in the recording: who it is and how espeak-ng should say it."""

    name: str
    role: str
    voice: str
    wpm: int
    pitch: int

    @property
    def rttm_name(self) -> str:
        return self.name.replace(" ", "_")

    @property
    def first_name(self) -> str:
        return self.name.split()[0].lower()


STEVE = Speaker("Steve Macabee", "SSCP Multiagency Training Manager", "en-gb+m3", 155, 45)
JASMINE = Speaker("Jasmine Wark", "SSCP Business Manager", "en-us+f4", 160, 55)
REBECCA = Speaker(
    "Rebecca Leggett", "SSCP Partnership Business Officer", "en-gb-x-rp+klatt2", 150, 60
)
SPEAKERS = (STEVE, JASMINE, REBECCA)
HOST = STEVE

# The excerpt, edited from the seed transcript: the recogniser's errors are fixed ("PPod",
# "SCP", "factory partner", "CFP R", "non existential injury"), sentences it cut in two are
# joined, and long turns are shortened so the recording stays around three minutes.
TURNS: tuple[tuple[Speaker, str], ...] = (
    (
        STEVE,
        "Hello and welcome to the P Pod, the Partnership podcast from the Somerset Safeguarding "
        "Children Partnership. Today, with two of my colleagues from the business unit, we will "
        "explain what safeguarding children partnerships actually are. So Jasmine, can you just "
        "introduce yourself?",
    ),
    (
        JASMINE,
        "Of course. Hi, I'm Jasmine, and I'm the business manager for the Somerset Safeguarding "
        "Children Partnership.",
    ),
    (STEVE, "Lovely. Thanks, Jasmine. And Rebecca?"),
    (
        REBECCA,
        "Hi everyone, I'm Rebecca, and I am the partnership business officer for the SSCP.",
    ),
    (
        STEVE,
        "Brilliant, thank you. My name is Steve Macabee, and I'm the multi-agency training "
        "manager. So Jasmine, where do safeguarding children partnerships come from?",
    ),
    (
        JASMINE,
        "Our partnership has come into play since 2019, replacing the Safeguarding Children "
        "Board. The Working Together guidance published by the "
        "government in 2018 places equal responsibility across the partners to ensure that "
        "there are robust multi-agency safeguarding arrangements in the area.",
    ),
    (STEVE, "So who is actually part of the partnership?"),
    (
        JASMINE,
        "In Somerset, the partnership is led by three agencies: Somerset Council, Somerset "
        "Integrated Care Board, and Avon and Somerset Constabulary. But any organisation who "
        "works with children and families in Somerset is part of the partnership.",
    ),
    (
        STEVE,
        "It's interesting, because education wasn't included as a statutory partner, which "
        "caused a lot of debate at the time. But education isn't a single body. It's not a "
        "single agency.",
    ),
    (
        JASMINE,
        "Absolutely. And schools are still very much involved in our projects, initiatives and "
        "statutory responsibilities.",
    ),
    (
        STEVE,
        "So what happens when there's been a really significant safeguarding event?",
    ),
    (
        JASMINE,
        "If there is a serious incident, which would be defined as the death or serious injury "
        "of a child, then it's the duty of the local authority to notify the national panel, "
        "and start what we call a rapid review.",
    ),
    (
        STEVE,
        "People are often quite familiar with serious case reviews. What's the difference "
        "between a serious case review and a rapid review?",
    ),
    (
        JASMINE,
        "The key difference is time. A serious case review would often take many months to "
        "publish, but rapid reviews have to be undertaken within three weeks.",
    ),
    (
        STEVE,
        "And because we love acronyms, there's the CSPR, the child safeguarding practice "
        "review. When would we do one of those?",
    ),
    (
        JASMINE,
        "The criteria for a rapid review and a CSPR are exactly the same. But at the end of "
        "three weeks, you might be left with key questions that need a deeper dive, and that "
        "would be when a CSPR takes place.",
    ),
    (
        REBECCA,
        "I think it's also really important to recognise that a rapid review and a CSPR can "
        "highlight good practice. It's not always about system change.",
    ),
    (
        STEVE,
        "I think you're right. Rebecca, could you give an example of the data the partnership "
        "looks at?",
    ),
    (
        REBECCA,
        "For example, over the last couple of years we've seen non-accidental injuries to very "
        "young babies rising nationally, and we've seen some of those incidents in Somerset. "
        "So we look at when they happen, and put things in place to mitigate them.",
    ),
    (
        STEVE,
        "Brilliant. Thank you both so much for joining me today on the P Pod.",
    ),
)
# Chapter markers: the index of the turn where a new topic begins, and its title.
CHAPTERS: tuple[tuple[int, str], ...] = (
    (0, "Welcome and introductions"),
    (6, "Who makes up the partnership"),
    (10, "Learning reviews: rapid reviews and CSPRs"),
)
REQUIRED_WORDS = (
    "P Pod",
    "SSCP",
    "CSPR",
    "Somerset",
    "non-accidental injuries",
    "statutory partner",
)

# Sentences for the voice-library enrolment clips: none of them is spoken in the excerpt, so
# an enrolment clip never overlaps the audio it is later matched against.
ENROL_SENTENCES: dict[str, tuple[str, ...]] = {
    STEVE.name: (
        "Throughout these podcasts, we'll be bringing you news and updates in relation to "
        "safeguarding children in Somerset and nationally.",
        "We hope you found listening to today's podcast useful.",
        "So do come back for future episodes, where we'll be exploring further aspects of the "
        "partnership.",
    ),
    JASMINE.name: (
        "There's a multitude of ways you can get involved, and probably a first port of call "
        "would be our website.",
        "You can find out information about upcoming events, training and learning opportunities.",
        "Every part of the safeguarding system has a really important perspective to bring.",
    ),
    REBECCA.name: (
        "You can sign up to our newsletter, the learning bulletin.",
        "It's a monthly newsletter that will update you on publications and protocols.",
        "We'll have training opportunities in there, and articles from across the system.",
        "A lot of people want to understand what everyone else in the system does.",
    ),
}
ENROL_RANGE_S = (15.0, 20.0)

EPISODE_TOML = """\
title = "What is the SSCP? (demo excerpt)"
season = 1
episode = 2
date = "2024-03-01"
description = "{description}"
inputs = ["recording.flac"]
{speakers}{chapters}"""
DESCRIPTION = (
    "Training manager Steve Macabee talks with Jasmine Wark and Rebecca Leggett from the SSCP "
    "business unit about what a safeguarding children partnership is and how learning "
    "reviews work. A synthetic demo excerpt of season 1 episode 2."
)


def espeak(text: str, speaker: Speaker) -> np.ndarray:
    """Synthesise ``text`` in ``speaker``'s voice; float samples at espeak's 22.05 kHz."""
    program = shutil.which("espeak-ng")
    if program is None:
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    result = subprocess.run(
        [
            program,
            "-v",
            speaker.voice,
            "-s",
            str(speaker.wpm),
            "-p",
            str(speaker.pitch),
            "--stdout",
            text,
        ],
        check=True,
        capture_output=True,
    )
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float64")
    if rate != ESPEAK_RATE:
        sys.exit(f"espeak-ng produced {rate} Hz, expected {ESPEAK_RATE} Hz")
    return samples


def speech_only(samples: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Cut espeak's leading and trailing silence so a clip's length is its speech extent.

    The RTTM reference is then simply "where the clip was placed, for how long".
    """
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f) noise, band-limited to 20 Hz - 12 kHz like a quiet treated room."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    shape = np.zeros_like(freqs)
    band = (freqs >= 20) & (freqs <= 12_000)
    shape[band] = 1 / np.sqrt(freqs[band])
    noise = np.fft.irfft(spectrum * shape, n)
    return noise / np.sqrt(np.mean(noise**2))


def rumble(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains/HVAC-like low hum: a few 40-60 Hz sines, slowly wavering in level."""
    t = np.arange(n) / RATE
    out = np.zeros(n)
    for freq, amplitude in RUMBLE:
        phase = rng.uniform(0, 2 * np.pi)
        waver = 1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t + phase)
        out += amplitude * waver * np.sin(2 * np.pi * freq * t + phase)
    return out


def db(value: float) -> float:
    """Amplitude ratio to decibels."""
    return 20 * np.log10(value)


def lufs(samples: np.ndarray, rate: int = RATE) -> float:
    """Integrated loudness (BS.1770) of a mono signal."""
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


def to_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample espeak output (22.05 kHz) to ``rate`` with a polyphase filter."""
    divisor = np.gcd(rate, ESPEAK_RATE)
    return resample_poly(samples, rate // divisor, ESPEAK_RATE // divisor)


def check_script() -> None:
    """Refuse to build if the excerpt lost a word the pipeline's tests look for."""
    spoken = " ".join(text for _, text in TURNS)
    missing = [word for word in REQUIRED_WORDS if word not in spoken]
    if missing:
        sys.exit(f"the excerpt must contain {missing}")
    for name, sentences in ENROL_SENTENCES.items():
        for sentence in sentences:
            if sentence.rstrip(".") in spoken:
                sys.exit(f"enrolment sentence for {name} is in the excerpt: {sentence!r}")


def build_recording(
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[tuple[float, float]], dict[str, np.ndarray]]:
    """Lay the turns out on the timeline and add the room; return audio, turn spans (s) and
    each voice's clean stem (what the listener should hear of it)."""
    clips = [to_rate(speech_only(espeak(text, speaker)), RATE) for speaker, text in TURNS]

    # Host gain from its peak; guest gains from loudness, so the offset is what a listener
    # hears rather than what a peak meter shows.
    host_clips = [clip for clip, (speaker, _) in zip(clips, TURNS, strict=True) if speaker == HOST]
    host_gain = 10 ** (HOST_PEAK_DBFS / 20) / max(float(np.max(np.abs(c))) for c in host_clips)
    host_lufs = lufs(np.concatenate(host_clips) * host_gain)
    gains: dict[str, float] = {HOST.name: host_gain}
    for speaker in SPEAKERS:
        if speaker == HOST:
            continue
        own = np.concatenate([c for c, (s, _) in zip(clips, TURNS, strict=True) if s == speaker])
        gains[speaker.name] = 10 ** ((host_lufs + GUEST_OFFSET_DB[speaker.name] - lufs(own)) / 20)

    gaps = rng.uniform(*GAP_RANGE_S, size=len(TURNS) - 1)
    spans: list[tuple[float, float]] = []
    cursor = int(round(LEAD_IN_S * RATE))
    for index, clip in enumerate(clips):
        spans.append((cursor / RATE, clip.size / RATE))
        cursor += clip.size
        if index < len(gaps):
            cursor += int(round(gaps[index] * RATE))
    total = cursor + int(round(TAIL_S * RATE))

    stems = {speaker.name: np.zeros(total) for speaker in SPEAKERS}
    for (speaker, _), clip, (start, _) in zip(TURNS, clips, spans, strict=True):
        at = int(round(start * RATE))
        stems[speaker.name][at : at + clip.size] += clip * gains[speaker.name]

    # A gentle room colour on the voices (a 7 kHz low-pass), so they sound less like a
    # direct line-out than raw espeak does. Linear, so the stems sum to the speech exactly.
    colour = butter(2, 7000, btype="lowpass", fs=RATE, output="sos")
    stems = {name: sosfilt(colour, stem) for name, stem in stems.items()}
    speech = np.sum(list(stems.values()), axis=0)
    room = pink_noise(total, rng) * 10 ** (ROOM_NOISE_DBFS / 20)
    mix = speech + room + rumble(total, rng) + DC_OFFSET
    if np.max(np.abs(mix)) >= 1.0:
        sys.exit("the mix clips; lower HOST_PEAK_DBFS")
    return mix, spans, stems


def write_stems(stems: dict[str, np.ndarray]) -> None:
    """Each voice's clean stem as 24-bit FLAC in output/demo-stems/ (made on demand)."""
    STEMS_DIR.mkdir(parents=True, exist_ok=True)
    for name, stem in stems.items():
        path = STEMS_DIR / f"{name.split()[0].lower()}.flac"
        sf.write(path, stem, RATE, subtype="PCM_24", format="FLAC")
        print(f"wrote {path.relative_to(ROOT)}")


def stems_only() -> None:
    """Write the stems without touching the committed episode, after checking they are its."""
    check_script()
    mix, _, stems = build_recording(np.random.default_rng(SEED))
    committed, _ = sf.read(EPISODE_DIR / "recording.flac", dtype="float64")
    if committed.shape != mix.shape or np.max(np.abs(committed - mix)) > 2 / 32768:
        sys.exit("this espeak-ng makes a different recording from the committed one; "
                 "regenerate the episode (python scripts/make_demo_episode.py) first")  # fmt: skip
    write_stems(stems)


def write_episode_toml(path: Path, spans: list[tuple[float, float]]) -> list[tuple[float, str]]:
    """Write the manifest; chapter starts are the first speech of their opening turn."""
    speakers = "".join(f'\n[[speakers]]\nname = "{s.name}"\nrole = "{s.role}"\n' for s in SPEAKERS)
    chapters: list[tuple[float, str]] = []
    for turn, title in CHAPTERS:
        # The first chapter starts at 0 so that it covers the whole episode from the top;
        # later ones start a breath before their first word, rounded to 0.1 s.
        start = 0.0 if turn == 0 else np.floor((spans[turn][0] - 0.2) * 10) / 10
        chapters.append((float(start), title))
    chapter_text = "".join(
        f'\n[[chapters]]\nstart = {start:.1f}\ntitle = "{title}"\n' for start, title in chapters
    )
    path.write_text(
        EPISODE_TOML.format(description=DESCRIPTION, speakers=speakers, chapters=chapter_text),
        encoding="utf-8",
    )
    return chapters


def write_reference(spans: list[tuple[float, float]]) -> None:
    """Write reference.txt (the seed's house style) and reference.rttm (one line per turn)."""
    REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
    blocks = [f"{speaker.name} - {speaker.role}\n\n{text}\n" for speaker, text in TURNS]
    (REFERENCE_DIR / "reference.txt").write_text("\n".join(blocks), encoding="utf-8")
    lines = [
        f"SPEAKER {RTTM_FILE_ID} 1 {start:.3f} {duration:.3f} <NA> <NA> "
        f"{speaker.rttm_name} <NA> <NA>\n"
        for (speaker, _), (start, duration) in zip(TURNS, spans, strict=True)
    ]
    (REFERENCE_DIR / "reference.rttm").write_text("".join(lines), encoding="utf-8")


def write_enrolment_clips() -> dict[str, float]:
    """Write a clean 16 kHz clip of each voice saying sentences outside the excerpt."""
    durations: dict[str, float] = {}
    for speaker in SPEAKERS:
        pause = np.zeros(int(0.35 * ESPEAK_RATE))
        parts: list[np.ndarray] = [np.zeros(int(0.2 * ESPEAK_RATE))]
        for sentence in ENROL_SENTENCES[speaker.name]:
            parts += [speech_only(espeak(sentence, speaker)), pause]
        parts[-1] = np.zeros(int(0.2 * ESPEAK_RATE))
        clip = to_rate(np.concatenate(parts), ENROL_RATE)
        clip *= 10 ** (-3 / 20) / float(np.max(np.abs(clip)))
        duration = clip.size / ENROL_RATE
        if not ENROL_RANGE_S[0] <= duration <= ENROL_RANGE_S[1]:
            sys.exit(f"enrolment clip for {speaker.name} is {duration:.1f} s; edit its sentences")
        path = REFERENCE_DIR / f"enroll-{speaker.first_name}.flac"
        sf.write(path, clip, ENROL_RATE, subtype="PCM_16", format="FLAC")
        durations[speaker.name] = duration
    return durations


def main() -> None:
    """Build everything, then print the figures a reviewer would check by ear."""
    check_script()
    rng = np.random.default_rng(SEED)
    EPISODE_DIR.mkdir(parents=True, exist_ok=True)
    REFERENCE_DIR.mkdir(parents=True, exist_ok=True)

    mix, spans, stems = build_recording(rng)
    recording = EPISODE_DIR / "recording.flac"
    sf.write(recording, mix, RATE, subtype="PCM_16", format="FLAC")
    if recording.stat().st_size > MAX_RECORDING_BYTES:
        sys.exit(f"{recording} is {recording.stat().st_size} bytes; shorten the excerpt")
    chapters = write_episode_toml(EPISODE_DIR / "episode.toml", spans)
    write_reference(spans)
    enrol = write_enrolment_clips()
    write_stems(stems)

    # Measure the written file, not the float mix, so the figures include 16-bit rounding.
    audio, _ = sf.read(recording, dtype="float64")
    lead = audio[: int((LEAD_IN_S - 0.2) * RATE)]
    lead_ac = lead - lead.mean()
    highpassed = sosfilt(butter(4, 80, btype="highpass", fs=RATE, output="sos"), lead_ac)
    print(f"wrote {recording.relative_to(ROOT)} ({recording.stat().st_size} bytes)")
    print(f"duration: {audio.size / RATE:.2f} s, turns: {len(TURNS)}")
    words = sum(len(text.split()) for _, text in TURNS)
    print(f"words: {words}, speech: {sum(d for _, d in spans):.1f} s")
    print(f"peak: {db(float(np.max(np.abs(audio)))):.1f} dBFS, DC offset: {lead.mean():+.4f}")
    print(
        f"lead-in floor: {db(float(np.sqrt(np.mean(lead_ac**2)))):.1f} dBFS RMS "
        f"(rumble included), {db(float(np.sqrt(np.mean(highpassed[RATE:] ** 2)))):.1f} dBFS RMS "
        "after an 80 Hz high-pass"
    )
    for speaker in SPEAKERS:
        turns = [
            audio[int(round(s * RATE)) : int(round((s + d) * RATE))]
            for (who, _), (s, d) in zip(TURNS, spans, strict=True)
            if who == speaker
        ]
        level = lufs(np.concatenate(turns) - DC_OFFSET)
        peak = db(float(np.max(np.abs(np.concatenate(turns) - DC_OFFSET))))
        print(
            f"  {speaker.name:16s} {len(turns):2d} turns  {level:6.1f} LUFS  peak {peak:6.1f} dBFS"
        )
    for start, title in chapters:
        print(f"chapter {start:6.1f} s  {title}")
    for name, duration in enrol.items():
        print(f"enrolment clip {name}: {duration:.1f} s at {ENROL_RATE} Hz")


if __name__ == "__main__":
    if sys.argv[1:] == ["--stems-only"]:
        stems_only()
    elif sys.argv[1:]:
        sys.exit("usage: python scripts/make_demo_episode.py [--stems-only]")
    else:
        main()
