"""The show's cover art: refused when it is not a whole JPEG or PNG, warned about when podcast
directories would reject or when it bloats every episode.

A cover is embedded in every MP3 (ID3 APIC) and copied beside it, so a bad one is published
many times over: a zero-byte or truncated file shows a broken picture in every player, and a
text file renamed ``cover.png`` is worse. Those are refused before any audio work. What Apple
Podcasts asks for (square, 1400 to 3000 px, JPEG or PNG) and a sane size in bytes are only
warned about: the episode still publishes, and the report says what to fix.

The image is decoded by the same static ffmpeg that decodes the audio (imageio-ffmpeg), so no
imaging library is needed: a full decode of the first frame proves the file is whole, and its
stream line gives codec and size.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import InputError
from .fileio import file_problem

# Apple Podcasts: "a minimum size of 1400 x 1400 pixels and a maximum size of 3000 x 3000
# pixels", square, JPEG or PNG.
MIN_PIXELS = 1400
MAX_PIXELS = 3000
# Every MP3 carries the cover: at 512 KiB it is already ~5 % of a 10-minute episode at 128 kb/s
# (9.6 MB); a 3000 px PNG straight from a design tool is often 5-10 MB, as much as the audio.
MAX_BYTES = 512 * 1024
FORMATS = {"png": "PNG", "mjpeg": "JPEG"}
# How a file that ffmpeg cannot open says what it was meant to be.
_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}

_VIDEO = re.compile(r"Stream #\S+.*?: Video: (?P<codec>\w+)[^\n]*?, (?P<w>\d+)x(?P<h>\d+)")


@dataclass(frozen=True)
class Cover:
    path: Path
    format: str  # "PNG" or "JPEG"
    width: int
    height: int
    bytes: int

    @property
    def mime(self) -> str:
        return "image/png" if self.format == "PNG" else "image/jpeg"


def _refuse(problem: str, path: Path) -> InputError:
    return InputError(
        problem, path, "replace it with a square JPEG or PNG of 1400-3000 px, or fix cover in "
        "show.toml",
    )  # fmt: skip


@lru_cache(maxsize=16)
def _inspect(path: str, size: int, mtime_ns: int) -> Cover:
    from .audio.decode import ffmpeg_exe

    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-xerror", "-i", path,
         "-frames:v", "1", "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    match = _VIDEO.search(result.stderr)
    if match is None:
        with open(path, "rb") as stream:
            head = stream.read(8)
        kind = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
        problem = f"is a damaged or truncated {kind} image" if kind else "is not an image"
        raise _refuse(problem, Path(path))
    codec = match.group("codec")
    if codec not in FORMATS:
        raise _refuse(f"is a {codec} image; podcast directories take JPEG or PNG", Path(path))
    if result.returncode != 0 or not re.search(r"frame=\s*[1-9]", result.stderr):
        raise _refuse(f"is a damaged or truncated {FORMATS[codec]} image", Path(path))
    return Cover(Path(path), FORMATS[codec], int(match.group("w")), int(match.group("h")), size)


def inspect_cover(path: Path) -> Cover:
    """The cover's format and size; :class:`InputError` when it is missing, empty, not an image,
    not JPEG/PNG or damaged. Decoded once per (path, size, mtime) in a process (a batch)."""
    path = Path(path)
    problem = file_problem(path)
    if problem is not None:
        raise _refuse(problem, path)
    info = path.stat()
    return _inspect(str(path.resolve()), info.st_size, info.st_mtime_ns)


def cover_warnings(cover: Cover) -> list[str]:
    """What a podcast directory would object to, each naming the file and the fix."""
    warnings = []
    if cover.width != cover.height:
        warnings.append(
            f"{cover.path}: cover is {cover.width}x{cover.height}, not square — crop it square "
            f"({MIN_PIXELS}-{MAX_PIXELS} px) for Apple Podcasts"
        )
    side = min(cover.width, cover.height)
    if side < MIN_PIXELS or max(cover.width, cover.height) > MAX_PIXELS:
        warnings.append(
            f"{cover.path}: cover is {cover.width}x{cover.height} px, outside Apple's "
            f"{MIN_PIXELS}-{MAX_PIXELS} px — export it at {MIN_PIXELS}-{MAX_PIXELS} px square"
        )
    if cover.bytes > MAX_BYTES:
        warnings.append(
            f"{cover.path}: cover is {cover.bytes / 1024:.0f} KiB and every MP3 carries a copy "
            f"— export it under {MAX_BYTES // 1024} KiB (JPEG, or a PNG with fewer colours)"
        )
    return warnings
