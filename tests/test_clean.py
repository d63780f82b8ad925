"""Transcript cleaning: each rule, timings kept, the seed's errors fixed, WER never worse."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import normalise, shared

from ppod_audio.errors import InputError
from ppod_audio.transcript.clean import (
    CleanOptions,
    apply_glossary,
    british_spelling,
    clean_words,
    collapse_repeats,
    key,
    rejoin_sentences,
    remove_fillers,
    spread,
)
from ppod_audio.transcript.glossary import Glossary, load_glossary, parse_glossary
from ppod_audio.transcript.model import Word

REPO = Path(__file__).parents[1]
SHOW_GLOSSARY = REPO / "raw_audio" / "glossary.toml"
SEED = "../seed/ppod-s01e02-what-is-the-sscp.txt"  # beside ../shared/data: a real episode's text


def words(text: str, speaker: str | None = None) -> list[Word]:
    """One word a second, 0.8 s long, so a timing change is easy to see."""
    return [
        Word(text=t, start=float(i), end=i + 0.8, probability=0.9, speaker=speaker)
        for i, t in enumerate(text.split())
    ]


def text(items: list[Word]) -> str:
    return " ".join(w.text for w in items)


def kept_timings_unchanged(before: list[Word], after: list[Word]) -> bool:
    """Every output word that is an input word (same text, or same word re-cased or
    re-punctuated) still has the span of an input word with that key: a kept word moved onto
    another word's time fails, which a check against every input span would let through."""
    spans: dict[str, set[tuple[float, float]]] = {}
    for word in before:
        spans.setdefault(key(word.text), set()).add((word.start, word.end))
    return all((w.start, w.end) in spans[key(w.text)] for w in after if key(w.text) in spans)


def test_kept_timings_check_catches_a_word_moved_onto_another():
    before = words("one two three")
    moved = [before[0], before[1].model_copy(update={"start": 2.0, "end": 2.8}), before[2]]
    assert kept_timings_unchanged(before, before)
    assert not kept_timings_unchanged(before, moved)


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return load_glossary(SHOW_GLOSSARY).with_terms(["Steve Macabee", "Jasmine Wark"])


# ---------------------------------------------------------------------------- fillers


def test_fillers_removed_with_their_punctuation():
    before = words("So um the partnership, uh, works. Um, we meet er. Then")
    after = remove_fillers(before, ("um", "uh", "er"))
    assert text(after) == "So the partnership, works. We meet. Then"
    assert kept_timings_unchanged(before, after)
    assert [w.start for w in after] == [0.0, 2.0, 3.0, 5.0, 7.0, 8.0, 10.0]


# ---------------------------------------------------------------------------- repeats


def test_repeats_collapsed_case_and_punctuation_insensitive():
    before = words("The the, partnership is is that that works. It. It was very very good")
    after = collapse_repeats(before, CleanOptions().deliberate_repeats)
    assert text(after) == "The partnership is is that that works. It. It was very very good"
    assert kept_timings_unchanged(before, after)
    assert after[0].start == 1.0  # the second "the" is the one kept


def test_an_ellipsis_ends_a_sentence_for_every_rule():
    """One rule for sentence ends (segments.ends_sentence): "It…" closes a sentence, so "It…
    it was" is not a stutter, and the capital after it is a sentence start, not a name."""
    before = words("It\u2026 it was")
    assert text(collapse_repeats(before, frozenset())) == "It\u2026 it was"
    spelled = british_spelling(words("the color\u2026 Color was"))
    assert text(spelled) == "the colour\u2026 Colour was"


def test_repeats_not_collapsed_across_speakers():
    before = words("yes", "A") + [w.model_copy(update={"speaker": "B"}) for w in words("yes")]
    assert len(collapse_repeats(before, frozenset())) == 2


# ---------------------------------------------------------------------------- glossary


def test_seed_errors_corrected(glossary):
    cases = {
        "Hello and welcome to the PPod. The": "Hello and welcome to the P Pod. The",
        "welcome to the Peapod, everyone": "welcome to the P Pod, everyone",
        "business officer for the SCP.": "business officer for the SSCP.",
        "a non existential injury, and": "a non-accidental injury, and",
        "Non existential injury is": "Non-accidental injury is",
        "the CS. PR said": "the CSPR said",
        "included as a factory partner.": "included as a statutory partner.",
        "the sscp in somerset": "the SSCP in Somerset",
    }
    for wrong, right in cases.items():
        assert text(apply_glossary(words(wrong), glossary)) == right


def test_glossary_timings(glossary):
    before = words("the PPod and factory partner and SCP and CS. PR")
    after = apply_glossary(before, glossary)
    assert text(after) == "the P Pod and statutory partner and SSCP and CSPR"
    p, pod = after[1], after[2]  # one word -> two: its span shared out, in order
    assert (p.start, pod.end) == (1.0, 1.8) and p.end == pod.start and p.start < p.end
    statutory, partner = after[4], after[5]  # two -> two: word for word
    assert (statutory.start, statutory.end, partner.start, partner.end) == (3.0, 3.8, 4.0, 4.8)
    cspr = after[-1]  # two -> one: first start, last end
    assert (cspr.start, cspr.end) == (8.0, 9.8)
    assert kept_timings_unchanged(before, after)


def test_glossary_is_whole_word_and_case_aware(glossary):
    # "SCP" is written with capitals: it must not rewrite other capitalisations or substrings.
    unchanged = "the scp SCPs Peapods factory, partner"
    assert text(apply_glossary(words(unchanged), glossary)) == unchanged
    assert text(apply_glossary(words("PEAPOD"), glossary)) == "P Pod"


def test_a_word_rewritten_word_for_word_keeps_what_else_it_records(glossary):
    """A glossary rewrite keeps a word's crosstalk flag and its second hearing: the editor
    still shades it by the two hearings, and the transcript still says two people talked."""
    heard = words("thanks jasmine wark")
    heard[1] = heard[1].model_copy(update={"overlap": True, "heard_again": False})
    out = apply_glossary(heard, glossary)
    assert text(out) == "thanks Jasmine Wark"
    assert (out[1].overlap, out[1].heard_again, out[1].original) == (True, False, None)
    assert (out[2].overlap, out[2].heard_again) == (False, None)
    run_together = [w.model_copy(update={"overlap": True}) for w in words("PEAPOD")]
    assert [w.overlap for w in apply_glossary(run_together, glossary)] == [True, True]  # "P Pod"


def test_spread_is_ordered_and_covers_span():
    spans = spread(1.0, 2.0, ("P", "Pod"))
    assert spans[0][0] == 1.0 and spans[-1][1] == 2.0 and spans[0][1] == spans[1][0]
    assert spread(1.0, 2.0, ()) == []  # nothing to share: callers need no guard


def test_with_terms_adds_names(glossary):
    assert "Steve Macabee" in glossary.terms
    assert text(apply_glossary(words("thanks jasmine wark"), glossary)) == "thanks Jasmine Wark"


def test_glossary_validation_names_file_and_key(tmp_path):
    path = tmp_path / "glossary.toml"
    path.write_text('terms = ["ok", 3]\n')
    with pytest.raises(InputError) as caught:
        load_glossary(path)
    assert str(path) in str(caught.value) and "terms[1]" in str(caught.value)
    path.write_text('[replace]\n"Peapod" = 7\n')
    with pytest.raises(InputError, match='replace."Peapod"'):
        load_glossary(path)
    path.write_text("term = []\n")
    with pytest.raises(InputError, match="'term'"):
        load_glossary(path)
    path.write_text("terms = [\n")
    with pytest.raises(InputError, match="TOML"):
        load_glossary(path)
    assert parse_glossary({}).terms == ()


# ---------------------------------------------------------------------------- sentences


def test_cut_sentences_rejoined():
    before = words("partners to. Ensure that there's. Robust multi agency arrangements.")
    after = rejoin_sentences(before)
    assert text(after) == "partners to ensure that there's robust multi agency arrangements."
    assert [(w.start, w.end) for w in after] == [(w.start, w.end) for w in before]


def test_real_sentence_ends_kept():
    kept = ("Lovely. Thanks Jasmine.", "Yeah. And so on.", "Welcome in. So we", "about your? Role")
    for sentence in kept:
        assert text(rejoin_sentences(words(sentence))) == sentence
    assert text(rejoin_sentences(words("and the. SSCP"), frozenset({"SSCP"}))) == "and the SSCP"
    assert text(rejoin_sentences(words("And. I guess"))) == "And I guess"


# ---------------------------------------------------------------------------- spelling


def test_british_spelling_leaves_names():
    before = words("We realized the color of the organization. Realize Mr Izod and Color Inc size")
    after = british_spelling(before)
    assert text(after) == (
        "We realised the colour of the organisation. Realise Mr Izod and Color Inc size"
    )
    assert kept_timings_unchanged(before, after)


def test_clean_words_all_rules(glossary):
    raw = "Um, so the the partnership is the. SCP and we. Realized the Peapod."
    after = clean_words(words(raw), CleanOptions(glossary=glossary, british_spelling=True))
    assert text(after) == "So the partnership is the SSCP and we. Realised the P Pod."


def test_clean_is_pure(glossary):
    before = words("the the PPod")
    copy = [w.model_copy() for w in before]
    clean_words(before, CleanOptions(glossary=glossary))
    assert before == copy


# ---------------------------------------------------------------------------- WER


@pytest.mark.shared
def test_seed_style_text_keeps_its_words(glossary):
    """The published (hand-cleaned) transcript, cleaned again, loses no words but fillers."""
    import jiwer

    paragraphs = [p for p in shared(SEED).read_text().split("\n\n") if len(p.split()) > 40][:8]
    published = " ".join(paragraphs)
    cleaned = text(clean_words(words(published), CleanOptions(glossary=glossary)))
    assert jiwer.wer(normalise(published), normalise(cleaned)) < 0.02
    assert "PPod" not in cleaned and " SCP" not in cleaned


@pytest.mark.slow
@pytest.mark.shared
def test_real_transcripts_not_worse_after_cleaning(glossary):
    import jiwer
    import soundfile

    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe

    references, raw, cleaned = [], [], []
    for name in ("jfk", "librivox-0870", "librivox-0920", "librispeech-1272-128104-0000"):
        audio, _ = soundfile.read(shared(f"speech/{name}.wav"), dtype="float32")
        result = transcribe(audio, TranscribeOptions(cpu_threads=2))
        references.append(normalise(shared(f"speech/{name}.txt").read_text()))
        raw.append(normalise(result.text))
        cleaned.append(normalise(text(clean_words(result.words, CleanOptions(glossary=glossary)))))
    assert jiwer.wer(references, cleaned) <= jiwer.wer(references, raw)


def test_a_glossary_replacement_of_another_length_is_one_correction() -> None:
    """ "Peapod" -> "P Pod" writes two words for one heard: both record it, the second joined to
    the first, so the editor undoes them together and puts "Peapod," back once; word for word
    ("Steve Markham" -> "Steve Macabee") only the changed word records its own heard word
    (issue #12)."""
    glossary = Glossary(replacements=(("Peapod", "P Pod"), ("Steve Markham", "Steve Macabee")))
    fixed = apply_glossary(words("the Peapod, with Steve Markham"), glossary)
    assert [(w.text, w.original, w.joined) for w in fixed] == [
        ("the", None, False),
        ("P", "Peapod,", False),
        ("Pod,", "Peapod,", True),
        ("with", None, False),
        ("Steve", None, False),
        ("Macabee", "Markham", False),
    ]
