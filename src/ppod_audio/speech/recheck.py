"""A second hearing of the words the probability rule would shade, to shade only the doubtful.

The recogniser's word probability shades low-probability words it heard right as well as its
errors (on the domain dev passages, about one correct word in thirteen). Heard a second time on
their own, such correct words tend to come back the same, while errors tend to change. So the
stretches the shading rule marks are heard again (each with :data:`CONTEXT` words and
:data:`PAD_S` of audio either side, several laid end to end in one recognition window by
:func:`~ppod_audio.speech.clips.hear_spans`, so the cost is a few windows, not the episode
again), and each marked word records whether the second hearing has the same word there
(``Word.heard_again``); :mod:`ppod_audio.transcript.confidence` decides from that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np

from ..defaults import SPEECH_RATE
from ..transcript.confidence import key, worth_hearing_again
from ..transcript.model import Word
from .clips import hear_spans, window_hearer

SECOND_MODEL = "tiny.en"  # chosen on the domain dev set (bench/shading_redecode.py)

CONTEXT = 1  # words either side of a marked run heard again with it
PAD_S = 0.25  # audio either side of a stretch
SLACK_S = 0.3  # a word heard again this near a first-heard word's time is at its place


def marked(words: Sequence[Word], known: frozenset[str]) -> list[bool]:
    """Which words are heard again: those :func:`worth_hearing_again` says."""
    return [worth_hearing_again(w, known) for w in words]


def hearer(options: Any) -> Callable[[np.ndarray], list[Word]]:
    """A recogniser of 16 kHz windows for the second hearing: :data:`SECOND_MODEL`, no prompt
    and no voice detection (the clips are speech, laid out with silence between them), on the
    first hearing's device and threads. tiny.en, not the first model again: on dev it told
    errors from correct words as well as base heard again (and better than base with the
    show's terms as hotwords) at less than half base's cost."""
    return window_hearer(replace(options, model=SECOND_MODEL, prompt="none", beam_size=5))


def stretches(
    words: Sequence[Word], marks: Sequence[bool], duration: float
) -> list[tuple[int, int, float, float]]:
    """(first, last, begin s, end s) for each run of marked words with its context; runs whose
    context would touch are heard as one stretch."""
    found: list[tuple[int, int, float, float]] = []
    for index, marked in enumerate(marks):
        if not marked:
            continue
        first, last = max(0, index - CONTEXT), min(len(words), index + 1 + CONTEXT)
        if found and first <= found[-1][1]:
            first = found.pop()[0]
        begin = max(0.0, words[first].start - PAD_S)
        end = min(duration, words[last - 1].end + PAD_S)
        found.append((first, last, begin, end))
    return found


def agrees(word: Word, again: Sequence[Word]) -> bool:
    """Whether the second hearing has ``word`` at its place: a word heard again whose middle
    lies within :data:`SLACK_S` of the word's time is the same word (as :func:`key` writes it),
    or two or three such words in a row make it ("Bulletin" heard as "Bull", "etin")."""
    target = key(word.text)
    if not target:
        return True
    near = [
        key(w.text)
        for w in again
        if word.start - SLACK_S <= (w.start + w.end) / 2 <= word.end + SLACK_S
    ]
    if target in near:
        return True
    return any("".join(near[a:b]) == target for a in range(len(near)) for b in range(a + 2, a + 4))


def hear_again(
    audio: np.ndarray,
    words: Sequence[Word],
    marks: Sequence[bool],
    hear: Callable[[np.ndarray], Sequence[Word]],
) -> list[Word]:
    """``words`` with each marked word's ``heard_again`` set: whether ``hear`` (a recogniser of
    16 kHz windows) hears the same word there again. Unmarked words are returned unchanged."""
    duration = len(audio) / SPEECH_RATE
    spans = stretches(words, marks, duration)
    if not spans:
        return list(words)
    again = [w for heard in hear_spans(audio, [(b, e) for *_, b, e in spans], hear) for w in heard]
    return [
        w.model_copy(update={"heard_again": agrees(w, again)}) if marked else w
        for w, marked in zip(words, marks, strict=True)
    ]


class HearingBeside:
    """The second hearing run beside the first: each piece of the recording the recogniser
    finishes (``transcribe``'s ``on_piece``) has its doubted words heard again on one worker
    thread while the recogniser goes on to the next piece, so only the last piece's hearing
    is waited for. On 2 cores the first recognition leaves one core to the audio child and
    the diarizer, which finish long before it does; the hearing uses what they leave.

    A piece's words are heard as :func:`hear_again` hears a whole list (a stretch never crosses
    a piece's edge, as no word does); with one piece (recordings up to about five and a half
    minutes) the result is exactly the sequential one."""

    def __init__(
        self, audio: np.ndarray, known: frozenset[str], hear: Callable[[np.ndarray], list[Word]]
    ):
        self.audio, self.known, self.hear = audio, known, hear
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="hear-doubted")
        self.pieces: list[Future[list[Word]]] = []

    def __call__(self, words: list[Word]) -> None:
        marks = marked(words, self.known)
        self.pieces.append(self.pool.submit(hear_again, self.audio, words, marks, self.hear))

    def words(self) -> list[Word]:
        """Every piece's words, heard again, in order (waits for the last piece)."""
        return [word for piece in self.pieces for word in piece.result()]

    def close(self) -> None:
        """Stop: pieces not yet started are dropped (the recognition failed or is done)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
