"""Decoding any audio file into float32 numpy with the ffmpeg that imageio-ffmpeg ships.

Using one static ffmpeg (not a system package) means WAV, FLAC, MP3, M4A/AAC and OGG/Opus decode
the same way on every machine. Audio is decoded once, at the working rate, into an
``(channels, samples)`` array; the 16 kHz mono copy for speech models is derived from it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ..errors import InputError

SPEECH_RATE = 16000
SILENCE_DBFS = -70.0


@dataclass(frozen=True)
class Audio:
    """Float32 samples shaped ``(channels, samples)`` at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.rate

    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0) if self.channels > 1 else self.samples[0]


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_version() -> str:
    result = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, check=False)
    return result.stdout.splitlines()[0] if result.stdout else "unknown"


_STREAM = re.compile(
    r"Stream #\S+.*?: Audio: (?P<codec>[^,]+), (?P<rate>\d+) Hz, (?P<layout>[^,]+)"
)


def probe_channels(path: Path) -> int:
    """How many channels the first audio stream has (ffmpeg prints it; there is no ffprobe)."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = _STREAM.search(result.stderr)
    if match is None:
        raise InputError(
            "is not an audio file ffmpeg can read",
            path,
            "export it again as WAV, FLAC, MP3, M4A or OGG",
        )
    layout = match.group("layout").strip()
    if layout == "mono":
        return 1
    digits = re.match(r"(\d+) channels", layout)
    return int(digits.group(1)) if digits else 2


def channels_for(path: Path, channels: int | None) -> int:
    """``channels`` None keeps mono as mono and folds anything wider to stereo."""
    if channels is not None:
        return channels
    return 1 if probe_channels(path) == 1 else 2


def decode_blocks(
    path: Path, rate: int, channels: int | None = None, block_frames: int = 1 << 19
) -> Iterator[np.ndarray]:
    """Decode ``path`` at ``rate`` Hz as ``(channels, n)`` float32 blocks, streaming.

    Memory stays at one block whatever the recording's length. A damaged file raises
    :class:`InputError` after the blocks decoded so far, so callers write to temporary storage.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("does not exist", path, "check the file name in episode.toml")
    if path.stat().st_size == 0:
        raise InputError("is empty (0 bytes)", path, "record or export the file again")
    channels = channels_for(path, channels)
    command = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-xerror",
        "-i", str(path), "-map", "0:a:0", "-vn",
        "-ac", str(channels), "-ar", str(rate), "-f", "f32le", "-",
    ]  # fmt: skip
    frame_bytes = 4 * channels
    total = 0
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        assert process.stdout is not None
        try:
            while chunk := process.stdout.read(block_frames * frame_bytes):
                usable = len(chunk) - len(chunk) % frame_bytes
                if usable:
                    total += usable // frame_bytes
                    yield np.frombuffer(chunk[:usable], dtype="<f4").reshape(-1, channels).T
        finally:
            process.stdout.close()
            returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            reason = errors.read().decode(errors="replace").strip().splitlines()
            detail = reason[-1] if reason else "ffmpeg failed"
            raise InputError(
                f"is damaged or truncated and cannot be decoded ({detail})",
                path,
                "export or copy the recording again",
            )
    if total < rate // 100:  # under 10 ms
        raise InputError("contains no audio (zero length)", path, "check the recording")


def decode(path: Path, rate: int, channels: int | None = None) -> Audio:
    """Decode ``path`` into memory at ``rate`` Hz; ``channels`` None keeps mono, folds to two."""
    blocks = list(decode_blocks(path, rate, channels))
    return Audio(np.concatenate(blocks, axis=1).astype(np.float32, copy=True), rate)


def peak_dbfs(samples: np.ndarray) -> float:
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else -np.inf


def require_sound(audio: Audio, path: Path) -> None:
    if peak_dbfs(audio.samples) < SILENCE_DBFS:
        raise InputError(
            f"is silent (peak below {SILENCE_DBFS:.0f} dBFS)",
            path,
            "check the microphone was recording and the right file is listed",
        )


def to_speech_rate(audio: Audio) -> np.ndarray:
    """The 16 kHz mono float32 copy that speech recognition and diarization read."""
    mono = audio.mono().astype(np.float32)
    if audio.rate == SPEECH_RATE:
        return mono
    divisor = np.gcd(SPEECH_RATE, audio.rate)
    return resample_poly(mono, SPEECH_RATE // divisor, audio.rate // divisor).astype(np.float32)


def concatenate(parts: list[Audio]) -> Audio:
    """Join takes in order; a mono take joins stereo ones as centred stereo."""
    channels = max(part.channels for part in parts)
    rate = parts[0].rate
    blocks = [
        np.repeat(part.samples, channels, axis=0) if part.channels < channels else part.samples
        for part in parts
    ]
    return Audio(np.concatenate(blocks, axis=1), rate)
