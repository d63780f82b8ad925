"""A cut of the low mids after noise reduction, as deep as the programme is boomy.

A microphone far from the talker (a meeting room's table microphone, a laptop across the desk)
hears the room's low-mid build-up (roughly 150-600 Hz) and less of the voice's presence; noise
reduction removes the noise but leaves that tone, which is most of what still marks such a
recording as far-field. A broad peaking cut at 300 Hz (RBJ cookbook, Q 0.7) raised DNSMOS
overall on every AMI dev clip and on every clean dev read, more than a presence shelf did
(``bench/dnsmos_knobs.py``; figures in docs/cleaning.md).

A fixed cut also thins a close-miked voice that has no boom to lose (on the published demo it
raised the levelled pause floor above -60 dBFS and took STOI below noise reduction off), so
the cut is only as deep as the programme's long-term spectrum stands above a close-talking
voice's balance: the power between 150 and 600 Hz over that between 1 and 4 kHz, measured
over the whole programme before noise reduction (``LowMidMeter``, streamed), less
``CLOSE_TALK_EXCESS_DB``, at most ``low_mid_cut_db``. The cut is part of the denoised
candidate, so the DNSMOS judge in ``prepare.reduce_noise`` keeps or drops both together; with
``low_mid_cut_db = 0`` (or no excess) the programme is bit for bit as without it.

With the cut comes a presence shelf (high shelf from 3 kHz) of half its depth: the same room
that builds up the low mids takes the air off a distant voice, and the two together raised
DNSMOS overall on the far-field dev clips more than a deeper cut alone (+0.378 against +0.366
mean at a 12 dB cap; a fixed shelf alone gained little, see docs/cleaning.md). Keyed on the
same measured excess, a close-miked voice with no boom gets neither.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import sosfreqz

from .filters import StreamingFilter
from .spectrum import FramedPower

LOW_MID_HZ = 300.0
LOW_MID_Q = 0.7
LOW_BAND_HZ = (150.0, 600.0)
PRESENCE_BAND_HZ = (1000.0, 4000.0)
# The low band over the presence band of a close-talking voice, as ``LowMidMeter`` measures
# it (power per bin, averaged over the programme): 12.0 dB on the published demo's recording and
# 13.7-19.3 dB (median 17.5) on the close-miked dev reads (LibriVox, LibriSpeech, the stereo
# pair), 18.0-30.9 dB on the AMI far-field dev clips. 15 dB cuts nothing on the demo and the
# cleaner reads, 3-12 dB on the far-field clips (the cap is ``LOW_MID_CUT_DB``).
CLOSE_TALK_EXCESS_DB = 15.0
METER_SECONDS = 4096 / 48000  # about 85 ms frames, no overlap
PRESENCE_HZ = 3000.0
PRESENCE_Q = 0.7
PRESENCE_PER_CUT = 0.5  # dB of presence shelf per dB of low-mid cut
# The brightest balance a cut and shelf may leave: the lowest excess measured on a close-talking
# voice (the published demo's recording, 12.0 dB, above). A far-field room cut and lifted past
# it would sound thinner than any close-miked voice, whatever DNSMOS makes of it; the judge
# does not offer such a candidate (``judge.candidates``).
BRIGHTEST_EXCESS_DB = 12.0


class LowMidMeter:
    """The programme's long-term power spectrum (Hann frames, no overlap, remainder carried so
    that any block size gives the same figure), for the low-mid excess."""

    def __init__(self, rate: int):
        self.rate = rate
        self.size = int(round(METER_SECONDS * rate))
        self.frames = FramedPower(self.size)
        self.power = np.zeros(self.size // 2 + 1)

    def add(self, mono: np.ndarray) -> None:
        self.power += self.frames.add(mono).sum(axis=0)

    def excess_db(self) -> float:
        """Low band over presence band (dB); 0 for a programme too short or silent to say."""
        return self._excess(self.power)

    def excess_after(self, cut_db: float, presence_per_cut: float = PRESENCE_PER_CUT) -> float:
        """The excess this programme would measure through ``LowMidCut(cut_db,
        presence_per_cut)``: its long-term spectrum times the filters' power response, so the
        judge can tell a candidate that would leave the voice thinner than a close-talking one
        before scoring it."""
        sos = cut_sos(self.rate, cut_db, presence_per_cut)
        if sos is None:
            return self.excess_db()
        freqs = np.fft.rfftfreq(self.size, 1 / self.rate)
        _, response = sosfreqz(sos, worN=freqs, fs=self.rate)
        return self._excess(self.power * np.abs(response) ** 2)

    def _excess(self, power: np.ndarray) -> float:
        freqs = np.fft.rfftfreq(self.size, 1 / self.rate)
        low = power[(freqs >= LOW_BAND_HZ[0]) & (freqs < LOW_BAND_HZ[1])].mean()
        high = power[(freqs >= PRESENCE_BAND_HZ[0]) & (freqs < PRESENCE_BAND_HZ[1])].mean()
        if not (low > 0 and high > 0):
            return 0.0
        return float(10 * np.log10(low / high))

    def cut_db(self, most_db: float) -> float:
        """How deep to cut this programme (:func:`cut_for` its excess)."""
        return cut_for(self.excess_db(), most_db)


def cut_for(excess_db: float, most_db: float, reference_db: float = CLOSE_TALK_EXCESS_DB) -> float:
    """How deep to cut a programme whose low mids stand ``excess_db`` over its presence band:
    the excess beyond ``reference_db`` (a close-talking voice's; the judge's deeper candidate
    uses less), at most ``most_db``, rounded to 0.1 dB (the report shows it)."""
    return round(float(np.clip(excess_db - reference_db, 0.0, most_db)), 1)


def low_mid_sos(rate: int, cut_db: float) -> np.ndarray:
    """One peaking section, ``cut_db`` down at ``LOW_MID_HZ``, as SOS (RBJ audio EQ cookbook)."""
    amp = 10 ** (-abs(cut_db) / 40)
    w0 = 2 * np.pi * LOW_MID_HZ / rate
    alpha = np.sin(w0) / (2 * LOW_MID_Q)
    cos = np.cos(w0)
    b = np.array([1 + alpha * amp, -2 * cos, 1 - alpha * amp])
    a = np.array([1 + alpha / amp, -2 * cos, 1 - alpha / amp])
    return np.concatenate([b / a[0], a / a[0]])[None, :]


def presence_sos(rate: int, lift_db: float) -> np.ndarray:
    """One high shelf, ``lift_db`` up above ``PRESENCE_HZ``, as SOS (RBJ audio EQ cookbook)."""
    amp = 10 ** (lift_db / 40)
    w0 = 2 * np.pi * PRESENCE_HZ / rate
    alpha = np.sin(w0) / (2 * PRESENCE_Q)
    cos = np.cos(w0)
    root = 2 * np.sqrt(amp) * alpha
    b = np.array([amp * ((amp + 1) + (amp - 1) * cos + root),
                  -2 * amp * ((amp - 1) + (amp + 1) * cos),
                  amp * ((amp + 1) + (amp - 1) * cos - root)])  # fmt: skip
    a = np.array([(amp + 1) - (amp - 1) * cos + root, 2 * ((amp - 1) - (amp + 1) * cos),
                  (amp + 1) - (amp - 1) * cos - root])  # fmt: skip
    return np.concatenate([b / a[0], a / a[0]])[None, :]


def cut_sos(
    rate: int, cut_db: float, presence_per_cut: float = PRESENCE_PER_CUT
) -> np.ndarray | None:
    """The cut and its presence shelf as SOS; ``None`` at a cut of 0 dB (no filter)."""
    if cut_db <= 0:
        return None
    sos = low_mid_sos(rate, cut_db)
    if presence_per_cut > 0:
        sos = np.concatenate([sos, presence_sos(rate, presence_per_cut * cut_db)])
    return sos


class LowMidCut(StreamingFilter):
    """The cut and its presence shelf, streamed; no filter at a cut of 0 dB. Both sections pass
    DC unchanged, so the carried state starts from the first sample as the high-pass's does."""

    def __init__(self, rate: int, cut_db: float, presence_per_cut: float | None = None):
        if presence_per_cut is None:
            presence_per_cut = PRESENCE_PER_CUT
        super().__init__(cut_sos(rate, cut_db, presence_per_cut))


def low_mid_cut_db(mono: np.ndarray, rate: int, most_db: float) -> float:
    """The cut for a whole programme in memory (what the streamed stage measures block by block)."""
    if most_db <= 0:
        return 0.0
    meter = LowMidMeter(rate)
    meter.add(mono)
    return meter.cut_db(most_db)
