"""CAM++ as a pyannote.audio speaker-embedding ``Model``, so pyannote's own pipeline can use it.

pyannote's ``SpeakerDiarization`` pipeline loads its embedding model with
``Model.from_pretrained(<folder>)``, which rebuilds the class a checkpoint names under
``architecture`` (module and class) and loads the checkpoint's ``state_dict`` into it. The project
writes such a checkpoint around the pinned CAM++ weights (see :mod:`.pyannote_folder`), naming
this class; pyannote then runs CAM++ exactly as it would run its own WeSpeaker ResNet — its
segmentation, its per-(chunk, speaker) embedding, its clustering — and nothing of pyannote is
re-implemented here.

The front end is the one :mod:`.campplus` uses for the embedded diarizer and the voiceprints
(80-bin Kaldi fbank, 25 ms / 10 ms, Povey window, no dither, mean subtracted per window), computed
with torchaudio's Kaldi-compatible ``fbank`` because it runs on the model's device and in a batch;
the output is L2-normalised, so pyannote's cosine distances are the embedded diarizer's too.

pyannote asks for one embedding per (chunk, local speaker) with a frame *mask* (``weights``)
saying when that speaker talks in the 10 s chunk. As pyannote does for its SpeechBrain and NeMo
embeddings, only the masked-in frames are kept (concatenated) and embedded. Two limits can keep
the cost down, because CAM++ runs once per (chunk, speaker) and chunks overlap: a speaker with
less than ``min_speech`` seconds in the chunk gets a NaN embedding (pyannote's clustering leaves
NaN embeddings out), and at most ``max_speech`` seconds (the middle of the speaker's frames) are
embedded. The values are in the checkpoint's hyper-parameters (see :mod:`.pyannote_folder`).

This module imports torch and pyannote.audio at import time: only pyannote's loader imports it,
in an environment that has the ``pyannote`` extra.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from pyannote.audio.core.model import Model
from torchaudio.compliance import kaldi

from ..defaults import SPEECH_RATE
from .campplus import EMBEDDING_SIZE, MIN_FRAMES, CAMPPlus

FRAME_LENGTH_MS = 25.0
FRAME_SHIFT_MS = 10.0
MASK_THRESHOLD = 0.5  # a frame belongs to the speaker when its mask is at least this


class CamPPlusEmbedding(Model):
    """3D-Speaker's CAM++ (192-d) behind pyannote.audio's ``Model`` interface.

    ``forward(waveforms, weights=None)`` takes ``(batch, 1, samples)`` at 16 kHz and optional
    ``(batch, frames)`` masks, and returns ``(batch, 192)`` unit vectors (NaN rows for masks
    with too little speech).
    """

    def __init__(
        self,
        sample_rate: int = SPEECH_RATE,
        num_channels: int = 1,
        num_mel_bins: int = 80,
        embedding_size: int = EMBEDDING_SIZE,
        min_speech: float = 2.0,
        max_speech: float = 10.0,
        task: object | None = None,
    ) -> None:
        super().__init__(sample_rate=sample_rate, num_channels=num_channels, task=task)
        self.save_hyperparameters(
            "sample_rate", "num_channels", "num_mel_bins", "embedding_size", "min_speech",
            "max_speech",
        )  # fmt: skip
        self.campplus = CAMPPlus(feat_dim=num_mel_bins, embedding_size=embedding_size)
        self._fbank = partial(
            kaldi.fbank,
            num_mel_bins=num_mel_bins,
            frame_length=FRAME_LENGTH_MS,
            frame_shift=FRAME_SHIFT_MS,
            dither=0.0,
            sample_frequency=sample_rate,
            window_type="povey",
            snip_edges=True,
            use_energy=False,
        )

    @property
    def dimension(self) -> int:
        """Size of an embedding (pyannote's pipeline sizes its arrays by it)."""
        return int(self.hparams.embedding_size)

    def _features(self, waveforms: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, samples)`` -> ``(batch, frames, mel bins)`` log-mel filterbanks."""
        minimum = int((FRAME_LENGTH_MS + (MIN_FRAMES - 1) * FRAME_SHIFT_MS) / 1000 * SPEECH_RATE)
        if waveforms.shape[-1] < minimum:
            # pyannote probes the shortest input a model accepts (min_num_samples) by calling it
            # on ever shorter noise until it raises: this is where that answer comes from.
            raise ValueError(f"CAM++ needs at least {minimum} samples, got {waveforms.shape[-1]}")
        return torch.vmap(self._fbank)(waveforms[:, :1, :])

    def _embed(self, features: torch.Tensor) -> torch.Tensor:
        """Unit CAM++ embeddings of ``(batch, frames, bins)`` features, each window centred."""
        centred = features - features.mean(dim=1, keepdim=True)
        return F.normalize(self.campplus(centred), dim=1)

    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        features = self._features(waveforms)
        if weights is None:
            return self._embed(features)
        # The mask's frames (pyannote's segmentation resolution) resampled onto fbank frames.
        masks = F.interpolate(weights[:, None, :].float(), size=features.shape[1], mode="nearest")
        keep = masks[:, 0, :] >= MASK_THRESHOLD
        out = torch.full((features.shape[0], self.dimension), float("nan"), device=features.device)
        fewest = max(MIN_FRAMES, round(self.hparams.min_speech * 1000 / FRAME_SHIFT_MS))
        most = max(fewest, round(self.hparams.max_speech * 1000 / FRAME_SHIFT_MS))
        for index in range(features.shape[0]):
            speech = features[index, keep[index]]
            if speech.shape[0] < fewest:
                continue
            first = (speech.shape[0] - most) // 2 if speech.shape[0] > most else 0
            out[index] = self._embed(speech[first : first + most][None])[0]
        return out
