"""Full-rate audio kept on disk and read back in blocks, so memory does not grow with length.

An hour of 44.1 kHz stereo is 1.3 GB as float32; the pipeline holds it as a memory-mapped
file in the output's cache folder instead, and every full-rate stage (levelling, limiting,
encoding) walks it block by block. Only the 16 kHz mono copy the speech models need is held in
memory, and that is a tenth of the size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BLOCK_SECONDS = 10.0


@dataclass
class DiskAudio:
    """Float32 frames in a raw interleaved file: ``(channels, frames)`` at ``rate`` Hz."""

    path: Path
    channels: int
    rate: int
    start: int = 0
    stop: int | None = None

    def _map(self) -> np.ndarray:
        frames = self.path.stat().st_size // (4 * self.channels)
        return np.memmap(self.path, dtype="<f4", mode="r+", shape=(frames, self.channels))

    @property
    def frames(self) -> int:
        total = self.path.stat().st_size // (4 * self.channels)
        return (total if self.stop is None else self.stop) - self.start

    @property
    def duration(self) -> float:
        return self.frames / self.rate

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start:stop`` (relative to this view), clipped to it, as a new array."""
        start = max(0, start)
        stop = min(self.frames, stop)
        data = self._map()[self.start + start : self.start + max(start, stop)]
        return np.ascontiguousarray(data.T, dtype=np.float32)

    def write(self, start: int, samples: np.ndarray) -> None:
        mapped = self._map()
        mapped[self.start + start : self.start + start + samples.shape[1]] = samples.T
        mapped.flush()

    def view(self, start: int, stop: int) -> DiskAudio:
        return DiskAudio(self.path, self.channels, self.rate, self.start + start, self.start + stop)

    def blocks(self, seconds: float = BLOCK_SECONDS, align: int = 1) -> Iterator[tuple[int, int]]:
        """``(start, stop)`` frame ranges covering the audio; starts are multiples of ``align``."""
        size = max(align, int(seconds * self.rate) // align * align)
        for start in range(0, self.frames, size):
            yield start, min(self.frames, start + size)

    def load(self) -> np.ndarray:
        """The whole view in memory: for short clips and tests only."""
        return self.read(0, self.frames)


class DiskAudioWriter:
    """Appends ``(channels, n)`` blocks to a new raw float32 file."""

    def __init__(self, path: Path, channels: int, rate: int):
        self.audio = DiskAudio(Path(path), channels, rate)
        self.audio.path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = open(self.audio.path, "wb")  # noqa: SIM115 - closed in close()

    def append(self, block: np.ndarray) -> None:
        self._stream.write(np.ascontiguousarray(block.T, dtype="<f4").tobytes())

    def close(self) -> DiskAudio:
        self._stream.close()
        return self.audio
