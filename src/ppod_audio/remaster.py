"""Applying an audio edit: the document changed, then the MP3 re-mastered from the recordings.

``ppod redact``, ``ppod cut``, ``ppod review --redact`` and the editor's Redact/Cut/Undo buttons
all end here. The edit is added to the document (:mod:`ppod_audio.edit.audio_edits`: times on
the raw recording's clock, ``[redacted]`` in place of the words), the document being replaced is
kept in ``history/``, and the episode is re-published by the pipeline itself with that document
(:class:`ppod_audio.pipeline.ProcessOptions` ``document``): the recordings are decoded and
cleaned again, the edits rendered into the programme, the loudness target met and checked
again, and every file staged and published as one set. The published MP3 is never decoded and
re-encoded (no generational loss), and the speech model is not run again: its words come from
the cache (or, when the cache is gone, the published transcript is kept as a ``--no-speech``
run keeps it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .edit import audio_edits as edits
from .edit.history import backup
from .edit.render import episode_source, load_episode_document, read_report, require_folder
from .errors import InputError, ProcessingError
from .lock import locked_episode
from .outputs import document_path, history_dir, read_document
from .transcript.model import AudioEdit, EpisodeDocument

Progress = Callable[[str, str], None]


@dataclass
class EditResult:
    """What an audio edit did, for the command (or the editor) to show."""

    output_dir: Path
    added: list[AudioEdit]
    removed: list[AudioEdit]
    seconds: float
    report: dict[str, Any] = field(default_factory=dict)
    document: EpisodeDocument | None = None


@dataclass(frozen=True)
class Selection:
    """What to edit, as a person names it: word numbers, a phrase, or times (published)."""

    words: str | None = None
    phrase: str | None = None
    every: bool = False
    start: float | None = None
    end: float | None = None


def _spans(document: EpisodeDocument, kind: str, selection: Selection, source: Path):
    """Published-clock spans for ``selection``, each one edit."""
    words = edits._words(document)
    given = sum(x is not None for x in (selection.words, selection.phrase, selection.start))
    if given != 1 or (selection.start is None) != (selection.end is None):
        raise InputError("say what to edit once", source,
                         "give --words A-B, or --phrase TEXT, or --from S --to E")  # fmt: skip
    if selection.start is not None:
        assert selection.end is not None
        return [edits.time_span(document, selection.start, selection.end, source)]
    if selection.words is not None:
        ranges = [edits.parse_range(selection.words, len(words), source)]
    else:
        ranges = edits.phrase_ranges(document, selection.phrase or "")
        if not ranges:
            raise InputError(f"the transcript does not say {selection.phrase!r}", source,
                             "check the spelling in the transcript, or use --words")  # fmt: skip
        if len(ranges) > 1 and not selection.every:
            raise InputError(
                f"{selection.phrase!r} is said {len(ranges)} times", source,
                "add --all to edit every one, or choose one with --words A-B",
            )  # fmt: skip
    return [_word_span(document, kind, first, last) for first, last in ranges]


def _word_span(document: EpisodeDocument, kind: str, first: int, last: int):
    if kind == "redact":
        return edits.word_span(document, first, last, pad=edits.REDACT_PAD_SECONDS)
    # A cut takes half the pause either side, so what is left keeps one natural pause.
    words = edits._words(document)
    start = (words[first - 1].end + words[first].start) / 2 if first > 0 else words[first].start
    end = (
        (words[last].end + words[last + 1].start) / 2 if last + 1 < len(words) else words[last].end
    )
    return max(start, document.intro_offset), min(end, document.duration)


def _trimmed_start(report: dict[str, Any], output_dir: Path) -> float:
    value = report.get("trimmed_start")
    if not isinstance(value, int | float):
        raise InputError("has no trimmed_start", Path(output_dir) / "report.json",
                         "re-run `ppod process` for this episode")  # fmt: skip
    return float(value)


def _source(output_dir: Path, report: dict[str, Any]) -> Path:
    source = episode_source(output_dir, report)
    if source is None:
        raise InputError(
            "names no recordings folder that still exists (report.json `source`)", output_dir,
            "audio edits re-master from the recordings: run `ppod process` on them first",
        )  # fmt: skip
    return source


def apply_edit(
    output_dir: Path,
    kind: str,
    selection: Selection,
    *,
    mode: str | None = None,
    progress: Progress | None = None,
    wait: bool = True,
) -> EditResult:
    """Redact or cut what ``selection`` names and re-publish the episode (under its lock)."""
    if kind not in ("redact", "cut"):
        raise InputError(f"unknown edit {kind!r}", output_dir, "use redact or cut")
    output_dir = Path(output_dir)
    require_folder(output_dir)
    with locked_episode(output_dir, wait=wait):
        document = load_episode_document(output_dir)
        report = read_report(output_dir)
        trimmed = _trimmed_start(report, output_dir)
        source = _source(output_dir, report)
        spans = _spans(document, kind, selection, document_path(output_dir))
        clock = edits.Clock.of(document, trimmed)
        raw = [(clock.raw(a), clock.raw(b)) for a, b in spans]
        kept = backup(output_dir)
        added = []
        for start, end in raw:
            edit = edits.new_edit(kind, start, end, mode=mode if kind == "redact" else None,
                                  before=kept.name if kept else None)  # fmt: skip
            document = edits.add_edit(document, edit, trimmed)
            added.append(edit)
        return _republish(output_dir, source, document, added, [], progress)


def undo_edit(
    output_dir: Path, edit_id: str | None = None, *, progress: Progress | None = None,
    wait: bool = True,
) -> EditResult:  # fmt: skip
    """Undo the latest redaction or cut: the document it replaced (kept in ``history/``)
    comes back, and the MP3 is re-mastered without it. Later text edits are in ``history/``
    too (the current document is kept there first)."""
    output_dir = Path(output_dir)
    require_folder(output_dir)
    with locked_episode(output_dir, wait=wait):
        document = load_episode_document(output_dir)
        report = read_report(output_dir)
        source = _source(output_dir, report)
        mine = [e for e in document.audio_edits if e.kind != "tidy"]
        if not mine:
            raise InputError("has no redaction or cut to undo", document_path(output_dir),
                             "nothing to do")  # fmt: skip
        last = mine[-1]
        if edit_id is not None and edit_id != last.id:
            if all(e.id != edit_id for e in mine):
                raise InputError(f"has no audio edit {edit_id!r}", document_path(output_dir),
                                 "`ppod redact OUTPUT_DIR --list` shows them")  # fmt: skip
            raise InputError(
                f"{edit_id} is not the latest audio edit ({last.id} is)", document_path(output_dir),
                "undo the later ones first, or go back with `ppod render --revert STAMP`",
            )  # fmt: skip
        if not last.before or not (history_dir(output_dir) / last.before).is_file():
            raise InputError(f"the version before {last.id} is not in history/",
                             history_dir(output_dir),
                             "go back with `ppod render --revert STAMP`")  # fmt: skip
        fix = "go back with `ppod render --revert STAMP`"
        earlier = read_document(history_dir(output_dir) / last.before, invalid_fix=fix)
        backup(output_dir)
        return _republish(output_dir, source, earlier, [], [last], progress)


def redact_review_items(
    output_dir: Path, item_ids: Sequence[str], *, progress: Progress | None = None
) -> EditResult | None:
    """Redact the words of review items (``ppod review --redact ID``): each item's span, from
    its first word to its last, reaching into the pauses as any redaction does."""
    from .review import read_review

    review = read_review(output_dir)
    if review is None or not item_ids:
        return None
    document = load_episode_document(output_dir)
    words = edits._words(document)
    ranges = []
    for item_id in item_ids:
        item = review.find(item_id)
        inside = [i for i, w in enumerate(words) if item.start - 0.01 <= (w.start + w.end) / 2
                  <= item.end + 0.01 and w.text != edits.REDACTED]  # fmt: skip
        if inside:
            ranges.append(f"{inside[0]}-{inside[-1]}")
    if not ranges:
        return None
    return _apply_ranges(output_dir, ranges, progress)  # one re-master for all of them


def _apply_ranges(output_dir: Path, ranges: list[str], progress: Progress | None) -> EditResult:
    with locked_episode(output_dir):
        document = load_episode_document(output_dir)
        report = read_report(output_dir)
        trimmed = _trimmed_start(report, output_dir)
        source = _source(output_dir, report)
        clock = edits.Clock.of(document, trimmed)
        spans = []
        for text in ranges:
            first, last = edits.parse_range(text, len(edits._words(document)),
                                            document_path(output_dir))  # fmt: skip
            a, b = _word_span(document, "redact", first, last)
            spans.append((clock.raw(a), clock.raw(b)))
        kept = backup(output_dir)
        added = []
        for start, end in spans:
            edit = edits.new_edit("redact", start, end, before=kept.name if kept else None)
            document = edits.add_edit(document, edit, trimmed)
            added.append(edit)
        return _republish(output_dir, source, document, added, [], progress)


def _speech_options(source: Path, output_dir: Path):
    """Speech as the published words were made when the cache still has that result; else
    off, so the published transcript is kept and no model is loaded."""
    from .pipeline import ProcessOptions, episode_settings, stage_keys
    from .speech.stage import SpeechOptions, SpeechResult

    manifest, show = episode_settings(source)
    options = SpeechOptions()
    key = stage_keys(manifest, show, options.resolved(show))["speech"]
    cache = ProcessOptions(output_root=Path(output_dir).parent).cache()
    if SpeechResult.from_cache(cache, key) is not None:
        return options
    return SpeechOptions(enabled=False)


def _republish(
    output_dir: Path,
    source: Path,
    document: EpisodeDocument,
    added: list[AudioEdit],
    removed: list[AudioEdit],
    progress: Progress | None,
) -> EditResult:
    """Re-run the pipeline for ``source`` with ``document`` as the edited transcript (the
    caller holds the lock)."""
    from .pipeline import ProcessOptions, process_locked, remove_leftovers

    started = time.perf_counter()
    options = ProcessOptions(
        output_root=Path(output_dir).parent,
        speech=_speech_options(source, output_dir),
        progress=progress,
        document=document,
    )
    remove_leftovers(output_dir, options.cache().root, Path(output_dir).name)
    result = process_locked(source, options)
    if not result.ok:
        if result.exception is not None:
            raise result.exception
        raise ProcessingError(result.error or "re-mastering failed", output_dir)
    published = load_episode_document(output_dir)
    return EditResult(output_dir, added, removed, time.perf_counter() - started, result.report,
                      published)  # fmt: skip


def list_edits(output_dir: Path) -> list[AudioEdit]:
    return list(load_episode_document(output_dir).audio_edits)


def remaster_if_needed(output_dir: Path) -> EditResult | None:
    """Re-master when ``episode.json``'s redactions and cuts are not the ones the published
    MP3 was made with (``ppod render --revert`` to a version before or after an audio edit)."""
    output_dir = Path(output_dir)
    with locked_episode(output_dir):
        document = load_episode_document(output_dir)
        report = read_report(output_dir)
        listed = (report.get("audio_edits") or {}).get("list") or []
        mine = [e.model_dump(mode="json") for e in document.audio_edits if e.kind != "tidy"]
        if mine == listed:
            return None
        source = _source(output_dir, report)
        return _republish(output_dir, source, document, [], [], None)
