"""Make the show-wide assets that every published episode of The P Pod carries.

Writes, under ``raw_audio/assets/``:

* ``cover.png``: the square podcast cover (1400x1400, the minimum Apple Podcasts accepts), drawn
  with Pillow so that it can be regenerated from source instead of living only as a binary blob.
* ``content-warning.flac``: the spoken content warning that the pipeline prepends to every
  episode, synthesised with espeak-ng so the repository needs no recorded voice to be complete.

Run from the repository root: ``python scripts/make_show_assets.py``. The output is
deterministic for a given espeak-ng and Pillow version.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw, ImageFont
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "raw_audio" / "assets"

# Kept identical to ppod_audio.config.ContentWarning.text: the transcript shows this text for
# the audio clip, so the two must never drift apart.
CONTENT_WARNING_TEXT = (
    "Please note: due to the nature of this podcast, themes relating to the abuse and neglect "
    "of children are discussed, with the content being designed for an adult audience for "
    "educational purposes, in order to protect children from harm. Therefore listener "
    "discretion is advised and the content considered unsuitable for children."
)
WARNING_VOICE = "en-gb"
WARNING_WPM = 150
ESPEAK_RATE = 22050
TARGET_RATE = 44100
EDGE_SILENCE_S = 0.1

COVER_SIZE = 1400
COVER_MAX_BYTES = 500_000
SUPERSAMPLE = 2
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

# Palette: a deep teal with warm accents. High contrast between the white title and the
# background keeps the title legible at the 55-pixel thumbnail size podcast apps show.
BACKGROUND = (14, 76, 92)
BACKGROUND_DARK = (8, 52, 66)
ACCENT = (246, 174, 45)
ACCENT_SOFT = (242, 100, 74)
LIGHT = (255, 255, 255)
MUTED = (200, 228, 232)


def espeak_wav(text: str, voice: str, wpm: int) -> tuple[np.ndarray, int]:
    """Synthesise ``text`` with espeak-ng and return float samples in [-1, 1] and the rate.

    espeak writes a WAV to stdout with ``--stdout``; reading it through soundfile avoids a
    temporary file per utterance.
    """
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    result = subprocess.run(
        [espeak, "-v", voice, "-s", str(wpm), "--stdout", text],
        check=True,
        capture_output=True,
    )
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float64")
    return samples, rate


def trim_to_speech(
    samples: np.ndarray, rate: int, keep_s: float, threshold: float = 1e-3
) -> np.ndarray:
    """Cut leading/trailing silence, leaving ``keep_s`` seconds of it at each end.

    espeak pads its output with silence of varying length; a fixed, short pad makes the clip
    splice cleanly in front of an episode with a predictable gap.
    """
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples
    keep = int(round(keep_s * rate))
    start = max(0, loud[0] - keep)
    end = min(samples.size, loud[-1] + 1 + keep)
    out = samples[start:end].copy()
    # espeak's own output is digital silence around speech; pad with zeros if it was shorter.
    pad_front = keep - (loud[0] - start)
    pad_back = keep - (end - loud[-1] - 1)
    return np.concatenate([np.zeros(pad_front), out, np.zeros(pad_back)])


def make_content_warning(path: Path) -> float:
    """Write the content-warning clip as mono 44.1 kHz 16-bit FLAC; return its duration."""
    samples, rate = espeak_wav(CONTENT_WARNING_TEXT, WARNING_VOICE, WARNING_WPM)
    if rate != ESPEAK_RATE:
        sys.exit(f"espeak-ng produced {rate} Hz, expected {ESPEAK_RATE} Hz")
    samples = resample_poly(samples, TARGET_RATE // ESPEAK_RATE, 1)
    samples = trim_to_speech(samples, TARGET_RATE, EDGE_SILENCE_S)
    # Peak at -3 dBFS: loud enough to be a sensible source, with room left so the resampler's
    # overshoot can never clip. The pipeline loudness-normalises the episode anyway.
    peak = float(np.max(np.abs(samples)))
    samples = samples * (10 ** (-3 / 20) / peak)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, TARGET_RATE, subtype="PCM_16", format="FLAC")
    return samples.size / TARGET_RATE


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu is on every Debian machine; fall back to Pillow's scalable default otherwise."""
    path = FONT_DIR / name
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _centered_text(
    draw: ImageDraw.ImageDraw,
    y: int,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    fill: tuple[int, int, int],
    width: int,
) -> int:
    """Draw one line centred horizontally with its top at ``y``; return the y below it."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) / 2 - left, y - top), text, font=font, fill=fill)
    return y + (bottom - top)


def make_cover(path: Path, size: int = COVER_SIZE) -> int:
    """Draw the cover and save it as an optimised PNG; return its size in bytes.

    The layout is deliberately simple (one mark, one title, one subtitle) because most
    listeners only ever see it as a thumbnail. Pillow draws shapes without anti-aliasing, so
    the cover is drawn at twice the size and scaled down for smooth curves.
    """
    final_size = size
    size *= SUPERSAMPLE
    scale = size / 1400
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)

    # A soft diagonal band of darker colour for depth, then concentric "sound" rings.
    draw.polygon(
        [(0, size * 0.665), (size, size * 0.645), (size, size), (0, size)], fill=BACKGROUND_DARK
    )
    cx, cy = size // 2, int(495 * scale)
    for i, radius in enumerate((380, 320, 260)):
        r = int(radius * scale)
        colour = ACCENT if i == 0 else MUTED
        ring_width = max(2, int((10 - 3 * i) * scale))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=ring_width)

    # The mark: a solid disc with a bold "P" in it, like a microphone seen head-on.
    r = int(200 * scale)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ACCENT)
    p_font = _font("DejaVuSans-Bold.ttf", int(280 * scale))
    left, top, right, bottom = draw.textbbox((0, 0), "P", font=p_font)
    draw.text(
        (cx - (right - left) / 2 - left, cy - (bottom - top) / 2 - top),
        "P",
        font=p_font,
        fill=BACKGROUND_DARK,
    )

    # Small level-meter bars either side of the mark: reads as "audio" at a glance.
    bar_w = int(22 * scale)
    heights = (60, 120, 90, 160, 70)
    for side in (-1, 1):
        for j, h in enumerate(heights):
            x = cx + side * int((440 + j * 40) * scale)
            hh = int(h * scale * (1 - 0.12 * j))
            draw.rounded_rectangle(
                (x - bar_w // 2, cy - hh // 2, x + bar_w // 2, cy + hh // 2),
                radius=bar_w // 2,
                fill=ACCENT_SOFT if j % 2 else ACCENT,
            )

    title_font = _font("DejaVuSans-Bold.ttf", int(170 * scale))
    y = _centered_text(draw, int(960 * scale), "The P Pod", title_font, LIGHT, size)

    # A short accent rule between title and subtitle.
    y += int(45 * scale)
    rule_half = int(90 * scale)
    draw.rounded_rectangle(
        (cx - rule_half, y, cx + rule_half, y + int(10 * scale)), radius=int(5 * scale), fill=ACCENT
    )
    y += int(50 * scale)

    subtitle_font = _font("DejaVuSans.ttf", int(58 * scale))
    y = _centered_text(draw, y, "Somerset Safeguarding", subtitle_font, MUTED, size)
    _centered_text(draw, y + int(22 * scale), "Children Partnership", subtitle_font, MUTED, size)

    # A thin inner frame keeps the composition tidy when apps round the corners.
    inset = int(36 * scale)
    draw.rounded_rectangle(
        (inset, inset, size - inset, size - inset),
        radius=int(48 * scale),
        outline=(70, 130, 144),
        width=max(2, int(3 * scale)),
    )

    image = image.resize((final_size, final_size), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Flat colours quantise losslessly-looking to a palette, which keeps the PNG small.
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )
    written = path.stat().st_size
    if written > COVER_MAX_BYTES:
        sys.exit(f"{path} is {written} bytes, over the {COVER_MAX_BYTES}-byte budget")
    return written


def main() -> None:
    """Write both assets and print what the show.toml needs to know about them."""
    cover = ASSETS / "cover.png"
    warning = ASSETS / "content-warning.flac"
    cover_bytes = make_cover(cover)
    duration = make_content_warning(warning)
    print(f"wrote {cover.relative_to(ROOT)} ({cover_bytes} bytes, {COVER_SIZE}x{COVER_SIZE})")
    print(f"wrote {warning.relative_to(ROOT)} ({duration:.2f} s, {TARGET_RATE} Hz mono 16-bit)")
    print()
    print("Content warning text (for show.toml [content_warning] text):")
    print(CONTENT_WARNING_TEXT)


if __name__ == "__main__":
    main()
