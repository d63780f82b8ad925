"""Voice library storage, and naming diarized clusters from enrolled voices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
