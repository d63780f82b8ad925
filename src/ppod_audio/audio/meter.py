"""BS.1770-4 loudness and EBU Tech 3342 loudness range, measured block by block.

pyloudnorm is the reference implementation here, but it needs the whole programme in memory as
float64 (an hour of stereo is 2.5 GB), so long episodes are measured with this accumulator
instead: the same K-weighting filters (pyloudnorm's coefficients, state carried across blocks),
the energy of every 50 ms hop kept (a few hundred kilobytes an hour), and the standard gating
applied to those at the end. Tests hold it to pyloudnorm and to ffmpeg's ebur128 within 0.1 LU.
"""

from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy.signal import lfilter

HOP_SECONDS = 0.05
_GATING_HOPS = 8  # 400 ms gating blocks ...
_STEP_HOPS = 2  # ... every 100 ms (75 % overlap)
_SHORT_TERM_HOPS = 60  # 3 s short-term windows for LRA
ABSOLUTE_GATE = -70.0


def hop_samples(rate: int) -> int:
    return int(round(HOP_SECONDS * rate))


class HopEnergy:
    """K-weighted sum of squares per 50 ms hop and channel, fed in blocks of any size."""

    def __init__(self, rate: int, channels: int):
        stages = pyloudnorm.Meter(rate)._filters.values()  # noqa: SLF001 - coefficients only
        self.filters = [(stage.b, stage.a) for stage in stages]
        self.state = [np.zeros((channels, max(len(b), len(a)) - 1)) for b, a in self.filters]
        self.hop = hop_samples(rate)
        self.rest = np.zeros((channels, 0))
        self.parts: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        self.add_weighted(self.weight(block))

    def weight(self, block: np.ndarray) -> np.ndarray:
        """The block K-weighted (float64), filter state carried on; feed it to ``add_weighted``."""
        weighted = block.astype(np.float64)
        for index, (b, a) in enumerate(self.filters):
            weighted, self.state[index] = lfilter(b, a, weighted, axis=1, zi=self.state[index])
        return weighted

    def add_weighted(self, weighted: np.ndarray) -> None:
        """Accumulate an already K-weighted block (mastering keeps finer energies of it too)."""
        weighted = np.concatenate([self.rest, weighted], axis=1)
        count = weighted.shape[1] // self.hop
        squares = weighted[:, : count * self.hop] ** 2
        self.parts.append(squares.reshape(weighted.shape[0], count, self.hop).sum(axis=2).T)
        self.rest = weighted[:, count * self.hop :]

    def energies(self) -> np.ndarray:
        """``(hops, channels)`` sums of squares (complete hops only)."""
        if not self.parts:
            return np.zeros((0, self.state[0].shape[0]))
        return np.concatenate(self.parts, axis=0)


def _windows(energies: np.ndarray, hops: int, step: int) -> np.ndarray:
    """Sum of squares over ``hops``-long windows every ``step`` hops, all channels together."""
    if len(energies) < hops:
        return np.zeros(0)
    cumulative = np.concatenate([np.zeros((1, energies.shape[1])), np.cumsum(energies, axis=0)])
    starts = np.arange(0, len(energies) - hops + 1, step)
    return (cumulative[starts + hops] - cumulative[starts]).sum(axis=1)


def power_to_lufs(power: np.ndarray) -> np.ndarray:
    """Mean square of K-weighted samples as loudness (BS.1770: -0.691 + 10 log10); 0 is -inf."""
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


def integrated_from(energies: np.ndarray, hop: int) -> float:
    """Gated integrated loudness (BS.1770-4: absolute gate -70 LUFS, relative gate -10 LU)."""
    power = _windows(energies, _GATING_HOPS, _STEP_HOPS) / (_GATING_HOPS * hop)
    loud = power[power_to_lufs(power) > ABSOLUTE_GATE]
    if loud.size == 0:
        return -np.inf
    relative = power_to_lufs(np.array([loud.mean()]))[0] - 10.0
    gated = loud[power_to_lufs(loud) > relative]
    return float(power_to_lufs(np.array([gated.mean()]))[0])


def loudness_range_from(energies: np.ndarray, hop: int) -> float:
    """EBU Tech 3342 LRA: spread (10th to 95th percentile) of gated 3 s short-term loudness."""
    power = _windows(energies, _SHORT_TERM_HOPS, _STEP_HOPS) / (_SHORT_TERM_HOPS * hop)
    loud = power[power_to_lufs(power) > ABSOLUTE_GATE]
    if loud.size == 0:
        return float("nan")
    relative = power_to_lufs(np.array([loud.mean()]))[0] - 20.0
    levels = power_to_lufs(loud)
    levels = levels[levels > relative]
    return float(np.percentile(levels, 95) - np.percentile(levels, 10))
