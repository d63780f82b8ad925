"""ppod-audio: raw studio recordings in, publishable podcast episodes out.

The library API (docs/api.md) is what the ``ppod`` command is built on::

    import ppod_audio
    result = ppod_audio.process("raw_audio/my-episode", "output")
    document = ppod_audio.load_document(result.output_dir)

Names are imported on first use, so ``import ppod_audio`` (and ``ppod --help``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "EpisodeDocument",
    "PpodError",
    "__version__",
    "diarize",
    "load_document",
    "process",
    "read_audio",
    "render",
    "transcribe",
]

_HOMES = {
    "process": "api",
    "transcribe": "api",
    "diarize": "api",
    "render": "api",
    "load_document": "api",
    "read_audio": "api",
    "EpisodeDocument": "transcript.model",
    "PpodError": "errors",
}

if TYPE_CHECKING:
    from .api import diarize, load_document, process, read_audio, render, transcribe
    from .errors import PpodError
    from .transcript.model import EpisodeDocument


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'ppod_audio' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value
