"""Hearing the show's words again where recognition was unsure, and only there.

Giving the whole episode the show's terms as ``hotwords`` gets them right (domain eval term
recall 88 -> 100 % with base) but makes the model write them into ordinary speech (generic dev
WER 1.7 -> 15.3 %). Text correction (:mod:`ppod_audio.transcript.vocabulary`) cannot put back a
term the recogniser heard as something unlike it ("the reon and reon" for "the Learning
Bulletin"). So this re-decodes only short stretches where the recogniser was unsure, with the
terms as hotwords, and keeps the new words only when

* they contain one of the show's names or terms that the stretch did not have,
* everything outside the unsure words is heard the same (the context words agree), and
* the new term sounds something like what it replaces (:data:`SOUND`), so a hotword written
  into silence or over a different word is refused, and
* every new word is either one heard before or a word of a name or term ("Jasmine Walk and"
  heard again as "Wark, Anna" is refused: "Anna" is a new error).

Everything else is left exactly as first heard. A replaced word records what was heard
(``Word.original``), as a text correction does, so the editor sees and can undo it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..transcript.model import Word

SAMPLE_RATE = 16000
UNSURE = 0.5  # a word under this probability starts a stretch to hear again
CONTEXT = 1  # words of context either side, which must be heard the same again
PAD_S = 0.25  # audio either side of the stretch
MAX_WORDS = 8  # unsure stretches longer than this are not re-decoded (lost footing, not a term)
SOUND = 0.35  # the new words against the heard words they replace, letters and Metaphone
GATE = 0.4  # an unsure word this like a word of a term is worth hearing again
WINDOW_S = 29.0  # clips heard together in one window of Whisper's 30 s
GAP_S = 1.0  # silence between them


@dataclass(frozen=True)
class Redecode:
    """One re-decoded stretch: the word range it covered and what came back."""

    first: int
    last: int  # exclusive
    heard: str
    again: str
    kept: bool


def unsure_stretches(words: Sequence[Word], unsure: float = UNSURE) -> list[tuple[int, int]]:
    """Ranges of consecutive unsure words (probability under ``unsure``), with context."""
    stretches: list[tuple[int, int]] = []
    index = 0
    while index < len(words):
        p = words[index].probability
        if p is None or p >= unsure:
            index += 1
            continue
        end = index
        while end < len(words) and (words[end].probability or 1.0) < unsure:
            end += 1
        if end - index <= MAX_WORDS:
            first, last = max(0, index - CONTEXT), min(len(words), end + CONTEXT)
            if stretches and first < stretches[-1][1]:
                first = stretches.pop()[0]
            stretches.append((first, last))
        index = end
    return stretches


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch == "'")


def redecode_terms(
    audio: np.ndarray,
    words: list[Word],
    options,  # type: ignore[no-untyped-def]
    vocabulary,  # type: ignore[no-untyped-def]
    hear: Callable[[np.ndarray], list[Word]] | None = None,
) -> tuple[list[Word], list[Redecode]]:
    """``words`` with unsure stretches heard again with the terms as hotwords (see module).

    The stretches' clips are heard several at a time, laid end to end with :data:`GAP_S` of
    silence between them in one window of at most :data:`WINDOW_S` (Whisper's encoder costs a
    30 s window whatever the clip's length). ``hear(window)`` recognises a window with the
    hotwords; by default :func:`~ppod_audio.speech.transcribe.transcribe` with ``options``.
    """
    from ..transcript.vocabulary import similarity

    if not vocabulary or not words:
        return words, []
    hear = hear or _hearer(options)
    duration = len(audio) / SAMPLE_RATE
    clips: list[tuple[int, int, float, float]] = []  # first, last, begin, end (episode s)
    for first, last in unsure_stretches(words):
        if _could_be_a_term(words[first:last], vocabulary, similarity):
            begin = max(0.0, words[first].start - PAD_S)
            end = min(duration, words[last - 1].end + PAD_S)
            if end - begin <= WINDOW_S - GAP_S:
                clips.append((first, last, begin, end))
    heard_again: dict[int, list[Word]] = {}
    for batch in _batches(clips):
        pieces: list[np.ndarray] = []
        placed: list[tuple[float, float, float]] = []  # window start, end, episode offset
        at = GAP_S
        pieces.append(np.zeros(int(GAP_S * SAMPLE_RATE), np.float32))
        for _, _, begin, end in batch:
            clip = audio[int(begin * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            placed.append((at, at + len(clip) / SAMPLE_RATE, begin - at))
            pieces += [clip.astype(np.float32), np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)]
            at += len(clip) / SAMPLE_RATE + GAP_S
        window_words = hear(np.concatenate(pieces))
        for (first, _, _, _), (lo, hi, shift) in zip(batch, placed, strict=True):
            heard_again[first] = [
                w.model_copy(update={"start": w.start + shift, "end": w.end + shift})
                for w in window_words
                if lo <= (w.start + w.end) / 2 <= hi
            ]
    result: list[Word] = []
    log: list[Redecode] = []
    done = 0
    for first, last, _, _ in clips:
        again = heard_again[first]
        keep = _kept(words, first, last, again, vocabulary, similarity)
        log.append(Redecode(first, last, " ".join(w.text for w in words[first:last]),
                            " ".join(w.text for w in again), keep is not None))  # fmt: skip
        if keep is None:
            continue
        lo, hi, new = keep
        result += words[done:lo] + new
        done = hi
    result += words[done:]
    return result, log


def _batches(
    clips: list[tuple[int, int, float, float]],
) -> list[list[tuple[int, int, float, float]]]:
    """Clips in order, as many to a window as fit in :data:`WINDOW_S` with their gaps."""
    batches: list[list[tuple[int, int, float, float]]] = []
    length = WINDOW_S
    for clip in clips:
        size = clip[3] - clip[2] + GAP_S
        if length + size > WINDOW_S:
            batches.append([])
            length = GAP_S
        batches[-1].append(clip)
        length += size
    return batches


def _hearer(options):  # type: ignore[no-untyped-def]
    from .transcribe import transcribe

    hot = replace(options, prompt="hotwords", vad_filter=False, batched=False)

    def hear(window: np.ndarray) -> list[Word]:
        return list(transcribe(window, hot).words)

    return hear


def _could_be_a_term(span: Sequence[Word], vocabulary, similarity) -> bool:  # type: ignore[no-untyped-def]
    """A cheap gate before decoding: an unsure word (or two run together) sounds anything like
    a word of a name or term."""
    unsure = [_norm(w.text) for w in span if (w.probability or 1.0) < UNSURE]
    pieces = unsure + ["".join(pair) for pair in zip(unsure, unsure[1:], strict=False)]
    targets = {_norm(t) for e in vocabulary.entries for t in e.tokens if len(_norm(t)) > 2}
    return any(similarity(p, t) >= GATE for p in pieces if len(p) > 2 for t in targets)


def _terms_in(words: list[Word], vocabulary) -> set[str]:  # type: ignore[no-untyped-def]
    from ..transcript.vocabulary import _exact_length, _features

    heard = _features(words)
    found: set[str] = set()
    index = 0
    while index < len(words):
        size = _exact_length(heard, index, vocabulary)
        if size:
            found.add(" ".join(_norm(w.text) for w in words[index : index + size]))
            index += size
        else:
            index += 1
    return found


def _overlaps(a: Word, b: Word) -> bool:
    return min(a.end, b.end) - max(a.start, b.start) > 0


def _kept(words, first, last, again, vocabulary, similarity):  # type: ignore[no-untyped-def]
    """(first, last, new words) replacing the unsure words of ``words[first:last]``, or None.

    The new words taken are those from the first to the last that overlaps an unsure word in
    time. They must bring a name or term the old words (with their context) did not have, keep
    about as many words, and what changed must sound something like what it replaces.
    """
    unsure = [k for k in range(first, last) if (words[k].probability or 1.0) < UNSURE]
    lo, hi = unsure[0], unsure[-1] + 1
    old = words[lo:hi]
    inside = [i for i, w in enumerate(again) if any(_overlaps(w, o) for o in old)]
    if not inside:
        return None
    middle = again[inside[0] : inside[-1] + 1]
    if not (len(old) + 1) // 2 <= len(middle) <= len(old) + 1:
        return None
    context = words[max(0, lo - CONTEXT) : lo], words[hi : hi + CONTEXT]
    before = _terms_in([*context[0], *old, *context[1]], vocabulary)
    after = _terms_in([*context[0], *middle, *context[1]], vocabulary)
    if not after - before:
        return None
    old_keys = [_norm(w.text) for w in old]
    new_keys = [_norm(w.text) for w in middle]
    heard = "".join(k for k in old_keys if k not in new_keys)
    said = "".join(k for k in new_keys if k not in old_keys)
    if not said or similarity(heard, said) < SOUND:
        return None
    known = {_norm(t) for e in vocabulary.entries for t in e.tokens}
    if any(k not in old_keys and k.removesuffix("s") not in known for k in new_keys):
        return None  # a new word that is not the show's ("Walk and" -> "Wark, Anna")
    original = " ".join(w.original or w.text for w in old)
    speaker = words[lo].speaker
    new = [
        w.model_copy(update={"original": original, "probability": None, "speaker": speaker})
        for w in middle
    ]
    return lo, hi, new
