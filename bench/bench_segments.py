"""How long assigning words to speaker turns takes at the scale of an hour's episode.

10^4 words and 10^3 turns (tests/test_segments.py checks the answer; this prints the time,
which a unit test must not assert: a busy machine is not slow code).

    python bench/bench_segments.py [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from ppod_audio.speech.turns import Turn
from ppod_audio.transcript.model import Word
from ppod_audio.transcript.segments import assign_speakers


def episode(seed: int = 1) -> tuple[list[Word], list[Turn]]:
    rng = random.Random(seed)
    turns, t = [], 0.0
    for index in range(1000):
        length = rng.uniform(1.0, 6.0)
        turns.append(Turn(t, t + length, f"S{index % 3}"))
        t += length + rng.uniform(-0.2, 0.5)
    words = [Word(text="word", start=0.35 * i, end=0.35 * i + 0.3) for i in range(10_000)]
    return words, turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    words, turns = episode()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        assign_speakers(words, turns)
        seconds.append(time.perf_counter() - started)
    print(f"assign_speakers, 10^4 words x 10^3 turns: median {statistics.median(seconds):.3f} s "
          f"(best {min(seconds):.3f} s, {runs} runs)")  # fmt: skip


if __name__ == "__main__":
    main()
