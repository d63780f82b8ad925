"""How long re-publishing a 30-minute episode takes after one redaction (and after one cut).

Builds a 30-minute episode from the demo recording looped (``raw_audio/demo-what-is-the-sscp``),
processes it once with ``--no-speech`` (the first publication, timed for comparison), gives it
a transcript of ~5,000 timed words (as ``bench/bench_render.py`` does), then times
:func:`ppod_audio.remaster.apply_edit`: the redaction added to the document, the recordings
decoded and cleaned again, the edit rendered, the programme mastered and encoded, every file
published. Prints the seconds and where they went (report.json's stages).

    python bench/bench_redact.py [--minutes 30] [--cut]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ppod_audio.audio.decode import ffmpeg_exe
from ppod_audio.edit.history import save_document
from ppod_audio.pipeline import ProcessOptions, process_episode
from ppod_audio.remaster import Selection, apply_edit
from ppod_audio.speech.stage import SpeechOptions
from ppod_audio.transcript.model import Speaker, Word, load_document, segment_from_words

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp"


def build(root: Path, minutes: float) -> Path:
    show = root / "raw_audio"
    show.mkdir(parents=True)
    shutil.copy(REPO / "raw_audio" / "show.toml", show / "show.toml")
    shutil.copytree(REPO / "raw_audio" / "assets", show / "assets")
    if (REPO / "raw_audio" / "glossary.toml").exists():
        shutil.copy(REPO / "raw_audio" / "glossary.toml", show / "glossary.toml")
    episode = show / "bench-redact"
    episode.mkdir()
    subprocess.run([ffmpeg_exe(), "-v", "error", "-stream_loop", "-1", "-i",
                    str(DEMO / "recording.flac"), "-t", str(minutes * 60), "-c:a", "flac",
                    str(episode / "recording.flac")], check=True)  # fmt: skip
    (episode / "episode.toml").write_text(
        'title = "Bench"\ninputs = ["recording.flac"]\n[[speakers]]\nname = "Person 1"\n',
        encoding="utf-8",
    )
    return episode


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--cut", action="store_true", help="Also time one cut after it.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        episode = build(root, args.minutes)
        options = ProcessOptions(output_root=root / "output", speech=SpeechOptions(enabled=False))
        started = time.perf_counter()
        result = process_episode(episode, options)
        first = time.perf_counter() - started
        assert result.ok, result.error
        folder = result.output_dir
        give_words(folder)
        print(f"{args.minutes:g}-minute episode: first publication (--no-speech) {first:.1f} s")
        edits = [("redact", Selection(words="100-101"))]
        if args.cut:
            edits.append(("cut", Selection(words="120-130")))
        for kind, selection in edits:
            started = time.perf_counter()
            edited = apply_edit(folder, kind, selection)
            seconds = time.perf_counter() - started
            stages = {name: stage.get("seconds") for name, stage in edited.report["stages"].items()}
            out = edited.report["loudness"]["output"]
            print(f"re-publish after one {kind}: {seconds:.1f} s "
                  f"({seconds / first:.2f}x the first publication); "
                  f"{out['integrated_lufs']} LUFS, {out['true_peak_dbtp']} dBTP")  # fmt: skip
            print(f"  stages: {json.dumps(stages)}")


if __name__ == "__main__":
    main()
