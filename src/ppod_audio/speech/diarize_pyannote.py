"""Who spoke when, with a pyannote.audio pipeline (optional: ``ppod-audio[pyannote]``).

With nothing configured, the pipeline is the one ppod assembles itself from weights installed
offline (:mod:`.pyannote_folder`: pyannote's segmentation-3.0 and the CAM++ speaker encoder), so
``--diarizer pyannote`` needs no token and no download. A user may name another *local* pipeline
folder instead (``config.yaml`` plus its parts, e.g. pyannote's gated
``speaker-diarization-community-1`` copied once from a machine that could download it) as
``[speech] pyannote_pipeline`` in show.toml. A Hub id is accepted only together with a token (the
argument or ``HF_TOKEN``): without one nothing would ever be downloaded, and a stalled download
attempt on an offline machine is worse than a clear error that says how to install the weights.

Nothing leaves the machine by default: pyannote.audio 4 sends usage telemetry unless
``PYANNOTE_METRICS_ENABLED`` is off, and huggingface_hub tries the network unless
``HF_HUB_OFFLINE`` is set, so both are set before pyannote is imported. pyannote and torch are
imported inside the functions: importing this module is free, and ``ppod --help`` or a cached
re-run never pays for them.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..defaults import SPEECH_RATE
from ..errors import InputError, ProcessingError
from .turns import Turn, relabel_by_first_appearance

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyannote.audio import Pipeline
    from pyannote.core import Annotation

SAMPLE_RATE = SPEECH_RATE
INSTALL_FIX = (
    "pip install 'ppod-audio[pyannote]' (pyannote.audio 4; it brings a CUDA build of torch)"
)
OFFLINE_FIX = (
    "remove [speech] pyannote_pipeline from show.toml to use the pipeline ppod assembles "
    "offline, or install community-1 offline: on a machine with internet, accept the conditions of "
    "pyannote/speaker-diarization-community-1 on huggingface.co and download it once "
    "(hf download pyannote/speaker-diarization-community-1 --local-dir "
    "speaker-diarization-community-1), copy that folder here and set [speech] pyannote_pipeline "
    '= "/path/to/speaker-diarization-community-1" in show.toml (see docs/pyannote.md)'
)
# "owner/name": the shape of a Hub repository id (a path that exists always wins over it).
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def diarize_pyannote(
    audio: np.ndarray,
    *,
    pipeline: str | None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    token: str | None = None,
    device: str = "auto",
) -> list[Turn]:
    """Speaker turns of ``audio`` (float32 mono at 16 kHz) from a pyannote pipeline.

    Args:
        audio: the episode's speech, mono, 16 kHz, as the other diarizers take it.
        pipeline: ``None`` (or empty) for the pipeline ppod assembles offline; else a local
            pipeline folder (holding ``config.yaml``), a ``config.yaml`` path, or a Hub id such
            as ``pyannote/speaker-diarization-community-1`` (only with a token).
        num_speakers, min_speakers, max_speakers: the speaker count when known, or its bounds;
            passed to pyannote only when given, so its own estimate is used otherwise.
        token: a Hugging Face token; defaults to ``HF_TOKEN``. Only needed for a Hub id.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.

    Returns:
        Turns sorted by time, labelled ``SPEAKER_00``, ``SPEAKER_01``… in order of first
        appearance. Turns of different speakers overlap where pyannote heard two at once: the
        dominant speaker's (pyannote's *exclusive* diarization) are plain turns, the other's
        are ``overlap`` turns. The RTTM and the document keep the crosstalk, and each word is
        attributed to one speaker downstream
        (:func:`ppod_audio.transcript.segments.assign_speakers`).

    Raises:
        InputError: pyannote.audio is not installed, no pipeline is configured, the folder or its
            config.yaml is missing, or a Hub id is given without a token.
        ProcessingError: the pipeline was found but could not be loaded or run.
    """
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"diarize_pyannote expects mono audio (1-D), got shape {samples.shape}")
    token = token or os.environ.get("HF_TOKEN") or None
    source = _resolve_source(pipeline, token) if pipeline and str(pipeline).strip() else None
    if samples.size == 0:
        return []
    _configure_environment(token)
    _require_pyannote()
    if source is None:
        from .pyannote_folder import assemble_pipeline

        source = str(assemble_pipeline())
    loaded = _load_pipeline(source, token, _resolve_device(device))

    import torch

    kwargs = {
        name: value
        for name, value in (
            ("num_speakers", num_speakers),
            ("min_speakers", min_speakers),
            ("max_speakers", max_speakers),
        )
        if value is not None
    }
    waveform = torch.from_numpy(np.ascontiguousarray(samples)).unsqueeze(0)
    try:
        output = loaded({"waveform": waveform, "sample_rate": SAMPLE_RATE}, **kwargs)
    except Exception as exc:  # pyannote raises plain exceptions for bad weights or shapes
        raise ProcessingError(f"pyannote diarization failed: {exc}", source) from exc
    regular, exclusive = _pick_annotation(output)
    return annotation_to_turns(regular, samples.size / SAMPLE_RATE, exclusive)


def annotation_to_turns(
    annotation: Annotation, duration: float, exclusive: Annotation | None = None
) -> list[Turn]:
    """Turns of a pyannote ``Annotation``, clipped to ``[0, duration]``, empty ones dropped.

    With ``exclusive`` (pyannote's one-speaker-at-a-time version of the same diarization), its
    turns say who dominates, and what ``annotation`` has beyond them — a speaker talking under
    another — becomes ``overlap`` turns. pyannote's sliding windows can reach a few milliseconds
    past the end of the audio; clipping keeps every later stage inside the episode.
    """
    turns = []
    for segment, _track, label in (exclusive or annotation).itertracks(yield_label=True):
        start, end = max(0.0, float(segment.start)), min(duration, float(segment.end))
        if end > start:
            turns.append(Turn(start, end, str(label)))
    if exclusive is not None:
        for label in annotation.labels():
            dominant = exclusive.label_timeline(label, copy=False).support()
            for segment in annotation.label_timeline(label).support().extrude(dominant):
                start, end = max(0.0, float(segment.start)), min(duration, float(segment.end))
                if end > start:
                    turns.append(Turn(start, end, str(label), overlap=True))
    return relabel_by_first_appearance(turns)


def _pick_annotation(output: Any) -> tuple[Annotation, Annotation | None]:
    """The diarization in a pipeline's output and, where there is one, its exclusive version.

    pyannote.audio 4 returns a ``DiarizeOutput`` with ``speaker_diarization`` (overlaps kept)
    and ``exclusive_speaker_diarization`` (one speaker at a time: pyannote's choice of who
    dominates); 3.x returned the ``Annotation`` itself (or an ``(annotation, embeddings)``
    tuple with ``return_embeddings=True``).
    """
    regular = getattr(output, "speaker_diarization", None)
    if regular is not None:
        return regular, getattr(output, "exclusive_speaker_diarization", None)
    if isinstance(output, tuple) and output:
        output = output[0]
    if hasattr(output, "itertracks"):
        return output, None
    raise ProcessingError(
        f"pyannote returned {type(output).__name__}, not a diarization this version understands",
        fix="use pyannote.audio 4 (pip install 'ppod-audio[pyannote]')",
    )


def _resolve_source(pipeline: str, token: str | None) -> str:
    """The absolute local path, or the Hub id, to load; an InputError for anything unusable.

    Checked before pyannote is imported, so a typo in show.toml costs nothing to report.
    """
    text = str(pipeline).strip()
    path = Path(text).expanduser()
    if path.exists():
        config = path / "config.yaml" if path.is_dir() else path
        if not config.is_file():
            raise InputError(
                "this pyannote pipeline folder has no config.yaml",
                config,
                fix=f"point [speech] pyannote_pipeline at the folder that holds config.yaml; "
                f"{OFFLINE_FIX}",
            )
        return str(path.resolve())
    if _HUB_ID.match(text) and not text.startswith("."):
        if token:
            return text
        raise InputError(
            "not a folder here, and a pyannote pipeline on the Hugging Face Hub needs a token "
            "(set HF_TOKEN) and internet; ppod never tries a download without one",
            text,
            fix=OFFLINE_FIX,
        )
    raise InputError("pyannote pipeline folder not found", path, fix=OFFLINE_FIX)


def _configure_environment(token: str | None) -> None:
    """Turn off pyannote's telemetry, and the Hub's network access unless there is a token.

    pyannote reads ``PYANNOTE_METRICS_ENABLED`` at every call, huggingface_hub reads
    ``HF_HUB_OFFLINE`` when it is first imported; setting both here, before the first pyannote
    import, covers a fresh process. A local folder never touches the Hub either way.
    """
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    if not token:
        os.environ["HF_HUB_OFFLINE"] = "1"


def _resolve_device(device: str) -> str:
    """``"auto"`` becomes ``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _require_pyannote() -> None:
    """Import pyannote.audio, or say how to install it (it is an optional extra)."""
    try:
        import pyannote.audio  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"the pyannote diarizer needs pyannote.audio, which is not installed ({exc})",
            fix=INSTALL_FIX,
        ) from exc


@lru_cache(maxsize=4)
def _load_pipeline(source: str, token: str | None, device: str) -> Pipeline:
    """The loaded pipeline, once per (source, token, device) in a process.

    Loading reads ~30 MB of weights and builds three models; a batch run diarizes many episodes
    with the same pipeline, so it is kept. Failures are not cached (lru_cache keeps only
    results), so a fixed folder is picked up on the next call.
    """
    import torch
    from pyannote.audio import Pipeline

    try:
        loaded = Pipeline.from_pretrained(source, **({"token": token} if token else {}))
        if loaded is not None:
            loaded.to(torch.device(device))
    except Exception as exc:  # bad YAML, a missing checkpoint, a version mismatch, no CUDA...
        raise ProcessingError(
            f"could not load the pyannote pipeline on {device}: {exc}",
            source,
            fix="check that the folder is complete (a copy of speaker-diarization-community-1, "
            "or remove [speech] pyannote_pipeline to use the one ppod assembles)",
        ) from exc
    if loaded is None:  # pyannote returns None when the Hub refuses (gated, bad token)
        raise InputError(
            "the Hugging Face Hub did not give this pyannote pipeline",
            source,
            fix=f"accept its conditions on huggingface.co and check HF_TOKEN, or {OFFLINE_FIX}",
        )
    return loaded
