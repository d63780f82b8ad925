"""Whole-pipeline real-time factor of ``ppod process`` on a long episode, per speech model.

    python bench/pipeline_rtf.py [--minutes 30] [--model base] [--set speech.beam_size=1 ...]

The demo recording looped to ``--minutes`` (as ``bench/benchmark.py`` makes it) is processed by a
fresh ``ppod process --force`` subprocess. Two figures are printed, because the 2-core machines
this is measured on are shared: the wall-clock RTF (what a user waits, inflated by anything else
running) and the CPU RTF, the process's user + system CPU seconds divided by 2 cores (what the
work costs on 2 cores of its own; it does not count waiting, so it is a lower bound of the wall
figure on an idle machine). Per-stage wall/CPU seconds come from ``report.json``: on an idle
machine the wall is about the larger of CPU/2 and the longer of the two processes' paths
(speech in the parent; decode+clean, master, export in the child, marked ``overlapped``).
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--model", action="append", default=[], help="repeatable")
    parser.add_argument("--set", action="append", default=[],
                        help="[speech] key=value added to show.toml, e.g. beam_size=1")  # fmt: skip
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="ppod-rtf-"))
    show = make_show(work / "raw_audio")
    if args.set:
        text = (show / "show.toml").read_text(encoding="utf-8")
        extra = "\n".join(args.set)
        (show / "show.toml").write_text(text.replace("[speech]\n", f"[speech]\n{extra}\n"))
    episode = looped_episode(show, "long", args.minutes)
    print(f"# {args.minutes:g}-minute episode, settings {args.set or 'default'}")
    print(
        f"{'model':10} {'wall RTF':>9} {'CPU/2 RTF':>10} {'wall s':>8} {'CPU s':>8}  stages"
    )
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
            print(f"{model or 'default':10} {wall / programme:9.3f} {cpu / CORES / programme:10.3f}"
                  f" {wall:8.0f} {cpu:8.0f}  {stages}", flush=True)  # fmt: skip
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
