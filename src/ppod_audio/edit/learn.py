"""``ppod glossary learn``: turn an editor's corrections into glossary entries.

The pipeline keeps the machine's own document as ``history/recognised.json``. Aligning its words
with the corrected ``episode.json`` shows what the editor changed; a change of up to three words
into up to three words ("Peapod" -> "P Pod") that the editor made every time the recogniser
wrote it is a mishearing worth fixing automatically. A phrase the editor also left unchanged
somewhere is not proposed: replacing it everywhere would undo what they kept.
Accepted entries are appended to the show glossary's ``[replace]`` table, keeping the file's
comments and layout, so the next episode is corrected as it is processed.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from ..errors import InputError
from ..fileio import write_text
from ..outputs import RECOGNISED_FIX, read_document, recognised_path
from ..transcript.clean import capitalised, match_key, split_word
from ..transcript.glossary import Glossary, load_glossary, parse_glossary
from ..transcript.model import EpisodeDocument, Word
from ..transcript.segments import ends_sentence, starts_sentence
from .render import episode_source, load_episode_document, read_report

MAX_WORDS = 3
_TABLE = re.compile(r"^\s*\[\s*replace\s*\]\s*(#.*)?$")
_ANY_TABLE = re.compile(r"^\s*\[")


@dataclass(frozen=True)
class Proposal:
    """One glossary entry: what the recogniser wrote, what the editor made it, how often."""

    wrong: str
    right: str
    count: int


def _phrase(words: list[Word]) -> str:
    """Words as a glossary phrase: the outer punctuation dropped, inner punctuation kept."""
    if len(words) == 1:
        return split_word(words[0].text)[1]
    first_lead, first_core, first_trail = split_word(words[0].text)
    last_lead, last_core, _ = split_word(words[-1].text)
    middle = [w.text for w in words[1:-1]]
    return " ".join([first_core + first_trail, *middle, last_lead + last_core])


def _lowered(text: str) -> str:
    """A sentence-initial capital removed ("Factory" -> "factory"), not an acronym's."""
    first = text.split(" ")[0]
    if len(first) > 1 and first[0].isupper() and first[1:] == first[1:].lower():
        return text[:1].lower() + text[1:]
    return text


def _breaks(words: list[Word], start: int, stop: int) -> list[tuple[int, int]]:
    """``start``-``stop`` cut after each sentence end: a glossary phrase never spans two."""
    pieces, first = [], start
    for index in range(start, stop - 1):
        if ends_sentence(words[index].text):
            pieces.append((first, index + 1))
            first = index + 1
    return [*pieces, (first, stop)]


def _phrases(
    old: list[Word], i1: int, i2: int, new: list[Word], j1: int, j2: int
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Neighbouring corrections the diff joined ("Peapod. Their" -> "P Pod. There"), split
    sentence by sentence when both sides have as many sentences; else none (not a phrase)."""
    before, after = _breaks(old, i1, i2), _breaks(new, j1, j2)
    if len(before) == len(after):
        return list(zip(before, after, strict=True))
    return []


def propose(recognised: EpisodeDocument, current: EpisodeDocument) -> list[Proposal]:
    """Replacements the editor made consistently, most frequent first."""
    old, new = recognised.words(), current.words()
    norm = [match_key(w.text) for w in old]
    matcher = SequenceMatcher(None, norm, [match_key(w.text) for w in new], autojunk=False)
    found: Counter[tuple[str, str]] = Counter()
    forms: dict[tuple[str, str], tuple[str, str]] = {}
    kept: Counter[str] = Counter()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for index in range(i1, i2):  # every phrase of up to 3 words the editor left alone
                for size in range(1, min(MAX_WORDS, i2 - index) + 1):
                    kept[" ".join(norm[index : index + size])] += 1
            continue
        if tag != "replace":
            continue
        for (a1, a2), (b1, b2) in _phrases(old, i1, i2, new, j1, j2):
            if a2 - a1 > MAX_WORDS or b2 - b1 > MAX_WORDS:
                continue
            wrong, right = _phrase(old[a1:a2]), _phrase(new[b1:b2])
            if not wrong or not right or wrong == right:
                continue
            ident = (" ".join(norm[a1:a2]), right.casefold())
            found[ident] += 1
            if starts_sentence(old, a1) and capitalised(wrong):
                # A capital that only starts a sentence must not become part of the entry (the
                # glossary re-capitalises at sentence starts); a form seen mid-sentence wins.
                forms.setdefault(ident, (_lowered(wrong), _lowered(right)))
            else:
                forms[ident] = (wrong, right)
    return [
        Proposal(forms[ident][0], forms[ident][1], count)
        for ident, count in found.most_common()
        if kept[ident[0]] == 0
    ]


def load_recognised(output_dir: Path) -> EpisodeDocument:
    return read_document(
        recognised_path(output_dir),
        missing=("is missing, so there is nothing to compare the corrections with", RECOGNISED_FIX),
        invalid_fix=RECOGNISED_FIX,
    )


def glossary_file(output_dir: Path, show_dir: Path | None) -> Path:
    """The show glossary: from the show the episode was made from (report.json), else
    ``show_dir``."""
    from ..config import load_show

    source = episode_source(output_dir, read_report(output_dir))  # this episode's, or refused
    root = Path(show_dir) if show_dir is not None else None
    if root is None:
        root = source.parent if source is not None else Path("raw_audio")
    if not (root / "show.toml").is_file():
        raise InputError("has no show.toml", root, "give the show folder with --show")
    show = load_show(root)
    if not show.glossary:
        raise InputError(
            "sets no glossary", root / "show.toml", 'add glossary = "glossary.toml" to it'
        )
    return show.path(show.glossary)


def proposals_for(output_dir: Path, glossary: Glossary) -> list[Proposal]:
    """Proposals not already in ``glossary``."""
    recognised = load_recognised(output_dir)
    current = load_episode_document(output_dir)
    known = {wrong.casefold() for wrong, _ in glossary.replacements}
    return [p for p in propose(recognised, current) if p.wrong.casefold() not in known]


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # JSON strings are TOML basic strings


def add_replacements(path: Path, entries: list[Proposal]) -> None:
    """Append ``entries`` to the ``[replace]`` table of ``path``, comments and order kept.

    The new text is parsed and validated before it replaces the file (atomically), so a
    glossary the pipeline cannot read is never written.
    """
    if not entries:
        return
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    lines = text.splitlines()
    new = [f"{_toml_string(e.wrong)} = {_toml_string(e.right)}" for e in entries]
    start = next((i for i, line in enumerate(lines) if _TABLE.match(line)), None)
    if start is None:
        lines += (["", "[replace]"] if lines else ["[replace]"]) + new
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if _ANY_TABLE.match(lines[i])), len(lines)
        )
        last = start  # after the table's last entry, before any blank lines and comments
        for index in range(start + 1, end):
            stripped = lines[index].strip()
            if stripped and not stripped.startswith("#"):
                last = index
        lines[last + 1 : last + 1] = new
    updated = "\n".join(lines) + "\n"
    try:
        glossary = parse_glossary(tomllib.loads(updated), path)
    except tomllib.TOMLDecodeError as error:
        raise InputError(
            f"could not add the entries ({error})", path, "fix the file and try again"
        ) from None
    table = dict(glossary.replacements)
    missing = [e.wrong for e in entries if table.get(" ".join(e.wrong.split())) != e.right]
    if missing:
        raise InputError(f"could not add {missing[0]!r}", path, "add it under [replace] by hand")
    write_text(path, updated)


def current_glossary(path: Path) -> Glossary:
    return load_glossary(path) if path.is_file() else Glossary(source=path)
