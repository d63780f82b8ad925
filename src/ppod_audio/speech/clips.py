"""Short clips of a recording heard again, several to one recognition window.

Whisper's encoder costs a whole 30 s window however short the audio, so hearing a few seconds
again one clip at a time would pay for 30 s each. The second hearings (the unsure stretches
re-decoded with the show's terms, ``redecode``; the doubted words heard by tiny.en,
``recheck``; the places where a name is said, heard by a second model in the safeguarding
review) lay their clips end to end instead, with a second of silence between them, as many to
a window as fit, and give each clip back the words whose middle falls inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..defaults import SPEECH_RATE
from ..transcript.model import Word

WINDOW_S = 29.0  # clips heard together in one window of Whisper's 30 s
GAP_S = 1.0  # silence before, between and after them


def hear_clips(
    clips: Sequence[np.ndarray],
    hear: Callable[[np.ndarray], Sequence[Word]],
    starts: Sequence[float] | None = None,
) -> list[list[Word]]:
    """The words ``hear(window)`` finds in each clip (16 kHz samples), timed from the clip's
    start, or from ``starts[n]`` seconds before it (the clip's place in its recording). A clip
    longer than a window is heard alone."""
    heard: list[list[Word]] = [[] for _ in clips]
    gap = np.zeros(int(GAP_S * SPEECH_RATE), np.float32)
    batches: list[list[int]] = []
    length = WINDOW_S
    for n, clip in enumerate(clips):
        size = len(clip) / SPEECH_RATE + GAP_S
        if length + size > WINDOW_S:
            batches.append([])
            length = GAP_S
        batches[-1].append(n)
        length += size
    for batch in batches:
        pieces, placed, at = [gap], [], GAP_S
        for n in batch:
            placed.append((n, at, at + len(clips[n]) / SPEECH_RATE))
            pieces += [np.asarray(clips[n], np.float32), gap]
            at += len(clips[n]) / SPEECH_RATE + GAP_S
        words = hear(np.concatenate(pieces))
        for n, lo, hi in placed:
            shift = (starts[n] if starts is not None else 0.0) - lo
            heard[n] = [w.model_copy(update={"start": w.start + shift, "end": w.end + shift})
                        for w in words if lo <= (w.start + w.end) / 2 <= hi]  # fmt: skip
    return heard


def hear_spans(
    audio: np.ndarray,
    spans: Sequence[tuple[float, float]],
    hear: Callable[[np.ndarray], Sequence[Word]],
) -> list[list[Word]]:
    """The words ``hear`` finds in each ``(begin, end)`` span (seconds) of a recording in
    memory (16 kHz), on the recording's clock: :func:`hear_clips` for the two second hearings
    of the speech stage, which compare what is heard again with the words in place."""
    clips = [audio[int(begin * SPEECH_RATE) : int(end * SPEECH_RATE)] for begin, end in spans]
    return hear_clips(clips, hear, [begin for begin, _ in spans])


def window_hearer(options: Any) -> Callable[[np.ndarray], list[Word]]:
    """A recogniser of the windows :func:`hear_clips` lays out: ``transcribe`` with
    ``options`` (a ``TranscribeOptions``), without voice detection or batching, since the
    clips are speech already, with silence laid between them; nor the runner-up hypotheses
    (a second hearing's words are compared, not shaded)."""
    from .transcribe import transcribe

    plain = replace(options, vad_filter=False, batched=False, hypotheses=1)

    def hear(window: np.ndarray) -> list[Word]:
        return list(transcribe(window, plain).words)

    return hear
