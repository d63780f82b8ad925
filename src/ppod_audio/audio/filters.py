"""A fixed IIR filter applied block after block as if to the whole recording.

The cleaning stage streams audio in blocks (memory flat with length), and three of its filters
(the high-pass, the hum notches, the low-mid cut) are second-order sections whose state must
carry from one block to the next, or every block edge would click. One class holds that state,
so each filter is only its design.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import sosfilt, sosfilt_zi


class StreamingFilter:
    """``sos`` (second-order sections, or ``None`` for no filter) over (channels, samples)
    blocks, its state carried between calls. The state starts from the first sample's steady
    state, so a DC offset at the start does not "click" in."""

    def __init__(self, sos: np.ndarray | None):
        self.sos = sos
        self.state: np.ndarray | None = None

    def __call__(self, block: np.ndarray) -> np.ndarray:
        if self.sos is None or block.shape[1] == 0:
            return block
        if self.state is None:
            self.state = sosfilt_zi(self.sos)[:, None, :] * block[None, :, :1]
        out, self.state = sosfilt(self.sos, block, axis=1, zi=self.state)
        return out.astype(np.float32)
