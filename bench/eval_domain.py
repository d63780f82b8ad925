"""The show's own words: WER, term recall and precision, shading and captions on the domain set.

    python bench/make_domain_set.py                       # once: renders build/domain-set
    python bench/eval_domain.py [--model base] [--prompt none|hotwords] [--split dev|eval|all]
                                [--generic] [--misses] [--redecode] [--shading-table]
                                [--documents episode.json ...]

For every passage of the domain set (the seed transcript's passages spoken by espeak-ng voices,
see ``make_domain_set.py``) it recognises the audio with :func:`ppod_audio.speech.transcribe`
and scores three texts against the reference:

  raw      the recogniser's words
  before   cleaned as before this change: fillers, repeats, the glossary's replacements
  after    cleaned as the pipeline now does (``transcript.document.clean_options``): the glossary,
           then vocabulary correction against the cast's names and the glossary's terms, then
           the show's house spelling (en-GB)
  unsure   (``--redecode``) the recogniser's unsure stretches heard again with the terms as
           hotwords (``ppod_audio.speech.redecode``, ``[speech] prompt = "unsure"``), then
           cleaned as "after"; its words are the ones shading and captions are scored on

and prints, per split:

* WER of each;
* the show's terms (the cast's names, first names and surnames; the glossary's terms,
  replacement targets and acronyms): **recall** — the share of term occurrences in the
  reference that the text has, aligned, word for word — and **precision** — the share of term
  occurrences in the text that are aligned to the same words of the reference. A correction
  that writes a term where it was not said counts against precision;
* the vocabulary corrections made, right (the word it wrote is the reference's) or wrong;
* word-confidence shading: the share of the errors left in the last text that a signal shades,
  and the share of correct words it shades, for plain probability, the editor's rule before
  and the one chosen (``transcript/confidence.py``); ``--shading-table`` prints every
  candidate signal it was chosen against, on the dev passages only;
* captions: cues under 1 s and cues ending on a title or initial, for the domain passages laid
  out as an episode, and for any ``--documents`` given (e.g. the demo's published episode.json).

``--misses`` prints, under each missed term, the words heard around it with their probabilities
(and what a correction replaced), to sort the misses by cause.

``--generic`` adds the shared real speech (``../shared/data``, dev and eval files of
``eval_wer.py``): WER raw / before / after, so nothing is bought on the show's words by losing
on ordinary speech. eval figures are for reporting only, never for choosing settings.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_wer import OUT_OF_TOTALS, SPLITS, data_root, normalise, reference  # noqa: E402

DOMAIN = REPO / "build" / "domain-set"
SYSTEMS = ["raw", "before", "after"]  # + "unsure" with --redecode
SHADE_THRESHOLD = 0.6  # the editor's REVIEW_THRESHOLD


@dataclass
class Scored:
    """One recognised file: its reference, each system's text and the "after" words."""

    name: str
    split: str
    speaker: str | None
    seconds: float
    decode_seconds: float
    reference: str
    texts: dict[str, str]
    words: list = field(default_factory=list)  # the "after" Words


# --- terms -------------------------------------------------------------------------------------


def shading_setup(model: str, **options):  # type: ignore[no-untyped-def]
    """What the shading benches recognise and score the domain set with: text cleaning
    (``domain_setup``), the recogniser's options (the glossary's terms, no prompt, CPU, plus
    ``options``) and the show's words as the shading rule exempts them."""
    from ppod_audio.speech.transcribe import TranscribeOptions
    from ppod_audio.transcript.confidence import known_words

    _, _, cleaning = domain_setup()
    after = cleaning["after"]
    assert after.glossary is not None
    recognition = TranscribeOptions(
        model=model, terms=after.glossary.terms, prompt="none", device="cpu", **options
    )
    return cleaning, recognition, known_words([e.text for e in after.vocabulary.entries])


def domain_setup():  # type: ignore[no-untyped-def]
    """The show, the domain set's cast as an episode, and text cleaning without (``before``)
    and with (``after``) vocabulary correction: what every domain bench scores against."""
    from ppod_audio.config import EpisodeManifest, SpeakerEntry, load_show
    from ppod_audio.transcript.clean import CleanOptions
    from ppod_audio.transcript.document import clean_options

    listing = json.loads((DOMAIN / "passages.json").read_text(encoding="utf-8"))
    show = load_show(REPO / "raw_audio")
    manifest = EpisodeManifest(
        title="Domain set", speakers=[SpeakerEntry(**person) for person in listing["cast"]]
    )
    after = clean_options(show, manifest)
    return show, manifest, {"before": CleanOptions(glossary=after.glossary), "after": after}


def term_list(vocabulary) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """Every name and term as normalised word tuples, longest first."""
    terms = {tuple(normalise(entry.text).split()) for entry in vocabulary.entries}
    return sorted((t for t in terms if t), key=lambda t: (-len(t), t))


def _is(word: str, term_word: str) -> bool:
    return word in (term_word, term_word + "s", term_word + "es") or (
        term_word.endswith("y") and word == term_word[:-1] + "ies"
    )


def occurrences(tokens: list[str], terms: list[tuple[str, ...]]) -> list[tuple[int, int]]:
    """Spans of term occurrences in ``tokens``, longest match first, never overlapping."""
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(tokens):
        for term in terms:
            size = len(term)
            window = tokens[index : index + size]
            if len(window) == size and all(_is(w, t) for w, t in zip(window, term, strict=True)):
                spans.append((index, index + size))
                index += size
                break
        else:
            index += 1
    return spans


def alignment(ref: list[str], hyp: list[str], equal_only: bool = True) -> dict[int, int]:
    """Ref index -> hyp index for the words the WER alignment pairs (equal ones, or also
    substituted ones when ``equal_only`` is False)."""
    import jiwer

    out = jiwer.process_words(" ".join(ref) or "x", " ".join(hyp) or "x")
    pairs: dict[int, int] = {}
    for chunk in out.alignments[0]:
        if chunk.type == "equal" or (chunk.type == "substitute" and not equal_only):
            for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
                pairs[chunk.ref_start_idx + k] = chunk.hyp_start_idx + k
    return pairs


def term_misses(reference_text: str, text: str, terms: list[tuple[str, ...]]) -> list[str]:
    """Each term of the reference the text does not have, as "said -> written" (the words the
    alignment pairs with it), and each term the text has where the reference does not."""
    ref, hyp = normalise(reference_text).split(), normalise(text).split()
    ref_to_hyp = alignment(ref, hyp, equal_only=False)
    hyp_to_ref = {h: r for r, h in ref_to_hyp.items()}
    out = []
    for a, b in occurrences(ref, terms):
        term = _term_at(ref[a:b], terms)
        if not all(k in ref_to_hyp and _is(hyp[ref_to_hyp[k]], term[k - a]) for k in range(a, b)):
            heard = " ".join(hyp[ref_to_hyp[k]] if k in ref_to_hyp else "_" for k in range(a, b))
            out.append(f"missed {' '.join(ref[a:b])!r} <- {heard!r}")
    for a, b in occurrences(hyp, terms):
        term = _term_at(hyp[a:b], terms)
        if not all(k in hyp_to_ref and _is(ref[hyp_to_ref[k]], term[k - a]) for k in range(a, b)):
            said = " ".join(ref[hyp_to_ref[k]] if k in hyp_to_ref else "_" for k in range(a, b))
            out.append(f"WRONG  {' '.join(hyp[a:b])!r} where {said!r} was said")
    return out


def term_counts(
    reference_text: str, text: str, terms: list[tuple[str, ...]]
) -> tuple[int, int, int, int]:
    """(recalled, in reference, right, in text) for one file.

    A term occurrence is right when every one of its words is aligned to the same word of the
    term on the other side; the number may differ ("CSPR" for "CSPRs": the term is right, the
    plural is a WER error like any other).
    """
    ref, hyp = normalise(reference_text).split(), normalise(text).split()
    ref_to_hyp = alignment(ref, hyp, equal_only=False)
    hyp_to_ref = {h: r for r, h in ref_to_hyp.items()}

    def same(a: str, b: str, term_word: str) -> bool:
        return _is(a, term_word) and _is(b, term_word)

    recalled = right = 0
    ref_spans, hyp_spans = occurrences(ref, terms), occurrences(hyp, terms)
    for a, b in ref_spans:
        term = _term_at(ref[a:b], terms)
        recalled += all(
            k in ref_to_hyp and same(ref[k], hyp[ref_to_hyp[k]], term[k - a]) for k in range(a, b)
        )
    for a, b in hyp_spans:
        term = _term_at(hyp[a:b], terms)
        right += all(
            k in hyp_to_ref and same(hyp[k], ref[hyp_to_ref[k]], term[k - a]) for k in range(a, b)
        )
    return recalled, len(ref_spans), right, len(hyp_spans)


def _term_at(tokens: list[str], terms: list[tuple[str, ...]]) -> tuple[str, ...]:
    return next(t for t in terms if len(t) == len(tokens) and all(map(_is, tokens, t)))


# --- recognition -------------------------------------------------------------------------------


def domain_files(split: str) -> list[tuple[Path, str, str]]:
    listing = json.loads((DOMAIN / "passages.json").read_text(encoding="utf-8"))
    return [
        (DOMAIN / p["split"] / f"{p['name']}.wav", p["split"], p["speaker"])
        for p in listing["passages"]
        if split in ("all", p["split"])
    ]


def recognise(path: Path, split: str, speaker: str | None, ref: str, options, cleaning) -> Scored:  # type: ignore[no-untyped-def]
    from ppod_audio.audio.decode import decode
    from ppod_audio.transcript.clean import clean_words

    audio = decode(path, 16000, 1).samples[0]
    words, decode_seconds = _recognised(path, audio, options)
    words = [w.model_copy(update={"speaker": speaker}) for w in words]
    if _hear_again:  # as speech/stage.py: the doubted words heard again before cleaning
        from ppod_audio.speech.recheck import hear_again, hearer, marked
        from ppod_audio.transcript.confidence import known_words

        known = known_words([e.text for e in cleaning["after"].vocabulary.entries])
        began = time.perf_counter()
        words = hear_again(audio, words, marked(words, known),
                           _cached_hearer(path, options, hearer(options), "recheck"))  # fmt: skip
        decode_seconds += time.perf_counter() - began
    texts = {"raw": " ".join(w.text for w in words)}
    after: list = []
    for system, clean in cleaning.items():
        cleaned = clean_words(words, clean)
        texts[system] = " ".join(w.text for w in cleaned)
        if system == "after":
            after = cleaned
    if _redecode:
        from ppod_audio.speech.redecode import redecode_terms

        began = time.perf_counter()
        again, log = redecode_terms(audio, words, options, cleaning["after"].vocabulary,
                                    hear=_cached_hearer(path, options))  # fmt: skip
        decode_seconds += time.perf_counter() - began
        for entry in log:
            wrote = f" (wrote {entry.written!r})" if entry.kept else ""
            print(f"  redecode {path.stem}: {'KEPT' if entry.kept else 'kept not'} "
                  f"{entry.heard!r}, heard again {entry.again!r}{wrote}")  # fmt: skip
        after = clean_words(again, cleaning["after"])
        texts["unsure"] = " ".join(w.text for w in after)
    return Scored(path.stem, split, speaker, audio.shape[0] / 16000, decode_seconds, ref, texts,
                  after)  # fmt: skip


CACHE = REPO / "build" / "domain-cache"
_use_cache = True
_redecode = False
_hear_again = False
_details = False


def _recognised(path: Path, audio, options) -> tuple[list, float]:  # type: ignore[no-untyped-def]
    """The recogniser's words for ``path`` and the seconds they took, cached per model and
    prompt under ``build/domain-cache`` (keyed by the file's size and mtime), so re-scoring
    after a change to the text post-processing does not recognise again (``--no-cache``
    recognises afresh)."""
    from ppod_audio.speech.transcribe import transcribe
    from ppod_audio.transcript.model import Word

    stat = path.stat()
    model = str(options.model).replace("/", "_")
    beam = getattr(options, "beam_size", "")
    kept = getattr(options, "hypotheses", 1)
    beam = f"{beam}-h{kept}" if kept > 1 else beam  # more hypotheses: words record disputes
    where = CACHE / f"{model}-{options.prompt}-{beam}" / f"{path.parent.name}-{path.stem}.json"
    stamp = [stat.st_size, stat.st_mtime_ns]
    if _use_cache and where.is_file():
        saved = json.loads(where.read_text(encoding="utf-8"))
        if saved["stamp"] == stamp:
            return [Word(**w) for w in saved["words"]], saved["seconds"]
    began = time.perf_counter()
    result = transcribe(audio, options)
    seconds = time.perf_counter() - began
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text(json.dumps({"stamp": stamp, "seconds": seconds,
                                 "words": [w.model_dump() for w in result.words]}))  # fmt: skip
    return list(result.words), seconds


def _cached_hearer(path: Path, options, hear=None, what: str = "redecode"):  # type: ignore[no-untyped-def]
    """redecode's ``hear`` (or the given one, ``what`` naming it), its windows' words cached
    beside the recognition cache."""
    import hashlib

    from ppod_audio.speech.redecode import _hearer
    from ppod_audio.transcript.model import Word

    hear = hear or _hearer(options)
    model = str(options.model).replace("/", "_")
    folder = CACHE / f"{model}-{what}-{options.beam_size}"

    def cached(window) -> list:  # type: ignore[no-untyped-def]
        digest = hashlib.sha1(window.tobytes()).hexdigest()[:16]
        where = folder / f"{path.parent.name}-{path.stem}-{digest}.json"
        if _use_cache and where.is_file():
            return [Word(**w) for w in json.loads(where.read_text(encoding="utf-8"))]
        words = hear(window)
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(json.dumps([w.model_dump() for w in words]))
        return words

    return cached


def wer(rows: list[Scored], system: str) -> float:
    import jiwer

    return jiwer.wer(
        [normalise(r.reference) for r in rows], [normalise(r.texts[system]) or "x" for r in rows]
    )


# --- shading -----------------------------------------------------------------------------------


def shading_signals(known: frozenset[str], every_word: frozenset[str]) -> dict[str, object]:
    """The shading signals compared on dev (``--shading-table``), each ``(words, i) -> bool``.

    ``known`` is the show's words as the editor exempts them; ``every_word`` also has the short
    lower-case words joining a longer term ("and"), as the rule before exempted them. The
    chosen rule is ``ppod_audio.transcript.confidence.needs_review``; the others are what it
    was chosen against (each line adds or removes one thing).
    """
    from ppod_audio.transcript.confidence import NEIGHBOUR_LOW, key
    from ppod_audio.transcript.confidence import needs_review as rule

    def near(ws: list, i: int) -> list[float]:  # type: ignore[type-arg]
        return [_p(w) for w in (*ws[max(i - 1, 0) : i], *ws[i + 1 : i + 2])]

    def own(ws: list, i: int) -> bool:  # type: ignore[type-arg]
        return ws[i].probability is None or ws[i].original is not None or key(ws[i].text) in known

    plain: dict[tuple[int, bool], list] = {}  # type: ignore[type-arg]

    def undisputed(ws: list, disputes: bool = False) -> list:  # type: ignore[type-arg]
        """The words as an older document has them: heard once, and (unless ``disputes``) no
        runner-up disputes recorded, so every line but the last two scores the rules as they
        were before disputes."""
        if (id(ws), disputes) not in plain:
            update = {"heard_again": None} | ({} if disputes else {"disputed": None})
            plain[(id(ws), disputes)] = [w.model_copy(update=update) for w in ws]
        return plain[(id(ws), disputes)]

    rule_as_it_is = rule

    def rule(ws: list, i: int, *args, **kwargs) -> bool:  # type: ignore[no-redef, type-arg]
        return rule_as_it_is(undisputed(ws), i, *args, **kwargs)

    def rule_with_disputes(ws: list, i: int, known: frozenset[str]) -> bool:  # type: ignore[type-arg]
        return rule_as_it_is(undisputed(ws, disputes=True), i, known)

    return {
        "probability < 0.6": lambda ws, i: _p(ws[i]) < SHADE_THRESHOLD,
        "probability < 0.4": lambda ws, i: _p(ws[i]) < 0.4,
        "min with neighbours < 0.6": lambda ws, i: min(near(ws, i) + [_p(ws[i])]) < SHADE_THRESHOLD,
        "probability or corrected": lambda ws, i: (
            _p(ws[i]) < SHADE_THRESHOLD or ws[i].original is not None
        ),
        "rule before (neighbour, all term words)": lambda ws, i: rule(ws, i, every_word, bridge=0),
        " + joining words ordinary": lambda ws, i: rule(ws, i, known, bridge=0),
        " + between two unsure (rule before disputes)": lambda ws, i: rule(ws, i, known),
        " + runner-up disputes": lambda ws, i: rule_with_disputes(ws, i, known),
        " + second hearing (CHOSEN; no hearing: as above)": lambda ws, i: rule_as_it_is(
            ws, i, known
        ),
        " before disputes, all term words exempt": lambda ws, i: rule(ws, i, every_word),
        " before disputes + beside < 0.4 to 0.9": lambda ws, i: (
            rule(ws, i, known)
            or (
                not own(ws, i) and _p(ws[i]) < 0.9 and min(near(ws, i), default=1.0) < NEIGHBOUR_LOW
            )
        ),
        " before disputes + short word (<= 3) < 0.7": lambda ws, i: (
            rule(ws, i, known) or (not own(ws, i) and len(key(ws[i].text)) <= 3 and _p(ws[i]) < 0.7)
        ),
        " before disputes + threshold 0.65": lambda ws, i: rule(ws, i, known, threshold=0.65),
    }


REPORTED = ("probability < 0.6", "rule before (neighbour, all term words)",
            " + between two unsure (rule before disputes)",
            " + runner-up disputes",
            " + second hearing (CHOSEN; no hearing: as above)")  # fmt: skip


def shading(
    rows: list[Scored], signals: dict[str, object]
) -> dict[str, tuple[float, float, int, int]]:
    """Per signal: (share of error words shaded, share of correct words shaded, errors, correct).

    A word of the "after" text is an error when the WER alignment does not pair it with an equal
    reference word (a substitution or an insertion); deletions have no word to shade.
    """
    totals = {name: [0, 0] for name in signals}
    errors = correct = 0
    for row in rows:
        ref = normalise(row.reference).split()
        words = row.words
        # Align word by word: each Word normalises to zero or more tokens.
        tokens: list[int] = []  # token -> word index
        for index, word in enumerate(words):
            tokens += [index] * len(normalise(word.text).split())
        hyp = [t for w in words for t in normalise(w.text).split()]
        hyp_to_ref = {h: r for r, h in alignment(ref, hyp).items()}
        wrong = {tokens[k] for k in range(len(hyp)) if k not in hyp_to_ref}
        for index in range(len(words)):
            if not normalise(words[index].text):
                continue
            is_error = index in wrong
            errors += is_error
            correct += not is_error
            for name, signal in signals.items():
                if signal(words, index):  # type: ignore[operator]
                    totals[name][0 if is_error else 1] += 1
    return {
        name: (hit / max(errors, 1), false / max(correct, 1), errors, correct)
        for name, (hit, false) in totals.items()
    }


def _p(word) -> float:  # type: ignore[no-untyped-def]
    return 1.0 if word.probability is None else word.probability


# --- captions ----------------------------------------------------------------------------------


def caption_faults(document) -> dict[str, tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    """Per caption format: (cues, cues under 1 s, cues ending on a title or an initial)."""
    from ppod_audio.transcript.formats import is_abbreviation, render_srt, render_vtt

    faults = {}
    for name, text in (("vtt", render_vtt(document)), ("srt", render_srt(document))):
        cues = short = split = 0
        for block in text.strip().split("\n\n"):
            lines = block.split("\n")
            timing = next((line for line in lines if "-->" in line), None)
            if timing is None:
                continue
            start, end = (_clock(part.strip()) for part in timing.split("-->"))
            body = lines[lines.index(timing) + 1 :]
            words = re.sub(r"<[^>]+>", "", " ".join(body)).split()
            cues += 1
            short += end - start < 1.0
            split += bool(words) and is_abbreviation(words[-1])
        faults[name] = (cues, short, split)
    return faults


def _clock(stamp: str) -> float:
    hours, minutes, seconds = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def domain_document(rows: list[Scored]):  # type: ignore[no-untyped-def]
    """The passages' "after" words laid end to end (1 s apart) as one episode."""
    from ppod_audio.transcript.model import EpisodeDocument, EpisodeInfo, Speaker
    from ppod_audio.transcript.segments import build_segments

    words, offset = [], 0.0
    for row in rows:
        words += [w.model_copy(update={"start": w.start + offset, "end": w.end + offset})
                  for w in row.words]  # fmt: skip
        offset += row.seconds + 1.0
    names = sorted({row.speaker for row in rows if row.speaker})
    return EpisodeDocument(
        episode=EpisodeInfo(slug="domain", title="Domain set", show="The P Pod"),
        audio="domain.mp3",
        duration=round(offset, 3),
        speakers=[Speaker(id=name, name=name) for name in names],
        segments=build_segments(words),
    )


# --- report ------------------------------------------------------------------------------------


def report_terms(rows: list[Scored], terms: list[tuple[str, ...]], label: str) -> None:
    print(f"\n{label}: terms (cast names, glossary terms, acronyms)")
    print(f"  {'system':8} {'recall':>16} {'precision':>16}")
    for system in SYSTEMS:
        recalled = in_ref = right = in_text = 0
        for row in rows:
            a, b, c, d = term_counts(row.reference, row.texts[system], terms)
            recalled, in_ref, right, in_text = recalled + a, in_ref + b, right + c, in_text + d
        print(f"  {system:8} {recalled / max(in_ref, 1):7.1%} ({recalled:3d}/{in_ref:3d})"
              f" {right / max(in_text, 1):7.1%} ({right:3d}/{in_text:3d})")  # fmt: skip
    for row in rows:
        for line in term_misses(row.reference, row.texts[SYSTEMS[-1]], terms):
            print(f"    {SYSTEMS[-1]}, {row.name}: {line}")
        if _details:
            for line in miss_details(row, terms):
                print(f"      {line}")


def miss_details(row: Scored, terms: list[tuple[str, ...]]) -> list[str]:
    """Each missed term of ``row``'s last text with the words heard around it: text, what the
    recogniser wrote (when corrected) and its probability, three words either side."""
    ref, hyp = normalise(row.reference).split(), normalise(row.texts[SYSTEMS[-1]]).split()
    tokens = [i for i, w in enumerate(row.words) for _ in normalise(w.text).split()]
    if len(tokens) != len(hyp):
        return []
    pairs = alignment(ref, hyp, equal_only=False)
    out = []
    for a, b in occurrences(ref, terms):
        term = _term_at(ref[a:b], terms)
        if all(k in pairs and _is(hyp[pairs[k]], term[k - a]) for k in range(a, b)):
            continue
        near = [tokens[pairs[k]] for k in range(a, b) if k in pairs]
        if not near:  # deleted: the words aligned just before and after
            before = [pairs[k] for k in range(a - 1, -1, -1) if k in pairs][:1]
            after = [pairs[k] for k in range(b, len(ref)) if k in pairs][:1]
            near = [tokens[h] for h in before + after]
        first, last = max(0, min(near) - 3), min(len(row.words), max(near) + 4)
        shown = []
        for w in row.words[first:last]:
            heard = f"{w.original}->" if w.original else ""
            shown.append(f"{heard}{w.text}({_p(w):.2f})")
        out.append(f"{' '.join(ref[a:b])!r}: " + " ".join(shown))
    return out


def report_corrections(rows: list[Scored]) -> None:
    good = bad = 0
    lines = []
    for row in rows:
        ref = set(normalise(row.reference).split())
        for word in row.words:
            if word.original is None:
                continue
            ok = all(t in ref for t in normalise(word.text).split())
            good, bad = good + ok, bad + (not ok)
            lines.append(
                f"    {'ok ' if ok else 'BAD'} {row.name}: {word.original!r} -> {word.text!r}"
            )
    print(f"  corrections recorded: {good + bad} ({good} to a word of the reference, {bad} not)")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    from ppod_audio.config import SpeechSettings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--prompt", choices=("none", "hotwords", "initial_prompt"), default="none")
    parser.add_argument("--split", choices=("dev", "eval", "all"), default="all")
    parser.add_argument("--generic", action="store_true", help="also ../shared/data dev + eval")
    parser.add_argument("--documents", nargs="*", type=Path, default=[],
                        help="episode.json files whose captions to check too")  # fmt: skip
    parser.add_argument("--show-text", action="store_true")
    parser.add_argument("--save", type=Path, help="pickle the scored passages here")
    parser.add_argument("--redecode", action="store_true",
                        help="hear unsure stretches again with the terms as hotwords "
                        "(ppod_audio.speech.redecode)")  # fmt: skip
    parser.add_argument("--hear-again", action=argparse.BooleanOptionalAction,
                        default=SpeechSettings().hear_doubted,
                        help="hear the doubted words again with tiny.en before cleaning, as "
                        "the pipeline does by default (ppod_audio.speech.recheck); "
                        "--no-hear-again: one hearing")  # fmt: skip
    parser.add_argument("--misses", action="store_true",
                        help="print each missed term with the words heard around it and "
                        "their probabilities")  # fmt: skip
    parser.add_argument("--shading-table", action="store_true",
                        help="print every shading signal compared on the dev passages")  # fmt: skip
    parser.add_argument("--no-cache", action="store_true",
                        help="recognise afresh instead of reusing build/domain-cache")  # fmt: skip
    args = parser.parse_args(argv)
    parser_redecode = args.redecode
    global _use_cache, _redecode, _details, _hear_again
    _details = args.misses
    _hear_again = args.hear_again
    _use_cache = not args.no_cache
    _redecode = parser_redecode
    if _redecode:
        SYSTEMS.append("unsure")

    if not (DOMAIN / "passages.json").is_file():
        print(f"no domain set at {DOMAIN}: run bench/make_domain_set.py first", file=sys.stderr)
        return 2

    from ppod_audio.config import EpisodeManifest
    from ppod_audio.speech.transcribe import TranscribeOptions
    from ppod_audio.transcript.clean import CleanOptions
    from ppod_audio.transcript.confidence import known_words
    from ppod_audio.transcript.document import clean_options
    from ppod_audio.transcript.model import load_document

    show, manifest, cleaning = domain_setup()
    after = cleaning["after"]
    terms = term_list(after.vocabulary)
    phrases = [e.text for e in after.vocabulary.entries]
    signals = shading_signals(known_words(phrases), known_words(phrases, joining=True))
    assert after.glossary is not None
    options = TranscribeOptions(
        model=args.model, terms=after.glossary.terms, prompt=args.prompt, device="cpu"
    )
    spelling = "en-GB" if after.british_spelling else "off"
    print(f"model {args.model}, prompt {args.prompt} ({len(after.glossary.terms)} terms), "
          f"house spelling {spelling}, {len(terms)} terms scored")  # fmt: skip

    began = time.perf_counter()
    rows = [
        recognise(path, split, speaker, path.with_suffix(".txt").read_text(), options, cleaning)
        for path, split, speaker in domain_files(args.split)
    ]
    if args.save:
        import pickle

        args.save.write_bytes(pickle.dumps(rows))
    for split in ("dev", "eval"):
        chosen = [r for r in rows if r.split == split]
        if not chosen:
            continue
        words = sum(len(normalise(r.reference).split()) for r in chosen)
        audio = sum(r.seconds for r in chosen)
        rtf = sum(r.decode_seconds for r in chosen) / audio
        label = f"DOMAIN {split} ({len(chosen)} passages, {words} words, {audio:.0f} s)"
        cells = "  ".join(f"{s} {wer(chosen, s):6.1%}" for s in SYSTEMS)
        print(f"\n{label}: WER {cells}  (recognition RTF {rtf:.3f})")
        report_terms(chosen, terms, label)
        report_corrections(chosen)
        table = args.shading_table and split == "dev"  # candidates are compared on dev only
        print(f"  shading ('{SYSTEMS[-1]}' words; errors shaded / correct words shaded)"
              f"{', candidates (--shading-table)' if table else ''}:")  # fmt: skip
        for name, (hit, false, errors, correct) in shading(chosen, signals).items():
            if table or name in REPORTED:
                print(f"    {name:50} {hit:6.1%} of {errors} errors  "
                      f"{false:6.1%} of {correct} correct")  # fmt: skip
        for fmt, (cues, short, split_) in caption_faults(domain_document(chosen)).items():
            print(f"  captions {fmt}: {cues} cues, {short} under 1 s, {split_} ending on a title")
        if args.show_text:
            for row in chosen:
                print(f"  # {row.name}\n    ref:    {row.reference.strip()}")
                for system in SYSTEMS:
                    print(f"    {system:7} {row.texts[system]}")

    if args.generic:
        root = data_root()
        if not (root / "speech").is_dir():
            print(f"\nshared data not found at {root}: generic WER skipped")
        else:
            # The same prompt as the domain passages: a pipeline setting reaches every episode.
            generic_options = TranscribeOptions(
                model=args.model, terms=after.glossary.terms, prompt=args.prompt, device="cpu"
            )
            plain = EpisodeManifest(title="generic")
            generic_after = clean_options(show, plain)
            generic_cleaning = {"before": CleanOptions(glossary=generic_after.glossary),
                                "after": generic_after}  # fmt: skip
            for split in ("dev", "eval"):
                scored = [
                    recognise(
                        root / name,
                        split,
                        None,
                        reference(root / name),
                        generic_options,
                        generic_cleaning,
                    )  # fmt: skip
                    for name in SPLITS[split]
                    if name not in OUT_OF_TOTALS
                ]
                cells = "  ".join(f"{s} {wer(scored, s):6.1%}" for s in SYSTEMS)
                print(f"\nGENERIC {split} ({len(scored)} files): WER {cells}")
                for row in scored:
                    changed = [w for w in row.words if w.original is not None]
                    if changed:
                        print(
                            f"  {row.name}: corrections {[(w.original, w.text) for w in changed]}"
                        )
                    if row.texts["before"] != row.texts["after"]:
                        print(f"  {row.name}: before {row.texts['before']!r}")
                        print(f"  {' ' * len(row.name)}  after  {row.texts['after']!r}")

    for path in args.documents:
        for fmt, (cues, short, split_) in caption_faults(load_document(path)).items():
            print(f"\ncaptions {path} {fmt}: {cues} cues, {short} under 1 s, "
                  f"{split_} ending on a title")  # fmt: skip
    print(f"\n(total {time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
