"""ID3 tags with mutagen: what podcast apps read from the MP3 itself.

ID3v2.3 is the default because Apple Podcasts and many car stereos read v2.3 reliably and v2.4
patchily; v2.4 is selectable. Chapters are CHAP frames under one ordered top-level CTOC, and the
transcript goes in USLT, both rendered from the episode document.
"""

from __future__ import annotations

import mimetypes
import struct
from dataclasses import dataclass, field
from pathlib import Path

from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCON,
    TCOP,
    TDRC,
    TENC,
    TIT2,
    TLAN,
    TPE1,
    TPE2,
    TPOS,
    TPUB,
    TRCK,
    TSSE,
    USLT,
    WOAS,
    CTOCFlags,
    ID3NoHeaderError,
)

from . import __version__
from .errors import InputError


@dataclass(frozen=True)
class ChapterMark:
    start: float
    end: float
    title: str


@dataclass
class EpisodeTags:
    title: str
    artist: str
    album: str
    album_artist: str
    genre: str = "Podcast"
    track: int | None = None
    disc: int | None = None
    date: str | None = None
    description: str | None = None
    copyright: str | None = None
    publisher: str | None = None
    language: str = "eng"
    website: str | None = None
    cover: Path | None = None
    lyrics: str | None = None
    chapters: list[ChapterMark] = field(default_factory=list)


def iso639_2(language: str) -> str:
    """ID3 wants three-letter codes (``eng``); show settings use BCP 47 (``en-GB``)."""
    code = language.split("-")[0].lower()
    return {"en": "eng", "cy": "cym", "fr": "fra", "de": "deu", "es": "spa"}.get(code, code[:3])


def _checked(tags: EpisodeTags, source: Path | str | None) -> str:
    """The ID3 language code, after refusing what mutagen would reject halfway through."""
    language = iso639_2(tags.language)
    if not (language.isascii() and language.isalpha() and len(language) == 3):
        raise InputError(f"language = {tags.language!r} is not a language code", source,
                         "use an ISO 639 code such as en or en-GB")  # fmt: skip
    if tags.website:
        try:
            tags.website.encode("latin-1")
        except UnicodeEncodeError:
            raise InputError(
                f"website = {tags.website!r} has characters an ID3 link cannot hold",
                source,
                "write the address in ASCII (punycode for the host, %-escapes for the path)",
            ) from None
    return language


def write_tags(
    mp3: Path, tags: EpisodeTags, *, version: int = 3, source: Path | str | None = None
) -> None:
    """Replace ``mp3``'s ID3 tag with ``tags``; what mutagen would reject is an
    :class:`InputError` naming ``source`` (the document the tags come from)."""
    language = _checked(tags, source)
    try:
        _write(mp3, tags, language, version)
    except (ValueError, struct.error) as error:  # e.g. a chapter time past 2**32 ms
        raise InputError(f"cannot be written as ID3 tags ({error})", source,
                         "fix the value it names") from None  # fmt: skip


def _write(mp3: Path, tags: EpisodeTags, language: str, version: int) -> None:
    try:
        id3 = ID3(mp3)
        id3.delete()
    except ID3NoHeaderError:
        pass
    id3 = ID3()
    id3.add(TIT2(encoding=3, text=tags.title))
    id3.add(TPE1(encoding=3, text=tags.artist))
    id3.add(TPE2(encoding=3, text=tags.album_artist))
    id3.add(TALB(encoding=3, text=tags.album))
    id3.add(TCON(encoding=3, text=tags.genre))
    id3.add(TLAN(encoding=3, text=language))
    id3.add(TSSE(encoding=3, text=f"ppod-audio {__version__} (LAME)"))
    id3.add(TENC(encoding=3, text=f"ppod-audio {__version__}"))
    if tags.track is not None:
        id3.add(TRCK(encoding=3, text=str(tags.track)))
    if tags.disc is not None:
        id3.add(TPOS(encoding=3, text=str(tags.disc)))
    if tags.date:
        id3.add(TDRC(encoding=3, text=tags.date))
    if tags.description:
        id3.add(COMM(encoding=3, lang=language, desc="", text=tags.description))
    if tags.copyright:
        id3.add(TCOP(encoding=3, text=tags.copyright))
    if tags.publisher:
        id3.add(TPUB(encoding=3, text=tags.publisher))
    if tags.website:
        id3.add(WOAS(url=tags.website))
    if tags.cover is not None:
        mime = mimetypes.guess_type(tags.cover.name)[0] or "image/png"
        id3.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=tags.cover.read_bytes()))
    if tags.lyrics:
        id3.add(USLT(encoding=3, lang=language, desc="Transcript", text=tags.lyrics))
    _add_chapters(id3, tags.chapters)
    id3.save(mp3, v2_version=version, v1=0)


def _add_chapters(id3: ID3, chapters: list[ChapterMark]) -> None:
    if not chapters:
        return
    ids = [f"chp{index}" for index in range(len(chapters))]
    id3.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text="Chapters")],
        )
    )
    for element_id, chapter in zip(ids, chapters, strict=True):
        id3.add(
            CHAP(
                element_id=element_id,
                start_time=int(round(chapter.start * 1000)),
                end_time=int(round(chapter.end * 1000)),
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=[TIT2(encoding=3, text=chapter.title)],
            )
        )
