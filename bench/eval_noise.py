"""Noise and hum reduction, measured before and after in one run (issue 15's targets).

    python bench/eval_noise.py [--skip demo,dnsmos,wer,der,cost] [--cost-minutes 60] [--base]

Prints, for noise reduction off ("before") and on ("after", the default settings):

* demo: the published demo's pause floor (5th percentile of 50 ms frames after the content
  warning; target <= -60 dBFS) and speech-to-floor (95th minus 5th percentile; >= 45 dB),
  DNSMOS of the published programme, and PESQ (wide band) and STOI against the voices' clean
  stems (made on demand by ``scripts/make_demo_episode.py --stems-only``; needs espeak-ng);
* dnsmos: DNSMOS (signal, background, overall) of the cleaning stage's output on the real noisy
  recordings (AMI far-field clips, pyannote-sample; target overall up >= 0.3) and on the clean
  real-speech files (down on none), both scored at the same level;
* wer: word error rate with the default model (tiny.en) on the real-speech dev files, as they
  are and mixed with pink noise at 10 and 5 dB SNR, recognising the original or the cleaned
  signal (the choice of what the speech models hear);
* der: the embedded diarizer's DER on the dev conversations, original or cleaned;
* cost: on the demo (or ``--cost-source``) looped to ``--cost-minutes``, the noise-reduction
  step's wall time against the transcription stage's (target <= 0.5x), and the peak memory
  (max RSS) of the cleaning stage with noise reduction off and on (target within 10 %), each
  in a fresh subprocess.

eval-split files (AMI dev/tst, pyannote-sample) are scored, never used to choose settings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_wer import OUT_OF_TOTALS, SPLITS, data_root, reference, wer  # noqa: E402

from ppod_audio.audio import quality  # noqa: E402
from ppod_audio.audio.clean import clean  # noqa: E402
from ppod_audio.audio.decode import Audio, decode  # noqa: E402
from ppod_audio.defaults import DEFAULT_MODEL  # noqa: E402

PPOD = str(Path(sys.executable).with_name("ppod"))
DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp"
STEMS = REPO / "output" / "demo-stems"
SHARED = data_root()
RATE = 44100
MAXRSS = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)
# Before (off), the previous default (RNNoise) and the default (DeepFilterNet3), in one run.
MODES = ("off", "rnnoise", "deepfilternet")
DEFAULT = "deepfilternet"


def label(mode: str) -> str:
    return "before (off)" if mode == "off" else f"after ({mode})"


# --- the published demo ---------------------------------------------------------------------


def show_with(root: Path, mode: str, limit: float | None = None) -> Path:
    """A copy of the project's raw_audio with ``[clean] noise_reduction`` set to ``mode`` (and
    ``max_noise_reduction_db`` to ``limit``, if given)."""
    target = root / f"raw_audio-{mode}-{limit}"
    shutil.copytree(REPO / "raw_audio", target)
    show = target / "show.toml"
    text = show.read_text(encoding="utf-8")
    setting = f'noise_reduction = "{mode}"\n'
    if limit is not None:
        setting += f"max_noise_reduction_db = {limit}\n"
    show.write_text(text.replace("[clean]\n", "[clean]\n" + setting, 1))
    return target / DEMO.name


def published(episode: Path, out: Path) -> tuple[np.ndarray, dict[str, Any]]:
    subprocess.run([PPOD, "process", str(episode), "-o", str(out), "--no-speech", "--force"],
                   check=True, capture_output=True)  # fmt: skip
    report = json.loads((out / episode.name / "report.json").read_text())
    mono = decode(out / episode.name / f"{episode.name}.mp3", RATE, 1).samples[0]
    return mono[int(round(report["intro_offset"] * RATE)) :], report


def stems() -> np.ndarray:
    """The sum of the voices' clean stems: what was said, on the raw recording's clock."""
    if not STEMS.is_dir():
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_demo_episode.py"),
                        "--stems-only"], check=True)  # fmt: skip
    return np.sum([decode(path, RATE, 1).samples[0] for path in sorted(STEMS.glob("*.flac"))], 0)


def aligned(reference: np.ndarray, degraded: np.ndarray, rate: int) -> tuple[np.ndarray, ...]:
    """The two signals cut to their common span, the degraded one shifted by the best lag
    within +-100 ms (the MP3 decoder's padding)."""
    from scipy.signal import correlate

    span = min(len(reference), len(degraded))
    middle = slice(rate, min(span - rate, 60 * rate))
    reach = rate // 10
    window = degraded[middle.start - reach : middle.stop + reach]
    scores = correlate(window, reference[middle], mode="valid", method="fft")
    best = int(np.argmax(scores)) - reach  # degraded[t + best] matches reference[t]
    start = max(0, -best)
    ref = reference[start : span - max(0, best)]
    deg = degraded[start + best : start + best + len(ref)]
    return ref, deg


def pesq_stoi(reference: np.ndarray, degraded: np.ndarray) -> tuple[float, float]:
    """PESQ (wide band, mean over 10 s segments with speech) and STOI at 16 kHz."""
    from pesq import pesq
    from pystoi import stoi

    ref16, deg16 = quality.to_16k(reference, RATE), quality.to_16k(degraded, RATE)
    ref16, deg16 = aligned(ref16, deg16, 16000)
    scores = []
    for start in range(0, len(ref16) - 16000 * 10 + 1, 16000 * 10):
        piece = slice(start, start + 16000 * 10)
        if np.sqrt(np.mean(ref16[piece] ** 2)) > 1e-3:
            scores.append(pesq(16000, ref16[piece], deg16[piece], "wb"))
    return float(np.mean(scores)), float(stoi(ref16, deg16, 16000, extended=False))


def bench_demo(work: Path, limits: list[float | None]) -> None:
    print("\n## Published demo (after the content warning)")
    print(f"{'':<18}{'floor dBFS':>11}{'speech/floor':>13}{'DNSMOS sig':>11}{'bak':>6}"
          f"{'ovrl':>6}{'PESQ-wb':>9}{'STOI':>8}   report.json cleaning")  # fmt: skip
    said = stems()
    rows = {}
    runs = [(mode, None) for mode in MODES if mode != DEFAULT]
    runs += [(DEFAULT, limit) for limit in limits]
    for mode, limit in runs:
        programme, report = published(show_with(work, mode, limit), work / f"out-{mode}-{limit}")
        floor = quality.floor_figures(quality.frame_levels(programme, RATE))
        mos = quality.dnsmos(programme, RATE)
        start = int(round(report["trimmed_start"] * RATE))
        reference_speech = said[start : start + len(programme)]
        pesq_wb, stoi_score = pesq_stoi(reference_speech, programme)
        rows[mode] = (floor, mos, pesq_wb, stoi_score)
        cleaning = report.get("cleaning", {})
        brief = {k: cleaning.get(k) for k in ("noise_reduction", "max_reduction_db", "hum_hz",
                                              "pause_floor", "dnsmos")}  # fmt: skip
        name = label(mode) if limit is None else f"{mode} {limit:g} dB"
        print(f"{name:<18}{floor['pause_floor_dbfs']:>11.1f}"
              f"{floor['speech_to_floor_db']:>13.1f}{mos.signal:>11.2f}{mos.background:>6.2f}"
              f"{mos.overall:>6.2f}{pesq_wb:>9.2f}{stoi_score:>8.4f}   {json.dumps(brief)}",
              flush=True)  # fmt: skip
    after, before = rows[DEFAULT], rows["off"]
    print(f"targets: floor {after[0]['pause_floor_dbfs']} <= -60: "
          f"{after[0]['pause_floor_dbfs'] <= -60}; speech-to-floor "
          f"{after[0]['speech_to_floor_db']} >= 45: {after[0]['speech_to_floor_db'] >= 45}; "
          f"DNSMOS ovrl +{after[1].overall - before[1].overall:.2f} (>= 0.3); PESQ "
          f"{before[2]:.2f} -> {after[2]:.2f}; STOI {before[3]:.4f} -> {after[3]:.4f}")  # fmt: skip


# --- DNSMOS on real recordings -----------------------------------------------------------------


def cleaned(samples: np.ndarray, rate: int, mode: str) -> np.ndarray:
    """The cleaning stage (high-pass, hum, noise; no trim) as the pipeline runs it."""
    return clean(Audio(samples[None, :].astype(np.float32), rate), trim_silence=False,
                 noise_reduction=mode, hum_removal=mode != "off").audio.samples[0]  # fmt: skip


def scored(mono: np.ndarray, rate: int, gain: float) -> quality.Mos:
    return quality.dnsmos(np.clip(mono * gain, -1, 1), rate)


def bench_dnsmos() -> None:
    from ppod_audio.audio.activity import frame_levels_db
    from ppod_audio.audio.denoise import level_gain_db

    groups = {
        "noisy": sorted((SHARED / "conversation" / "ami").glob("*.flac"))
        + [SHARED / "conversation" / "pyannote-sample.wav"],
        "clean": sorted((SHARED / "speech").glob("*.wav")),
    }
    print("\n## DNSMOS of the cleaning stage's output (signal / background / overall), "
          "scored at one level (loud speech at -20 dBFS)")  # fmt: skip
    print(f"{'':<42}{'off':>15}  " + "".join(f"{mode:>24}" for mode in MODES[1:]))
    for group, paths in groups.items():
        deltas: dict[str, list[float]] = {mode: [] for mode in MODES[1:]}
        for path in paths:
            mono = decode(path, 48000, 1).samples[0]
            gain = 10 ** (level_gain_db(frame_levels_db(mono, 48000)) / 20)
            mos = {mode: scored(cleaned(mono, 48000, mode), 48000, gain) for mode in MODES}
            line = f"{group:<6}{path.name:<36}" + _mos(mos["off"])
            for mode in MODES[1:]:
                deltas[mode].append(mos[mode].overall - mos["off"].overall)
                line += f"  {_mos(mos[mode])} ({deltas[mode][-1]:+.3f})"
            print(line, flush=True)
        for mode, changes in deltas.items():
            print(f"{group} {mode}: mean ovrl change {np.mean(changes):+.2f}, smallest "
                  f"{min(changes):+.2f}, largest {max(changes):+.2f}, down on "
                  f"{sum(change < 0 for change in changes)} of {len(changes)}, +0.3 or more on "
                  f"{sum(change >= 0.3 for change in changes)}")  # fmt: skip


def bench_limit_study() -> None:
    """DNSMOS gain at several attenuation limits on the AMI dev clips (trn01-09: dev split
    only, so that the limit is never chosen on eval data), with each clip's measured input
    floor and speech-to-floor: does a larger limit, or a limit set from the input SNR, help?"""
    from ppod_audio.audio.activity import frame_levels_db
    from ppod_audio.audio.clean import HighPass
    from ppod_audio.audio.denoise import denoise, level_gain_db

    limits = (24, 28, 32, 40, 100)
    print("\n## Attenuation limit on the AMI dev clips: DNSMOS sig/bak/ovrl (ovrl change)")
    gains: dict[int, list[float]] = {limit: [] for limit in limits}
    for path in sorted((SHARED / "conversation" / "ami").glob("trn*.flac")):
        samples = HighPass(48000, 80.0)(decode(path, 48000, 1).samples)
        gain = 10 ** (level_gain_db(frame_levels_db(samples[0], 48000)) / 20)
        floor = quality.floor_figures(quality.frame_levels(samples[0], 48000))
        wet = denoise(samples, 48000, max_reduction_db=100.0)[0]  # the network alone
        before = scored(samples[0], 48000, gain)
        line = (f"{path.name:<12}floor {floor['pause_floor_dbfs']:6.1f} speech/floor "
                f"{floor['speech_to_floor_db']:5.1f}  off {_mos(before)} |")  # fmt: skip
        for limit in limits:
            dry = 10 ** (-limit / 20)
            mos = scored((1 - dry) * wet + dry * samples[0], 48000, gain)
            gains[limit].append(mos.overall - before.overall)
            line += f" {limit}: {_mos(mos)} ({gains[limit][-1]:+.2f})"
        print(line, flush=True)
    for limit, changes in gains.items():
        print(
            f"limit {limit} dB: mean ovrl change {np.mean(changes):+.3f}, "
            f"{sum(change >= 0.3 for change in changes)} of {len(changes)} at +0.3 or more"
        )


def _mos(mos: quality.Mos) -> str:
    return f"{mos.signal:5.2f}{mos.background:5.2f}{mos.overall:5.2f}"


# --- what the speech models hear --------------------------------------------------------------


def pink(n: int, seed: int) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    noise = np.fft.irfft(spectrum, n)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def bench_wer(model: str) -> None:
    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe

    options = TranscribeOptions(model=model, device="cpu")
    # As bench/eval_wer.py: the stereo file's two overlapping talkers are out of the totals.
    files = [SHARED / name for name in SPLITS["dev"] if name not in OUT_OF_TOTALS]
    print(f"\n## WER ({model}) on the real-speech dev files: recognising the original or the "
          "cleaned signal")  # fmt: skip
    print(f"{'condition':<16}{'original':>10}" + "".join(f"{mode:>15}" for mode in MODES[1:]))
    for snr in (None, 10, 5):
        hypotheses: dict[str, list[str]] = {mode: [] for mode in MODES}
        references = []
        for index, path in enumerate(files):
            mono = decode(path, 48000, 1).samples[0]
            if snr is not None:
                rms = np.sqrt(np.mean(mono**2))
                mono = mono + pink(len(mono), index) * rms * 10 ** (-snr / 20)
            references.append(reference(path))
            for mode in MODES:
                # Recognition hears no high-pass (it raised WER): only the noise reduction.
                heard = mono if mode == "off" else _denoised(mono, mode)
                audio16 = quality.to_16k(heard, 48000)
                hypotheses[mode].append(transcribe(audio16, options).text)
        name = "as recorded" if snr is None else f"pink {snr} dB SNR"
        print(f"{name:<16}" + "".join(f"{100 * wer(references, hypotheses[mode]):>14.1f}%"
                                      for mode in MODES), flush=True)  # fmt: skip


def _denoised(mono: np.ndarray, method: str) -> np.ndarray:
    from ppod_audio.audio.denoise import denoise

    return denoise(mono[None, :].astype(np.float32), 48000, method=method)[0]


def bench_der() -> None:
    from eval_diarization import der, load_audio, only_uri, read_uem, score

    from ppod_audio.audio.denoise import denoise
    from ppod_audio.speech.diarize_embedded import diarize_embedded, load_encoder

    conv = SHARED / "conversation"
    stems_ = [conv / "three-excerpts"] + [conv / "ami" / f"trn{i:02d}" for i in range(1, 10)]
    print("\n## DER (embedded diarizer, estimated speaker count) on the dev conversations")
    load_encoder()
    components: dict[str, list] = {"off": [], DEFAULT: []}
    for stem in stems_:
        audio = load_audio(stem.with_suffix(".flac" if "ami" in str(stem) else ".wav"))
        uem = read_uem(stem.with_suffix(".uem")) if stem.with_suffix(".uem").exists() else None
        case = type("Case", (), {"audio": audio, "reference": only_uri(stem.with_suffix(".rttm")),
                                 "uem": uem})()  # fmt: skip
        row = []
        for mode in ("off", DEFAULT):
            heard = audio if mode == "off" else denoise(audio[None, :], 16000, method=mode)[0]
            parts = score(case, diarize_embedded(heard, 16000))
            components[mode].append(parts)
            row.append(der([parts]))
        print(f"{stem.name:<18}{row[0]:>8.1f}%{row[1]:>8.1f}%", flush=True)
    print(f"{'total':<18}{der(components['off']):>8.1f}%{der(components[DEFAULT]):>8.1f}%"
          "   (original, cleaned)")  # fmt: skip


# --- cost -------------------------------------------------------------------------------------

CHILD = r"""
import json, sys, time, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ppod_audio.audio import prepare
from ppod_audio.audio.prepare import CleanSettings, prepare_mixed
spent = {}
mode = sys.argv[3]
settings = CleanSettings(noise_reduction=mode, hum_removal=mode != "off")
spent["mode"] = mode
with tempfile.TemporaryDirectory() as work:
    began = time.perf_counter()
    cleaned = prepare_mixed([Path(sys.argv[2])], Path(work), 44100, False, settings)
    spent["clean"] = time.perf_counter() - began
    spent.update(cleaned.noise.get("seconds", {}))
    if sys.argv[4] == "transcribe":
        from ppod_audio.speech.transcribe import TranscribeOptions, transcribe
        began, cpu = time.perf_counter(), time.process_time()
        transcribe(cleaned.speech16, TranscribeOptions(model="tiny.en", device="cpu"))
        spent["transcribe"] = time.perf_counter() - began
        spent["transcribe_cpu"] = time.process_time() - cpu
    if sys.argv[5] == "base":  # the larger model a show may choose (in both runs: same peak)
        from ppod_audio.speech.transcribe import TranscribeOptions, transcribe
        began, cpu = time.perf_counter(), time.process_time()
        transcribe(cleaned.speech16, TranscribeOptions(model="base", device="cpu"))
        spent["transcribe_base"] = time.perf_counter() - began
        spent["transcribe_base_cpu"] = time.process_time() - cpu
print(json.dumps(spent))
"""


def bench_cost(
    work: Path, minutes: float, base: bool, memory_only: bool = False, source: Path | None = None
) -> None:
    from ppod_audio.audio.decode import ffmpeg_exe

    long = work / "long.flac"
    source = source or DEMO / "recording.flac"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i",
                    str(source), "-t", str(minutes * 60), str(long)], check=True)  # fmt: skip
    print(f"\n## Cost on a {minutes:g}-minute episode ({source.name} looped), fresh subprocesses")
    results = {}
    # Both transcribe (unless memory only): the stage's peak is the speech model's or the audio's.
    for mode in ("off", DEFAULT):
        command = [sys.executable, "-c", MAXRSS, sys.executable, "-c", CHILD, str(REPO / "src"),
                   str(long), mode, "-" if memory_only else "transcribe",
                   "base" if base and not memory_only else "-"]  # fmt: skip
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        lines = output.strip().splitlines()
        results[mode] = (json.loads(lines[-2]), int(lines[-1]) / 1024)
        print(f"cleaning stage, noise reduction {mode}: {json.dumps(results[mode][0])}, "
              f"peak RSS {results[mode][1]:.0f} MB", flush=True)  # fmt: skip
    spent = results[DEFAULT][0]
    what = "cleaning stage alone" if memory_only else "cleaning + transcription"
    print(f"peak memory, {what}: {results['off'][1]:.0f} -> "
          f"{results[DEFAULT][1]:.0f} MB ({results[DEFAULT][1] / results['off'][1]:.2f}x, "
          "target within 10 %)")  # fmt: skip
    print(
        f"noise-reduction step {spent['filter']:.1f} s wall, {spent['filter_cpu']:.1f} s CPU, "
        f"{spent['segments']} segments (+ DNSMOS judge {spent['dnsmos']:.1f} s wall)"
    )
    for key, name in (("transcribe", "tiny.en"), ("transcribe_base", "base")):
        if key in spent:
            print(
                f"  vs transcription with {name} {spent[key]:.1f} s wall, "
                f"{spent[key + '_cpu']:.1f} s CPU: {spent['filter'] / spent[key]:.2f}x wall "
                f"(target <= 0.5x), {spent['filter_cpu'] / spent[key + '_cpu']:.2f}x CPU"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="comma-separated: demo,dnsmos,wer,der,cost")
    parser.add_argument("--cost-minutes", type=float, default=60.0)
    # A far-field recording (e.g. an AMI dev clip) gets the judge's eight candidates and may
    # get the late-reverberation suppressor; the demo, close-miked, gets two.
    parser.add_argument(
        "--cost-source",
        type=Path,
        default=None,
        help="the recording looped for the cost run (default: the demo's)",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"wer: the speech model (default: the project's, {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="cost: peak memory of the cleaning stage alone (off and on), no "
        "transcription: the cheap way to check memory on a long episode",
    )
    parser.add_argument(
        "--limits",
        default="",
        help="demo: comma-separated max_noise_reduction_db values to run the "
        "default method at (default: the show's setting)",
    )
    parser.add_argument(
        "--limit-study",
        action="store_true",
        help="DNSMOS at several attenuation limits on the AMI dev clips",
    )
    parser.add_argument(
        "--no-rnnoise", action="store_true", help="off and the default method only (half the time)"
    )
    parser.add_argument(
        "--base",
        action="store_true",
        help="cost: also time transcription with the base model (if installed)",
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    limits: list[float | None] = [float(v) for v in args.limits.split(",") if v] or [None]
    if args.no_rnnoise:
        global MODES
        MODES = ("off", DEFAULT)
    if not SHARED.is_dir():
        print(f"SKIP: shared data not found at {SHARED} (set PPOD_SHARED_DATA)")
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if "demo" not in skip:
            bench_demo(work, limits)
        if "dnsmos" not in skip:
            bench_dnsmos()
        if args.limit_study:
            bench_limit_study()
        if "wer" not in skip:
            bench_wer(args.model)
        if "der" not in skip:
            bench_der()
        if "cost" not in skip:
            bench_cost(work, args.cost_minutes, args.base, args.memory_only, args.cost_source)
    print(f"\n(evaluation took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
