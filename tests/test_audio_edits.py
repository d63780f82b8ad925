"""Edits that change the audio (redact, cut, tidy) on real audio through the real pipeline.

The recording is made here: ten 0.4 s "words" (each a note of its own, 200-605 Hz) one second
apart over room noise, processed with ``--no-speech`` and given a transcript whose words sit on
the buzzes, as an editor would have it. Everything else is real: cleaning, mastering, the MP3
encoder, the tags, every transcript format, and ffmpeg decoding what was published.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import (
    NO_NOISE_REDUCTION,
    copy_published,
    ebur128,
    make_episode,
    make_show,
    read_mono,
    write_wav,
)

from ppod_audio.cli import cli
from ppod_audio.edit.history import save_document
from ppod_audio.transcript.model import Segment, Speaker, Word, load_document

RATE = 44100
WORDS = ["Hello", "and", "welcome,", "Jessica", "Smithers", "talked", "about", "the", "case",
         "today."]  # fmt: skip
FIRST_WORD = 2.0  # seconds on the raw recording
WORD_SECONDS = 0.4
STEP = 1.0
SECRET = "Smithers"


def pitch(index: int | str) -> float:
    """Each word its own note, so a test can tell which word is heard where."""
    if isinstance(index, str):
        index = WORDS.index(index)
    return 200.0 + 45.0 * index


def _recording(path: Path) -> Path:
    rng = np.random.default_rng(3)
    total = FIRST_WORD + STEP * len(WORDS) + 1.5
    samples = rng.normal(0, 10 ** (-55 / 20), int(total * RATE))
    t = np.arange(int(WORD_SECONDS * RATE)) / RATE
    envelope = np.minimum(1.0, np.minimum(t, WORD_SECONDS - t) / 0.03)
    for index in range(len(WORDS)):
        buzz = np.sin(2 * np.pi * pitch(index) * t) * 0.2 * envelope
        start = int((FIRST_WORD + index * STEP) * RATE)
        samples[start : start + len(buzz)] += buzz
    return write_wav(path, samples.astype(np.float32), RATE)


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The episode processed once (``--no-speech``, and without noise reduction: most of a
    no-speech run's time, and tests/test_denoise.py's subject) with its transcript: copied per
    test."""
    root = make_show(tmp_path_factory.mktemp("edits") / "raw_audio")
    recording = _recording(root.parent / "words.wav")
    manifest = ('title = "Audio edits"\ninputs = ["words.wav"]\n'
                '[[speakers]]\nname = "Jasmine Wark"\n'
                '[[chapters]]\nstart = 0.0\ntitle = "Opening"\n'
                '[[chapters]]\nstart = 10.0\ntitle = "The case"\n')  # fmt: skip
    make_episode(root, "edits", {"words.wav": recording}, manifest + NO_NOISE_REDUCTION)
    out = root.parent / "output"
    result = CliRunner().invoke(cli, ["process", str(root / "edits"), "-o", str(out),
                                      "--no-speech"])  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = out / "edits"
    report = json.loads((folder / "report.json").read_text())
    shift = report["intro_offset"] - report["trimmed_start"]
    doc = load_document(folder / "episode.json")
    words = [
        Word(text=text, start=round(FIRST_WORD + i * STEP + shift, 3),
             end=round(FIRST_WORD + i * STEP + WORD_SECONDS + shift, 3), probability=0.9,
             speaker="S1")
        for i, text in enumerate(WORDS)
    ]  # fmt: skip
    segment = Segment(speaker="S1", start=words[0].start, end=words[-1].end,
                      text=" ".join(WORDS), words=words)  # fmt: skip
    host = Speaker(id="S1", name="Jasmine Wark")
    doc = doc.model_copy(update={"segments": [*doc.segments, segment],
                                 "speakers": [*doc.speakers, host]})  # fmt: skip
    save_document(folder, doc)
    result = CliRunner().invoke(cli, ["render", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def episode(processed: Path, tmp_path: Path) -> Path:
    import shutil

    root = processed.parents[1]
    shutil.copytree(root / "raw_audio", tmp_path / "raw_audio")
    shutil.copytree(root / "output", tmp_path / "output")
    folder = tmp_path / "output" / "edits"
    report = json.loads((folder / "report.json").read_text())
    report["source"] = str(tmp_path / "raw_audio" / "edits")
    (folder / "report.json").write_text(json.dumps(report))
    return folder


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args])
    assert result.exit_code == 0, result.output
    return result.output


def decoded(folder: Path) -> np.ndarray:
    return read_mono(folder / "edits.mp3", RATE)


def band_energy(samples: np.ndarray, start: float, end: float, hz: float) -> float:
    """Energy within 30 Hz of ``hz`` in ``start..end`` seconds."""
    part = samples[int(start * RATE) : int(end * RATE)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)))) ** 2
    freqs = np.fft.rfftfreq(len(part), 1 / RATE)
    return float(spectrum[np.abs(freqs - hz) < 30].sum())


def published_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*")
            if p.is_file() and "history" not in p.relative_to(folder).parts]  # fmt: skip


def tag_text(mp3: Path) -> str:
    from mutagen.id3 import ID3

    return "\n".join(str(frame) for frame in ID3(mp3).values())


def word_times(folder: Path) -> dict[str, tuple[float, float]]:
    doc = load_document(folder / "episode.json")
    return {w.text: (w.start, w.end) for w in doc.words()}


def test_redact_puts_a_tone_on_the_words_and_removes_them_from_every_published_file(
    episode: Path,
) -> None:
    before_audio = decoded(episode)
    before = word_times(episode)
    run("redact", str(episode), "--words", "3-4")
    after_audio = decoded(episode)
    start, end = before["Jessica"][0], before[SECRET][1]
    # The span holds the 1 kHz tone and no longer the words' notes.
    assert band_energy(after_audio, start + 0.05, end - 0.05, 1000) > 100 * band_energy(
        before_audio, start + 0.05, end - 0.05, 1000)  # fmt: skip
    for word in ("Jessica", SECRET):
        a, b = before[word]
        assert band_energy(after_audio, a + 0.05, b - 0.05, pitch(word)) < 0.01 * band_energy(
            before_audio, a + 0.05, b - 0.05, pitch(word))  # fmt: skip
    # Words either side are still there (the programme's gain is found again, so within 3 dB).
    for word in ("welcome,", "talked"):
        a, b = before[word]
        ratio = band_energy(after_audio, a + 0.05, b - 0.05, pitch(word)) / band_energy(
            before_audio, a + 0.05, b - 0.05, pitch(word))  # fmt: skip
        assert 0.5 < ratio < 2.0
    # Length and every later time unchanged.
    assert abs(len(after_audio) - len(before_audio)) <= 1
    after = word_times(episode)
    assert after["today."] == before["today."] and after["talked"] == before["talked"]
    assert "[redacted]" in after and SECRET not in after and "Jessica" not in after
    # No click: no sample-to-sample jump at the edges bigger than the tone's own steepest step.
    tone_step = np.abs(np.diff(after_audio[int((start + 0.2) * RATE) : int((end - 0.2) * RATE)]))
    for edge in (start - 0.13, end + 0.13, start, end):
        region = after_audio[int((edge - 0.03) * RATE) : int((edge + 0.03) * RATE)]
        assert np.abs(np.diff(region)).max() <= 1.2 * tone_step.max()
    # "[redacted]" in every transcript and the lyrics tag; the name in no published file or tag.
    for suffix in (".txt", ".srt", ".vtt", ".html", ".transcript.json"):
        assert "[redacted]" in (episode / f"edits{suffix}").read_text(encoding="utf-8")
    assert "[redacted]" in tag_text(episode / "edits.mp3")
    assert SECRET not in tag_text(episode / "edits.mp3")
    for path in published_files(episode):
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        assert SECRET.encode("utf-16-le") not in data, path
    # history/ keeps the words (local only).
    assert any(SECRET.encode() in p.read_bytes() for p in (episode / "history").iterdir())
    report = json.loads((episode / "report.json").read_text())
    assert report["audio_edits"]["redactions"] == 1
    loudness = ebur128(episode / "edits.mp3")
    assert abs(loudness["integrated"] + 16) <= 0.5 and loudness["true_peak"] <= -1.0


def test_silence_mode_leaves_the_span_quiet(episode: Path) -> None:
    before_audio = decoded(episode)
    before = word_times(episode)
    run("redact", str(episode), "--phrase", "jessica smithers", "--mode", "silence")
    after_audio = decoded(episode)
    start, end = before["Jessica"][0] + 0.05, before[SECRET][1] - 0.05
    span = after_audio[int(start * RATE) : int(end * RATE)]
    speech = before_audio[int(start * RATE) : int(end * RATE)]
    assert np.sqrt(np.mean(span**2)) < 0.01 * np.sqrt(np.mean(speech**2))
    assert band_energy(after_audio, start, end, 1000) < 1e-3 * band_energy(
        before_audio, start, end, pitch(SECRET))  # fmt: skip
    assert abs(len(after_audio) - len(before_audio)) <= 1


def test_cut_shortens_by_exactly_the_cut_and_moves_everything_after_it(episode: Path) -> None:
    before_audio = decoded(episode)
    before = word_times(episode)
    chapters_before = load_document(episode / "episode.json").chapters
    out = run("cut", str(episode), "--words", "5-6", "--json")
    cut = json.loads(out[out.index("{") :])["added"][0]
    length = cut["end"] - cut["start"]
    # Half the pause either side: 0.3 + 0.4 + 0.6 + 0.4 + 0.3 s.
    assert length == pytest.approx(2.0, abs=0.002)
    after_audio = decoded(episode)
    assert (len(before_audio) - len(after_audio)) / RATE == pytest.approx(length, abs=0.01)
    after = word_times(episode)
    assert "talked" not in after and "about" not in after
    for word in ("the", "case", "today."):
        assert after[word][0] == pytest.approx(before[word][0] - length, abs=0.002)
    assert after["welcome,"] == before["welcome,"]
    # The audio moved with the words: "case"'s note is heard at its new time, where "about"
    # was heard before the cut.
    a, b = after["case"]
    note = pitch("case")
    ratio = band_energy(after_audio, a + 0.05, b - 0.05, note) / band_energy(
        before_audio, before["case"][0] + 0.05, before["case"][1] - 0.05, note)  # fmt: skip
    assert 0.5 < ratio < 2.0
    assert band_energy(before_audio, a + 0.05, b - 0.05, note) < 0.01 * band_energy(
        after_audio, a + 0.05, b - 0.05, note)  # fmt: skip
    chapters = load_document(episode / "episode.json").chapters
    later = [c for c in chapters_before if c.title == "The case"][0]
    moved = [c for c in chapters if c.title == "The case"][0]
    assert moved.start == pytest.approx(later.start - length, abs=0.002)
    from mutagen.id3 import ID3

    chap = ID3(episode / "edits.mp3").getall("CHAP")
    frames = {f.sub_frames["TIT2"].text[0]: f.start_time for f in chap}
    assert frames["The case"] == pytest.approx(moved.start * 1000, abs=2)
    vtt = (episode / "edits.vtt").read_text()
    assert "talked" not in vtt
    loudness = ebur128(episode / "edits.mp3")
    assert abs(loudness["integrated"] + 16) <= 0.5 and loudness["true_peak"] <= -1.0


def test_undo_restores_the_words_and_the_audio(episode: Path) -> None:
    before_audio = decoded(episode)
    before = word_times(episode)
    run("cut", str(episode), "--words", "5-6")
    run("cut", str(episode), "--undo")
    assert word_times(episode) == before
    assert abs(len(decoded(episode)) - len(before_audio)) <= 1
    assert load_document(episode / "episode.json").audio_edits == []


def test_reprocessing_keeps_the_redaction_and_the_cut(episode: Path) -> None:
    before = word_times(episode)
    run("redact", str(episode), "--words", "3-4")
    run("cut", str(episode), "--phrase", "case")
    edited_audio = decoded(episode)
    source = json.loads((episode / "report.json").read_text())["source"]
    # A change of loudness target forces the audio to be mastered again from the recordings.
    show = Path(source).parent / "show.toml"
    show.write_text(show.read_text().replace("target_lufs = -16.0", "target_lufs = -17.0"))
    run("process", source, "-o", str(episode.parent), "--no-speech")
    report = json.loads((episode / "report.json").read_text())
    assert report["stages"]["master"]["cached"] is False
    after = word_times(episode)
    assert SECRET not in after and "[redacted]" in after and "case" not in after
    audio = decoded(episode)
    assert abs(len(audio) - len(edited_audio)) <= 1
    start, end = before["Jessica"][0], before[SECRET][1]
    assert band_energy(audio, start + 0.05, end - 0.05, 1000) > 10 * band_energy(
        audio, start + 0.05, end - 0.05, pitch(SECRET))  # fmt: skip
    for path in published_files(episode):
        assert SECRET.encode() not in path.read_bytes(), path


def test_a_word_typed_back_into_a_redaction_is_not_published(episode: Path) -> None:
    run("redact", str(episode), "--words", "4")
    doc = load_document(episode / "episode.json")
    for word in doc.segments[-1].words:
        if word.text == "[redacted]":
            word.text = SECRET
    doc.segments[-1].text = " ".join(w.text for w in doc.segments[-1].words)
    save_document(episode, doc)
    run("render", str(episode))
    for path in published_files(episode):
        assert SECRET.encode() not in path.read_bytes(), path


def test_bad_selections_are_one_line_and_exit_2(episode: Path) -> None:
    for args in (["--words", "5-99"], ["--phrase", "nobody said this"], ["--from", "1"],
                 ["--words", "x"], ["--from", "0", "--to", "1"]):  # fmt: skip
        result = CliRunner().invoke(cli, ["redact", str(episode), *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("Error: ") and len(result.output.splitlines()) == 1


def test_tidy_shortens_pauses_and_cuts_fillers_and_removes_what_it_reports(episode: Path) -> None:
    before_audio = decoded(episode)
    doc = load_document(episode / "episode.json")
    doc.segments[-1].words[1].text = "um"  # "and" said as a filler
    doc.segments[-1].text = " ".join(w.text for w in doc.segments[-1].words)
    save_document(episode, doc)
    source = Path(json.loads((episode / "report.json").read_text())["source"])
    show = source.parent / "show.toml"
    show.write_text(show.read_text() + "\n[tidy]\nenabled = true\nmax_pause_seconds = 0.3\n")
    run("process", str(source), "-o", str(episode.parent), "--no-speech")
    report = json.loads((episode / "report.json").read_text())
    tidy = report["audio_edits"]["tidy"]
    assert tidy["fillers_cut"] == 1 and tidy["pauses_shortened"] == 7
    # 7 pauses of 0.6 s down to 0.3 s, and "um" with the pauses either side down to one 0.3 s.
    assert tidy["seconds_removed"] == pytest.approx(7 * 0.3 + (0.6 + 0.4 + 0.6 - 0.3), abs=0.01)
    removed = (len(before_audio) - len(decoded(episode))) / RATE
    assert removed == pytest.approx(tidy["seconds_removed"], abs=0.01)
    after = load_document(episode / "episode.json")
    texts = [w.text for w in after.words()]
    assert "um" not in texts and texts[:2] == ["Hello", "welcome,"]
    gaps = [b.start - a.end for a, b in zip(after.words(), after.words()[1:], strict=False)]
    assert max(gaps) == pytest.approx(0.3, abs=0.01)
    # The words are where the audio now has them: "today."'s note at its new time.
    a, b = after.words()[-1].start, after.words()[-1].end
    audio = decoded(episode)
    assert band_energy(audio, a + 0.05, b - 0.05, pitch("today.")) > 100 * band_energy(
        audio, a + 0.05, b - 0.05, pitch("case"))  # fmt: skip


@pytest.mark.browser
def test_the_editor_redacts_the_selected_words_and_undoes_it(episode: Path) -> None:
    from playwright.sync_api import expect
    from test_editor_browser import chromium

    from ppod_audio.editor.server import EditorServer

    before_audio = decoded(episode)
    before = word_times(episode)
    last = len(load_document(episode / "episode.json").segments) - 1
    with EditorServer(episode) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url)
        page.wait_for_selector(".w")
        expect(page.locator("#undo-audio")).to_be_disabled()
        # Select "Jessica Smithers" with the mouse, as a person would, and press Redact.
        first = page.locator(f'.w[data-seg="{last}"][data-i="3"]').bounding_box()
        second = page.locator(f'.w[data-seg="{last}"][data-i="4"]').bounding_box()
        page.mouse.move(first["x"] + 1, first["y"] + first["height"] / 2)
        page.mouse.down()
        page.mouse.move(second["x"] + second["width"] - 1, second["y"] + second["height"] / 2)
        page.mouse.up()
        page.click("#redact")
        page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('Redacted 2 word(s)')",
            timeout=180_000,
        )
        expect(page.locator(f'.w[data-seg="{last}"][data-i="3"]')).to_have_text("[redacted]")
        assert SECRET not in page.locator("#transcript").inner_text()
        redacted_audio = decoded(episode)
        assert SECRET not in word_times(episode)
        for path in published_files(episode):
            assert SECRET.encode() not in path.read_bytes(), path
        start, end = before["Jessica"][0], before[SECRET][1]
        assert band_energy(redacted_audio, start + 0.05, end - 0.05, 1000) > 100 * band_energy(
            before_audio, start + 0.05, end - 0.05, 1000)  # fmt: skip
        # The player has the new MP3.
        assert "&v=" in page.eval_on_selector("#player", "p => p.src")
        page.click("#undo-audio")
        page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('Undid')", timeout=180_000
        )
        expect(page.locator(f'.w[data-seg="{last}"][data-i="4"]')).to_have_text(SECRET)
        assert not errors, errors
    assert word_times(episode) == before
    restored = decoded(episode)
    assert band_energy(restored, start + 0.05, end - 0.05, 1000) < 0.01 * band_energy(
        redacted_audio, start + 0.05, end - 0.05, 1000)  # fmt: skip


def _fold(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@pytest.mark.slow
def test_on_real_speech_recognition_no_longer_hears_a_redacted_word_and_a_cut_moves_the_rest(
    published_demo: Path, tmp_path: Path
) -> None:
    """The demo (espeak-ng voices) through the whole pipeline; then a redaction and a cut, and
    faster-whisper run again on the published MP3. The words' times are the recogniser's (the
    evenly spread times of ``edit_episode`` can leave part of the word outside the tone, which
    base then still hears)."""
    from collections import Counter

    from ppod_audio.api import transcribe

    edit_episode = copy_published(published_demo, tmp_path)

    slug = edit_episode.name
    mp3 = edit_episode / f"{slug}.mp3"
    doc = load_document(edit_episode / "episode.json")
    words = [w for s in doc.segments if s.speaker != "warning" for w in s.words]
    counts = Counter(_fold(w.text) for w in words)
    # A word said once, long enough that nothing else sounds like it, in the first half.
    index = next(i for i, w in enumerate(words[: len(words) // 2])
                 if counts[_fold(w.text)] == 1 and len(_fold(w.text)) >= 8
                 and (w.probability or 0) > 0.6
                 and _fold(w.text) not in _fold(doc.episode.model_dump_json()))  # fmt: skip
    secret = _fold(words[index].text)
    length_before = len(read_mono(mp3, RATE)) / RATE
    run("redact", str(edit_episode), "--words", str(index))
    length_redacted = len(read_mono(mp3, RATE)) / RATE
    assert abs(length_redacted - length_before) <= 0.010
    # A cut of six words in the second half; a word said once, after it, is then listened for.
    cut_at = len(words) * 2 // 3
    run("cut", str(edit_episode), "--words", f"{cut_at}-{cut_at + 5}")
    cut = load_document(edit_episode / "episode.json").audio_edits[-1]
    length_cut = len(read_mono(mp3, RATE)) / RATE
    assert length_redacted - length_cut == pytest.approx(cut.end - cut.start, abs=0.010)
    after = [w for s in load_document(edit_episode / "episode.json").segments
             if s.speaker != "warning" for w in s.words]  # fmt: skip
    later = next(w for w in after[cut_at + 3 :]
                 if counts[_fold(w.text)] == 1 and len(_fold(w.text)) >= 7)  # fmt: skip
    heard = transcribe(mp3).words
    assert secret not in {_fold(w.text) for w in heard}
    found = [w for w in heard if _fold(w.text) == _fold(later.text)]
    assert found, f"{later.text!r} not recognised in the cut MP3"
    assert min(abs(w.start - later.start) for w in found) <= 0.1
    loudness = ebur128(mp3)
    assert abs(loudness["integrated"] + 16) <= 0.5 and loudness["true_peak"] <= -1.0
    for path in published_files(edit_episode):
        text = tag_text(path) if path.suffix == ".mp3" else path.read_text("utf-8", "replace")
        assert secret not in {_fold(token) for token in text.replace('"', " ").split()}, path


def test_a_paragraph_cut_whole_goes_with_its_text_and_the_clock_round_trips() -> None:
    """Document-level: a cut that takes every word of a paragraph leaves no text of it behind;
    raw <-> published seconds invert each other across cuts."""
    from ppod_audio.edit.audio_edits import Clock, cut_document
    from ppod_audio.transcript.model import Chapter, EpisodeDocument, EpisodeInfo

    def paragraph(texts: list[tuple[str, float]], who: str) -> Segment:
        words = [Word(text=t, start=s, end=s + 0.4, speaker=who) for t, s in texts]
        return Segment(speaker=who, start=words[0].start, end=words[-1].end,
                       text=" ".join(t for t, _ in texts), words=words)  # fmt: skip

    doc = EpisodeDocument(
        episode=EpisodeInfo(slug="x", title="x", show="x"), audio="x.mp3", duration=20.0,
        intro_offset=1.0,
        segments=[paragraph([("a", 2), ("b", 3)], "S1"), paragraph([(SECRET, 4), ("x", 5)], "S2"),
                  paragraph([("c", 6), ("d", 7)], "S1")],
        chapters=[Chapter(start=1.0, end=6.5, title="one"),
                  Chapter(start=6.5, end=20, title="two")],
    )  # fmt: skip
    cut = cut_document(doc, 3.9, 5.9)
    assert [s.text for s in cut.segments] == ["a b", "c d"]
    assert SECRET not in cut.model_dump_json()
    assert cut.duration == 18.0 and [c.start for c in cut.chapters] == [1.0, 4.5]
    clock = Clock(intro_offset=7.0, trimmed_start=1.5, cuts=((10.0, 12.0), (20.0, 21.5)))
    for raw in (3.0, 9.99, 12.0, 15.0, 21.5, 30.0):
        assert clock.raw(clock.published(raw)) == pytest.approx(raw)
    assert clock.published(30.0) == pytest.approx(30.0 - 1.5 + 7.0 - 3.5)


def test_review_redact_applies_the_redaction(episode: Path) -> None:
    source = json.loads((episode / "report.json").read_text())["source"]
    run("process", source, "-o", str(episode.parent), "--no-speech")  # reviews the transcript
    review = json.loads(run("review", str(episode), "--json"))
    item = next(i for i in review["items"] if SECRET in i["text"])
    run("review", str(episode), "--redact", item["id"], "--by", "Jasmine Wark")
    assert SECRET not in word_times(episode) and "[redacted]" in word_times(episode)
    assert load_document(episode / "episode.json").audio_edits[0].kind == "redact"
    for path in published_files(episode):
        assert SECRET.encode() not in path.read_bytes(), path
