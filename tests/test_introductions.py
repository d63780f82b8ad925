"""Naming speaker clusters from introductions in the transcript, when no voiceprint decides."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO, make_show

from ppod_audio.config import EpisodeManifest, ShowConfig, SpeakerEntry
from ppod_audio.speech.introductions import GUESS_BELOW, name_from_introductions
from ppod_audio.speech.naming import name_speakers
from ppod_audio.speech.stage import SpeechResult
from ppod_audio.speech.turns import Turn
from ppod_audio.transcript.model import Word

DEMO_CAST = ["Steve Macabee", "Jasmine Wark", "Rebecca Leggett"]


def words_of(turns: list[tuple[str, str]]) -> list[Word]:
    """Words as the speech stage hands them over: recogniser text, cluster label, 0.3 s apiece."""
    words, clock = [], 0.0
    for speaker, text in turns:
        for token in text.split():
            words.append(Word(text=token, start=clock, end=clock + 0.25, speaker=speaker))
            clock += 0.3
        clock += 1.0
    return words


def speech_of(turns: list[tuple[str, str]]) -> SpeechResult:
    words = words_of(turns)
    spans: dict[str, list[float]] = {}
    for word in words:
        span = spans.setdefault(word.speaker or "", [word.start, word.end])
        span[1] = word.end
    return SpeechResult(words=words, turns=[Turn(a, b, s) for s, (a, b) in spans.items()])


def manifest_of(names: list[str]) -> EpisodeManifest:
    return EpisodeManifest(title="T", speakers=[SpeakerEntry(name=n) for n in names])


# The demo's opening as tiny.en heard it: the host's surname misrecognised ("Markham").
OPENING = [
    ("A", "Hello and welcome to the P Pod. So Jasmine, can you just introduce yourself?"),
    ("B", "Of course. Hi, I'm Jasmine, and I'm the business manager for the partnership."),
    ("A", "Lovely. Thanks, Jasmine. And Rebecca?"),
    ("C", "Hi everyone, I'm Rebecca, and I am the partnership business officer."),
    ("A", "Brilliant, thank you. My name is Steve Markham, and I'm the training manager."),
    ("B", "Our partnership has come into play since 2019."),
]


def test_introductions_name_every_cluster_despite_a_misheard_surname() -> None:
    named = name_from_introductions(words_of(OPENING), DEMO_CAST)
    assert {c: n.name for c, n in named.items()} == {
        "A": "Steve Macabee",
        "B": "Jasmine Wark",
        "C": "Rebecca Leggett",
    }
    assert all(not n.guess for n in named.values())
    assert any("introduces themselves" in line for line in named["B"].evidence)
    assert any("addressed just before speaking" in line for line in named["C"].evidence)


def test_being_addressed_names_the_next_speaker_not_the_one_talking() -> None:
    """No one introduces themselves: the host's "So Jasmine, ...?" names whoever answers, and
    the host, who says both names, is neither of them."""
    turns = [
        ("A", "Welcome back. So Jasmine, where do partnerships come from?"),
        ("B", "They came into play in 2019 and replaced the board."),
        ("A", "Thank you, Jasmine. And Rebecca, what about the reviews?"),
        ("C", "Reviews happen within three weeks of an incident."),
    ]
    named = name_from_introductions(words_of(turns), ["Jasmine Wark", "Rebecca Leggett"])
    assert {c: n.name for c, n in named.items()} == {"B": "Jasmine Wark", "C": "Rebecca Leggett"}


def test_fuzzy_matching_is_for_proper_nouns_only() -> None:
    """ "Jasmin" (capitalised: a name to the recogniser) is Jasmine; "work" is not Wark, and
    "this is Jasmine's area" introduces nobody."""
    assert name_from_introductions(words_of([("A", "Hi, I'm Jasmin.")]), DEMO_CAST)["A"].name == (
        "Jasmine Wark"
    )
    said = [("A", "I'm work shy, and this is Jasmine's area really.")]
    assert name_from_introductions(words_of(said), DEMO_CAST) == {}


def test_a_listed_person_without_evidence_is_not_named() -> None:
    """Rebecca and Steve are listed but nothing in the talk says which cluster is which: only
    Jasmine is named, the other two stay "Speaker N", and the episode says so."""
    turns = [
        ("A", "Welcome to the P Pod. Today we talk about learning reviews."),
        ("B", "Hi, I'm Jasmine, the business manager."),
        ("C", "And reviews are done within three weeks, as Rebecca said last time."),
        ("A", "That is really interesting."),
    ]
    named = name_from_introductions(words_of(turns), DEMO_CAST)
    assert {c: n.name for c, n in named.items()} == {"B": "Jasmine Wark"}

    naming: dict[str, dict] = {}
    speakers, mapping, warnings = name_speakers(
        speech_of(turns), manifest_of(DEMO_CAST), ShowConfig(root=Path(".")), naming
    )
    names = {c: next(s.name for s in speakers if s.id == i) for c, i in mapping.items()}
    assert names["B"] == "Jasmine Wark"
    assert sorted([names["A"], names["C"]]) == ["Speaker 1", "Speaker 2"]
    assert "2 speaker(s) could not be named: check the transcript" in warnings
    assert naming["B"]["by"] == "introductions" and naming["B"]["confidence"] > GUESS_BELOW
    assert naming["A"]["by"] == "none"


def test_a_name_from_one_passing_mention_is_a_guess_with_a_warning() -> None:
    turns = [
        ("A", "Welcome to the P Pod. Over to you, Rebecca?"),
        ("B", "Reviews happen within three weeks."),
    ]
    naming: dict[str, dict] = {}
    speakers, mapping, warnings = name_speakers(
        speech_of(turns), manifest_of(["Rebecca Leggett", "Steve Macabee"]),
        ShowConfig(root=Path(".")), naming,
    )  # fmt: skip
    assert naming["B"]["name"] == "Rebecca Leggett"
    assert naming["B"]["confidence"] < GUESS_BELOW
    assert [w for w in warnings if w.startswith("named Rebecca Leggett from little evidence")]
    # The one cluster left takes the one person left, as before: by elimination.
    assert naming["A"] == {"name": "Steve Macabee", "by": "elimination"}


VOICES = DEMO.parent / "voices"


def test_voiceprints_win_over_the_transcript(tmp_path: Path) -> None:
    """A cluster whose voice is Steve's stays Steve even if the words say "I'm Jasmine"; the
    transcript only names the clusters voiceprints left open."""
    from ppod_audio.speech.voiceprints import list_voices

    shutil.copytree(VOICES, tmp_path / "voices")
    steve = next(v for v in list_voices(tmp_path / "voices") if v.slug == "steve-macabee")
    turns = [
        ("A", "Hi, I'm Jasmine, the business manager."),
        ("B", "And I'm Rebecca, the business officer."),
    ]
    speech = speech_of(turns)
    # B's voice is unlike every print (orthogonal to Steve's and far from the others).
    other = np.random.default_rng(3).normal(size=steve.embedding.shape)
    speech.embeddings = {"A": steve.embedding.tolist(), "B": (-np.abs(other)).tolist()}
    naming: dict[str, dict] = {}
    speakers, mapping, _ = name_speakers(
        speech, manifest_of(DEMO_CAST), ShowConfig(root=tmp_path), naming,
        voices=list_voices(tmp_path / "voices"),
    )  # fmt: skip
    assert naming["A"] == {"name": "Steve Macabee", "by": "voiceprint"}
    assert naming["B"]["name"] == "Rebecca Leggett" and naming["B"]["by"] == "introductions"


@pytest.mark.slow
def test_demo_named_from_introductions_alone(tmp_path: Path) -> None:
    """The demo recording through the real pipeline with no voice library at all: tiny.en's
    transcript names all three people, and ≥ 90 % of words are under the right name."""
    from ppod_audio.pipeline import ProcessOptions, process_episode
    from ppod_audio.speech.turns import read_rttm

    show = make_show(tmp_path / "raw_audio")
    shutil.copytree(DEMO, show / DEMO.name)
    assert not (show / "voices").exists()
    result = process_episode(show / DEMO.name, ProcessOptions(output_root=tmp_path / "out"))
    assert result.ok, result.error
    report = result.report
    assert sorted(n["name"] for n in report["naming"].values()) == sorted(DEMO_CAST)
    assert {n["by"] for n in report["naming"].values()} == {"introductions"}
    document = json.loads((tmp_path / "out" / DEMO.name / "episode.json").read_text())
    names = {s["id"]: s["name"].replace(" ", "_") for s in document["speakers"]}
    (truth,) = read_rttm(DEMO / "reference" / "reference.rttm").values()
    shift = report["intro_offset"] - report["trimmed_start"]
    right = total = 0
    for segment in document["segments"][1:]:
        for word in segment["words"]:
            middle = (word["start"] + word["end"]) / 2 - shift
            owner = [t.speaker for t in truth if t.start <= middle <= t.end]
            if owner:
                total += 1
                right += names[word["speaker"]] == owner[0]
    assert total > 350
    assert right / total >= 0.9, f"{right}/{total} words under the right name"
    assert not [w for w in report["warnings"] if "little evidence" in w]
