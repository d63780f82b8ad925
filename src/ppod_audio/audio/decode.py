"""Decoding any audio file into float32 numpy with the ffmpeg that imageio-ffmpeg ships.

Using one static ffmpeg (not a system package) means WAV, FLAC, MP3, M4A/AAC and OGG/Opus decode
the same way on every machine. Episodes are decoded in blocks (``decode_blocks``) so their length
never sets the memory needed; the 16 kHz mono copy the speech models read is a second decode of
the original file by ffmpeg's own resampler, not derived from the working-rate audio.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..defaults import SPEECH_RATE
from ..errors import InputError
from ..fileio import file_problem

log = logging.getLogger(__name__)

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
        problem = (
            "has no audio stream (a picture or video only)"
            if "Video: " in result.stderr and "Audio: " not in result.stderr
            else "is not an audio file, or is too damaged to read"
        )
        raise InputError(problem, path, "export it again as WAV, FLAC, MP3, M4A or OGG")
    layout = match.group("layout").strip()
    if layout == "mono":
        return 1
    digits = re.match(r"(\d+) channels", layout)
    return int(digits.group(1)) if digits else 2


@lru_cache(maxsize=16)
def _checked_audio(path: str, size: int, mtime_ns: int) -> int:
    """Decode the whole clip once per (path, size, mtime): damage anywhere shows up now."""
    frames = sum(block.shape[1] for block in decode_blocks(Path(path), SPEECH_RATE, 1))
    return frames


def check_audio(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` is a whole, readable audio file.

    For short show assets (the content warning) used by every episode: read through once per
    process, before any episode's audio work, so a corrupt clip stops the run at its start and
    a batch does not pay for it per episode.
    """
    problem = file_problem(path)
    if problem is not None:
        raise InputError(problem, path, "give a readable audio file")
    info = Path(path).stat()
    _checked_audio(str(Path(path).resolve()), info.st_size, info.st_mtime_ns)


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
    problem = file_problem(path)
    if problem is not None:
        fix = "check the file name" if problem == "does not exist" else "give a readable audio file"
        if problem.startswith("is empty"):
            fix = "record or export the file again"
        raise InputError(problem, path, fix)
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
            # ffmpeg's own words ("[flac @ 0x55d0] invalid residual") mean nothing to the user
            # and are not theirs to act on: logged for --debug, left out of the message.
            errors.seek(0)
            log.debug("ffmpeg on %s: %s", path, errors.read().decode(errors="replace").strip())
            if total == 0:
                problem = "is not an audio file, or is too damaged to read"
            else:
                problem = f"is damaged or truncated: it stops decoding after {total / rate:.1f} s"
            raise InputError(problem, path, "export it again or copy the recording again")
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
