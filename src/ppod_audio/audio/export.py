"""MP3 export through pydub and the imageio-ffmpeg binary (libmp3lame, constant bit rate).

The file is encoded to a temporary name in the destination folder and renamed into place by the
caller, so an interrupted run never leaves half an MP3 where a listener's app could fetch it.
ffmpeg is told to write no tags: mutagen writes all of them afterwards, in the version asked for.
"""

from __future__ import annotations

from pathlib import Path

from pydub import AudioSegment

from ..errors import ProcessingError
from .assemble import to_segment
from .decode import Audio, ffmpeg_exe


def encode_mp3(audio: Audio, destination: Path, *, bitrate_kbps: int, sample_rate: int) -> None:
    AudioSegment.converter = ffmpeg_exe()
    segment = to_segment(audio)
    try:
        segment.export(
            str(destination),
            format="mp3",
            codec="libmp3lame",
            bitrate=f"{bitrate_kbps}k",
            parameters=[
                "-ar", str(sample_rate),
                "-ac", str(audio.channels),
                "-id3v2_version", "0",
                "-write_id3v1", "0",
            ],
        )  # fmt: skip
    except Exception as error:  # pydub raises CouldntEncodeError with ffmpeg's whole log
        raise ProcessingError(f"MP3 encoding failed: {str(error)[-300:]}", destination) from error
