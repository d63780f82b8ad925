"""Shading from beam search's own runner-ups, measured on the domain dev passages only.

    python bench/shading_nbest.py [--model base] [--hypotheses 2 5] [--split dev]

Every word recognised with ``TranscribeOptions(hypotheses=n)`` records how many of the
decode's n - 1 runner-up hypotheses wrote another word there (``Word.disputed``,
``speech/hypotheses.py``). This prints, per n, errors caught / correct words shaded for

* the probability rule (``transcript/confidence.needs_review`` on words recording no dispute,
  as an older document's);
* the chosen rule (``needs_review`` itself: a disputed word shaded, the neighbour rule narrowed
  to ``DISPUTED_NEIGHBOUR_THRESHOLD``), and the same with the neighbour rule reaching other
  probabilities;
* disputes alone, the probability rule or disputes, and mixes (a disputed word shaded under a
  looser probability, an undisputed one under a stricter).

Recognition is cached per model and n under ``build/domain-cache`` (``eval_domain.py``); its
cost is measured on real recordings by ``bench/pipeline_rtf.py``. Eval is for reporting:
choose on dev.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_domain import domain_files, recognise, shading_setup  # noqa: E402
from shading_fit import labelled, rate  # noqa: E402
from shading_fit import probability as _p  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--split", choices=("dev", "eval"), default="dev")
    parser.add_argument("--hypotheses", nargs="*", type=int, default=[2, 5])
    parser.add_argument("--budget", type=float, default=0.08)
    args = parser.parse_args(argv)

    for n in args.hypotheses:
        cleaning, options, known = shading_setup(args.model, hypotheses=n)
        began = time.perf_counter()
        rows = [
            recognise(path, split, speaker, path.with_suffix(".txt").read_text(), options, cleaning)
            for path, split, speaker in domain_files(args.split)
        ]
        spent = time.perf_counter() - began
        print(f"\n{args.model}, {n} hypotheses: {len(rows)} passages "
              f"(recognised or read from cache in {spent:.0f} s)")  # fmt: skip
        report(labelled(rows, dev_only=args.split == "dev"), known, n, args.budget)
    return 0


def report(items, known: frozenset[str], n: int, budget: float) -> None:  # type: ignore[no-untyped-def]
    """The table for one number of hypotheses."""
    from ppod_audio.transcript import confidence
    from ppod_audio.transcript.confidence import needs_review

    def show(label: str, marks: list[bool]) -> None:
        caught, shaded = rate(marks, items)
        print(f"  {label:60} {caught:6.1%} caught / {shaded:5.1%} shaded")

    plain = {id(ws): [w.model_copy(update={"disputed": None}) for w in ws] for ws, *_ in items}
    rule = [needs_review(plain[id(ws)], i, known) for ws, i, *_ in items]
    disputed = [ws[i].disputed or 0 for ws, i, *_ in items]
    exempt = [confidence._exempt(ws[i], known) for ws, i, *_ in items]
    pairs = zip(items, exempt, strict=True)
    missing = sum(ws[i].disputed is None and not e for (ws, i, *_), e in pairs)
    print(f"  words recording no dispute (the show's words and corrections aside): {missing}")
    show("probability rule (words recording no dispute)", rule)
    show("CHOSEN: transcript/confidence.needs_review", [needs_review(ws, i, known)
                                                      for ws, i, *_ in items])  # fmt: skip
    saved = confidence.DISPUTED_NEIGHBOUR_THRESHOLD
    for reach in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85):
        confidence.DISPUTED_NEIGHBOUR_THRESHOLD = reach
        show(f"  the same, neighbour rule up to p {reach}",
             [needs_review(ws, i, known) for ws, i, *_ in items])  # fmt: skip
    confidence.DISPUTED_NEIGHBOUR_THRESHOLD = saved
    for k in range(1, n):
        show(f"disputed by >= {k}",
             [d >= k and not e for d, e in zip(disputed, exempt, strict=True)])  # fmt: skip
    for k in range(1, n):
        marks = [r or (d >= k and not e) for r, d, e in zip(rule, disputed, exempt, strict=True)]
        show(f"probability rule or disputed by >= {k}", marks)
    mixes = []
    for k, loose, strict in itertools.product(range(1, n), (0.6, 0.7, 0.8, 0.9, 0.95, 1.01),
                                              (0.0, 0.3, 0.4, 0.5, 0.6)):  # fmt: skip
        marks = []
        for r, d, e, (ws, i, *_) in zip(rule, disputed, exempt, items, strict=True):
            p = _p(ws[i])
            if e:
                marks.append(False)
            elif d >= k:
                marks.append(p < loose or r)
            else:
                marks.append(r and p < strict if strict < 0.6 else r)
        caught, shaded = rate(marks, items)
        undisputed = f"rule and p < {strict}" if strict < 0.6 else "rule"
        mixes.append((caught, shaded, f"disputed >= {k}: p < {loose} or rule; "
                                      f"undisputed: {undisputed}"))  # fmt: skip
    print(f"  mixes within {budget:.0%} shaded, best caught first:")
    for caught, shaded, label in sorted(mixes, key=lambda m: (-m[0], m[1]))[:12]:
        if shaded <= budget:
            print(f"    {label:58} {caught:6.1%} caught / {shaded:5.1%} shaded")


if __name__ == "__main__":
    raise SystemExit(main())
