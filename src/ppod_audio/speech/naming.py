"""Naming speakers: which of the episode's people each diarization cluster is.

Tracks name themselves; otherwise voiceprints first, then the transcript (introductions, being
addressed by name), then elimination. The caller reads the voice library and hands it in, so
this stage reads no file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import EpisodeManifest, ShowConfig
from ..transcript.document import speaker_roster
from ..transcript.model import Speaker
from .turns import speaker_durations

if TYPE_CHECKING:
    from .stage import SpeechResult
    from .voiceprints import Voiceprint


def name_speakers(
    speech: SpeechResult,
    manifest: EpisodeManifest,
    show: ShowConfig,
    naming: dict[str, dict[str, Any]] | None = None,
    *,
    voices: Sequence[Voiceprint] = (),
) -> tuple[list[Speaker], dict[str, str], list[str]]:
    """Map diarization clusters to the episode's people.

    Tracks name themselves. Otherwise each cluster is matched to the enrolled voiceprints of the
    people listed for this episode (``voices``: the show's library, read by the caller), one
    person per cluster (Hungarian assignment), and a cluster
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
        from .voiceprints import name_clusters, slugify

        # A voice is the roster's person whatever case it was enrolled in ("steve macabee"):
        # matched by slug, as name_clusters matches its candidates.
        by_slug = {slugify(speaker.name): speaker for speaker in roster}
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
    from .introductions import name_from_introductions

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
