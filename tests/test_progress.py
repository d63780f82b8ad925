"""Progress a person can read when ``ppod process`` runs in a log or a pipe: timestamped lines,
each stage's percentage growing to its end, with the time left once it can be told."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import DEMO, ffmpeg, make_episode

LINE = re.compile(
    r"^(\d\d:\d\d:\d\d) (?P<episode>\S+): (?P<stage>\S+) "
    r"(?:(?P<percent>\d+)%(?: \(eta (?P<eta>[\d:]+)\))?|done in [\d:]+)$"
)


def process_redirected(folder: Path, out: Path, *options: str) -> list[str]:
    """``ppod process`` in a subprocess with stdout and stderr going to pipes, not a terminal."""
    result = subprocess.run(
        [sys.executable, "-c", "from ppod_audio.cli import main; main()", "process", str(folder),
         "-o", str(out), *options],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr.splitlines()


def stages_seen(lines: list[str], episode: str) -> dict[str, list[str]]:
    """Each stage's progress lines, in order: the percentages, then "done"."""
    seen: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        match = LINE.match(line)
        if match and match["episode"] == episode:
            seen[match["stage"]].append(match["percent"] or "done")
    return seen


def assert_grows(steps: list[str], stage: str) -> None:
    percents = [int(step) for step in steps if step != "done"]
    assert steps[-1] == "done", f"{stage} never said it was done: {steps}"
    assert percents[0] == 0, f"{stage} did not start at 0 %: {steps}"
    assert percents == sorted(percents) and len(set(percents)) >= 3, (
        f"{stage}: percentages should grow step by step, got {steps}"
    )


def long_take(tmp_path: Path, seconds: float = 60.0) -> Path:
    """Real speech (a minute unless told): the start of the demo recording the repository makes;
    several 10 s blocks, so each stage has steps to report."""
    take = tmp_path / "take.flac"
    ffmpeg("-i", str(DEMO / "recording.flac"), "-t", f"{seconds:g}", "-ar", "44100", str(take))
    return take


def test_redirected_output_shows_timestamped_stage_percentages(
    show_root: Path, tmp_path: Path
) -> None:
    # Cleaning reports its progress while it reduces noise: RNNoise, a fraction of
    # DeepFilterNet's cost (show_root turns noise reduction off).
    show = show_root / "show.toml"
    show.write_text(
        show.read_text().replace('noise_reduction = "off"', 'noise_reduction = "rnnoise"')
    )
    # 18 s: after trimming, two of master's and export's 10 s blocks (0 %, a step, 99 %, done),
    # and one DNSMOS window before and after (30 s took three of each and 50 % more CPU).
    folder = make_episode(show_root, "minute", {"take.flac": long_take(tmp_path, 18.0)})
    lines = process_redirected(folder, tmp_path / "out", "--no-speech")
    seen = stages_seen(lines, "minute")
    assert {"decode+clean", "master", "export"} <= set(seen), lines
    for stage in ("decode+clean", "master", "export"):
        assert_grows(seen[stage], stage)
    assert all(LINE.match(line) for line in lines), f"every stderr line is a progress line: {lines}"
    assert any(LINE.match(line)["eta"] for line in lines), "a time left is shown once it can be"


@pytest.mark.slow
def test_redirected_output_follows_the_speech_models_and_the_audio_beside_them(
    show_root: Path, tmp_path: Path
) -> None:
    # With speech on, the published audio is made in a child process beside the models: its
    # stages' progress must still reach the parent's output, between the speech stages' lines.
    # Cleaning reports its progress while it reduces noise: the default, DeepFilterNet3.
    show = show_root / "show.toml"
    show.write_text(
        show.read_text().replace('noise_reduction = "off"', 'noise_reduction = "deepfilternet"')
    )
    folder = make_episode(show_root, "minute", {"take.flac": long_take(tmp_path)})
    lines = process_redirected(folder, tmp_path / "out", "--model", "tiny.en")
    seen = stages_seen(lines, "minute")
    for stage in ("transcribe", "diarize", "decode+clean", "master", "export"):
        assert stage in seen, f"no progress for {stage}: {lines}"
        assert seen[stage][-1] == "done", f"{stage} never finished: {seen[stage]}"
    assert_grows(seen["transcribe"], "transcribe")
    assert_grows(seen["decode+clean"], "decode+clean")
