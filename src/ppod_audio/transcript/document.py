"""Building the episode document from the speech result: names, clean text, one time shift.

This is the one place where recognition times (on the raw recording's clock) become published
times (content warning included): every word, segment and chapter is shifted by
``intro_offset - trimmed_start`` here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import EpisodeManifest, ShowConfig
from ..speech.turns import speaker_durations
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
    from ..speech.stage import SpeechResult
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


def clean_options(show: ShowConfig, manifest: EpisodeManifest) -> CleanOptions:
    """The text-cleaning rules for this show and episode: its glossary, its cast's names and
    terms for vocabulary correction, and its house spelling."""
    from .clean import CleanOptions
    from .vocabulary import build_vocabulary, is_common

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


def name_speakers(
    speech: SpeechResult,
    manifest: EpisodeManifest,
    show: ShowConfig,
    naming: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[Speaker], dict[str, str], list[str]]:
    """Map diarization clusters to the episode's people.

    Tracks name themselves. Otherwise each cluster is matched to the enrolled voiceprints of the
    people listed for this episode, one person per cluster (Hungarian assignment), and a cluster
    below the threshold stays unnamed. Clusters no voiceprint decided are then named from the
    transcript (introductions, being addressed by name: ``speech.introductions``), with a
    warning when that is a guess. A single unnamed cluster left with a single unused listed
    person takes that name (unambiguous); anything else becomes "Speaker N". ``naming``, when
    given, receives how each cluster was named (for report.json).
    """
    roster = speaker_roster(manifest)
    by_name = {speaker.name: speaker for speaker in roster}
    clusters = list(speaker_durations(speech.turns))  # most talk first
    warnings: list[str] = []
    mapping: dict[str, str] = {}
    how: dict[str, dict[str, Any]] = {}
    if speech.track_speakers:
        named = {c: speech.track_speakers.get(c) for c in clusters}
        mapping = {c: by_name[name].id for c, name in named.items() if name in by_name}
        how = {cluster: {"by": "track"} for cluster in mapping}
    elif speech.embeddings:
        from ..speech.voiceprints import list_voices, name_clusters, slugify

        # A voice is the roster's person whatever case it was enrolled in ("steve macabee"):
        # matched by slug, as name_clusters matches its candidates.
        by_slug = {slugify(speaker.name): speaker for speaker in roster}
        voices = list_voices(show.path(show.voices))
        people: dict[str, Speaker] = {}
        for voice in voices:
            person = by_slug.get(voice.slug) or by_slug.get(slugify(voice.name))
            if person is not None:
                people[voice.name] = person
        if people:
            # The voices are already the roster's (``people``): no second filter to disagree.
            named = name_clusters(
                {c: np.asarray(v) for c, v in speech.embeddings.items()},
                [voice for voice in voices if voice.name in people],
                candidates=None,
                threshold=show.speech.naming_threshold,
            )
            mapping = {cluster: people[name].id for cluster, name in named.items()}
            how = {cluster: {"by": "voiceprint"} for cluster in mapping}
        elif roster:
            warnings.append(
                "no enrolled voiceprints for this episode's speakers (ppod voices enroll)"
            )
    if not speech.track_speakers:
        warnings += _name_from_transcript(speech, clusters, roster, mapping, how)
    unnamed = [c for c in clusters if c not in mapping]
    unused = [s for s in roster if s.id not in mapping.values()]
    if len(unnamed) == 1 and len(unused) == 1:
        mapping[unnamed[0]] = unused[0].id
        how[unnamed[0]] = {"by": "elimination"}
        unnamed = []
    speakers = list(roster)
    for number, cluster in enumerate(unnamed, start=1):
        speaker_id = f"U{number}"
        speakers.append(Speaker(id=speaker_id, name=f"Speaker {number}"))
        mapping[cluster] = speaker_id
    if unnamed:
        warnings.append(f"{len(unnamed)} speaker(s) could not be named: check the transcript")
    used = set(mapping.values())
    if naming is not None:
        names = {speaker.id: speaker.name for speaker in speakers}
        naming.update({c: {"name": names[mapping[c]], **how.get(c, {"by": "none"})}
                       for c in clusters if c in mapping})  # fmt: skip
    return [s for s in speakers if s.id in used], mapping, warnings


def _name_from_transcript(
    speech: SpeechResult,
    clusters: list[str],
    roster: list[Speaker],
    mapping: dict[str, str],
    how: dict[str, dict[str, Any]],
) -> list[str]:
    """Name the clusters voiceprints left undecided from introductions; fills ``mapping``.

    Returns a warning per name that rests on thin evidence (``Naming.guess``).
    """
    from ..speech.introductions import name_from_introductions

    open_clusters = [c for c in clusters if c not in mapping]
    open_people = [s for s in roster if s.id not in mapping.values()]
    if not open_clusters or not open_people or not speech.words:
        return []
    found = name_from_introductions(speech.words, [s.name for s in open_people], open_clusters)
    by_name = {s.name: s for s in open_people}
    warnings = []
    for cluster, named in found.items():
        mapping[cluster] = by_name[named.name].id
        how[cluster] = {"by": "introductions", "confidence": named.confidence,
                        "evidence": named.evidence}  # fmt: skip
        if named.guess:
            warnings.append(
                f"named {named.name} from little evidence in the transcript (confidence "
                f"{named.confidence:.2f}: {'; '.join(named.evidence)}): check who is speaking"
            )
    return warnings


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
    speech: SpeechResult,
    intro_offset: float,
    trimmed_start: float,
    duration: float,
) -> EpisodeDocument:
    from .clean import clean_words
    from .segments import build_segments

    speakers, mapping, warnings = name_speakers(speech, manifest, show, speech.naming)
    speech.warnings = sorted(set(speech.warnings) | set(warnings))
    words = [
        word.model_copy(update={"speaker": mapping.get(word.speaker or "", word.speaker)})
        for word in speech.words
    ]
    cleaning = clean_options(show, manifest)
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
        chapters=chapters_for(
            manifest, show, intro_offset, trimmed_start, duration, speech.warnings
        ),
        model=speech.model,
        vocabulary=[entry.text for entry in cleaning.vocabulary.entries]
        if cleaning.vocabulary
        else [],
    )
