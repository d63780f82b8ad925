"""Building the episode document from the speech result: names, clean text, one time shift.

This is the one place where recognition times (on the raw recording's clock) become published
times (content warning included): every word, segment and chapter is shifted by
``intro_offset - trimmed_start`` here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..config import EpisodeManifest, ShowConfig
from .model import (
    WARNING_SPEAKER_ID,
    Chapter,
    EpisodeDocument,
    EpisodeInfo,
    Segment,
    Speaker,
    Word,
)

if TYPE_CHECKING:
    from .clean import CleanOptions
    from .glossary import Glossary

# Languages whose house spelling is British (-ise, -our): what "en-GB" spelling applies to when
# show.toml leaves [transcript] spelling unset.
BRITISH_LANGUAGES = ("en-gb", "en-ie", "en-au", "en-nz")


def load_show_glossary(show: ShowConfig, manifest: EpisodeManifest) -> Glossary:
    from .glossary import Glossary, load_glossary

    glossary = load_glossary(show.path(show.glossary)) if show.glossary else Glossary()
    return glossary.with_terms([speaker.name for speaker in manifest.speakers])


def glossary_terms(show: ShowConfig, manifest: EpisodeManifest) -> list[str]:
    """Terms handed to the speech model; the glossary's replacements are not among them."""
    return list(load_show_glossary(show, manifest).terms)


def british_spelling(show: ShowConfig) -> bool:
    """Whether the transcript gets British spelling: as show.toml says, else by its language."""
    spelling = show.transcript.spelling
    if spelling is None:
        return show.language.lower() in BRITISH_LANGUAGES
    return spelling == "en-GB"


def clean_options(
    show: ShowConfig, manifest: EpisodeManifest, glossary: Glossary | None = None
) -> CleanOptions:
    """The text-cleaning rules for this show and episode: its glossary (``glossary``, or read
    from show.toml's), its cast's names and terms for vocabulary correction, and its house
    spelling."""
    from .clean import CleanOptions
    from .vocabulary import build_vocabulary, is_common

    if glossary is None:
        glossary = load_show_glossary(show, manifest)
    # A replacement's target is a term when it has a word of its own ("non-accidental"); one
    # made of ordinary words ("Hello and welcome") is a fix, not vocabulary to match against.
    targets = [
        right
        for _, right in glossary.replacements
        if not all(is_common(token) for token in right.split())
    ]
    names = [speaker.name for speaker in manifest.speakers]
    return CleanOptions(
        glossary=glossary,
        vocabulary=build_vocabulary([*glossary.terms, *targets], names),
        british_spelling=british_spelling(show),
    )


def speaker_roster(manifest: EpisodeManifest) -> list[Speaker]:
    return [
        Speaker(id=f"S{index}", name=entry.name, role=entry.role)
        for index, entry in enumerate(manifest.speakers, start=1)
    ]


def episode_info(manifest: EpisodeManifest, show: ShowConfig) -> EpisodeInfo:
    """The document's metadata as the manifest and show.toml say it now; ``ppod render``
    compares it with what an episode was made with, so both must map the fields alike."""
    return EpisodeInfo(
        slug=manifest.slug,
        title=manifest.title,
        show=show.title,
        season=manifest.season,
        number=manifest.episode,
        date=manifest.date,
        description=manifest.description,
        language=show.language,
        author=show.author,
        publisher=show.publisher,
        copyright=show.copyright,
        website=show.website,
        genre=show.genre,
        cover=Path(show.path(show.cover)).name if show.cover else None,
    )


def shift_words(words: list[Word], offset: float) -> list[Word]:
    return [
        word.model_copy(update={"start": word.start + offset, "end": word.end + offset})
        for word in words
    ]


def chapters_for(
    manifest: EpisodeManifest,
    show: ShowConfig,
    intro_offset: float,
    trimmed_start: float,
    duration: float,
    warnings: list[str] | None = None,
) -> list[Chapter]:
    """ "Content warning", then the episode, then the manifest's chapters on the published clock.

    A chapter at or past the end of the programme cannot be published; it is left out and,
    when ``warnings`` is given, said there (never dropped silently)."""
    marks: list[tuple[float, str]] = []
    if intro_offset > 0:
        marks.append((0.0, show.content_warning.speaker))
    programme_title = manifest.title
    for entry in manifest.chapters:
        start = entry.start - trimmed_start + intro_offset
        if start <= intro_offset + 1.0:
            # A chapter at the very start names the opening: it replaces the episode title.
            programme_title = entry.title
        elif start < duration:
            marks.append((start, entry.title))
        elif warnings is not None:
            end = duration - intro_offset + trimmed_start
            warnings.append(
                f"{manifest.root / 'episode.toml'}: chapter {entry.title!r} starts at "
                f"{entry.start:g} s, at or past the end of the recording ({end:.1f} s): left out "
                "— fix its start (seconds on the raw recording)"
            )
    marks.append((intro_offset, programme_title))
    marks.sort()
    chapters = []
    for index, (start, title) in enumerate(marks):
        end = marks[index + 1][0] if index + 1 < len(marks) else duration
        chapters.append(Chapter(start=round(start, 3), end=round(end, 3), title=title))
    return chapters


def build_document(
    *,
    manifest: EpisodeManifest,
    show: ShowConfig,
    words: list[Word],
    speakers: list[Speaker],
    clusters: dict[str, str],
    glossary: Glossary,
    model: str | None,
    intro_offset: float,
    trimmed_start: float,
    duration: float,
    warnings: list[str],
) -> EpisodeDocument:
    """The machine's document: ``words`` (on the raw recording's clock, ``speaker`` the
    diarizer's cluster) under the ``speakers`` that ``clusters`` maps them to, cleaned with
    ``glossary`` (read by the caller: this stage reads no file). A chapter left out is said in
    ``warnings``."""
    from .clean import clean_words
    from .segments import build_segments

    speakers = list(speakers)
    words = [
        word.model_copy(update={"speaker": clusters.get(word.speaker or "", word.speaker)})
        for word in words
    ]
    cleaning = clean_options(show, manifest, glossary)
    words = clean_words(words, cleaning)
    # Speech times are on the raw recording's clock: minus the trimmed head, plus the intro.
    words = [
        word
        for word in shift_words(words, intro_offset - trimmed_start)
        if word.end > intro_offset and word.start < duration
    ]
    segments = build_segments(words)
    if show.content_warning.active and intro_offset > 0:
        warning = Segment(
            speaker=WARNING_SPEAKER_ID,
            start=0.0,
            end=round(max(0.0, intro_offset - show.content_warning.gap_seconds), 3),
            text=show.content_warning.text,
        )
        segments.insert(0, warning)
        speakers.insert(0, Speaker(id=WARNING_SPEAKER_ID, name=show.content_warning.speaker))
    return EpisodeDocument(
        episode=episode_info(manifest, show),
        audio=f"{manifest.slug}.mp3",
        duration=round(duration, 3),
        intro_offset=round(intro_offset, 3),
        speakers=speakers,
        segments=segments,
        chapters=chapters_for(manifest, show, intro_offset, trimmed_start, duration, warnings),
        model=model,
        vocabulary=[entry.text for entry in cleaning.vocabulary.entries]
        if cleaning.vocabulary
        else [],
    )
