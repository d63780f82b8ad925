"""Every published transcript format, rendered from the episode document and only from it.

Each ``render_*`` function is pure (document in, text out), so an editor's fix reaches every
output by re-rendering, and tests can check each format with its own parser. The caption formats
(WebVTT, SRT) share one cue builder: they differ only in line width, line count and how the
speaker is named, so the rules that matter (never across speakers, break at sentence ends, stay
inside the episode, never overlap) live in one place.

Times are on the published MP3's timeline already (see :mod:`ppod_audio.transcript.model`);
renderers only clamp them to the episode's duration.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ppod_audio.fileio import write_bytes
from ppod_audio.transcript.model import WARNING_SPEAKER_ID, EpisodeDocument, Segment
from ppod_audio.transcript.segments import ends_sentence, speaker_runs

# Podcasting 2.0 JSON transcript and chapters versions written (podcast namespace).
TRANSCRIPT_JSON_VERSION = "1.0.0"
CHAPTERS_JSON_VERSION = "1.2.0"

# What the content-warning segment is called when the document has no speaker entry for it.
WARNING_LABEL = "Content warning"

# WebVTT: Apple Podcasts ingests voice-tagged VTT; lines short enough for any player.
VTT_LINE_CHARS = 65
VTT_MAX_LINES = 2
# SRT for podcasts (podcast namespace transcripts spec): 2 lines of 32 characters at most.
SRT_LINE_CHARS = 32
SRT_MAX_LINES = 2
# A caption longer than this is hard to follow; cues break before it even mid-sentence.
CUE_MAX_SECONDS = 7.0
# A full cue is cut after the last of these in its second half rather than mid-clause.
_CLAUSE_ENDS = (",", ";", ":")
# A cue shorter than this flashes past unread: it is merged into a neighbour, or held longer.
CUE_MIN_SECONDS = 1.0
# Titles whose full stop never ends a sentence: a cue must not end on one ("Mr." | "Smith").
ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "rev.", "sr.", "jr.", "mt.", "vs.", "e.g.",
     "i.e.", "cllr.", "supt.", "insp.", "sgt.", "det."}
)  # fmt: skip
_INITIALS = re.compile(r"^(?:[A-HJ-Z]|(?:[A-Z]\.){1,}[A-Z])\.$")  # "J." "J.R." (not "I.")
# Words a caption line should not end on (the phrase goes on), and words a line may start with
# (a phrase starts): line breaks fall between phrases where the width allows.
_BINDS_FORWARD = frozenset(
    {"a", "an", "the", "to", "of", "in", "on", "at", "by", "for", "with", "from", "my", "our",
     "your", "their", "his", "her", "its", "this", "these", "those", "and", "or", "but", "very",
     "i", "we", "you", "they", "i'm", "we're", "it's", "that's", "is", "are", "was", "be"}
)  # fmt: skip
_STARTS_PHRASE = frozenset(
    {"and", "but", "or", "so", "because", "which", "who", "where", "when", "while", "if",
     "that", "to", "for", "with", "from", "in", "on", "about", "as", "than", "then", "although"}
)  # fmt: skip


# --- speakers ----------------------------------------------------------------------------------


def speaker_name(doc: EpisodeDocument, speaker_id: str | None) -> str:
    """The name printed for a speaker; the content warning gets a readable name, not its id."""
    if speaker_id == WARNING_SPEAKER_ID and all(s.id != speaker_id for s in doc.speakers):
        return WARNING_LABEL
    return doc.speaker_name(speaker_id)


def speaker_label(doc: EpisodeDocument, speaker_id: str | None) -> str:
    """``Name - Role`` for the house-style label line (the warning as in :func:`speaker_name`)."""
    if speaker_id == WARNING_SPEAKER_ID and all(s.id != speaker_id for s in doc.speakers):
        return WARNING_LABEL
    return doc.speaker_label(speaker_id)


# --- times -------------------------------------------------------------------------------------


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def _clamp(seconds: float, duration: float) -> float:
    return min(max(seconds, 0.0), duration)


def _seconds(seconds: float, duration: float) -> float:
    """A time for the JSON formats: inside the episode and rounded to the millisecond."""
    return round(_clamp(seconds, duration), 3)


def _clock(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _short_clock(seconds: float) -> str:
    """``MM:SS`` (``H:MM:SS`` past an hour), the HTML transcript's start-of-paragraph time."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


# --- timed tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """One published word with the time it is heard and its speaker."""

    text: str
    start: float
    end: float
    speaker: str | None


def _interpolate(
    texts: Sequence[str], start: float, end: float, speaker: str | None
) -> list[Token]:
    """Tokens spread over ``start``-``end`` in proportion to their length.

    For text without word timings (the content warning, or a paragraph an editor rewrote): the
    captions then still advance through the paragraph instead of showing it all at once.
    Not :func:`~ppod_audio.transcript.clean.spread`, which rounds each step to the millisecond
    stored in ``episode.json``: using it here moved about 3 % of such cues by 1 ms, and a
    re-render of an unchanged document must publish the same captions.
    """
    weights = [len(text) + 1 for text in texts]
    total = sum(weights) or 1
    tokens, elapsed = [], 0
    for text, weight in zip(texts, weights, strict=True):
        t0 = start + (end - start) * elapsed / total
        elapsed += weight
        tokens.append(Token(text, t0, start + (end - start) * elapsed / total, speaker))
    return tokens


def segment_tokens(segment: Segment) -> list[Token]:
    """The segment's published words, timed.

    The published text wins over the recognised words: when it still has one token per word
    (the usual case, or a fixed spelling) each token takes its word's times; otherwise (words
    added or removed by an editor, or no words at all) the text is spread over the segment.
    """
    texts = segment.text.split()
    if segment.words and len(segment.words) == len(texts):
        return [
            Token(text, word.start, word.end, segment.speaker)
            for text, word in zip(texts, segment.words, strict=True)
        ]
    return _interpolate(texts, segment.start, segment.end, segment.speaker)


def document_tokens(doc: EpisodeDocument) -> list[Token]:
    return [token for segment in doc.segments for token in segment_tokens(segment)]


# --- cues --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    """One caption: its speaker, its lines of plain text, and whether it opens a speaker turn.

    Lines are plain text; a renderer adds its own speaker marker (``prefix``, already counted in
    the first line's width) and escaping.
    """

    start: float
    end: float
    speaker: str | None
    lines: tuple[str, ...]
    prefix: str = ""


def _chunks(text: str, width: int, measure: Callable[[str], int]) -> list[str]:
    """``text`` cut into pieces that each fit ``width``: a URL must not overflow a caption line."""
    pieces, current = [], ""
    for char in text:
        if current and measure(current + char) > width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces


def _fit_tokens(tokens: Iterable[Token], width: int, measure: Callable[[str], int]) -> list[Token]:
    """Tokens with any one wider than a line split into timed pieces that fit."""
    fitted: list[Token] = []
    for token in tokens:
        if measure(token.text) <= width:
            fitted.append(token)
        else:
            pieces = _chunks(token.text, width, measure)
            fitted.extend(_interpolate(pieces, token.start, token.end, token.speaker))
    return fitted


def _pack_lines(
    texts: Sequence[str], indent: int, width: int, measure: Callable[[str], int]
) -> list[list[str]]:
    """Words filled greedily into lines of ``width``; the first line starts ``indent`` in (the
    speaker prefix). A word that does not fit after the prefix leaves the prefix on its own."""
    lines: list[list[str]] = [[]]
    for text in texts:
        used = indent if len(lines) == 1 else 0
        candidate = " ".join([*lines[-1], text])
        if used + measure(candidate) > width and (lines[-1] or used):
            lines.append([text])
        else:
            lines[-1].append(text)
    return lines


def _break_cost(before: str, after: str) -> float:
    """How badly a line break between two words splits a phrase (lower is better)."""
    word = before.lower().strip("\"'()")
    if before.endswith((".", "?", "!")) and not is_abbreviation(before):
        return 0.0
    if before.endswith(_CLAUSE_ENDS):
        return 1.0
    cost = 4.0
    if after.lower().strip("\"'(") in _STARTS_PHRASE:
        cost = 2.0
    if word in _BINDS_FORWARD:
        cost += 4.0
    if is_abbreviation(before):
        cost += 20.0  # "Mr." | "Smith"
    return cost


def _phrase_lines(
    texts: Sequence[str], indent: int, width: int, measure: Callable[[str], int]
) -> list[list[str]]:
    """Two lines broken between phrases where both still fit; otherwise the greedy fill.

    Subtitling practice (BBC, Netflix): break after punctuation or before a conjunction or
    preposition, never after an article or a title; among equally good breaks, the most even
    lines. Only two-line captions have a choice to make.
    """
    greedy = _pack_lines(texts, indent, width, measure)
    if len(greedy) != 2 or not greedy[0]:
        return greedy
    best: tuple[float, int] | None = None
    for cut in range(1, len(texts)):
        first, second = " ".join(texts[:cut]), " ".join(texts[cut:])
        if indent + measure(first) > width or measure(second) > width:
            continue
        balance = abs(indent + measure(first) - measure(second)) / width
        cost = _break_cost(texts[cut - 1], texts[cut]) + 3.0 * balance
        if best is None or cost < best[0]:
            best = (cost, cut)
    if best is None:
        return greedy
    return [list(texts[: best[1]]), list(texts[best[1] :])]


def is_abbreviation(text: str) -> bool:
    """A title or an initial: its full stop does not end a sentence ("Dr.", "J.", "J.R.")."""
    word = text.strip("\"'(")
    return word.lower() in ABBREVIATIONS or bool(_INITIALS.match(word))


def _sentence_end(text: str) -> bool:
    return ends_sentence(text) and not is_abbreviation(text)


def _clause_break(tokens: Sequence[Token]) -> int:
    """How many of a full cue's tokens to show now: up to its last clause end (a comma,
    semicolon or colon) in the cue's second half, else all of them but a trailing title or
    initial, which goes on with the name it belongs to.

    Breaking at a clause reads better and leaves fewer one-word orphan cues ("yourself?").
    """
    for count in range(len(tokens) - 1, (len(tokens) + 1) // 2 - 1, -1):
        if count and tokens[count - 1].text.endswith(_CLAUSE_ENDS):
            return count
    count = len(tokens)
    while count > 1 and is_abbreviation(tokens[count - 1].text):
        count -= 1
    return count


def _turn_groups(
    turn: Sequence[Token],
    fits: Callable[[Sequence[Token], bool], bool],
    max_seconds: float,
) -> list[list[Token]]:
    """One speaker's run of tokens cut into caption-sized groups (see :func:`build_cues`)."""
    groups: list[list[Token]] = []
    pending: list[Token] = []

    def no_room(token: Token) -> bool:
        too_long = token.end - pending[0].start > max_seconds
        return too_long or not fits([*pending, token], not groups)

    def close(count: int) -> None:
        groups.append(pending[:count])
        del pending[:count]

    for token in turn:
        if pending and no_room(token):
            close(_clause_break(pending))
            if pending and no_room(token):
                close(len(pending))
        pending.append(token)
        if _sentence_end(token.text):
            close(len(pending))
    if pending:
        close(len(pending))
    return _merge_short(groups, fits)


def _span(tokens: Sequence[Token]) -> float:
    return max(t.end for t in tokens) - tokens[0].start


def _merge_short(
    groups: list[list[Token]], fits: Callable[[Sequence[Token], bool], bool]
) -> list[list[Token]]:
    """Groups shown for under :data:`CUE_MIN_SECONDS` joined to a neighbour where the lines
    allow: "Lovely." (0.4 s) goes with the sentence after it rather than flashing alone.
    The shorter neighbour is tried first, so merged cues stay short."""
    groups = [list(g) for g in groups]
    index = 0
    while index < len(groups):
        group = groups[index]
        if _span(group) >= CUE_MIN_SECONDS or len(groups) == 1:
            index += 1
            continue
        options = []
        if index + 1 < len(groups):
            options.append((_span(groups[index + 1]), index, index + 1))
        if index > 0:
            options.append((_span(groups[index - 1]), index - 1, index))
        for _, first, second in sorted(options):
            merged = groups[first] + groups[second]
            if fits(merged, first == 0):
                groups[first : second + 1] = [merged]
                index = first
                break
        else:
            _borrow(groups, index, fits)
            index += 1
    return groups


def _borrow(
    groups: list[list[Token]], index: int, fits: Callable[[Sequence[Token], bool], bool]
) -> None:
    """A short group that fits with neither neighbour takes the fewest words from the end of
    the one before ("about" + "it.") until it lasts a second, if both still fit and the one
    before keeps a second of its own and does not end on a title."""
    if index == 0:
        return
    before, group = groups[index - 1], groups[index]
    for count in range(1, len(before)):
        moved = before[-count:] + group
        kept = before[:-count]
        if is_abbreviation(kept[-1].text) or not fits(moved, False):
            continue
        if not fits(kept, index - 1 == 0) or _span(kept) < CUE_MIN_SECONDS:
            return
        if _span(moved) >= CUE_MIN_SECONDS:
            groups[index - 1], groups[index] = kept, moved
            return


def _turn_cues(
    turn: Sequence[Token],
    width: int,
    max_lines: int,
    max_seconds: float,
    prefix: Callable[[str | None, bool], str],
    measure: Callable[[str], int],
) -> list[Cue]:
    """One speaker's run of tokens as cues: grouped, short groups merged, lines broken."""
    speaker = turn[0].speaker

    def fits(tokens: Sequence[Token], first: bool) -> bool:
        marker = prefix(speaker, first)
        lines = _pack_lines([t.text for t in tokens], len(marker), width, measure)
        return len(lines) <= max_lines

    cues: list[Cue] = []
    for number, shown in enumerate(_turn_groups(turn, fits, max_seconds)):
        marker = prefix(speaker, number == 0)
        lines = _phrase_lines([t.text for t in shown], len(marker), width, measure)
        cues.append(
            Cue(
                start=shown[0].start,
                end=max(t.end for t in shown),
                speaker=speaker,
                lines=tuple(" ".join(words) for words in lines),
                prefix=marker,
            )
        )
    return cues


def build_cues(
    doc: EpisodeDocument,
    *,
    width: int,
    max_lines: int,
    max_seconds: float = CUE_MAX_SECONDS,
    prefix: Callable[[str | None, bool], str] = lambda speaker, first: "",
    measure: Callable[[str], int] = len,
) -> list[Cue]:
    """Caption cues for the whole document, shared by every caption format.

    Cues never span two speakers; within a speaker's turn a cue ends at a sentence end, before it
    would last longer than ``max_seconds``, or when its text fills ``max_lines`` lines of
    ``width`` characters — but never after a title or an initial ("Mr." | "Smith"), and a cue
    that would show for under a second is merged into a neighbour of the same speaker where the
    lines allow (else held on screen longer, see :func:`_hold_short`). Two-line cues break
    between phrases (:func:`_phrase_lines`). ``prefix(speaker, first_of_turn)`` is the speaker
    marker a format puts at the start of a cue (``"Name: "``, ``"<v Name>"``); it counts toward
    the first line's width. ``measure`` is how wide text is once rendered (escaping can lengthen
    it). Times are then made safe for players: see :func:`_settle_times`.
    """
    tokens = _fit_tokens(document_tokens(doc), width, measure)
    cues = [
        cue
        for turn in speaker_runs(tokens)
        for cue in _turn_cues(turn, width, max_lines, max_seconds, prefix, measure)
    ]
    return _hold_short(_settle_times(cues, doc.duration), doc.duration)


def _replace(cue: Cue, **changes: object) -> Cue:
    fields = {**cue.__dict__, **changes}
    return Cue(**fields)  # type: ignore[arg-type]


def _settle_times(cues: Sequence[Cue], duration: float) -> list[Cue]:
    """Cue times inside ``[0, duration]``, strictly increasing and never overlapping.

    Word times can overlap or run past the end of the file (recognition jitter, a trimmed tail);
    players reject or garble such captions. Work in whole milliseconds, as written, so rounding
    cannot reintroduce an overlap: a forward pass pushes each cue after the previous one, a
    backward pass pulls the tail inside the episode. Every cue keeps at least 1 ms.
    """
    limit = _ms(duration)
    spans: list[list[int]] = []
    previous_end = 0
    for cue in cues:
        start = max(_ms(cue.start), previous_end, 0)
        end = max(_ms(cue.end), start + 1)
        spans.append([start, end])
        previous_end = end
    for span in reversed(spans):
        span[1] = min(span[1], limit)
        span[0] = min(span[0], span[1] - 1)
        limit = span[0]
    if spans and spans[0][0] < 0:
        raise ValueError("more captions than milliseconds in the episode")
    return [
        _replace(cue, start=start / 1000, end=end / 1000)
        for cue, (start, end) in zip(cues, spans, strict=True)
    ]


def _hold_short(cues: Sequence[Cue], duration: float) -> list[Cue]:
    """Cues still under :data:`CUE_MIN_SECONDS` (a one-word turn between two speakers) held on
    screen for a second where the gaps around them allow: their end moves into the silence
    after them, then their start into the silence before. Settled times stay settled."""
    spans = [[_ms(c.start), _ms(c.end)] for c in cues]
    minimum = _ms(CUE_MIN_SECONDS)
    for index, span in enumerate(spans):
        if span[1] - span[0] >= minimum:
            continue
        limit = spans[index + 1][0] if index + 1 < len(spans) else _ms(duration)
        span[1] = max(span[1], min(limit, span[0] + minimum))
        floor = spans[index - 1][1] if index else 0
        span[0] = min(span[0], max(floor, span[1] - minimum))
        # Still short (neighbours close on both sides): borrow from a neighbour that can spare
        # it, the next one starting later and the one before leaving earlier.
        if index + 1 < len(spans):
            after = spans[index + 1]
            spare = min(minimum - (span[1] - span[0]), after[1] - after[0] - minimum)
            if spare > 0 and after[0] == span[1]:
                after[0] += spare
                span[1] += spare
        if index > 0:
            before = spans[index - 1]
            spare = min(minimum - (span[1] - span[0]), before[1] - before[0] - minimum)
            if spare > 0 and before[1] == span[0]:
                before[1] -= spare
                span[0] -= spare
    return [
        _replace(cue, start=start / 1000, end=end / 1000)
        for cue, (start, end) in zip(cues, spans, strict=True)
    ]


# --- caption formats ---------------------------------------------------------------------------


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_measure(text: str) -> int:
    return len(_vtt_escape(text))


def render_vtt(doc: EpisodeDocument) -> str:
    """WebVTT with a ``<v Name>`` voice tag on every cue (Apple Podcasts reads speakers from
    them). Each written line, tag and escapes included, is at most 65 characters."""

    def voice(speaker: str | None, first: bool) -> str:
        return f"<v {_vtt_escape(speaker_name(doc, speaker))}>" if speaker else ""

    cues = build_cues(
        doc, width=VTT_LINE_CHARS, max_lines=VTT_MAX_LINES, prefix=voice, measure=_vtt_measure
    )
    blocks = ["WEBVTT"]
    for cue in cues:
        lines = [_vtt_escape(line) for line in cue.lines]
        lines[0] = cue.prefix + lines[0]
        timing = f"{_clock(_ms(cue.start), '.')} --> {_clock(_ms(cue.end), '.')}"
        blocks.append("\n".join([timing, *lines]))
    return "\n\n".join(blocks) + "\n"


def render_srt(doc: EpisodeDocument) -> str:
    """SRT as the podcast namespace asks: at most 2 lines of 32 characters, and ``Name:`` opening
    the first cue after each change of speaker (counted in the 32)."""

    def name(speaker: str | None, first: bool) -> str:
        return f"{speaker_name(doc, speaker)}: " if first and speaker else ""

    cues = build_cues(doc, width=SRT_LINE_CHARS, max_lines=SRT_MAX_LINES, prefix=name)
    blocks = []
    for index, cue in enumerate(cues, start=1):
        lines = list(cue.lines)
        lines[0] = (cue.prefix + lines[0]).rstrip()
        timing = f"{_clock(_ms(cue.start), ',')} --> {_clock(_ms(cue.end), ',')}"
        blocks.append("\n".join([str(index), timing, *lines]))
    return "\n\n".join(blocks) + "\n" if blocks else ""


# --- paragraph formats -------------------------------------------------------------------------


def _labelled_paragraphs(doc: EpisodeDocument) -> list[tuple[str, list[str]]]:
    """(label, paragraphs) per speaker turn: consecutive segments of one speaker share a label."""
    groups: list[tuple[str | None, list[str]]] = []
    for segment in doc.segments:
        if groups and groups[-1][0] == segment.speaker:
            groups[-1][1].append(segment.text)
        else:
            groups.append((segment.speaker, [segment.text]))
    # Undiarized text (``ppod transcribe``) has no speaker and gets no label line.
    return [(speaker_label(doc, s) if s else "", paragraphs) for s, paragraphs in groups]


def _txt_body(doc: EpisodeDocument) -> str:
    blocks = [
        "\n\n".join([label, *paragraphs] if label else paragraphs)
        for label, paragraphs in _labelled_paragraphs(doc)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def txt_header_lines(doc: EpisodeDocument) -> list[str]:
    """The house-style header, made from metadata: folding the text file back must recognise
    (and skip) exactly these lines, so they are made in one place."""
    info = doc.episode
    lines = [info.show, info.title]
    if info.season is not None and info.number is not None:
        lines.append(f"Season {info.season} Episode {info.number}")
    lines.append("Transcript")
    return lines


def _txt_header(doc: EpisodeDocument) -> str:
    return "\n\n".join(txt_header_lines(doc)) + "\n\n"


def render_txt(doc: EpisodeDocument, *, header: bool = True) -> str:
    """The house style of the published transcripts: a ``Name - Role`` line, a blank line, the
    paragraph, a blank line; a speaker's consecutive paragraphs under one label."""
    return (_txt_header(doc) if header else "") + _txt_body(doc)


def render_lyrics(doc: EpisodeDocument) -> str:
    """The MP3's USLT (unsynchronised lyrics) text: the house-style body without the header,
    which the ID3 title and album frames already carry."""
    return render_txt(doc, header=False)


def render_html(doc: EpisodeDocument) -> str:
    """Podcasting 2.0 HTML transcript: ``<cite>``, ``<time>`` and ``<p>`` per segment, in a small
    complete document so it also opens in a browser."""
    info = doc.episode
    title = html.escape(f"{info.show}: {info.title} (transcript)", quote=False)
    body = []
    for segment in doc.segments:
        name = html.escape(speaker_name(doc, segment.speaker), quote=False)
        start = _clamp(segment.start, doc.duration)
        body.append(
            f"<cite>{name}:</cite>\n<time>{_short_clock(start)}</time>\n"
            f"<p>{html.escape(segment.text, quote=False)}</p>"
        )
    return (
        f'<!DOCTYPE html>\n<html lang="{html.escape(info.language)}">\n<head>\n'
        f'<meta charset="utf-8">\n<title>{title}</title>\n</head>\n<body>\n'
        + "\n".join(body)
        + ("\n" if body else "")
        + "</body>\n</html>\n"
    )


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def render_transcript_json(doc: EpisodeDocument) -> str:
    """Podcasting 2.0 JSON transcript, one entry per paragraph segment (times in seconds)."""
    segments = [
        {
            "speaker": speaker_name(doc, segment.speaker),
            "startTime": _seconds(segment.start, doc.duration),
            "endTime": _seconds(max(segment.end, segment.start), doc.duration),
            "body": segment.text,
        }
        for segment in doc.segments
    ]
    return _json({"version": TRANSCRIPT_JSON_VERSION, "segments": segments})


def render_chapters_json(doc: EpisodeDocument) -> str:
    """Podcasting 2.0 JSON chapters from ``doc.chapters``, sorted, ``endTime`` where known."""
    chapters = []
    for chapter in sorted(doc.chapters, key=lambda c: c.start):
        entry: dict[str, object] = {
            "startTime": _seconds(chapter.start, doc.duration),
            "title": chapter.title,
        }
        if chapter.end is not None:
            entry["endTime"] = _seconds(max(chapter.end, chapter.start), doc.duration)
        chapters.append(entry)
    return _json({"version": CHAPTERS_JSON_VERSION, "chapters": chapters})


# --- writing -----------------------------------------------------------------------------------

Renderer = Callable[[EpisodeDocument], str]

# Format name -> (file-name suffix after the stem, renderer).
RENDERERS: dict[str, tuple[str, Renderer]] = {
    "txt": (".txt", render_txt),
    "vtt": (".vtt", render_vtt),
    "srt": (".srt", render_srt),
    "html": (".html", render_html),
    "json": (".transcript.json", render_transcript_json),
    "chapters": (".chapters.json", render_chapters_json),
    "lyrics": (".lyrics.txt", render_lyrics),
}


def write_all(
    doc: EpisodeDocument, folder: str | Path, stem: str, formats: Iterable[str] | None = None
) -> dict[str, Path]:
    """Render and write every format (or those named) as ``<folder>/<stem><suffix>``.

    All formats are rendered before the first file is written, so a rendering error leaves the
    previous outputs as they were; each file is written atomically (temporary file beside it,
    fsync, rename: :func:`ppod_audio.fileio.write_bytes`), as bytes so that no platform rewrites
    the newlines. Returns the path written per format name.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(RENDERERS) if formats is None else list(formats)
    rendered = {name: RENDERERS[name][1](doc) for name in names}
    paths = {}
    for name, text in rendered.items():
        path = folder / f"{stem}{RENDERERS[name][0]}"
        write_bytes(path, text.encode("utf-8"))
        paths[name] = path
    return paths
