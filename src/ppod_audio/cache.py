"""A content-addressed store for stage results, so unchanged work is never done twice.

A key is the SHA-256 of everything a stage's result depends on: its inputs' content hashes, its
settings and the code/model version. Changing the glossary therefore changes only the text
stages' keys, and a re-run finds the speech model's words already on disk. Values are JSON (words,
speaker turns, embeddings): small, inspectable, and safe to share between processes because each
is written atomically.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from . import __version__
from .fileio import write_text


def make_key(*parts: Any) -> str:
    """Stable key for JSON-serialisable parts (dataclasses and paths via ``default=str``)."""
    blob = json.dumps([__version__, *parts], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, stage: str, key: str) -> Path:
        return self.root / stage / f"{key}.json"

    def get(self, stage: str, key: str) -> Any | None:
        path = self._path(stage, key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def has(self, stage: str, key: str) -> bool:
        """Whether ``get`` would return a usable value: an empty or corrupt file is missing.

        One answer for the pipeline (which reuses the value) and the batch planner (which only
        says whether it would).
        """
        return bool(self.get(stage, key))

    def put(self, stage: str, key: str, value: Any) -> None:
        write_text(self._path(stage, key), json.dumps(value, separators=(",", ":")))
