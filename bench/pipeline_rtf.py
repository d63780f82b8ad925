"""Whole-pipeline real-time factor of ``ppod process`` on a long episode, per speech model.

    python bench/pipeline_rtf.py [--minutes 30] [--model base] [--set beam_size=1 ...]
                                 [--clean 'noise_reduction="rnnoise"' ...]

The demo recording looped to ``--minutes`` (as ``bench/benchmark.py`` makes it) is processed by a
fresh ``ppod process --force`` subprocess. Two figures are printed, because the 2-core machines
this is measured on are shared: the wall-clock RTF (what a user waits, inflated by anything else
running) and the CPU RTF, the process's user + system CPU seconds divided by 2 cores (what the
work costs on 2 cores of its own; it does not count waiting, so it is a lower bound of the wall
figure on an idle machine). Per-stage wall/CPU seconds come from ``report.json``: on an idle
machine the wall is about the larger of CPU/2 and the longer of the two processes' paths
(speech in the parent; decode+clean, master, export in the child, marked ``overlapped``),
plus what runs before and after them: the "idle RTF" column (:func:`idle_estimate`).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from benchmark import PPOD, looped_episode  # noqa: E402
from eval_pipeline import make_show  # noqa: E402

CORES = 2


def add_settings(show: Path, section: str, lines: list[str]) -> None:
    """``key=value`` lines added at the top of show.toml's ``[section]``."""
    if lines:
        text = (show / "show.toml").read_text(encoding="utf-8")
        extra = "\n".join(lines)
        text = text.replace(f"[{section}]\n", f"[{section}]\n{extra}\n")
        (show / "show.toml").write_text(text, encoding="utf-8")


def idle_estimate(report: dict, cpu: float) -> float:
    """Wall seconds the run would take on 2 cores of its own, from its CPU seconds.

    The audio child's stages (``overlapped``) are one chain of one thread; the parent's speech
    stages run beside it; what is not in any stage (the parent's start-up) comes before both,
    and the stages after the child joins (document, publish, review) after. With perfect
    sharing of the 2 cores the middle takes the larger of half the work and the child's chain.
    A lower bound (it assumes no core sits idle that the work could use)."""
    stages = report["stages"]
    spent = {name: entry.get("cpu", 0.0) for name, entry in stages.items()}
    beside = set(report.get("overlapped", []))
    child = sum(spent[name] for name in beside if name in spent and name != "review model")
    tail = sum(spent.get(name, 0.0) for name in ("document", "publish", "review"))
    middle = sum(spent.values()) - tail
    start = max(0.0, cpu - sum(spent.values()))
    return start + max(middle / CORES, child) + tail


def audio_share(stages: dict) -> str:
    """Mastering and export against the transcription, in wall and in CPU seconds (the issue's
    budget: together at most 0.15 of the transcription's time)."""
    if "transcribe" not in stages or stages["transcribe"].get("cached"):
        return "master+export / transcribe: no transcription in this run"
    parts = [stages.get(name, {}) for name in ("master", "export")]
    wall = sum(part.get("seconds", 0.0) for part in parts)
    cpu = sum(part.get("cpu", 0.0) for part in parts)
    heard = stages["transcribe"]
    return (
        f"master+export / transcribe: {wall:.1f}/{heard['seconds']:.1f} s = "
        f"{wall / max(heard['seconds'], 1e-9):.3f} wall, {cpu:.1f}/{heard.get('cpu', 0):.1f} "
        f"CPU s = {cpu / max(heard.get('cpu', 0.0), 1e-9):.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--model", action="append", default=[], help="repeatable")
    parser.add_argument("--set", action="append", default=[],
                        help="[speech] key=value added to show.toml, e.g. beam_size=1")  # fmt: skip
    parser.add_argument(
        "--clean",
        action="append",
        default=[],
        help='[clean] key=value added to show.toml, e.g. noise_reduction="rnnoise"',
    )
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="ppod-rtf-"))
    show = make_show(work / "raw_audio")
    add_settings(show, "speech", args.set)
    add_settings(show, "clean", args.clean)
    episode = looped_episode(show, "long", args.minutes)
    print(f"# {args.minutes:g}-minute episode, settings {args.set + args.clean or 'default'}")
    print(f"{'model':10} {'wall RTF':>9} {'CPU/2 RTF':>10} {'idle RTF':>9} {'wall s':>8}"
          f" {'CPU s':>8}  stages (wall/CPU s)")  # fmt: skip
    try:
        for model in args.model or [None]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            command = [PPOD, "process", str(episode), "-o", str(work / "out"), "--force", "--json",
                       "--device", "cpu"] + (["--model", model] if model else [])  # fmt: skip
            result = subprocess.run(command, capture_output=True, text=True)
            wall = time.perf_counter() - began
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if result.returncode != 0:
                print(result.stderr[-2000:], file=sys.stderr)
                return 1
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            report = json.loads((work / "out" / "long" / "report.json").read_text())
            programme = args.minutes * 60
            # name=wall/CPU seconds; the stages in ``overlapped`` ran in the child, beside speech.
            stages = " ".join(f"{k}={v['seconds']:.0f}/{v.get('cpu', float('nan')):.0f}"
                              for k, v in report["stages"].items())  # fmt: skip
            idle = idle_estimate(report, cpu) / programme
            print(f"{model or 'default':10} {wall / programme:9.3f} {cpu / CORES / programme:10.3f}"
                  f" {idle:9.3f} {wall:8.0f} {cpu:8.0f}  {stages}", flush=True)  # fmt: skip
            print(f"{'':10} {audio_share(report['stages'])}", flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
