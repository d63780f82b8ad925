"""Which words an editor should look at first: the word-confidence shading rule.

Chosen on the domain set's dev passages (``bench/eval_domain.py --shading-table`` prints the
candidates measured there), where a plain ``probability < 0.6`` shaded correct show vocabulary
("Somerset Safeguarding Children Partnership", heard right but unsure) and missed errors whose
own probability was fine but whose neighbours' were not: recognition that loses its footing
spills onto the next word ("we'll do" for "with two") and onto a word caught between two unsure
ones ("not made until we undertake", "we" at 0.88). So a word is shaded when

* its probability is under :data:`THRESHOLD`, or
* it is under :data:`NEIGHBOUR_THRESHOLD` beside a word under :data:`NEIGHBOUR_LOW`, or
* it is under :data:`BRIDGE_THRESHOLD` with the words on both sides under :data:`THRESHOLD`,

unless it is one of the show's own words (the cast's names, the glossary's terms: the document's
``vocabulary``) or a vocabulary correction put it there (those are marked as corrections, with
the word heard and an undo, instead). A short lower-case word joining a longer term ("and" of
"Avon and Somerset Constabulary") is an ordinary word, not the show's: exempting it hid three
of the dev passages' errors ("Leon and Bury"). A corrected or retyped word (probability
``None``) is never shaded. The editor's page applies the same rule (``editor/static/app.js``:
``needsReview``) with the parameters :func:`editor_rule` gives it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from .model import EpisodeDocument, Word

THRESHOLD = 0.6
NEIGHBOUR_THRESHOLD = 0.85
NEIGHBOUR_LOW = 0.4
BRIDGE_THRESHOLD = 0.9
JOINING_LETTERS = 3  # a lower-case word of a longer term this short is an ordinary word

_NOT_LETTERS = re.compile(r"[^a-z0-9]+")


def key(text: str) -> str:
    """A word as the rule compares it: lower case, letters and digits only."""
    return _NOT_LETTERS.sub("", text.lower())


def known_words(phrases: Iterable[str], joining: bool = False) -> frozenset[str]:
    """Every word of the given names and terms, as :func:`key` writes it, but the short
    lower-case words that join a longer term's ("and", "of"), unless ``joining``."""
    known = set()
    for phrase in phrases:
        parts = phrase.split()
        for part in parts:
            word = key(part)
            ordinary = len(parts) > 1 and part.islower() and len(word) <= JOINING_LETTERS
            if word and (joining or not ordinary):
                known.add(word)
    return frozenset(known)


def document_known(document: EpisodeDocument) -> frozenset[str]:
    """The show's words for this document: its vocabulary and its speakers' names."""
    return known_words([*document.vocabulary, *(s.name for s in document.speakers)])


def _p(word: Word) -> float:
    return 1.0 if word.probability is None else word.probability


def needs_review(
    words: Sequence[Word],
    index: int,
    known: frozenset[str],
    threshold: float = THRESHOLD,
    bridge: float = BRIDGE_THRESHOLD,
) -> bool:
    """Whether ``words[index]`` is shaded (see the module docstring); ``bridge`` 0 leaves out
    the rule for a word between two unsure ones."""
    word = words[index]
    if word.probability is None or word.original is not None or key(word.text) in known:
        return False
    neighbours = [_p(w) for w in (*words[max(index - 1, 0) : index], *words[index + 1 : index + 2])]
    p = word.probability
    return (
        p < threshold
        or (p < NEIGHBOUR_THRESHOLD and min(neighbours, default=1.0) < NEIGHBOUR_LOW)
        or (p < bridge and len(neighbours) == 2 and max(neighbours) < threshold)
    )


def editor_rule(document: EpisodeDocument) -> dict[str, Any]:
    """What the editor's page needs to shade as :func:`needs_review` does."""
    return {
        "threshold": THRESHOLD,
        "neighbour_threshold": NEIGHBOUR_THRESHOLD,
        "neighbour_low": NEIGHBOUR_LOW,
        "bridge_threshold": BRIDGE_THRESHOLD,
        "known": sorted(document_known(document)),
    }
