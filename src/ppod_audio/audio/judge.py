"""The DNSMOS judge: how strongly a programme's noise is reduced, and whether at all.

DeepFilterNet3's output (the network alone) is mixed back with its input at an attenuation
limit and then its far-field tone is corrected (``tone.LowMidCut``); which limit and which cut
suit a recording depends on its room. On the AMI dev clips (``bench/dnsmos_knobs.py``, figures
in docs/cleaning.md) a deeper limit (40 dB, was 30) left less noise in the noisiest rooms (trn07
+0.27 -> +0.30), a deeper cut with a full presence shelf raised the reverberant clips whose
background was already near DNSMOS's ceiling (trn03 +0.24 -> +0.28, trn06 +0.27 -> +0.28), and
each lowered others (trn08 +0.32 -> +0.25 with the deeper cut). So the programme's sampled
windows (``quality.sample_spans``: at most six 9 s windows, whatever its length; all of a
programme they cover) are scored for each candidate strength, the set limit or 10 dB less, each
with the measured cut or the deeper one; in a far-field room also two brighter cuts and the
late-reverberation suppressor (``dereverb``) at each limit; and the best is run over the whole
programme, streamed; if even the best scores below the input, the input is kept
(``quality.keeps_denoised``).

The network runs once: a candidate is only a mix of its output with its input and filters, so
each costs one DNSMOS scoring of the sample (about a second of CPU, all in one model session),
not another pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .denoise import mix_back
from .dereverb import LateReverbSuppressor
from .quality import Mos, dnsmos_sets, sample_spans, to_16k
from .tone import (
    BRIGHTEST_EXCESS_DB,
    CLOSE_TALK_EXCESS_DB,
    PRESENCE_PER_CUT,
    LowMidCut,
    cut_for,
)

# The gentler limit the judge also tries, this far under the set one (at 40 dB: 30).
GENTLER_BY_DB = 10.0
# The deeper cut: as deep as the low mids stand over a close-talking voice's beyond this (5 dB
# less than the measured cut's reference, so up to 5 dB deeper), with a presence shelf of the
# cut's full depth instead of half.
DEEPER_REFERENCE_DB = CLOSE_TALK_EXCESS_DB - 5.0
DEEPER_PRESENCE_PER_CUT = 1.0
# Two brighter candidates at the set limit (a far-field room only, as the deeper cut): the
# measured cut with a presence shelf of 1.5 times its depth, and the deepest cut (the excess
# beyond 5 dB, at most the cap) with the same. On the AMI dev clips whose background is already
# at DNSMOS's ceiling the voice's signal score rose only with more presence: trn06 +0.278 ->
# +0.319 (the first), trn03 +0.285 -> +0.305 (the second), docs/cleaning.md. Neither is
# offered where it would leave the voice thinner than a close-talking one (``candidates``).
BRIGHTER_PRESENCE_PER_CUT = 1.5
DEEPEST_REFERENCE_DB = CLOSE_TALK_EXCESS_DB - 10.0
# The late-reverberation suppressor (``dereverb.py``) on the measured cut at each limit, a far-
# field room only: a 0.4 s room decay, at most 6 dB taken from any bin. Chosen on the AMI dev
# clips (``bench/dnsmos_knobs.py``; 0.6 s / 10 dB and 0.8 s / 6 dB gained less): trn08 +0.314
# -> +0.331, trn06 +0.278 -> +0.291, trn02 +0.640 -> +0.646, and where it lowered the score
# (trn01 -0.07 at its worst) the judge does not choose it.
DEREVERB_T60 = 0.4
DEREVERB_FLOOR_DB = 6.0
# Each scored window is filtered from this long before it, so the cut's state has settled.
SETTLE_SECONDS = 0.5

Reader = Callable[[int, int], np.ndarray]


@dataclass(frozen=True)
class Strength:
    """One candidate: the attenuation limit, the low-mid cut, its presence shelf's ratio, and
    the late-reverberation suppressor's room decay (``dereverb_t60``; 0: none)."""

    max_reduction_db: float
    cut_db: float
    presence_per_cut: float = PRESENCE_PER_CUT
    dereverb_t60: float = 0.0

    def mix(self, wet: np.ndarray, dry: np.ndarray) -> np.ndarray:
        """The network's output ``wet`` mixed back with its input ``dry`` at this limit."""
        return mix_back(wet, dry, self.max_reduction_db)

    def tone(self, rate: int) -> LowMidCut:
        """A fresh streamed cut (and shelf) for this strength."""
        return LowMidCut(rate, self.cut_db, self.presence_per_cut)

    def chain(self, rate: int, channels: int) -> Chain:
        """A fresh streamed mix, suppressor and cut for this strength."""
        return Chain(self, rate, channels)

    def apply(self, wet: np.ndarray, dry: np.ndarray, rate: int) -> np.ndarray:
        """The whole chain over ``(channels, n)`` arrays in memory, aligned with them."""
        chain = self.chain(rate, wet.shape[0])
        return np.concatenate([chain(wet, dry), chain.flush()], axis=1)

    def as_dict(self) -> dict[str, float]:
        return {"max_reduction_db": self.max_reduction_db, "low_mid_cut_db": self.cut_db,
                "presence_db": round(self.cut_db * self.presence_per_cut, 1),
                "dereverb_t60_s": self.dereverb_t60}  # fmt: skip


class Chain:
    """A strength streamed: blocks of the network's output and its input in, the mix, late
    reverberation suppressed (if any) and the cut out. Without the suppressor each block comes
    out as it went in; with it the output lags by its STFT frame, and ``flush`` returns the
    rest, so the whole stream gives as many frames as went in."""

    def __init__(self, strength: Strength, rate: int, channels: int):
        self.strength = strength
        self.cut = strength.tone(rate)
        self.channels = channels
        self.suppressor = (
            LateReverbSuppressor(rate, channels, strength.dereverb_t60, DEREVERB_FLOOR_DB)
            if strength.dereverb_t60 > 0
            else None
        )

    def __call__(self, wet: np.ndarray, dry: np.ndarray) -> np.ndarray:
        mixed = self.strength.mix(wet, dry)
        if self.suppressor is not None:
            mixed = self.suppressor(mixed)
        return self.cut(mixed)

    def flush(self) -> np.ndarray:
        if self.suppressor is None:
            return np.zeros((self.channels, 0), np.float32)
        return self.cut(self.suppressor.flush())


Balance = Callable[[float, float], float]  # (cut dB, presence ratio) -> the excess left, dB


def candidates(
    max_reduction_db: float,
    most_cut_db: float,
    excess_db: float,
    choose: bool,
    dereverb: bool = True,
    balance: Balance | None = None,
) -> list[Strength]:
    """The strengths the judge scores: the set limit with the measured cut (the only one when
    ``choose`` is off), and the gentler limit and the deeper cut, each alone and together.
    In a far-field room (an excess beyond the deeper cut's reference) also the two brighter
    candidates, and with ``dereverb`` the measured cut with the late-reverberation suppressor
    at each limit: eight in all there, two on a close-miked show (nothing to cut).

    ``balance(cut_db, presence_per_cut)`` is the low-mid excess the programme would be left
    with (``LowMidMeter.excess_after``); a candidate beyond the first that would leave it under
    ``BRIGHTEST_EXCESS_DB`` (thinner than any close-talking voice measured) is not offered. On
    the AMI dev clips that drops the deepest brighter cut wherever the room was not boomy
    enough to take it (trn03: 12 dB with an 18 dB shelf would leave 8.2 dB)."""
    measured = cut_for(excess_db, most_cut_db)
    first = Strength(max_reduction_db, measured)
    if not choose:
        return [first]
    deeper = cut_for(excess_db, most_cut_db, DEEPER_REFERENCE_DB)
    limits = [max_reduction_db]
    if max_reduction_db - GENTLER_BY_DB >= 3.0:
        limits.append(max_reduction_db - GENTLER_BY_DB)
    cuts = [(measured, PRESENCE_PER_CUT)]
    if deeper > 0:
        cuts.append((deeper, DEEPER_PRESENCE_PER_CUT))
    found = [Strength(limit, cut, ratio) for limit in limits for cut, ratio in cuts]
    if deeper > 0:
        deepest = cut_for(excess_db, most_cut_db, DEEPEST_REFERENCE_DB)
        found += [Strength(max_reduction_db, cut, BRIGHTER_PRESENCE_PER_CUT)
                  for cut in (measured, deepest) if cut > 0]  # fmt: skip
        if dereverb:
            found += [Strength(limit, measured, PRESENCE_PER_CUT, DEREVERB_T60)
                      for limit in limits]  # fmt: skip
    if balance is not None:
        found = [each for each in found
                 if balance(each.cut_db, each.presence_per_cut) >= BRIGHTEST_EXCESS_DB]  # fmt: skip
    return list(dict.fromkeys([first, *found]))  # each once (the cuts meet at the cap)


def windows(
    strength: Strength, wet: Reader, dry: Reader, frames: int, rate: int, scale: float
) -> list[np.ndarray]:
    """The sampled windows of the programme at ``strength`` (mono, at 16 kHz, times ``scale``)."""
    settle = int(SETTLE_SECONDS * rate)
    out = []
    for start, stop in sample_spans(frames, rate):
        lo = max(0, start - settle)
        mixed = strength.apply(wet(lo, stop), dry(lo, stop), rate)
        out.append(to_16k(mixed[:, start - lo :].mean(axis=0) * np.float32(scale), rate))
    return out


def choose(
    options: list[Strength], wet: Reader, dry: Reader, frames: int, rate: int, scale: float
) -> tuple[Strength, Mos | None, list[dict[str, float | None]]]:
    """The candidate DNSMOS scores highest overall on the sampled windows (the first on a tie,
    or when nothing can be scored), its score, and every candidate's (for the report)."""
    scores = dnsmos_sets([windows(each, wet, dry, frames, rate, scale) for each in options])
    scored = list(zip(options, scores, strict=True))
    best, mos = scored[0]
    for each, score in scored[1:]:
        if score is not None and (mos is None or score.overall > mos.overall):
            best, mos = each, score
    table = [{**each.as_dict(), "overall": round(score.overall, 3) if score else None}
             for each, score in scored]  # fmt: skip
    return best, mos, table
