"""Cleaning recognised words into the house style, keeping every kept word's timing.

Speech recognition leaves what a hand-editor of the published transcripts fixes every time
(see ``shared/seed/ppod-s01e02-what-is-the-sscp.txt``): fillers, stutters ("the the"), the
show's vocabulary misheard ("Peapod", "SCP", "non existential injury"), and sentences cut in two
at a decoding boundary ("to. Ensure that there's. Robust"). Each rule here is a pure function on
a list of :class:`Word` so that captions, chapters and the editor stay aligned with the audio: a
kept word keeps its start and end; a replaced phrase spreads over the time its words took.

The rules run in a fixed order: fillers, repeats, glossary, vocabulary, rejoining, spelling.
Removing fillers first lets "the um the" collapse; the glossary's explicit replacements run before
the vocabulary's similarity matching (:mod:`.vocabulary`), so a known mishearing is fixed as the
show wrote it; both run before rejoining so that their proper nouns are known not to be sentence
continuations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from .glossary import Glossary
from .model import Word, one_correction
from .segments import ends_sentence, starts_sentence
from .vocabulary import Vocabulary, correct_vocabulary

DEFAULT_FILLERS = ("um", "umm", "uh", "uhh", "uhm", "er", "erm", "mm", "mmm")

# Words said twice on purpose often enough that collapsing them would delete real speech.
DELIBERATE_REPEATS = frozenset({"that", "had", "very", "really", "no", "bye", "yeah", "ha", "is"})

# Words after which a sentence practically never ends in speech: a full stop after one of them
# is a recognition cut, not a sentence end ("partners to. Ensure that there's. Robust").
# Deliberately short: pronouns, "in", "on", "is", "been"... do end sentences ("come in.").
NON_TERMINAL = frozenset(
    {
        "a", "an", "the", "to", "of", "and", "or", "nor", "but", "with", "from", "into", "onto",
        "than", "because", "whether", "if", "my", "your", "our", "their", "its", "very",
        "that's", "there's", "it's", "what's", "who's", "where's", "we're", "they're",
        "you're", "i'm", "he's", "she's", "we've", "they've", "you've", "i've", "we'll",
        "they'll", "you'll", "i'll", "such", "every", "each", "whose", "which's",
    }
)  # fmt: skip

# A filler carrying one of these hands it to the word before ("agencies um. So"); an ellipsis
# after a filler is hesitation, so it is dropped with the filler rather than moved.
SENTENCE_END = (".", "?", "!")

_PARTS = re.compile(r"^(?P<lead>[^\w']*)(?P<core>.*?)(?P<trail>[^\w']*)$", re.DOTALL)


@dataclass(frozen=True)
class CleanOptions:
    """Which rules run (built from show.toml, the glossary and the cast for each run)."""

    fillers: tuple[str, ...] = DEFAULT_FILLERS
    collapse_repeats: bool = True
    glossary: Glossary | None = None
    rejoin_sentences: bool = True
    british_spelling: bool = False
    # The show's names and terms to map near-misses back to (None: no such correction).
    vocabulary: Vocabulary | None = None
    deliberate_repeats: frozenset[str] = field(default=DELIBERATE_REPEATS)


# ------------------------------------------------------------------------------ text helpers


def split_word(text: str) -> tuple[str, str, str]:
    """``'"Hello,'`` -> ``('"', 'Hello', ',')``: punctuation around the word, and the word."""
    match = _PARTS.match(text)
    assert match is not None  # the pattern matches any string
    return match.group("lead"), match.group("core"), match.group("trail")


def core(text: str) -> str:
    return split_word(text)[1]


def key(text: str) -> str:
    """Case- and punctuation-insensitive form used to compare words."""
    return core(text).lower()


def match_key(text: str) -> str:
    """What two words are compared by when aligning two versions of a transcript: a token of
    punctuation alone ("-") still has to match itself."""
    return key(text) or text.lower()


def capitalised(text: str) -> bool:
    word = core(text)
    return bool(word) and word[0].isupper()


def capitalise(text: str) -> str:
    lead, word, trail = split_word(text)
    return lead + word[:1].upper() + word[1:] + trail


def decapitalise(text: str) -> str:
    lead, word, trail = split_word(text)
    return lead + word[:1].lower() + word[1:] + trail


def _with_text(word: Word, text: str) -> Word:
    return word if text == word.text else word.model_copy(update={"text": text})


# ------------------------------------------------------------------------------------ fillers


def remove_fillers(words: list[Word], fillers: tuple[str, ...]) -> list[Word]:
    """Drop fillers; move a sentence end they carried to the word before, and a capital on.

    "agencies um. So" -> "agencies. So"; "Um, so we" -> "So we".
    """
    filler_set = {filler.lower() for filler in fillers}
    kept: list[Word] = []
    capital_next = False
    lead_next = ""
    for index, word in enumerate(words):
        lead, text, trail = split_word(word.text)
        if text.lower() not in filler_set:
            if capital_next:
                word = _with_text(word, capitalise(word.text))
            if lead_next and not split_word(word.text)[0]:
                word = _with_text(word, lead_next + word.text)
            kept.append(word)
            capital_next, lead_next = False, ""
            continue
        if trail.endswith(SENTENCE_END) and kept and not ends_sentence(kept[-1].text):
            previous = kept[-1]
            p_lead, p_core, p_trail = split_word(previous.text)
            kept[-1] = _with_text(previous, p_lead + p_core + p_trail.rstrip(",;:-") + trail[-1])
        if text[:1].isupper() and starts_sentence(words, index):
            capital_next = True
        lead_next = lead_next or lead
    return kept


# ------------------------------------------------------------------------------------ repeats


def collapse_repeats(words: list[Word], deliberate: frozenset[str]) -> list[Word]:
    """ "the the market" -> "the market": the first of two identical words is dropped.

    The kept (second) word keeps its own timing and takes the first one's capital, so a stutter
    at a sentence start stays a sentence start. A word ending a sentence is never a stutter
    ("I know it. It was"), and nor is a different speaker saying it.
    """
    kept: list[Word] = []
    for word in words:
        if kept and _is_stutter(kept[-1], word, deliberate):
            dropped = kept.pop()
            text = word.text
            if capitalised(dropped.text) and not capitalised(text):
                text = capitalise(text)
            lead, word_core, trail = split_word(text)
            if trail == ",":  # "the the, partnership": a comma after a stutter marks the stumble
                text = lead + word_core
            dropped_lead = split_word(dropped.text)[0]
            if dropped_lead and not lead:
                text = dropped_lead + text
            word = _with_text(word, text)
        kept.append(word)
    return kept


def _is_stutter(first: Word, second: Word, deliberate: frozenset[str]) -> bool:
    word = key(first.text)
    return (
        bool(word)
        and any(ch.isalpha() for ch in word)
        and word == key(second.text)
        and word not in deliberate
        and not ends_sentence(first.text)
        and first.speaker == second.speaker
    )


# ----------------------------------------------------------------------------------- glossary


@dataclass(frozen=True)
class Rule:
    """One phrase replacement: ``pattern`` words -> ``output`` words."""

    pattern: tuple[tuple[str, str], ...]  # (core, trailing punctuation) per word
    output: tuple[str, ...]
    case_sensitive: bool
    keep_case: bool  # the output has its own capitals: never re-case it


def _rule(wrong: str, right: str) -> Rule:
    pattern = tuple((split_word(token)[1], split_word(token)[2]) for token in wrong.split())
    # A key with a capital after its first letter is an acronym or brand ("SCP", "PPod"): it
    # must match as written, or ordinary words would be rewritten ("scp" is not a word anyway,
    # but "Csr" in a name would be). Otherwise "Peapod" also matches "peapod" and "PEAPOD".
    letters = "".join(ch for ch in wrong if ch.isalpha())
    return Rule(
        pattern=pattern,
        output=tuple(right.split()),
        case_sensitive=any(ch.isupper() for ch in letters[1:]),
        keep_case=any(ch.isupper() for ch in right),
    )


@lru_cache(maxsize=16)
def glossary_rules(glossary: Glossary) -> tuple[Rule, ...]:
    """Explicit replacements, then terms with capitals (which fix their own case); longest first."""
    rules = [_rule(wrong, right) for wrong, right in glossary.replacements]
    explicit = {tuple(c.lower() for c, _ in rule.pattern) for rule in rules}
    for term in glossary.terms:
        if any(ch.isupper() for ch in term):
            rule = _rule(term, term)
            rule = Rule(rule.pattern, rule.output, case_sensitive=False, keep_case=True)
            if tuple(c.lower() for c, _ in rule.pattern) not in explicit:
                rules.append(rule)
    # Stable sort: among equal lengths the file's order decides.
    return tuple(sorted(rules, key=lambda rule: -len(rule.pattern)))


def _matches(rule: Rule, words: list[Word], start: int) -> bool:
    if start + len(rule.pattern) > len(words):
        return False
    speaker = words[start].speaker
    for offset, (pattern_core, pattern_trail) in enumerate(rule.pattern):
        word = words[start + offset]
        lead, text, trail = split_word(word.text)
        if word.speaker != speaker:
            return False
        if (text if rule.case_sensitive else text.lower()) != (
            pattern_core if rule.case_sensitive else pattern_core.lower()
        ):
            return False
        last = offset == len(rule.pattern) - 1
        # Inside the phrase, punctuation must be absent or the pattern's own ("CS. PR"): a
        # comma or full stop between two words means they do not form the phrase.
        if not last and trail and trail != pattern_trail:
            return False
        if offset > 0 and lead:
            return False
    return True


def spread(start: float, end: float, texts: tuple[str, ...]) -> list[tuple[float, float]]:
    """Share ``[start, end]`` among ``texts`` in proportion to their length (a spoken proxy).

    Rounded to the millisecond as stored in ``episode.json``; no texts share nothing.
    """
    if not texts:
        return []
    weights = [len(text) + 1 for text in texts]
    total = sum(weights)
    spans: list[tuple[float, float]] = []
    position = start
    for weight in weights:
        following = position + (end - start) * weight / total
        spans.append((round(position, 3), round(following, 3)))
        position = following
    spans[-1] = (spans[-1][0], end)
    return spans


def _replacement(rule: Rule, matched: list[Word], sentence_start: bool) -> list[Word]:
    lead = split_word(matched[0].text)[0]
    trail = split_word(matched[-1].text)[2]
    texts = list(rule.output)
    if not rule.keep_case and capitalised(matched[0].text) and sentence_start:
        texts[0] = capitalise(texts[0])
    texts[0] = lead + texts[0]
    texts[-1] = texts[-1] + trail
    probabilities = [w.probability for w in matched if w.probability is not None]
    probability = min(probabilities) if probabilities else None
    heard = [w.original or w.text for w in matched]
    if len(texts) == len(matched):  # word for word: each keeps its own timing
        # What was heard is kept for the editor to see and undo; a change of case is no news.
        # Each word is the heard one rewritten, so what else it records (crosstalk, a second
        # hearing) stays with it.
        return [
            w.model_copy(update={"text": t, "probability": probability, "joined": False,
                                 "speaker": matched[0].speaker,
                                 "original": h if key(h) != key(t) else None})
            for t, w, h in zip(texts, matched, heard, strict=True)
        ]  # fmt: skip
    return written_over(matched, texts)


def written_over(heard: list[Word], texts: Sequence[str]) -> list[Word]:
    """``texts``, another number of words than ``heard``, written over the time ``heard``
    took, as one correction of it that the editor undoes together (:func:`one_correction`),
    said in crosstalk if any heard word was. Shared by the glossary's replacements and the
    vocabulary correction."""
    probabilities = [w.probability for w in heard if w.probability is not None]
    spans = spread(heard[0].start, heard[-1].end, tuple(texts))
    written = [
        Word(text=t, start=s, end=e, speaker=heard[0].speaker,
             probability=min(probabilities) if probabilities else None,
             overlap=any(w.overlap for w in heard))
        for t, (s, e) in zip(texts, spans, strict=True)
    ]  # fmt: skip
    return one_correction(written, " ".join(w.original or w.text for w in heard))


def apply_glossary(words: list[Word], glossary: Glossary) -> list[Word]:
    """Whole-word phrase replacements, longest match first, left to right, never re-scanned."""
    rules = glossary_rules(glossary)
    if not rules:
        return list(words)
    result: list[Word] = []
    index = 0
    while index < len(words):
        for rule in rules:
            if _matches(rule, words, index):
                matched = words[index : index + len(rule.pattern)]
                result += _replacement(rule, matched, starts_sentence(words, index))
                index += len(rule.pattern)
                break
        else:
            result.append(words[index])
            index += 1
    return result


# ---------------------------------------------------------------------------------- sentences


def proper_words(glossary: Glossary | None) -> frozenset[str]:
    """Words that keep their capital inside a sentence: the glossary's capitalised terms."""
    if glossary is None:
        return frozenset()
    found = set()
    for term in glossary.terms + tuple(right for _, right in glossary.replacements):
        for token in term.split():
            if any(ch.isupper() for ch in token):
                found.add(core(token))
    return frozenset(found)


def _ordinary(following: str, proper: frozenset[str]) -> bool:
    """Would ``following`` be lower case mid-sentence (not "I", a name or an acronym)?"""
    word = core(following)
    if not word or word in proper or word == "I" or word.startswith(("I'", "I’")):
        return False
    return not any(ch.isupper() for ch in word[1:])  # an acronym or a name like McDonald


def rejoin_sentences(words: list[Word], proper: frozenset[str] = frozenset()) -> list[Word]:
    """Undo full stops recognition put inside a sentence.

    A full stop is a cut (not an end) when the word before it cannot end an English sentence
    (:data:`NON_TERMINAL`: "to.", "the.", "there's.") and the next word is capitalised; the
    next word loses its capital unless it is "I", an acronym or a glossary name.
    A looser rule — any 1-3 word sentence before a capitalised word — was rejected: it would
    join the seed's real sentences "Lovely. Thanks Jasmine" and "Yeah. And".
    Question and exclamation marks are never touched.
    """
    result = list(words)
    for index in range(len(result) - 1):
        here, following = result[index], result[index + 1]
        lead, text, trail = split_word(here.text)
        if trail != "." or text.lower() not in NON_TERMINAL or here.speaker != following.speaker:
            continue
        if not capitalised(following.text):
            continue
        result[index] = _with_text(here, lead + text)
        if _ordinary(following.text, proper):  # "the. SSCP" -> "the SSCP": names keep capitals
            result[index + 1] = _with_text(following, decapitalise(following.text))
    return result


# ----------------------------------------------------------------------------------- spelling

_IZE = re.compile(r"^(?P<stem>[a-z]{3,}?)(?P<z>i|y)z(?P<end>e|es|ed|ing|ation|ations|er|ers)$")
_IZE_KEEP = frozenset({"capsize", "capsizes", "capsized", "capsizing", "citizen"})
_BRITISH = {
    "color": "colour", "behavior": "behaviour", "favor": "favour", "favorite": "favourite",
    "honor": "honour", "labor": "labour", "neighbor": "neighbour", "neighborhood": "neighbourhood",
    "humor": "humour", "flavor": "flavour", "harbor": "harbour", "rumor": "rumour",
    "endeavor": "endeavour", "center": "centre", "theater": "theatre", "fulfill": "fulfil",
    "catalog": "catalogue", "gray": "grey", "mom": "mum", "pediatric": "paediatric",
    "judgment": "judgement",
}  # fmt: skip
_PLURAL = ("s", "ed", "ing", "able", "al")


def british(word: str) -> str:
    """The British spelling of one lower-case word, or the word unchanged."""
    if word in _BRITISH:
        return _BRITISH[word]
    for suffix in _PLURAL:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and stem in _BRITISH:
            return _BRITISH[stem] + suffix
    if word not in _IZE_KEEP:
        match = _IZE.match(word)
        if match:
            return f"{match['stem']}{match['z']}s{match['end']}"
    return word


def british_spelling(words: list[Word], proper: frozenset[str] = frozenset()) -> list[Word]:
    """-ize -> -ise, -or -> -our and a few more; names (capitalised mid-sentence) untouched."""
    result: list[Word] = []
    for index, word in enumerate(words):
        lead, text, trail = split_word(word.text)
        is_name = capitalised(word.text) and not starts_sentence(words, index)
        if is_name or text in proper or not text.isalpha() or text[1:] != text[1:].lower():
            result.append(word)
            continue
        changed = british(text.lower())
        if changed != text.lower():
            changed = changed[:1].upper() + changed[1:] if text[:1].isupper() else changed
            word = _with_text(word, lead + changed + trail)
        result.append(word)
    return result


# ------------------------------------------------------------------------------------- public


def clean_words(words: list[Word], options: CleanOptions | None = None) -> list[Word]:
    """All the rules ``options`` turns on, in order; the input list is left unchanged."""
    options = options or CleanOptions()
    result = list(words)
    if options.fillers:
        result = remove_fillers(result, options.fillers)
    if options.collapse_repeats:
        result = collapse_repeats(result, options.deliberate_repeats)
    if options.glossary is not None:
        result = apply_glossary(result, options.glossary)
    if options.vocabulary:
        result = correct_vocabulary(result, options.vocabulary)
    proper = proper_words(options.glossary)
    if options.rejoin_sentences:
        result = rejoin_sentences(result, proper)
    if options.british_spelling:
        result = british_spelling(result, proper)
    return result
