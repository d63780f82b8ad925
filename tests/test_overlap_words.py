"""Who said a word where two people talk at once: two real talkers (the stereo file's channels,
mixed to mono as the pipeline hears them), recognised and diarized by the real models, and the
words the recogniser wrote in the overlap given to the talker who said them.

The figures over more mixes are ``bench/eval_word_speakers.py``'s (docs/diarization.md).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile
from conftest import shared

from ppod_audio.speech.turns import read_rttm, write_rttm


def _tokens(text: str) -> set[str]:
    return set(re.sub(r"[^a-z' ]", " ", text.lower()).split())


@pytest.mark.slow
@pytest.mark.shared
def test_words_said_in_an_overlap_go_to_the_talker_who_said_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The left talker's sentence runs on through 2 s where the right talker speaks too; the
    diarizer hears the right voice as the dominant one there, but the recogniser wrote the left
    talker's words ("against the wizard"): they go to the left talker, who says the end of the
    sentence alone, and stay flagged as crosstalk. Both voices are in the RTTM at once."""
    from ppod_audio.speech.diarize_embedded import diarize_embedded
    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe
    from ppod_audio.transcript.segments import assign_speakers

    path = shared("speech/stereo-two-talkers.wav")
    stereo, rate = soundfile.read(path, dtype="float32")
    assert rate == 16000 and stereo.shape[1] == 2
    mix = np.ascontiguousarray(stereo.mean(axis=1, dtype=np.float32))
    left = _tokens(path.with_suffix(".left.txt").read_text())
    right = _tokens(path.with_suffix(".right.txt").read_text())

    turns = diarize_embedded(mix, num_speakers=2)
    rttm = tmp_path / "stereo.rttm"
    write_rttm(turns, "stereo", rttm)
    listed = read_rttm(rttm)["stereo"]
    assert any(
        a.speaker != b.speaker and min(a.end, b.end) - max(a.start, b.start) > 1.0
        for i, a in enumerate(listed)
        for b in listed[i + 1 :]
    ), listed

    words = assign_speakers(transcribe(mix, TranscribeOptions(model="base")).words, turns)
    said_alone = [w for w in words if w.start > 3.0]  # the right talker stops by 2.5 s
    assert said_alone and len({w.speaker for w in said_alone}) == 1, said_alone
    left_voice = said_alone[0].speaker
    # The overlap's words only the left talker's text has ("the" is in both texts).
    theirs = [w for w in words if w.overlap and _tokens(w.text) and _tokens(w.text) <= left - right]
    assert len(theirs) >= 2, words
    assert [(w.text, w.speaker) for w in theirs] == [(w.text, left_voice) for w in theirs]
    assert all(w.model_dump(mode="json")["overlap"] is True for w in theirs)
