"""Speed and memory of the pipeline, printed as figures (not a test: nothing here asserts).

    python bench/benchmark.py [--quick] [--skip ratio,rtf,bare,memory,batch] [--work DIR]
                              [--model tiny.en,base] [--only ratio] [--episodes demo,long]

Prints, as each measurement finishes:

* the headline: the whole ``ppod process`` (a fresh process, ``--force``, default settings)
  against bare faster-whisper transcribing the same recording (``bench/bare_whisper.py``, a
  fresh process too: import, model load, decode, transcribe), timed from outside in the same
  run, on the demo and on a 30-minute episode: both wall times and their ratio (target <= 1.5),
  CPU seconds (user + sys, children included) of both, and the pipeline's per-stage times.
  On a shared machine the wall ratio moves with the load; the CPU figures do not;
* real-time factor (processing seconds per second of programme) of every stage and of the whole
  pipeline, on the demo episode and on a 30-minute episode made here, on CPU and, when
  CTranslate2 sees a GPU, on CUDA;
* the pipeline's transcription time against bare faster-whisper (same model, same 16 kHz
  cleaned audio, same beam size, VAD and word timestamps), as one ratio (target <= 1.10);
* peak memory (max RSS of the ``ppod process`` subprocess and its children) for a 10- and a
  60-minute episode (target: 60-minute peak within 1.5x of the 10-minute one);
* ``ppod batch`` throughput with ``--jobs 1`` and ``--jobs 2`` on the same 4 episodes.

Long episodes are the demo recording looped by ffmpeg to the length wanted, so the speech is
real and every figure scales with a known programme length. ``--quick`` shrinks everything
(5-minute "long" episode, 2/12-minute memory pair) for a smoke run. Every pipeline run is a
fresh subprocess with ``--force``, so no cache or loaded model carries over between rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))
# The ``ppod`` it runs (a fresh process, the venv's script) imports this checkout's code too,
# not whatever the venv's editable install points at (another worktree's).
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])
)

from eval_pipeline import make_show  # noqa: E402
from eval_wer import data_root  # noqa: E402

PPOD = str(Path(sys.executable).with_name("ppod"))
DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp"
SHARED = data_root()
STAGES = (
    "hash",
    "decode-speech",
    "decode+clean",
    "transcribe",
    "diarize",
    "master",
    "export",
    "document",
    "publish",
)
MAXRSS = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)


def ffmpeg(*args: str) -> None:
    from ppod_audio.audio.decode import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True
    )


def looped_episode(show: Path, name: str, minutes: float) -> Path:
    """The demo episode's manifest over its recording looped to ``minutes`` (chapters kept)."""
    folder = show / name
    folder.mkdir()
    ffmpeg(
        "-stream_loop",
        "-1",
        "-i",
        str(DEMO / "recording.flac"),
        "-t",
        str(minutes * 60),
        "-c:a",
        "flac",
        str(folder / "recording.flac"),
    )
    shutil.copy(DEMO / "episode.toml", folder / "episode.toml")
    return folder


def process(episode: Path, out: Path, device: str = "cpu") -> tuple[dict[str, Any], float]:
    """One fresh ``ppod process --force`` run: its report and its peak RSS in MB."""
    command = [
        sys.executable,
        "-c",
        MAXRSS,
        PPOD,
        "process",
        str(episode),
        "-o",
        str(out),
        "--force",
        "--device",
        device,
        "--json",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"ppod process failed on {episode}:\n{result.stderr[-2000:]}")
    lines = result.stdout.strip().splitlines()
    peak_mb = int(lines[-1]) / 1024
    return json.loads("\n".join(lines[:-1])), peak_mb


def timed(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``command``; its result, wall seconds and CPU seconds (user + sys, its children too)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{result.stderr[-2000:]}")
    return result, wall, cpu


def bare_run(recording: Path, model: str, device: str) -> tuple[dict[str, Any], float, float]:
    """bench/bare_whisper.py in a fresh process: its own timings, wall and CPU seconds."""
    script = str(REPO / "bench" / "bare_whisper.py")
    command = [sys.executable, script, str(recording), "--model", model, "--device", device]
    result, wall, cpu = timed(command)
    return json.loads(result.stdout.strip().splitlines()[-1]), wall, cpu


def ppod_run(
    episode: Path, out: Path, model: str, device: str
) -> tuple[dict[str, Any], float, float]:
    """``ppod process --force`` in a fresh process: its report, wall and CPU seconds."""
    command = [PPOD, "process", str(episode), "-o", str(out), "--force", "--json",
               "--model", model, "--device", device]  # fmt: skip
    result, wall, cpu = timed(command)
    return json.loads(result.stdout), wall, cpu


RATIO_STAGES = ("decode-speech", "decode+clean", "transcribe", "diarize", "master", "export",
                "document", "publish", "review")  # fmt: skip


def bench_ratio(
    show: Path, work: Path, long_minutes: float, devices: list[str], models: list[str],
    episodes: list[str],
) -> None:  # fmt: skip
    """The issue's headline: whole ``ppod process`` wall time over bare faster-whisper's."""
    print("\n## Whole pipeline vs bare faster-whisper, same recording, same run "
          "(fresh processes; target: wall ratio <= 1.5)")  # fmt: skip
    made = {"demo": show / DEMO.name, "long": show / "long"}
    if "demo" in episodes and not made["demo"].exists():
        shutil.copytree(DEMO, made["demo"])
    if "long" in episodes and not made["long"].exists():
        looped_episode(show, "long", long_minutes)
    for device in devices:
        for model in models:
            for name in episodes:
                episode = made[name]
                recording = episode / "recording.flac"
                bare1, bare_wall1, bare_cpu1 = bare_run(recording, model, device)
                report, wall, cpu = ppod_run(episode, work / f"ratio-{device}", model, device)
                if name == "demo":  # short: a second bare run after, to average out the drift
                    _, bare_wall2, bare_cpu2 = bare_run(recording, model, device)
                    bare_wall, bare_cpu = (bare_wall1 + bare_wall2) / 2, (bare_cpu1 + bare_cpu2) / 2
                else:
                    bare_wall, bare_cpu = bare_wall1, bare_cpu1
                stages = report["stages"]
                parts = ", ".join(f"{s} {stages[s]['seconds']:.1f}/{stages[s].get('cpu', 0):.1f}"
                                  for s in RATIO_STAGES if s in stages)  # fmt: skip
                both = sum(stages[s]["seconds"] for s in ("master", "export") if s in stages)
                transcribe_s = stages.get("transcribe", {}).get("seconds") or float("nan")
                label = f"{name} ({bare1['audio_seconds'] / 60:.1f} min) / {model} / {device}"
                print(
                    f"{label}: ppod process {wall:.1f} s wall ({cpu:.1f} s CPU), bare "
                    f"faster-whisper {bare_wall:.1f} s wall ({bare_cpu:.1f} s CPU; transcribe "
                    f"call {bare1['transcribe']:.1f} s), RATIO {wall / bare_wall:.2f} wall, "
                    f"{cpu / bare_cpu:.2f} CPU\n  stages (wall/CPU s): {parts}; master+export = "
                    f"{both / transcribe_s:.2f}x transcribe (target <= 0.15)"
                    f"{_overlap_note(report)}",
                    flush=True,
                )


def _overlap_note(report: dict[str, Any]) -> str:
    """Stages that ran beside the speech models are not on the critical path: say so."""
    overlapped = report.get("overlapped")
    return f"\n  ran beside speech: {', '.join(overlapped)}" if overlapped else ""


def rtf_rows(label: str, report: dict[str, Any]) -> list[str]:
    programme = report["duration"] - report["intro_offset"]
    stages = report["stages"]
    cells = [f"{stages[s]['seconds'] / programme:.4f}" if s in stages else "-" for s in STAGES]
    whole = report["elapsed_seconds"] / programme
    return [
        f"{label:<28} {programme / 60:6.1f} "
        + " ".join(f"{c:>8}" for c in cells)
        + f" {whole:8.4f} {report['elapsed_seconds']:8.1f}"
    ]


def bench_rtf(show: Path, work: Path, long_minutes: float, devices: list[str]) -> None:
    print("\n## Real-time factor per stage (seconds of processing per second of programme)")
    header = " ".join(f"{s[:8]:>8}" for s in STAGES)
    print(f"{'episode / device':<28} {'min':>6} {header} {'pipeline':>8} {'wall s':>8}")
    episodes = [
        ("demo", DEMO),
        (f"{long_minutes:g}-min", looped_episode(show, "long", long_minutes)),
    ]
    for device in devices:
        for label, episode in episodes:
            if episode == DEMO:  # process it inside the benchmark's show (voices, assets)
                episode = show / DEMO.name
                if not episode.exists():
                    shutil.copytree(DEMO, episode)
            report, _ = process(episode, work / f"rtf-{device}", device)
            for row in rtf_rows(f"{label} / {device}", report):
                print(row, flush=True)


def bench_bare(devices: list[str]) -> None:
    """Our ``transcribe`` against ``WhisperModel.transcribe``, same model/audio/settings."""
    from bare_whisper import bare_model, bare_text

    from ppod_audio.config import load_episode, load_show
    from ppod_audio.pipeline import load_and_clean
    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe

    manifest = load_episode(DEMO)
    show = load_show(DEMO.parent)
    with tempfile.TemporaryDirectory() as work:
        audio16 = load_and_clean(manifest, show, Path(work)).speech16
    seconds = len(audio16) / 16000
    print(
        "\n## Transcription: pipeline vs bare faster-whisper "
        f"(demo, {seconds:.0f} s of the 16 kHz audio the pipeline recognises, tiny.en, best of 2)"
    )
    for device in devices:
        options = TranscribeOptions(model="tiny.en", device=device)
        model = bare_model(options)
        transcribe(audio16[: 16000 * 5], options)  # load our cached model copy outside the clock
        ours, bare = [], []
        for _ in range(2):
            started = time.perf_counter()
            words_ours = transcribe(audio16, options).words
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            _, bare_words = bare_text(model, audio16, options)
            bare.append(time.perf_counter() - started)
        print(
            f"{device}: pipeline {min(ours):.2f} s ({len(words_ours)} words), bare "
            f"{min(bare):.2f} s ({bare_words} words), ratio {min(ours) / min(bare):.3f} "
            "(target <= 1.10)",
            flush=True,
        )


def bench_memory(show: Path, work: Path, short: float, long: float) -> None:
    print(
        f"\n## Peak memory (max RSS of `ppod process`, speech on, cpu): {short:g} vs {long:g} min"
    )
    peaks = {}
    for minutes in (short, long):
        episode = looped_episode(show, f"mem-{minutes:g}", minutes)
        report, peaks[minutes] = process(episode, work / "memory")
        print(
            f"{minutes:g}-min episode: peak {peaks[minutes]:.0f} MB, pipeline RTF "
            f"{report['real_time_factor']:.3f}, wall {report['elapsed_seconds']:.0f} s",
            flush=True,
        )
        shutil.rmtree(episode)
    print(f"ratio {long:g}-min / {short:g}-min: {peaks[long] / peaks[short]:.2f}x (target <= 1.5x)")


def bench_batch(work: Path) -> None:
    """Four short real-speech episodes; each --jobs setting gets its own output (own cache)."""
    show = make_show(work / "batch" / "raw_audio")
    sources = [
        [SHARED / "speech/jfk.wav"],
        [SHARED / "conversation/three-excerpts.wav"],
        [SHARED / "speech/dagon.wav"],
        [SHARED / "conversation/katie-steve.wav"],
    ]
    if not all(path.exists() for paths in sources for path in paths):
        print(f"\n## Batch throughput: skipped, {SHARED} is absent (set PPOD_SHARED_DATA)")
        return
    for index, paths in enumerate(sources, 1):
        folder = show / f"episode-{index}"
        folder.mkdir()
        for path in paths:
            shutil.copy(path, folder / path.name)
        inputs = ", ".join(f'"{path.name}"' for path in paths)
        (folder / "episode.toml").write_text(f'title = "Episode {index}"\ninputs = [{inputs}]\n')
    print("\n## Batch throughput (`ppod batch`, 4 real-speech episodes, speech on, cpu)")
    for jobs in (1, 2):
        out = work / f"batch-out-{jobs}"
        started = time.perf_counter()
        result = subprocess.run(
            [
                PPOD,
                "batch",
                str(show),
                "-o",
                str(out),
                "--jobs",
                str(jobs),
                "--device",
                "cpu",
                "--json",
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if not result.stdout.strip():
            raise SystemExit(f"ppod batch failed:\n{result.stderr[-2000:]}")
        results = json.loads(result.stdout)
        audio = sum(r["duration"] or 0 for r in results)
        print(
            f"--jobs {jobs}: {wall:.1f} s for {len(results)} episodes "
            f"({sum(r['ok'] for r in results)} ok), {len(results) / wall * 60:.1f} episodes/min, "
            f"{audio / wall:.1f} s of published audio per second",
            flush=True,
        )
    started = time.perf_counter()
    subprocess.run(
        [
            PPOD,
            "batch",
            str(show),
            "-o",
            str(work / "batch-out-2"),
            "--jobs",
            "2",
            "--device",
            "cpu",
            "--json",
        ],
        capture_output=True,
        check=True,
    )
    print(f"unchanged re-run (--jobs 2): {time.perf_counter() - started:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short episodes: a smoke run")
    parser.add_argument("--skip", default="", help="comma list of: rtf,bare,memory,batch")
    parser.add_argument("--work", type=Path, help="keep the made episodes and outputs here")
    parser.add_argument("--only", default="", help="comma list: run only these sections")
    parser.add_argument("--model", default="tiny.en", help="ratio rows: comma list of models")
    parser.add_argument("--episodes", default="demo,long", help="ratio rows: demo,long")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    if only:
        skip = {"ratio", "rtf", "bare", "memory", "batch"} - only

    import ctranslate2

    from ppod_audio import __version__

    cuda = ctranslate2.get_cuda_device_count() > 0
    devices = ["cpu", "cuda"] if cuda else ["cpu"]
    import os

    print(
        f"# ppod-audio {__version__} benchmark{' (--quick)' if args.quick else ''}: "
        f"{os.cpu_count()} CPU cores, CUDA devices: {ctranslate2.get_cuda_device_count()}"
        f"{'' if cuda else ' (CUDA rows skipped: no GPU visible to CTranslate2)'}"
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="ppod-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    show = make_show(work / "episodes" / "raw_audio")
    long_minutes, memory = (5.0, (2.0, 12.0)) if args.quick else (30.0, (10.0, 60.0))
    try:
        if "ratio" not in skip:
            bench_ratio(show, work, long_minutes, devices, args.model.split(","),
                        args.episodes.split(","))  # fmt: skip
        if "bare" not in skip:
            bench_bare(devices)
        if "batch" not in skip:
            bench_batch(work)
        if "rtf" not in skip:
            bench_rtf(show, work, long_minutes, devices)
        if "memory" not in skip:
            bench_memory(show, work, *memory)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
