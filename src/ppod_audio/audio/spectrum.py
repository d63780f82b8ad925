"""Power spectra of a mono stream in fixed Hann frames, fed in blocks of any size.

Two measurements of the cleaning stage's first pass need the programme's long-term spectrum:
the hum detector (1 s frames, for 1 Hz bins) and the low-mid meter (about 85 ms frames). The
stream arrives in blocks that do not line up with the frames, so the part of a block that does
not fill a frame is carried into the next: any block size gives the same frames.
"""

from __future__ import annotations

import numpy as np


class FramedPower:
    """Cuts a stream into non-overlapping Hann frames of ``size`` samples and gives each whole
    frame's power spectrum (``size // 2 + 1`` bins)."""

    def __init__(self, size: int):
        self.size = size
        self.window = np.hanning(size).astype(np.float32)
        self.rest = np.zeros(0, np.float32)

    def add(self, mono: np.ndarray) -> np.ndarray:
        """The power spectra (frames x bins) of the frames ``mono`` completes."""
        data = np.concatenate([self.rest, mono.astype(np.float32)])
        count = data.size // self.size
        self.rest = data[count * self.size :]
        frames = data[: count * self.size].reshape(count, self.size) * self.window
        return np.abs(np.fft.rfft(frames, axis=1)) ** 2
