"""Speaker assignment and paragraphing: words keep their times, paragraphs follow speakers."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from conftest import RAW_AUDIO

from ppod_audio.config import EpisodeManifest, ShowConfig, SpeakerEntry
from ppod_audio.speech.naming import name_speakers
from ppod_audio.speech.stage import SpeechResult
from ppod_audio.speech.turns import Turn
from ppod_audio.speech.voiceprints import list_voices
from ppod_audio.transcript import clean, formats
from ppod_audio.transcript.model import Word
from ppod_audio.transcript.segments import (
    assign_speakers,
    build_segments,
    ends_sentence,
    speaker_runs,
    starts_sentence,
    utterances,
)

VOICES = RAW_AUDIO / "voices"


def w(text: str, start: float, end: float, speaker: str | None = None) -> Word:
    return Word(text=text, start=start, end=end, speaker=speaker)


def speakers(words: list[Word]) -> list[str | None]:
    return [word.speaker for word in words]


# --- assign_speakers --------------------------------------------------------------------------


def test_each_word_takes_the_turn_it_overlaps_most() -> None:
    turns = [Turn(0.0, 2.0, "A"), Turn(1.8, 4.0, "B")]  # crosstalk from 1.8 to 2.0
    words = [w("one", 0.1, 0.5), w("two", 1.5, 1.9), w("three", 1.7, 2.3), w("four", 2.5, 3.0)]
    assert speakers(assign_speakers(words, turns)) == ["A", "A", "B", "B"]


def test_words_in_gaps_take_the_nearest_turn() -> None:
    turns = [Turn(1.0, 2.0, "A"), Turn(5.0, 6.0, "B")]
    words = [
        w("early", 0.0, 0.5),  # before every turn
        w("after-a", 2.2, 2.6),  # 0.2 s after A, 2.4 s before B
        w("before-b", 4.3, 4.8),  # 2.3 s after A, 0.2 s before B
        w("late", 7.0, 7.5),  # after every turn
    ]
    assert speakers(assign_speakers(words, turns)) == ["A", "A", "B", "B"]


def test_equidistant_gap_word_stays_with_the_earlier_turn() -> None:
    turns = [Turn(0.0, 1.0, "A"), Turn(3.0, 4.0, "B")]
    assert speakers(assign_speakers([w("mid", 1.5, 2.5)], turns)) == ["A"]


def test_zero_length_word_belongs_to_the_turn_containing_it() -> None:
    turns = [Turn(0.0, 1.0, "A"), Turn(1.0, 2.0, "B")]
    words = [w("x", 0.5, 0.5), w("y", 1.0, 1.0), w("z", 1.5, 1.5)]
    assert speakers(assign_speakers(words, turns)) == ["A", "B", "B"]


def test_nested_turns_tie_to_the_earlier_turn() -> None:
    # A talks throughout while B says "yes" (overlapped speech). A word inside B is covered as
    # much by A as by B: the tie goes to the turn that started first, so an interjection only
    # gets words when the diarizer ends the long turn around it (pyannote's exclusive mode).
    turns = [Turn(0.0, 10.0, "A"), Turn(4.0, 4.6, "B"), Turn(12.0, 13.0, "C")]
    words = [w("so", 1.0, 1.3), w("yes", 4.1, 4.5), w("and", 6.0, 6.2), w("ok", 12.1, 12.4)]
    assert speakers(assign_speakers(words, turns)) == ["A", "A", "A", "C"]
    exclusive = [Turn(0.0, 4.0, "A"), Turn(4.0, 4.6, "B"), Turn(4.6, 10.0, "A")]
    assert speakers(assign_speakers(words[:3], exclusive)) == ["A", "B", "A"]


def test_order_times_and_inputs_are_preserved() -> None:
    turns = [Turn(5.0, 9.0, "B"), Turn(0.0, 5.0, "A")]  # unsorted on purpose
    words = [w("later", 6.0, 6.5), w("first", 0.5, 0.9, speaker="old")]  # out of time order
    before = [word.model_dump() for word in words]
    out = assign_speakers(words, turns)
    assert [word.text for word in out] == ["later", "first"]
    assert speakers(out) == ["B", "A"]
    assert [(o.start, o.end, o.probability) for o in out] == [
        (i.start, i.end, i.probability) for i in words
    ]
    assert [word.model_dump() for word in words] == before  # inputs untouched


def test_without_turns_words_come_back_unchanged() -> None:
    words = [w("a", 0.0, 0.2, "S1")]
    out = assign_speakers(words, [])
    assert out == words and out[0] is not words[0]
    assert assign_speakers([], [Turn(0, 1, "A")]) == []


# Where two people talk at once (the stereo file's talkers, as the embedded diarizer labels
# them): B is heard as the dominant voice from 0.1 to 2.3 s with A under it, then A alone.
CROSSTALK = [Turn(0.1, 2.3, "B"), Turn(0.3, 2.3, "A", overlap=True), Turn(2.3, 4.8, "A")]


def test_a_crosstalk_word_goes_to_the_voice_of_its_utterance() -> None:
    """The recogniser wrote A's sentence on through the overlap: its words there go to A, whose
    words alone the sentence ends with, not to the voice the diarizer found dominant there (B).
    They stay flagged as crosstalk."""
    words = timed("against the wizard who had vanished behind the curtain.", "?", 1.3, step=0.38)
    out = assign_speakers(words, CROSSTALK)
    assert speakers(out) == ["A"] * len(words)
    assert [word.overlap for word in out[:3]] == [True, True, True]
    old = assign_speakers(words, CROSSTALK, overlap_rule="dominant")
    assert speakers(old)[:3] == ["B", "B", "B"]


def test_an_utterance_said_wholly_under_crosstalk_keeps_the_dominant_voice() -> None:
    """No word of its own utterance was said alone: nothing says whom the recogniser followed,
    so the diarizer's dominant voice stands; a sentence end or a pause closes an utterance."""
    said = timed("the horizon seems distant.", "?", 0.4, step=0.4)  # ends 1.92, in the overlap
    later = timed("he began again.", "?", 2.5, step=0.4)
    out = assign_speakers(said + later, CROSSTALK)
    assert speakers(out) == ["B"] * 4 + ["A"] * 3
    apart = timed("so we", "?", 1.2) + timed("left", "?", 2.6)  # 0.8 s of silence between
    assert speakers(assign_speakers(apart, CROSSTALK)) == ["B", "B", "A"]


def test_a_capital_opens_another_utterance_where_two_sentences_run_together() -> None:
    """B cuts in while A is talking and the recogniser, following B, writes B's sentence on
    from A's without a full stop ("help the transcripts You can sign up"): the capital opens
    B's utterance, whose words said alone are B's, so its crosstalk words go to B, where the
    diarizer found A dominant. "I" is no such capital."""
    turns = [Turn(0.0, 5.0, "A"), Turn(3.0, 5.0, "B", overlap=True), Turn(5.0, 8.0, "B")]
    a_said = timed("the sound of my voice will help the transcripts", "?", 0.0, step=0.33)
    b_said = timed("You can sign up to our newsletter for the bulletin.", "?", 3.0, step=0.4)
    out = assign_speakers(a_said + b_said, turns)
    assert speakers(out) == ["A"] * len(a_said) + ["B"] * len(b_said)
    old = assign_speakers(a_said + b_said, turns, overlap_rule="dominant")
    assert speakers(old)[len(a_said) : len(a_said) + 3] == ["A", "A", "A"]
    said = timed('so I think "I\'m sure" You know. it is', "?", 0.0)
    assert utterances(said) == [[0, 1, 2, 3, 4], [5, 6], [7, 8]]


def test_a_voice_not_heard_at_a_word_is_never_given_it() -> None:
    """The utterance's voice only takes the crosstalk words it is heard in: a word where two
    other people talk keeps one of them."""
    turns = [Turn(0.0, 2.0, "B"), Turn(0.0, 2.0, "C", overlap=True), Turn(2.0, 4.0, "A")]
    words = timed("one two three four five six seven eight", "?", 0.6, step=0.4)
    out = assign_speakers(words, turns)
    assert set(speakers(out)[:3]) == {"B"} and set(speakers(out)[4:]) == {"A"}


def _reference(words: list[Word], turns: list[Turn]) -> list[str]:
    """The O(n*m) definition the sweep must agree with."""
    result = []
    for word in words:
        scored = [
            (min(word.end, t.end) - max(word.start, t.start), -i, t)
            for i, t in enumerate(sorted(turns, key=lambda t: (t.start, t.end)))
        ]
        overlapping = [s for s in scored if s[0] > 0]
        if overlapping:
            result.append(max(overlapping, key=lambda s: (s[0], s[1]))[2].speaker)
        else:
            distance = [(max(t.start - word.end, word.start - t.end), t.start, t) for t in turns]
            result.append(min(distance, key=lambda d: (d[0], d[1]))[2].speaker)
    return result


def test_sweep_matches_the_brute_force_definition_on_random_data() -> None:
    rng = random.Random(7)
    turns = []
    t = 0.0
    for _ in range(150):
        t += rng.uniform(-0.5, 2.0)  # negative steps make overlapping turns
        length = rng.uniform(0.3, 8.0)
        turns.append(Turn(max(t, 0.0), max(t, 0.0) + length, rng.choice("ABCD")))
        t += length
    words = []
    for _ in range(2000):
        start = rng.uniform(0, t + 5)
        words.append(w("x", start, start + rng.uniform(0.05, 0.8)))
    # The sweep's own answer: the utterance rule then moves crosstalk words (tested below).
    assert speakers(assign_speakers(words, turns, overlap_rule="dominant")) == _reference(
        words, turns
    )


def test_assign_speakers_labels_every_word_of_an_episode() -> None:
    """10^4 words and 10^3 turns, as in an hour's episode. How long it takes is
    bench/bench_segments.py's figure (a wall-clock assertion fails on a busy machine)."""
    rng = random.Random(1)
    turns, t = [], 0.0
    for index in range(1000):
        length = rng.uniform(1.0, 6.0)
        turns.append(Turn(t, t + length, f"S{index % 3}"))
        t += length + rng.uniform(-0.2, 0.5)
    words, t = [], 0.0
    for _ in range(10_000):
        words.append(w("word", t, t + 0.3))
        t += 0.35
    out = assign_speakers(words, turns)
    assert len(out) == 10_000 and all(word.speaker for word in out)
    swept = assign_speakers(words, turns, overlap_rule="dominant")
    assert speakers(swept[:100]) == _reference(words[:100], turns), "the sweep's answer, at scale"


# --- build_segments ---------------------------------------------------------------------------


def timed(text: str, speaker: str, start: float, *, step: float = 0.4) -> list[Word]:
    """Words of ``text`` one after another from ``start``, ``step`` seconds apart."""
    return [
        w(token, start + i * step, start + i * step + step * 0.8, speaker)
        for i, token in enumerate(text.split())
    ]


def test_segments_split_where_the_speaker_changes() -> None:
    words = (
        timed("Hello and welcome. Can you introduce yourself?", "steve", 0.0)
        + timed("Of course. Hi, I'm Jasmine", "jasmine", 3.0)
        + timed("Lovely.", "steve", 5.5)
    )
    segments = build_segments(words)
    assert [s.speaker for s in segments] == ["steve", "jasmine", "steve"]
    assert segments[1].text == "Of course. Hi, I'm Jasmine"  # no sentence end needed to split
    for segment in segments:
        assert segment.text == " ".join(word.text for word in segment.words)
        assert segment.start == segment.words[0].start and segment.end == segment.words[-1].end


def test_long_monologue_splits_at_a_sentence_end_past_the_maximum() -> None:
    sentence = "This sentence has exactly eight words in it."
    words = timed(" ".join([sentence] * 30), "steve", 0.0, step=0.4)  # 240 words, 96 s
    segments = build_segments(words, max_paragraph_seconds=30.0)
    assert len(segments) > 1
    assert all(s.speaker == "steve" for s in segments)
    for segment in segments[:-1]:
        assert ends_sentence(segment.words[-1].text)
        assert segment.end - segment.start >= 30.0 - 0.4
        assert segment.end - segment.start < 30.0 + 8 * 0.4  # the first sentence end after 30 s
    assert [word for s in segments for word in s.words] == words


def test_a_long_pause_after_a_sentence_starts_a_paragraph_but_not_mid_sentence() -> None:
    words = (
        timed("First point made.", "steve", 0.0)
        + timed("Second point", "steve", 4.0)  # 2.8 s pause after a sentence end: new paragraph
        + timed("continues here.", "steve", 8.0)  # long pause mid-sentence: same paragraph
    )
    segments = build_segments(words, pause_split=1.5)
    assert [s.text for s in segments] == [
        "First point made.",
        "Second point continues here.",
    ]
    assert build_segments(words, pause_split=5.0)[0].text == (
        "First point made. Second point continues here."
    )


def test_sentence_end_detection() -> None:
    assert ends_sentence("done.") and ends_sentence("really?") and ends_sentence('"no."')
    assert ends_sentence("wait\u2026") and ends_sentence("(yes!)")
    assert not ends_sentence("partnership,") and not ends_sentence("SSCP")
    # An ellipsis ends a sentence, also inside a quote, and any closing bracket may follow.
    assert ends_sentence('x\u2026"') and ends_sentence("done.}") and ends_sentence("no.'")
    # One rule everywhere: cleaning and captions use this very function.
    assert clean.ends_sentence is ends_sentence and formats.ends_sentence is ends_sentence
    words = [w("Wait\u2026", 0, 1), w("So", 1, 2), w("then", 2, 3)]
    assert [starts_sentence(words, i) for i in range(3)] == [True, True, False]


def test_word_timings_and_objects_are_unchanged() -> None:
    words = timed("One. Two three. Four.", "a", 0.0) + timed("Five six.", "b", 9.0)
    dumped = [word.model_dump() for word in words]
    segments = build_segments(words, max_paragraph_seconds=0.1, pause_split=0.0)
    flat = [word for s in segments for word in s.words]
    assert all(a is b for a, b in zip(flat, words, strict=True))
    assert [word.model_dump() for word in flat] == dumped
    assert [s.text for s in segments] == ["One.", "Two three.", "Four.", "Five six."]


def test_unlabelled_words_and_empty_input() -> None:
    assert build_segments([]) == []
    segments = build_segments(timed("hm", "a", 0.0) + [w("uh", 1.0, 1.2)])
    assert [s.speaker for s in segments] == ["a", None]


@pytest.mark.parametrize("labels", [["a", "a", "b", "a"], ["x"], []])
def test_speaker_runs_groups_consecutive_labels(labels: list[str]) -> None:
    words = [w("t", i, i + 0.5, label) for i, label in enumerate(labels)]
    runs = speaker_runs(words)
    assert [word for run in runs for word in run] == words
    assert all(len({word.speaker for word in run}) == 1 for run in runs)
    assert all(a[-1].speaker != b[0].speaker for a, b in zip(runs, runs[1:], strict=False))


# --- naming speakers from enrolled voices ---------------------------------------------------


def _enrolled_as(library: Path, slug: str, name: str) -> None:
    """The show's enrolled voice, as if enrolled under ``name`` (its stored display name)."""
    with np.load(VOICES / f"{slug}.npz") as data:
        fields = {field: data[field] for field in data.files}
    fields["name"] = np.str_(name)
    np.savez(library / f"{slug}.npz", **fields)


def test_voices_enrolled_in_another_case_still_name_the_roster(tmp_path: Path) -> None:
    library = tmp_path / "voices"
    library.mkdir()
    _enrolled_as(library, "steve-macabee", "steve macabee")
    _enrolled_as(library, "jasmine-wark", "JASMINE WARK")
    prints = {voice.slug: voice.embedding for voice in list_voices(library)}
    speech = SpeechResult(
        turns=[Turn(0.0, 10.0, "SPEAKER_00"), Turn(10.0, 14.0, "SPEAKER_01")],
        embeddings={
            "SPEAKER_00": prints["jasmine-wark"].tolist(),
            "SPEAKER_01": prints["steve-macabee"].tolist(),
        },
    )
    roster = ["Steve Macabee", "Jasmine Wark", "Rebecca Leggett"]
    manifest = EpisodeManifest(title="T", speakers=[SpeakerEntry(name=n) for n in roster])
    show = ShowConfig(root=tmp_path)
    speakers, mapping, warnings = name_speakers(speech, manifest, show, voices=list_voices(library))
    named = {
        cluster: next(s.name for s in speakers if s.id == id_) for cluster, id_ in mapping.items()
    }
    assert named == {"SPEAKER_00": "Jasmine Wark", "SPEAKER_01": "Steve Macabee"}
    assert warnings == []
