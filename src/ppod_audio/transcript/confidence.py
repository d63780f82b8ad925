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
``None``) is never shaded.

Where the words record beam search's runner-ups (``Word.disputed``: how many of the decode's
four other hypotheses wrote another word there, :mod:`ppod_audio.speech.hypotheses`, recorded
by default at no measurable cost), a word some runner-up disputes is shaded whatever its
probability: the recogniser hesitated over it. Such words come with a narrower neighbour rule
(under :data:`DISPUTED_NEIGHBOUR_THRESHOLD` instead of :data:`NEIGHBOUR_THRESHOLD`), which
pays for them in correct words shaded. On the 77 dev passages (base) this catches 61.5 % of
the errors while shading 7.6 % of the correct words, against 56.2 / 7.7 % for the probability
rule alone (``bench/shading_nbest.py``; eval 60.0 / 10.9 %, against 60.0 / 11.4 %); the
probability rule still decides, unchanged, for words that record no dispute (older documents).

Where the pipeline heard a doubted word a second time (``Word.heard_again`` set: every word
under :data:`HEAR_AGAIN_BELOW`, by tiny.en on a short clip, ``speech/recheck``; by default,
beside the recognition, since ``[speech] hear_doubted`` fits the pipeline's time budget that
way), the two hearings decide instead: the word is shaded when the second heard another word
there, or when its probability is under :data:`HEARD_SAME_LOW` even so. Low-probability
words heard right mostly come back the same; errors mostly do not. On the 77 dev passages
(base) this catches 68.3 % of the errors while shading 7.0 % of the correct words, against
61.5 / 7.6 % for the disputes rule, which still decides for words never heard again (eval
70.0 / 8.7 % against 60.0 / 10.9 %, ``bench/eval_domain.py``). The editor's page applies
the same rule (``editor/static/app.js``: ``needsReview``) with the parameters
:func:`editor_rule` gives it.
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
# Words that record beam search's runner-ups (Word.disputed): shaded when disputed; the
# neighbour rule reaches up to this probability instead (bench/shading_nbest.py, dev).
DISPUTED_NEIGHBOUR_THRESHOLD = 0.7
# A word under HEAR_AGAIN_BELOW is heard a second time, by another model (speech/recheck); once
# it has been, it is shaded when the second hearing heard another word there, or when it is
# under HEARD_SAME_LOW anyway. Chosen on the domain dev set (bench/shading_redecode.py).
HEAR_AGAIN_BELOW = 0.9
HEARD_SAME_LOW = 0.3
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


def _exempt(word: Word, known: frozenset[str]) -> bool:
    return word.probability is None or word.original is not None or key(word.text) in known


def worth_hearing_again(word: Word, known: frozenset[str]) -> bool:
    """Whether the pipeline hears ``word`` a second time (``speech/recheck``): a word the rule
    could shade, under :data:`HEAR_AGAIN_BELOW`."""
    return not _exempt(word, known) and (word.probability or 0.0) < HEAR_AGAIN_BELOW


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
    if _exempt(word, known):
        return False
    if word.heard_again is not None:  # heard a second time: shaded if heard otherwise
        p = word.probability
        assert p is not None
        return p < HEARD_SAME_LOW or (p < HEAR_AGAIN_BELOW and not word.heard_again)
    if word.disputed:  # a runner-up hypothesis wrote another word here
        return True
    neighbours = [_p(w) for w in (*words[max(index - 1, 0) : index], *words[index + 1 : index + 2])]
    p = word.probability
    reach = NEIGHBOUR_THRESHOLD if word.disputed is None else DISPUTED_NEIGHBOUR_THRESHOLD
    return (
        p < threshold
        or (p < reach and min(neighbours, default=1.0) < NEIGHBOUR_LOW)
        or (p < bridge and len(neighbours) == 2 and max(neighbours) < threshold)
    )


def editor_rule(document: EpisodeDocument) -> dict[str, Any]:
    """What the editor's page needs to shade as :func:`needs_review` does."""
    return {
        "threshold": THRESHOLD,
        "neighbour_threshold": NEIGHBOUR_THRESHOLD,
        "disputed_neighbour_threshold": DISPUTED_NEIGHBOUR_THRESHOLD,
        "neighbour_low": NEIGHBOUR_LOW,
        "bridge_threshold": BRIDGE_THRESHOLD,
        "hear_again_below": HEAR_AGAIN_BELOW,
        "heard_same_low": HEARD_SAME_LOW,
        "known": sorted(document_known(document)),
    }
