"""The batch planner predicts exactly the stages ``ppod process`` then runs.

One table of stages (``ppod_audio.stages``) decides both; these tests hold them together on a
real (cheap) episode: the demo's first 10 s, published without speech recognition, then changed
the ways a user changes a catalogue. For each change the plan is taken first, then the episode
processed, and the stages report.json shows at work must be the plan's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEMO, NO_NOISE_REDUCTION, copy_published, ffmpeg, make_episode, make_show

from ppod_audio.batch import plan_episode, process_one
from ppod_audio.pipeline import ProcessOptions, process_episode
from ppod_audio.speech.stage import SpeechOptions
from ppod_audio.stages import STAGE_NAMES, ran

SPEECH_OFF = SpeechOptions(enabled=False)
# What every ``ppod process`` run does, even with nothing to redo (the batch skips the episode).
EVERY_RUN = ["document", "publish"]


def _clip(target: Path, start: float) -> Path:
    ffmpeg("-ss", str(start), "-t", "10", "-i", str(DEMO / "recording.flac"), str(target))
    return target


def _glossary(root: Path, folder: Path) -> None:
    path = root / "glossary.toml"
    path.write_text(path.read_text(encoding="utf-8") + '"sausages" = "Sausages"\n', "utf-8")


def _loudness(root: Path, folder: Path) -> None:
    path = root / "show.toml"
    text = path.read_text(encoding="utf-8")
    assert "target_lufs = -16.0" in text
    path.write_text(text.replace("target_lufs = -16.0", "target_lufs = -19.0"), "utf-8")


def _inputs(root: Path, folder: Path) -> None:
    _clip(folder / "clip.flac", start=40.0)


def _edit(root: Path, folder: Path) -> None:
    pass  # the episode.json edit is made on the output side, below


def _nothing(root: Path, folder: Path) -> None:
    pass


CHANGES: dict[str, tuple[Callable[[Path, Path], None], list[str]]] = {
    "nothing": (_nothing, []),
    "glossary": (_glossary, ["document", "publish"]),
    # The cleaned programme is kept (audio/kept.py): a new loudness target re-masters from it.
    "loudness target": (_loudness, ["master", "export", "document", "publish"]),
    "inputs": (_inputs, ["decode+clean", "master", "export", "document", "publish"]),
    "episode.json edited": (_edit, ["document", "publish"]),
}


@pytest.fixture(scope="module")
def published_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The episode published once for the module (read-only: each test takes a copy); its first
    run's plan is checked against what that run did."""
    base = tmp_path_factory.mktemp("stages")
    root = make_show(base / "raw_audio")
    clip = _clip(base / "clip.flac", start=0.0)
    # Without noise reduction (most of a no-speech run's time; tests/test_denoise.py's subject):
    # the plan and the run are what is tested here, eight times over.
    manifest = 'title = "Test episode"\nseason = 1\nepisode = 7\ninputs = ["clip.flac"]\n'
    folder = make_episode(root, "ep", {"clip.flac": clip}, manifest + NO_NOISE_REDUCTION)
    out = base / "output"
    first = plan_episode(folder, out, SPEECH_OFF)
    result = process_episode(folder, ProcessOptions(output_root=out, speech=SPEECH_OFF))
    assert result.ok, result.error
    assert first.stages == ran(result.report["stages"]), (first.stages, result.report["stages"])
    return out / "ep"


@pytest.fixture
def published(published_once: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of :func:`published_once` (show, episode, output and its cache), which the
    planner must find up to date where it now lies: (show root, episode folder, output root)."""
    episode = copy_published(published_once, tmp_path)
    root = tmp_path / "raw_audio"
    assert plan_episode(root / "ep", episode.parent, SPEECH_OFF).up_to_date
    return root, root / "ep", episode.parent


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_plan_is_what_process_runs(published: tuple[Path, Path, Path], change: str) -> None:
    root, folder, out = published
    apply, expected = CHANGES[change]
    apply(root, folder)
    if change == "episode.json edited":
        document = out / "ep" / "episode.json"
        text = document.read_text(encoding="utf-8")
        assert '"Test episode"' in text
        document.write_text(text.replace('"Test episode"', '"Test episode, edited"'), "utf-8")
    plan = plan_episode(folder, out, SPEECH_OFF)
    assert plan.stages == expected, plan.describe()

    result = process_episode(folder, ProcessOptions(output_root=out, speech=SPEECH_OFF))
    assert result.ok, result.error
    assert ran(result.report["stages"]) == (plan.stages or EVERY_RUN), result.report["stages"]
    assert plan_episode(folder, out, SPEECH_OFF).up_to_date, "processing left work undone"


def test_an_up_to_date_episode_is_not_touched_by_the_batch(
    published: tuple[Path, Path, Path],
) -> None:
    root, folder, out = published
    mp3 = out / "ep" / "ep.mp3"
    before = mp3.stat().st_mtime_ns, (out / "ep" / "report.json").read_bytes()
    outcome = process_one(str(folder), str(out), False, SPEECH_OFF)
    assert outcome.status == "up to date" and not outcome.stages_run, outcome
    assert (mp3.stat().st_mtime_ns, (out / "ep" / "report.json").read_bytes()) == before


def test_force_plans_and_runs_everything_but_the_speech_it_was_told_not_to_run(
    published: tuple[Path, Path, Path],
) -> None:
    root, folder, out = published
    plan = plan_episode(folder, out, SPEECH_OFF, force=True)
    assert plan.stages == [name for name in STAGE_NAMES if name != "speech"], plan.describe()
    options = ProcessOptions(output_root=out, speech=SPEECH_OFF, force=True)
    result = process_episode(folder, options)
    assert result.ok and ran(result.report["stages"]) == plan.stages, result.report["stages"]


def test_a_failed_run_is_planned_again_and_reuses_what_is_still_published(
    published: tuple[Path, Path, Path],
) -> None:
    """After a failed run the batch must run the episode again (report.json says failed),
    but the published MP3 still stands: the plan and the run agree on both."""
    root, folder, out = published
    manifest = folder / "episode.toml"
    good = manifest.read_text(encoding="utf-8")
    manifest.write_text(good.replace("season = 1", "seson = 1"), "utf-8")
    assert not process_episode(folder, ProcessOptions(output_root=out, speech=SPEECH_OFF)).ok
    manifest.write_text(good, "utf-8")
    plan = plan_episode(folder, out, SPEECH_OFF)
    assert plan.stages == EVERY_RUN and plan.reasons == ["previous run failed"], plan.describe()
    result = process_episode(folder, ProcessOptions(output_root=out, speech=SPEECH_OFF))
    assert result.ok and ran(result.report["stages"]) == plan.stages, result.report["stages"]


@pytest.mark.parametrize("change", ["glossary", "loudness target", "inputs"])
def test_process_runs_the_planned_rows_by_their_run(
    published: tuple[Path, Path, Path], change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ppod process`` does each stage's work through its row's ``run`` in the table: on a real
    re-run, the callables called are exactly those of the planned rows (master and export
    share one, called once), and nothing else does a stage's work."""
    from dataclasses import replace

    from ppod_audio import stages

    root, folder, out = published
    apply, expected = CHANGES[change]
    apply(root, folder)
    called: list[str] = []
    recorders: dict[int, Callable[[object], None]] = {}

    def recording(stage: stages.Stage) -> Callable[[object], None]:
        run = stage.run
        if id(run) not in recorders:
            names = [row.name for row in stages.STAGES if row.run is run]

            def record(work: object) -> None:
                called.append("/".join(names))
                run(work)  # type: ignore[arg-type]

            recorders[id(run)] = record
        return recorders[id(run)]

    monkeypatch.setattr(
        stages, "STAGES", tuple(replace(s, run=recording(s)) for s in stages.STAGES)
    )
    plan = plan_episode(folder, out, SPEECH_OFF)
    assert plan.stages == expected, plan.describe()
    result = process_episode(folder, ProcessOptions(output_root=out, speech=SPEECH_OFF))
    assert result.ok, result.error
    runs = {"master": "master/export", "export": "master/export"}
    wanted = list(dict.fromkeys(runs.get(name, name) for name in plan.stages))
    assert called == wanted, (called, plan.stages)
    assert ran(result.report["stages"]) == plan.stages, result.report["stages"]
