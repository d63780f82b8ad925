"""No escape: every path a document names stays inside the episode's folder, and the editor
refuses what is not a document, before anything is written.

Each attack is a crafted ``episode.json`` (or a save of one), tried through ``ppod render`` and
through the editor's ``PUT /api/document`` on a real server: it must be refused (exit 2 / HTTP
400, one line naming the file and the field) and every file, inside the folder and out,
must be byte-identical afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import SHORT, copy_published
from mutagen.id3 import ID3

from ppod_audio.cli import cli
from ppod_audio.editor.server import MAX_BODY, BadBody, EditorServer, parse_body
from ppod_audio.errors import InputError
from ppod_audio.paths import inside

Snapshot = dict[str, tuple[str, bytes]]


def snapshot(root: Path) -> Snapshot:
    """Every file and link under ``root``: what "nothing was written" is checked against."""
    found: Snapshot = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path).encode())
        elif path.is_file():
            found[name] = ("file", path.read_bytes())
    return found


@pytest.fixture
def episode(published_short: Path, tmp_path: Path) -> Path:
    folder = copy_published(published_short, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.bin").write_bytes(b"precious bytes\n")
    (outside / "secret.txt").write_bytes(b"TOP SECRET\n")
    (outside / "other.mp3").write_bytes((folder / f"{SHORT}.mp3").read_bytes())
    return folder


def outside_of(folder: Path) -> Path:
    return folder.parents[1] / "outside"


# Each attack changes the document (and may plant a link in the folder); the field named.
Attack = Callable[[dict[str, Any], Path], str]


def slug_up(doc: dict[str, Any], folder: Path) -> str:
    doc["episode"]["slug"] = "../../outside/escaped"
    return "episode.slug"


def slug_absolute(doc: dict[str, Any], folder: Path) -> str:
    doc["episode"]["slug"] = str(outside_of(folder) / "escaped")
    return "episode.slug"


def cover_absolute(doc: dict[str, Any], folder: Path) -> str:
    doc["episode"]["cover"] = str(outside_of(folder) / "secret.txt")
    return "episode.cover"


def cover_up(doc: dict[str, Any], folder: Path) -> str:
    doc["episode"]["cover"] = "../../outside/secret.txt"
    return "episode.cover"


def cover_link(doc: dict[str, Any], folder: Path) -> str:
    (folder / "art.png").symlink_to(outside_of(folder) / "secret.txt")
    doc["episode"]["cover"] = "art.png"
    return "episode.cover"


def audio_absolute(doc: dict[str, Any], folder: Path) -> str:
    doc["audio"] = str(outside_of(folder) / "victim.bin")
    return "audio"


def audio_up(doc: dict[str, Any], folder: Path) -> str:
    doc["audio"] = "../../outside/victim.bin"
    return "audio"


def audio_link(doc: dict[str, Any], folder: Path) -> str:
    (folder / "link.mp3").symlink_to(outside_of(folder) / "victim.bin")
    doc["audio"] = "link.mp3"
    return "audio"


def audio_link_to_an_mp3(doc: dict[str, Any], folder: Path) -> str:
    (folder / "link.mp3").symlink_to(outside_of(folder) / "other.mp3")
    doc["audio"] = "link.mp3"
    return "audio"


def audio_not_an_mp3(doc: dict[str, Any], folder: Path) -> str:
    doc["audio"] = "report.json"  # inside, but tagging it would prepend an ID3 header
    return "audio"


def audio_named_mp3_but_not_one(doc: dict[str, Any], folder: Path) -> str:
    (folder / "notes.mp3").write_bytes(b"not audio at all\n")
    doc["audio"] = "notes.mp3"
    return "audio"


ATTACKS: list[Attack] = [slug_up, slug_absolute, cover_absolute, cover_up, cover_link,
                         audio_absolute, audio_up, audio_link, audio_link_to_an_mp3,
                         audio_not_an_mp3, audio_named_mp3_but_not_one]  # fmt: skip


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.__name__)
def test_render_refuses_a_path_out_of_the_folder(episode: Path, attack: Attack) -> None:
    path = episode / "episode.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    field = attack(doc, episode)
    path.write_text(json.dumps(doc), encoding="utf-8")
    before = snapshot(episode.parents[1])
    result = CliRunner().invoke(cli, ["render", str(episode)])
    assert result.exit_code == 2, result.output
    message = one_line(result.output)
    assert "episode.json" in message and field in message, message
    assert snapshot(episode.parents[1]) == before


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.__name__)
def test_the_editor_refuses_a_save_naming_a_path_out_of_the_folder(
    episode: Path, attack: Attack
) -> None:
    with EditorServer(episode, port=0) as server:
        status, loaded = request(server, "GET")
        doc = loaded["document"]
        field = attack(doc, episode)
        before = snapshot(episode.parents[1])
        status, answer = request(server, "PUT", {"revision": loaded["revision"], "document": doc})
        assert status == 400, answer
        message = one_line(answer["error"])
        assert "episode.json" in message and field in message, message
        assert snapshot(episode.parents[1]) == before


def test_a_history_folder_linked_out_is_never_written_through(episode: Path) -> None:
    """A save keeps the previous version in history/; a history/ that is a link out of the
    folder would put it elsewhere: the save is refused, and so is a revert through it."""
    elsewhere = outside_of(episode) / "history"
    (episode / "history").rename(elsewhere)
    (episode / "history").symlink_to(elsewhere)
    before = snapshot(episode.parents[1])
    with EditorServer(episode, port=0) as server:
        _, loaded = request(server, "GET")
        doc = loaded["document"]
        doc["episode"]["title"] = "Edited"
        status, answer = request(server, "PUT", {"revision": loaded["revision"], "document": doc})
    assert status == 400 and "history" in one_line(answer["error"]), answer
    result = CliRunner().invoke(cli, ["render", "--revert", str(episode)])
    assert result.exit_code == 2 and "history" in one_line(result.output), result.output
    assert snapshot(episode.parents[1]) == before


def test_a_report_naming_another_folder_as_source_is_refused(episode: Path) -> None:
    """report.json's ``source`` is read for episode.toml (and learn writes the show's
    glossary through it): one that is not this episode's folder is refused."""
    other = outside_of(episode) / "someone-else"
    other.mkdir()
    (other / "episode.toml").write_text('title = "x"\ninputs = ["a.wav"]\n', encoding="utf-8")
    report = json.loads((episode / "report.json").read_text(encoding="utf-8"))
    report["source"] = str(other)
    (episode / "report.json").write_text(json.dumps(report), encoding="utf-8")
    before = snapshot(episode.parents[1])
    result = CliRunner().invoke(cli, ["render", str(episode)])
    assert result.exit_code == 2 and "report.json" in one_line(result.output), result.output
    assert snapshot(episode.parents[1]) == before


def test_a_lock_file_linked_out_is_not_followed(episode: Path) -> None:
    target = outside_of(episode) / "created-by-the-lock"
    (episode / ".lock").unlink()
    (episode / ".lock").symlink_to(target)
    result = CliRunner().invoke(cli, ["render", str(episode)])
    assert result.exit_code == 2 and ".lock" in one_line(result.output), result.output
    assert not target.exists()


def test_inside_resolves_and_refuses() -> None:
    root = Path(__file__).parent
    assert inside(root, "conftest.py", source="x", field="f") == root / "conftest.py"
    for bad in ("", "..", "../x", "/etc/passwd", ".", "a/../../x", "x\0y"):
        with pytest.raises(InputError):
            inside(root, bad, source="x", field="f")


# --- the editor: values, sizes, hosts, the token -------------------------------------------


def request(
    server: EditorServer,
    method: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    host: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One request to the editor's API (through http.client, so the Host header is ours)."""
    port = int(server.url.split(":")[2].split("/")[0])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    connection.putrequest(method, f"/api/document?token={server.token}", skip_host=True)
    connection.putheader("Host", host or f"127.0.0.1:{port}")
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    if data is not None and "Content-Length" not in (headers or {}):
        connection.putheader("Content-Length", str(len(data)))
    connection.endheaders()
    if data is not None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.send(data)  # a refusal may come before the body is read
    reply = connection.getresponse()
    payload = reply.read()
    connection.close()
    return reply.status, json.loads(payload) if payload else None


def with_words(doc: dict[str, Any]) -> dict[str, Any]:
    """The short episode's document with one spoken paragraph (it was made without speech)."""
    start = doc["intro_offset"] + 1.0
    words = [{"text": t, "start": start + i, "end": start + i + 0.5, "probability": 0.9,
              "speaker": None} for i, t in enumerate(["One", "two", "three."])]  # fmt: skip
    doc["segments"].append({"speaker": None, "start": start, "end": start + 2.5,
                            "text": "One two three.", "words": words})  # fmt: skip
    return doc


def edit_raw(doc: dict[str, Any], revision: str, old: str, new: str) -> bytes:
    text = json.dumps({"revision": revision, "document": doc})
    assert old in text
    return text.replace(old, new, 1).encode()


BAD_VALUES: dict[str, tuple[Callable[[dict[str, Any], str], bytes], str]] = {
    "NaN": (lambda d, r: edit_raw(d, r, '"start": 40.5', '"start": NaN'), "NaN"),
    "Infinity": (lambda d, r: edit_raw(d, r, '"start": 40.5', '"start": Infinity'), "Infinity"),
    "-Infinity": (lambda d, r: edit_raw(d, r, '"start": 40.5', '"start": -Infinity'), "Infinity"),
    "1e400": (lambda d, r: edit_raw(d, r, '"start": 40.5', '"start": 1e400'), "out of range"),
    "chapter at 1e12 s": (
        lambda d, r: edit_raw(d, r, '"start": 40.5', '"start": 1e12'),
        "chapters[",
    ),  # fmt: skip
}


@pytest.fixture
def editor(episode: Path):
    with EditorServer(episode, port=0) as server:
        yield server


def prepared(server: EditorServer) -> tuple[dict[str, Any], str]:
    """A document with words, saved, and the chapter the value attacks aim at at 40.5 s."""
    _, loaded = request(server, "GET")
    doc = with_words(loaded["document"])
    doc["chapters"][-1]["start"] = 40.5
    doc["chapters"][-1]["end"] = None
    status, saved = request(server, "PUT", {"revision": loaded["revision"], "document": doc})
    assert status == 200, saved
    return saved["document"], saved["revision"]


def refused(server: EditorServer, episode: Path, *, raw: bytes | None = None, body: Any = None,
            headers: dict[str, str] | None = None) -> str:  # fmt: skip
    before = snapshot(episode.parents[1])
    status, answer = request(server, "PUT", body, raw=raw, headers=headers)
    assert status == 400, answer
    assert snapshot(episode.parents[1]) == before
    return one_line(answer["error"])


def test_the_editor_refuses_non_finite_and_absurd_numbers(editor: EditorServer,
                                                          episode: Path) -> None:  # fmt: skip
    doc, revision = prepared(editor)
    for name, (make, expected) in BAD_VALUES.items():
        message = refused(editor, episode, raw=make(json.loads(json.dumps(doc)), revision))
        assert expected in message, (name, message)
    duration = doc["duration"]
    checks: list[tuple[Callable[[dict[str, Any]], None], str]] = [
        (lambda d: d.update(duration=1e12) or d["chapters"][-1].update(start=1e11),
         "does not match the MP3"),
        (lambda d: d["segments"][1]["words"][2].update(start=duration + 100, end=duration + 101),
         "the end of the programme"),
        (lambda d: d["segments"][1]["words"][2].update(end=duration + 1e6), "past the end"),
        (lambda d: d["segments"][1]["words"][0].update(start=-5.0), "negative"),
        (lambda d: d["segments"][1]["words"][1].update(start=30.0, end=29.0), "before it starts"),
        (lambda d: d["chapters"][-1].update(start=duration), "at or after the end"),
        (lambda d: d.update(intro_offset=duration * 2), "intro_offset"),
    ]  # fmt: skip
    for change, expected in checks:
        bad = json.loads(json.dumps(doc))
        change(bad)
        message = refused(editor, episode, body={"revision": revision, "document": bad})
        assert expected in message and "episode.json" in message, message


def test_the_editor_refuses_deep_oversized_and_broken_bodies(editor: EditorServer,
                                                             episode: Path) -> None:  # fmt: skip
    doc, revision = prepared(editor)
    deep = b'{"revision": "x", "document": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert "nested" in refused(editor, episode, raw=deep)
    shallow_but_deep = {"revision": revision, "document": doc, "extra": [[[[[[[[[[[[[1]]]]]]]]]]]]]}
    assert "nested" in refused(editor, episode, body=shallow_but_deep)
    big = {"Content-Length": str(MAX_BODY + 1)}  # refused on the declared size, unread
    assert "over 16 MB" in refused(editor, episode, raw=b"{}", headers=big)
    with pytest.raises(BadBody, match="over 16 MB"):  # and on the size read, whatever declared
        parse_body(b" " * (MAX_BODY + 1))
    assert "not JSON" in refused(editor, episode, raw=b'{"revision": ')
    assert "revision, document" in refused(editor, episode, body=[1, 2])


def test_the_editor_answers_only_its_own_host(editor: EditorServer, episode: Path) -> None:
    """DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1 talks to the
    editor's port with its own Host header; it is refused even with the token."""
    port = int(editor.url.split(":")[2].split("/")[0])
    assert request(editor, "GET")[0] == 200
    for host in ("evil.example", f"evil.example:{port}", f"localhost.evil.example:{port}",
                 "127.0.0.1", f"127.0.0.1:{port + 1}"):  # fmt: skip
        status, answer = request(editor, "GET", host=host)
        assert status == 403, (host, status)
        _, loaded = request(editor, "GET")
        before = snapshot(episode.parents[1])
        status, _ = request(editor, "PUT", loaded, host=host)
        assert status == 403 and snapshot(episode.parents[1]) == before


def test_the_launch_file_is_the_users_alone_and_opens_the_editor(episode: Path) -> None:
    import urllib.request

    with EditorServer(episode, port=0) as server:
        launch = server.launch_file()
        assert stat.S_IMODE(launch.stat().st_mode) == 0o600
        assert stat.S_IMODE(launch.parent.stat().st_mode) == 0o700
        page = launch.read_text(encoding="utf-8")
        assert server.token in page and str(episode) not in page
        url = page.split('content="0;url=')[1].split('"')[0].replace("&amp;", "&")
        with urllib.request.urlopen(url) as reply:
            assert reply.status == 200 and b"PPOD_TOKEN" in reply.read()
    assert not launch.exists(), "stopping the editor removes the launch file"


def test_ppod_edit_never_puts_the_token_on_a_command_line(episode: Path, tmp_path: Path) -> None:
    """``ppod edit`` opens the browser (here a recorder standing in for it, through Python's
    $BROWSER) on the launch file: its arguments, what `ps` shows, carry no token."""
    argv_file = tmp_path / "browser-argv.json"
    recorder = tmp_path / "browser"
    # Written whole then renamed: the test must never read a file the recorder is still writing
    # (under load it read an empty one).
    part = argv_file.with_suffix(".part")
    recorder.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                        f"open({str(part)!r}, 'w').write(json.dumps(sys.argv))\n"
                        f"os.replace({str(part)!r}, {str(argv_file)!r})\n")  # fmt: skip
    recorder.chmod(0o755)
    env = {**os.environ, "BROWSER": str(recorder),
           "PYTHONPATH": str(Path(__file__).parents[1] / "src")}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-c", "from ppod_audio.cli import main; main()", "edit", str(episode),
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = process.stdout.readline()  # "editing <folder> at <url>": the terminal, not argv
        token = line.split("token=")[1].split()[0]
        deadline = time.monotonic() + 30
        while not argv_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        argv = json.loads(argv_file.read_text())
        own = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C: the editor stops and removes the file
        process.wait(timeout=30)
    assert token and all(token not in arg for arg in argv), argv
    assert token.encode() not in own
    assert argv[1].startswith("file://") and argv[1].endswith(".html"), argv
    assert not Path(argv[1].removeprefix("file://")).exists()


def test_render_refuses_bad_times_too(episode: Path) -> None:
    """The same checks guard ``ppod render``: a chapter at 1e12 s no longer reaches mutagen
    (which fails on it with a traceback after the transcripts were written)."""
    path = episode / "episode.json"
    mp3 = episode / f"{SHORT}.mp3"
    original = path.read_text(encoding="utf-8")
    for change, expected in [
        (lambda d: d["chapters"][-1].update(start=1e12, end=None), "chapters["),
        (lambda d: d["chapters"][-1].update(start=float("nan")), "nan"),
        (lambda d: d.update(duration=float("inf")), "duration"),
    ]:
        doc = json.loads(original)
        change(doc)
        path.write_text(json.dumps(doc), encoding="utf-8")  # Python writes NaN, Infinity
        before = snapshot(episode.parents[1])
        result = CliRunner().invoke(cli, ["render", str(episode)])
        assert result.exit_code == 2, result.output
        assert expected in one_line(result.output), result.output
        assert snapshot(episode.parents[1]) == before
    assert ID3(mp3).getall("CHAP")


def test_batch_planner_does_not_reuse_an_mp3_a_report_names_outside(
    published_short: Path, tmp_path: Path
) -> None:
    """The planner decides whether the published MP3 can be reused from report.json's ``mp3``:
    a report naming a file outside the folder is not a published MP3, whatever exists there."""
    from ppod_audio.batch import plan_episode
    from ppod_audio.speech.stage import SpeechOptions

    episode = copy_published(published_short, tmp_path)
    raw = tmp_path / "raw_audio" / episode.name
    speech = SpeechOptions(enabled=False)
    assert plan_episode(raw, episode.parent, speech).up_to_date
    outside = tmp_path / "elsewhere.mp3"
    shutil.copy(episode / f"{episode.name}.mp3", outside)
    (episode / f"{episode.name}.mp3").unlink()
    report = json.loads((episode / "report.json").read_text())
    report["mp3"] = "../../elsewhere.mp3"
    (episode / "report.json").write_text(json.dumps(report))
    plan = plan_episode(raw, episode.parent, speech)
    assert plan.error is None and "master" in plan.stages, plan.describe()
