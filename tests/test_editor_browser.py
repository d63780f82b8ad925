"""``ppod edit`` in a real headless Chromium: the editor's round trip, end to end.

Load the page, click a word (playback starts there and the word is highlighted), correct five
words and one speaker name, save; every output and the MP3's USLT then carry the corrections,
and every word's timing is exactly what it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO
from mutagen.id3 import ID3

from ppod_audio.editor.server import EditorServer
from ppod_audio.transcript.model import load_document

CHROMIUM = os.environ.get("PPOD_CHROMIUM", "/usr/bin/chromium")
SLUG = DEMO.name
# (segment, word) -> what the editor types: five corrections in four paragraphs.
FIXES = {
    (1, 1): "Hello",
    (1, 6): "Zanzibar,",
    (2, 2): "Quokka",
    (3, 0): "Wombat.",
    (4, 3): "Kestrel",
}
NEW_NAME = "Becky Leggett"


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def put(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT")
    try:
        with urllib.request.urlopen(request) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_revisions_are_hashes_of_the_bytes_served_and_saved(edit_episode: Path) -> None:
    path = edit_episode / "episode.json"
    with EditorServer(edit_episode) as server:
        api = server.url.replace("/?token=", "/api/document?token=")
        status, body = fetch(api)
        loaded = json.loads(body)
        assert status == 200
        assert loaded["revision"] == hashlib.sha256(path.read_bytes()).hexdigest()
        document = loaded["document"]
        document["segments"][1]["words"][0]["text"] = "Zanzibar"
        stale = put(api, {"revision": "0" * 64, "document": document})
        assert stale[0] == 409
        status, saved = put(api, {"revision": loaded["revision"], "document": document})
        assert status == 200, saved
        assert saved["revision"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert saved["document"] == load_document(path).model_dump(mode="json")
        assert saved["backup"] and saved["document"]["segments"][1]["words"][0]["text"] == (
            "Zanzibar"
        )
        # The page now holds the saved revision: its next save is not refused.
        again = put(api, {"revision": saved["revision"], "document": saved["document"]})
        assert again[0] == 200 and again[1]["backup"] is None


def test_every_request_needs_the_token_and_audio_seeks(edit_episode: Path) -> None:
    with EditorServer(edit_episode) as server:
        base, token = server.url.split("?")[0], server.token
        assert base.startswith("http://127.0.0.1:")
        assert fetch(base)[0] == 403
        assert fetch(f"{base}api/document?token=wrong")[0] == 403
        status, body = fetch(f"{base}api/document", {"X-Ppod-Token": token})
        assert status == 200 and SLUG.encode() in body
        status, body = fetch(f"{base}audio?token={token}", {"Range": "bytes=100-199"})
        assert status == 206 and len(body) == 100  # Range support: Chromium can seek


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright, or skip saying why."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
        )  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def editor_page(episode: Path) -> Iterator[tuple[Any, list[str]]]:
    """The editor serving ``episode``, open in a real Chromium page; the page's script errors
    are collected in the list, which the tests require empty."""
    with EditorServer(episode) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url)
        yield page, errors


def shaded_words(page: Any, segment: int) -> list[bool]:
    """Whether the page shades each word of ``segment`` as unsure (its ``low`` class)."""
    page.wait_for_selector(".w")
    return page.evaluate(
        f"() => Array.from(document.querySelectorAll('.w[data-seg=\"{segment}\"]'),"
        " (el) => el.classList.contains('low'))"
    )


def page_shades_as_the_rule(edit_episode: Path, document: Any, first: list[bool]) -> None:
    """Save ``document``; transcript/confidence.py's rule shades segment 1's first words as
    ``first`` says (so the test's words do what it means them to), and the editor's page shades
    every word of that segment exactly as the rule does."""
    from ppod_audio.edit.history import save_document
    from ppod_audio.transcript.confidence import document_known, needs_review

    save_document(edit_episode, document)
    words = document.segments[1].words
    expected = [needs_review(words, i, document_known(document)) for i in range(len(words))]
    assert expected[: len(first)] == first

    with editor_page(edit_episode) as (page, errors):
        shaded = shaded_words(page, segment=1)
        assert shaded == expected, (shaded, expected)
        assert not errors, errors


def make_sure(words: list[Any]) -> None:
    """Every word heard surely and uncorrected, so a test's own unsure or corrected words are
    the only ones the page shades or marks."""
    for word in words:
        word.probability, word.original = 0.95, None


@pytest.mark.browser
def test_browser_round_trip_updates_every_output(edit_episode: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    before = load_document(edit_episode / "episode.json")
    segment = before.segments[3]
    assert segment.words and all(before.segments[s].words for s, _ in FIXES)
    with editor_page(edit_episode) as (page, errors):
        page.wait_for_selector(".w")
        assert page.locator(".w").count() == len(before.words())
        assert page.locator(".w.low").count() > 0  # low-confidence words shaded for review

        # Click a word: playback starts from it and it is the highlighted word.
        target = before.segments[2].words[5]
        page.click('.w[data-seg="2"][data-i="5"]')
        page.wait_for_function(
            f"document.getElementById('player').currentTime >= {target.start - 0.01}"
        )
        page.wait_for_selector(".w.now")
        page.keyboard.press("Escape")  # oTranscribe's play/pause
        page.wait_for_function("document.getElementById('player').paused")

        page.click('.speaker[data-seg="3"]')
        page.fill("#speaker-name", NEW_NAME)
        page.click("#speaker-ok")
        # The dialog closes asynchronously: wait for the page to show the new name.
        expect(page.locator('.speaker[data-seg="3"]')).to_have_text(NEW_NAME)
        *first, last = FIXES.items()
        for (s, i), text in first:
            page.dblclick(f'.w[data-seg="{s}"][data-i="{i}"]')
            page.fill(".word-edit", text)
            page.press(".word-edit", "Enter")
            expect(page.locator(f'.w[data-seg="{s}"][data-i="{i}"]')).to_have_text(text)
        page.screenshot(path=str(tmp_path / "editor.png"))
        # The last correction is saved straight from its input with Ctrl+S (the page's
        # save, not the browser's "Save page"): it must be in what is saved.
        (s, i), text = last
        page.dblclick(f'.w[data-seg="{s}"][data-i="{i}"]')
        page.fill(".word-edit", text)
        page.press(".word-edit", "Control+s")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Saved')")
        if os.environ.get("PPOD_SCREENSHOT"):
            shutil.copy(tmp_path / "editor.png", os.environ["PPOD_SCREENSHOT"])
        assert not errors, errors

    after = load_document(edit_episode / "episode.json")
    vtt = (edit_episode / f"{SLUG}.vtt").read_text()
    lyrics = ID3(edit_episode / f"{SLUG}.mp3").getall("USLT")[0].text
    for text in FIXES.values():
        assert text in vtt and text in lyrics
    assert f"<v {NEW_NAME}>" in vtt and NEW_NAME in lyrics
    renamed = after.segments[3]
    assert after.speaker_label(renamed.speaker) == NEW_NAME  # a new person: no one else's role
    assert after.speaker_name(after.segments[1].speaker) == before.speaker_name(
        before.segments[1].speaker
    )
    # Every word keeps its timing; only the five texts changed, and those five, reviewed by a
    # person, lose their machine confidence (no longer shaded), as in the text-file route.
    assert len(after.segments) == len(before.segments)
    for s, (old, new) in enumerate(zip(before.segments, after.segments, strict=True)):
        assert len(old.words) == len(new.words)
        for i, (a, b) in enumerate(zip(old.words, new.words, strict=True)):
            assert (a.start, a.end) == (b.start, b.end)
            assert b.text == FIXES.get((s, i), a.text)
            assert b.probability == (None if (s, i) in FIXES else a.probability)
        assert new.text == " ".join(w.text for w in new.words) or not new.words
    assert len(list((edit_episode / "history").glob("episode-*.json"))) == 1


@pytest.mark.browser
def test_browser_keeps_edits_made_during_a_save_or_before_a_conflict(edit_episode: Path) -> None:
    """An edit made while a save is under way stays unsaved instead of being replaced by the
    server's copy; that draft, overtaken by someone else's save, is offered back after a reload
    (the other version kept in history/); and renaming a paragraph nobody was attributed to
    "everywhere" names every such paragraph."""
    from playwright.sync_api import expect

    path = edit_episode / "episode.json"
    with EditorServer(edit_episode) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())  # "restore the draft?" -> yes
        page.goto(server.url)
        page.wait_for_selector(".w")

        state = page.evaluate(
            """async () => {
                doc.segments[1].words[0].text = "Before"; changed();
                const saving = save();
                doc.segments[2].words[0].text = "During"; changed();  // while the PUT is out
                await saving;
                return {dirty, status: document.getElementById("status").textContent,
                        during: doc.segments[2].words[0].text};
            }"""
        )
        assert state["dirty"] and "newer edits not saved yet" in state["status"], state
        assert state["during"] == "During"
        saved = load_document(path)
        assert saved.segments[1].words[0].text == "Before"
        assert saved.segments[2].words[0].text != "During"

        api = server.url.replace("/?token=", "/api/document?token=")
        loaded = json.loads(fetch(api)[1])
        other = loaded["document"]
        other["segments"][3]["words"][0]["text"] = "Elsewhere"
        assert put(api, {"revision": loaded["revision"], "document": other})[0] == 200
        page.reload()
        page.wait_for_selector(".w")
        expect(page.locator('.w[data-seg="2"][data-i="0"]')).to_have_text("During")
        page.click("#save")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Saved')")
        final = load_document(path)
        assert (final.segments[1].words[0].text, final.segments[2].words[0].text) == (
            "Before",
            "During",
        )
        kept = [p.read_text() for p in (edit_episode / "history").glob("episode-*.json")]
        assert any('"Elsewhere"' in text for text in kept)

        page.evaluate(
            """() => {
                for (const s of [1, 2]) {
                    doc.segments[s].speaker = null;
                    doc.segments[s].words.forEach((w) => { w.speaker = null; });
                }
                render();
            }"""
        )
        page.click('.speaker[data-seg="1"]')
        page.fill("#speaker-name", "Guest")
        page.check('input[name="scope"][value="everywhere"]')
        page.click("#speaker-ok")
        expect(page.locator('.speaker[data-seg="1"]')).to_have_text("Guest")
        expect(page.locator('.speaker[data-seg="2"]')).to_have_text("Guest")
        assert not errors, errors


def test_the_editor_comes_back_on_the_episodes_own_port(edit_episode: Path) -> None:
    """Browsers keep the unsaved draft per origin: a restarted editor must be on the same port
    (or, if another editor holds it, still start, on a free one)."""
    from ppod_audio.editor.server import episode_port

    expected = episode_port(edit_episode)
    with EditorServer(edit_episode) as first:
        assert first.url.startswith(f"http://127.0.0.1:{expected}/")
        with EditorServer(edit_episode) as second:  # the port is taken: any free one
            assert not second.url.startswith(f"http://127.0.0.1:{expected}/")
            assert fetch(second.url)[0] == 200
    with EditorServer(edit_episode) as again:  # after a restart: the same origin
        assert again.url.startswith(f"http://127.0.0.1:{expected}/")


@pytest.mark.browser
def test_the_browser_reaches_the_editor_through_the_launch_file(edit_episode: Path) -> None:
    """`ppod edit` opens the browser on a launch file (the token stays off command lines):
    the browser must land on the working editor from it."""
    with EditorServer(edit_episode) as server, chromium() as browser:
        launch = server.launch_file()
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(launch.as_uri())
        page.wait_for_selector(".w")
        assert page.url.startswith("http://127.0.0.1:") and not errors, errors
        words = load_document(edit_episode / "episode.json").words()
        assert page.locator(".w").count() == len(words)


@pytest.mark.browser
def test_browser_shades_by_the_rule_and_undoes_a_vocabulary_correction(
    edit_episode: Path,
) -> None:
    """The page shades as transcript/confidence.py's rule says (not probability alone): an unsure
    word of the show's vocabulary is not shaded, a fairly sure word beside a very unsure one is,
    and so is one between two unsure words;
    a vocabulary correction shows the word heard and one click on its undo puts that word back,
    which the save publishes (and the document no longer records a correction there)."""
    from playwright.sync_api import expect

    from ppod_audio.edit.history import save_document
    from ppod_audio.transcript.confidence import document_known, needs_review

    path = edit_episode / "episode.json"
    document = load_document(path)
    words = document.segments[1].words
    assert len(words) >= 12
    # A correction as cleaning records it, an unsure show word, a sure-ish word whose
    # neighbour is very unsure, and a fairly sure word between two unsure ones; the rest of
    # the paragraph sure.
    make_sure(words)
    words[1].text, words[1].original, words[1].probability = "Macabee", "Markham", 0.3
    words[3].text, words[3].probability = "Somerset", 0.3
    words[5].probability, words[6].probability = 0.7, 0.2
    words[8].probability, words[9].probability, words[10].probability = 0.55, 0.88, 0.5
    document.segments[1].text = " ".join(w.text for w in words)
    document.vocabulary = ["Somerset", "SSCP"]
    save_document(edit_episode, document)
    known = document_known(document)
    assert {"somerset", "macabee"} <= known
    expected = [needs_review(words, i, known) for i in range(len(words))]
    assert expected[:12] == [False, False, False, False, False, True, True, False,
                             True, True, True, False]  # fmt: skip

    with editor_page(edit_episode) as (page, errors):
        shaded = shaded_words(page, segment=1)
        assert shaded == expected, (shaded, expected)
        corrected = page.locator('.w[data-seg="1"][data-i="1"]')
        expect(corrected).to_have_class(re.compile(r"\bcorrected\b"))
        assert "Markham" in corrected.get_attribute("title")
        page.click('button.undo[data-seg="1"][data-i="1"]')
        expect(page.locator('.w[data-seg="1"][data-i="1"]')).to_have_text("Markham")
        assert page.locator('button.undo[data-seg="1"]').count() == 0
        page.click("#save")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Saved')")
        assert not errors, errors

    after = load_document(path)
    undone = after.segments[1].words[1]
    assert (undone.text, undone.original) == ("Markham", None)
    assert after.vocabulary == ["Somerset", "SSCP"]
    assert "Markham" in (edit_episode / f"{SLUG}.vtt").read_text()


@pytest.mark.browser
def test_browser_shades_words_heard_twice_by_the_two_hearings(edit_episode: Path) -> None:
    """Words the pipeline heard a second time (``heard_again``, speech/recheck.py) are shaded
    by the page as transcript/confidence.py says: heard the same and not very unsure, left;
    heard otherwise though fairly sure, shaded; very unsure, shaded even heard the same."""
    document = load_document(edit_episode / "episode.json")
    words = document.segments[1].words
    assert len(words) >= 8
    make_sure(words)
    for index, (p, same) in {1: (0.45, True), 2: (0.88, False), 4: (0.2, True)}.items():
        words[index].probability, words[index].heard_again = p, same
    page_shades_as_the_rule(edit_episode, document, [False, False, True, False, True, False, False])


@pytest.mark.browser
def test_browser_shades_words_the_runner_ups_dispute(edit_episode: Path) -> None:
    """Words that record beam search's runner-ups (``disputed``, speech/hypotheses.py) are
    shaded by the page as transcript/confidence.py says: a sure word a runner-up wrote
    otherwise, shaded; a fairly sure undisputed word beside a very unsure one, left (the
    neighbour rule reaches 0.7 for such words, not 0.85); the very unsure one, shaded."""
    document = load_document(edit_episode / "episode.json")
    words = document.segments[1].words
    assert len(words) >= 8
    make_sure(words)
    for w in words:
        w.disputed = 0
    words[2].probability, words[2].disputed = 0.95, 1
    words[3].probability, words[4].probability = 0.75, 0.3  # "to the"
    page_shades_as_the_rule(edit_episode, document, [False, False, True, False, True, False, False])


@pytest.mark.browser
def test_browser_undoes_a_word_the_second_hearing_added(edit_episode: Path) -> None:
    """The opt-in re-decode (speech/redecode.py) records a word it added where nothing was
    heard with ``original: ""`` ("a rapid." heard again as "a rapid review."): the page marks
    it as a correction, and its undo removes the word, giving the sentence's end back to the
    word before; the save publishes that, and the other words keep their timing."""
    from playwright.sync_api import expect

    from ppod_audio.edit.history import save_document

    path = edit_episode / "episode.json"
    document = load_document(path)
    words = document.segments[1].words
    assert len(words) >= 4
    make_sure(words)
    words[2].text = words[2].text.rstrip(".,?!;:")
    added = words[2].model_copy(
        update={"text": "Quokka.", "original": "", "probability": None,
                "start": words[2].end, "end": words[2].end + 0.2}
    )  # fmt: skip
    words.insert(3, added)
    document.segments[1].text = " ".join(w.text for w in words)
    save_document(edit_episode, document)
    timings = [(w.start, w.end) for i, w in enumerate(words) if i != 3]
    before = words[2].text

    with editor_page(edit_episode) as (page, errors):
        page.wait_for_selector(".w")
        marked = page.locator('.w[data-seg="1"][data-i="3"]')
        expect(marked).to_have_text("Quokka.")
        expect(marked).to_have_class(re.compile(r"\bcorrected\b"))
        assert "Added" in marked.get_attribute("title")
        undo = page.locator('button.undo[data-seg="1"][data-i="3"]')
        assert "remove" in undo.get_attribute("aria-label")
        undo.click()
        expect(page.locator('.w[data-seg="1"]')).to_have_count(len(words) - 1)
        expect(page.locator('.w[data-seg="1"][data-i="2"]')).to_have_text(before + ".")
        assert page.locator('button.undo[data-seg="1"]').count() == 0
        page.click("#save")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Saved')")
        assert not errors, errors

    after = load_document(path).segments[1].words
    assert [w.text for w in after][:3] == [w.text for w in words[:2]] + [before + "."]
    assert "Quokka" not in " ".join(w.text for w in after)
    assert [(w.start, w.end) for w in after] == timings
    assert all(w.original is None for w in after)
    assert "Quokka" not in (edit_episode / f"{SLUG}.vtt").read_text()


@pytest.mark.browser
def test_browser_undoes_a_correction_written_as_two_words_once(edit_episode: Path) -> None:
    """A correction written as two words for one heard ("Quokkapod," -> "P Pod,": each records
    the heard word, the second ``joined`` to the first) has one undo, which says what it puts
    back and where; clicking it puts the heard word back once, in the correction's time, not
    once per written word ("Quokkapod, Pod,"), and the save publishes exactly that (issue #12)."""
    from playwright.sync_api import expect

    from ppod_audio.edit.history import save_document
    from ppod_audio.transcript.clean import spread

    path = edit_episode / "episode.json"
    document = load_document(path)
    words = document.segments[1].words
    assert len(words) >= 4
    make_sure(words)
    heard = words[2].model_copy(update={"text": "Quokkapod,"})
    (a, b), (c, d) = spread(heard.start, heard.end, ("P", "Pod,"))
    words[2:3] = [
        heard.model_copy(update={"text": "P", "start": a, "end": b, "original": "Quokkapod,"}),
        heard.model_copy(
            update={"text": "Pod,", "start": c, "end": d, "original": "Quokkapod,", "joined": True}
        ),
    ]
    document.segments[1].text = " ".join(w.text for w in words)
    save_document(edit_episode, document)
    expected = [w.text for w in words[:2]] + ["Quokkapod,"] + [w.text for w in words[4:]]
    timings = [(w.start, w.end) for w in words[:2]] + [(a, d)]
    timings += [(w.start, w.end) for w in words[4:]]

    with editor_page(edit_episode) as (page, errors):
        page.wait_for_selector(".w")
        for i in (2, 3):
            marked = page.locator(f'.w[data-seg="1"][data-i="{i}"]')
            expect(marked).to_have_class(re.compile(r"\bcorrected\b"))
            assert "Quokkapod," in marked.get_attribute("title")
        undo = page.locator('button.undo[data-seg="1"]')
        assert undo.count() == 1  # one correction, one undo, after its last word
        assert undo.get_attribute("data-i") == "3"
        label = undo.get_attribute("aria-label")
        assert "put back Quokkapod," in label and "P Pod," in label, label
        undo.click()
        expect(page.locator('.w[data-seg="1"]')).to_have_count(len(expected))
        texts = page.locator('.w[data-seg="1"]').all_text_contents()
        assert texts == expected, texts
        assert page.locator('button.undo[data-seg="1"]').count() == 0
        page.click("#save")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Saved')")
        assert not errors, errors

    after = load_document(path).segments[1].words
    assert [w.text for w in after] == expected
    assert [(w.start, w.end) for w in after] == timings
    assert all(w.original is None and not w.joined for w in after)
    assert (edit_episode / f"{SLUG}.vtt").read_text().count("Quokkapod") == 1
