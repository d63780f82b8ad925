"""Beam search's runner-ups as a second opinion (speech/hypotheses.py): the words stay those of
the best hypothesis, and each records how many runner-ups wrote another word there."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from ppod_audio.transcript.confidence import known_words, needs_review
from ppod_audio.transcript.glossary import load_glossary

CAST = ("Steve Macabee", "Jasmine Wark", "Rebecca Leggett")
TERMS = (*load_glossary(REPO / "raw_audio" / "glossary.toml").terms, *CAST)


@pytest.mark.slow
def test_base_records_runner_up_disputes_without_changing_its_words(
    domain_set: Path,
) -> None:
    """Domain dev 83 (Jasmine), said "... the government gave us this new idea of safeguarding
    partnerships", recognised by base through the speech stage as by default: the words,
    times and probabilities are exactly those of the best hypothesis alone; every word records
    its disputes, and "of" of "Game of Justice," (sure, 0.91, but the runner-ups wrote another
    word there) is shaded, while "new" (0.75, undisputed, beside the unsure "Justice,") is not."""
    from ppod_audio.audio.decode import decode
    from ppod_audio.config import SpeechSettings
    from ppod_audio.speech.stage import SpeechOptions, _transcribe
    from ppod_audio.speech.transcribe import TranscribeOptions, transcribe

    audio = decode(domain_set / "dev" / "83-jasmine.wav", 16000, 1).samples[0]
    words = _transcribe(audio, SpeechOptions(model="base", device="cpu"), SpeechSettings(),
                        list(TERMS), list(CAST))  # fmt: skip
    alone = transcribe(audio, TranscribeOptions(model="base", device="cpu", hypotheses=1)).words
    assert [(w.text, w.start, w.end, w.probability) for w in words] == [
        (w.text, w.start, w.end, w.probability) for w in alone
    ]
    assert all(w.disputed is None for w in alone)
    assert all(isinstance(w.disputed, int) for w in words)
    texts = [w.text for w in words]
    of, new = texts.index("Justice,") - 1, texts.index("new")
    assert texts[of] == "of" and words[of].probability > 0.9 and words[of].disputed
    known = known_words(TERMS)
    assert needs_review(words, of, known) and not needs_review(alone, of, known)
    assert words[new].disputed == 0 and not needs_review(words, new, known)
