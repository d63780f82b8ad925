"""Hearing the show's words again where recognition was unsure, and only there.

Giving the whole episode the show's terms as ``hotwords`` gets them right (domain eval term
recall 88 -> 100 % with base) but makes the model write them into ordinary speech (generic dev
WER 1.7 -> 15.3 %). Text correction (:mod:`ppod_audio.transcript.vocabulary`) cannot put back a
term the recogniser heard as something unlike it ("the reon and reon" for "the Learning
Bulletin"). So this re-decodes only short stretches where the recogniser was unsure, with the
terms as hotwords, and keeps the new words only when

* they contain one of the show's names or terms that the stretch did not have,
* everything outside the unsure words is heard the same (a word heard again over a context
  word is that word: "Jasmine Walk and", only "Walk" unsure, heard again as "Wark, Anna,"
  with "Anna," over "and" is refused, though "Anna" would not be written),
* the new term sounds something like what it replaces (:data:`SOUND`), so a hotword written
  into silence or over a different word is refused, and
* every new word that would be written is either one heard before or a word of a name or
  term ("Walk and", both unsure, heard again as "Wark, Anna" is refused: "Anna" is a new
  error).

A term cut short is heard again too: a recogniser drops the last word before a pause or at the
end of the audio ("... what we call a rapid" for "a rapid review", tiny.en on a domain dev
passage), sure of the words it kept. Where the words before a pause are a multi-word term's
first words and the next word does not go on with it, the stretch up to the next word is heard
again, and the term's missing words are added only when the words already heard come back the
same and are followed by exactly those words.

Everything else is left exactly as first heard. A replaced word records what was heard
(``Word.original``), as a text correction does, so the editor sees and can undo it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..defaults import SPEECH_RATE as SAMPLE_RATE
from ..transcript.model import Word, one_correction
from .clips import GAP_S, WINDOW_S, hear_spans, window_hearer

UNSURE = 0.5  # a word under this probability starts a stretch to hear again
CONTEXT = 1  # words of context either side, which must be heard the same again
PAD_S = 0.25  # audio either side of the stretch
MAX_WORDS = 8  # unsure stretches longer than this are not re-decoded (lost footing, not a term)
SOUND = 0.35  # the new words against the heard words they replace, letters and Metaphone
GATE = 0.4  # an unsure word this like a word of a term is worth hearing again
CUT_GAP_S = 0.3  # a pause (or audio left at the end) this long may hold a dropped word
CUT_TAIL_S = 1.5  # how much of it is heard again
MOVED_S = 0.5  # the term's words heard again must start about where they were heard


@dataclass(frozen=True)
class Redecode:
    """One re-decoded stretch: the word range it covered and what came back."""

    first: int
    last: int  # exclusive
    heard: str
    again: str  # everything heard in the stretch's clip, context and all
    kept: bool
    written: str = ""  # when kept, what was written: "Walk -> Wark," (not all of ``again``)


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


def cut_short(  # type: ignore[no-untyped-def]
    words: Sequence[Word], vocabulary, duration: float
) -> list[tuple[int, int, tuple[str, ...], int]]:
    """(first, last, missing words, the term's first word) where ``words[first:last]`` end on
    a multi-word term's first words, left unpunctuated (a sentence the recogniser did not
    finish), a pause follows, and the next word does not go on with the term; ``first`` takes
    :data:`CONTEXT` words before the term's. A prefix that is a name or term itself
    ("Somerset") is not cut short."""
    found: list[tuple[int, int, tuple[str, ...], int]] = []
    entries = [tuple(_norm(t) for t in e.tokens) for e in vocabulary.entries]
    whole = set(entries)
    terms = [t for t in entries if len(t) > 1]
    for end in range(1, len(words) + 1):
        last = words[end - 1]
        following = words[end] if end < len(words) else None
        pause = (following.start if following else duration) - last.end
        if pause < CUT_GAP_S or not last.text[-1:].isalnum():
            continue
        for term in terms:
            for size in range(1, len(term)):
                start = end - size
                if start < 0:
                    continue
                heard = tuple(_norm(w.text) for w in words[start:end])
                if heard != term[:size] or heard in whole:
                    continue
                if following is not None and _norm(following.text) == term[size]:
                    continue
                found.append((max(0, start - CONTEXT), end, term[size:], start))
    return found


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
    missing: dict[int, tuple[int, tuple[str, ...]]] = {}  # first -> term's start, words lacked
    for first, last, rest, start in cut_short(words, vocabulary, duration):
        if any(a < last and first < b for a, b, _, _ in clips):
            continue  # an unsure stretch already hears it again
        begin = max(0.0, words[first].start - PAD_S)
        following = words[last].start if last < len(words) else duration
        end = min(following, words[last - 1].end + CUT_TAIL_S, duration)
        clips.append((first, last, begin, end))
        missing[first] = (start, rest)
    clips.sort()
    spans = [(begin, end) for *_, begin, end in clips]
    heard_again = {  # on the episode's clock
        first: heard
        for (first, *_), heard in zip(clips, hear_spans(audio, spans, hear), strict=True)
    }
    result: list[Word] = []
    log: list[Redecode] = []
    done = 0
    for first, last, _, _ in clips:
        again = heard_again[first]
        if first in missing:
            keep = _completed(words, first, last, again, *missing[first])
        else:
            keep = _kept(words, first, last, again, vocabulary, similarity)
        written = ""
        if keep is not None:
            lo, hi, new = keep
            written = (f"{' '.join(w.text for w in words[lo:hi])} -> "
                       f"{' '.join(w.text for w in new)}")  # fmt: skip
        heard = " ".join(w.text for w in words[first:last])
        log.append(Redecode(first, last, heard, " ".join(w.text for w in again),
                            keep is not None, written))  # fmt: skip
        if keep is None:
            continue
        result += words[done:lo] + new
        done = hi
    result += words[done:]
    return result, log


def _hearer(options):  # type: ignore[no-untyped-def]
    return window_hearer(replace(options, prompt="hotwords"))


def _could_be_a_term(span: Sequence[Word], vocabulary, similarity) -> bool:  # type: ignore[no-untyped-def]
    """A cheap gate before decoding: an unsure word (or two run together) sounds anything like
    a word of a name or term."""
    unsure = [_norm(w.text) for w in span if (w.probability or 1.0) < UNSURE]
    pieces = unsure + ["".join(pair) for pair in zip(unsure, unsure[1:], strict=False)]
    targets = {_norm(t) for e in vocabulary.entries for t in e.tokens if len(_norm(t)) > 2}
    return any(similarity(p, t) >= GATE for p in pieces if len(p) > 2 for t in targets)


def _terms_in(words: list[Word], vocabulary) -> set[str]:  # type: ignore[no-untyped-def]
    """The names and terms ``words`` have, each as the vocabulary writes it: "rapid reviews"
    and "rapid review," are the same term, so hearing one again as the other brings none."""
    from ..transcript.vocabulary import _exact_entry, _features

    heard = _features(words)
    found: set[str] = set()
    index = 0
    while index < len(words):
        entry = _exact_entry(heard, index, vocabulary)
        if entry:
            found.add(entry.text.lower())
            index += len(entry.tokens)
        else:
            index += 1
    return found


def _overlaps(a: Word, b: Word) -> bool:
    return min(a.end, b.end) - max(a.start, b.start) > 0


def _completed(
    words: list[Word],
    first: int,
    last: int,
    again: list[Word],
    start: int,
    rest: tuple[str, ...],
) -> tuple[int, int, list[Word]] | None:
    """(first, last, the words plus the term's missing ones) when ``again`` has the term's
    words heard before (``words[start:last]``), at about the same time, followed by exactly
    ``rest``, else None. The context before them may come back otherwise ("a rapid" heard
    again as "all are rapid review"): it is kept as first heard."""
    old = [_norm(w.text) for w in words[start:last]]
    keys = [_norm(w.text) for w in again]
    for at in range(len(keys) - len(old) - len(rest) + 1):
        if keys[at : at + len(old)] != old:
            continue
        if abs(again[at].start - words[start].start) > MOVED_S:
            continue
        tail = again[at + len(old) : at + len(old) + len(rest)]
        if [_norm(w.text) for w in tail] != list(rest):
            continue
        speaker = words[last - 1].speaker
        added = [
            w.model_copy(update={"original": "", "probability": None, "speaker": speaker})
            for w in tail
        ]
        kept = list(words[first:last])
        ending = kept[-1].text[len(kept[-1].text.rstrip(".,?!;:")) :]
        if ending and not added[-1].text.endswith(ending):
            # the sentence's end moves to the added word ("a rapid." -> "a rapid review.")
            kept[-1] = kept[-1].model_copy(update={"text": kept[-1].text[: -len(ending)]})
        return first, last, kept + added
    return None


def _trimmed(again: list[Word], inside: list[int], words: list[Word], lo: int, hi: int):  # type: ignore[no-untyped-def]
    """The new words overlapping the unsure ones, without a context word at their start: heard
    again a little later, the sure word before the stretch overlaps the first unsure word in
    time, but it is the context heard the same ("the" of "the Leon and Bury"), not a new word
    to replace it with. Then the words heard again were shifted, so what follows them must be
    the context after the stretch (or nothing): "the summer set" heard again as "the Somerset
    say?" ("set" was sure) is refused, not made "Somerset set". None when it is not."""
    middle = again[inside[0] : inside[-1] + 1]
    if not (middle and lo > 0 and _norm(middle[0].text) == _norm(words[lo - 1].text)):
        return middle
    following = again[inside[-1] + 1 : inside[-1] + 2]
    if following and (hi >= len(words) or _norm(following[0].text) != _norm(words[hi].text)):
        return None
    return middle[1:]


def _context_differs(outside: list[Word], context: list[Word]) -> bool:
    """Whether a word heard again outside the unsure words lies over a context word (its
    middle inside that word's time) and is another word: "Jasmine Walk and" (only "Walk"
    unsure) heard again as "Wark, Anna," with "Anna," over "and". Such a word is not written,
    but the stretch was not heard the same, so what replaces the unsure words is no surer. A
    word that only runs into a context word ("Maset" ending 0.09 s into "save") is not over
    it."""
    for new in outside:
        middle = (new.start + new.end) / 2
        for word in context:
            if word.start <= middle <= word.end and _norm(new.text) != _norm(word.text):
                return True
    return False


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
    middle = _trimmed(again, inside, words, lo, hi)
    if middle is None or not (len(old) + 1) // 2 <= len(middle) <= len(old) + 1:
        return None
    outside = again[: inside[0]] + again[inside[-1] + 1 :]
    if _context_differs(outside, [*words[first:lo], *words[hi:last]]):
        return None
    # The new words as they would be written, in the stretch's speaker: compared without it,
    # a term made of a context word and a new one ("the Leon Bulletin") was split between two
    # speakers wherever the words first heard had one.
    speaker = words[lo].speaker
    middle = [w.model_copy(update={"speaker": speaker}) for w in middle]
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
    middle = [w.model_copy(update={"probability": None}) for w in middle]
    if len(middle) == len(old):  # word for word: each records only its own heard word
        new = [
            w.model_copy(update={
                "original": o.original if _norm(w.text) == _norm(o.text) else o.original or o.text
            })
            for w, o in zip(middle, old, strict=True)
        ]  # fmt: skip
    else:  # one correction of the heard phrase, undone together
        new = one_correction(middle, " ".join(w.original or w.text for w in old))
    return lo, hi, new
