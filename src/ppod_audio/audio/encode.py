"""MP3 encoding by streaming blocks into the imageio-ffmpeg binary (libmp3lame, constant bit rate),
and measuring the result with ffmpeg's ebur128 filter.

Blocks go to ffmpeg's standard input as they are produced, so an hour-long episode never exists
as one array (pydub, which the design names for export, needs the whole programme in memory and
writes it out as a temporary WAV first; it still joins the content warning, see assemble.py).
The file is written to the temporary name the caller gives; the caller renames it into place.
ffmpeg writes no tags: mutagen writes all of them afterwards, in the version asked for.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from types import TracebackType

import numpy as np

from ..errors import ProcessingError, from_os_error
from .decode import decode, ffmpeg_exe
from .loudness import LoudnessStats


class PipeEncoder:
    """``with PipeEncoder(...) as encoder: encoder.write(block)``: ``(channels, n)`` float32
    blocks streamed into ffmpeg, which writes ``destination`` with the ``output`` options."""

    what = "encoding"  # the failure message's subject

    def __init__(self, destination: Path, *, rate: int, out_channels: int, output: list[str]):
        self.destination = Path(destination)
        self.out_channels = out_channels
        self.command = [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-f", "f32le", "-ar", str(rate), "-ac", str(out_channels), "-i", "pipe:0",
            *output, str(self.destination),
        ]  # fmt: skip

    def __enter__(self) -> PipeEncoder:
        self._errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stderr=self._errors)
        return self

    def write(self, block: np.ndarray) -> None:
        if self.out_channels > block.shape[0]:
            # Duplicated here: ffmpeg's own mono-to-stereo upmix lowers each channel by 3 dB.
            block = np.repeat(block, self.out_channels, axis=0)
        data = np.clip(block, -1.0, 1.0).T.astype("<f4").tobytes()
        assert self.process.stdin is not None
        # If ffmpeg stopped, its error is reported when the encoder is closed.
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(data)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        code = self.process.wait()
        self._errors.seek(0)
        message = self._errors.read().decode(errors="replace").strip()
        self._errors.close()
        if code != 0 and kind is None:
            if "No space left on device" in message:  # ffmpeg's write failed, not the encoder
                full = OSError(errno.ENOSPC, "No space left on device")
                raise from_os_error(full, self.destination.parent)
            raise ProcessingError(f"{self.what} failed: {message[-300:]}", self.destination)


class Mp3Encoder(PipeEncoder):
    """The published MP3: libmp3lame at a constant bit rate, no tags (mutagen writes them)."""

    what = "MP3 encoding"

    def __init__(
        self,
        destination: Path,
        *,
        rate: int,
        out_channels: int,
        bitrate_kbps: int,
        out_rate: int,
    ):
        super().__init__(destination, rate=rate, out_channels=out_channels, output=[
            "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-ar", str(out_rate),
            "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3",
        ])  # fmt: skip


def encode_mp3(
    samples: np.ndarray, destination: Path, *, rate: int, bitrate_kbps: int, channels: int
) -> None:
    """Encode an in-memory clip (the calibration tone, short tests)."""
    with Mp3Encoder(destination, rate=rate, out_channels=channels, bitrate_kbps=bitrate_kbps,
                    out_rate=rate) as encoder:  # fmt: skip
        encoder.write(samples)


@lru_cache(maxsize=8)
def encoder_gain_db(bitrate_kbps: int, sample_rate: int, channels: int) -> float:
    """How much louder (negative: quieter) the encoder's output decodes than its input.

    Measured here, ffmpeg's libmp3lame path returns a 1 kHz tone 0.45 dB quieter at 96-128 kb/s
    and 0.26 dB at 192 kb/s, whatever the programme. Calibrating once with a tone lets the first
    encode land on the loudness target instead of needing a second pass.
    """
    t = np.arange(2 * sample_rate) / sample_rate
    tone = (0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)[None, :]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tone.mp3"
        encode_mp3(tone, path, rate=sample_rate, bitrate_kbps=bitrate_kbps, channels=channels)
        decoded = decode(path, sample_rate, channels).samples[0]  # a downmix would add 3 dB
    middle = slice(int(0.5 * sample_rate), int(1.5 * sample_rate))
    ratio = np.sqrt(np.mean(decoded[middle] ** 2) / np.mean(tone[0, middle] ** 2))
    return float(20 * np.log10(ratio))


def measure_file(path: Path) -> LoudnessStats:
    """BS.1770 loudness, LRA, true and sample peak of a file, by ffmpeg's ebur128 filter.

    An independent implementation from the one that levelled the audio, and streaming: the
    published MP3 is checked as a listener's decoder will play it.
    """
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path),
         "-af", "ebur128=peak=sample+true", "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0 or "Summary:" not in result.stderr:
        raise ProcessingError("could not measure the encoded MP3", path)
    summary = result.stderr[result.stderr.rindex("Summary:") :]

    def value(section: str, label: str, unit: str) -> float:
        text = summary.split(section, 1)[1].split(label, 1)[1].split(unit, 1)[0].strip()
        return float("-inf") if text == "-inf" else float(text)

    return LoudnessStats(
        integrated_lufs=value("Integrated loudness:", "I:", "LUFS"),
        loudness_range_lu=value("Loudness range:", "LRA:", "LU"),
        true_peak_dbtp=value("True peak:", "Peak:", "dBFS"),
        sample_peak_dbfs=value("Sample peak:", "Peak:", "dBFS"),
    )
