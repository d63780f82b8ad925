"""Real recognition with the embedded tiny.en on a short public-domain clip."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import normalise, shared

from ppod_audio.speech.models import DEFAULT_MODEL
from ppod_audio.speech.transcribe import (
    BATCH_THRESHOLD_S,
    TranscribeOptions,
    pick_compute_type,
    prompt_arguments,
    transcribe,
)


def test_compute_type_follows_device():
    assert pick_compute_type("auto", "cpu") == "int8"
    assert pick_compute_type("auto", "cuda") == "float16"
    assert pick_compute_type("float32", "cpu") == "float32"


def test_prompt_arguments():
    terms = ("P Pod", "SSCP", "SSCP")
    assert prompt_arguments(terms, "none") == {}
    assert prompt_arguments(terms, "hotwords") == {"hotwords": "P Pod, SSCP"}
    assert prompt_arguments(terms, "initial_prompt") == {"initial_prompt": "Glossary: P Pod, SSCP."}


@pytest.mark.shared
@pytest.mark.slow
def test_jfk_words():
    import jiwer
    import soundfile

    jfk = shared("speech/jfk.wav")
    audio, rate = soundfile.read(jfk, dtype="float32")
    assert rate == 16000
    result = transcribe(audio, TranscribeOptions(cpu_threads=2))
    duration = audio.shape[0] / rate

    reference = normalise(jfk.with_suffix(".txt").read_text())
    assert jiwer.wer(reference, normalise(result.text)) < 0.15

    words = result.words
    assert len(words) > 15
    assert all(w.text == w.text.strip() and w.text for w in words)
    assert all(0.0 <= w.start <= w.end <= duration for w in words)
    pairs = zip(words, words[1:], strict=False)
    assert all(a.start <= b.start and a.end <= b.end + 1e-6 for a, b in pairs)
    assert all(0.0 <= w.probability <= 1.0 for w in words)
    assert any(w.text.endswith((",", ".")) for w in words)  # punctuation stays attached

    info = result.info
    assert info.model == DEFAULT_MODEL and info.model_verified and info.language == "en"
    assert info.compute_type in ("int8", "float16") and not info.batched
    assert abs(info.duration - duration) < 1e-6 and info.real_time_factor > 0


@pytest.mark.shared
@pytest.mark.slow
def test_batched_path_keeps_word_timestamps():
    import soundfile

    audio, _ = soundfile.read(shared("speech/jfk.wav"), dtype="float32")
    long = np.concatenate([audio, np.zeros(16000, np.float32)] * 6)  # 72 s
    assert len(long) / 16000 > BATCH_THRESHOLD_S  # long enough that batching could apply
    # Batched decoding is off unless asked for, on every device.
    assert TranscribeOptions().batched is False
    assert not transcribe(long, TranscribeOptions(cpu_threads=2)).info.batched
    result = transcribe(long, TranscribeOptions(cpu_threads=2, batched=True))
    assert result.info.batched
    assert len(result.words) > 60
    assert all(0.0 <= w.start <= w.end <= result.info.duration for w in result.words)
    assert result.words[-1].start > 60


def test_rejects_stereo():
    from ppod_audio.errors import InputError

    with pytest.raises(InputError, match="mono"):
        transcribe(np.zeros((2, 16000), np.float32))
