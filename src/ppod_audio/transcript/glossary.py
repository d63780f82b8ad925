"""The show's glossary: terms to keep spelt right, and recognition errors to replace.

One small TOML file the training manager can edit (``raw_audio/glossary.toml``)::

    terms = ["P Pod", "SSCP", "CSPR", "Somerset", "safeguarding"]
    [replace]
    "Peapod" = "P Pod"
    "non existential injury" = "non-accidental injury"

``terms`` fix the case of their words in the transcript ("sscp" -> "SSCP") and are the
vocabulary near-misses are corrected to; they reach the speech model only when show.toml's
``[speech] prompt`` asks for it (off by default: it measured worse, see
:mod:`ppod_audio.speech.transcribe`). ``replace`` maps what the recogniser writes to what was
said. Changing this file re-runs text cleaning only, never speech
recognition, so fixing a new mishearing is cheap.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError

KNOWN_KEYS = ("terms", "replace")


@dataclass(frozen=True)
class Glossary:
    """Terms and ordered ``(wrong, right)`` replacements; immutable."""

    terms: tuple[str, ...] = ()
    replacements: tuple[tuple[str, str], ...] = ()
    source: Path | None = field(default=None, compare=False)

    def with_terms(self, names: Iterable[str]) -> Glossary:
        """This glossary plus ``names`` (the episode's speakers), duplicates dropped in order."""
        extra = [name.strip() for name in names if name and name.strip()]
        return replace(self, terms=tuple(dict.fromkeys([*self.terms, *extra])))


def _error(path: Path | None, key: str, problem: str) -> InputError:
    return InputError(
        f"glossary key {key}: {problem}",
        path,
        'write terms = ["P Pod", ...] and a [replace] table of "wrong" = "right" strings',
    )


def _terms(value: Any, path: Path | None) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _error(path, "'terms'", f"must be a list of strings, not {type(value).__name__}")
    terms: list[str] = []
    for index, term in enumerate(value):
        if not isinstance(term, str) or not term.strip():
            raise _error(path, f"'terms[{index}]'", f"must be a non-empty string, got {term!r}")
        terms.append(" ".join(term.split()))
    return tuple(dict.fromkeys(terms))


def _replacements(value: Any, path: Path | None) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise _error(path, "'replace'", f"must be a table, not {type(value).__name__}")
    pairs: list[tuple[str, str]] = []
    for wrong, right in value.items():
        if not isinstance(wrong, str) or not wrong.strip():
            raise _error(path, "'replace' (an empty key)", "the wrong text cannot be empty")
        if not isinstance(right, str) or not right.strip():
            problem = f"must be a non-empty string, got {right!r}"
            raise _error(path, f"'replace.\"{wrong}\"'", problem)
        pairs.append((" ".join(wrong.split()), " ".join(right.split())))
    return tuple(pairs)


def parse_glossary(data: Mapping[str, Any], path: Path | None = None) -> Glossary:
    """Validate a decoded glossary table; errors name the file and the key."""
    for key in data:
        if key not in KNOWN_KEYS:
            raise _error(path, f"'{key}'", f"is not known (expected {', '.join(KNOWN_KEYS)})")
    return Glossary(
        terms=_terms(data.get("terms", []), path),
        replacements=_replacements(data.get("replace", {}), path),
        source=path,
    )


def load_glossary(path: Path | str) -> Glossary:
    """Read and validate ``glossary.toml``."""
    from ..config import toml_text

    path = Path(path)
    if not path.exists():
        fix = "create it or remove it from the settings"
        raise InputError("does not exist", path, fix) from None
    text = toml_text(path)  # UTF-16, a BOM or bad UTF-8 said as such
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"is not valid TOML ({error})", path, "fix the line it names") from None
    return parse_glossary(data, path)
