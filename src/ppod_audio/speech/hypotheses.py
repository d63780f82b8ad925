"""A second opinion from the same decode: where beam search's runner-up hypotheses wrote
another word than the one it chose.

Beam search keeps several hypotheses of every 30 s window to the end and keeps the best; the
others are the recogniser's own alternatives, and they differ from the best where it hesitated
between words. CTranslate2's ``Whisper.generate`` returns them on request (``num_hypotheses``,
up to the beam size) at almost no cost: the beams are searched either way. faster-whisper asks
for one and keeps ``sequences_ids[0]``, with no argument to ask for more, so
:class:`HypothesisRecorder` stands in for its CTranslate2 model (``WhisperModel.model``): it
asks every beam-search ``generate`` for the runner-ups too and records them, passes everything
else through, and returns the results unchanged in what faster-whisper reads (the best
hypothesis first, its score, the no-speech probability). :func:`word_disputes` then says, for
each word of a recognised segment, how many of the runner-ups wrote another word there (words
compared as :func:`~ppod_audio.transcript.confidence.key` writes them, so a comma or a capital
is no dispute).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..transcript.confidence import key

# Hypotheses kept per window by default: the best and four runner-ups, all of faster-whisper's
# beam of 5 (chosen on the domain dev set with the shading rule, bench/shading_nbest.py).
HYPOTHESES = 5


@dataclass
class WindowDecode:
    """One ``generate`` call: the best hypothesis's text tokens, and per token how many of the
    runner-up hypotheses wrote another word where its word is."""

    text: list[int]
    disputes: list[int] = field(default_factory=list)


class HypothesisRecorder:
    """faster-whisper's CTranslate2 ``Whisper`` model, asking beam search for ``hypotheses``
    hypotheses and recording, per window, where the runner-ups disagree with the best."""

    def __init__(self, model: Any, tokenizer: Any, hypotheses: int) -> None:
        self._model = model
        self.tokenizer = tokenizer
        self.hypotheses = hypotheses
        self.windows: list[WindowDecode] = []

    def __getattr__(self, name: str) -> Any:  # everything but generate is the model's own
        return getattr(self._model, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        beam = kwargs.get("beam_size", 1)
        asked = kwargs.get("num_hypotheses", 1)
        if beam > 1 and asked == 1 and self.hypotheses > 1:
            kwargs["num_hypotheses"] = min(self.hypotheses, beam)
        results = self._model.generate(*args, **kwargs)
        if beam > 1 and results:
            ids = results[0].sequences_ids
            self.windows.append(self._window(ids[0], ids[1:]))
        return results

    def _window(self, best: list[int], others: Sequence[list[int]]) -> WindowDecode:
        eot = self.tokenizer.eot
        text = [t for t in best if t < eot]
        words, tokens = self.tokenizer.split_to_word_tokens(text)
        keys = [key(w) for w in words]
        disputes_by_word = [0] * len(words)
        for other in others:
            their = [key(w) for w in self.tokenizer.split_to_word_tokens(
                [t for t in other if t < eot])[0]]  # fmt: skip
            their = [k for k in their if k]
            mine = [i for i, k in enumerate(keys) if k]
            agreed = set()
            matcher = difflib.SequenceMatcher(None, [keys[i] for i in mine], their, autojunk=False)
            for block in matcher.get_matching_blocks():
                agreed.update(mine[block.a : block.a + block.size])
            for i in mine:
                disputes_by_word[i] += i not in agreed
        per_token = [d for d, ts in zip(disputes_by_word, tokens, strict=True) for _ in ts]
        return WindowDecode(text, per_token)


def _find(haystack: list[int], needle: list[int]) -> int:
    """Where ``needle`` runs in ``haystack`` (-1: nowhere)."""
    if not needle:
        return -1
    first = needle[0]
    for at in range(len(haystack) - len(needle) + 1):
        if haystack[at] == first and haystack[at : at + len(needle)] == needle:
            return at
    return -1


def word_disputes(segment: Any, recorder: HypothesisRecorder) -> list[int] | None:
    """For each of ``segment.words`` (faster-whisper's), how many runner-up hypotheses wrote
    another word there; None when the segment's tokens cannot be found in a recorded window
    (then there is no second opinion for it)."""
    eot = recorder.tokenizer.eot
    text = [t for t in segment.tokens if t < eot]
    # faster-whisper yields a window's segments right after decoding it, so a segment is the
    # latest recorded window's; one decoded by sampling (temperature fallback, not recorded) is
    # not found there, and an older window holding the same tokens would be the wrong audio.
    if not recorder.windows:
        return None
    window = recorder.windows[-1]
    at = _find(window.text, text)
    if at < 0:
        return None
    disputes = window.disputes[at : at + len(text)]
    pieces, piece_tokens = recorder.tokenizer.split_tokens_on_unicode(text)
    # character span of every token group, then of every word
    spans: list[tuple[int, int, int]] = []  # (start char, end char, disputes)
    char = index = 0
    for piece, group in zip(pieces, piece_tokens, strict=True):
        spans.append((char, char + len(piece), max(disputes[index : index + len(group)])))
        char, index = char + len(piece), index + len(group)
    out: list[int] = []
    char = 0
    for word in segment.words or ():
        end = char + len(word.word)
        out.append(max((d for a, b, d in spans if a < end and b > char), default=0))
        char = end
    if char != (spans[-1][1] if spans else 0):
        return None  # words and tokens do not line up: no opinion rather than a wrong one
    return out
