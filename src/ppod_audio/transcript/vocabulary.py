"""Mapping near-misses of the show's own vocabulary back to it, with context.

Speech recognition gets the words that matter most to this show wrong although the project
knows them: the episode lists "Steve Macabee" and the recogniser writes "Steve Markham"; the
glossary has "CSPR" and "rapid review" and it writes "CSDR" and "rapid renew". The glossary's
``[replace]`` table fixes a mishearing once someone has seen it; this module fixes the ones
nobody has seen yet, by similarity to the known vocabulary — and *only* to it:

* the vocabulary is the episode's speaker names and the glossary's terms (with its replacement
  targets); a word is only ever replaced by one of these, never by a dictionary guess;
* similarity is spelling (Levenshtein, ``rapidfuzz``) and sound (Metaphone, ``jellyfish``);
  acronyms are compared by their spoken letters ("CSDR" and "CSPR" rhyme: see-ess-dee/pee-ar);
* a common English word is never replaced on resemblance alone: "work" is not "Wark" and "renew"
  is not "review" unless context says so — another word of the term heard right beside it
  ("rapid renew"), or a cast member's first name before a capitalised surname ("My name is Steve
  Markham" when Steve Macabee is on the episode), or the recogniser unsure of a name said to
  someone ("Remaker, in terms of ..." at probability 0.29 -> Rebecca); a lower-case word that
  is no English word at all, or one the recogniser doubted, beside a term's other words heard
  right ("a rapid remute", "a rapid ring" at 0.17) needs only a faint likeness;
* a term may be heard in other pieces: one of its words as two or three ("part and sheep" at
  the end of "Somerset Safeguarding Children ..."), a letter's name run into the next word
  ("Beapod" for "P Pod"), an acronym spelt out ("C S P R", "see ess pee are", "CS PR").

Every replaced word keeps what was heard in :attr:`Word.original`, so the editor can show and
undo the correction, and keeps its timing (a phrase heard as more or fewer words shares the time
its words took, and its words are one correction, undone together: :attr:`Word.joined`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from rapidfuzz.distance import Levenshtein

from .model import Word

# Thresholds, set on the domain dev passages (bench/eval_domain.py) and the demo; see the tests
# for the words each one must leave alone.
TOKEN_WITH_ANCHOR = 0.55  # a word of a phrase whose other words were heard right
TOKEN_WITH_ANCHORS = 0.5  # ... when two or more of its words were ("A1 and Somerset
# conservatory" -> Avon ... Constabulary: 0.536)
LOST_WITH_ANCHOR = 0.3  # ... when that word is no English word, in lower case ("a rapid remute"
# for "rapid review", base on domain dev 50: 0.33, twice, once at probability 0.98), or one the
# recogniser doubted (under UNSURE_WORD: "a rapid ring," 0.33 at 0.17, "learning quality" 0.44
# at 0.24 on the grown dev passages)
ALL_BUT_ONE = 0.2  # the one word left of a term of three or more words whose others were
# heard right, in order ("Somerset Safeguarding Children sheep": 0.23; "serious case renewal":
# 0.34); a capitalised word there is another name ("... Children Board") and stays
ALL_BUT_ONE_JOINED = 0.6  # ... when that word was heard as two or three words ("Somerset
# Safeguarding Children part and sheep": "partandsheep" ~ Partnership 0.72)
SINGLE_WORD = 0.78  # a one-word term heard alone (and not a common word)
NAME_PART = 0.65  # a cast member's first name or surname heard alone ("Rebekah" -> Rebecca)
JOINED = 0.85  # a term heard as one word more or fewer ("bullet in" -> "Bulletin")
LETTER_THEN_WORD = 0.9  # a letter's name run into the next word ("Beapod" for "P Pod")
ACRONYM = 0.6  # letters compared as spoken
SURNAME_IN_INTRODUCTION = 0.3  # "My name is Steve Markham" -> Macabee
ADDRESSED = 0.35  # a cast member's first name or surname heard unsurely as the person spoken
# to ("Remaker, in terms of ..." -> Rebecca: 0.39, probability 0.29)
ADDRESSED_UNSURE = 0.5  # ... the recogniser's own probability for it under this
SURNAME = 0.45  # a cast first name then a capitalised surname elsewhere
UNSURE_WORD = 0.5  # a word the recogniser gave less probability than this it doubted itself
UNSURE_JOINED = 0.6  # ... words it doubted, run together beside the term's other words heard
# right ("Leon in bulletin," for "Learning Bulletin", base on domain dev 41: 0.61 at 0.24)
SURNAME_COMMON = 0.7  # ... when that surname was heard as a common word ("Jasmine Walk")

# Words at least this frequent in English (pyspellchecker's counts) are "common": only context
# can make one of them a mishearing of a term. "markham" counts 50, "renew" 4,493, "work" 1.2 M.
COMMON_COUNT = 300

# Acronyms that are not the show's but are said on it: never "corrected" into one of its own.
OTHER_ACRONYMS = frozenset(
    {
        "CSE", "CCE", "NHS", "GP", "GPS", "DBS", "DSL", "DSLS", "LADO", "MASH", "SEND", "SENCO",
        "CAMHS", "ICB", "NSPCC", "UK", "USA", "US", "TV", "OK", "BBC", "PDF", "EHCP", "ACE",
        "ACES", "CPD", "CIN", "CP", "LAC", "CLA", "YOT", "ADHD", "ASD", "FGM", "PREVENT", "IT",
        "HR", "CEO", "AI", "NATO", "EU", "AM", "PM", "ID", "FAQ", "CID", "PCSO", "MP", "MPS",
    }
)  # fmt: skip

# Words before a name that make it an introduction ("My name is", "I'm", "joined by").
_INTRODUCTIONS = ("name is", "i'm", "i am", "this is", "joined by", "with", "thanks", "thank you")

# Letters grouped by the vowel sound of their names: a recogniser confuses within a group.
_LETTER_SOUNDS = {
    **dict.fromkeys("BCDEGPTVZ", "e"),  # bee see dee ... (rhyme with "ee")
    **dict.fromkeys("AJK", "a"),  # ay jay kay
    **dict.fromkeys("FLMNSX", "f"),  # eff ell em en ess ex
    **dict.fromkeys("IY", "i"),  # eye why
    **dict.fromkeys("QUW", "u"),  # cue you double-you
    "H": "h",
    "O": "o",
    "R": "r",
}

# How letters are written when a recogniser spells out their names ("see ess pee are" for CSPR,
# "Bea" of "Beapod" for the P of "P Pod").
_LETTER_NAMES = {
    "a": "A", "ay": "A", "b": "B", "bee": "B", "be": "B", "bea": "B", "c": "C", "see": "C",
    "sea": "C", "cee": "C", "d": "D", "dee": "D", "e": "E", "ee": "E", "f": "F", "ef": "F",
    "eff": "F", "g": "G", "gee": "G", "h": "H", "aitch": "H", "haitch": "H", "i": "I",
    "eye": "I", "j": "J", "jay": "J", "k": "K", "kay": "K", "l": "L", "el": "L", "ell": "L",
    "m": "M", "em": "M", "n": "N", "en": "N", "o": "O", "oh": "O", "p": "P", "pee": "P",
    "pea": "P", "q": "Q", "cue": "Q", "r": "R", "are": "R", "ar": "R", "s": "S", "es": "S",
    "ess": "S", "t": "T", "tee": "T", "tea": "T", "u": "U", "you": "U", "v": "V", "vee": "V",
    "w": "W", "x": "X", "ex": "X", "y": "Y", "why": "Y", "wye": "Y", "z": "Z", "zed": "Z",
    "zee": "Z",
}  # fmt: skip

_LETTERS = re.compile(r"[^a-z0-9]")
# Words inside terms ("Avon and Somerset") too frequent to say a term may start nearby.
_GLUE = frozenset({"and", "of", "the", "a", "an", "to", "in", "for", "on", "with"})
_LONGEST = 6  # words in the longest term considered, plus the two it may be heard split into
_PARTS = re.compile(r"^(?P<lead>[^\w']*)(?P<core>.*?)(?P<trail>[^\w']*)$", re.DOTALL)
_SENTENCE_END = (".", "?", "!", "\u2026")


@dataclass(frozen=True)
class Entry:
    """One known name or term, as it is written."""

    text: str
    kind: str  # "name" (a cast member's full name), "part" (a first name or surname),
    # "acronym" or "term"

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.text.split())


@dataclass(frozen=True)
class Vocabulary:
    """The show's words to match against; immutable."""

    entries: tuple[Entry, ...] = ()
    names: tuple[str, ...] = ()  # the cast's full names

    def __bool__(self) -> bool:
        return bool(self.entries)


def is_acronym(text: str) -> bool:
    return 2 <= len(text) <= 6 and text.isalpha() and text.isupper()


def build_vocabulary(terms: Iterable[str], names: Iterable[str] = ()) -> Vocabulary:
    """Entries for the glossary's terms and replacement targets and the cast's names.

    A full name gives its first name and surname too ("Macabee" said alone), each a ``part``.
    """
    entries: dict[str, Entry] = {}
    cast = tuple(dict.fromkeys(" ".join(n.split()) for n in names if n and n.strip()))
    for name in cast:
        entries.setdefault(name.lower(), Entry(name, "name" if " " in name else "part"))
        for token in name.split():
            if len(token) > 2:
                entries.setdefault(token.lower(), Entry(token, "part"))
    for term in terms:
        term = " ".join(term.split())
        if not term or term.lower() in entries:
            continue
        kind = "acronym" if is_acronym(term) else "term"
        entries[term.lower()] = Entry(term, kind)
    return Vocabulary(tuple(entries.values()), cast)


# ------------------------------------------------------------------------------ comparisons


_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def letters(text: str) -> str:
    return _LETTERS.sub("", text.lower())


def _spoken(text: str) -> str:
    """Digits as the words they are said as: "A1" is heard for "Avon" (ay-one, ay-von)."""
    if text.isalpha():
        return text
    return "".join(_DIGITS[int(ch)] if ch.isdigit() else ch for ch in text)


@lru_cache(maxsize=65536)
def _metaphone(text: str) -> str:
    return jellyfish.metaphone(text) if text else ""


@lru_cache(maxsize=1 << 17)
def similarity(heard: str, target: str) -> float:
    """How alike two words are, 0..1: the mean of spelling and Metaphone sound similarity.

    A single letter ("P" of "P Pod") is compared by how its name sounds: "B" for "P" is 1.0.
    """
    a, b = _spoken(letters(heard)), _spoken(letters(target))
    if not a or not b:
        return 0.0
    if len(a) == len(b) == 1 and a.isalpha() and b.isalpha():
        return float(_LETTER_SOUNDS.get(a.upper()) == _LETTER_SOUNDS.get(b.upper()))
    spelt = Levenshtein.normalized_similarity(a, b)
    sounded = Levenshtein.normalized_similarity(_metaphone(a), _metaphone(b))
    return (spelt + sounded) / 2


def acronym_similarity(heard: str, target: str) -> float:
    """Acronyms as spoken letters: the mean of letter similarity and letter-sound similarity.

    "CSDR" for "CSPR" (D and P rhyme) scores 0.88; "SCT" for "SSCP" 0.63; "GP" for "CSPR" 0.42.
    """
    a, b = heard.upper(), target.upper()
    spelt = Levenshtein.normalized_similarity(a, b)
    sounded = Levenshtein.normalized_similarity(
        "".join(_LETTER_SOUNDS.get(ch, ch) for ch in a),
        "".join(_LETTER_SOUNDS.get(ch, ch) for ch in b),
    )
    return (spelt + sounded) / 2


@lru_cache(maxsize=1)
def _word_counts():  # type: ignore[no-untyped-def]
    from spellchecker import SpellChecker

    return SpellChecker(language="en").word_frequency


@lru_cache(maxsize=65536)
def is_common(word: str) -> bool:
    """A frequent English word: only context may make it a mishearing of a term."""
    word = word.lower().replace("\u2019", "'")
    return bool(word) and _word_counts()[word] >= COMMON_COUNT


# ----------------------------------------------------------------------------------- matching


def _split(text: str) -> tuple[str, str, str]:
    match = _PARTS.match(text)
    assert match is not None
    return match.group("lead"), match.group("core"), match.group("trail")


@lru_cache(maxsize=4096)
def _plurals(target: str) -> tuple[str, ...]:
    """Lower-case plural and possessive forms of a term's word ("injury" -> "injuries")."""
    word = target.lower()
    forms = [word + "s", word + "'s", word + "\u2019s", word + "es"]
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        forms.append(word[:-1] + "ies")
    return tuple(forms)


@lru_cache(maxsize=1 << 16)
def _same(heard: str, target: str) -> bool:
    """``heard`` is ``target`` or its plural/possessive, whatever the case."""
    heard = heard.lower()
    return heard == target.lower() or heard in _plurals(target)


def _inflect(target: str, heard: str) -> tuple[str, float]:
    """``target`` in the number ``heard`` has ("renews" -> "reviews"), and their similarity."""
    plain = similarity(heard, target)
    lower = heard.lower()
    for ending in ("'s", "\u2019s", "ies", "s"):
        if not lower.endswith(ending) or target.lower().endswith(ending[-1]):
            continue
        stem = heard[: -len(ending)] + ("y" if ending == "ies" else "")
        score = similarity(stem, target)
        if score > plain:
            if ending == "ies" or (ending == "s" and target.lower().endswith("y")):
                return _plurals(target)[-1] if target.lower().endswith("y") else target + "s", score
            return target + ("s" if ending in ("s", "ies") else ending), score
    return target, plain


@dataclass(frozen=True)
class _Heard:
    """One recognised word, taken apart once."""

    lead: str
    core: str
    trail: str
    lower: str
    capital: bool
    common: bool
    sentence_start: bool
    speaker: str | None
    probability: float


_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")  # "S.C.P" of "S.C.P.,"


def _features(words: list[Word]) -> list[_Heard]:
    heard: list[_Heard] = []
    for index, word in enumerate(words):
        lead, core, trail = _split(word.text)
        if _DOTTED.match(core):  # "S.C.P.," is the acronym "SCP" then ","; "S.C.P." keeps "."
            core = core.replace(".", "")
            trail = trail if trail == "." else trail.removeprefix(".")
        previous = words[index - 1].text.rstrip("\"')\u201d\u2019") if index else "."
        heard.append(
            _Heard(lead, core, trail, core.lower(), core[:1].isupper(),
                   is_common(core), previous.endswith(_SENTENCE_END), word.speaker,
                   1.0 if word.probability is None else word.probability)
        )  # fmt: skip
    return heard


@dataclass(frozen=True)
class _Match:
    """A correction found at a position: how many words it replaces, by what, how sure."""

    length: int
    # Per group of heard words (one word, or two run together / one heard for two), in order:
    # how many heard words it covers and the text that replaces them.
    groups: tuple[tuple[int, str], ...]
    score: float


def _introduced(heard: list[_Heard], index: int) -> bool:
    before = " ".join(h.lower for h in heard[max(0, index - 3) : index])
    return before.endswith(_INTRODUCTIONS)


def _cased(target: str, heard: _Heard) -> str:
    """A lower-case term takes the capital a sentence start gave the heard word."""
    if target[:1].islower() and heard.capital and heard.sentence_start:
        return target[:1].upper() + target[1:]
    return target


def _inside_sentence(window: list[_Heard]) -> bool:
    """No sentence end or change of speaker inside a phrase (the last word may end one)."""
    speaker = window[0].speaker
    return all(h.speaker == speaker for h in window) and not any(
        h.trail.strip() for h in window[:-1]
    )


@lru_cache(maxsize=64)
def _alignments(size: int, length: int) -> list[list[tuple[list[int], list[int]]]]:
    """Ways to pair ``length`` heard words with ``size`` term words, in order: one to one, or
    with one pair of neighbours on either side run together ("bullet in" = "Bulletin")."""
    if length == size:
        return [[([k], [k]) for k in range(size)]]
    ways: list[list[tuple[list[int], list[int]]]] = []
    if length == size + 1:  # one term word heard as two
        for j in range(size):
            ways.append(
                [([k + (k > j)], [k]) if k != j else ([j, j + 1], [j]) for k in range(size)]
            )
    if length == size + 2 and size >= 3:  # one word of a long term heard as three
        for j in range(size):
            ways.append(
                [([k + 2 * (k > j)], [k]) if k != j else ([j, j + 1, j + 2], [j])
                 for k in range(size)]
            )  # fmt: skip
    if length == size - 1:  # two term words heard as one
        for j in range(length):
            ways.append(
                [([k], [k + (k > j)]) if k != j else ([j], [j, j + 1]) for k in range(length)]
            )
    return ways


def _window_match(entry: Entry, heard: list[_Heard], index: int, length: int) -> _Match | None:
    """``heard[index : index + length]`` as ``entry``, under the best word alignment."""
    window = heard[index : index + length]
    targets = entry.tokens
    best: _Match | None = None
    for alignment in _alignments(len(targets), length):
        texts: list[str] = []
        scores: list[float] = []
        anchors = 0
        changed: list[_Heard] = []
        merged = False
        for heard_ids, target_ids in alignment:
            pieces = [window[k] for k in heard_ids]
            target = " ".join(targets[k] for k in target_ids)
            if len(pieces) == 1 and len(target_ids) == 1 and _same(pieces[0].core, target):
                anchors += 1
                scores.append(1.0)
                core = pieces[0].core
                proper = core.lower() == target.lower() and target != target.lower()
                texts.append(target if proper else core)  # "learning" of "Learning Bulletin"
                continue
            if _root_of(pieces[0].core, target):
                break  # "partners" of "Partnership": the word the term's is made from, said
            if len(pieces) > 1 or len(target_ids) > 1:
                merged = True
                if any(_same(p.core, targets[t]) for p in pieces for t in target_ids):
                    break  # a word already right is never run into another
                score = similarity("".join(p.core for p in pieces), target)
                if len(pieces) == 1 and _letter_then_word(pieces[0].core, target_ids, targets):
                    score = max(score, LETTER_THEN_WORD)
                if score < min(JOINED, ALL_BUT_ONE_JOINED) or (
                    len(pieces) > 1 and score <= max(similarity(p.core, target) for p in pieces)
                ):
                    break  # running heard words together must explain them better
                text = target
            else:
                if len(target) > 3 and letters(pieces[0].core).startswith(letters(target)):
                    break  # a word made from the term's ("reviewer", "reviewed"): its own word
                text, score = _inflect(target, pieces[0].core)
            changed += pieces
            scores.append(score)
            texts.append(text)
        else:
            if not changed:
                continue
            worst = min(scores)
            if not _acceptable(entry, window, changed, anchors, worst, merged, heard, index):
                continue
            texts[0] = _cased(texts[0], window[0])
            groups: list[tuple[int, str]] = []
            for (heard_ids, _), text in zip(alignment, texts, strict=True):
                first, last = window[heard_ids[0]], window[heard_ids[-1]]
                groups.append((len(heard_ids), first.lead + text + last.trail))
            candidate = _Match(length, tuple(groups), worst)
            if best is None or candidate.score > best.score:
                best = candidate
    return best


# Endings that make a new word of another ("partner" -> "partnership"): the shorter word said
# is that word, not a clipped hearing of the longer one. Inflections ("-ing", "-s") are not here.
_DERIVING = ("ship", "ment", "ness", "hood", "ity", "ism", "ation", "ion", "ance", "ence", "ory")


@lru_cache(maxsize=4096)
def _root_of(heard: str, target: str) -> bool:
    """``heard`` (or its plural) is a common word from which ``target``'s word is derived by a
    noun ending: "partners" for "Partnership" ("the children's partners and families")."""
    word, whole = letters(heard), letters(target)
    if not is_common(heard.strip(".,?!;:")):
        return False
    for stem in (word, word.removesuffix("s")):
        if stem and whole.startswith(stem) and whole[len(stem) :] in _DERIVING:
            return True
    return False


def _acceptable(
    entry: Entry,
    window: list[_Heard],
    changed: list[_Heard],
    anchors: int,
    worst: float,
    merged: bool,
    heard: list[_Heard],
    index: int,
) -> bool:
    """The context rules: when resemblance is enough to replace what was heard."""
    if merged and worst < JOINED:
        # Words run together under JOINED only as the one word left of a long term, or as
        # words the recogniser itself doubted beside the term's other words heard right.
        if not anchors:
            return False
        if all(h.probability < UNSURE_WORD for h in changed) and worst >= UNSURE_JOINED:
            return True
        return (
            _all_but_one(entry, changed, anchors, joined=True, window=window)
            and worst >= ALL_BUT_ONE_JOINED
        )
    if entry.kind == "name" and anchors:
        # A cast member's first name (or surname) heard right: the other part is theirs if it
        # was heard as a name (capitalised, not a common word) and sounds anything like it.
        if not all(h.capital for h in changed):
            return False
        if any(h.common for h in changed):  # "Jasmine Walk": a word, but close to the name
            return worst >= SURNAME_COMMON
        if worst >= SURNAME:
            return True
        initial = all(
            _metaphone(letters(h.core))[:1] == _metaphone(letters(t))[:1]
            for h, t in zip(window, entry.tokens, strict=False)
            if h in changed
        )
        return worst >= SURNAME_IN_INTRODUCTION and initial and _introduced(heard, index)
    if entry.kind in ("name", "part") and not all(h.capital for h in changed):
        return False  # names are heard capitalised; "work" is not "Wark"
    if anchors and not merged and _all_but_one(entry, changed, anchors):
        return worst >= ALL_BUT_ONE
    if anchors:  # another word of the term heard right beside it: "rapid renew"
        if merged:
            return worst >= JOINED
        if _lost(entry, changed, anchors) and worst >= LOST_WITH_ANCHOR:
            return True
        return worst >= (TOKEN_WITH_ANCHORS if anchors >= 2 else TOKEN_WITH_ANCHOR)
    if all(h.common for h in changed):
        # Common words alone: only run together, capitalised mid-sentence ("Summer set").
        return merged and window[0].capital and not window[0].sentence_start and worst >= JOINED
    if any(h.common for h in changed) and not merged:
        return False
    if entry.kind == "part" and not merged:
        heard_letters, target_letters = letters(changed[0].core), letters(entry.text)
        if heard_letters in target_letters and len(heard_letters) <= len(target_letters) - 2:
            return False  # a short form ("Becca"), said as such, not a mishearing
        return worst >= NAME_PART or (
            worst >= ADDRESSED and _addressed(heard, index, changed[0], entry.text)
        )
    return worst >= (JOINED if merged else SINGLE_WORD)


def _lost(entry: Entry, changed: list[_Heard], anchors: int) -> bool:
    """The one word of a term not heard right, every other word heard right, is a word the
    recogniser lost the sound of: lower case, and no English word ("a rapid remute") or one it
    doubted itself ("a rapid ring," at 0.17). Then even a faint likeness to the term's word is
    enough; a word it was sure of there ("a rapid rise") was said, a capitalised one ("Mendip
    Council") is a name, and a short joining word ("learning and") is neither."""
    if len(changed) != 1 or anchors != len(entry.tokens) - 1:
        return False
    word = changed[0]
    if word.capital or not word.core.isalpha() or len(word.core) < 3 or word.lower in _GLUE:
        return False
    return not word.common or word.probability < UNSURE_WORD


def _addressed(heard: list[_Heard], index: int, word: _Heard, name: str) -> bool:
    """``word`` is a cast member spoken to or introduced, by a name the recogniser was unsure
    of and starting with the name's sound: "Remaker, in terms of ..." (a sentence opened with a
    name and a comma) or "thanks Rebeka". A name said confidently ("Roger, can you") is
    another person's."""
    if word.probability >= ADDRESSED_UNSURE:
        return False
    if _metaphone(letters(word.core))[:1] != _metaphone(letters(name))[:1]:
        return False
    return (word.sentence_start and word.trail.startswith(",")) or _introduced(heard, index)


def _letter_then_word(heard: str, target_ids: list[int], targets: tuple[str, ...]) -> bool:
    """``heard`` is the name of a letter sounding like the term's letter, run into the term's
    next word: "Beapod" (bea + pod) for "P Pod"; not "iPod" (I does not rhyme with P)."""
    if len(target_ids) != 2:
        return False
    letter, word = targets[target_ids[0]], targets[target_ids[1]]
    if len(letter) != 1 or not letter.isalpha():
        return False
    lower = letters(heard)
    if not lower.endswith(word.lower()) or len(lower) == len(word):
        return False
    name = lower[: -len(word)]
    spelt = _LETTER_NAMES.get(name)
    return spelt is not None and _LETTER_SOUNDS.get(spelt) == _LETTER_SOUNDS.get(letter.upper())


def _all_but_one(
    entry: Entry,
    changed: list[_Heard],
    anchors: int,
    joined: bool = False,
    window: list[_Heard] | None = None,
) -> bool:
    """Every word of a term of three or more words heard right but one, which is not a word
    heard as a name (capitalised inside a sentence): the term itself is the context.
    ``joined``: that one word was heard as two or three words ("part and sheep").

    Inside a name whose every word has a capital, with its words heard right on both sides, a
    capital is no sign of another name: the recogniser heard a name and wrote one ("Somerset
    Safe Loading Children Partnership"); at a name's end it is ("... Children Board")."""
    size = len(entry.tokens)
    if size < 3 or anchors != size - 1 or (len(changed) != 1 and not joined):
        return False
    word = changed[0]
    if word.lower in _GLUE or len(letters(word.core)) < 3:
        return False  # "a serious case of neglect": the term ended before "of"
    if not (word.capital and not word.sentence_start):
        return True
    inside = window is not None and changed[0] is not window[0] and changed[-1] is not window[-1]
    return joined and inside and all(t[:1].isupper() for t in entry.tokens)


def _acronym_match(entry: Entry, heard: _Heard) -> _Match | None:
    core, suffix = heard.core, ""
    for ending in ("'s", "\u2019s", "s"):
        if core.endswith(ending) and is_acronym(core[: -len(ending)]):
            core, suffix = core[: -len(ending)], ending
            break
    if not is_acronym(core) or core == entry.text or core in OTHER_ACRONYMS:
        return None
    if is_common(core) or abs(len(core) - len(entry.text)) > 1:
        return None
    score = acronym_similarity(core, entry.text)
    if score < ACRONYM:
        return None
    return _Match(1, ((1, heard.lead + entry.text + suffix + heard.trail),), score)


def _spelt_acronym(entry: Entry, heard: list[_Heard], index: int, count: int) -> _Match | None:
    """``count`` heard words that spell ``entry`` letter by letter, or in pieces: "C S P R",
    "see ess pee are", "CS PR", "S S C P". Every word must be a letter, a letter's name or a
    capitalised group of letters; the letters must be the acronym's exactly, or (all written
    as capitals, "C S D R") as like it as a one-word acronym must be."""
    window = heard[index : index + count]
    if len(window) < count or not _inside_sentence(window):
        return None
    spelt, written = "", True
    for word in window:
        core = word.core.replace(".", "")
        if core.isalpha() and core.isupper() and len(core) <= len(entry.text):
            spelt += core
        elif word.lower in _LETTER_NAMES:
            spelt += _LETTER_NAMES[word.lower]
            written = False
        else:
            return None
    if len(spelt) != len(entry.text) or spelt in OTHER_ACRONYMS:
        return None
    score = 1.0 if spelt == entry.text else acronym_similarity(spelt, entry.text)
    if score < 1.0 and not (written and score >= ACRONYM):
        return None
    text = window[0].lead + entry.text + window[-1].trail
    return _Match(count, ((count, text),), score)


def _worth_trying(heard: list[_Heard], index: int, tokens: frozenset[str]) -> bool:
    """A cheap gate: most words are common, not the show's, and start nothing to match."""
    here = heard[index]
    if not here.common or here.capital:
        return True
    # A match starting here spans at most a term's words plus one.
    return any(h.lower in tokens for h in heard[index : index + _LONGEST + 1]) or (
        here.lower in _LETTER_NAMES and index + 1 < len(heard) and _letterish(heard[index + 1])
    )


def _letterish(word: _Heard) -> bool:
    """A letter's name or capital letters: a word an acronym spelt out may go on with."""
    core = word.core.replace(".", "")
    return word.lower in _LETTER_NAMES or (core.isalpha() and core.isupper())


def _could_start(entry: Entry, here: _Heard, following: str, window: list[_Heard]) -> bool:
    """A cheap bound: can a match of ``entry`` start at ``here`` at all? Either a word of the
    term is heard in the window, or the first heard word (alone or run into the next) is
    somewhat like the term's first word (every accepted score is at least 0.3)."""
    if entry.kind == "acronym":
        return True
    tokens = entry.tokens
    if any(_same(h.core, t) for h in window for t in tokens):
        return True
    first = tokens[0]
    pair = " ".join(tokens[:2])
    return (
        similarity(here.core, first) >= 0.3
        or similarity(here.core, pair) >= 0.3
        or (bool(following) and similarity(here.core + following, first) >= 0.3)
    )


def _best_match(heard: list[_Heard], index: int, vocabulary: Vocabulary) -> _Match | None:
    best: _Match | None = None
    here = heard[index]
    following = heard[index + 1].core if index + 1 < len(heard) else ""
    for entry in vocabulary.entries:
        size = len(entry.tokens)
        if not _could_start(entry, here, following, heard[index : index + size + 2]):
            continue
        candidates: list[_Match | None] = []
        if entry.kind == "acronym":
            candidates.append(_acronym_match(entry, heard[index]))
            candidates += [
                _spelt_acronym(entry, heard, index, n) for n in range(2, len(entry.text) + 1)
            ]
        for length in (size - 1, size, size + 1, size + 2):
            if length == size + 2 and size < 3:
                continue
            window = heard[index : index + length]
            if length < 1 or len(window) < length or not _inside_sentence(window):
                continue
            if length != size and entry.kind == "acronym":
                continue
            candidates.append(_window_match(entry, heard, index, length))
        for candidate in candidates:
            if candidate is None:
                continue
            if best is None or (candidate.score, candidate.length) > (best.score, best.length):
                best = candidate
    return best


def _exact_entry(heard: list[_Heard], index: int, vocabulary: Vocabulary) -> Entry | None:
    """The longest known name or term the words from ``index`` already are, if any."""
    found: Entry | None = None
    for entry in vocabulary.entries:
        size = len(entry.tokens)
        window = heard[index : index + size]
        if (
            size > (len(found.tokens) if found else 0)
            and len(window) == size
            and _inside_sentence(window)
            and all(_same(h.core, t) for h, t in zip(window, entry.tokens, strict=True))
        ):
            found = entry
    return found


def _exact_length(heard: list[_Heard], index: int, vocabulary: Vocabulary) -> int:
    """How many words from ``index`` already are a known name or term (longest), else 0."""
    entry = _exact_entry(heard, index, vocabulary)
    return len(entry.tokens) if entry else 0


def _as_written(words: list[Word], heard: list[_Heard], entry: Entry) -> list[Word]:
    """A term heard with a plural or possessive on a word before its last ("Somerset
    safeguarding children's partnership"), written as the term: only a term's last word takes
    number or a possessive. The changed word is recorded; the others are only recased."""
    tokens = entry.tokens
    if all(h.lower == t.lower() for h, t in zip(heard[:-1], tokens, strict=False)):
        return list(words)
    out: list[Word] = []
    for word, here, token in zip(words, heard, tokens, strict=True):
        text = token if word is not words[-1] else _cased_like(token, here.core)
        out += _replaced([word], here.lead + _cased(text, here) + here.trail)
    return out


def _cased_like(token: str, heard: str) -> str:
    """The heard last word (its number or possessive kept) in the term's capitals."""
    if token != token.lower() and heard.lower().startswith(token.lower()):
        return token + heard[len(token) :]
    return heard


def _replaced(heard: list[Word], text: str) -> list[Word]:
    """``heard`` (one word or a few) replaced by ``text`` (one word or a few), same time span.

    As many words written as heard are paired word by word, each keeping its own time and
    recording only its own heard word, and only if changed ("Steve Markham" -> "Steve Macabee"
    records "Markham" on "Macabee" alone). Otherwise the written words are one correction of
    the heard phrase (:func:`.clean.written_over`), sharing its time.
    """
    texts = tuple(text.split())
    if len(heard) == 1 and len(texts) == 1:
        word = heard[0]
        if text == word.text:
            return [word]
        if text.lower() == word.text.lower():  # a capital is no news to the editor
            return [word.model_copy(update={"text": text})]
        return [word.model_copy(update={"text": text, "original": word.original or word.text})]
    if len(heard) == len(texts):
        pairs = zip(heard, texts, strict=True)
        return [w for word, piece in pairs for w in _replaced([word], piece)]
    from .clean import written_over

    return written_over(heard, texts)


def correct_vocabulary(words: list[Word], vocabulary: Vocabulary) -> list[Word]:
    """Near-misses of ``vocabulary`` replaced by it, left to right, each recorded.

    A phrase already right is stepped over whole, so no part of it is re-matched ("Somerset
    Council" is never turned into something else word by word), unless a longer correction
    starts with it ("Steve Markham").
    """
    if not vocabulary:
        return list(words)
    heard = _features(words)
    tokens = frozenset(
        t.lower() for e in vocabulary.entries for t in e.tokens if t.lower() not in _GLUE
    )
    result: list[Word] = []
    index = 0
    while index < len(words):
        if not _worth_trying(heard, index, tokens):
            result.append(words[index])
            index += 1
            continue
        entry = _exact_entry(heard, index, vocabulary)
        exact = len(entry.tokens) if entry else 0
        match = _best_match(heard, index, vocabulary)
        if entry and (match is None or match.length <= exact):
            result += _as_written(words[index : index + exact], heard[index : index + exact], entry)
            index += exact
            continue
        if match is None:
            result.append(words[index])
            index += 1
            continue
        for count, text in match.groups:
            result += _replaced(words[index : index + count], text)
            index += count
    return result


def corrections(words: Iterable[Word]) -> list[Word]:
    """The words a correction made (those recording what was heard)."""
    return [word for word in words if word.original is not None]
