"""``ppod doctor``: what this machine can do, checked rather than assumed."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _version(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    for dist in (module, module.replace("_", "-"), module.replace(".", "-")):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "installed"


def run_checks() -> Iterator[Check]:
    from .audio.decode import ffmpeg_exe, ffmpeg_version

    try:
        exe = ffmpeg_exe()
        yield Check("ffmpeg", True, f"{exe} ({ffmpeg_version()})")
    except Exception as error:  # imageio-ffmpeg raises RuntimeError when its binary is missing
        yield Check("ffmpeg", False, f"not found ({error}); pip install imageio-ffmpeg")

    for module, required in [
        ("faster_whisper", True),
        ("ctranslate2", True),
        ("kaldi_native_fbank", True),
        ("torch", True),
        ("pyloudnorm", True),
        ("mutagen", True),
        ("pydub", True),
        ("pyannote.audio", False),
        ("distributed", False),
    ]:
        found = _version(module)
        hint = "pip install ppod-audio[pyannote]" if module == "pyannote.audio" else "reinstall"
        yield Check(module, found is not None, found or f"missing ({hint})", required)

    try:
        from .speech.models import describe_models

        for model in describe_models():
            size = f"{model.size_bytes / 1e6:.0f} MB, " if model.size_bytes else ""
            detail = f"{size}{model.location or ''}" + (f" ({model.note})" if model.note else "")
            yield Check(
                f"model {model.name}",
                model.available,
                detail if model.available else (model.note or "not installed"),
                required=model.name == "tiny.en",
            )
    except ImportError as error:
        yield Check("speech models", False, str(error))

    from .errors import PpodError
    from .speech import campplus

    try:
        weights = campplus.verified_weights()
        yield Check("speaker encoder CAM++", True, f"{weights} (checksum verified)")
    except PpodError as error:
        yield Check("speaker encoder CAM++", False, str(error))

    try:
        import ctranslate2

        gpus = ctranslate2.get_cuda_device_count()
        yield Check("cuda", gpus > 0, f"{gpus} GPU(s) for speech recognition", required=False)
    except ImportError:
        pass
