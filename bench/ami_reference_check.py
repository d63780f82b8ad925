"""Do the AMI clips' references line up with their audio, and what can a diarizer score in them?

Run ``python bench/ami_reference_check.py [--split dev|eval|all]``. For each AMI clip it prints:

- the reference shifted by -10..+10 s (``--step``): the energy envelope's separation (mean dB
  of 100 ms frames inside minus outside the shifted reference speech) at 0 s and at its best
  shift, and the embedded diarizer's DER (count known, collar 0.25 s, uem 0-30 s) at 0 s and
  at the best shift (among shifts that keep at least 80 % of the scored speech in the clip:
  a short reference pushed past the end scores nothing). A reference that is late or early
  by a constant would score better away from 0 s (docs/diarization.md, "AMI's references");
- the speaker-seconds beyond one and beyond two voices at once: a diarizer that labels at most
  two people per frame (segmentation-3.0, and this project's) cannot score the second share.

A check of the data, not a tuning tool: on eval clips it reads the reference and scores the
diarizer as ``bench/eval_diarization.py`` does, nothing more.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_diarization import (  # noqa: E402
    RATE,
    Case,
    der,
    load_audio,
    only_uri,
    score,
    shared_data,
)

from ppod_audio.speech.diarize_embedded import diarize_embedded  # noqa: E402
from ppod_audio.speech.turns import Turn  # noqa: E402

CLIPS = {"dev": [f"trn{i:02d}" for i in range(1, 10)], "eval": ["dev00", "dev01", "tst00", "tst01"]}
FRAME = 0.1


def shifted(reference: list[Turn], by: float, duration: float) -> list[Turn]:
    """The reference moved ``by`` seconds, cut to the clip."""
    return [
        Turn(max(0.0, t.start + by), min(duration, t.end + by), t.speaker)
        for t in reference
        if t.end + by > 0 and t.start + by < duration
    ]


def speech_mask(turns: list[Turn], frames: int, step: float) -> np.ndarray:
    mask = np.zeros(frames, dtype=bool)
    for t in turns:
        mask[int(round(t.start / step)) : int(round(t.end / step))] = True
    return mask


def voices(reference: list[Turn], duration: float, step: float = 0.01) -> np.ndarray:
    count = np.zeros(int(duration / step), dtype=int)
    for t in reference:
        count[int(round(t.start / step)) : int(round(min(t.end, duration) / step))] += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "eval", "all"), default="dev")
    parser.add_argument("--step", type=float, default=0.2, help="shift step for the DER scan (s)")
    args = parser.parse_args()
    folder = shared_data() / "conversation" / "ami"
    if not folder.is_dir():
        print(f"SKIP: AMI clips not found at {folder} (set PPOD_SHARED_DATA)")
        return 0
    names = CLIPS["dev"] * (args.split != "eval") + CLIPS["eval"] * (args.split != "dev")
    for name in names:
        audio = load_audio(folder / f"{name}.flac")
        reference = only_uri(folder / f"{name}.rttm")
        duration = len(audio) / RATE
        frames = int(duration / FRAME)
        size = int(FRAME * RATE)
        power = audio[: frames * size].astype(np.float64).reshape(frames, size) ** 2
        level = 10 * np.log10(power.mean(axis=1) + 1e-12)
        separation = {}
        for k in range(-100, 101):
            mask = speech_mask(shifted(reference, k * FRAME, duration), frames, FRAME)
            if 3 <= mask.sum() <= frames - 3:
                separation[k * FRAME] = level[mask].mean() - level[~mask].mean()
        hypothesis = diarize_embedded(audio, RATE, num_speakers=len({t.speaker for t in reference}))
        scan, scored = {}, {}
        for k in range(int(round(-10 / args.step)), int(round(10 / args.step)) + 1):
            moved = shifted(reference, k * args.step, duration)
            if moved:
                case = Case(name, "AMI", "", audio, moved, (0.0, duration))
                parts = score(case, hypothesis)
                scan[round(k * args.step, 3)], scored[round(k * args.step, 3)] = (
                    der([parts]),
                    parts["total"],
                )
        # A shift that pushes most of the speech out of the clip scores nothing: not a match.
        scan = {by: d for by, d in scan.items() if scored[by] >= 0.8 * scored.get(0.0, 0.0)}
        best_energy = max(separation, key=separation.get)
        best_der = min(scan, key=scan.get)
        count = voices(reference, duration)
        total = count.sum() * 0.01
        beyond = [np.maximum(count - n, 0).sum() * 0.01 for n in (1, 2)]
        print(
            f"{name}: energy separation {separation.get(0.0, float('nan')):+.1f} dB at 0 s, "
            f"best {separation[best_energy]:+.1f} dB at {best_energy:+.1f} s; DER (count known) "
            f"{scan.get(0.0, float('nan')):.1f} % at 0 s, best {scan[best_der]:.1f} % at "
            f"{best_der:+.1f} s; {total:.1f} speaker-s, beyond one voice {beyond[0]:.1f} s, "
            f"beyond two {beyond[1]:.1f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
