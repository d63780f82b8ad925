"""From timed words and speaker turns to the paragraphs of the published transcript.

Speech recognition gives words with times and diarization gives speaker turns; neither knows about
the other. These pure functions join them: every word gets one speaker, and words become
:class:`~ppod_audio.transcript.model.Segment` paragraphs in the house style (a new paragraph when
the speaker changes, and long monologues broken at sentence ends so nobody reads a wall of text).

Words are never re-timed here: the only change a word sees is its ``speaker``. Moving times onto
the published timeline is :mod:`ppod_audio.transcript.document`'s job, done once.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol, TypeVar

from ppod_audio.transcript.model import Segment, Turn, Word, segment_from_words

# Closing punctuation that may follow a sentence's full stop: `he said "no."` ends a sentence.
_CLOSERS = "\"')]}\u201d\u2019"
_SENTENCE_ENDS = (".", "?", "!", "\u2026")
# A pause this long (seconds) ends an utterance: the recogniser heard separate stretches.
UTTERANCE_PAUSE = 0.5
# How far (seconds) around a crosstalk word its utterance's words said alone are its witnesses.
UTTERANCE_REACH = 3.0
# A word opening with a capital (after any opening quote), and the pronoun "I" that always has one.
_CAPITALISED = re.compile(r"^[\"'(\u201c\u2018]*[A-Z]")
_I = re.compile(r"^[\"'(\u201c\u2018]*I(?:$|['\u2019]|[,.?!;:])")


def ends_sentence(text: str) -> bool:
    """Whether a word closes a sentence, so a paragraph or a caption may break after it."""
    return text.rstrip(_CLOSERS).endswith(_SENTENCE_ENDS)


def starts_sentence(words: Sequence[Word], index: int) -> bool:
    """Whether ``words[index]`` opens a sentence, where a capital says nothing about a name."""
    return index == 0 or ends_sentence(words[index - 1].text)


def _overlap(word: Word, turn: Turn) -> float:
    return min(word.end, turn.end) - max(word.start, turn.start)


def _contains_midpoint(word: Word, turn: Turn) -> bool:
    """A zero-length word overlaps nothing; it belongs to the turn its instant falls in."""
    mid = (word.start + word.end) / 2
    return turn.start <= mid < turn.end


def _nearest_turn(
    word: Word,
    by_end: Sequence[Turn],
    ends: Sequence[float],
    by_start: Sequence[Turn],
    starts: Sequence[float],
) -> Turn:
    """The turn closest to a word that overlaps none: the last one ending before it or the first
    starting after it. A tie goes to the earlier turn: a speaker keeps the floor until the next
    one is heard."""
    i = bisect.bisect_right(ends, word.start) - 1
    j = bisect.bisect_left(starts, word.end)
    before = by_end[i] if i >= 0 else None
    after = by_start[j] if j < len(by_start) else None
    if before is None:
        return after  # type: ignore[return-value]  # turns is non-empty, so one side exists
    if after is None:
        return before
    return before if word.start - before.end <= after.start - word.end else after


def assign_speakers(
    words: Sequence[Word],
    turns: Iterable[Turn],
    *,
    overlap_rule: Literal["utterance", "dominant"] = "utterance",
    pause: float = UTTERANCE_PAUSE,
) -> list[Word]:
    """Copies of ``words`` (same order, same times) each labelled with one turn's speaker.

    A word goes to the speaker whose turns cover it most (diarization boundaries are fuzzy),
    or to the nearest turn's speaker when it falls in a gap between turns, so no word is left
    unattributed. Turns of different speakers may overlap (crosstalk): a word said while two
    people talk is weighed against both speakers' activity. A word that another speaker covers
    at least half of is flagged ``overlap``, and goes (``overlap_rule="utterance"``, the
    default) to the voice of its utterance, the speaker of most of the utterance's words said
    alone, when that voice is heard at the word (:func:`utterances`, :func:`_by_utterance`:
    the recogniser writes one talker's sentence on through an overlap). Otherwise, and with
    ``overlap_rule="dominant"`` (the rule before, for comparison), it goes to the voice the
    diarizer found dominant: the other speaker's turn there is an ``overlap`` turn; with no
    such hint (two plain turns covering the word equally) it stays with the speaker who
    already had the floor (whose turn began first). Without turns the words come back
    unchanged.

    Sort and sweep: words by start, turns by start, with a small active set of turns that may
    still overlap later words; O((n + m) log m) for n words and m turns instead of O(n * m).
    """
    ordered_turns = sorted(turns, key=lambda t: (t.start, t.end))
    if not ordered_turns:
        return [word.model_copy() for word in words]
    starts = [t.start for t in ordered_turns]
    by_end = sorted(ordered_turns, key=lambda t: (t.end, t.start))
    ends = [t.end for t in by_end]

    result: list[Word | None] = [None] * len(words)
    heard: list[set[str]] = [set() for _ in words]  # the speakers whose turns touch each word
    active: list[Turn] = []
    next_turn = 0
    for index in sorted(range(len(words)), key=lambda k: (words[k].start, words[k].end)):
        word = words[index]
        # Words come by start, so a turn ending before this word can overlap no later word.
        active = [t for t in active if t.end > word.start]
        while next_turn < len(ordered_turns) and ordered_turns[next_turn].start <= word.end:
            if ordered_turns[next_turn].end > word.start:
                active.append(ordered_turns[next_turn])
            next_turn += 1
        cover = _cover_by_speaker(word, active)
        if cover:
            # Dominant speakers only (an overlap turn is someone talking under another), then
            # most covered, then holding the word's midpoint, then on the floor first.
            lead = _cover_by_speaker(word, [t for t in active if not t.overlap]) or cover
            speaker = max(lead, key=lambda s: (lead[s][0], lead[s][1], -lead[s][2]))
            half = (word.end - word.start) / 2
            crosstalk = any(
                other != speaker and (seconds >= half if half > 0 else midpoint)
                for other, (seconds, midpoint, _first) in cover.items()
            )
        else:
            speaker = _nearest_turn(word, by_end, ends, ordered_turns, starts).speaker
            crosstalk = False
        result[index] = word.model_copy(update={"speaker": speaker, "overlap": crosstalk})
        heard[index] = set(cover)
    labelled = [word for word in result if word is not None]
    if overlap_rule == "utterance":
        return _by_utterance(labelled, heard, pause)
    if overlap_rule != "dominant":
        raise ValueError(f"overlap_rule must be 'utterance' or 'dominant', got {overlap_rule!r}")
    return labelled


def utterances(words: Sequence[Word], pause: float = UTTERANCE_PAUSE) -> list[list[int]]:
    """Indices of ``words`` (in time order) cut into utterances: runs the recogniser heard as
    one stretch of speech, broken after a sentence end, at a pause of ``pause`` seconds or
    more, and before a capitalised word other than "I" (where two voices run into each other
    the recogniser often starts the second one's sentence without closing the first's:
    "help the transcripts You can sign up"; a name splits a run too, which costs little)."""
    order = sorted(range(len(words)), key=lambda k: (words[k].start, words[k].end))
    runs: list[list[int]] = []
    for position, index in enumerate(order):
        word = words[index]
        if position == 0:
            runs.append([index])
            continue
        before = words[order[position - 1]]
        opens = _CAPITALISED.match(word.text) is not None and not _I.match(word.text)
        if ends_sentence(before.text) or word.start - before.end >= pause or opens:
            runs.append([index])
        else:
            runs[-1].append(index)
    return runs


def _by_utterance(
    words: list[Word], heard: Sequence[set[str]], pause: float, reach: float = UTTERANCE_REACH
) -> list[Word]:
    """Each crosstalk word given to the voice of its utterance, when that voice is talking then.

    Where two people talk at once the recogniser follows one of them and writes that person's
    sentence on (its words run on across the overlap without a pause); the diarizer's dominant
    voice there is a weaker witness (a voice embedding of 1.5 s of mixed speech). So the
    word's voice is the speaker holding most of the seconds of its utterance's words said
    alone within ``reach`` seconds of it (near words: a sentence the recogniser ran from one
    talker into the other changes voice along the way), and the word goes to that voice if
    that voice's turns touch it. A word with no such word near it keeps the dominant voice.
    """
    out = list(words)
    for run in utterances(words, pause):
        alone = sorted((i for i in run if not words[i].overlap), key=lambda i: words[i].start)
        if len(alone) == len(run) or not alone:
            continue
        starts = [words[i].start for i in alone]
        longest = max(words[i].end - words[i].start for i in alone)
        for index in run:
            word = words[index]
            if not word.overlap:
                continue
            first = bisect.bisect_left(starts, word.start - reach - longest)
            near = alone[first : bisect.bisect_right(starts, word.end + reach)]
            seconds: dict[str, float] = {}
            for other in (words[i] for i in near if words[i].end >= word.start - reach):
                if other.speaker is not None:  # a zero-length word still counts a little
                    held = max(other.end - other.start, 0.01)
                    seconds[other.speaker] = seconds.get(other.speaker, 0.0) + held
            if not seconds:
                continue
            voice = max(seconds, key=lambda s: seconds[s])
            if voice in heard[index] and voice != word.speaker:
                out[index] = word.model_copy(update={"speaker": voice})
    return out


def _cover_by_speaker(word: Word, turns: Iterable[Turn]) -> dict[str, tuple[float, bool, float]]:
    """Per speaker touching ``word``: seconds of the word covered, whether a turn holds its
    midpoint (what decides a zero-length word), and when that speaker's earliest turn began."""
    cover: dict[str, tuple[float, bool, float]] = {}
    for turn in turns:
        overlap, midpoint = _overlap(word, turn), _contains_midpoint(word, turn)
        if overlap > 0 or midpoint:
            seconds, held, first = cover.get(turn.speaker, (0.0, False, turn.start))
            cover[turn.speaker] = (
                seconds + max(overlap, 0.0),
                held or midpoint,
                min(first, turn.start),
            )
    return cover


def _paragraph_breaks(
    words: Sequence[Word], max_paragraph_seconds: float, pause_split: float
) -> list[list[Word]]:
    """One speaker's run of words cut into paragraphs.

    A paragraph only ends at a sentence end, and only where a reader would expect one: after a
    long pause (the speaker moved on) or once the paragraph has run past the maximum length.
    """
    paragraphs: list[list[Word]] = []
    current: list[Word] = []
    for position, word in enumerate(words):
        current.append(word)
        following = words[position + 1] if position + 1 < len(words) else None
        if following is None or not ends_sentence(word.text):
            continue
        long_pause = following.start - word.end >= pause_split
        too_long = word.end - current[0].start >= max_paragraph_seconds
        if long_pause or too_long:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


class _Spoken(Protocol):
    @property
    def speaker(self) -> str | None: ...


_S = TypeVar("_S", bound=_Spoken)


def speaker_runs(items: Iterable[_S]) -> list[list[_S]]:
    """Consecutive items (words, caption tokens) grouped while the speaker stays the same.

    Shared by paragraphs and captions: neither may ever run across a change of speaker.
    """
    runs: list[list[_S]] = []
    for item in items:
        if runs and runs[-1][-1].speaker == item.speaker:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def build_segments(
    words: Sequence[Word], *, max_paragraph_seconds: float = 60.0, pause_split: float = 1.5
) -> list[Segment]:
    """Paragraph segments from speaker-labelled words, in the order given (recognition order).

    A new segment starts whenever the speaker changes; a long monologue is split into paragraphs
    at sentence ends after a pause of ``pause_split`` seconds or more, or once the paragraph
    reaches ``max_paragraph_seconds``. Each segment's text is its words joined by spaces, and the
    words keep their times (they are the same objects, not copies).
    """
    return [
        segment_from_words(paragraph, run[0].speaker)
        for run in speaker_runs(words)
        for paragraph in _paragraph_breaks(run, max_paragraph_seconds, pause_split)
    ]
