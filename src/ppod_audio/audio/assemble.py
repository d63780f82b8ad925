"""Putting the published programme together: the content warning, then the episode.

pydub does the joining (gap or crossfade) because that is what it is good at; samples go in and
come out as 32-bit integers so nothing is lost on the way. The intro's length plus the gap, less
any crossfade, is *the* offset every transcript and chapter time is shifted by.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .decode import Audio, ffmpeg_exe

# pydub looks for ffmpeg on PATH when it is imported and warns "Couldn't find ffmpeg or avconv"
# when there is none (the usual case: ours comes from imageio-ffmpeg). That warning is about
# pydub's default, which is replaced on the next line, so it is silenced, and only it.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning
    )
    from pydub import AudioSegment

AudioSegment.converter = ffmpeg_exe()

_INT32 = 2**31 - 1


def to_segment(audio: Audio) -> AudioSegment:
    clipped = np.clip(audio.samples.astype(np.float64), -1.0, 1.0)
    interleaved = (clipped.T * _INT32).astype("<i4")
    return AudioSegment(
        data=interleaved.tobytes(), sample_width=4, frame_rate=audio.rate, channels=audio.channels
    )


def from_segment(segment: AudioSegment) -> Audio:
    data = np.frombuffer(segment.raw_data, dtype=f"<i{segment.sample_width}")
    scale = float(2 ** (8 * segment.sample_width - 1))
    samples = (data.reshape(-1, segment.channels).T / scale).astype(np.float32)
    return Audio(samples, segment.frame_rate)


@dataclass(frozen=True)
class Assembled:
    audio: Audio
    offset: float
    """Where the episode starts in the published file, in seconds."""


def prepend_intro(
    intro: Audio | None, episode: Audio, *, gap_seconds: float, crossfade_seconds: float
) -> Assembled:
    if intro is None:
        return Assembled(episode, 0.0)
    head = to_segment(intro)
    body = to_segment(episode)
    if gap_seconds > 0:
        head = head + AudioSegment.silent(
            duration=gap_seconds * 1000, frame_rate=episode.rate
        ).set_channels(episode.channels).set_sample_width(4)
    crossfade_ms = int(min(crossfade_seconds * 1000, len(head), len(body)))
    joined = head.append(body, crossfade=crossfade_ms)
    offset = (len(head) - crossfade_ms) / 1000
    return Assembled(from_segment(joined), offset)
