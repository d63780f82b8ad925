"""``ppod batch``: a back catalogue of real episodes, run as users run it (the installed command).

Each test builds its own small catalogue from real speech the repository makes (the demo's
voices, tests/conftest.py) plus broken episodes, and checks outcomes a user relies on: one bad
episode fails alone, an unchanged catalogue does no work, a change re-runs only what depends
on it, a SIGKILLed batch resumes without corrupt files or repeated work, two batches share an
output folder, and a real Dask cluster processes episodes end to end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import make_episode, make_show, three_voices, voice, without_noise_reduction
from mutagen.mp3 import MP3

from ppod_audio.batch import default_jobs, discover, plan_episode

PPOD = Path(sys.executable).with_name("ppod")
GOOD = ("good-1", "good-2", "good-3")


def catalogue(base: Path, bad: bool = True) -> Path:
    """Three short real-speech episodes (one with two inputs) and, optionally, two broken ones,
    without noise reduction (:func:`without_noise_reduction`): the tests run ten between them."""
    root = make_show(base / "raw_audio")
    without_noise_reduction(root)
    make_episode(root, "good-1", {"recording.wav": voice("steve", 11.0)})
    make_episode(root, "good-2", {"recording.wav": three_voices()})
    make_episode(root, "good-3", {"a.wav": voice("jasmine", 7.0), "b.wav": voice("rebecca", 6.0)})
    if bad:
        garbage = base / "garbage.wav"
        garbage.write_bytes(b"RIFF\x00\x00\x00\x00this is not audio" * 200)
        make_episode(root, "bad-audio", {"recording.wav": garbage})
        make_episode(
            root,
            "bad-manifest",
            {"recording.wav": voice("steve", 11.0)},
            manifest='title = "Broken"\nseson = 1\ninputs = ["recording.wav"]\n',
        )
    return root


def batch(*args: str | Path, timeout: float = 300) -> tuple[int, list[dict[str, Any]], float]:
    """Run ``ppod batch ... --json``; exit code, per-episode results, wall seconds."""
    started = time.perf_counter()
    proc = subprocess.run(
        [str(PPOD), "batch", *map(str, args), "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    elapsed = time.perf_counter() - started
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout), elapsed


def by_episode(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {result["episode"]: result for result in results}


def report(out: Path, slug: str) -> dict[str, Any]:
    return json.loads((out / slug / "report.json").read_text())


def assert_published(out: Path, slug: str) -> None:
    data = report(out, slug)
    assert data["status"] == "ok"
    assert MP3(out / slug / data["mp3"]).info.length > 5


def temporaries(out: Path) -> list[Path]:
    """Temporary files, and work folders of full-rate audio, that a run left behind."""
    return list(out.rglob(".*.tmp*")) + list((out / ".cache").glob(".work-*"))


def test_discover_and_default_jobs(tmp_path: Path) -> None:
    root = catalogue(tmp_path)
    (root / "good-1" / "tracks").mkdir()
    (root / "good-1" / "tracks" / "episode.toml").write_text("not an episode of its own")
    assert [p.name for p in discover(root)] == ["bad-audio", "bad-manifest", *GOOD]
    assert [p.name for p in discover(root, "good-*")] == list(GOOD)
    assert default_jobs(cores=8, memory_gb=4.0) == 2  # memory-bound: a model per worker
    assert default_jobs(cores=2, memory_gb=64.0) == 2  # core-bound
    assert default_jobs(cores=4, memory_gb=0.5) == 1  # never zero


def batch_here(*args: str | Path) -> str:
    """``ppod batch ...``'s standard output, run in this process (Click's runner): for tests of
    what it plans, where a fresh interpreter would only add its start-up."""
    from click.testing import CliRunner

    from ppod_audio.cli import cli

    result = CliRunner().invoke(cli, ["batch", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.stdout


def dry_run(root: Path, out: Path, *extra: str) -> str:
    """What ``ppod batch --dry-run`` prints for the good episodes."""
    return batch_here(root, "-o", out, "--only", "good-*", "--dry-run", *extra)


@pytest.mark.slow
def test_batch_speech_cached_and_selective_reruns(tmp_path: Path) -> None:
    root = catalogue(tmp_path)
    out = tmp_path / "output"

    code, results, first = batch(root, "-o", out, "--jobs", "2")
    assert code == 1
    outcome = by_episode(results)
    for slug in GOOD:
        assert outcome[slug]["status"] == "processed", outcome[slug]
        assert {"transcribe", "diarize", "master", "export"} <= set(outcome[slug]["stages_run"])
        assert_published(out, slug)
        assert report(out, slug)["speech"]["words"] > 5
    assert "not an audio file" in outcome["bad-audio"]["error"]
    assert "seson" in outcome["bad-manifest"]["error"]
    for slug in ("bad-audio", "bad-manifest"):
        assert not outcome[slug]["ok"]
        failed = report(out, slug)
        assert failed["status"] == "failed" and failed["error"] == outcome[slug]["error"]

    dry = subprocess.run(
        [PPOD, "batch", root, "-o", out, "--dry-run"], capture_output=True, text=True, check=True
    ).stdout
    assert "good-1: up to date" in dry and "bad-audio: decode+clean" in dry
    assert "bad-manifest: would fail" in dry

    mtimes = {slug: (out / slug / f"{slug}.mp3").stat().st_mtime_ns for slug in GOOD}
    code, results, second = batch(root, "-o", out, "--only", "good-*")
    assert code == 0
    assert all(r["status"] == "up to date" and not r["stages_run"] for r in results)
    assert {slug: (out / slug / f"{slug}.mp3").stat().st_mtime_ns for slug in GOOD} == mtimes
    # No stage ran and nothing was rewritten: that is the behaviour. The time ratio (the issue's
    # "under 10 %") is a figure bench/benchmark.py prints; a timed assertion here would be flaky.
    del first, second

    # The glossary: text cleaning and rendering only, no audio and no speech model.
    with open(root / "glossary.toml", "a", encoding="utf-8") as glossary:
        glossary.write('"listening" = "tidings"\n')  # good-1 (steve) says "found listening to"
    dry = dry_run(root, out)
    assert dry.count("document + publish (glossary changed)") == 3, dry
    code, results, _ = batch(root, "-o", out, "--only", "good-*")
    assert code == 0
    for slug in GOOD:
        stages = report(out, slug)["stages"]
        assert "decode+clean" not in stages and "transcribe" not in stages
        assert stages["speech"]["cached"] and stages["master"]["cached"]
        assert {"document", "publish"} <= set(by_episode(results)[slug]["stages_run"])
    assert "tidings" in (out / "good-1" / "good-1.txt").read_text()

    # The loudness target: master and export again; the speech model's words come from the cache.
    show = root / "show.toml"
    show.write_text(show.read_text().replace("target_lufs = -16.0", "target_lufs = -19.0"))
    dry = dry_run(root, out)
    assert dry.count("loudness, MP3 or content-warning settings changed") == 3, dry
    code, results, _ = batch(root, "-o", out, "--only", "good-*")
    assert code == 0
    for slug in GOOD:
        data = report(out, slug)
        assert data["stages"]["speech"]["cached"] and "transcribe" not in data["stages"]
        assert not data["stages"]["master"]["cached"] and "export" in data["stages"]
        assert data["loudness"]["output"]["integrated_lufs"] == pytest.approx(-19.0, abs=0.5)

    # Another model: transcription and everything after it (planned only; not run here).
    dry = dry_run(root, out, "--model", "tiny.en")
    assert dry.count("speech + document + publish (model or speech settings changed)") == 3, dry


def test_plan_says_what_changed_once(tmp_path: Path) -> None:
    """New inputs redo speech and audio under one reason; a cleaning change redoes audio only."""
    from ppod_audio.pipeline import ProcessOptions, process_episode
    from ppod_audio.speech.stage import SpeechOptions

    root = make_show(tmp_path / "raw_audio")
    without_noise_reduction(root)
    folder = make_episode(root, "ep", {"recording.wav": voice("steve", 11.0)})
    out = tmp_path / "output"
    speech = SpeechOptions(enabled=False)
    assert process_episode(folder, ProcessOptions(output_root=out, speech=speech)).ok
    assert plan_episode(folder, out, speech).up_to_date

    show = root / "show.toml"
    original = show.read_text()
    show.write_text(original.replace("highpass_hz = 80.0", "highpass_hz = 120.0"))
    plan = plan_episode(folder, out, speech)
    assert plan.stages == ["decode+clean", "master", "export", "document", "publish"], plan
    assert plan.reasons == ["cleaning, loudness, MP3 or content-warning settings changed"]
    result = process_episode(folder, ProcessOptions(output_root=out, speech=speech))
    assert result.report["stages"]["speech"]["cached"], "the speech stage is not redone"
    assert not result.report["stages"]["decode+clean"]["cached"]
    show.write_text(original)

    (folder / "recording.wav").write_bytes(voice("rebecca", 5.5).read_bytes())
    plan = plan_episode(folder, out, speech)
    # Speech recognition is off for this catalogue: new inputs never run it (process does not).
    assert plan.stages == ["decode+clean", "master", "export", "document", "publish"]
    assert plan.reasons == ["inputs changed"], plan.reasons


@pytest.mark.slow  # three episodes through the pipeline in a batch, killed, then again
def test_batch_survives_sigkill_and_resumes(tmp_path: Path) -> None:
    """A power cut in the middle of publishing the second episode (its journal written, one of
    its files renamed): a re-run leaves the first as it was, finishes the second's publishing
    and does the third, with no temporary file left. The kill lands at that point every time:
    ``PPOD_TEST_KILL_AT`` makes the worker SIGKILL its process group there (staging.py)."""
    root = catalogue(tmp_path, bad=False)
    out = tmp_path / "output"
    proc = subprocess.run(
        [PPOD, "batch", root, "-o", out, "--jobs", "1", "--no-speech"],
        env={**os.environ, "PPOD_TEST_KILL_AT": "mid-commit:good-2"},
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,  # the kill takes the batch and its workers, and nothing else
    )
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    finished = [slug for slug in GOOD if (out / slug / "report.json").is_file()]
    assert finished == ["good-1"]
    assert (out / "good-2" / ".publish.journal").is_file(), "killed mid-commit"
    assert temporaries(out), "the second episode's other files are still staged"
    mtime = (out / "good-1" / "good-1.mp3").stat().st_mtime_ns

    code, results, _ = batch(root, "-o", out, "--no-speech")
    assert code == 0, results
    outcome = by_episode(results)
    for slug in GOOD:
        assert_published(out, slug)
    assert outcome["good-1"]["status"] == "up to date"
    assert (out / "good-1" / "good-1.mp3").stat().st_mtime_ns == mtime
    assert not (out / "good-2" / ".publish.journal").exists()
    assert temporaries(out) == []


@pytest.mark.slow  # two whole batches of the pipeline at once
def test_two_batches_on_one_output_do_not_collide(tmp_path: Path) -> None:
    root = catalogue(tmp_path, bad=False)
    out = tmp_path / "output"
    command = [PPOD, "batch", root, "-o", out, "--jobs", "1", "--no-speech", "--json"]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    results = [by_episode(json.loads(stdout)) for stdout, _ in outputs]
    for slug in GOOD:
        assert_published(out, slug)
        statuses = sorted(result[slug]["status"] for result in results)
        assert statuses == ["processed", "up to date"], statuses  # done once, not twice
    assert temporaries(out) == []


def test_dry_run_processes_nothing(tmp_path: Path) -> None:
    root = catalogue(tmp_path)
    out = tmp_path / "output"
    plans = {plan["slug"]: plan for plan in json.loads(batch_here(root, "-o", out, "--dry-run",
                                                                    "--json"))}  # fmt: skip
    assert set(plans) == {"bad-audio", "bad-manifest", *GOOD}
    assert plans["good-1"]["reasons"] == ["no previous report"]
    assert "speech" in plans["good-1"]["stages"] and "export" in plans["good-1"]["stages"]
    assert "seson" in plans["bad-manifest"]["error"]
    assert not out.exists()


@pytest.mark.slow  # a Dask cluster and the pipeline on two episodes
def test_batch_on_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    root = catalogue(tmp_path, bad=False)
    out = tmp_path / "output"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        code, results, _ = batch(
            root,
            "-o",
            out,
            "--scheduler",
            cluster.scheduler_address,
            "--only",
            "good-[12]",
            "--no-speech",
        )
    assert code == 0, results
    assert sorted(r["episode"] for r in results) == ["good-1", "good-2"]
    for result in results:
        assert result["status"] == "processed" and "export" in result["stages_run"]
        assert_published(out, result["episode"])
    assert not (out / "good-3").exists()
