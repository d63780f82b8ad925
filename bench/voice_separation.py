"""How far apart the voices of each conversation are for the CAM++ encoder: why DER is what it is.

Run ``python bench/voice_separation.py [--split dev|eval|all]``. For every recording that
``bench/eval_diarization.py`` scores, each speaker's reference turns (the parts where nobody else
talks) are cut into the diarizer's own windows (1.5 s, 0.25 s apart) and embedded with its own
front end (``embed_regions``). It prints, per file:

- ``spread``: the mean cosine distance of a speaker's windows to that speaker's centroid
  (the largest over the speakers): how much one voice varies from window to window;
- ``closest``: the cosine distance between the two closest speaker centroids, and who they are;
- ``ratio``: closest / spread. Below about 1 the two voices overlap as much as one voice varies,
  and no clustering threshold can keep them apart while keeping every voice whole;
- ``oracle``: the share of windows whose nearest centroid is their own speaker's, with the
  centroids taken from the reference: the best a centroid-based diarizer could label windows.

Eval files are measured for the record (the diarizer's parameters are never chosen from them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_diarization import Case, load_cases, shared_data  # noqa: E402

from ppod_audio.speech.diarize_embedded import (  # noqa: E402
    EmbeddedDiarizerOptions,
    embed_regions,
    unit,
)
from ppod_audio.speech.turns import Turn  # noqa: E402

MIN_WINDOWS = 5  # a speaker with fewer solo windows (1 s of speech) has no measurable spread


def solo_regions(reference: list[Turn], speaker: str) -> list[tuple[float, float]]:
    """The parts of ``speaker``'s turns where no other speaker's turn overlaps."""
    others = [(t.start, t.end) for t in reference if t.speaker != speaker]
    regions: list[tuple[float, float]] = []
    for turn in (t for t in reference if t.speaker == speaker):
        pieces = [(turn.start, turn.end)]
        for o_start, o_end in others:
            pieces = [
                part
                for s, e in pieces
                for part in ((s, min(e, o_start)), (max(s, o_end), e))
                if part[1] - part[0] > 0
            ]
        regions += pieces
    return sorted(regions)


def separation(case: Case, options: EmbeddedDiarizerOptions) -> dict | None:
    """Spread, closest pair and oracle window accuracy of one recording (None: < 2 voices)."""
    speakers = sorted({t.speaker for t in case.reference})
    if len(speakers) < 2:
        return None
    windows = {s: embed_regions(case.audio, solo_regions(case.reference, s), options)[2]
               for s in speakers}  # fmt: skip
    speakers = [s for s in speakers if len(windows[s]) >= MIN_WINDOWS]
    if len(speakers) < 2:
        return None
    centroids = np.stack([unit(windows[s].mean(0)) for s in speakers])
    spread = max(float(np.mean(1 - windows[s] @ centroids[i])) for i, s in enumerate(speakers))
    distance = 1 - centroids @ centroids.T
    np.fill_diagonal(distance, np.inf)
    a, b = np.unravel_index(int(np.argmin(distance)), distance.shape)
    right = sum(
        int(np.sum(np.argmax(windows[s] @ centroids.T, axis=1) == i))
        for i, s in enumerate(speakers)
    )
    total = sum(len(windows[s]) for s in speakers)
    return {
        "speakers": len(speakers),
        "spread": spread,
        "closest": float(distance[a, b]),
        "pair": f"{speakers[a]}/{speakers[b]}",
        "oracle": right / total,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "eval", "all"), default="all")
    args = parser.parse_args()
    if not (shared_data() / "conversation").is_dir():
        print(f"SKIP: shared data not found at {shared_data()} (set PPOD_SHARED_DATA)")
        return 0
    options = EmbeddedDiarizerOptions()
    print(f"{'file':<22}{'split':<6}{'spk':>4}{'spread':>8}{'closest':>9}{'ratio':>7}"
          f"{'oracle':>8}  closest pair")  # fmt: skip
    for case in load_cases(args.split):
        found = separation(case, options)
        if found is None:
            continue
        print(
            f"{case.name:<22}{case.split:<6}{found['speakers']:>4}{found['spread']:>8.3f}"
            f"{found['closest']:>9.3f}{found['closest'] / max(found['spread'], 1e-6):>7.2f}"
            f"{found['oracle']:>8.1%}  {found['pair']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
