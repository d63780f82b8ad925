"""The table that chooses the default speech model: accuracy and cost per model and decode option.

    python bench/choose_model.py [--config MODEL:BEAM[:wt][:batched][:hotwords] ...] [--no-generic]

For each configuration (a model, its beam size, and optionally ``wt`` = ``without_timestamps``,
``batched`` = faster-whisper's ``BatchedInferencePipeline``, ``hotwords`` = the cast's names and
the glossary's terms as faster-whisper hotwords) it prints one row:

* domain WER after cleaning (the pipeline's text) and term recall / precision, on the domain set's
  dev and eval passages (``bench/make_domain_set.py``; see ``bench/eval_domain.py``);
* generic real-speech WER (``../shared/data`` dev and eval) after cleaning, with the show's
  glossary and no cast, as a plain episode runs;
* the cost of recognition on the demo recording (3.4 minutes of conversation): wall RTF and CPU
  RTF (user + system CPU seconds of this process / 2 cores). The machines this runs on are shared,
  so the wall figure carries other people's load; the CPU figure does not.

The whole pipeline's RTF on a 30-minute episode is ``bench/pipeline_rtf.py``: this table's
recognition cost plus the model-independent stages measured there. dev figures choose; eval
figures only report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from eval_domain import (  # noqa: E402
    DOMAIN,
    domain_files,
    domain_setup,
    recognise,
    term_counts,
    term_list,
    wer,
)
from eval_wer import OUT_OF_TOTALS, SPLITS, data_root, reference  # noqa: E402

DEFAULT_CONFIGS = (
    "tiny.en:5",
    "tiny.en:1",
    "base:5",
    "base:2",
    "base:1",
    "base:5:wt",
    "base:5:batched",
)
CORES = 2
DEMO = REPO / "raw_audio" / "demo-what-is-the-sscp" / "recording.flac"


def parse(config: str):  # type: ignore[no-untyped-def]
    from ppod_audio.speech.transcribe import TranscribeOptions

    model, beam, *flags = config.split(":")
    unknown = set(flags) - {"wt", "batched", "hotwords"}
    if unknown:
        raise SystemExit(f"unknown flag(s) {sorted(unknown)} in {config}")
    return TranscribeOptions(
        model=model,
        beam_size=int(beam),
        without_timestamps="wt" in flags,
        batched="batched" in flags,
        prompt="hotwords" if "hotwords" in flags else "none",
        device="cpu",
    )


def terms_score(rows, terms) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    a = b = c = d = 0
    for row in rows:
        w, x, y, z = term_counts(row.reference, row.texts["after"], terms)
        a, b, c, d = a + w, b + x, c + y, d + z
    return a / max(b, 1), c / max(d, 1)


def cost(options) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall RTF, CPU RTF on 2 cores) of recognising the demo, model already loaded."""
    from ppod_audio.audio.decode import decode
    from ppod_audio.speech.transcribe import transcribe

    audio = decode(DEMO, 16000, 1).samples[0]
    transcribe(audio[: 16000 * 5], options)  # load the model outside the clock
    wall, cpu = time.perf_counter(), time.process_time()
    transcribe(audio, options)
    seconds = audio.shape[0] / 16000
    return (time.perf_counter() - wall) / seconds, (time.process_time() - cpu) / CORES / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--no-generic", action="store_true")
    parser.add_argument("--no-cost", action="store_true")
    args = parser.parse_args()
    if not (DOMAIN / "passages.json").is_file():
        print(f"no domain set at {DOMAIN}: run bench/make_domain_set.py first", file=sys.stderr)
        return 2

    from ppod_audio.config import EpisodeManifest
    from ppod_audio.transcript.clean import CleanOptions
    from ppod_audio.transcript.document import clean_options, glossary_terms

    show, manifest, domain_cleaning = domain_setup()
    after = domain_cleaning["after"]
    terms = term_list(after.vocabulary)
    hotwords = glossary_terms(show, manifest)
    plain = EpisodeManifest(title="generic")
    generic_after = clean_options(show, plain)
    generic_cleaning = {"before": CleanOptions(glossary=generic_after.glossary),
                        "after": generic_after}  # fmt: skip
    generic_hotwords = glossary_terms(show, plain)
    root = data_root()
    generic = not args.no_generic and (root / "speech").is_dir()

    print(
        "| model:beam[:options] | domain WER dev / eval | term recall dev / eval | "
        "term precision dev / eval | generic WER dev / eval | recognition RTF wall / CPU |"
    )
    print("|---|---|---|---|---|---|")  # fmt: skip
    for config in args.config or DEFAULT_CONFIGS:
        options = parse(config)
        from dataclasses import replace

        domain_options = replace(options, terms=tuple(hotwords))
        rows = [
            recognise(
                path,
                split,
                speaker,
                path.with_suffix(".txt").read_text(),
                domain_options,
                domain_cleaning,
            )  # fmt: skip
            for path, split, speaker in domain_files("all")
        ]
        dev = [r for r in rows if r.split == "dev"]
        evl = [r for r in rows if r.split == "eval"]
        (rd, pd), (re_, pe) = terms_score(dev, terms), terms_score(evl, terms)
        cells = [f"{wer(dev, 'after'):.1%} / {wer(evl, 'after'):.1%}",
                 f"{rd:.0%} / {re_:.0%}", f"{pd:.0%} / {pe:.0%}"]  # fmt: skip
        if generic:
            generic_options = replace(options, terms=tuple(generic_hotwords))
            wers = []
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
                wers.append(wer(scored, "after"))
            cells.append(f"{wers[0]:.1%} / {wers[1]:.1%}")
        else:
            cells.append("-")
        if args.no_cost:
            cells.append("-")
        else:
            wall, cpu = cost(options)
            cells.append(f"{wall:.3f} / {cpu:.3f}")
        print(f"| {config} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
