"""MP3 export through pydub and the imageio-ffmpeg binary (libmp3lame, constant bit rate).

The file is encoded to a temporary name in the destination folder and renamed into place by the
caller, so an interrupted run never leaves half an MP3 where a listener's app could fetch it.
ffmpeg is told to write no tags: mutagen writes all of them afterwards, in the version asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydub import AudioSegment

from ..errors import ProcessingError
from .assemble import to_segment
from .decode import Audio, ffmpeg_exe


def encode_mp3(
    audio: Audio, destination: Path, *, bitrate_kbps: int, sample_rate: int, channels: int
) -> None:
    """Encode at a constant bit rate; a mono working copy is published on both channels."""
    AudioSegment.converter = ffmpeg_exe()
    if channels > audio.channels:
        # Duplicate here: ffmpeg's own mono-to-stereo upmix lowers each channel by 3 dB.
        audio = Audio(np.repeat(audio.samples, channels, axis=0), audio.rate)
    segment = to_segment(audio)
    try:
        segment.export(
            str(destination),
            format="mp3",
            codec="libmp3lame",
            bitrate=f"{bitrate_kbps}k",
            parameters=[
                "-ar", str(sample_rate),
                "-ac", str(channels),
                "-id3v2_version", "0",
                "-write_id3v1", "0",
            ],
        )  # fmt: skip
    except Exception as error:  # pydub raises CouldntEncodeError with ffmpeg's whole log
        raise ProcessingError(f"MP3 encoding failed: {str(error)[-300:]}", destination) from error
