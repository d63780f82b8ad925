"""What a newcomer meets first: the doctor, an episode with no show.toml, the content warning's
switch, and published files a web server can read.

The README's first command itself (``scripts/demo`` in a fresh clone with no test extras) is run
by ``.ci/run`` on every submission; these tests pin the pieces it relies on.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from conftest import (
    NO_NOISE_REDUCTION,
    RAW_AUDIO,
    make_episode,
    make_show,
    without_noise_reduction,
    write_wav,
)
from mutagen.id3 import ID3

from ppod_audio.cli import cli
from ppod_audio.doctor import module_version, run_checks


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def tone_take(path: Path, seconds: float = 4.0, rate: int = 44100) -> Path:
    """A voice-like take: a buzz with a few harmonics whose pitch rises and falls around
    180 Hz, a syllable rhythm, and a room's faint noise floor (-60 dBFS).

    Like a voice, and unlike mains hum, its pitch wanders and it has a floor: a steady 180 Hz
    buzz sits on 60 Hz harmonics, and digital silence between its partials shows peaks
    anywhere, so the hum detector notched "hum" and the run paid DNSMOS to judge the notching,
    the bulk of a short take's cleaning and nothing these tests are about."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = 180 + 25 * np.sin(2 * np.pi * 0.8 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    floor = np.random.default_rng(5).normal(0, 10 ** (-60 / 20), t.size)
    return write_wav(path, (0.1 * voice * envelope + floor).astype(np.float32), rate)


def test_doctor_survives_a_missing_parent_package() -> None:
    """``find_spec('pyannote.audio')`` raised ModuleNotFoundError when no ``pyannote`` package
    was installed, and the doctor crashed on a fresh machine; absent is now just absent."""
    assert module_version("no_such_package_ppod.audio", "no-such-package") is None
    assert module_version("click", "click") is not None


def test_doctor_reports_every_component_and_optional_ones_as_optional() -> None:
    code, output = run("doctor")
    assert code == 0, output
    checks = {check.name: check for check in run_checks()}
    for name in ("ffmpeg", "faster_whisper", "torch", "pyannote.audio", "distributed", "cuda"):
        assert name in checks, f"doctor does not report {name}"
        assert name in output
    assert not checks["pyannote.audio"].required and not checks["distributed"].required
    assert "Traceback" not in output


def test_an_episode_without_show_toml_publishes_with_generic_defaults(tmp_path: Path) -> None:
    """A folder outside raw_audio/ with no show.toml above it: no cover, no glossary, no content
    warning, the generic show title; it runs instead of stopping on the show's missing assets."""
    manifest = 'title = "Solo"\ninputs = ["take.wav"]\n' + NO_NOISE_REDUCTION
    folder = make_episode(
        tmp_path / "anywhere", "solo", {"take.wav": tone_take(tmp_path / "t.wav")}, manifest
    )
    assert not (folder.parent / "show.toml").exists()
    code, output = run("process", str(folder), "-o", str(tmp_path / "out"), "--no-speech")
    assert code == 0, output
    published = tmp_path / "out" / "solo"
    document = json.loads((published / "episode.json").read_text())
    assert document["intro_offset"] == 0 and document["segments"] == []
    assert document["episode"]["show"] == "Podcast" and document["episode"]["cover"] is None
    tags = ID3(published / "solo.mp3")
    assert str(tags["TALB"]) == "Podcast" and not tags.getall("APIC")


def _set_warning(show_toml: Path, old: str, new: str) -> None:
    text = show_toml.read_text()
    assert old in text, f"{old!r} not in {show_toml}"
    show_toml.write_text(text.replace(old, new, 1))


def test_content_warning_can_be_switched_off_or_replaced(tmp_path: Path) -> None:
    show_root = without_noise_reduction(make_show(tmp_path / "show"))
    folder = make_episode(show_root, "ep", {"take.wav": tone_take(tmp_path / "t.wav")})
    out = tmp_path / "out"

    def offset() -> float:
        code, output = run("process", str(folder), "-o", str(out), "--no-speech", "--force")
        assert code == 0, output
        return json.loads((out / "ep" / "episode.json").read_text())["intro_offset"]

    standard = offset()
    assert standard > 15  # the show's 20 s warning

    replacement = tone_take(show_root / "assets" / "short-warning.wav", seconds=3.0)
    _set_warning(show_root / "show.toml", 'audio = "assets/content-warning.flac"',
                 f'audio = "assets/{replacement.name}"')  # fmt: skip
    assert 3.0 < offset() < 4.5  # 3 s clip + the 0.7 s gap

    _set_warning(show_root / "show.toml", "enabled = true", "enabled = false")
    assert offset() == 0


def test_published_files_are_readable_by_a_web_server(tmp_path: Path) -> None:
    """Atomic writes went through mkstemp (0600): a web server could not serve the MP3."""
    folder = make_episode(
        without_noise_reduction(make_show(tmp_path / "show")),
        "ep",
        {"t.wav": tone_take(tmp_path / "t.wav")},
    )
    previous = os.umask(0o022)
    try:
        code, output = run("process", str(folder), "-o", str(tmp_path / "out"), "--no-speech")
    finally:
        os.umask(previous)
    assert code == 0, output
    published = [p for p in (tmp_path / "out" / "ep").rglob("*") if p.is_file()]
    assert any(p.suffix == ".mp3" for p in published)
    for path in published:
        if path.name == ".lock":
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o644, f"{path.name} is {oct(mode)}"


def test_the_shows_own_name_and_warning_live_in_show_toml() -> None:
    """Code defaults are generic; the P Pod's identity is configuration."""
    from ppod_audio.config import ShowConfig, load_show

    generic = ShowConfig()
    assert generic.title == "Podcast" and not generic.content_warning.active
    show = load_show(RAW_AUDIO)
    assert show.title == "The P Pod" and show.content_warning.active
    assert "listener discretion" in show.content_warning.text
