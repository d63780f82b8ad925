"""How long ``ppod render`` takes for a 30-minute episode (the issue asks for well under 1 s).

Builds a synthetic 30-minute output folder (a 128 kb/s stereo MP3 of silence made with the
bundled ffmpeg, and an episode.json of ~5,000 timed words in ~300 paragraphs under three
speakers, with chapters), then times :func:`ppod_audio.edit.render.render_episode` (every
transcript format plus re-tagging the MP3 through a temporary copy) and a text fold.

    python bench/bench_render.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from ppod_audio.audio.decode import ffmpeg_exe
from ppod_audio.edit.render import render_episode
from ppod_audio.edit.textfold import fold_text
from ppod_audio.fileio import write_text
from ppod_audio.transcript.formats import render_txt
from ppod_audio.transcript.model import (
    Chapter,
    EpisodeDocument,
    EpisodeInfo,
    Speaker,
    Word,
    document_json,
    segment_from_words,
)

MINUTES = 30
WORDS = 5000
VOCABULARY = [
    "the",
    "partnership",
    "safeguarding",
    "children",
    "Somerset",
    "agencies",
    "review",
    "practice",
    "learning",
    "council",
    "board",
    "police",
    "health",
    "education",
    "statutory",
    "partners",
    "rapid",
    "review",
    "local",
    "area",
]


def synthetic_document(duration: float) -> EpisodeDocument:
    speakers = [Speaker(id=f"S{n}", name=f"Person {n}", role="Guest") for n in (1, 2, 3)]
    step = duration / WORDS
    segments, words = [], []
    for index in range(WORDS):
        speaker = f"S{(index // 17) % 3 + 1}"
        text = VOCABULARY[(index * 7) % len(VOCABULARY)]
        if index % 12 == 11:
            text += "."
        word = Word(text=text, start=index * step, end=index * step + step * 0.8,
                    probability=0.5 + (index % 50) / 100, speaker=speaker)  # fmt: skip
        if words and words[-1].speaker != speaker:
            segments.append(segment_from_words(words, words[-1].speaker))
            words = []
        words.append(word)
    segments.append(segment_from_words(words, words[-1].speaker))
    chapters = [Chapter(start=m * 60.0, end=(m + 5) * 60.0, title=f"Part {m // 5 + 1}")
                for m in range(0, MINUTES, 5)]  # fmt: skip
    return EpisodeDocument(
        episode=EpisodeInfo(slug="bench", title="Bench", show="The P Pod", season=1, number=1),
        audio="bench.mp3", duration=duration, speakers=speakers, segments=segments,
        chapters=chapters,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo",
             "-t", str(MINUTES * 60), "-b:a", "128k", str(out / "bench.mp3")],
            check=True,
        )  # fmt: skip
        document = synthetic_document(MINUTES * 60.0)
        write_text(out / "episode.json", document_json(document))
        render_episode(out)  # warm-up: imports, page cache
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            render_episode(out)
            times.append(time.perf_counter() - started)
        text = render_txt(document).replace("council", "Council", 40)
        started = time.perf_counter()
        fold_text(text, document, out / "bench.txt")
        fold = time.perf_counter() - started
        size = (out / "bench.mp3").stat().st_size / 1e6
        print(f"{MINUTES}-minute episode, {len(document.words())} words, "
              f"{len(document.segments)} paragraphs, MP3 {size:.1f} MB")  # fmt: skip
        print(f"render: median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms over {runs} runs")  # fmt: skip
        print(f"fold an edited text file back: {fold * 1000:.0f} ms")


if __name__ == "__main__":
    main()
