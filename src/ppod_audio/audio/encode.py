"""MP3 encoding by streaming blocks into the imageio-ffmpeg binary (libmp3lame, constant bit rate),
and measuring the result with ffmpeg's ebur128 filter.

The published MP3 is measured as it is encoded: the encoder writes the same MP3 stream to the
file and to a pipe (ffmpeg's ``tee`` muxer), and a second ffmpeg decodes the pipe through
ebur128 meanwhile, on the other core. Measuring the file after encoding cost about as much
CPU again as the encode, and all of it came after (``bench/bench_master.py``).

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
from typing import Any

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
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stderr=self._errors,
                                        **self._popen_options())  # fmt: skip
        self._started()
        return self

    def _popen_options(self) -> dict[str, Any]:
        return {}

    def _started(self) -> None:
        """Hook for a subclass: the encoder is running."""

    def _finished(self, failed: bool) -> None:
        """Hook for a subclass: the encoder has exited (``failed``: it or the block raised)."""

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
        self._finished(code != 0 or kind is not None)
        self._errors.seek(0)
        message = self._errors.read().decode(errors="replace").strip()
        self._errors.close()
        if code != 0 and kind is None:
            if "No space left on device" in message:  # ffmpeg's write failed, not the encoder
                full = OSError(errno.ENOSPC, "No space left on device")
                raise from_os_error(full, self.destination.parent)
            raise ProcessingError(f"{self.what} failed: {message[-300:]}", self.destination)


# Samples of priming libmp3lame puts before the programme (LAME's 576 plus the decoder's 529,
# as ffmpeg records them in the Xing frame's gapless fields; in output samples at any rate).
ENCODER_DELAY = 1105


class Mp3Encoder(PipeEncoder):
    """The published MP3: libmp3lame at a constant bit rate, no tags (mutagen writes them).

    ``measure``: also measure the MP3 while it is encoded (see the module's docstring);
    ``measured`` then holds its figures once the encoder is closed, or None when it could not
    be measured that way (the caller measures the file: :func:`measure_file`).
    """

    what = "MP3 encoding"

    def __init__(
        self,
        destination: Path,
        *,
        rate: int,
        out_channels: int,
        bitrate_kbps: int,
        out_rate: int,
        measure: bool = False,
    ):
        codec = ["-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-ar", str(out_rate)]
        mp3 = ["-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3"]
        super().__init__(destination, rate=rate, out_channels=out_channels, output=[*codec, *mp3])
        self.measured: LoudnessStats | None = None
        # The tee muxer's slave list is its own little syntax: the file is named relative to
        # ffmpeg's working folder, and a name with one of its special characters is measured
        # afterwards instead of escaped.
        self._tee = measure and not set(self.destination.name) & set("[]|:\\'\"=;,")
        if self._tee:
            # The pipe's copy has no Xing frame (it could not be completed: a pipe cannot seek
            # back), so its decoder does not know to drop the encoder's priming: the meter
            # drops it (:data:`ENCODER_DELAY`), or its 400 ms blocks would fall on another grid
            # than a player's decode of the file and the figures move by a rounding step.
            slaves = (
                f"[f=mp3:id3v2_version=0:write_id3v1=0]{self.destination.name}|"
                "[f=mp3:write_xing=0:onfail=ignore]pipe:1"
            )
            self.command = [*self.command[: -1 - len(mp3)], "-map", "0:a", "-f", "tee", slaves]

    def _popen_options(self) -> dict[str, Any]:
        if not self._tee:
            return {}
        return {"stdout": subprocess.PIPE, "cwd": self.destination.parent}

    def _started(self) -> None:
        if not self._tee:
            return
        self._meter_errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _finished
        self._meter = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-f", "mp3", "-i", "pipe:0",
             "-af", f"atrim=start_sample={ENCODER_DELAY},ebur128=peak=sample+true",
             "-f", "null", "-"],
            stdin=self.process.stdout, stdout=subprocess.DEVNULL, stderr=self._meter_errors,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.process.stdout.close()  # the meter holds the pipe's reading end now

    def _finished(self, failed: bool) -> None:
        if not self._tee:
            return
        code = self._meter.wait()
        self._meter_errors.seek(0)
        report = self._meter_errors.read().decode(errors="replace")
        self._meter_errors.close()
        if not failed and code == 0:
            with contextlib.suppress(ProcessingError):
                self.measured = parse_ebur128(report)


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
    if result.returncode != 0:
        raise ProcessingError("could not measure the encoded MP3", path)
    try:
        return parse_ebur128(result.stderr)
    except ProcessingError as error:
        raise ProcessingError("could not measure the encoded MP3", path) from error


def parse_ebur128(report: str) -> LoudnessStats:
    """The figures in the summary ffmpeg's ``ebur128=peak=sample+true`` prints at the end."""
    if "Summary:" not in report:
        raise ProcessingError("ffmpeg's ebur128 printed no summary")
    summary = report[report.rindex("Summary:") :]

    def value(section: str, label: str, unit: str) -> float:
        text = summary.split(section, 1)[1].split(label, 1)[1].split(unit, 1)[0].strip()
        return float("-inf") if text == "-inf" else float(text)

    return LoudnessStats(
        integrated_lufs=value("Integrated loudness:", "I:", "LUFS"),
        loudness_range_lu=value("Loudness range:", "LRA:", "LU"),
        true_peak_dbtp=value("True peak:", "Peak:", "dBFS"),
        sample_peak_dbfs=value("Sample peak:", "Peak:", "dBFS"),
    )
