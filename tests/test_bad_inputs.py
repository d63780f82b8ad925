"""A corpus of bad inputs, each run through the real ``ppod`` command.

Every case starts from the same small show (the project's show.toml, content warning, cover and
glossary) with one 3-second episode that was published once (``earlier``), breaks one thing and
runs ``ppod process`` (or ``ppod batch``) again. Each must end in:

* the right exit code (2 bad input, 1 processing failure; 0 and a warning where we only warn),
* one line on stderr, naming the offending file and containing the fix,
* no traceback, no Python warning (pydub's "Couldn't find ffmpeg" included), no ffmpeg
  internals (``[flac @ 0x55d0...]``),
* nothing half-written in the output folder (no temporary files, no work folders),
* the earlier outputs byte-identical (``report.json`` apart: it records the failure).

Cases run ``ppod`` in the test's own process (Click's ``CliRunner``: the same command, without
paying the imports again for each of the ~70 runs); the fault cases run inside a namespace, the
unprivileged ones as another user, and one case (:func:`test_the_real_command`) as the real
command in a fresh interpreter, where an import-time warning (pydub's) would show.

Inputs are made here (numpy, ffmpeg, text), never committed. File-system faults use real ones: a
small tmpfs filled up, a read-only bind mount, both inside ``unshare -rm`` (a user and mount
namespace: no root needed, nothing visible outside); "cannot be read" runs the command as the
files' owner without root's override (``unshare -U --map-user``) when the tests run as root.

``python tests/test_bad_inputs.py --table`` prints the corpus as a markdown table
(case | exit code | message).
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from conftest import REPO, ffmpeg, make_show, without_noise_reduction, write_wav  # noqa: E402

SRC = REPO / "src"
PPOD = [sys.executable, "-c", "from ppod_audio.cli import main; main()"]
UNSHARE = shutil.which("unshare")
MOUNT = shutil.which("mount")
GOOD_MANIFEST = """title = "Test episode"
season = 1
episode = 7
date = 2024-03-01
inputs = ["take.wav"]

[[speakers]]
name = "Steve Macabee"
role = "Host"

[[chapters]]
start = 0.0
title = "Opening"
"""


# --- the world a case breaks ---------------------------------------------------------------------


@dataclass
class World:
    base: Path
    args: list[str] = field(default_factory=list)

    @property
    def raw(self) -> Path:
        return self.base / "raw"

    @property
    def ep(self) -> Path:
        return self.raw / "ep"

    @property
    def out(self) -> Path:
        return self.base / "out"

    @property
    def manifest(self) -> Path:
        return self.ep / "episode.toml"

    def command(self) -> list[str]:
        return self.args or ["process", str(self.ep), "-o", str(self.out), "--no-speech"]

    def edit(self, path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, (old, path)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def add(self, path: Path, text: str) -> None:
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


Make = Callable[[World], Path]


@dataclass(frozen=True)
class Case:
    name: str
    make: Make  # breaks the world; returns the file the message must name
    code: int
    says: str  # what the message must say about the file
    hint: str  # a word of the fix the message must give
    earlier: bool = True  # a published run exists: it must stay byte-identical
    fault: str | None = None  # "full", "full-fresh", "readonly": a real file-system fault
    unprivileged: bool = False  # run as the files' owner without root's override
    batch: bool = False  # `ppod batch` over two episodes instead of `ppod process`
    speech: bool = False  # speech left on: the failure must come before any speech work
    in_batch: bool = True  # episode-level: also one of the bad episodes of the batch test


def _tone(path: Path, seconds: float = 3.0, rate: int = 16000, amp: float = 0.3) -> Path:
    """A 220 Hz tone over a faint noise floor (-60 dBFS): over digital silence the hum detector
    finds peaks anywhere and the run pays DNSMOS to judge its notches (no case is about hum)."""
    t = np.arange(int(seconds * rate)) / rate
    floor = np.random.default_rng(2).normal(0, 10 ** (-60 / 20), t.size)
    return write_wav(path, (amp * np.sin(2 * np.pi * 220 * t) + floor).astype(np.float32), rate)


def _flac(path: Path, seconds: float = 3.0) -> Path:
    wav = _tone(path.with_suffix(".src.wav"), seconds)
    ffmpeg("-i", str(wav), str(path))
    wav.unlink()
    return path


def _damage(path: Path) -> Path:
    """Scramble 2 kB a third of the way in: the header is fine, the frames after are not."""
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    for i in range(start, min(len(data), start + 2000)):
        data[i] = (data[i] * 7 + 13) % 256
    path.write_bytes(bytes(data))
    return path


def _png(path: Path, width: int, height: int, noise: bool = False) -> Path:
    if noise:  # incompressible: a PNG of ~width*height bytes
        raw = path.with_suffix(".raw")
        rng = np.random.default_rng(3)
        raw.write_bytes(rng.integers(0, 256, width * height, dtype=np.uint8).tobytes())
        ffmpeg("-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-i", str(raw),
               "-frames:v", "1", str(path))  # fmt: skip
        raw.unlink()
    else:
        ffmpeg("-f", "lavfi", "-i", f"color=c=0x2040a0:s={width}x{height}", "-frames:v", "1",
               str(path))  # fmt: skip
    return path


def _set_input(w: World, name: str) -> None:
    w.edit(w.manifest, 'inputs = ["take.wav"]', f'inputs = ["{name}"]')


def _replace_input(w: World, name: str, write: Callable[[Path], object]) -> Path:
    (w.ep / "take.wav").unlink()
    _set_input(w, name)
    target = w.ep / name
    write(target)
    return target


def _manifest(w: World, old: str, new: str) -> Path:
    w.edit(w.manifest, old, new)
    return w.manifest


def _show(w: World, old: str, new: str) -> Path:
    w.edit(w.raw / "show.toml", old, new)
    return w.raw / "show.toml"


def _encode(path: Path, codec: str, bom: bytes = b"") -> Path:
    path.write_bytes(bom + path.read_text(encoding="utf-8").encode(codec))
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _chmod0(path: Path) -> Path:
    path.chmod(0)
    return path


def _long_name(w: World) -> Path:
    long = w.raw / ("e" * 240)
    w.ep.rename(long)
    w.args = ["process", str(long), "-o", str(w.out), "--no-speech"]
    return long


def _out_is_file(w: World) -> Path:
    target = w.base / "notes.txt"
    target.write_text("not a folder\n")
    w.args = ["process", str(w.ep), "-o", str(target), "--no-speech"]
    return target


def _out_under_file(w: World) -> Path:
    target = w.base / "notes.txt"
    target.write_text("not a folder\n")
    w.args = ["process", str(w.ep), "-o", str(target / "out"), "--no-speech"]
    return target


def _glossary(w: World, text: str) -> Path:
    path = w.raw / "glossary.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _batch(w: World) -> Path:
    """Two episodes for `ppod batch`: the file-system fault must fail each alone, one line."""
    shutil.copytree(w.ep, w.raw / "ep2")
    w.args = ["batch", str(w.raw), "-o", str(w.out), "--no-speech", "--jobs", "1", "--json"]
    return w.out


def _force(w: World) -> Path:
    w.args = ["process", str(w.ep), "-o", str(w.out), "--no-speech", "--force"]
    return w.out / "ep"


def _fresh(w: World) -> Path:
    return w.out / "ep"


# fmt: off
CASES = [
    # --- audio inputs ---
    Case("input missing", lambda w: (w.ep / "take.wav").unlink() or w.manifest,
         2, "take.wav, which does not exist", "fix the file name"),
    Case("input is a folder", lambda w: _replace_input(w, "take.flac", Path.mkdir),
         2, "is a folder, not a regular file", "readable audio file"),
    Case("input is a FIFO", lambda w: _replace_input(w, "take.flac", os.mkfifo),
         2, "named pipe (FIFO), not a regular file", "readable audio file"),
    Case("input is zero bytes", lambda w: _replace_input(w, "take.flac", Path.touch),
         2, "is empty (0 bytes)", "readable audio file"),
    Case("input is random bytes", lambda w: _replace_input(
        w, "take.wav", lambda p: p.write_bytes(np.random.default_rng(1).bytes(50000))),
         2, "is not an audio file", "export it again"),
    Case("input is text named .flac", lambda w: _replace_input(
        w, "take.flac", lambda p: p.write_text("these are my notes\n" * 50)),
         2, "is not an audio file", "export it again"),
    Case("input FLAC damaged mid-file", lambda w: _replace_input(
        w, "take.flac", lambda p: _damage(_flac(p))),
         2, "is damaged or truncated", "copy the recording again"),
    Case("input is a picture", lambda w: _replace_input(w, "take.png", lambda p: _png(p, 64, 64)),
         2, "has no audio stream", "export it again"),
    Case("input is silent", lambda w: _replace_input(
        w, "take.wav", lambda p: write_wav(p, np.zeros(48000, np.float32), 16000)),
         2, "is silent", "check the microphone"),
    Case("input is 5 ms long", lambda w: _replace_input(w, "take.wav", lambda p: _tone(p, 0.005)),
         2, "contains no audio", "check the recording"),
    Case("input unreadable", lambda w: _chmod0(w.ep / "take.wav"),
         2, "cannot be read (permission denied)", "readable audio file", unprivileged=True),
    Case("input escapes the folder", lambda w: _manifest(w, '"take.wav"', '"../show.toml"'),
         2, "points outside", "inside the folder"),
    Case("speaker track is a folder", lambda w: _manifest(
        w, 'inputs = ["take.wav"]', "inputs = []").parent.joinpath("tracks").mkdir()
         or _manifest(w, 'role = "Host"', 'role = "Host"\ntrack = "tracks"').parent / "tracks",
         2, "is a folder, not a regular file", "readable audio file"),
    # --- the episode manifest ---
    # (a folder without an episode.toml file is no episode to a batch: not in the batch test)
    Case("episode.toml missing", lambda w: w.manifest.unlink() or w.manifest,
         2, "not found", "create episode.toml", in_batch=False),
    Case("episode.toml is a folder", lambda w: w.manifest.unlink() or w.manifest.mkdir()
         or w.manifest, 2, "is a folder, not a regular file", "readable text file",
         in_batch=False),
    Case("episode.toml invalid TOML", lambda w: _manifest(w, 'title = "Test episode"',
                                                         "title = Test episode"),
         2, "is not valid TOML", "fix the syntax"),
    Case("episode.toml UTF-16 with BOM", lambda w: _encode(w.manifest, "utf-16"),
         2, "is UTF-16 text", "save it as UTF-8"),
    Case("episode.toml UTF-16 without BOM", lambda w: _encode(w.manifest, "utf-16-le"),
         2, "is UTF-16 text", "save it as UTF-8"),
    Case("episode.toml UTF-8 with BOM", lambda w: _encode(w.manifest, "utf-8", codecs.BOM_UTF8),
         2, "byte-order mark", "save it as UTF-8"),
    Case("episode.toml bad UTF-8 (Latin-1)", lambda w: _encode(_manifest(
        w, "Test episode", "Café talk"), "latin-1"),
         2, "is not UTF-8 text (byte 0xe9 on line 1)", "save it as UTF-8"),
    Case("episode.toml no title", lambda w: _manifest(w, 'title = "Test episode"\n', ""),
         2, "title is required", "add it"),
    Case("episode.toml unknown key", lambda w: _manifest(w, "season = 1", "seasons = 1"),
         2, "seasons is not a known setting", "check its spelling"),
    Case("date not a date", lambda w: _manifest(w, "date = 2024-03-01", 'date = "2024-13-45"'),
         2, "date must be an ISO date", "date = 2024-03-01"),
    Case("date in words", lambda w: _manifest(w, "date = 2024-03-01", 'date = "1st March 2024"'),
         2, "date must be an ISO date", "date = 2024-03-01"),
    Case("same speaker twice", lambda w: w.add(w.manifest, '[[speakers]]\nname = "Steve Macabee"\n')
         or w.manifest, 2, "is listed twice", "list each person once"),
    Case("same speaker twice, other case", lambda w: w.add(
        w.manifest, '[[speakers]]\nname = "steve  macabee"\n') or w.manifest,
         2, "is listed twice", "list each person once"),
    Case("chapter at infinity", lambda w: _manifest(w, "start = 0.0", "start = inf"),
         2, "chapters[0].start must be a finite number", "finite"),
    Case("chapter at nan", lambda w: _manifest(w, "start = 0.0", "start = nan"),
         2, "chapters[0].start must be a finite number", "finite"),
    Case("chapter negative", lambda w: _manifest(w, "start = 0.0", "start = -5.0"),
         2, "chapters[0].start must be greater than or equal to 0", "greater than"),
    Case("chapter past the end (warns)", lambda w: w.add(
        w.manifest, '[[chapters]]\nstart = 500.0\ntitle = "Too late"\n') or w.manifest,
         0, "'Too late' starts at 500 s, at or past the end", "fix its start"),
    Case("NUL in title", lambda w: _manifest(w, '"Test episode"', '"Test\\u0000episode"'),
         2, "title contains U+0000", "delete it"),
    Case("bidi override in title", lambda w: _manifest(w, '"Test episode"',
                                                      '"Test \\u202Eedosipe"'),
         2, "U+202E (RIGHT-TO-LEFT OVERRIDE)", "delete it"),
    Case("bidi isolate in speaker name", lambda w: _manifest(w, '"Steve Macabee"',
                                                            '"\\u2066Steve Macabee"'),
         2, "speakers[0].name contains U+2066", "delete it"),
    Case("newline in chapter title", lambda w: _manifest(w, '"Opening"', '"Open\\ning"'),
         2, "chapters[0].title contains U+000A", "delete it"),
    Case("NUL in an input name", lambda w: _manifest(w, '"take.wav"', '"take\\u0000.wav"'),
         2, "inputs[0] contains U+0000", "delete it"),
    Case("no audio listed", lambda w: _manifest(w, 'inputs = ["take.wav"]', "inputs = []"),
         2, "lists no audio", "inputs ="),
    Case("override out of range", lambda w: w.add(
        w.manifest, "[overrides]\nloudness = { target_lufs = -50.0 }\n") or w.manifest,
         2, "overrides.loudness.target_lufs must be greater than or equal to -31", "-31"),
    # --- the show ---
    Case("show.toml invalid TOML", lambda w: _show(w, 'title = "The P Pod"', "title = The P Pod"),
         2, "is not valid TOML", "fix the syntax", in_batch=False),
    Case("show.toml bad UTF-8", lambda w: _encode(w.raw / "show.toml", "latin-1"),
         2, "is not UTF-8 text (byte 0xa9", "save it as UTF-8", in_batch=False),
    Case("show.toml UTF-16", lambda w: _encode(w.raw / "show.toml", "utf-16"),
         2, "is UTF-16 text", "save it as UTF-8", in_batch=False),
    Case("show.toml unknown key", lambda w: _show(w, "genre =", "genres ="),
         2, "genres is not a known setting", "check its spelling", in_batch=False),
    Case("show.toml bidi in author", lambda w: _show(
        w, 'author = "Somerset', 'author = "\\u202DSomerset'),
         2, "author contains U+202D", "delete it", in_batch=False),
    Case("content warning missing", lambda w: (w.raw / "assets/content-warning.flac").unlink()
         or w.raw / "assets/content-warning.flac",
         2, "does not exist", "enabled = false", in_batch=False),
    Case("content warning zero bytes", lambda w: (w.raw / "assets/content-warning.flac")
         .write_bytes(b"") or w.raw / "assets/content-warning.flac",
         2, "is empty (0 bytes)", "enabled = false", in_batch=False),
    Case("content warning is text", lambda w: _write(w.raw / "assets/content-warning.flac",
                                                     b"Please note...\n" * 40),
         2, "is not an audio file", "export it again", in_batch=False),
    Case("content warning damaged", lambda w: _damage(w.raw / "assets/content-warning.flac"),
         2, "is damaged or truncated", "copy the recording again", in_batch=False),
    Case("content warning unreadable", lambda w: _chmod0(w.raw / "assets/content-warning.flac"),
         2, "cannot be read (permission denied)", "enabled = false", unprivileged=True,
         in_batch=False),
    Case("cover missing (old copy published)", lambda w: (w.raw / "assets/cover.png").unlink()
         or w.raw / "assets/cover.png", 2, "does not exist", "square JPEG or PNG", in_batch=False),
    Case("cover zero bytes", lambda w: (w.raw / "assets/cover.png").write_bytes(b"")
         or w.raw / "assets/cover.png", 2, "is empty (0 bytes)", "square JPEG or PNG",
         in_batch=False),
    Case("cover truncated PNG", lambda w: _write(
        w.raw / "assets/cover.png", (REPO / "raw_audio/assets/cover.png").read_bytes()[:30000]),
         2, "damaged or truncated PNG", "square JPEG or PNG", in_batch=False),
    Case("cover is text", lambda w: _write(w.raw / "assets/cover.png", b"cover art here\n"),
         2, "is not an image", "square JPEG or PNG", in_batch=False),
    Case("cover is a GIF", lambda w: _show(w, "assets/cover.png", "assets/cover.gif") and _png(
        w.raw / "assets/cover.gif", 1400, 1400), 2, "is a gif image", "JPEG or PNG",
         in_batch=False),
    Case("cover is a folder", lambda w: _show(w, "assets/cover.png", "assets") and w.raw / "assets",
         2, "is a folder, not a regular file", "square JPEG or PNG", in_batch=False),
    Case("cover not square (warns)", lambda w: _png(w.raw / "assets/cover.png", 1400, 1000),
         0, "cover is 1400x1000, not square", "crop it square", in_batch=False),
    Case("cover too small (warns)", lambda w: _png(w.raw / "assets/cover.png", 600, 600),
         0, "outside Apple's 1400-3000 px", "export it at", in_batch=False),
    Case("cover too many bytes (warns)", lambda w: _png(w.raw / "assets/cover.png", 1400, 1400,
                                                       noise=True),
         0, "every MP3 carries a copy", "under 512 KiB", in_batch=False),
    # --- the glossary: refused before any speech work (speech is on in these) ---
    Case("glossary invalid TOML", lambda w: _glossary(w, 'terms = ["P Pod"\n'),
         2, "is not valid TOML", "fix the line", speech=True, in_batch=False),
    Case("glossary bad UTF-8", lambda w: _glossary(w, 'terms = ["Café"]\n') and _encode(
        w.raw / "glossary.toml", "latin-1"), 2, "is not UTF-8 text", "save it as UTF-8",
         speech=True, in_batch=False),
    Case("glossary terms not a list", lambda w: _glossary(w, 'terms = "P Pod"\n'),
         2, "'terms': must be a list", "terms = [", speech=True, in_batch=False),
    Case("glossary unknown key", lambda w: _glossary(w, '[replacements]\n"Peapod" = "P Pod"\n'),
         2, "'replacements': is not known", "[replace]", speech=True, in_batch=False),
    Case("glossary missing", lambda w: (w.raw / "glossary.toml").unlink()
         or w.raw / "glossary.toml", 2, "does not exist", "create it", speech=True,
         in_batch=False),
    # --- the output and the file system ---
    Case("-o names a file", _out_is_file, 2, "is a file, not a folder", "give -o a folder",
         in_batch=False),
    Case("-o under a file", _out_under_file, 2, "is a file, not a folder", "give -o a folder",
         in_batch=False),
    Case("episode folder name too long", _long_name, 2, "the folder name is 240 bytes long",
         "rename the folder to at most 225", in_batch=False),
    Case("episode folder missing", lambda w: shutil.rmtree(w.ep) or w.ep,
         2, "is not an episode folder", "holds episode.toml", in_batch=False),
    Case("output not writable", lambda w: (w.out / "ep").chmod(0o555) or w.out / "ep",
         2, "permission denied", "another output folder", unprivileged=True, in_batch=False),
    Case("output read-only", _fresh, 2, "is on a read-only file system", "another output folder",
         fault="readonly", in_batch=False),
    Case("output read-only, first run", _fresh, 2, "is on a read-only file system",
         "another output folder", earlier=False, fault="readonly", in_batch=False),
    Case("disk full", _force, 1, "no space left on the device", "free some space",
         fault="full", in_batch=False),
    Case("disk full, first run", _fresh, 1, "no space left on the device", "free some space",
         earlier=False, fault="full-fresh", in_batch=False),
    Case("batch: output read-only", _batch, 2, "is on a read-only file system",
         "another output folder", fault="readonly", batch=True, in_batch=False),
    Case("batch: disk full", _batch, 1, "no space left on the device", "free some space",
         earlier=False, fault="full-fresh", batch=True, in_batch=False),
]
# fmt: on


# --- running a case ------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    """PATH without any ffmpeg (pydub must not go looking and warn); our source first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = str(Path(sys.executable).parent)
    env["PYTHONPATH"] = str(SRC)
    return env


def errors_only(stderr: str) -> list[str]:
    """stderr without the progress lines a redirected ``ppod process`` writes as it works."""
    from ppod_audio.progress import PLAIN_LINE

    return [line for line in stderr.splitlines() if not PLAIN_LINE.match(line)]


def ppod(args: list[str], wrap: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh interpreter (``wrap``: under ``unshare``, as another user)."""
    return subprocess.run([*(wrap or []), *PPOD, *args], capture_output=True, text=True,
                          env=_env(), timeout=300, check=False)  # fmt: skip


# What a fresh interpreter shows on stderr by default (Python's default warning filters).
_HIDDEN_BY_DEFAULT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def ppod_here(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``ppod`` in this process through Click's ``CliRunner``, answered as :func:`ppod` would:
    the exit code, stdout, and stderr with every warning the run raised and any uncaught
    exception's traceback written where a real run would print them."""
    import traceback
    import warnings

    from click.testing import CliRunner

    from ppod_audio.cli import cli

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for category in _HIDDEN_BY_DEFAULT:
            warnings.filterwarnings("ignore", category=category)
        result = CliRunner().invoke(cli, args)
    stderr = result.stderr + "".join(
        f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}\n" for w in caught
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, stderr)


def snapshot(out: Path) -> dict[str, str]:
    """SHA-256 of every published file (report.json records the failure; .lock is the lock)."""
    found = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if rel.parts[0] in (".cache", "filler") or path.name in ("report.json", ".lock"):
            continue
        if path.is_file():
            found[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def leftovers(out: Path) -> list[str]:
    """Half-written files (``.name.XXXX.tmp.ext``) and work folders a failed run left."""
    if not out.is_dir():
        return []
    names = [p for p in out.rglob("*") if p.name.startswith(".")]
    return sorted(str(p.relative_to(out)) for p in names
                  if ".tmp" in p.name or p.name.startswith(".work-"))  # fmt: skip


def _speech_cache(out: Path) -> list[str]:
    folder = out / ".cache" / "speech"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _fill(folder: Path) -> None:
    """Fill the file system holding ``folder`` to the last byte."""
    block = b"\0" * 65536
    with open(folder / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(block)
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    with open(folder / "filler", "ab", buffering=0) as handle:  # the last partial block
        try:
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass


def _mount(fault: str, out: Path) -> None:
    size = {"full": "64m", "full-fresh": "256k"}.get(fault)
    if size:
        subprocess.run([MOUNT, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(out)], check=True)
    else:
        subprocess.run([MOUNT, "--bind", str(out), str(out)], check=True)


def execute(case: Case, template: Path, base: Path, real: bool = False) -> dict:
    """Build the world, break it, run ppod (in this process unless ``real`` or the case runs as
    another user); what a check needs, as plain data (JSON-able, so a case can run inside a
    namespace and report back)."""
    w = World(base)
    shutil.copytree(template / "raw", w.raw)
    w.out.mkdir(parents=True, exist_ok=True)
    if case.fault:
        _mount(case.fault, w.out)
    if case.earlier:
        shutil.copytree(template / "out", w.out, dirs_exist_ok=True)
    named = case.make(w)
    if case.speech:
        w.args = [a for a in w.command() if a != "--no-speech"]
    if case.fault and case.fault.startswith("full"):
        _fill(w.out)
    if case.fault == "readonly":
        subprocess.run([MOUNT, "-o", "remount,bind,ro", str(w.out)], check=True)
    before, speech_before = snapshot(w.out), _speech_cache(w.out)
    wrap = None
    if case.unprivileged and os.geteuid() == 0:
        wrap = [UNSHARE, "-U", "--map-user=1000", "--map-group=1000"]
    result = ppod(w.command(), wrap) if real or wrap else ppod_here(w.command())
    return {
        "rc": result.returncode, "stdout": result.stdout, "stderr": result.stderr,
        "named": str(named),
        "before": before, "after": snapshot(w.out), "leftovers": leftovers(w.out),
        "speech_before": speech_before, "speech_after": _speech_cache(w.out),
    }  # fmt: skip


def _can(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def run_case(case: Case, template: Path, base: Path) -> dict:
    """``execute`` here, or inside ``unshare -rm`` for a file-system fault (mounts need it)."""
    if case.fault:
        probe = [UNSHARE or "unshare", "-rm", MOUNT or "mount", "-t", "tmpfs", "tmpfs", "/mnt"]
        if not (UNSHARE and MOUNT and _can(probe)):
            pytest.skip("needs unshare -rm with tmpfs mounts (user namespaces) for a real fault")
        answer = base.parent / f"{base.name}.json"
        inner = subprocess.run(
            [UNSHARE, "-rm", sys.executable, __file__, "--inside", case.name, str(template),
             str(base), str(answer)],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "PYTHONPATH": str(SRC)},  # this source, run in there
        )  # fmt: skip
        assert inner.returncode == 0, inner.stdout + inner.stderr
        return json.loads(answer.read_text())
    if (
        case.unprivileged
        and os.geteuid() == 0
        and not _can([UNSHARE or "unshare", "-U", "--map-user=1000", "--map-group=1000", "true"])
    ):
        pytest.skip("running as root and unshare --map-user is not permitted: root reads all")
    return execute(case, template, base)


def make_template(root: Path) -> Path:
    """The show and its one episode, published once (speech off, and noise reduction: none of
    the cases is about it): every case starts here."""
    raw = without_noise_reduction(make_show(root / "raw"))
    (raw / "ep").mkdir()
    _tone(raw / "ep" / "take.wav")
    (raw / "ep" / "episode.toml").write_text(GOOD_MANIFEST, encoding="utf-8")
    result = ppod_here(["process", str(raw / "ep"), "-o", str(root / "out"), "--no-speech"])
    assert result.returncode == 0 and not errors_only(result.stderr), result.stderr
    return root


# --- the tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


def check(case: Case, result: dict) -> list[str]:
    """Every promise a bad input's run keeps; returns the message(s) checked."""
    # A batch exits 1 when any episode failed; the episode's own code is in its result.
    assert result["rc"] == (1 if case.batch else case.code), result
    assert "Traceback" not in result["stderr"] + result["stdout"], result["stderr"]
    assert "Warning" not in result["stderr"], result["stderr"]  # pydub's, or any other
    if case.batch:
        episodes = json.loads(result["stdout"])
        failed = [e for e in episodes if not e["ok"]]
        # With earlier outputs one episode is up to date: a batch skips it without writing.
        assert len(episodes) == 2 and len(failed) == 2 - case.earlier, episodes
        assert all(e["exit_code"] == case.code for e in failed), failed
        messages = [e["error"] for e in failed]
    elif case.code == 0:
        messages = [line for line in result["stdout"].splitlines() if case.says in line]
        assert len(messages) == 1, result["stdout"]
    else:
        messages = errors_only(result["stderr"])
        assert len(messages) == 1, result["stderr"]  # one line, nothing else but progress
    for message in messages:
        assert "\n" not in message
        assert case.says in message and result["named"] in message, (message, result["named"])
        assert case.hint.lower() in message.lower(), message
        assert " @ 0x" not in message  # no ffmpeg internals
    assert result["leftovers"] == [], result["leftovers"]
    if case.code != 0:
        assert result["after"] == result["before"], "earlier outputs changed"
    if case.speech:
        assert result["speech_after"] == result["speech_before"], "speech ran before the error"
    return messages


def _own_process(case: Case) -> bool:
    """Whether the case needs a process of its own: a namespace, or another user."""
    return bool(case.fault) or (case.unprivileged and os.geteuid() == 0)


def _run_all(cases: list[Case], template: Path, root: Path) -> dict[str, dict | BaseException]:
    """Every case: those that need a process of their own (a new interpreter that mostly
    imports) in threads, one per core, while the others run here one after another (CliRunner
    swaps this process's stdout and stderr: one at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(index: int, case: Case) -> dict | BaseException:
        try:
            return run_case(case, template, root / f"case{index:02d}" / "world")
        except BaseException as error:  # noqa: BLE001 - a skip or a failure, re-raised per case
            return error

    workers = max(2, len(os.sched_getaffinity(0)))
    with ThreadPoolExecutor(workers) as pool:
        apart = {c.name: pool.submit(one, i, c) for i, c in enumerate(cases) if _own_process(c)}
        here = {c.name: one(i, c) for i, c in enumerate(cases) if not _own_process(c)}
        done = {**here, **{name: future.result() for name, future in apart.items()}}
    return {c.name: done[c.name] for c in cases}


@pytest.fixture(scope="module")
def results(
    template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, dict | BaseException]:
    """The results of the cases this session selected (``-k`` runs only those)."""
    chosen = {
        item.callspec.params["case"].name
        for item in request.session.items
        if isinstance(getattr(item, "callspec", None) and item.callspec.params.get("case"), Case)
    }
    cases = [c for c in CASES if c.name in chosen]
    return _run_all(cases, template, tmp_path_factory.mktemp("cases"))


# One case of each kind runs in the fast tier; the whole corpus (about 70 runs of the real
# command, 15 s wall and 14 CPU s on a busy 2-core machine) with the slow tier (`pytest`).
FAST_CASES = {
    "input missing", "input FLAC damaged mid-file", "episode.toml invalid TOML",
    "episode.toml UTF-16 with BOM", "chapter at nan", "show.toml unknown key",
    "content warning damaged", "cover is text", "glossary invalid TOML", "-o names a file",
    "disk full", "batch: disk full",
}  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name, marks=() if c.name in FAST_CASES else pytest.mark.slow)
     for c in CASES],
)  # fmt: skip
def test_bad_input(case: Case, results: dict[str, dict | BaseException]) -> None:
    result = results[case.name]
    if isinstance(result, BaseException):
        raise result
    check(case, result)


def test_the_real_command(template: Path, tmp_path: Path) -> None:
    """One case as users meet it: the installed command in a fresh interpreter, its real exit
    code and stderr (an import-time warning such as pydub's "Couldn't find ffmpeg" shows only
    there), and a success in the same fresh interpreter with nothing on stderr but progress."""
    case = next(c for c in CASES if c.name == "episode.toml invalid TOML")
    check(case, execute(case, template, tmp_path / "bad", real=True))
    world = World(tmp_path / "good")
    shutil.copytree(template / "raw", world.raw)
    result = ppod(world.command())
    assert result.returncode == 0 and not errors_only(result.stderr), result.stderr
    assert (world.out / "ep" / "ep.mp3").is_file()


def test_in_process_runs_show_what_a_real_run_would(tmp_path: Path) -> None:
    """:func:`ppod_here` hides nothing a real run would print: a warning raised during the
    command, and an uncaught exception's traceback, reach its stderr."""
    import warnings

    from ppod_audio import cli as cli_module

    @cli_module.cli.command("warn-and-crash", hidden=True)
    def warn_and_crash() -> None:
        warnings.warn("something odd", UserWarning, stacklevel=1)
        raise RuntimeError("boom")

    try:
        result = ppod_here(["warn-and-crash"])
    finally:
        del cli_module.cli.commands["warn-and-crash"]
    assert result.returncode == 1
    assert "UserWarning: something odd" in result.stderr
    assert "Traceback" in result.stderr and "RuntimeError: boom" in result.stderr


def test_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.name for c in CASES} >= FAST_CASES


def test_batch_fails_each_bad_episode_alone(template: Path, tmp_path: Path) -> None:
    """A real batch: one good episode among every episode-level bad case; each bad one fails
    alone with its own one-line message and exit code, the good one is published."""
    cases = [c for c in CASES if c.in_batch and not (c.unprivileged or c.fault or c.code == 0)]
    raw = without_noise_reduction(make_show(tmp_path / "raw"))
    shutil.copytree(template / "raw" / "ep", raw / "good")
    expected = {}
    for index, case in enumerate(cases):
        world = World(tmp_path / f"w{index}")
        shutil.copytree(template / "raw", world.raw)
        named = case.make(world)
        folder = raw / f"bad{index:02d}"
        shutil.move(world.ep, folder)
        expected[folder.name] = (case, str(named).replace(str(world.ep), str(folder)))
    out = tmp_path / "out"
    result = ppod_here(["batch", str(raw), "-o", str(out), "--no-speech", "--jobs", "2", "--json"])
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    episodes = {e["episode"]: e for e in json.loads(result.stdout)}
    assert episodes["good"]["ok"] and (out / "good" / "good.mp3").is_file(), episodes["good"]
    for slug, (case, named) in expected.items():
        entry = episodes[slug]
        assert not entry["ok"] and entry["exit_code"] == case.code, (case.name, entry)
        message = entry["error"]
        assert "\n" not in message and case.says in message, (case.name, message)
        assert named in message, (case.name, message)
        assert case.hint.lower() in message.lower(), (case.name, message)
    assert leftovers(out) == []
    assert len(expected) >= 20


# --- the table for the closing note, and the namespace entry point -------------------------------


def _table() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        template = make_template(Path(folder) / "template")
        print("| case | exit code | message |\n|---|---|---|")
        every = _run_all(CASES, template, Path(folder))
        for case in CASES:
            result = every[case.name]
            if isinstance(result, BaseException):
                print(f"| {case.name} | not run | {result} |")
                continue
            code = str(result["rc"])
            if case.batch:
                failed = [e for e in json.loads(result["stdout"]) if e["error"]]
                lines = [e["error"] for e in failed]
                code += f" (episode: {failed[0]['exit_code']})" if failed else ""
            elif case.code == 0:
                lines = result["stdout"].splitlines()
            else:
                lines = errors_only(result["stderr"])
            line = next((s for s in lines if case.says in s), lines[0] if lines else "")
            message = line.strip().replace(folder, "…").replace("|", "\\|")
            print(f"| {case.name} | {code} | {message} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inside"]:
        name, template_dir, base_dir, answer_file = sys.argv[2:6]
        chosen = next(c for c in CASES if c.name == name)
        outcome = execute(chosen, Path(template_dir), Path(base_dir))
        Path(answer_file).write_text(json.dumps(outcome))
    elif sys.argv[1:2] == ["--table"]:
        _table()
    else:
        print(__doc__)
