"""Late-reverberation suppression (audio/dereverb.py) and the judge's chain that carries it."""

from __future__ import annotations

import numpy as np
from conftest import voice

from ppod_audio.audio.decode import decode
from ppod_audio.audio.dereverb import LateReverbSuppressor, suppress
from ppod_audio.audio.judge import DEREVERB_T60, Strength, candidates

RATE = 48000


def reverberant(t60: float = 0.6, seconds: float = 6.0) -> tuple[np.ndarray, np.ndarray, int]:
    """A real voice (the repository's own), then 1.5 s of silence, through a room of ``t60``
    (exponentially decaying noise after the direct sound): (dry, wet, where the voice ends)."""
    dry = decode(voice("steve", seconds), RATE, 1).samples
    dry = np.concatenate([dry, np.zeros((1, int(1.5 * RATE)), np.float32)], axis=1)
    rng = np.random.default_rng(1)
    tail = np.arange(int(t60 * RATE)) / RATE
    room = rng.standard_normal(tail.size) * 10 ** (-3 * tail / t60) * 0.05
    room[0] = 1.0
    wet = np.convolve(dry[0], room)[: dry.shape[1]].astype(np.float32)[None]
    return dry, wet, int(seconds * RATE)


def level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-20))


def test_suppressor_turns_the_room_tail_down_and_leaves_the_voice() -> None:
    """After the voice stops, the room's tail (100-400 ms on) is turned down by 3 dB or more;
    the voice itself loses little; and a 0 dB floor (no suppression allowed) gives back the
    input exactly: the STFT's lag is taken off, nothing else changes."""
    dry, wet, end = reverberant()
    out = suppress(wet, RATE, 0.6, 10.0)
    assert out.shape == wet.shape
    tail = slice(end + int(0.1 * RATE), end + int(0.4 * RATE))
    assert level_db(out[:, tail]) < level_db(wet[:, tail]) - 3.0
    assert abs(level_db(out[:, :end]) - level_db(wet[:, :end])) < 2.0
    assert np.max(np.abs(suppress(wet, RATE, 0.6, 0.0) - wet)) < 1e-5


def test_suppressor_streamed_in_any_blocks_equals_one_call() -> None:
    """Blocks of odd sizes (one shorter than the STFT frame, empty ones) give the samples one
    call on the whole gives, as many as went in, in two channels."""
    _, wet, _ = reverberant(seconds=3.0)
    stereo = np.concatenate([wet, 0.5 * wet[:, ::-1]], axis=0)
    whole = suppress(stereo, RATE, 0.4, 6.0)
    stream = LateReverbSuppressor(RATE, 2, 0.4, 6.0)
    parts, at = [], 0
    for size in (7, 1000, 0, 48000, 33333, 12345):
        parts.append(stream(stereo[:, at : at + size]))
        at += size
    parts += [stream(stereo[:, at:]), stream.flush()]
    streamed = np.concatenate(parts, axis=1)
    assert streamed.shape == stereo.shape
    assert np.max(np.abs(streamed - whole)) < 1e-6


def test_chain_streamed_equals_in_memory_and_off_switch() -> None:
    """The judge's chain with the suppressor (mix, suppressor, cut) streamed block by block
    equals ``Strength.apply`` on the whole; the candidates carry the suppressor only when it is
    on, and never when the strength is not chosen."""
    dry, wet, _ = reverberant(seconds=3.0)
    strength = Strength(40.0, 6.0, 0.5, DEREVERB_T60)
    whole = strength.apply(wet, dry, RATE)
    chain = strength.chain(RATE, 1)
    parts = [chain(wet[:, lo : lo + 4410], dry[:, lo : lo + 4410])
             for lo in range(0, wet.shape[1], 4410)]  # fmt: skip
    streamed = np.concatenate([*parts, chain.flush()], axis=1)
    assert streamed.shape == wet.shape and np.max(np.abs(streamed - whole)) < 1e-6
    plain = Strength(40.0, 6.0, 0.5).apply(wet, dry, RATE)
    assert np.max(np.abs(plain - whole)) > 1e-3
    with_it = candidates(40.0, 12.0, 25.0, True)
    assert any(each.dereverb_t60 == DEREVERB_T60 for each in with_it)
    assert not any(each.dereverb_t60 for each in candidates(40.0, 12.0, 25.0, True, False))
    assert [each.dereverb_t60 for each in candidates(40.0, 12.0, 25.0, False)] == [0.0]
