"""Shared fixtures: real audio made from what the repository holds, or read from ../shared/data.

Two tiers of real speech:

* :func:`voice` and :func:`three_voices`: speech the project makes itself, from the demo's
  enrolment recordings tracked in ``raw_audio/`` (``scripts/make_demo_episode.py``, three
  espeak-ng voices). Every fast test uses these, so ``pytest -m "not slow"`` needs nothing but
  the repository.
* :func:`shared`: the recordings in ``../shared/data`` (human speech with reference text or
  turns), for the evaluation tier. A test that calls it must be marked ``@pytest.mark.shared``
  (checked here); such a test is also ``slow``, and skips with the reason when the data is absent.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ppod_audio.audio.decode import ffmpeg_exe

REPO = Path(__file__).resolve().parents[1]
RAW_AUDIO = REPO / "raw_audio"
DEMO = RAW_AUDIO / "demo-what-is-the-sscp"
SHARED_DATA = Path(os.environ.get("PPOD_SHARED_DATA", REPO.parent / "shared" / "data"))


def pyannote_installed() -> bool:
    """Whether the optional pyannote backend (``ppod-audio[pyannote]``) is importable here."""
    import importlib.util

    try:
        return importlib.util.find_spec("pyannote.audio") is not None
    except ImportError:  # no ``pyannote`` package at all
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The evaluation tier (``shared``) runs with the slow tier, never in the fast one.

    Tests marked ``pyannote`` need the optional extra: where it is not installed they are
    deselected, not skipped (an environment without an optional extra is not a gap in the
    suite; ``scripts/test`` runs them in ``.venv-pyannote``), and the run says so at its end.
    """
    for item in items:
        if item.get_closest_marker("shared") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
    if not pyannote_installed():
        extra = [item for item in items if item.get_closest_marker("pyannote")]
        if extra:
            items[:] = [item for item in items if not item.get_closest_marker("pyannote")]
            config.hook.pytest_deselected(items=extra)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not pyannote_installed():
        terminalreporter.write_line(
            "tests marked 'pyannote' deselected: pyannote.audio (an optional extra) is not "
            "installed here; scripts/test runs them in .venv-pyannote"
        )


_running: list[pytest.Item] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):  # type: ignore[no-untyped-def]
    _running[:] = [item]
    return (yield)


def shared(relative: str) -> Path:
    """A file from ../shared/data, or skip the test saying why.

    Only a test marked ``shared`` may ask: the fast tier must not depend on data outside the
    repository without saying so.
    """
    if _running and not _running[0].get_closest_marker("shared"):
        raise AssertionError(
            f"{_running[0].nodeid} reads ../shared/data ({relative}) but is not marked "
            "@pytest.mark.shared: use voice() or three_voices() instead"
        )
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs {path} (real speech from ../shared/data), which is absent here")
    return path


VOICES = ("steve", "jasmine", "rebecca")  # the demo's cast: raw_audio/.../enroll-<name>.flac
VOICE_RATE = 16000


@functools.cache
def _clips() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ppod-test-clips-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _voice_samples(name: str) -> np.ndarray:
    source = DEMO / "reference" / f"enroll-{name}.flac"  # tracked: a missing one is a failure
    samples, rate = soundfile.read(source, dtype="float32")
    assert rate == VOICE_RATE and samples.ndim == 1, source
    return samples


@functools.cache
def voice(name: str, seconds: float | None = None, offset: float = 0.0) -> Path:
    """``seconds`` (all when None) of one demo voice from ``offset``, as a 16 kHz mono WAV.

    Real speech the repository makes itself (about 17 s per voice, clean, three different
    talkers: "steve" a man, "jasmine" and "rebecca" women), for tests of decoding, cleaning,
    loudness and publishing that need speech, not any particular words.
    """
    samples = _voice_samples(name)
    start = int(offset * VOICE_RATE)
    stop = len(samples) if seconds is None else start + int(seconds * VOICE_RATE)
    assert stop <= len(samples), f"enroll-{name}.flac is shorter than {offset + (seconds or 0)} s"
    suffix = "all" if seconds is None else f"{offset:g}-{seconds:g}"
    return write_wav(_clips() / f"{name}-{suffix}.wav", samples[start:stop], VOICE_RATE)


THREE_VOICES_TURNS = [(0.5, 6.5, "jasmine"), (7.3, 13.3, "steve"), (14.1, 20.1, "rebecca")]


@functools.cache
def three_voices() -> Path:
    """A 20.6 s conversation of the three demo voices, 6 s each with 0.8 s of silence between
    (turns in :data:`THREE_VOICES_TURNS`), 16 kHz mono WAV: the repository's own stand-in for
    a short multi-speaker recording."""
    mix = np.zeros(int(20.6 * VOICE_RATE), np.float32)
    for start, end, name in THREE_VOICES_TURNS:
        piece = _voice_samples(name)[: int((end - start) * VOICE_RATE)]
        at = int(start * VOICE_RATE)
        mix[at : at + len(piece)] = piece
    return write_wav(_clips() / "three-voices.wav", mix, VOICE_RATE)


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args],
                   check=True)  # fmt: skip


def ebur128(path: Path) -> dict[str, float]:
    """Integrated loudness and true peak as ffmpeg's ebur128 filter measures them."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path),
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    integrated = float(summary.split("I:")[1].split("LUFS")[0])
    peak = float(summary.split("Peak:")[1].split("dBFS")[0])
    lra = float(summary.split("LRA:")[1].split("LU")[0])
    return {"integrated": integrated, "true_peak": peak, "lra": lra}


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    soundfile.write(path, samples.T if samples.ndim == 2 else samples, rate, subtype="PCM_16")
    return path


def read_mono(path: Path, rate: int = 16000) -> np.ndarray:
    from ppod_audio.audio.decode import decode

    return decode(path, rate, 1).samples[0]


def normalise(text: str) -> str:
    """Lower case, no punctuation but apostrophes, single spaces: WER on words, not style."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower().replace("-", " ")).split())


def make_show(root: Path) -> Path:
    """A show folder with the project's own show.toml, assets and glossary."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(RAW_AUDIO / "show.toml", root / "show.toml")
    shutil.copytree(RAW_AUDIO / "assets", root / "assets")
    if (RAW_AUDIO / "glossary.toml").exists():
        shutil.copy(RAW_AUDIO / "glossary.toml", root / "glossary.toml")
    return root


def make_episode(
    show_root: Path,
    name: str,
    files: dict[str, Path],
    manifest: str | None = None,
) -> Path:
    """An episode folder holding ``files`` (name -> source) and an episode.toml."""
    folder = show_root / name
    folder.mkdir(parents=True)
    for target, source in files.items():
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / target)
    if manifest is None:
        inputs = ", ".join(f'"{target}"' for target in files)
        manifest = f'title = "Test episode"\nseason = 1\nepisode = 7\ninputs = [{inputs}]\n'
    (folder / "episode.toml").write_text(manifest, encoding="utf-8")
    return folder


def without_noise_reduction(root: Path) -> Path:
    """The show's cleaning without noise reduction: DeepFilterNet is most of a short episode's
    processing time, and only tests/test_denoise.py (and the slow tier's pipeline runs) are
    about it. Returns ``root``."""
    show = root / "show.toml"
    text = show.read_text(encoding="utf-8")
    assert "[clean]\n" in text, "raw_audio/show.toml has no [clean] table"
    show.write_text(text.replace("[clean]\n", '[clean]\nnoise_reduction = "off"\n', 1))
    return root


@pytest.fixture
def show_root(tmp_path: Path) -> Path:
    """A show folder (:func:`make_show`) that cleans without noise reduction
    (:func:`without_noise_reduction`); a test about noise reduction makes its own."""
    return without_noise_reduction(make_show(tmp_path / "raw_audio"))


@pytest.fixture(scope="session")
def domain_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The domain evaluation set as ``bench/make_domain_set.py`` renders it (its ``dev`` and
    ``eval`` folders of passages), rendered once per session: the slow tests that recognise a
    passage each rendered all 86 of them again (about 2.4 s a time, ten times a run)."""
    import sys

    if shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng to speak the domain passages")
    sys.path.insert(0, str(REPO / "bench"))
    from make_domain_set import make

    folder = tmp_path_factory.mktemp("domain")
    make(folder)
    return folder


@pytest.fixture(scope="session")
def two_talkers(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[tuple[float, float, str]]]:
    """Real speech from two different people, the second 10 dB quieter, with known turn times.

    Each talker's clips are first brought to the same loudness, so the 10 dB is the only
    difference the leveller has to undo.
    """
    import pyloudnorm

    rate = 44100
    loud = [voice("steve", 6.0), voice("steve", 5.0, offset=6.0)]
    quiet = [voice("jasmine", 6.0), voice("jasmine", 5.0, offset=6.0)]
    meter = pyloudnorm.Meter(rate)

    def at(path: Path, lufs: float) -> np.ndarray:
        audio = read_mono(path, rate).astype(np.float64)
        return audio * 10 ** ((lufs - meter.integrated_loudness(audio)) / 20)

    pieces: list[np.ndarray] = [np.zeros(int(1.5 * rate))]
    turns: list[tuple[float, float, str]] = []
    cursor = len(pieces[0]) / rate
    for loud_clip, quiet_clip in zip(loud, quiet, strict=True):
        for clip, lufs, who in ((loud_clip, -23.0, "loud"), (quiet_clip, -33.0, "quiet")):
            audio = at(clip, lufs)
            pieces += [audio, np.zeros(int(0.6 * rate))]
            turns.append((cursor, cursor + len(audio) / rate, who))
            cursor += (len(audio) + int(0.6 * rate)) / rate
    mix = np.concatenate(pieces).astype(np.float32)
    noise = np.random.default_rng(7).normal(0, 10 ** (-62 / 20), len(mix)).astype(np.float32)
    path = tmp_path_factory.mktemp("two_talkers") / "two-talkers.wav"
    write_wav(path, mix + noise, rate)
    return path, turns


# --- a published episode for the editing tests (render, text folding, history, learn, editor) --


@pytest.fixture(scope="session")
def published_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo episode, processed once per session through the CLI (read-only)."""
    from click.testing import CliRunner

    from ppod_audio.cli import cli

    root = make_show(tmp_path_factory.mktemp("show") / "raw_audio")
    shutil.copytree(DEMO, root / DEMO.name)
    if (DEMO.parent / "voices").is_dir():
        shutil.copytree(DEMO.parent / "voices", root / "voices")
    out = root.parent / "output"
    result = CliRunner().invoke(cli, ["process", str(root / DEMO.name), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out / DEMO.name


# The editing fixtures' episodes skip RNNoise: 27 s of a 41 s run on 2 cores, and nothing an
# editing test looks at (tests/test_denoise.py tests it).
NO_NOISE_REDUCTION = '\n[overrides]\nclean = { noise_reduction = "off" }\n'
WORDS_SECONDS = 41.0  # the demo's first four turns (Steve, Jasmine, Steve, Rebecca)


def reference_words(until: float) -> list[tuple[str, float, float, str]]:
    """The demo's words as it was made to say them (reference.txt, turn by turn as in
    reference.rttm), each turn's words spread evenly over its span: (text, start, end, name)
    on the recording's clock, for the turns that end before ``until``."""
    reference = DEMO / "reference"
    blocks = (reference / "reference.txt").read_text(encoding="utf-8").strip().split("\n\n")
    paragraphs = [(blocks[i].split(" - ")[0], blocks[i + 1]) for i in range(0, len(blocks), 2)]
    turns = [line.split() for line in (reference / "reference.rttm").read_text().splitlines()]
    words = []
    for (name, text), turn in zip(paragraphs, turns, strict=True):
        start, length = float(turn[3]), float(turn[4])
        assert name.replace(" ", "_") == turn[7], (name, turn)
        if start + length > until:
            break
        said = text.split()
        step = length / len(said)
        words += [(w, start + i * step, start + (i + 0.8) * step, name) for i, w in enumerate(said)]
    return words


@pytest.fixture(scope="session")
def published_words(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's first 41 s published without speech recognition, then given the words it
    says (:func:`reference_words`) as its machine transcript (``episode.json`` and
    ``history/recognised.json``) and rendered: an episode to edit, fast (no model), with the
    demo's slug, manifest and cast. Read-only: tests copy it (:func:`copy_published`)."""
    from click.testing import CliRunner

    from ppod_audio.cli import cli
    from ppod_audio.edit.render import render_episode
    from ppod_audio.outputs import recognised_path
    from ppod_audio.transcript.model import Segment, Speaker, Word, document_json, load_document

    root = make_show(tmp_path_factory.mktemp("words") / "raw_audio")
    folder = root / DEMO.name
    folder.mkdir()
    manifest = (DEMO / "episode.toml").read_text(encoding="utf-8") + NO_NOISE_REDUCTION
    (folder / "episode.toml").write_text(manifest, encoding="utf-8")
    recording = str(folder / "recording.flac")
    ffmpeg("-i", str(DEMO / "recording.flac"), "-t", str(WORDS_SECONDS), recording)
    out = root.parent / "output"
    result = CliRunner().invoke(cli, ["process", str(folder), "-o", str(out), "--no-speech"])
    assert result.exit_code == 0, result.output
    episode = out / DEMO.name
    document = load_document(episode / "episode.json")
    report = json.loads((episode / "report.json").read_text(encoding="utf-8"))
    shift = report["intro_offset"] - report["trimmed_start"]  # recording -> published clock
    manifest = tomllib.loads((folder / "episode.toml").read_text(encoding="utf-8"))
    cast = [Speaker(id=f"S{i}", name=s["name"], role=s.get("role"))
            for i, s in enumerate(manifest["speakers"], 1)]  # fmt: skip
    ids = {s.name: s.id for s in cast}
    turns: list[list[Word]] = []
    for index, (text, start, end, name) in enumerate(reference_words(WORDS_SECONDS)):
        sure = 0.3 if index % 9 == 4 else 0.9  # one word in nine is one recognition doubted
        word = Word(text=text, start=start + shift, end=end + shift, speaker=ids[name],
                    probability=sure)  # fmt: skip
        if not turns or turns[-1][-1].speaker != word.speaker:
            turns.append([])
        turns[-1].append(word)
    spoken = [Segment(speaker=t[0].speaker, start=t[0].start, end=t[-1].end,
                      text=" ".join(w.text for w in t), words=t) for t in turns]  # fmt: skip
    machine = document.model_copy(
        update={"segments": [*document.segments, *spoken], "speakers": [*document.speakers, *cast]}
    )
    data = document_json(machine)
    (episode / "episode.json").write_text(data, encoding="utf-8")
    recognised_path(episode).parent.mkdir(exist_ok=True)
    recognised_path(episode).write_text(data, encoding="utf-8")
    render_episode(episode, machine)  # the text files are the machine's: nothing to keep
    assert [p.name for p in (episode / "history").iterdir()] == [recognised_path(episode).name]
    return episode


@pytest.fixture
def edit_episode(published_words: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`published_words` and its show, for a test that changes files."""
    return copy_published(published_words, tmp_path)


def fix_first_word(folder: Path, text: str) -> None:
    """An editor's correction: the first spoken word becomes ``text``, saved with its history."""
    from ppod_audio.edit.history import save_document
    from ppod_audio.transcript.model import load_document

    doc = load_document(folder / "episode.json")
    segment = doc.segments[1]
    segment.words[0].text = text
    segment.text = " ".join(w.text for w in segment.words)
    save_document(folder, doc)


def recurring_word(episode: Path) -> str:
    """A word the recogniser wrote at least twice in the demo: what an editor keeps fixing."""
    from collections import Counter

    from ppod_audio.transcript.model import load_document

    doc = load_document(episode / "episode.json")
    texts = [w.text for w in doc.words()]
    exact = Counter(texts)
    folded = Counter(t.strip(".,?!").lower() for t in texts)
    return next(
        word
        for word, n in exact.most_common()
        if n >= 2 and len(word) >= 7 and word.isalpha() and folded[word.lower()] == n
    )


# --- a short published episode without speech recognition (fast: no model) -------------------

SHORT = "short-episode"


@pytest.fixture(scope="session")
def published_short(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's first 30 s as an episode, processed once per session with ``--no-speech``
    (read-only: copy it with :func:`copy_published`). Its cache travels with it."""
    from click.testing import CliRunner

    from ppod_audio.cli import cli

    root = make_show(tmp_path_factory.mktemp("short") / "raw_audio")
    clip = root.parent / "clip.flac"
    ffmpeg("-i", str(DEMO / "recording.flac"), "-t", "30", str(clip))
    manifest = ('title = "A short episode"\nseason = 1\nepisode = 3\ninputs = ["clip.flac"]\n'
                '[[chapters]]\nstart = 12.0\ntitle = "The middle"\n')  # fmt: skip
    manifest += NO_NOISE_REDUCTION
    make_episode(root, SHORT, {"clip.flac": clip}, manifest)
    out = root.parent / "output"
    result = CliRunner().invoke(cli, ["process", str(root / SHORT), "-o", str(out), "--no-speech"])
    assert result.exit_code == 0, result.output
    return out / SHORT


def copy_published(published: Path, target: Path) -> Path:
    """A private copy of a published episode, its show and its cache under ``target``;
    report.json's ``source`` points at the copied show."""
    import json

    shutil.copytree(published.parents[1] / "raw_audio", target / "raw_audio")
    cache = published.parent / ".cache"
    if cache.is_dir():
        shutil.copytree(cache, target / "output" / ".cache")
    episode = shutil.copytree(published, target / "output" / published.name)
    report = json.loads((episode / "report.json").read_text(encoding="utf-8"))
    report["source"] = str(target / "raw_audio" / published.name)
    (episode / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return episode


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test instead of reaching out."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
