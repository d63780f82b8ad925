"""The streamed audio path gives the same answers as processing everything in memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from conftest import ebur128, ffmpeg, three_voices, voice, write_wav

from ppod_audio.audio import master
from ppod_audio.audio.clean import HighPass, clean
from ppod_audio.audio.decode import Audio, decode
from ppod_audio.audio.disk import DiskAudioWriter
from ppod_audio.audio.encode import Mp3Encoder, encode_mp3, measure_file
from ppod_audio.audio.loudness import (
    LevellerOptions,
    gain_at,
    integrated_lufs,
    leveller_gain_from,
    limit_true_peak,
    true_peak_dbtp,
)
from ppod_audio.audio.master import STEP, MasterSettings, _Chain, _Plan, analyse, measure
from ppod_audio.audio.meter import HopEnergy, hop_samples, integrated_from, loudness_range_from
from ppod_audio.audio.prepare import CleanSettings, prepare_mixed, prepare_tracks
from ppod_audio.errors import InputError

# Cleaning without noise or hum reduction (what these streaming tests compare).
PLAIN = CleanSettings(noise_reduction="off", hum_removal=False)

CLIPS = {"three-voices": three_voices, "one-voice": lambda: voice("jasmine", 7.0)}


@pytest.mark.parametrize("clip", CLIPS)
def test_streamed_meter_matches_pyloudnorm_and_ffmpeg(clip: str) -> None:
    audio = decode(CLIPS[clip](), 48000, 2).samples
    meter = HopEnergy(48000, 2)
    for start in range(0, audio.shape[1], 12345):  # blocks that do not line up with hops
        meter.add(audio[:, start : start + 12345])
    hop = hop_samples(48000)
    reference = pyloudnorm.Meter(48000).integrated_loudness(audio.T.astype(np.float64))
    assert integrated_from(meter.energies(), hop) == pytest.approx(reference, abs=0.05)
    if audio.shape[1] > 48000 * 15:
        assert loudness_range_from(meter.energies(), hop) == pytest.approx(
            ebur128(CLIPS[clip]())["lra"], abs=0.5
        )


def planned_whole(samples: np.ndarray, plan: _Plan, gain_db: float, ceiling: float,
                  level: np.ndarray | float = 1.0) -> np.ndarray:  # fmt: skip
    """The plan applied to the whole programme in memory: what streaming must reproduce."""
    gain = np.float32(10 ** (gain_db / 20))
    limiter = np.interp(np.arange(samples.shape[1]), plan.centres, plan.limiter(gain, ceiling))
    return samples * (limiter.astype(np.float32) * gain * level)


def test_block_processing_equals_whole_programme(tmp_path: Path) -> None:
    rate = 44100
    samples = decode(three_voices(), rate, 1).samples * 8.0
    writer = DiskAudioWriter(tmp_path / "x.f32", 1, rate)
    writer.append(samples)
    audio = writer.close()
    plan = _Plan(measure(audio), rate, None)
    chain = _Chain(audio, plan, 0.0, -1.5)
    streamed = np.concatenate(list(chain.blocks()), axis=1)
    whole = planned_whole(samples, plan, 0.0, -1.5)
    assert streamed.shape == whole.shape
    assert np.max(np.abs(streamed - whole)) < 1e-5, "each block takes its part of the plan"
    assert true_peak_dbtp(streamed, rate) <= -1.5 + 0.01
    # The plan limits like the in-memory limiter (its hold and smoothing), from a step or two
    # earlier: on this clip, driven 18 dB into the limiter, within 0.2 LU of its loudness.
    reference = limit_true_peak(samples, rate, -1.5)
    assert integrated_lufs(streamed, rate) == pytest.approx(
        integrated_lufs(reference, rate), abs=0.2
    )


@pytest.mark.parametrize("levelled", [False, True])
def test_encoded_stream_after_a_crossfade_equals_whole_programme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, levelled: bool
) -> None:
    # The crossfade (1.3 s) is not a multiple of the limiter's grid, and the clip spans two
    # 10 s blocks: the stream cut at the crossfade must still be the whole programme's.
    rate = 44100
    samples = decode(three_voices(), rate, 1).samples * 8.0
    writer = DiskAudioWriter(tmp_path / "x.f32", 1, rate)
    writer.append(samples)
    audio = writer.close()
    level_db = None
    gain = np.ones(samples.shape[1], np.float32)
    if levelled:
        energies, _ = analyse(audio)
        level_db = leveller_gain_from(energies, hop_samples(rate), LevellerOptions())
        gain = gain_at(level_db, rate, 0, samples.shape[1])
        assert np.ptp(level_db) > 1.0, "the leveller should act on this clip"
    plan = _Plan(measure(audio), rate, level_db)
    chain = _Chain(audio, plan, 0.0, -1.5)
    written: list[np.ndarray] = []

    class Recorder:
        measured = None

        def __init__(self, destination: Path, **options: int) -> None:
            pass

        def __enter__(self) -> Recorder:
            return self

        def __exit__(self, *error: object) -> None:
            pass

        def write(self, block: np.ndarray) -> None:
            written.append(block)

    monkeypatch.setattr(master, "Mp3Encoder", Recorder)
    settings = MasterSettings(-16.0, -1.0, levelled, LevellerOptions(), 1, 128, rate, 0.0, 1.3)
    intro = Audio(np.full((1, 3 * rate), 0.01, np.float32), rate)
    offset, _ = master._encode(chain, intro, settings, tmp_path / "x.mp3")
    assert offset == pytest.approx(3.0 - 1.3, abs=0.001)

    fade = int(1.3 * rate)
    assert fade % STEP != 0 and samples.shape[1] > audio.rate * 10
    episode = np.concatenate(written[1:], axis=1)
    assert np.array_equal(episode, np.concatenate(list(chain.blocks()), axis=1)[:, fade:])
    whole = planned_whole(samples, plan, 0.0, -1.5, gain)
    assert episode.shape == whole[:, fade:].shape
    assert np.max(np.abs(episode - whole[:, fade:])) < 1e-5, "the plan is kept, cut anywhere"


def test_streamed_cleaning_matches_in_memory(tmp_path: Path) -> None:
    rate = 44100
    first, second = tmp_path / "a.flac", tmp_path / "b.wav"
    # Room tone (-60 dBFS noise) at both ends of both takes, so the joined programme is trimmed.
    noise = np.random.default_rng(0)
    for source, target in ((voice("rebecca", 5.5), first), (voice("steve", 11.0), second)):
        speech = decode(source, 48000, 1).samples[0]
        tone = [0.001 * noise.standard_normal(int(1.5 * 48000)) for _ in range(2)]
        padded = write_wav(tmp_path / f"{target.stem}-padded.wav",
                           np.concatenate([tone[0], speech, tone[1]]), 48000)  # fmt: skip
        ffmpeg("-i", str(padded), "-ar", "48000" if target is first else "44100", str(target))
    cleaned = prepare_mixed([first, second], tmp_path / "work", rate, True, PLAIN)
    joined = np.concatenate([decode(first, rate, 1).samples, decode(second, rate, 1).samples], 1)
    expected = clean(Audio(joined.astype(np.float32), rate))
    assert expected.trimmed_start > 0.5 and expected.trimmed_end > 0.5, "room tone was trimmed"
    assert cleaned.trimmed_start > 0
    assert cleaned.trimmed_start == pytest.approx(expected.trimmed_start, abs=0.001)
    streamed = cleaned.audio.load()
    assert streamed.shape == expected.audio.samples.shape
    assert np.max(np.abs(streamed - expected.audio.samples)) < 1e-3
    # The 16 kHz copy is of the recording as it came: untrimmed.
    assert len(cleaned.speech16) == pytest.approx(joined.shape[1] * 16000 / rate, abs=2)
    # With the speech result cached there is no 16 kHz copy to decode; the programme is the same.
    audio_only = prepare_mixed([first, second], tmp_path / "work2", rate, True, PLAIN, speech=False)
    assert audio_only.speech16.size == 0
    assert np.array_equal(audio_only.audio.load(), streamed)
    speech_only = prepare_mixed([first, second], tmp_path / "work3", rate, True, PLAIN, audio=False)
    assert speech_only.audio is None and np.array_equal(speech_only.speech16, cleaned.speech16)


def test_streamed_tracks_mix_matches_in_memory(tmp_path: Path) -> None:
    rate = 44100
    # Tracks of different lengths, the longer spanning two blocks: the shorter is padded.
    paths = [three_voices(), voice("steve", 11.0)]
    settings = PLAIN.model_copy(update={"trim_silence": False})
    cleaned = prepare_tracks(
        [("a", paths[0]), ("b", paths[1])], tmp_path / "work", rate, settings, tmp_path / "m"
    )
    decoded = [HighPass(rate, 80.0)(decode(path, rate, 1).samples) for path in paths]
    length = max(track.shape[1] for track in decoded)
    expected = sum(np.pad(track, ((0, 0), (0, length - track.shape[1]))) for track in decoded)
    streamed = cleaned.audio.load()
    assert streamed.shape == (1, length)
    assert np.max(np.abs(streamed - expected)) < 1e-5
    count16 = round(length * 16000 / rate)
    assert [name for name, _ in cleaned.tracks] == ["a", "b"]
    assert all(track.shape == (count16,) for _, track in cleaned.tracks)
    assert cleaned.speech16.dtype == np.float32
    assert np.array_equal(cleaned.speech16, cleaned.tracks[0][1] + cleaned.tracks[1][1])
    short16 = decode(paths[1], 16000, 1).samples[0]
    assert np.array_equal(cleaned.tracks[1][1][: len(short16)], short16)
    assert not cleaned.tracks[1][1][len(short16) :].any()
    # The published audio reused (a new model): only the 16 kHz copies, the same ones.
    speech_only = prepare_tracks(
        [("a", paths[0]), ("b", paths[1])], tmp_path / "w2", rate, settings, tmp_path / "m",
        audio=False,
    )  # fmt: skip
    assert speech_only.audio is None and not (tmp_path / "w2" / "cleaned.f32").exists()
    assert np.array_equal(speech_only.speech16, cleaned.speech16)
    assert [n for n, _ in speech_only.tracks] == ["a", "b"]
    pairs = zip(speech_only.tracks, cleaned.tracks, strict=True)
    assert all(np.array_equal(a[1], b[1]) for a, b in pairs)


def test_all_silent_tracks_are_refused(tmp_path: Path) -> None:
    silent = write_wav(tmp_path / "a.wav", np.full(44100, 1e-4, np.float32), 44100)
    with pytest.raises(InputError, match="every track is silent"):
        prepare_tracks([("a", silent)], tmp_path / "work", 44100, PLAIN, tmp_path / "m")


def test_published_file_is_measured_like_ebur128(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "x.wav", decode(voice("steve", 11.0), 44100, 2).samples, 44100)
    ours = measure_file(path)
    theirs = ebur128(path)
    assert ours.integrated_lufs == pytest.approx(theirs["integrated"], abs=0.05)
    assert ours.true_peak_dbtp == pytest.approx(theirs["true_peak"], abs=0.05)


def test_published_mp3_loudness_matches_pyloudnorm(tmp_path: Path) -> None:
    rate = 44100
    samples = decode(three_voices(), rate, 1).samples * 0.5
    path = tmp_path / "x.mp3"
    encode_mp3(samples, path, rate=rate, bitrate_kbps=128, channels=2)
    ours = measure_file(path)
    decoded = decode(path, rate, 2).samples
    reference = pyloudnorm.Meter(rate).integrated_loudness(decoded.T.astype(np.float64))
    assert ours.integrated_lufs == pytest.approx(reference, abs=0.5)
    assert np.isfinite(ours.loudness_range_lu) and ours.loudness_range_lu > 0
    assert np.isfinite(ours.sample_peak_dbfs)
    assert ours.sample_peak_dbfs == pytest.approx(20 * np.log10(np.abs(decoded).max()), abs=0.1)
    assert ours.true_peak_dbtp >= ours.sample_peak_dbfs


@pytest.mark.parametrize("name", ["published.mp3", "odd[name]:1.mp3"])
def test_mp3_measured_while_encoding_is_the_file_measured_after(tmp_path: Path, name: str) -> None:
    """The encoder's second output (a pipe into ffmpeg's ebur128) measures what the file holds,
    and the file is byte for byte the one a plain encode writes; a name the tee muxer would
    misread is encoded plainly and left for the caller to measure."""
    rate = 44100
    samples = decode(three_voices(), rate, 1).samples * 0.8
    options = {"rate": rate, "out_channels": 2, "bitrate_kbps": 128, "out_rate": rate}
    with Mp3Encoder(tmp_path / name, measure=True, **options) as encoder:
        for start in range(0, samples.shape[1], 100_000):
            encoder.write(samples[:, start : start + 100_000])
    with Mp3Encoder(tmp_path / "plain.mp3", **options) as plain:
        plain.write(samples)
    assert (tmp_path / name).read_bytes() == (tmp_path / "plain.mp3").read_bytes()
    assert plain.measured is None
    if "[" in name:
        assert encoder.measured is None
        return
    assert encoder.measured is not None
    after = measure_file(tmp_path / name).as_dict()
    assert encoder.measured.as_dict() == pytest.approx(after, abs=0.05)
    assert after["true_peak_dbtp"] > -12.0, "a real programme, not silence"


def test_silent_file_reports_as_valid_json(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(3 * 44100, np.float32), 44100)
    figures = measure_file(path).as_dict()
    assert figures["true_peak_dbtp"] is None and figures["sample_peak_dbfs"] is None
    json.dumps(figures, allow_nan=False)  # -inf would be written as invalid "-Infinity"


@pytest.mark.parametrize("levelled", [False, True])
def test_gain_plan_predicts_the_limited_loudness(tmp_path: Path, levelled: bool) -> None:
    # Mastering finds its gain on the analysis's per-step arrays instead of passes over the
    # audio: what the plan predicts must be what the limited programme then measures.
    rate = 44100
    samples = decode(three_voices(), rate, 1).samples
    writer = DiskAudioWriter(tmp_path / "x.f32", 1, rate)
    writer.append(samples)
    audio = writer.close()
    analysis = measure(audio)
    level_db = None
    if levelled:
        level_db = leveller_gain_from(analysis.energies, hop_samples(rate), LevellerOptions())
    plan = _Plan(analysis, rate, level_db)
    target, ceiling = -16.0, -1.5
    gain_db, _ = master.plan_gain(plan, target, ceiling, 0.0)
    chain = _Chain(audio, plan, gain_db, ceiling)
    meter = HopEnergy(rate, 1)
    for block in chain.blocks():
        meter.add(block)
    limited_by = gain_db - (target - integrated_lufs(samples, rate))
    assert limited_by > 0.5, "the limiter takes loudness away on this clip: the plan matters"
    # Within 0.1 LU (this clip: 0.06; the three-excerpts recording: under 0.05): the published
    # figure is rounded to 0.1 LU and re-measured on the MP3 by ffmpeg.
    assert integrated_from(meter.energies(), hop_samples(rate)) == pytest.approx(target, abs=0.1)
    assert true_peak_dbtp(np.concatenate(list(chain.blocks()), axis=1), rate) <= ceiling + 0.01
