"""No lost work: an editor's corrections and a published transcript survive failed runs, runs
without speech recognition, full disks, concurrent commands and crashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DEMO, REPO, SHORT, copy_published, ffmpeg, fix_first_word
from mutagen.id3 import ID3
from test_editor_browser import fetch, put

from ppod_audio.cli import cli
from ppod_audio.editor.server import EditorServer
from ppod_audio.pipeline import episode_lock
from ppod_audio.transcript.model import load_document

SRC = str(REPO / "src")


def words(folder: Path) -> list[tuple[str, float, float]]:
    return [(w.text, w.start, w.end) for w in load_document(folder / "episode.json").words()]


def process(folder: Path, *extra: str) -> Any:
    """``ppod process`` on the episode whose output is ``folder`` (its copied show)."""
    source = folder.parents[1] / "raw_audio" / folder.name
    return CliRunner().invoke(cli, ["process", str(source), "-o", str(folder.parent), *extra])


def published_texts(folder: Path) -> str:
    slug = folder.name
    lyrics = ID3(folder / f"{slug}.mp3").getall("USLT")[0].text
    return (folder / f"{slug}.txt").read_text(encoding="utf-8") + lyrics


# --- a failed run never makes the next one discard an editor's work ---------------------------


@pytest.mark.slow  # the demo through the whole pipeline
def test_edits_survive_failed_runs(published_demo: Path, tmp_path: Path) -> None:
    """edit -> break episode.toml -> run fails (twice) -> render -> fix -> run: the edit is
    still in episode.json and every output, on the same words and timings."""
    folder = copy_published(published_demo, tmp_path)
    manifest = tmp_path / "raw_audio" / DEMO.name / "episode.toml"
    good = manifest.read_text(encoding="utf-8")
    fix_first_word(folder, "Zanzibar")
    edited = words(folder)
    manifest.write_text(good + "\ntitle = [unclosed\n", encoding="utf-8")
    for _ in range(2):
        failed = process(folder)
        assert failed.exit_code == 2 and "episode.toml" in failed.output, failed.output
    assert CliRunner().invoke(cli, ["render", str(folder)]).exit_code == 0
    assert ID3(folder / f"{DEMO.name}.mp3").version[:2] == (2, 3)  # the published run's id3
    manifest.write_text(good, encoding="utf-8")
    result = process(folder)
    assert result.exit_code == 0, result.output
    assert "kept the editor's changes" in result.output
    assert words(folder) == edited
    assert "Zanzibar" in published_texts(folder)
    again = process(folder)  # and the run after that (its report is a good one again)
    assert again.exit_code == 0 and words(folder) == edited


# --- a run without speech recognition keeps the transcript ------------------------------------


@pytest.mark.slow  # the demo through the whole pipeline
def test_no_speech_keeps_the_published_transcript_and_its_edits(
    published_demo: Path, tmp_path: Path
) -> None:
    folder = copy_published(published_demo, tmp_path)
    fix_first_word(folder, "Zanzibar")
    before = words(folder)
    assert len(before) > 300
    result = process(folder, "--no-speech")
    assert result.exit_code == 0, result.output
    assert "kept the transcript already published" in result.output
    assert words(folder) == before and "Zanzibar" in published_texts(folder)
    # ...and a later run with speech recognition still knows the words are the editor's.
    result = process(folder)
    assert result.exit_code == 0, result.output
    assert words(folder) == before and "Zanzibar" in published_texts(folder)


@pytest.mark.slow  # the demo through the whole pipeline
def test_no_speech_on_new_recordings_keeps_the_old_transcript_in_history(
    published_demo: Path, tmp_path: Path
) -> None:
    folder = copy_published(published_demo, tmp_path)
    before = words(folder)
    recording = tmp_path / "raw_audio" / DEMO.name / "recording.flac"
    ffmpeg("-i", str(DEMO / "recording.flac"), "-t", "20", str(tmp_path / "short.flac"))
    shutil.copy(tmp_path / "short.flac", recording)
    result = process(folder, "--no-speech")
    assert result.exit_code == 0, result.output
    kept = re.search(r"kept as history/(episode-\d+T\d+\.json)", result.output)
    assert kept and "no longer fits" in result.output, result.output
    saved = load_document(folder / "history" / kept[1])
    assert [(w.text, w.start, w.end) for w in saved.words()] == before


# --- render, --from-text, --revert and an editor save are all or nothing on a full disk -------

DRIVER = """
import hashlib, json, os, shutil, sys, threading
from pathlib import Path
from click.testing import CliRunner
from ppod_audio.cli import cli

source, mount, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
levels = [int(x) for x in sys.argv[4].split(",")]
NEW = "Title from the full disk"

def snapshot(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}

def change(folder):
    doc = json.loads((folder / "episode.json").read_text())
    if mode == "render":
        doc["episode"]["title"] = NEW
        (folder / "episode.json").write_text(json.dumps(doc))
        return lambda: CliRunner().invoke(cli, ["render", str(folder)])
    if mode == "from-text":
        txt = folder / (folder.name + ".txt")
        paragraph = doc["segments"][1]["text"]
        first = doc["segments"][1]["words"][0]["text"]
        fixed = "Zanzibar" + paragraph[len(first):]
        txt.write_text(txt.read_text().replace(paragraph, fixed, 1))
        return lambda: CliRunner().invoke(cli, ["render", "--from-text", str(folder)])
    if mode == "revert":
        return lambda: CliRunner().invoke(cli, ["render", "--revert", str(folder)])
    from ppod_audio.editor.server import EditorServer
    import urllib.request, urllib.error
    server = EditorServer(folder, port=0).__enter__()
    api = server.url.replace("/?token=", "/api/document?token=")
    loaded = json.loads(urllib.request.urlopen(api).read())
    loaded["document"]["episode"]["title"] = NEW
    body = json.dumps({"revision": loaded["revision"], "document": loaded["document"]}).encode()
    class Result:
        pass
    def put():
        result = Result()
        try:
            urllib.request.urlopen(urllib.request.Request(api, data=body, method="PUT"))
            result.exit_code, result.output = 0, ""
        except urllib.error.HTTPError as error:
            result.exit_code, result.output = error.code, error.read().decode()
        server.__exit__()
        return result
    return put

results = []
for free in levels:
    folder = mount / "output" / source.name
    shutil.rmtree(mount / "output", ignore_errors=True)
    shutil.copytree(source, folder)
    run = change(folder)
    before = snapshot(folder)
    stat = os.statvfs(mount)
    filler = stat.f_bavail * stat.f_frsize - free
    with open(mount / "filler", "wb") as stream:
        stream.truncate(0)
        if filler > 0:
            stream.write(b"\\0" * filler)
    result = run()
    (mount / "filler").unlink()
    after = snapshot(folder)
    temporaries = [str(p) for p in folder.rglob(".*tmp*")]
    results.append({"free": free, "exit": result.exit_code, "output": str(result.output)[-300:],
                    "same": before == after, "changed": sorted(k for k in after
                    if before.get(k) != after[k]), "temporaries": temporaries})
print(json.dumps(results))
"""


def unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("mode", ["render", "from-text", "revert", "editor"])
def test_a_full_disk_midway_leaves_every_published_file_as_it_was(
    published_words: Path, tmp_path: Path, mode: str
) -> None:
    """On a small tmpfs, the disk is filled to leave from nothing to more than the MP3: each
    attempt either publishes everything or fails leaving every file byte-identical."""
    if not unshare_works():
        pytest.skip("needs `unshare -rm` (user and mount namespaces) to mount a small tmpfs")
    folder = copy_published(published_words, tmp_path)
    if mode == "revert":
        fix_first_word(folder, "Zanzibar")  # published, with a version to go back to
        assert CliRunner().invoke(cli, ["render", str(folder)]).exit_code == 0
    mp3 = (folder / f"{DEMO.name}.mp3").stat().st_size
    levels = [0, 8_192, 40_000, 120_000, mp3 // 2, mp3 + 16_384, mp3 + 400_000, 3 * mp3]
    mount = tmp_path / "mnt"
    mount.mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(DRIVER), encoding="utf-8")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) + 4 * mp3
    command = (f"mount -t tmpfs -o size={size} tmpfs {mount} && exec {sys.executable} {driver} "
               f"{folder} {mount} {mode} {','.join(map(str, levels))}")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True,
                          text=True, env=env, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for result in results:
        assert not result["temporaries"], result
        if result["exit"] != 0:
            assert result["same"], result  # a failure changed nothing
        else:
            assert f"{DEMO.name}.mp3" in result["changed"], result  # published whole
    outcomes = [result["exit"] == 0 for result in results]
    assert not outcomes[0] and outcomes[-1], results  # the disk did fill up, and then did not


@pytest.mark.parametrize(
    ("field", "value"),
    [("website", "https://例え.jp/podcast"), ("language", "ελ"), ("language", "it")],
)
def test_a_tag_mutagen_rejects_leaves_every_published_file_as_it_was(
    published_short: Path, tmp_path: Path, field: str, value: str
) -> None:
    """A new title (every transcript changes) with a value mutagen cannot write (a website
    outside Latin-1, a language that is not a code): render and an editor save refuse it in
    one line, and no transcript has the new title."""
    folder = copy_published(published_short, tmp_path)
    path = folder / "episode.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["episode"].update({"title": "A title never published", field: value})
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with EditorServer(folder, port=0) as server:
        api = server.url.replace("/?token=", "/api/document?token=")
        revision = json.loads(fetch(api)[1])["revision"]
        status, answer = put(api, {"revision": revision, "document": doc})
    assert status == 400 and field in answer["error"], answer
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    result = CliRunner().invoke(cli, ["render", str(folder)])
    assert result.exit_code == 2 and field in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


# --- render and the editor take the episode's lock ---------------------------------------------


def test_render_and_editor_saves_wait_for_the_episode_lock(
    published_short: Path, tmp_path: Path
) -> None:
    folder = copy_published(published_short, tmp_path)
    env = {**os.environ, "PYTHONPATH": SRC}
    with episode_lock(folder):  # as `ppod process` holds it
        render = subprocess.Popen(
            [sys.executable, "-c", "from ppod_audio.cli import main; main()", "render",
             str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        with EditorServer(folder, port=0) as server:
            api = server.url.replace("/?token=", "/api/document?token=")
            loaded = json.loads(fetch(api)[1])
            loaded["document"]["episode"]["title"] = "Saved while processing"
            body = {"revision": loaded["revision"], "document": loaded["document"]}
            before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
            status, answer = put(api, body)
            assert status == 423 and "another command" in answer["error"], answer
            assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
            # Render says it waits, and is still waiting: read until it says so (a render that
            # ignored the lock would finish without a word, and readline would reach the end).
            said = ""
            while "locked by another run; waiting" not in said:
                line = render.stderr.readline()
                assert line, f"ppod render ended without waiting for the lock: {said}"
                said += line
            assert render.poll() is None, "ppod render ran while the episode was locked"
    _, stderr = render.communicate(timeout=120)
    assert render.returncode == 0, said + stderr
    with EditorServer(folder, port=0) as server:
        api = server.url.replace("/?token=", "/api/document?token=")
        body["revision"] = json.loads(fetch(api)[1])["revision"]
        assert put(api, body)[0] == 200


# --- a crash at any point of `ppod process` ----------------------------------------------------

CRASH = """
import os, signal, sys
crash_at, calls, real = int(sys.argv[1]), [0], os.replace
def replace(*args, **kwargs):
    calls[0] += 1
    if calls[0] == crash_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
os.replace = replace
sys.argv = ["ppod", *sys.argv[2:]]
from ppod_audio.cli import main
main()
"""


def consistent(folder: Path) -> dict[str, Any]:
    """What each published file says the episode is; all must agree."""
    slug = folder.name
    doc = load_document(folder / "episode.json")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    data = (folder / "episode.json").read_bytes()
    return {
        "mp3": str(ID3(folder / f"{slug}.mp3")["TIT2"]),
        "document": doc.episode.title,
        "report": report["title"],
        "html": doc.episode.title in (folder / f"{slug}.html").read_text(encoding="utf-8"),
        "report_knows_document": report["keys"]["document"] == hashlib.sha256(data).hexdigest(),
    }


@pytest.mark.slow
def test_a_crash_at_any_point_of_process_never_leaves_a_mixed_set(
    published_short: Path, tmp_path: Path
) -> None:
    """``ppod process`` (a new title: every output changes) is SIGKILLed at each file rename in
    turn. Whatever the point, once the next command has taken the episode's lock (here
    ``ppod edit``, which publishes nothing itself) the MP3, episode.json, transcripts and
    report.json describe one run, and the run after does not take the pipeline's own document
    for an editor's."""
    pristine = copy_published(published_short, tmp_path / "pristine")
    manifest = pristine.parents[1] / "raw_audio" / SHORT / "episode.toml"
    manifest.write_text(manifest.read_text().replace("A short episode", "A new title"))
    env = {**os.environ, "PYTHONPATH": SRC}
    crashes, problems = 0, []
    for crash_at in range(1, 60):
        work = tmp_path / f"run-{crash_at}"
        shutil.copytree(pristine.parents[1], work)
        folder = work / "output" / SHORT
        report = json.loads((folder / "report.json").read_text())
        report["source"] = str(work / "raw_audio" / SHORT)
        (folder / "report.json").write_text(json.dumps(report))
        run = subprocess.run(
            [sys.executable, "-c", CRASH, str(crash_at), "process", str(work / "raw_audio" / SHORT),
             "-o", str(work / "output"), "--no-speech"],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        if run.returncode == 0:
            break
        assert run.returncode == -9, run.stderr[-2000:]
        crashes += 1
        with EditorServer(folder, port=0):  # `ppod edit`: takes the lock, changes nothing
            pass
        state = consistent(folder)
        if not state["mp3"] == state["document"] == state["report"] or not (
            state["html"] and state["report_knows_document"]
        ):
            problems.append((crash_at, "a mixed set", state))
        if list(folder.rglob(".*tmp*")):
            problems.append((crash_at, "temporary files left", None))
        rerun = process(folder, "--no-speech")
        assert rerun.exit_code == 0, rerun.output
        if "editor" in rerun.output or "history/" in rerun.output:
            problems.append((crash_at, "the pipeline's own document taken for an edit", None))
        if consistent(folder)["document"] != "A new title":
            problems.append((crash_at, "the re-run did not publish", None))
        shutil.rmtree(work)
    assert not problems, problems
    assert crashes >= 10, crashes  # every rename of the publication was a crash point
