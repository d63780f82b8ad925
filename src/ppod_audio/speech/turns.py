"""Speaker turns: the one shape every diarizer returns and every later stage consumes.

A turn is a half-open time span with a speaker label. Keeping it a small frozen dataclass (not a
pyannote ``Annotation``) means the pipeline never needs pyannote at run time; ``to_annotation``
converts for scoring only, importing pyannote.core lazily. RTTM is the standard interchange format
for references and for caching a diarization next to an episode.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

# The dataclass lives beside ``Word`` (one home for the shapes speech hands the transcript).
from ..transcript.model import Turn

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyannote.core import Annotation


def read_rttm(path: str | Path) -> dict[str, list[Turn]]:
    """Turns per file URI from an RTTM file, each list sorted by start time.

    Only ``SPEAKER`` lines are read (RTTM also allows other record types); blank lines and
    ``;;`` comments are skipped so hand-edited references load too.
    """
    by_uri: dict[str, list[Turn]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        uri, start, duration, speaker = fields[1], float(fields[3]), float(fields[4]), fields[7]
        by_uri.setdefault(uri, []).append(Turn(start, start + duration, speaker))
    return {uri: sorted(turns, key=lambda t: (t.start, t.end)) for uri, turns in by_uri.items()}


def format_rttm(turns: Iterable[Turn], uri: str) -> str:
    """RTTM text for ``turns`` (millisecond precision, one ``SPEAKER`` line per turn)."""
    lines = [
        f"SPEAKER {uri} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
        for t in sorted(turns, key=lambda t: (t.start, t.end))
    ]
    return "".join(lines)


def write_rttm(turns: Iterable[Turn], uri: str, path_or_stream: str | Path | TextIO) -> None:
    """Write ``turns`` as RTTM to a path or an open text stream.

    RTTM fields are whitespace-separated, so a URI with spaces would corrupt the file; it is
    rejected rather than silently mangled.
    """
    if not uri or any(ch.isspace() for ch in uri):
        raise ValueError(f"RTTM uri must be non-empty without whitespace: {uri!r}")
    text = format_rttm(turns, uri)
    if isinstance(path_or_stream, io.TextIOBase) or hasattr(path_or_stream, "write"):
        path_or_stream.write(text)  # type: ignore[union-attr]
    else:
        Path(path_or_stream).write_text(text, encoding="utf-8")


def to_annotation(turns: Iterable[Turn], uri: str | None = None) -> Annotation:
    """A pyannote.core ``Annotation`` of ``turns``, for scoring with pyannote.metrics."""
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for index, t in enumerate(turns):
        annotation[Segment(t.start, t.end), index] = t.speaker
    return annotation


def speaker_durations(turns: Iterable[Turn]) -> dict[str, float]:
    """Total talking time per speaker in seconds, largest first."""
    totals: dict[str, float] = {}
    for t in turns:
        totals[t.speaker] = totals.get(t.speaker, 0.0) + t.duration
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def relabel_by_first_appearance(turns: Iterable[Turn], prefix: str = "SPEAKER_") -> list[Turn]:
    """Turns sorted by time with labels renamed ``SPEAKER_00``, ``SPEAKER_01``… in order of
    first appearance, so the labels are stable and readable whatever the clusterer numbered."""
    ordered = sorted(turns, key=lambda t: (t.start, t.end))
    names: dict[str, str] = {}
    for t in ordered:
        names.setdefault(t.speaker, f"{prefix}{len(names):02d}")
    return [replace(t, speaker=names[t.speaker]) for t in ordered]
