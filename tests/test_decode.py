"""Decoding every container a studio hands over, and refusing broken files clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ffmpeg, voice, write_wav
from scipy.signal import correlate

from ppod_audio.audio.decode import decode, is_silent, require_sound
from ppod_audio.errors import InputError


@pytest.fixture(scope="module")
def speech_wav() -> Path:
    return voice("steve", 11.0)


@pytest.mark.parametrize(
    ("suffix", "codec_args", "rate", "channels"),
    [
        ("wav", ["-c:a", "pcm_s24le"], 48000, 2),
        ("flac", ["-c:a", "flac"], 96000, 1),
        ("mp3", ["-c:a", "libmp3lame", "-b:a", "128k"], 44100, 2),
        ("m4a", ["-c:a", "aac", "-b:a", "96k"], 32000, 1),
        ("ogg", ["-c:a", "libopus", "-b:a", "48k"], 48000, 2),
        ("wav", ["-c:a", "pcm_f32le"], 22050, 6),
    ],
)
def test_decodes_containers_rates_and_layouts(
    tmp_path: Path, speech_wav: Path, suffix: str, codec_args: list[str], rate: int, channels: int
) -> None:
    source = tmp_path / f"take.{suffix}"
    ffmpeg("-i", str(speech_wav), "-ar", str(rate), "-ac", str(channels), *codec_args, str(source))
    audio = decode(source, 44100)
    assert audio.rate == 44100
    assert audio.channels == (1 if channels == 1 else 2)  # more than two fold down to stereo
    assert audio.duration == pytest.approx(11.0, abs=0.15)
    reference = decode(speech_wav, 16000, 1).samples[0]
    speech = decode(source, 16000, 1).samples[0]
    n = min(len(reference), len(speech)) - 8000
    # The codec's delay, from the whole clip (a second of it can miss by a sample: 0.88 at the
    # wrong lag, 0.99 at the right one, for Opus).
    lag = int(np.argmax(correlate(speech, reference, "full", method="fft"))) - len(reference) + 1
    aligned = speech[max(lag, 0) : max(lag, 0) + n]
    correlation = np.corrcoef(aligned, reference[max(-lag, 0) : max(-lag, 0) + len(aligned)])[0, 1]
    assert correlation > 0.9, "decoded audio should be the same speech"


def _expect_input_error(path: Path, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        audio = decode(path, 44100)
        require_sound(audio, path)
    message = str(caught.value)
    assert str(path) in message and fragment in message
    assert caught.value.exit_code == 2
    assert "\n" not in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _expect_input_error(path, "empty")


def test_zero_length_audio(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "zero.wav", np.zeros(0, np.float32), 44100)
    _expect_input_error(path, "no audio")


def test_text_file_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are my notes for the episode, not audio\n" * 20)
    _expect_input_error(path, "not an audio file")


def test_truncated_flac(tmp_path: Path, speech_wav: Path) -> None:
    whole = tmp_path / "whole.flac"
    ffmpeg("-i", str(speech_wav), str(whole))
    cut = tmp_path / "cut.flac"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2] + b"\x00" * 7)
    _expect_input_error(cut, "truncated")


def test_silence_only(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(44100 * 3, np.float32), 44100)
    _expect_input_error(path, "silent")


def test_missing_file(tmp_path: Path) -> None:
    _expect_input_error(tmp_path / "nope.flac", "does not exist")


def test_decode_returns_writable_float32(speech_wav: Path) -> None:
    audio = decode(speech_wav, 44100, 1)
    assert audio.samples.dtype == np.float32
    assert audio.samples.flags.writeable and audio.samples.flags.c_contiguous
    audio.samples[0, 0] = 0.0  # its own array, not a read-only view of ffmpeg's output


def test_silence_threshold_is_minus_70_dbfs() -> None:
    assert is_silent(0.0)
    assert is_silent(10 ** (-70.1 / 20))
    assert not is_silent(10 ** (-69.9 / 20))
