"""Edits that change the audio: redactions, cuts and tidying, on the document and the sound.

An edit is stored in ``episode.json`` (``audio_edits``) as a span on the *raw recording's*
clock, the clock the speech models hear, so it lands on the same sound whatever the content
warning or the trim become. Every run of the pipeline replays the list in order on the
programme it has just cleaned (:func:`render_audio`) and on the document it has just built
(:func:`apply_edits`): a re-run never brings back a redacted word, and a cut stays cut.

- **Redact**: the span's sound fades (10 ms) into a 1 kHz tone or into silence and back; its
  words become one ``[redacted]`` word. The programme keeps its length and every time.
- **Cut**: the span is removed, joined with a short equal-power crossfade placed at the
  quietest point near the cut (both ends move together, so exactly the cut's length goes);
  every later word, paragraph and chapter moves earlier by that length.
- **Tidy** (``[tidy]`` in show.toml): pauses longer than a maximum shortened to it, filler
  words cut, decided afresh each run from the word timings (:func:`tidy_edits`).

The published files never hold the words a redaction removed: the edit stores times only, and
the document it is applied to is saved with ``[redacted]`` in their place (the version before
is kept in ``history/``, which is local and never published).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..transcript.model import (
    WARNING_SPEAKER_ID,
    AudioEdit,
    EpisodeDocument,
    Segment,
    Word,
    segment_from_words,
)

REDACTED = "[redacted]"
TONE_HZ = 1000.0
TONE_AMPLITUDE = 0.1  # -20 dBFS peak: the tone follows the words' level up to 6 dB above
FADE_SECONDS = 0.01  # into and out of a redaction: no click
CROSSFADE_SECONDS = 0.02  # across a cut's join
QUIET_SEARCH_SECONDS = 0.04  # a cut slides this far either way to join at a quiet point
# A redaction of words reaches this far into the pauses either side (never into another word):
# recognisers' word times are loose, and a syllable left either side can be enough to identify.
REDACT_PAD_SECONDS = 0.12
CUT_KINDS = ("cut", "tidy")


def new_edit(
    kind: str, start: float, end: float, *, mode: str | None = None, before: str | None = None
) -> AudioEdit:
    """An edit made now, with a short id a person can type (``ppod redact --undo ID``)."""
    made = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    return AudioEdit(
        id=f"{kind[0]}{secrets.token_hex(3)}",
        kind=kind,
        start=round(start, 4),
        end=round(end, 4),
        mode=mode,
        made=made,
        before=before,
    )


def merged_cuts(edits: Iterable[AudioEdit]) -> list[tuple[float, float]]:
    """The cuts (and tidy cuts) as sorted, non-overlapping raw-clock spans."""
    spans = sorted((e.start, e.end) for e in edits if e.kind in CUT_KINDS and e.end > e.start)
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def cut_seconds(edits: Iterable[AudioEdit]) -> float:
    return sum(end - start for start, end in merged_cuts(edits))


@dataclass(frozen=True)
class Clock:
    """Raw-recording seconds <-> published seconds, given the intro, the trim and the cuts."""

    intro_offset: float
    trimmed_start: float
    cuts: tuple[tuple[float, float], ...] = ()

    @classmethod
    def of(cls, document: EpisodeDocument, trimmed_start: float) -> Clock:
        return cls(document.intro_offset, trimmed_start, tuple(merged_cuts(document.audio_edits)))

    def published(self, raw: float) -> float:
        removed = sum(min(max(raw - start, 0.0), end - start) for start, end in self.cuts)
        return raw - self.trimmed_start + self.intro_offset - removed

    def raw(self, published: float) -> float:
        raw = published - self.intro_offset + self.trimmed_start
        for start, end in self.cuts:
            if raw >= start:
                raw += end - start
            else:
                break
        return raw


# --- the document ---


def _middle(word: Word) -> float:
    return (word.start + word.end) / 2


def _rebuild(
    document: EpisodeDocument, segments: list[Segment], **update: object
) -> EpisodeDocument:
    kept: list[Segment] = []
    for segment in segments:
        if segment.speaker == WARNING_SPEAKER_ID or not segment.words:
            if segment.speaker == WARNING_SPEAKER_ID or segment.text.strip():
                kept.append(segment)
            continue
        kept.append(segment_from_words(segment.words, segment.speaker))
    used = {segment.speaker for segment in kept}
    speakers = [s for s in document.speakers if s.id in used]
    return document.model_copy(update={"segments": kept, "speakers": speakers, **update})


def redact_document(document: EpisodeDocument, start: float, end: float) -> EpisodeDocument:
    """Every word whose middle lies in ``start..end`` (published seconds) becomes
    ``[redacted]``: one per paragraph it touches, timed within the span. Nothing of the
    words is kept (no ``original``): the version before lives in history/ only."""
    segments = []
    for segment in document.segments:
        words: list[Word] = []
        for word in segment.words:
            if start <= _middle(word) <= end:
                if words and words[-1].text == REDACTED and words[-1].probability is None:
                    words[-1] = words[-1].model_copy(
                        update={"end": min(end, max(word.end, words[-1].end))}
                    )
                    continue
                words.append(
                    Word(
                        text=REDACTED,
                        start=max(start, word.start),
                        end=min(end, word.end),
                        speaker=word.speaker,
                    )
                )
            else:
                words.append(word)
        segments.append(segment.model_copy(update={"words": words}))
    return _rebuild(document, segments)


def cut_document(document: EpisodeDocument, start: float, end: float) -> EpisodeDocument:
    """The words in ``start..end`` (published seconds) removed; every later time (word,
    paragraph, chapter, the duration) moved earlier by exactly ``end - start``."""
    length = end - start

    def moved(t: float) -> float:
        return t if t <= start else (t - length if t >= end else start)

    segments = []
    for segment in document.segments:
        if not segment.words:
            segments.append(segment)
            continue
        words = [
            w.model_copy(update={"start": round(moved(w.start), 4), "end": round(moved(w.end), 4)})
            for w in segment.words
            if not start <= _middle(w) <= end
        ]
        if words:  # a paragraph cut whole goes, its text with it
            segments.append(segment.model_copy(update={"words": words}))
    chapters = []
    for chapter in document.chapters:
        ends = chapter.end if chapter.end is not None else document.duration
        moved_chapter = chapter.model_copy(
            update={
                "start": round(moved(chapter.start), 3),
                "end": None if chapter.end is None else round(moved(chapter.end), 3),
            }
        )
        if moved(ends) - moved(chapter.start) > 0.001 or not chapters:
            chapters.append(moved_chapter)
    return _rebuild(
        document, segments, chapters=chapters, duration=round(document.duration - length, 3)
    )


def apply_edit(document: EpisodeDocument, edit: AudioEdit, clock: Clock) -> EpisodeDocument:
    """One edit applied to a document whose clock is ``clock`` (the cuts before it applied)."""
    start = max(document.intro_offset, clock.published(edit.start))
    end = min(document.duration, clock.published(edit.end))
    if end <= start:
        return document
    if edit.kind == "redact":
        return redact_document(document, start, end)
    return cut_document(document, start, end)


def apply_edits(
    document: EpisodeDocument, edits: Sequence[AudioEdit], trimmed_start: float
) -> EpisodeDocument:
    """The pipeline's document (built on the uncut clock) with ``edits`` replayed in order;
    the list is recorded on it, so the next edit converts its times through the same cuts."""
    applied: list[AudioEdit] = []
    for edit in edits:
        clock = Clock(document.intro_offset, trimmed_start, tuple(merged_cuts(applied)))
        document = apply_edit(document, edit, clock)
        applied.append(edit)
    return document.model_copy(update={"audio_edits": list(edits)})


def add_edit(document: EpisodeDocument, edit: AudioEdit, trimmed_start: float) -> EpisodeDocument:
    """``document`` (with its earlier edits applied) with ``edit`` applied and listed."""
    clock = Clock.of(document, trimmed_start)
    updated = apply_edit(document, edit, clock)
    return updated.model_copy(update={"audio_edits": [*document.audio_edits, edit]})


# --- choosing what to edit ---


def _words(document: EpisodeDocument) -> list[Word]:
    return [w for s in document.segments if s.speaker != WARNING_SPEAKER_ID for w in s.words]


def parse_range(text: str, count: int, source: Path) -> tuple[int, int]:
    """``"120-124"`` or ``"120"``: a word range, 0-based, inclusive, inside the transcript."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text)
    if not match:
        raise InputError(
            f"--words {text!r} is not a range like 120-124",
            source,
            "give the first and last word's numbers (0-based, as the editor counts)",
        )
    first = int(match[1])
    last = int(match[2]) if match[2] else first
    if not first <= last < count:
        raise InputError(
            f"--words {text} is outside the transcript's {count} words",
            source,
            f"give numbers from 0 to {count - 1}",
        )
    return first, last


def word_span(
    document: EpisodeDocument, first: int, last: int, *, pad: float
) -> tuple[float, float]:
    """Published seconds covering words ``first..last``, reaching up to ``pad`` into the
    pauses either side but never into a neighbouring word."""
    words = _words(document)
    start, end = words[first].start, words[last].end
    before = words[first - 1].end if first > 0 else document.intro_offset
    after = words[last + 1].start if last + 1 < len(words) else document.duration
    start = max(min(start, max(before, start - pad)), document.intro_offset)
    end = min(max(end, min(after, end + pad)), document.duration)
    return start, end


def _fold(text: str) -> str:
    return re.sub(r"[^\w']+", "", text.casefold())


def phrase_ranges(document: EpisodeDocument, phrase: str) -> list[tuple[int, int]]:
    """Every place the transcript says ``phrase`` (case and punctuation ignored), as word
    ranges for :func:`word_span`."""
    wanted = [_fold(part) for part in phrase.split() if _fold(part)]
    texts = [_fold(w.text) for w in _words(document)]
    found = []
    index = 0
    while wanted and index + len(wanted) <= len(texts):
        if texts[index : index + len(wanted)] == wanted:
            found.append((index, index + len(wanted) - 1))
            index += len(wanted)
        else:
            index += 1
    return found


def time_span(
    document: EpisodeDocument, start: float, end: float, source: Path
) -> tuple[float, float]:
    """``--from S --to E`` checked against the programme (published seconds)."""
    if not (start < end):
        raise InputError(
            f"--from {start:g} is not before --to {end:g}",
            source,
            "give a span with --from before --to",
        )
    if start < document.intro_offset or end > document.duration + 1e-6:
        raise InputError(
            f"{start:g}-{end:g} s is outside the programme "
            f"({document.intro_offset:g}-{document.duration:g} s; the content warning is not "
            "edited)",
            source,
            "give times inside the episode, as the MP3 plays them",
        )
    return start, end


# --- tidy ---


@dataclass(frozen=True)
class TidyPlan:
    edits: list[AudioEdit]
    pauses: int
    fillers: int

    @property
    def seconds(self) -> float:
        return cut_seconds(self.edits)


def tidy_edits(
    words: Sequence[Word],
    *,
    max_pause: float,
    fillers: Iterable[str],
    programme: tuple[float, float],
) -> TidyPlan:
    """Cuts that shorten every pause between words to ``max_pause`` and remove filler words.

    ``words`` are on the raw clock (the speech result); ``programme`` is the raw span the
    published audio covers. A filler's cut takes the word and its share of the pauses around
    it down to ``max_pause`` in all, so "so, um, the" does not leave two pauses either side.
    """
    filler_set = {_fold(f) for f in fillers}
    ordered = sorted((w for w in words if w.end > w.start), key=lambda w: w.start)
    ordered = [w for w in ordered if programme[0] <= w.start and w.end <= programme[1]]
    spoken = [w for w in ordered if _fold(w.text) not in filler_set]
    removed_fillers = len(ordered) - len(spoken)
    spans: list[tuple[float, float]] = []
    pauses = 0
    for prev, nxt in zip(spoken, spoken[1:], strict=False):
        gap = nxt.start - prev.end
        has_filler = any(
            prev.end <= w.start and w.end <= nxt.start
            for w in ordered
            if _fold(w.text) in filler_set
        )
        if gap > max_pause + 0.01:
            keep = max_pause / 2
            spans.append((prev.end + keep, nxt.start - keep))
            pauses += not has_filler
    for word in ordered:
        if _fold(word.text) in filler_set:
            spans.append((word.start, word.end))
    edits = [
        AudioEdit(id=f"t{i}", kind="tidy", start=round(s, 4), end=round(e, 4))
        for i, (s, e) in enumerate(sorted(spans))
        if e - s > 0.005
    ]
    return TidyPlan(edits, pauses, removed_fillers)


# --- the audio ---


@dataclass(frozen=True)
class _Redaction:
    start: int
    stop: int
    amplitude: float  # of the tone; 0 for silence


def _frame(seconds: float, rate: int) -> int:
    return int(round(seconds * rate))


def _apply_redactions(
    block: np.ndarray, offset: int, rate: int, redactions: Sequence[_Redaction]
) -> np.ndarray:
    """Redactions overlapping frames ``offset..offset+len`` applied to ``block`` in place."""
    length = block.shape[1]
    for red in redactions:
        lo, hi = max(red.start, offset), min(red.stop, offset + length)
        if lo >= hi:
            continue
        t = np.arange(lo, hi, dtype=np.float64)
        fade = max(1.0, min(FADE_SECONDS * rate, (red.stop - red.start) / 2))
        # 0 -> 1 over the fade from the span's start, 1 -> 0 over the fade before its end.
        weight = np.clip(np.minimum(t - red.start + 0.5, red.stop - t - 0.5) / fade, 0.0, 1.0)
        weight = (0.5 - 0.5 * np.cos(np.pi * weight)).astype(np.float32)  # raised cosine
        part = block[:, lo - offset : hi - offset]
        part *= 1.0 - weight
        if red.amplitude:
            tone = red.amplitude * np.sin(2 * np.pi * TONE_HZ * (t - red.start) / rate)
            part += (tone * weight).astype(np.float32)
    return block


def _tone_level(audio, start: int, stop: int) -> float:
    """The tone's amplitude: as loud (RMS) as the words it replaces, so the programme's
    loudness, and the gain mastering finds for it, stay where they were; never under
    -40 dBFS (a bleep must be heard) nor over :data:`TONE_AMPLITUDE`'s 6 dB above it."""
    power, count = 0.0, 0
    for at in range(start, stop, audio.rate * 10):
        block = audio.read(at, min(stop, at + audio.rate * 10))
        power += float(np.square(block, dtype=np.float64).mean(axis=0).sum())
        count += block.shape[1]
    rms = np.sqrt(power / max(1, count))
    return float(np.clip(rms * np.sqrt(2), 0.01, 2 * TONE_AMPLITUDE))


def _quiet_shift(read, start: int, stop: int, rate: int, lo: int, hi: int) -> int:
    """How far to slide a cut (both ends together) so both joins sit at the quietest sound
    within :data:`QUIET_SEARCH_SECONDS`; the cut's length does not change."""
    reach = int(QUIET_SEARCH_SECONDS * rate)
    window = max(1, int(0.005 * rate))
    reach = max(0, min(reach, start - lo - window, hi - stop - window))
    if reach <= window:
        return 0
    left = read(start - reach - window, start + reach + window)
    right = read(stop - reach - window, stop + reach + window)
    energy = (left**2).sum(axis=0) + (right**2).sum(axis=0)
    smoothed = np.convolve(energy, np.ones(2 * window) / (2 * window), mode="valid")
    # smoothed[i] is centred on shift i + window - (reach + window) = i - reach
    shifts = np.arange(len(smoothed)) - reach
    usable = np.abs(shifts) <= reach
    return int(shifts[usable][np.argmin(smoothed[usable])])


def render_audio(
    audio, edits: Sequence[AudioEdit], trimmed_start: float, default_mode: str, destination: Path
):
    """The cleaned programme (a :class:`~ppod_audio.audio.disk.DiskAudio` starting at
    ``trimmed_start`` on the raw clock) with ``edits`` applied, streamed into a new file.

    Its length is the programme's minus the merged cuts, to the frame. Redactions are applied
    before cuts (a redaction inside a cut is simply gone).
    """
    from ..audio.disk import DiskAudioWriter

    rate, frames = audio.rate, audio.frames
    redactions = []
    for e in edits:
        start = max(0, _frame(e.start - trimmed_start, rate))
        stop = min(frames, _frame(e.end - trimmed_start, rate))
        if e.kind == "redact" and stop > start:
            tone = (e.mode or default_mode) == "tone"
            redactions.append(
                _Redaction(start, stop, _tone_level(audio, start, stop) if tone else 0)
            )

    def read(start: int, stop: int) -> np.ndarray:
        block = audio.read(start, stop)
        return _apply_redactions(block, max(0, start), rate, redactions)

    cuts = []
    for start, end in merged_cuts(edits):
        lo, hi = (
            max(0, _frame(start - trimmed_start, rate)),
            min(frames, _frame(end - trimmed_start, rate)),
        )
        if hi > lo:
            cuts.append((lo, hi))
    writer = DiskAudioWriter(destination, audio.channels, rate)
    block = int(10.0 * rate)

    def copy(start: int, stop: int) -> None:
        for at in range(start, stop, block):
            writer.append(read(at, min(stop, at + block)))

    position = 0
    half = int(CROSSFADE_SECONDS * rate / 2)
    for index, (start, stop) in enumerate(cuts):
        following = cuts[index + 1][0] if index + 1 < len(cuts) else frames
        shift = _quiet_shift(read, start, stop, rate, position, following)
        start, stop = start + shift, stop + shift
        h = max(0, min(half, start - position, following - stop))
        copy(position, start - h)
        if h:
            ramp = (np.arange(2 * h, dtype=np.float64) + 0.5) / (2 * h)
            fade_in = np.sin(0.5 * np.pi * ramp).astype(np.float32)
            fade_out = np.cos(0.5 * np.pi * ramp).astype(np.float32)
            writer.append(
                read(start - h, start + h) * fade_out + read(stop - h, stop + h) * fade_in
            )
        position = stop + h
    copy(position, frames)
    return writer.close()


# --- what the pipeline asks ---


def stored_edits(
    output_dir: Path, report: dict | None, incoming: EpisodeDocument | None = None
) -> list[AudioEdit]:
    """The edit list to replay: ``incoming``'s (a command publishing an edit), else the
    published ``episode.json``'s, else (that file gone or damaged) the list the last report
    recorded, so a broken document never brings a redacted word back."""
    if incoming is not None:
        return list(incoming.audio_edits)
    from ..outputs import document_path

    path = document_path(output_dir)
    try:
        return list(EpisodeDocument.model_validate_json(path.read_bytes()).audio_edits)
    except (OSError, ValueError):
        pass
    listed = ((report or {}).get("audio_edits") or {}).get("list") or []
    try:
        return [AudioEdit.model_validate(item) for item in listed]
    except ValueError:
        return []


def published_words(
    output_dir: Path, incoming: EpisodeDocument | None, trimmed_start: float, show
) -> list[Word]:
    """The published transcript's words on the raw clock (for tidying a run without speech
    recognition); none unless ``[tidy]`` is on."""
    if not show.tidy.enabled:
        return []
    from ..outputs import document_path

    document = incoming
    if document is None:
        try:
            document = EpisodeDocument.model_validate_json(document_path(output_dir).read_bytes())
        except (OSError, ValueError):
            return []
    clock = Clock.of(document, trimmed_start)
    return [
        w.model_copy(update={"start": clock.raw(w.start), "end": clock.raw(w.end)})
        for w in _words(document)
        if w.text != REDACTED
    ]


def edits_key(edits: Sequence[AudioEdit], show, speech_key: str) -> str | None:
    """What the MP3's samples depend on besides the recordings and settings; ``None`` when
    nothing is edited (so a report from before audio edits existed still matches)."""
    from ..cache import make_key

    mine = [
        e.model_dump(mode="json", exclude={"made", "before", "id"})
        for e in edits
        if e.kind != "tidy"
    ]
    tidy = show.tidy.model_dump() if show.tidy.enabled else None
    if not mine and tidy is None:
        return None
    return make_key(
        "edits",
        mine,
        tidy,
        speech_key if tidy else None,
        show.safeguarding.redact_with,
        TONE_HZ,
        TONE_AMPLITUDE,
        FADE_SECONDS,
        CROSSFADE_SECONDS,
        QUIET_SEARCH_SECONDS,
    )


def edits_for_run(
    stored: Sequence[AudioEdit], show, words: Sequence[Word], trimmed_start: float
) -> tuple[list[AudioEdit], TidyPlan | None]:
    """The stored edits, with this run's tidy cuts (from ``words``, raw clock) in place of
    the ones an earlier run decided."""
    edits = [e for e in stored if e.kind != "tidy"]
    if not show.tidy.enabled or not words:
        return edits, None
    plan = tidy_edits(
        words,
        max_pause=show.tidy.max_pause_seconds,
        fillers=show.tidy.fillers,
        programme=(trimmed_start, float("inf")),
    )
    return plan.edits + edits, plan


def adopt_cuts(
    document: EpisodeDocument, machine: EpisodeDocument, trimmed_start: float
) -> EpisodeDocument | None:
    """``document`` (a person's) on ``machine``'s clock: the cuts this run makes that it has
    not had yet (tidying switched on, a cut made elsewhere) applied to it. ``None`` when it
    has had a cut this run no longer makes: the words that cut removed cannot come back from
    it, so the machine's document (which has them) must be used."""

    def spans(doc: EpisodeDocument) -> set[tuple[float, float]]:
        return {(e.start, e.end) for e in doc.audio_edits if e.kind in CUT_KINDS}

    if spans(document) - spans(machine):
        return None
    for edit in machine.audio_edits:
        if edit.kind in CUT_KINDS and (edit.start, edit.end) not in spans(document):
            document = add_edit(document, edit, trimmed_start)
    return document


def enforce_redactions(
    document: EpisodeDocument, edits: Sequence[AudioEdit], trimmed_start: float
) -> EpisodeDocument:
    """``document`` carrying ``edits``, every redaction applied again: whatever a person
    typed into a redacted span (or a kept older document held there) is ``[redacted]``."""
    document = document.model_copy(update={"audio_edits": list(edits)})
    clock = Clock.of(document, trimmed_start)
    for edit in edits:
        if edit.kind == "redact":
            document = apply_edit(document, edit, clock)
    return document


def edits_report(edits: Sequence[AudioEdit], tidy: TidyPlan | None) -> dict:
    """report.json's ``audio_edits``: counts, seconds removed, and the list itself (times
    only, never words)."""
    mine = [e for e in edits if e.kind != "tidy"]
    report: dict = {
        "redactions": sum(e.kind == "redact" for e in mine),
        "cuts": sum(e.kind == "cut" for e in mine),
        "cut_seconds": round(cut_seconds(mine), 3),
        "seconds_removed": round(cut_seconds(edits), 3),
        "list": [e.model_dump(mode="json") for e in mine],
    }
    if tidy is not None:
        report["tidy"] = {
            "pauses_shortened": tidy.pauses,
            "fillers_cut": tidy.fillers,
            "seconds_removed": round(tidy.seconds, 3),
        }
    return report


def keep_redacted(document: EpisodeDocument, report: dict) -> EpisodeDocument:
    """:func:`enforce_redactions` for a render or an editor's save: a word typed into a
    redacted span is not published."""
    trimmed_start = report.get("trimmed_start")
    if not any(e.kind == "redact" for e in document.audio_edits) or trimmed_start is None:
        return document
    enforced = enforce_redactions(document, document.audio_edits, float(trimmed_start))
    return document if enforced == document else enforced
