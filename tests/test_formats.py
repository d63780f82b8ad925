"""Every published format, rendered from one realistic document and read back by real parsers."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import srt
import webvtt

from ppod_audio.transcript.formats import (
    CUE_MIN_SECONDS,
    RENDERERS,
    SRT_LINE_CHARS,
    VTT_LINE_CHARS,
    WARNING_LABEL,
    Cue,
    _pack_lines,
    _phrase_lines,
    _settle_times,
    build_cues,
    document_tokens,
    render_chapters_json,
    render_html,
    render_lyrics,
    render_srt,
    render_transcript_json,
    render_txt,
    render_vtt,
    txt_header_lines,
    write_all,
)
from ppod_audio.transcript.model import (
    WARNING_SPEAKER_ID,
    Chapter,
    EpisodeDocument,
    EpisodeInfo,
    Segment,
    Speaker,
    Word,
)
from ppod_audio.transcript.segments import build_segments

WARNING_TEXT = (
    "Please note \u2013 due to the nature of this podcast, themes relating to the abuse and "
    "neglect of children are discussed, with the content being designed for an adult audience "
    "for educational purposes. Listener discretion is advised."
)
INTRO = 12.0

# (speaker id, what they say). Long sentences, &, <, >, quotes and a URL longer than an SRT line.
SCRIPT: list[tuple[str, str]] = [
    (
        "steve",
        "Hello and welcome to the P Pod. The Partnership podcast from the Somerset Safeguarding "
        "Children Partnership. Throughout these podcasts, we'll be bringing you news and updates "
        "in relation to safeguarding children in Somerset and nationally, as well as exploring "
        "with you the various aspects of the partnership and the roles of the agencies within it. "
        "So if we can just start off Jasmine, can you just introduce yourself?",
    ),
    ("jasmine", "Of course. Hi, I'm Jasmine. And I'm the business manager for the SSCP."),
    ("steve", "Lovely. Thanks Jasmine & Rebecca."),
    (
        "rebecca",
        "Hi everyone, I'm Rebecca and I am the partnership business officer for the SSCP. "
        'People often ask "what does <the partnership> actually do?" and it is a fair question.',
    ),
    (
        "jasmine",
        "Yeah, of course. So our partnership has come into play since 2019, so prior to that you "
        "might have heard of the Safeguarding Children Board. So that was the previous "
        "arrangements in place where the local authority hosted partner agencies working towards "
        "multi agency safeguarding arrangements for children in the area. So the working together "
        "guidance that was published by the government in 2018 gave us this new idea of "
        "safeguarding partnerships, which places equal responsibility across the partners to "
        "ensure that there's robust multi agency safeguarding arrangements in the area. "
        "In Somerset the partnership is led by three agencies: Somerset Council, Somerset "
        "Integrated Care Board and Avon & Somerset Constabulary. So although it's led by those "
        "three agencies, any kind of organisation who works with children and families in "
        "Somerset is part of the partnership and involved in our projects, initiatives and our "
        "statutory responsibilities. We publish everything we learn, from rapid reviews to "
        "child safeguarding practice reviews, so that practitioners across every agency can "
        "take the learning back into their day to day work with children and families, and we "
        "check later whether it has actually changed anything on the ground. "
        "Sometimes the answer is yes and sometimes it is not yet, and both answers matter < "
        "because they tell us where to look next.",
    ),
    ("steve", "Can people find all of that online?"),
    (
        "rebecca",
        "Yes, everything is on somersetsafeguardingchildren.org.uk, and you can email "
        "ThePPod@somerset.gov.uk with comments & questions.",
    ),
    (
        "steve",
        "It's interesting because the government didn't include education as a statutory "
        "safeguarding partner, which I know caused a lot of debate at the time, and I think "
        "it's important to recognise the role that education plays in safeguarding children. "
        "We know that children spend a large proportion of their childhood in education, but "
        "education isn't a single body, it's not a single person and it's not a single agency, "
        "so no one school in Somerset could hold every school accountable. Whether that changes "
        "or not in the future, we'll have to see.",
    ),
    (
        "steve",
        "Brilliant. Thank you both very much for your time today, it's really appreciated.",
    ),
]
SPEAKERS = [
    Speaker(id=WARNING_SPEAKER_ID, name="Narrator"),
    Speaker(id="steve", name="Steve Macabee", role="SSCP Multiagency Training Manager"),
    Speaker(id="jasmine", name="Jasmine Wark", role="SSCP Business Manager"),
    Speaker(id="rebecca", name="Rebecca Leggett", role="SSCP Partnership Business Officer"),
]
NAMES = {speaker.id: speaker.name for speaker in SPEAKERS}


def script_words() -> list[Word]:
    """Timed words for :data:`SCRIPT`: word lengths vary with the word, pauses after sentences
    and between speakers, a little recognition jitter (overlapping words)."""
    words: list[Word] = []
    t = INTRO + 0.5
    for turn, (speaker, text) in enumerate(SCRIPT):
        for index, token in enumerate(text.split()):
            length = 0.12 + 0.045 * len(token)
            jitter = -0.05 if (turn + index) % 17 == 0 else 0.0  # starts before the last end
            words.append(
                Word(
                    text=token,
                    start=round(t + jitter, 3),
                    end=round(t + length, 3),
                    probability=0.9,
                    speaker=speaker,
                )
            )
            t += length + (0.7 if token.endswith((".", "?", "!")) else 0.08)
        t += 1.2
    return words


def make_document() -> EpisodeDocument:
    words = script_words()
    segments = build_segments(words, max_paragraph_seconds=30.0)
    warning = Segment(speaker=WARNING_SPEAKER_ID, start=0.0, end=INTRO - 1.0, text=WARNING_TEXT)
    return EpisodeDocument(
        episode=EpisodeInfo(
            slug="ppod-s01e02", title="What is the SSCP?", show="The P Pod", season=1, number=2
        ),
        audio="ppod-s01e02.mp3",
        duration=round(words[-1].end - 0.1, 3),  # the last word runs past the end of the file
        intro_offset=INTRO,
        speakers=SPEAKERS,
        segments=[warning, *segments],
        chapters=[
            Chapter(start=0.0, end=INTRO, title="Content warning"),
            Chapter(start=INTRO, title="What is the SSCP? & who's in it"),
        ],
    )


@pytest.fixture(scope="module")
def doc() -> EpisodeDocument:
    return make_document()


def squash(text: str) -> str:
    """Text without whitespace: captions re-wrap and split long words, but lose nothing."""
    return re.sub(r"\s+", "", text)


def speaker_changes(doc: EpisodeDocument) -> list[str]:
    changes: list[str] = []
    for segment in doc.segments:
        name = doc.speaker_name(segment.speaker)
        if not changes or changes[-1] != name:
            changes.append(name)
    return changes


def test_fixture_is_realistic(doc: EpisodeDocument) -> None:
    words = doc.words()
    assert len(words) > 400
    assert len(doc.segments) > len(SCRIPT) + 1  # the long monologue became several paragraphs
    assert {s.speaker for s in doc.segments} == set(NAMES)
    assert words[-1].end > doc.duration


# --- WebVTT -----------------------------------------------------------------------------------


def test_vtt_parses_with_voice_tags_and_short_lines(doc: EpisodeDocument) -> None:
    text = render_vtt(doc)
    assert text.startswith("WEBVTT\n\n")
    captions = webvtt.from_string(text).captions
    assert len(captions) > len(doc.segments)
    for caption in captions:
        assert caption.voice in NAMES.values()
        assert all(len(line) <= VTT_LINE_CHARS for line in caption.lines), caption.lines
        assert 1 <= len(caption.lines) <= 2
        assert caption.raw_text.startswith(f"<v {caption.voice}>")
    # Apple Podcasts reads speakers from the voice tags: they follow the document's speakers.
    voices: list[str] = []
    for caption in captions:
        if not voices or voices[-1] != caption.voice:
            voices.append(caption.voice)
    assert voices == speaker_changes(doc)


def test_vtt_times_are_monotonic_and_inside_the_episode(doc: EpisodeDocument) -> None:
    captions = webvtt.from_string(render_vtt(doc)).captions
    previous_end = 0.0
    for caption in captions:
        # webvtt-py's *_in_seconds are whole seconds: read the millisecond strings instead.
        start, end = _vtt_seconds(caption.start), _vtt_seconds(caption.end)
        assert previous_end <= start < end <= doc.duration
        previous_end = end
    assert captions[0].start == "00:00:00.000"


def _vtt_seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_vtt_escapes_and_keeps_every_word(doc: EpisodeDocument) -> None:
    text = render_vtt(doc)
    body = [line for line in text.splitlines()[1:] if line and "-->" not in line]
    assert any("&amp;" in line for line in body) and any("&lt;" in line for line in body)
    assert not any(re.search(r"&(?!amp;|lt;|gt;)", line) for line in body)
    captions = webvtt.from_string(text).captions
    spoken = "".join(caption.text for caption in captions)
    unescaped = spoken.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert squash(unescaped) == squash(doc.plain_text())


def test_vtt_cues_break_at_sentence_ends_and_stay_short(doc: EpisodeDocument) -> None:
    """A sentence end is the last thing in a cue, unless a sentence beside it is heard for
    under a second: then the two share a cue rather than one flashing past ("Lovely.")."""
    captions = webvtt.from_string(render_vtt(doc)).captions
    tokens = iter(document_tokens(doc))
    merged = 0
    for caption in captions:
        duration = _vtt_seconds(caption.end) - _vtt_seconds(caption.start)
        assert duration <= 7.5
        shown = [next(tokens) for _ in caption.text.split()]
        ends = [i for i, t in enumerate(shown[:-1]) if t.text.endswith((".", "?", "!"))]
        for i, cut in enumerate(ends):
            before = shown[(ends[i - 1] + 1) if i else 0 : cut + 1]
            after = shown[cut + 1 : (ends[i + 1] + 1) if i + 1 < len(ends) else len(shown)]
            spans = [max(t.end for t in p) - p[0].start for p in (before, after)]
            assert min(spans) < CUE_MIN_SECONDS, caption.text
            merged += 1
    assert merged  # the fixture has short sentences ("Lovely.", "Of course.")


def _cue_seconds(doc: EpisodeDocument) -> dict[str, list[tuple[float, float, str]]]:
    vtt = [
        (_vtt_seconds(c.start), _vtt_seconds(c.end), c.text)
        for c in webvtt.from_string(render_vtt(doc)).captions
    ]
    srt_cues = [
        (s.start.total_seconds(), s.end.total_seconds(), s.content)
        for s in srt.parse(render_srt(doc))
    ]
    return {"vtt": vtt, "srt": srt_cues}


def test_no_cue_shows_for_under_a_second(doc: EpisodeDocument) -> None:
    for name, cues in _cue_seconds(doc).items():
        short = [(text, round(end - start, 3)) for start, end, text in cues if end - start < 1.0]
        assert short == [], name


def _spoken_document(turns: list[tuple[str, str]], pause: float = 0.6) -> EpisodeDocument:
    """Timed words for constructed turns (0.1 s + 50 ms a letter, like fast speech)."""
    words: list[Word] = []
    t = 0.5
    for speaker, line in turns:
        for token in line.split():
            length = 0.1 + 0.05 * len(token)
            words.append(Word(text=token, start=round(t, 3), end=round(t + length, 3),
                              speaker=speaker))  # fmt: skip
            t += length + 0.05
        t += pause
    return EpisodeDocument(
        episode=EpisodeInfo(slug="x", title="T", show="S"),
        audio="x.mp3",
        duration=round(t + 1.0, 3),
        speakers=SPEAKERS,
        segments=build_segments(words),
    )


ABBREVIATED = _spoken_document(
    [
        ("steve", "Yes."),
        ("jasmine", "We wrote to Mr. Hartley and to Dr. Patel about it."),
        ("steve", "Right."),
        ("rebecca", "And J. R. Hartley replied, as did Mrs. Okafor, within a week of the letter."),
        ("steve", "Good. And the St. Mary's team?"),
    ],
    pause=0.15,
)


def test_no_cue_ends_inside_an_abbreviation() -> None:
    """ "Mr." used to end a cue as if it ended a sentence, flashing "Mr." alone (0.38 s)."""
    for name, cues in _cue_seconds(ABBREVIATED).items():
        for _, _, text in cues:
            last = text.split()[-1]
            assert last.rstrip(".") not in {"Mr", "Dr", "Mrs", "St", "J", "R"}, (name, text)
        assert all(end - start >= 1.0 for start, end, _ in cues), name


def test_one_word_turns_are_held_for_a_second_between_speakers() -> None:
    """ "Yes." and "Right." cannot merge across speakers: they stay on screen a second,
    taking the silence after them, and never overlap the next speaker's cue."""
    cues = _cue_seconds(ABBREVIATED)["srt"]
    yes = next(c for c in cues if c[2].endswith("Yes."))
    assert yes[1] - yes[0] >= 1.0
    for (_, end, _), (start, _, _) in zip(cues, cues[1:], strict=False):
        assert end <= start


def test_two_line_cues_break_between_phrases() -> None:
    """Greedy filling ends line one on "the" ("...officer for the" / "partnership..."); the
    phrase break puts "the" with its noun, and a line never ends on a title."""
    texts = ["I", "am", "the", "business", "officer", "for", "the", "partnership"]
    greedy = _pack_lines(texts, 0, 33, len)
    assert greedy[0][-1] == "the"
    lines = _phrase_lines(texts, 0, 33, len)
    assert [" ".join(line) for line in lines] == [
        "I am the business officer",
        "for the partnership",
    ]
    lines = _phrase_lines(["we", "wrote", "to", "Mr.", "Hartley", "about", "it"], 0, 20, len)
    assert lines[0][-1] != "Mr."
    # Across the realistic document: fewer SRT lines end inside a phrase than greedy filling.
    document = make_document()

    def name(speaker: str | None, first: bool) -> str:
        return f"{document.speaker_name(speaker)}: " if first and speaker else ""

    cues = build_cues(document, width=SRT_LINE_CHARS, max_lines=2, prefix=name)
    binding = {"the", "a", "an", "to", "of", "and", "for", "with", "my", "our"}
    ours = greedy_count = 0
    for cue in cues:
        texts = " ".join(cue.lines).split()
        packed = _pack_lines(texts, len(cue.prefix), SRT_LINE_CHARS, len)
        greedy_count += len(packed) == 2 and packed[0][-1].lower() in binding
        ours += len(cue.lines) == 2 and cue.lines[0].split()[-1].lower() in binding
    assert ours < greedy_count / 2, (ours, greedy_count)


# --- SRT --------------------------------------------------------------------------------------


def test_srt_parses_with_podcast_limits(doc: EpisodeDocument) -> None:
    text = render_srt(doc)
    subtitles = list(srt.parse(text))
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    assert re.findall(r"^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$", text, re.M)
    assert len(re.findall(r"-->", text)) == len(subtitles)
    previous_end = 0.0
    for subtitle in subtitles:
        lines = subtitle.content.split("\n")
        assert 1 <= len(lines) <= 2 and all(len(line) <= SRT_LINE_CHARS for line in lines), lines
        start, end = subtitle.start.total_seconds(), subtitle.end.total_seconds()
        assert previous_end <= start < end <= doc.duration
        previous_end = end


def test_srt_names_the_speaker_at_each_change(doc: EpisodeDocument) -> None:
    subtitles = list(srt.parse(render_srt(doc)))
    name_pattern = re.compile(
        r"^(" + "|".join(re.escape(name) for name in NAMES.values()) + r"):(?: |\n|$)"
    )
    named = [m.group(1) for s in subtitles if (m := name_pattern.match(s.content))]
    assert named == speaker_changes(doc)
    assert name_pattern.match(subtitles[0].content)
    spoken = "".join(name_pattern.sub("", s.content) for s in subtitles)
    assert squash(spoken) == squash(doc.plain_text())


def test_srt_splits_words_longer_than_a_line(doc: EpisodeDocument) -> None:
    text = render_srt(doc)
    url = "somersetsafeguardingchildren.org.uk,"
    assert len(url) > SRT_LINE_CHARS
    assert url not in text and url in squash(text.replace("\n", ""))


# --- JSON, chapters, HTML ---------------------------------------------------------------------


def test_transcript_json_follows_the_podcast_namespace(doc: EpisodeDocument) -> None:
    data = json.loads(render_transcript_json(doc))
    assert data["version"] == "1.0.0"
    assert len(data["segments"]) == len(doc.segments)
    for entry, segment in zip(data["segments"], doc.segments, strict=True):
        assert set(entry) == {"speaker", "startTime", "endTime", "body"}
        assert entry["speaker"] == doc.speaker_name(segment.speaker)
        assert entry["body"] == segment.text
        assert 0 <= entry["startTime"] <= entry["endTime"] <= doc.duration
        for key in ("startTime", "endTime"):
            assert round(entry[key], 3) == entry[key]
    assert data["segments"][0]["speaker"] == "Narrator"
    assert data["segments"][-1]["endTime"] == round(doc.duration, 3)  # clamped


def test_chapters_json(doc: EpisodeDocument) -> None:
    data = json.loads(render_chapters_json(doc))
    assert data == {
        "version": "1.2.0",
        "chapters": [
            {"startTime": 0.0, "title": "Content warning", "endTime": INTRO},
            {"startTime": INTRO, "title": "What is the SSCP? & who's in it"},
        ],
    }


class _TranscriptHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[str]] = {"cite": [], "time": [], "p": [], "title": []}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.found:
            self._open = tag
            self.found[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.found[self._open][-1] += data


def test_html_transcript(doc: EpisodeDocument) -> None:
    text = render_html(doc)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    parser = _TranscriptHTML()
    parser.feed(text)
    parser.close()
    found = parser.found
    assert len(found["cite"]) == len(found["time"]) == len(found["p"]) == len(doc.segments)
    assert found["cite"] == [f"{doc.speaker_name(s.speaker)}:" for s in doc.segments]
    assert found["p"] == [s.text for s in doc.segments]  # unescaped by the parser
    assert all(re.fullmatch(r"\d\d:\d\d", t) for t in found["time"])
    assert found["time"][0] == "00:00" and found["time"][1] == "00:12"
    assert "&amp;" in text and "&lt;the partnership&gt;" in text
    assert found["title"] == ["The P Pod: What is the SSCP? (transcript)"]


# --- TXT and lyrics ---------------------------------------------------------------------------


def test_txt_follows_the_house_style(doc: EpisodeDocument) -> None:
    text = render_txt(doc)
    assert text.endswith("\n") and not text.endswith("\n\n") and "\n\n\n" not in text
    blocks = text[:-1].split("\n\n")
    assert blocks[:4] == ["The P Pod", "What is the SSCP?", "Season 1 Episode 2", "Transcript"]
    assert blocks[:4] == txt_header_lines(doc)  # what folding the text back skips
    expected: list[str] = []
    previous = object()
    for segment in doc.segments:
        if segment.speaker != previous:
            expected.append(doc.speaker_label(segment.speaker))
            previous = segment.speaker
        expected.append(segment.text)
    assert blocks[4:] == expected
    assert (
        blocks[4] == "Narrator" and blocks[6] == "Steve Macabee - SSCP Multiagency Training Manager"
    )
    # The monologue is several paragraphs under one label.
    jasmine = "Jasmine Wark - SSCP Business Manager"
    long_turn = blocks.index(jasmine, blocks.index(jasmine) + 1)
    assert blocks[long_turn + 1] != jasmine and blocks[long_turn + 2] not in NAMES.values()
    assert sum(1 for segment in doc.segments if segment.speaker == "jasmine") > 2


def test_txt_line_structure_matches_the_seed_transcript(doc: EpisodeDocument) -> None:
    """Label line, blank, paragraph(s) separated by blanks, as the published seed does."""
    lines = render_lyrics(doc).splitlines()
    labels = {doc.speaker_label(s.id) for s in doc.speakers}
    assert lines[0] in labels and lines[1] == ""
    for index, line in enumerate(lines):
        assert (line == "") == (index % 2 == 1)
        if line in labels:
            assert index + 2 < len(lines) and lines[index + 2] not in labels


def test_lyrics_are_the_txt_body(doc: EpisodeDocument) -> None:
    lyrics = render_lyrics(doc)
    assert render_txt(doc).endswith(lyrics)
    assert not lyrics.startswith("The P Pod") and render_txt(doc, header=False) == lyrics


# --- shared behaviour -------------------------------------------------------------------------


def test_renderers_are_pure(doc: EpisodeDocument) -> None:
    before = doc.model_dump()
    first = {name: render(doc) for name, (_, render) in RENDERERS.items()}
    assert {name: render(doc) for name, (_, render) in RENDERERS.items()} == first
    assert doc.model_dump() == before


def test_write_all_writes_every_format_atomically(doc: EpisodeDocument, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder).mkdir()
    (folder / "ppod-s01e02.vtt").write_text("stale", encoding="utf-8")
    paths = write_all(doc, folder, "ppod-s01e02")
    assert set(paths) == set(RENDERERS)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"ppod-s01e02{suffix}" for suffix, _ in RENDERERS.values()
    )  # no temporary files left behind
    for name, (_, render) in RENDERERS.items():
        assert paths[name].read_bytes() == render(doc).encode("utf-8")
    assert {p.name for p in paths.values()} >= {
        "ppod-s01e02.txt",
        "ppod-s01e02.transcript.json",
        "ppod-s01e02.chapters.json",
    }


def test_warning_without_a_speaker_entry_gets_a_readable_name(doc: EpisodeDocument) -> None:
    bare = doc.model_copy(update={"speakers": doc.speakers[1:]})
    assert render_txt(bare, header=False).startswith(f"{WARNING_LABEL}\n\n{WARNING_TEXT}\n\n")
    assert f"<v {WARNING_LABEL}>" in render_vtt(bare)
    assert render_srt(bare).split("\n")[2].startswith(f"{WARNING_LABEL}:")


def test_edited_text_is_published_even_when_words_no_longer_match(
    doc: EpisodeDocument,
) -> None:
    segments = list(doc.segments)
    edited = segments[2].model_copy(update={"text": "Of course, I'm Jasmine Wark & I manage it."})
    segments[2] = edited
    changed = doc.model_copy(update={"segments": segments})
    vtt = webvtt.from_string(render_vtt(changed)).captions
    inside = [
        c for c in vtt if edited.start <= _vtt_seconds(c.start) < edited.end + 0.001
    ]  # the text is spread over the paragraph's time span
    assert {c.voice for c in inside} == {"Jasmine Wark"}
    assert squash("".join(c.text for c in inside)) == squash(edited.text.replace("&", "&amp;"))


def test_empty_document_renders() -> None:
    empty = EpisodeDocument(
        episode=EpisodeInfo(slug="x", title="T", show="S"), audio="x.mp3", duration=0.0
    )
    out = {name: render(empty) for name, (_, render) in RENDERERS.items()}
    assert out["txt"] == "S\n\nT\n\nTranscript\n\n"  # the heading, no paragraph
    assert out["srt"] == out["lyrics"] == ""
    assert "<title>S: T (transcript)</title>" in out["html"] and "<p" not in out["html"]
    assert json.loads(out["chapters"])["chapters"] == []
    assert render_vtt(empty) == "WEBVTT\n"
    assert json.loads(render_transcript_json(empty))["segments"] == []


def test_settle_times_clamps_and_removes_overlaps() -> None:
    cues = [
        Cue(start=-0.2, end=1.0, speaker="a", lines=("x",)),
        Cue(start=0.9, end=0.9, speaker="a", lines=("y",)),  # overlaps, zero length
        Cue(start=1.5, end=2.7, speaker="b", lines=("z",)),  # runs past the end
        Cue(start=2.6, end=2.8, speaker="b", lines=("w",)),  # starts after the end
    ]
    settled = _settle_times(cues, 2.5)
    spans = [(c.start, c.end) for c in settled]
    assert spans[0][0] == 0.0 and spans[-1][1] == 2.5
    for (s0, e0), (s1, e1) in zip(spans, spans[1:], strict=False):
        assert s0 < e0 <= s1 < e1
    assert [c.lines for c in settled] == [c.lines for c in cues]


def test_cues_never_cross_speakers(doc: EpisodeDocument) -> None:
    cues = build_cues(doc, width=40, max_lines=3, max_seconds=100.0)
    tokens_per_speaker = {}
    for cue in cues:
        tokens_per_speaker.setdefault(cue.speaker, []).extend(" ".join(cue.lines).split())
    for speaker, tokens in tokens_per_speaker.items():
        expected = " ".join(s.text for s in doc.segments if s.speaker == speaker).split()
        assert tokens == expected
