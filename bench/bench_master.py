"""Mastering and export alone, on the demo looped to ``--minutes``: wall and CPU seconds of each.

    python bench/bench_master.py [--minutes 10] [--channels 1] [--profile]

The cleaned programme ``master_to_mp3`` reads (full rate, float32 on disk) is made here from the
demo recording, looped; the intro is the show's content warning. The figures are the stages'
own ``Mastered.seconds`` / ``Mastered.cpu`` (this process and its ffmpeg children), the same
``report.json`` records, so they can be read beside a pipeline run's transcription time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ppod_audio.audio.decode import decode  # noqa: E402
from ppod_audio.audio.disk import DiskAudioWriter  # noqa: E402
from ppod_audio.audio.encode import encoder_gain_db  # noqa: E402
from ppod_audio.audio.master import master_to_mp3  # noqa: E402
from ppod_audio.config import load_show  # noqa: E402
from ppod_audio.pipeline import load_intro, master_settings  # noqa: E402

DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp" / "recording.flac"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--channels", type=int, default=1, help="the cleaned programme's")
    parser.add_argument("--profile", action="store_true", help="print the top 25 by own time")
    args = parser.parse_args()
    show = load_show(REPO / "raw_audio")
    settings = master_settings(show)
    demo = decode(DEMO, settings.out_rate, args.channels).samples
    frames = int(args.minutes * 60 * settings.out_rate)
    with tempfile.TemporaryDirectory() as folder:
        writer = DiskAudioWriter(Path(folder) / "programme.f32", args.channels, settings.out_rate)
        written = 0
        while written < frames:
            block = demo[:, : frames - written]
            writer.append(block)
            written += block.shape[1]
        programme = writer.close()
        intro = load_intro(show, args.channels)
        encoder_gain_db(settings.bitrate_kbps, settings.out_rate, settings.out_channels)
        profile = cProfile.Profile() if args.profile else None
        if profile:
            profile.enable()
        mastered = master_to_mp3(programme, intro, settings, Path(folder) / "out.mp3")
        if profile:
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    print(f"{args.minutes:g} min, {args.channels} channel(s) in, "
          f"{settings.out_channels} out at {settings.bitrate_kbps} kb/s")  # fmt: skip
    for stage in ("master", "export"):
        print(f"{stage}: {mastered.seconds[stage]:.2f} s wall, {mastered.cpu[stage]:.2f} CPU s")
    total = sum(mastered.seconds.values())
    print(f"master+export: {total:.2f} s wall, {sum(mastered.cpu.values()):.2f} CPU s; "
          f"encodes {mastered.encodes}; output {mastered.output}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
