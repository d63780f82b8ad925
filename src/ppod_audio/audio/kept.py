"""The cleaned programme, kept between runs: an audio edit re-masters without cleaning again.

Re-publishing after a redaction or a cut re-masters from the recordings (the published MP3 is
never re-encoded), and cleaning is most of that work: DeepFilterNet3 costs about 0.13 CPU seconds
per second of audio (``bench/bench_redact.py`` measured decode+clean at 80-90 % of a
re-publish). So the cleaned, trimmed programme of a run is kept in the cache under its clean key
(recordings and cleaning settings), and a later run with the same key - an audio edit, a new
loudness target or bit rate, a review's redactions - reads it back instead.

It is kept as FLAC, 24-bit, by the bundled ffmpeg: lossless to -144 dB below the programme's
peak (the pause floor is -60 dBFS), about half the size of the float32 work file. FLAC holds
samples up to full scale, and a cleaned programme may run over 0 dBFS before mastering (the
high-pass and the denoiser can overshoot): the programme is scaled down by a power of two when
it does, and back up when read, which is exact in floating point.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PpodError
from ..fileio import write_text
from .decode import decode_blocks
from .disk import DiskAudio, DiskAudioWriter
from .encode import PipeEncoder


@dataclass(frozen=True)
class KeptProgramme:
    """Where the cleaned programme of one clean key is kept: ``<folder>/<key>.flac`` and
    ``<key>.json`` (trim point, what cleaning did, the scale it was stored at)."""

    folder: Path
    key: str

    @classmethod
    def in_cache(cls, cache_root: Path, clean_key: str) -> KeptProgramme:
        """Its place in the stage cache: the one location the pipeline and the planner share."""
        return cls(Path(cache_root) / "cleaned", clean_key)

    @property
    def flac(self) -> Path:
        return Path(self.folder) / f"{self.key}.flac"

    @property
    def meta(self) -> Path:
        return Path(self.folder) / f"{self.key}.json"

    def exists(self) -> bool:
        return self.flac.is_file() and self.meta.is_file()

    def remove(self) -> None:
        for path in (self.meta, self.flac):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def save(self, audio: DiskAudio, info: dict[str, Any]) -> None:
        """Keep ``audio``; ``info`` (JSON) comes back from :meth:`load`. The FLAC is written
        under a temporary name and renamed, then the JSON: a half-kept programme is never read.
        A failure to keep it (a full disk) loses nothing but the saving: it is only a cache."""
        peak = max((float(np.max(np.abs(audio.read(start, stop)), initial=0.0))
                    for start, stop in audio.blocks()), default=0.0)  # fmt: skip
        scale = 2.0 ** max(0, math.ceil(math.log2(peak))) if peak > 1.0 else 1.0
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.flac.with_name(f".{self.flac.name}.partial")
        flac = ["-c:a", "flac", "-sample_fmt", "s32", "-bits_per_raw_sample", "24", "-f", "flac"]
        try:
            with PipeEncoder(partial, rate=audio.rate, out_channels=audio.channels,
                             output=flac) as encoder:  # fmt: skip
                for start, stop in audio.blocks():
                    encoder.write(audio.read(start, stop) / scale)
            os.replace(partial, self.flac)
            write_text(self.meta, json.dumps({**info, "scale": scale, "frames": audio.frames}))
        except (OSError, PpodError):
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            self.remove()

    def load(self, work: Path) -> tuple[DiskAudio, dict[str, Any]] | None:
        """The kept programme as a new float32 work file in ``work`` and its info, or None when
        nothing usable is kept (missing, unreadable, or not the length it was kept at)."""
        try:
            info = json.loads(self.meta.read_text(encoding="utf-8"))
            channels, rate = int(info["channels"]), int(info["rate"])
            writer = DiskAudioWriter(Path(work) / f"kept-{self.key[:16]}.f32", channels, rate)
            try:
                for block in decode_blocks(self.flac, rate, channels):
                    writer.append(block * float(info["scale"]))
            finally:
                audio = writer.close()
        except (OSError, ValueError, KeyError, TypeError, PpodError):
            return None  # missing, or damaged (ffmpeg's InputError): cleaned again instead
        if audio.frames != int(info.get("frames", -1)):
            return None
        return audio, info
