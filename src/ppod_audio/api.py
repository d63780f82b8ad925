"""ppod-audio as a library: the calls a script or notebook needs, the same ones the CLI makes.

Each function takes paths and plain options and returns the project's own types (the
``EpisodeDocument`` above all), so a caller never touches Click. Heavy libraries (torch,
faster-whisper) load inside the call that needs them, not on import. See docs/api.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline import EpisodeResult
    from .speech.transcribe import Transcription
    from .speech.turns import Turn
    from .transcript.model import EpisodeDocument


def process(
    episode_dir: str | Path,
    output_root: str | Path = "output",
    *,
    model: str | None = None,
    device: str | None = None,
    diarizer: str | None = None,
    speech: bool = True,
    force: bool = False,
    allow_download: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> EpisodeResult:
    """Publish one episode folder into ``output_root/<episode>/``, as ``ppod process`` does.

    Never raises for an expected failure: the result's ``ok``, ``error`` and ``exit_code`` say
    what went wrong (a batch keeps going past one bad episode). ``None`` options come from
    show.toml; ``progress(slug, stage)`` is called as each stage starts.
    """
    from .pipeline import ProcessOptions, process_episode
    from .speech.stage import SpeechOptions

    options = ProcessOptions(
        output_root=Path(output_root),
        force=force,
        speech=SpeechOptions(
            enabled=speech,
            model=model,
            device=device,
            diarizer=diarizer,
            allow_download=allow_download,
        ),
    )
    if progress is not None:
        options.progress = progress
    return process_episode(Path(episode_dir), options)


def read_audio(path: str | Path, rate: int = 16000):
    """Any audio file as float32 mono samples at ``rate`` (what the speech models hear).

    Raises :class:`ppod_audio.errors.PpodError` for a missing, empty or silent file."""
    from .audio.decode import decode, require_sound

    audio = decode(Path(path), rate, 1)
    require_sound(audio, Path(path))
    return audio.samples[0]


def transcribe(
    audio: str | Path,
    *,
    model: str = "tiny.en",
    device: str = "auto",
    batched: bool = False,
    allow_download: bool = False,
) -> Transcription:
    """Words with times and probabilities from faster-whisper (no diarization, no cleaning)."""
    from .speech.transcribe import TranscribeOptions
    from .speech.transcribe import transcribe as run

    options = TranscribeOptions(
        model=model, device=device, allow_download=allow_download, batched=batched
    )
    return run(read_audio(audio), options)


def diarize(
    audio: str | Path,
    *,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    backend: str = "embedded",
    pipeline: str | None = None,
) -> list[Turn]:
    """Who spoke when: speaker turns (start, end, label) from the embedded diarizer or
    pyannote.audio (``backend="pyannote"``, with ``pipeline`` a local folder or config.yaml)."""
    samples = read_audio(audio)
    if backend == "pyannote":
        from .speech.diarize_pyannote import diarize_pyannote

        return diarize_pyannote(
            samples,
            pipeline=pipeline,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
        )
    if backend != "embedded":
        raise ValueError(f"backend must be 'embedded' or 'pyannote', not {backend!r}")
    from .speech.diarize_embedded import diarize_embedded

    return diarize_embedded(
        samples,
        num_speakers=num_speakers,
        min_speakers=min_speakers or 1,
        max_speakers=max_speakers or 8,
    )


def load_document(output_dir: str | Path) -> EpisodeDocument:
    """A published episode's ``episode.json``, validated: the source every output renders from."""
    from .edit.history import document_path, read_document

    path = document_path(Path(output_dir))
    return read_document(
        path,
        invalid_fix="restore a version with: ppod render --revert",
        missing=("not found", "give a folder that ppod process published"),
    )


def render(
    output_dir: str | Path, *, from_text: bool = False, revert_to: str | None = None
) -> list[str]:
    """Re-publish a folder's transcripts and MP3 tags from its ``episode.json`` (no audio
    work), as ``ppod render`` does; returns the lines the command prints."""
    from .edit.actions import render_command

    return render_command(Path(output_dir), from_text=from_text, revert_to=revert_to)
