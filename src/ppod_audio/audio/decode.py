"""Decoding any audio file into float32 numpy with the ffmpeg that imageio-ffmpeg ships.

Using one static ffmpeg (not a system package) means WAV, FLAC, MP3, M4A/AAC and OGG/Opus decode
the same way on every machine. Episodes are decoded in blocks (``decode_blocks``) so their length
never sets the memory needed; the 16 kHz mono copy the speech models read is a second decode of
the original file by ffmpeg's own resampler, not derived from the working-rate audio.
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
    return Audio(np.concatenate(blocks, axis=1, dtype=np.float32), rate)


def require_sound(audio: Audio, path: Path) -> None:
    require_peak(float(np.max(np.abs(audio.samples), initial=0.0)), path)


def is_silent(peak: float) -> bool:
    """A recording whose loudest sample is under -70 dBFS is a dead microphone, not an episode."""
    return peak < 10 ** (SILENCE_DBFS / 20)


def require_peak(peak: float, path: Path) -> None:
    if is_silent(peak):
        raise InputError(
            f"is silent (peak below {SILENCE_DBFS:.0f} dBFS)",
            path,
            "check the microphone was recording and the right file is listed",
        )
