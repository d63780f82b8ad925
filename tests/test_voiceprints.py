"""Voice library storage, and naming diarized clusters from enrolled voices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import shared

from ppod_audio.errors import InputError
from ppod_audio.speech import voiceprints as vp


def _tone_voice(seed: int) -> np.ndarray:
    """Two seconds of a harmonic buzz: not speech, but enough to embed deterministically."""
    t = np.arange(32000) / 16000
    f0 = 110 + 40 * seed
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
    return (0.1 * wave / np.max(np.abs(wave))).astype(np.float32)


def test_enroll_list_remove_roundtrip(tmp_path: Path) -> None:
    library = tmp_path / "voices"
    assert vp.list_voices(library) == []
    made = vp.enroll(library, "Steve Macabee", [_tone_voice(0), _tone_voice(0)])
    vp.enroll(library, "Jasmine Wark", [_tone_voice(2)])
    assert made.slug == "steve-macabee" and made.clips == 2
    assert (library / "steve-macabee.npz").exists()
    assert not list(library.glob(".*"))  # no temporary file left beside the voiceprints
    voices = vp.list_voices(library)
    assert [v.name for v in voices] == ["Jasmine Wark", "Steve Macabee"]
    assert np.allclose(voices[1].embedding, made.embedding)
    assert np.isclose(np.linalg.norm(made.embedding), 1.0, atol=1e-5)
    vp.remove(library, "steve macabee")
    assert [v.name for v in vp.list_voices(library)] == ["Jasmine Wark"]
    with pytest.raises(InputError, match="no voice named"):
        vp.remove(library, "Nobody")


def test_list_voices_skips_unfinished_writes(tmp_path: Path) -> None:
    """A half-written temporary (named as atomic_path names it) is not a broken voiceprint."""
    vp.enroll(tmp_path, "Jasmine Wark", [_tone_voice(2)])
    (tmp_path / ".steve-macabee.abc123.tmp.npz").write_bytes(b"half a voiceprint")
    assert [v.name for v in vp.list_voices(tmp_path)] == ["Jasmine Wark"]


def test_name_clusters_is_a_joint_assignment() -> None:
    """Both clusters are closest to A, yet only one may be A: the pair maximising the sum wins."""

    def print_(name: str, vector: list[float]) -> vp.Voiceprint:
        e = np.asarray(vector, dtype=np.float32)
        e /= np.linalg.norm(e)
        return vp.Voiceprint(name, vp.slugify(name), e, e[None], 0.0, 1.0)

    prints = [print_("A", [1, 0, 0]), print_("B", [0, 1, 0]), print_("C", [0, 0, 1])]
    clusters = {"S0": np.array([0.9, 0.1, 0.0]), "S1": np.array([0.7, 0.6, 0.0])}
    assert vp.name_clusters(clusters, prints, None, 0.3) == {"S0": "A", "S1": "B"}
    assert vp.name_clusters(clusters, prints, ["a", "c"], 0.3) == {"S0": "A"}
    assert vp.name_clusters(clusters, prints, None, 0.999) == {}


@pytest.mark.slow
def test_demo_clusters_get_their_names_from_the_shipped_voiceprints() -> None:
    """The demo cast's prints (raw_audio/voices, made from separate enrolment clips) name the
    three diarized voices of the demo episode, each with a clear margin."""
    from conftest import DEMO, RAW_AUDIO, read_mono

    from ppod_audio.speech.diarize_embedded import diarize_embedded

    audio = read_mono(DEMO / "recording.flac")
    turns = diarize_embedded(audio, num_speakers=3)
    embeddings = vp.cluster_embeddings(audio, turns)
    prints = vp.list_voices(RAW_AUDIO / "voices")
    names = vp.name_clusters(embeddings, prints, None)
    assert names == {
        "SPEAKER_00": "Steve Macabee",
        "SPEAKER_01": "Jasmine Wark",
        "SPEAKER_02": "Rebecca Leggett",
    }
    similarity = vp.similarity_matrix(embeddings, prints)
    assert similarity.max(axis=1).min() > 0.75


def test_a_voiceprint_of_another_encoder_is_refused(tmp_path: Path) -> None:
    """A print from before CAM++ (format 1: resemblyzer's 256-d GE2E, no encoder recorded) lives
    in another space: loading it must fail with one line that says to enrol again, never
    compare it with CAM++ clusters."""
    old = tmp_path / "steve-macabee.npz"
    vector = np.full(256, 1 / 16, dtype=np.float32)
    np.savez(old, version=np.int64(1), name=np.str_("Steve Macabee"), embedding=vector,
             clip_embeddings=vector[None], enrolled_at=np.float64(0),
             seconds=np.float64(9))  # fmt: skip
    with pytest.raises(InputError) as caught:
        vp.list_voices(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and str(old) in message
    assert "ge2e-resemblyzer" in message
    assert 'ppod voices enroll "Steve Macabee"' in message
    made = vp.enroll(tmp_path / "new", "Jasmine Wark", [_tone_voice(2)])
    assert made.encoder == vp.ENCODER_ID
    assert vp.get_voice(tmp_path / "new", "Jasmine Wark").encoder == vp.ENCODER_ID


def test_the_demo_cast_voiceprints_are_current() -> None:
    """The voiceprints shipped with the demo load (were made with today's encoder)."""
    from conftest import RAW_AUDIO

    prints = vp.list_voices(RAW_AUDIO / "voices")
    assert [p.name for p in prints] == ["Jasmine Wark", "Rebecca Leggett", "Steve Macabee"]
    assert all(p.encoder == vp.ENCODER_ID for p in prints)


# --- enrolment from a published episode ------------------------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from ppod_audio.cli import cli

    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_clean_turns_are_the_longest_clear_of_other_speakers() -> None:
    spans = [(0.0, 5.0), (6.0, 8.0), (10.0, 30.0), (31.0, 32.5), (40.0, 46.0)]
    others = [(4.9, 6.2)]  # touches the first two: both are left out
    assert vp.clean_turns(spans, others) == [(10.25, 29.75), (40.25, 45.75)]
    # Longest first until the budget is spent, returned in time order; short leftovers dropped.
    assert vp.clean_turns(spans, others, max_seconds=10.0) == [(10.25, 29.75)]
    assert vp.clean_turns(spans, others, min_turn=6.0) == [(10.25, 29.75)]


def test_enroll_from_a_folder_that_is_no_episode(tmp_path: Path) -> None:
    (tmp_path / "show.toml").write_text("")
    code, output = _cli("voices", "enroll", "Jo", "--from", str(tmp_path), "--speaker", "Speaker 1",
                        "--show", str(tmp_path))  # fmt: skip
    assert code == 2
    assert output.strip().splitlines() == [
        f"Error: {tmp_path}: no episode.json here: not a published episode — give the "
        "episode's output folder, e.g. output/<episode>"
    ]
    assert not (tmp_path / "voices").exists()
    code, output = _cli("voices", "enroll", "Jo", "--from", str(tmp_path), "--show", str(tmp_path))
    assert code == 2 and "--from takes --speaker NAME" in output


@pytest.mark.shared
@pytest.mark.slow
def test_enroll_from_a_published_episode(tmp_path: Path) -> None:
    """katie-steve through the real pipeline with two listed people and nothing to name them
    by: "Speaker 1" and "Speaker 2". Each is enrolled from the published episode; each print
    matches its own cluster, and one of the two voices' separate enrolment recordings, better
    than the other; re-processing then puts the enrolled names on those clusters."""
    import json

    from conftest import make_episode, make_show

    from ppod_audio.cache import Cache
    from ppod_audio.speech.stage import SpeechResult

    dialogue = shared("conversation/katie-steve.wav")
    show = make_show(tmp_path / "raw_audio")
    manifest = 'title = "Talk"\ninputs = ["talk.wav"]\n[[speakers]]\nname = "Ann"\n' \
               '[[speakers]]\nname = "Bo"\n'  # fmt: skip
    folder = make_episode(show, "talk", {"talk.wav": dialogue}, manifest)
    out = tmp_path / "output"
    code, output = _cli("process", str(folder), "-o", str(out))
    assert code == 0, output
    episode = out / "talk"
    report = json.loads((episode / "report.json").read_text())
    unnamed = {c: n["name"] for c, n in report["naming"].items()}
    assert sorted(unnamed.values()) == ["Speaker 1", "Speaker 2"]

    code, output = _cli("voices", "enroll", "Ann", "--from", str(episode), "--speaker", "No One",
                        "--show", str(show))  # fmt: skip
    assert code == 2 and "no speaker 'No One' in this episode" in output
    for person, speaker in (("Ann", "Speaker 1"), ("Bo", "speaker 2")):
        code, output = _cli("voices", "enroll", person, "--from", str(episode), "--speaker",
                            speaker, "--show", str(show))  # fmt: skip
        assert code == 0, output
        assert f"enrolled {person} from" in output
    prints = {v.name: v for v in vp.list_voices(show / "voices")}
    cluster_of = {name: cluster for cluster, name in unnamed.items()}
    own = {"Ann": cluster_of["Speaker 1"], "Bo": cluster_of["Speaker 2"]}

    # Each print is closer to its own cluster's voice than to the other cluster's.
    speech = SpeechResult.from_cache(Cache(out / ".cache"), report["keys"]["speech"])
    assert speech is not None
    clusters = {c: np.asarray(v) for c, v in speech.embeddings.items()}
    similarity = vp.similarity_matrix(clusters, [prints["Ann"], prints["Bo"]])
    for column, person in enumerate(("Ann", "Bo")):
        assert list(clusters)[int(np.argmax(similarity[:, column]))] == own[person]

    code, output = _cli("process", str(folder), "-o", str(out))
    assert code == 0, output
    again = json.loads((episode / "report.json").read_text())
    assert {c: (n["name"], n["by"]) for c, n in again["naming"].items()} == {
        own["Ann"]: ("Ann", "voiceprint"),
        own["Bo"]: ("Bo", "voiceprint"),
    }
