"""A library of known voices, and naming diarized clusters from it.

The P Pod has a regular host and recurring guests, so a transcript can say "Steve Macabee" instead
of "SPEAKER_00" if each person's voice was enrolled once. A library is a plain folder with one
``<slug>.npz`` per person: their display name, the per-clip speaker embeddings and their
normalised mean, and the encoder that made them. Plain files mean a library can be copied,
versioned and inspected without a database.

Embeddings from different encoders live in different spaces (GE2E's 256-d, CAM++'s 192-d), so a
print records its encoder and one made by another encoder is refused with a message to re-enrol
rather than compared: a similarity across spaces is meaningless, not merely weaker.

Naming is a joint assignment, not a per-cluster nearest neighbour: two clusters can never both be
"Steve", which is exactly the mistake independent argmaxes make when two guests sound alike.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..defaults import NAMING_THRESHOLD, SPEECH_RATE
from ..errors import InputError
from ..fileio import atomic_path
from .campplus import ENCODER_ID
from .diarize_embedded import embed_utterance, unit
from .turns import Turn

SAMPLE_RATE = SPEECH_RATE
FORMAT_VERSION = 2
LEGACY_ENCODER = "ge2e-resemblyzer"
"""The encoder of a version-1 print (they did not record it): resemblyzer's GE2E."""
DEFAULT_THRESHOLD = NAMING_THRESHOLD
"""Cosine similarity below which a cluster stays unnamed (show.toml's ``naming_threshold``).
With CAM++ on the demo, each diarized cluster scores 0.81-0.95 against its own voice's print and
0.18-0.57 against the others (two of the synthetic espeak voices are alike), so 0.5 rejects
foreign voices and the joint assignment settles the close pair. katie-steve's enrolment
recordings score only 0.0-0.2 against the voices of its dialogue, so CAM++ leaves those
clusters unnamed (GE2E named them, by a margin of 0.63 against 0.55)."""


@dataclass(frozen=True)
class Voiceprint:
    """One enrolled person: ``embedding`` is the unit-length mean of ``clip_embeddings``."""

    name: str
    slug: str
    embedding: np.ndarray
    clip_embeddings: np.ndarray
    enrolled_at: float
    seconds: float
    encoder: str = ENCODER_ID

    @property
    def clips(self) -> int:
        return int(self.clip_embeddings.shape[0])


def slugify(name: str) -> str:
    """A file-name-safe, case-insensitive key for ``name`` ("Steve Macabee" -> "steve-macabee")."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    if not slug:
        raise InputError(f"a voice name needs at least one letter or digit: {name!r}")
    return slug


def _as_16k(clip: str | Path | np.ndarray) -> np.ndarray:
    """A 16 kHz mono float32 clip; paths go through the pipeline's own ffmpeg decoder."""
    if isinstance(clip, np.ndarray):
        return np.asarray(clip, dtype=np.float32).reshape(-1)
    from ..audio.decode import decode

    return decode(Path(clip), SAMPLE_RATE, 1).samples[0]


def _path(library_dir: str | Path, name: str) -> Path:
    return Path(library_dir) / f"{slugify(name)}.npz"


def _save(path: Path, print_: Voiceprint) -> None:
    """Write atomically: a crash mid-write must never leave a half voiceprint behind."""
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.savez(
            stream,
            version=np.int64(FORMAT_VERSION),
            encoder=np.str_(print_.encoder),
            name=np.str_(print_.name),
            embedding=print_.embedding.astype(np.float32),
            clip_embeddings=print_.clip_embeddings.astype(np.float32),
            enrolled_at=np.float64(print_.enrolled_at),
            seconds=np.float64(print_.seconds),
        )


def load_voiceprint(path: str | Path) -> Voiceprint:
    """Read one ``.npz`` voiceprint; one made by another speaker encoder is refused."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            encoder = str(data["encoder"]) if "encoder" in data.files else LEGACY_ENCODER
            name = str(data["name"])
            if encoder != ENCODER_ID:
                raise InputError(
                    f"the voiceprint of {name!r} was made with the {encoder} speaker encoder, "
                    f"and ppod-audio now uses {ENCODER_ID}",
                    path,
                    f'enrol the voice again: ppod voices enroll "{name}" <clips>',
                )
            return Voiceprint(
                name=name,
                slug=path.stem,
                embedding=data["embedding"].astype(np.float32),
                clip_embeddings=data["clip_embeddings"].astype(np.float32),
                enrolled_at=float(data["enrolled_at"]),
                seconds=float(data["seconds"]),
                encoder=encoder,
            )
    except (OSError, KeyError, ValueError) as error:
        raise InputError(f"not a readable voiceprint ({error})", path) from error


def enroll(
    library_dir: str | Path,
    name: str,
    audio_paths_or_arrays: Sequence[str | Path | np.ndarray],
    *,
    replace: bool = True,
) -> Voiceprint:
    """Embed each clip and store ``name``'s voiceprint (replacing an older one unless told not to).

    Arrays must be 16 kHz mono float32. Several short clips from different days make a sturdier
    print than one long clip, which is why per-clip embeddings are kept as well as the mean.
    """
    if not audio_paths_or_arrays:
        raise InputError(f"no enrolment audio given for {name!r}")
    path = _path(library_dir, name)
    if path.exists() and not replace:
        raise InputError(f"a voice named {name!r} is already enrolled", path, "remove it first")
    clips = [_as_16k(clip) for clip in audio_paths_or_arrays]
    short = [i for i, clip in enumerate(clips) if clip.size < SAMPLE_RATE]
    if short:
        raise InputError(f"enrolment clip(s) {short} for {name!r} are under a second long")
    embeddings = np.stack([embed_utterance(clip) for clip in clips])
    voiceprint = Voiceprint(
        name=name.strip(),
        slug=path.stem,
        embedding=unit(embeddings.mean(axis=0)).astype(np.float32),
        clip_embeddings=embeddings.astype(np.float32),
        enrolled_at=time.time(),
        seconds=sum(clip.size for clip in clips) / SAMPLE_RATE,
    )
    _save(path, voiceprint)
    return voiceprint


def list_voices(library_dir: str | Path) -> list[Voiceprint]:
    """Every voiceprint in the library, sorted by name (an absent folder is an empty library).

    Names starting with "." are skipped: they are another process's unfinished writes
    (``atomic_path`` temporaries), not voiceprints.
    """
    folder = Path(library_dir)
    if not folder.is_dir():
        return []
    paths = [path for path in folder.glob("*.npz") if not path.name.startswith(".")]
    prints = [load_voiceprint(path) for path in paths]
    return sorted(prints, key=lambda p: p.name.lower())


def get_voice(library_dir: str | Path, name: str) -> Voiceprint:
    """The voiceprint enrolled as ``name``; a clear error if there is none."""
    path = _path(library_dir, name)
    if not path.exists():
        known = ", ".join(p.name for p in list_voices(library_dir)) or "none"
        raise InputError(f"no voice named {name!r} is enrolled (enrolled: {known})", library_dir)
    return load_voiceprint(path)


def remove(library_dir: str | Path, name: str) -> None:
    """Delete ``name``'s voiceprint; unknown names are an error, not a silent no-op."""
    get_voice(library_dir, name)
    _path(library_dir, name).unlink()


def name_clusters(
    cluster_embeddings: dict[str, np.ndarray],
    voiceprints: list[Voiceprint],
    candidates: list[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, str]:
    """Map cluster labels to person names: one person per cluster, chosen jointly.

    ``candidates`` (the episode's listed speakers, matched case-insensitively by name or slug)
    restricts who may be named; ``None`` allows the whole library. The Hungarian algorithm
    maximises the total cosine similarity, and a pairing under ``threshold`` is dropped, leaving
    that cluster out of the result (the caller keeps its SPEAKER_xx label).
    """
    from scipy.optimize import linear_sum_assignment

    pool = _candidate_prints(voiceprints, candidates)
    labels = list(cluster_embeddings)
    if not labels or not pool:
        return {}
    similarity = similarity_matrix(cluster_embeddings, pool)
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    return {
        labels[r]: pool[c].name
        for r, c in zip(rows, cols, strict=True)
        if similarity[r, c] >= threshold
    }


def similarity_matrix(
    cluster_embeddings: dict[str, np.ndarray], voiceprints: Sequence[Voiceprint]
) -> np.ndarray:
    """Cosine similarity, clusters (rows, in dict order) x voiceprints (columns)."""
    clusters = np.stack(
        [unit(np.asarray(e, dtype=np.float64)) for e in cluster_embeddings.values()]
    )
    prints = np.stack([unit(p.embedding.astype(np.float64)) for p in voiceprints])
    return clusters @ prints.T


def _candidate_prints(
    voiceprints: Iterable[Voiceprint], candidates: list[str] | None
) -> list[Voiceprint]:
    prints = list(voiceprints)
    if candidates is None:
        return prints
    wanted = {slugify(c) for c in candidates}
    return [p for p in prints if p.slug in wanted or slugify(p.name) in wanted]


def cluster_embeddings(
    audio16k: np.ndarray,
    turns: Iterable[Turn],
    *,
    max_seconds: float = 120.0,
    min_turn: float = 1.0,
) -> dict[str, np.ndarray]:
    """One voice embedding per diarized speaker label, from that speaker's turns in the audio.

    Turns shorter than ``min_turn`` are skipped when longer ones exist (their edges are the
    least certain part of a diarization), and at most ``max_seconds`` of the longest turns
    are used, which bounds the cost on a long episode without losing accuracy.
    """
    audio = np.asarray(audio16k, dtype=np.float32).reshape(-1)
    by_speaker: dict[str, list[Turn]] = {}
    for t in turns:
        by_speaker.setdefault(t.speaker, []).append(t)
    result: dict[str, np.ndarray] = {}
    for speaker, spoken in by_speaker.items():
        ordered = sorted(spoken, key=lambda t: -t.duration)
        long_ones = [t for t in ordered if t.duration >= min_turn] or ordered
        chosen, total = [], 0.0
        for t in long_ones:
            if total >= max_seconds:
                break
            chosen.append(t)
            total += t.duration
        pieces = [
            audio[int(t.start * SAMPLE_RATE) : int(t.end * SAMPLE_RATE)]
            for t in sorted(chosen, key=lambda t: t.start)
        ]
        clip = np.concatenate(pieces) if pieces else audio[:0]
        if clip.size >= SAMPLE_RATE // 4:
            result[speaker] = embed_utterance(clip)
    return result


def clean_turns(
    spans: Sequence[tuple[float, float]],
    others: Sequence[tuple[float, float]],
    *,
    edge: float = 0.25,
    min_turn: float = 2.0,
    max_seconds: float = 120.0,
) -> list[tuple[float, float]]:
    """The longest of ``spans`` that overlap none of ``others``, edges trimmed, in time order.

    A turn's edges are where recognition and diarization are least sure who is talking, so
    ``edge`` seconds come off each end; what is left must be ``min_turn`` long, and at most
    ``max_seconds`` in all are kept (longest first), as ``cluster_embeddings`` does.
    """
    chosen: list[tuple[float, float]] = []
    total = 0.0
    for start, end in sorted(spans, key=lambda span: span[0] - span[1]):
        if any(start < other_end and other_start < end for other_start, other_end in others):
            continue
        start, end = start + edge, end - edge
        if end - start < min_turn or total >= max_seconds:
            continue
        chosen.append((start, end))
        total += end - start
    return sorted(chosen)


def enroll_from_episode(
    library_dir: str | Path,
    name: str,
    episode_dir: str | Path,
    speaker: str,
    *,
    edge: float = 0.25,
    min_turn: float = 2.0,
    max_seconds: float = 120.0,
) -> tuple[Voiceprint, int]:
    """Enrol ``name`` from ``speaker``'s turns in a published episode (``output/<episode>``).

    ``speaker`` is a name on the episode's paragraphs ("Speaker 2", "Jasmine Wark"; any case)
    or a speaker id. The audio is the episode's own MP3, the one file a published folder always
    holds, and episode.json's times are on its clock (content warning included), so no offset
    is needed. The raw recording would serve no better: on katie-steve the prints made from
    the MP3 and from the source recording over the same turns differ by under 0.01 in cosine
    similarity to the voices' separate enrolment recordings. Only clean turns are used
    (:func:`clean_turns`, which the keywords tune); each becomes one clip of the print, made by
    :func:`enroll` and so by whatever encoder it uses. Returns the print and the turns used.
    """
    from ..audio.decode import decode
    from ..transcript.model import WARNING_SPEAKER_ID, load_document

    folder = Path(episode_dir)
    document_file = folder / "episode.json"
    if not document_file.is_file():
        raise InputError("no episode.json here: not a published episode", folder,
                         "give the episode's output folder, e.g. output/<episode>")  # fmt: skip
    try:
        document = load_document(document_file)
    except ValueError as error:
        raise InputError(f"episode.json does not parse ({error})", document_file) from error
    people = [s for s in document.speakers if s.id != WARNING_SPEAKER_ID]
    wanted = speaker.strip().casefold()
    found = [s for s in people if wanted in (s.name.casefold(), s.id.casefold())]
    if not found:
        listed = ", ".join(repr(s.name) for s in people) or "none"
        raise InputError(f"no speaker {speaker!r} in this episode (speakers: {listed})",
                         document_file)  # fmt: skip
    who = found[0].id
    spans = [(s.start, s.end) for s in document.segments if s.speaker == who]
    others = [(s.start, s.end) for s in document.segments if s.speaker != who]
    turns = clean_turns(spans, others, edge=edge, min_turn=min_turn, max_seconds=max_seconds)
    if not turns:
        raise InputError(
            f"{found[0].name} has no turn of {min_turn:g} s or more that overlaps no one else",
            document_file,
            "enrol from clips instead: ppod voices enroll NAME clip.flac",
        )
    audio_file = folder / document.audio
    if not audio_file.is_file():
        raise InputError("the episode's MP3 is missing", audio_file, "process the episode again")
    audio = decode(audio_file, SAMPLE_RATE, 1).samples[0]
    clips = [audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)] for start, end in turns]
    return enroll(library_dir, name, clips), len(clips)
