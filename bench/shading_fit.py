"""Choose the word-confidence shading rule on the domain dev passages only.

    python bench/eval_domain.py --model base --split dev --save build/dev-base.pkl
    python bench/shading_fit.py build/dev-base.pkl [build/dev-tiny.pkl ...]

For every word of the dev passages' "after" text (an error when the WER alignment pairs it with
no equal reference word, as ``eval_domain.shading`` counts) it scores two families of signals:

* the editor's rule (``transcript/confidence.needs_review``) over a grid of its parameters;
* a logistic regression over what the editor's page can compute itself (the word's probability,
  its neighbours', its length, its place in the passage), fitted leave-one-passage-group-out
  so a passage never scores words it was fitted on, with the decision threshold set to shade
  at most ``--budget`` of the correct words.

It prints each candidate's errors caught and correct words shaded, per file given (one per
model), so a rule is chosen that holds for each. Never given eval passages: eval reports only.
"""

from __future__ import annotations

import argparse
import itertools
import math
import pickle
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_domain import Scored, alignment, normalise  # noqa: E402

# eval_domain.py --save pickles its rows as __main__.Scored: this script is __main__ now.
globals().setdefault("Scored", Scored)


def labelled(rows, dev_only: bool = True) -> list[tuple[list, int, bool, str]]:  # type: ignore[no-untyped-def]
    """(words, index, is_error, passage) for every scored word, as eval_domain.shading counts.
    Choosing scripts take dev passages only; ``dev_only=False`` is for the one eval report."""
    out = []
    for row in rows:
        if dev_only and row.split != "dev":
            raise SystemExit(f"{row.name} is an {row.split} passage: choose on dev only")
        ref = normalise(row.reference).split()
        tokens: list[int] = []
        for index, word in enumerate(row.words):
            tokens += [index] * len(normalise(word.text).split())
        hyp = [t for w in row.words for t in normalise(w.text).split()]
        hyp_to_ref = {h: r for r, h in alignment(ref, hyp).items()}
        wrong = {tokens[k] for k in range(len(hyp)) if k not in hyp_to_ref}
        for index, word in enumerate(row.words):
            if normalise(word.text):
                out.append((row.words, index, index in wrong, row.name))
    return out


def probability(word) -> float:  # type: ignore[no-untyped-def]
    """A word's probability for the rules, 1.0 (sure) for a word without one (a correction)."""
    return 1.0 if word.probability is None else word.probability


def features(words, index: int) -> list[float]:  # type: ignore[no-untyped-def]
    """What the editor's page has for a word: probabilities around it, its length, its place."""
    from ppod_audio.transcript.confidence import key

    def logit(p: float) -> float:
        p = min(max(p, 1e-3), 1 - 1e-3)
        return math.log(p / (1 - p))

    p = probability(words[index])
    before = probability(words[index - 1]) if index > 0 else 1.0
    after = probability(words[index + 1]) if index + 1 < len(words) else 1.0
    row = [
        logit(p),
        logit(min(before, after)),
        logit(max(before, after)),
        min(len(key(words[index].text)), 12) / 12,
    ]
    if TIMING:
        word = words[index]
        letters_ = max(len(key(word.text)), 1)
        gap = word.start - words[index - 1].end if index > 0 else 0.0
        row += [
            min((word.end - word.start) / letters_, 0.5) * 10,
            min(max(gap, 0.0), 1.0),
            min(word.end - word.start, 2.0),
        ]
    if EXTRA:
        from ppod_audio.transcript.vocabulary import _word_counts

        count = _word_counts()[key(words[index].text)]
        text = words[index].text
        row += [
            math.log1p(count) / 15,
            float(text[:1].isupper()),
            float(text[-1:] in ",.?!"),
            float(index == 0 or index + 1 == len(words)),
            logit(p) * logit(min(before, after)),
        ]
    return row


EXTRA = False
TIMING = False


def rate(marks: list[bool], items) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    errors = sum(1 for *_, bad, _ in items if bad)
    right = len(items) - errors
    caught = sum(1 for m, (*_, bad, _) in zip(marks, items, strict=True) if m and bad)
    shaded = sum(1 for m, (*_, bad, _) in zip(marks, items, strict=True) if m and not bad)
    return caught / max(errors, 1), shaded / max(right, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("saved", nargs="+", type=Path, help="eval_domain.py --save files (dev)")
    parser.add_argument("--budget", type=float, default=0.08, help="correct words shaded, most")
    parser.add_argument("--extra", action="store_true", help="also word frequency etc.")
    parser.add_argument("--timing", action="store_true", help="also word duration and gap")
    args = parser.parse_args(argv)
    global EXTRA, TIMING
    EXTRA, TIMING = args.extra, args.timing

    from eval_domain import domain_setup

    from ppod_audio.transcript.confidence import known_words, needs_review

    _, _, cleaning = domain_setup()
    known = known_words([e.text for e in cleaning["after"].vocabulary.entries])
    sets = {path.stem: labelled(pickle.loads(path.read_bytes())) for path in args.saved}
    for name, items in sets.items():
        errors = sum(1 for *_, bad, _ in items if bad)
        print(f"{name}: {errors} errors, {len(items) - errors} correct words")

    print("\nthe editor's rule, (threshold, neighbour threshold, neighbour low, bridge):")
    grid = itertools.product((0.5, 0.55, 0.6, 0.65, 0.7), (0.7, 0.85, 0.9), (0.3, 0.4, 0.5),
                             (0.0, 0.9, 0.95))  # fmt: skip
    for t, nt, nl, b in grid:
        cells = []
        for items in sets.values():
            marks = [_rule(words, i, known, t, nt, nl, b, needs_review) for words, i, *_ in items]
            caught, shaded = rate(marks, items)
            cells.append(f"{caught:6.1%} / {shaded:5.1%}")
        print(f"  {t:.2f} {nt:.2f} {nl:.2f} {b:.2f}   " + "   ".join(cells))

    print(f"\nlogistic regression, leave one passage group out, shading <= {args.budget:.0%}:")
    for name, items in sets.items():
        caught, shaded, threshold = _fitted(items, known, args.budget)
        print(f"  {name}: {caught:6.1%} caught / {shaded:5.1%} shaded (threshold {threshold:.2f})")
    return 0


def _rule(words, i, known, t, nt, nl, b, needs_review) -> bool:  # type: ignore[no-untyped-def]
    import ppod_audio.transcript.confidence as confidence

    saved = confidence.NEIGHBOUR_THRESHOLD, confidence.NEIGHBOUR_LOW
    confidence.NEIGHBOUR_THRESHOLD, confidence.NEIGHBOUR_LOW = nt, nl
    try:
        return needs_review(words, i, known, threshold=t, bridge=b)
    finally:
        confidence.NEIGHBOUR_THRESHOLD, confidence.NEIGHBOUR_LOW = saved


def _fitted(items, known, budget: float) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Out-of-fold probabilities of error; the threshold that shades ``budget`` of the correct
    words (the show's words and corrections exempt, as the editor's rule)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from ppod_audio.transcript.confidence import key

    x = np.array([features(words, i) for words, i, *_ in items])
    y = np.array([bad for *_, bad, _ in items])
    text_of = [s.split("-")[0] for *_, s in items]  # passage number
    groups = np.array([int(s) % 5 for s in text_of])
    scores = np.zeros(len(items))
    for g in range(5):
        model = LogisticRegression().fit(x[groups != g], y[groups != g])
        scores[groups == g] = model.predict_proba(x[groups == g])[:, 1]
    exempt = np.array([w[i].probability is None or w[i].original is not None
                       or key(w[i].text) in known for w, i, *_ in items])  # fmt: skip
    scores[exempt] = 0.0
    best = (0.0, 0.0, 1.0)
    for threshold in np.arange(0.05, 0.95, 0.01):
        marks = list(scores >= threshold)
        caught, shaded = rate(marks, items)
        if shaded <= budget and caught > best[0]:
            best = (caught, shaded, float(threshold))
    return best


if __name__ == "__main__":
    raise SystemExit(main())
