"""How long re-publishing a 30-minute episode takes after one redaction (and after one cut).

    python bench/bench_redact.py [--minutes 30] [--no-speech] [--cut] [--work DIR]

The demo episode (its manifest and its recording looped to ``--minutes``, as
``bench/pipeline_rtf.py`` makes it) is published once by a fresh ``ppod process`` (the
project's show and default speech model; ``--no-speech`` skips the models and gives the
programme a transcript of ~2.8 timed words a second instead, as ``bench/bench_render.py``
does). Then ``ppod redact OUTPUT --phrase "..."`` redacts one phrase said once, near the
middle, and re-publishes: the recordings decoded and cleaned again, the edit rendered, the
programme levelled, mastered and encoded, every file published (the speech model is not run
again: its words come from the cache).

Each step is a subprocess, timed two ways because the machines this runs on are shared: wall
seconds (what a person waits, inflated by anything else running) and CPU seconds (user +
system, its children included: what the work costs). Per-stage wall seconds come from
report.json's ``stages``.
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
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from benchmark import PPOD, looped_episode  # noqa: E402
from eval_pipeline import make_show  # noqa: E402

from ppod_audio.edit.history import save_document  # noqa: E402
from ppod_audio.transcript.model import (  # noqa: E402
    Speaker,
    Word,
    load_document,
    segment_from_words,
)


def timed(command: list[str]) -> tuple[float, float]:
    """Run ``command``; its wall and CPU seconds (exits on failure with its error)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def give_words(folder: Path) -> None:
    """~2.8 words a second over the programme, in paragraphs of 17: an editor's transcript."""
    doc = load_document(folder / "episode.json")
    start, end = doc.intro_offset + 0.5, doc.duration - 0.5
    count = int((end - start) * 2.8)
    step = (end - start) / count
    words = [Word(text=f"word{i}", start=round(start + i * step, 3),
                  end=round(start + i * step + step * 0.7, 3), speaker="S1")
             for i in range(count)]  # fmt: skip
    segments = [segment_from_words(words[i : i + 17], "S1") for i in range(0, count, 17)]
    speakers = [*doc.speakers, Speaker(id="S1", name="Person 1")]
    save_document(folder, doc.model_copy(update={"segments": [*doc.segments, *segments],
                                                 "speakers": speakers}))  # fmt: skip


def unique_phrase(folder: Path) -> str:
    """Three words said once in the transcript, as near its middle as can be."""
    doc = load_document(folder / "episode.json")
    words = [w.text for s in doc.segments for w in s.words]
    triples = [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    counts = Counter(t.lower() for t in triples)
    middle = len(triples) // 2
    for i in sorted(range(len(triples)), key=lambda i: abs(i - middle)):
        if counts[triples[i].lower()] == 1 and all(c.isalnum() or c in " '" for c in triples[i]):
            return triples[i]
    sys.exit(f"{folder}: no phrase is said only once")


def stages_of(folder: Path) -> dict[str, Any]:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return {name: (None if stage.get("cached") else round(stage.get("seconds", 0), 1))
            for name, stage in report["stages"].items()}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--no-speech",
        action="store_true",
        help="first publication without the speech models (synthetic words)",
    )
    parser.add_argument("--cut", action="store_true", help="also time one cut after it")
    parser.add_argument("--work", type=Path, help="keep the work folder here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ppod-redact-"))
    try:
        show = make_show(work / "raw_audio")
        episode = looped_episode(show, "long", args.minutes)
        out = work / "output"
        folder = out / episode.name
        first = [PPOD, "process", str(episode), "-o", str(out), "--device", "cpu"]
        wall, cpu = timed(first + (["--no-speech"] if args.no_speech else []))
        speech = "--no-speech" if args.no_speech else "speech on (show.toml's model)"
        print(f"# {args.minutes:g}-minute episode; wall seconds on a shared machine, CPU = "
              "user + system")  # fmt: skip
        print(f"first `ppod process` ({speech}): wall {wall:.1f} s, CPU {cpu:.1f} s")
        print(f"  stages (wall s): {json.dumps(stages_of(folder))}")
        if args.no_speech:
            give_words(folder)
        for kind in ["redact", "cut"] if args.cut else ["redact"]:
            # Chosen after the edit before it: a redacted phrase is no longer said.
            command = [PPOD, kind, str(folder), "--phrase", unique_phrase(folder)]
            wall2, cpu2 = timed(command)
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
            loud = report["loudness"]["output"]
            print(f"re-publish after one {kind} ({command[-1]!r}): wall {wall2:.1f} s "
                  f"({wall2 / wall:.2f}x the first), CPU {cpu2:.1f} s ({cpu2 / cpu:.2f}x); "
                  f"{loud['integrated_lufs']} LUFS, {loud['true_peak_dbtp']} dBTP")  # fmt: skip
            print(f"  stages (wall s; null: reused): {json.dumps(stages_of(folder))}")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
