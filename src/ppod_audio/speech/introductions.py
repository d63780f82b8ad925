"""Naming speaker clusters from what is said: introductions and being addressed by name.

Most episodes name their people aloud: "My name is Steve Macabee", "Hi, I'm Jasmine", "So
Jasmine, can you introduce yourself?" (which names whoever speaks *next*), "Thanks, Jasmine"
(which names whoever spoke *before*). When no voiceprint decides a cluster, this evidence does.

Only the people listed for the episode can be named, so a recognition slip ("Steve Markham" for
Steve Macabee, "Jasmin") is matched fuzzily against that short roster, never against the open
vocabulary. Each piece of evidence adds a weight to a (cluster, person) score; a cluster that
says a name outside an introduction is, a little, not that person (people rarely name
themselves in passing). The assignment is joint (Hungarian, one person per cluster), as for
voiceprints, and each name carries a confidence in [0, 1] and the evidence behind it, so a
guess from one passing mention can be flagged for an editor.

Pure: words with cluster labels and a list of names in, names out. No audio, no models.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from ..transcript.model import Word

SELF_INTRO = 3.0
""""I'm Jasmine": the strongest evidence there is, short of a voiceprint."""
ADDRESSED_NEXT = 1.0
"""A name at the end of a turn ("... So Jasmine, where do ...?"): the next speaker is asked."""
THANKED_PREVIOUS = 0.75
""""Thanks, Jasmine" opening a turn: the previous speaker was Jasmine."""
SAID_OTHER = -0.5
"""A cluster that says a name in passing is probably not that person."""
GUESS_BELOW = 0.7
"""Confidence under which a name is a guess and ``ppod process`` warns about it: one passing
address (0.63) or one thank-you (0.53) alone is a guess; a self-introduction (0.95), or being
addressed and thanked (0.83), is not."""

END_WINDOW = 15
"""Words at the end of a turn in which a name addresses the next speaker."""
START_WINDOW = 6
"""Words at the start of a turn in which "thanks, <name>" names the previous speaker."""

_INTRO_CUES: tuple[tuple[str, ...], ...] = (
    ("i'm",),
    ("i", "am"),
    ("im",),
    ("my", "name", "is"),
    ("my", "name's"),
    ("name's",),
    ("call", "me"),
    ("this", "is"),
    ("it's",),
)
"""Words right before a self-introduced name. "this is X" and "it's X" count only when the name
ends the clause or is followed by "speaking"/"here" ("this is Jasmine's area" is not one)."""
_LOOSE_CUES = {("this", "is"), ("it's",)}
_CLAUSE_ENDERS = {"speaking", "here", "and", "i'm", "i"}
_ACKNOWLEDGE = {"thanks", "thank", "cheers", "lovely", "brilliant", "hi", "hello", "morning"}
"""Words before a name that answers the previous speaker: "Thanks, Jasmine", "Morning, Steve"."""
_VOCATIVE_CUES = {"so", "and", "now", "well", "okay", "ok", "right", "then", "you"}
"""Words after which a name at the start of a clause is someone being spoken to."""
_TOKEN = re.compile(r"[^\w']+")


@dataclass(frozen=True)
class Person:
    """A roster entry and the forms of it a transcript may contain."""

    name: str
    forms: tuple[str, ...]
    """Each word of the name, lower case: first name and surname(s). A full name is matched as
    its first name followed by a surname, so "Steve Markham" is Steve Macabee by "Steve"."""

    @classmethod
    def of(cls, name: str) -> Person:
        return cls(name, tuple(dict.fromkeys(p for p in _TOKEN.split(name.lower()) if p)))


@dataclass
class Naming:
    """Who a cluster is, how sure, and the evidence (for report.json and for the editor)."""

    name: str
    confidence: float
    score: float
    evidence: list[str] = field(default_factory=list)

    @property
    def guess(self) -> bool:
        return self.confidence < GUESS_BELOW


@dataclass(frozen=True)
class _Token:
    text: str  # lower case, punctuation stripped
    capital: bool
    pause: bool  # punctuation after it: "Jasmine," "Rebecca?"


@dataclass
class _Turn:
    speaker: str
    tokens: list[_Token]
    start: float


def _tokens(words: Iterable[Word]) -> list[_Token]:
    tokens = []
    for word in words:
        raw = word.text.strip()
        text = _TOKEN.sub("", raw.lower().replace("’", "'"))
        if not text:
            continue
        tail = raw[-1:]
        tokens.append(_Token(text, raw[:1].isupper(), tail in ",?!.;:"))
    return tokens


def turns_of(words: Sequence[Word]) -> list[_Turn]:
    """Consecutive words with the same cluster label, in time order (unlabelled words skipped)."""
    turns: list[_Turn] = []
    for word in sorted(words, key=lambda w: w.start):
        if not word.speaker:
            continue
        if turns and turns[-1].speaker == word.speaker:
            turns[-1].tokens += _tokens([word])
        else:
            turns.append(_Turn(word.speaker, _tokens([word]), word.start))
    return [turn for turn in turns if turn.tokens]


def match_token(token: _Token, people: Sequence[Person]) -> tuple[int, float] | None:
    """The roster person ``token`` names, and how well (0-1), or None.

    Exact forms always match; a misspelt one only when capitalised (a proper noun to the
    recogniser) and close: 80 % similar, 88 % for a short word, where one letter is a lot.
    """
    if token.text.endswith("'s") or len(token.text) < 3:
        return None  # "Steve's": about Steve, not Steve
    best: tuple[int, float] | None = None
    for index, person in enumerate(people):
        for form in person.forms:
            score = fuzz.ratio(token.text, form) / 100
            needed = 1.0 if not token.capital else 0.88 if len(form) <= 4 else 0.8
            if score >= needed and (best is None or score > best[1]):
                best = (index, score)
    return best


def _self_introductions(turn: _Turn, people: Sequence[Person]) -> list[tuple[int, int, float]]:
    """(token index, person, similarity) for each "I'm <name>" in the turn."""
    found = []
    texts = [t.text for t in turn.tokens]
    for cue in _INTRO_CUES:
        for start in range(len(texts) - len(cue)):
            if tuple(texts[start : start + len(cue)]) != cue:
                continue
            at = start + len(cue)
            if cue != ("i'm",) and cue != ("im",) and turn.tokens[at - 1].pause:
                continue  # "this is, ..." is no introduction
            matched = match_token(turn.tokens[at], people)
            if matched is None:
                continue
            if cue in _LOOSE_CUES and not _ends_clause(turn.tokens, at, people):
                continue
            found.append((at, matched[0], matched[1]))
    return found


def _ends_clause(tokens: Sequence[_Token], at: int, people: Sequence[Person]) -> bool:
    """The name at ``at`` (perhaps with a surname after it) closes its clause."""
    end = at + 1 if at + 1 < len(tokens) and match_token(tokens[at + 1], people) else at
    if tokens[end].pause or end + 1 >= len(tokens):
        return True
    return tokens[end + 1].text in _CLAUSE_ENDERS


def _vocative(tokens: Sequence[_Token], at: int, people: Sequence[Person]) -> bool:
    """The name at ``at`` is someone spoken to ("So Jasmine, ...", "And Rebecca?", "right,
    Rebecca,"), not someone spoken about ("as Rebecca said")."""
    before = tokens[at - 1] if at else None
    if before is not None and not before.pause and before.text not in _VOCATIVE_CUES:
        return False
    end = at + 1 if at + 1 < len(tokens) and match_token(tokens[at + 1], people) else at
    return (
        tokens[end].pause
        or end + 1 == len(tokens)
        or (before is not None and before.text in _VOCATIVE_CUES)
    )


def _mentions(turn: _Turn, people: Sequence[Person]) -> list[tuple[int, int, float]]:
    """(token index, person, similarity) for every roster name said in the turn.

    A surname right after a first name of the same person is one mention, not two.
    """
    found: list[tuple[int, int, float]] = []
    for index, token in enumerate(turn.tokens):
        matched = match_token(token, people)
        if matched is None:
            continue
        if found and found[-1][0] == index - 1 and found[-1][1] == matched[0]:
            continue
        found.append((index, *matched))
    return found


def evidence_scores(
    words: Sequence[Word], names: Sequence[str]
) -> tuple[list[str], np.ndarray, dict[tuple[str, int], list[str]]]:
    """Clusters (in order of first words), their scores against ``names``, and why.

    ``scores[c, p]`` sums the weights of every piece of evidence that cluster ``c`` is person
    ``p`` (each scaled by how well the name matched); ``why`` keeps a line per piece.
    """
    people = [Person.of(name) for name in names]
    turns = turns_of(words)
    clusters = list(dict.fromkeys(turn.speaker for turn in turns))
    row = {cluster: index for index, cluster in enumerate(clusters)}
    scores = np.zeros((len(clusters), len(people)))
    why: dict[tuple[str, int], list[str]] = {}

    def add(cluster: str, person: int, weight: float, reason: str) -> None:
        scores[row[cluster], person] += weight
        if weight > 0:
            why.setdefault((cluster, person), []).append(reason)

    for number, turn in enumerate(turns):
        intros = _self_introductions(turn, people)
        introduced = {at for at, _, _ in intros}
        for at, person, similarity in intros:
            add(turn.speaker, person, SELF_INTRO * similarity,
                f"introduces themselves: {_quote(turn, at)}")  # fmt: skip
        previous = turns[number - 1] if number else None
        following = next((t for t in turns[number + 1 :] if t.speaker != turn.speaker), None)
        for at, person, similarity in _mentions(turn, people):
            if at in introduced or (at - 1) in introduced:
                continue  # the introduction itself (and its surname)
            add(turn.speaker, person, SAID_OTHER, "")
            before = turn.tokens[at - 1].text if at else ""
            if at < START_WINDOW and before in _ACKNOWLEDGE | {"you"} and previous is not None:
                if previous.speaker != turn.speaker:
                    add(previous.speaker, person, THANKED_PREVIOUS * similarity,
                        f"thanked by the next speaker: {_quote(turn, at)}")  # fmt: skip
            elif (
                at >= len(turn.tokens) - END_WINDOW
                and following is not None
                and _vocative(turn.tokens, at, people)
            ):
                add(following.speaker, person, ADDRESSED_NEXT * similarity,
                    f"addressed just before speaking: {_quote(turn, at)}")  # fmt: skip
    return clusters, scores, why


def _quote(turn: _Turn, at: int) -> str:
    words = [t.text for t in turn.tokens[max(0, at - 3) : at + 3]]
    return f'"{" ".join(words)}" at {turn.start:.1f} s'


def name_from_introductions(
    words: Sequence[Word],
    names: Sequence[str],
    clusters: Sequence[str] | None = None,
) -> dict[str, Naming]:
    """Name ``clusters`` (default: every labelled cluster) from ``names``, one person each.

    Evidence is gathered over all the words (a cluster already named by its voice still
    introduces the others), but only ``clusters`` and ``names`` take part in the assignment:
    the caller passes the ones voiceprints left undecided. A cluster with no positive evidence
    for its assigned person is left out of the result.
    """
    from scipy.optimize import linear_sum_assignment

    found, scores, why = evidence_scores(words, names)
    wanted = [c for c in found if clusters is None or c in set(clusters)]
    if not wanted or not names:
        return {}
    rows = [found.index(c) for c in wanted]
    matrix = scores[rows]
    assigned_rows, assigned_cols = linear_sum_assignment(matrix, maximize=True)
    result: dict[str, Naming] = {}
    for r, p in zip(assigned_rows, assigned_cols, strict=True):
        support = float(matrix[r, p])
        if support <= 0:
            continue
        rivals = [matrix[r, q] for q in range(matrix.shape[1]) if q != p]
        rivals += [matrix[d, p] for d in range(matrix.shape[0]) if d != r]
        rival = max([0.0, *rivals])
        confidence = (1 - math.exp(-support)) * support / (support + rival)
        result[wanted[r]] = Naming(
            name=names[p],
            confidence=round(confidence, 3),
            score=round(support, 3),
            evidence=why.get((wanted[r], p), []),
        )
    return result
