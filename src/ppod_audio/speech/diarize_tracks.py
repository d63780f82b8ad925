"""Who spoke when, for episodes recorded one microphone per speaker.

Each track hears its own talker loudly and the others faintly (bleed). A track is "speaking" in a
frame when it is well above its own noise floor *and* the loudest track there, or close to it:
bleed arrives attenuated by the distance between microphones, so a track more than
``bleed_margin_db`` below the loudest one is hearing someone else. Attribution is then exact,
with no clustering to get wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_closing, binary_opening

from ..audio.activity import frame_levels_db
from ..defaults import SPEECH_RATE
from .turns import Turn

RATE = SPEECH_RATE


@dataclass(frozen=True)
class TrackOptions:
    frame_seconds: float = 0.03
    above_floor_db: float = 12.0
    bleed_margin_db: float = 10.0
    min_pause_seconds: float = 0.3
    min_turn_seconds: float = 0.25


def track_activity(tracks: list[tuple[str, np.ndarray]], options: TrackOptions) -> np.ndarray:
    """Boolean ``(tracks, frames)``: who is talking in each frame, bleed rejected."""
    levels = [frame_levels_db(audio, RATE, options.frame_seconds) for _, audio in tracks]
    frames = min(len(level) for level in levels)
    stack = np.stack([level[:frames] for level in levels])
    floors = np.percentile(stack, 10, axis=1, keepdims=True)
    above_floor = stack > floors + options.above_floor_db
    loudest = stack.max(axis=0, keepdims=True)
    not_bleed = stack >= loudest - options.bleed_margin_db
    active = above_floor & not_bleed
    close = max(1, int(options.min_pause_seconds / options.frame_seconds))
    opening = max(1, int(options.min_turn_seconds / options.frame_seconds))
    for index in range(len(tracks)):
        row = binary_closing(active[index], structure=np.ones(close), border_value=0)
        active[index] = binary_opening(row, structure=np.ones(opening))
    return active


def diarize_tracks(
    tracks: list[tuple[str, np.ndarray]], options: TrackOptions | None = None
) -> list[Turn]:
    """Turns labelled with each track's speaker name, in time order; overlaps are kept."""
    options = options or TrackOptions()
    if not tracks:
        return []
    active = track_activity(tracks, options)
    turns: list[Turn] = []
    for (name, _), row in zip(tracks, active, strict=True):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            turns.append(Turn(start * options.frame_seconds, end * options.frame_seconds, name))
    return sorted(turns, key=lambda turn: (turn.start, turn.speaker))
