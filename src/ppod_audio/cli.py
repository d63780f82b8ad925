"""The ``ppod`` command: thin Click commands over the library.

Commands parse arguments, call one library function and print its result; no logic lives here.
Expected failures (``PpodError``) print one line naming the file and the fix and exit 2 (bad
input) or 1 (processing failed); ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from . import __version__
from .defaults import DEFAULT_MODEL
from .errors import InputError, PpodError, from_os_error


class _State:
    debug = False


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PpodError as error:
            if _State.debug:
                raise
            _fail(str(error), error.exit_code)
        except OSError as error:  # the file system said no (read-only, full, forbidden)
            if _State.debug:
                raise
            failure = from_os_error(error)
            _fail(str(failure), failure.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; outputs already published are intact, run again to resume", 1)

    return wrapper


def _output_folder(output_root: Path) -> Path:
    """``-o`` must name a folder (created when missing), never an existing file, nor a path
    under one (``-o notes.txt/out``)."""
    for folder in (output_root, *output_root.absolute().parents):
        if folder.exists():
            if not folder.is_dir():
                raise InputError("is a file, not a folder", folder,
                                 "give -o a folder (it is created if missing)")  # fmt: skip
            break
    return output_root


def _console():
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def _progress_display() -> Iterator[tuple[Any, Callable[[str, str], None]]]:
    """Progress on stderr: bars with percentage and time left on a terminal, timestamped lines
    (``14:02:11 demo: transcribe 40% (eta 0:12)``) in a log or a pipe. Yields the listener for
    stage progress and a function for one-off notes (waiting for another run's lock)."""
    from . import progress

    console = _console()
    if console.is_terminal:
        with progress.rich_display(console) as listener:
            yield listener, lambda slug, text: console.print(f"{slug}: {text}")
        return
    lines = progress.PlainLines(sys.stderr)

    def note(slug: str, text: str) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} {slug}: {text}", err=True)

    yield lines, note


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ppod")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """Turn raw recordings of The P Pod into published, transcribed, tagged episodes."""
    _State.debug = debug


def speech_options(command: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option("--model", help="Speech model: base (default), tiny.en, small, or a folder."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None),
        click.option(
            "--diarizer",
            type=click.Choice(["embedded", "pyannote", "tracks", "none"]),
            default=None,
            help="Who-spoke-when backend (default from show.toml: embedded).",
        ),
        click.option("--no-speech", is_flag=True, help="Skip transcription and diarization."),
        click.option(
            "--allow-download",
            is_flag=True,
            help="Let a model that is not installed be fetched from the Hub (off by default).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _speech(
    model: str | None,
    device: str | None,
    diarizer: str | None,
    no_speech: bool,
    allow_download: bool = False,
):
    from .speech.stage import SpeechOptions

    return SpeechOptions(
        enabled=not no_speech,
        model=model,
        device=device,
        diarizer=diarizer,
        allow_download=allow_download,
    )


@cli.command()
@click.argument("episode_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "output_root",
    type=click.Path(path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Output root folder.",
)
@click.option("--force", is_flag=True, help="Redo every stage, ignoring caches.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@speech_options
@handle_errors
def process(episode_dir: Path, output_root: Path, force: bool, as_json: bool,
            model: str | None, device: str | None, diarizer: str | None,
            no_speech: bool, allow_download: bool) -> None:  # fmt: skip
    """Process one episode folder into OUTPUT/<episode>/."""
    from .pipeline import ProcessOptions, process_episode

    with _progress_display() as (listener, note):
        options = ProcessOptions(
            output_root=_output_folder(output_root),
            force=force,
            speech=_speech(model, device, diarizer, no_speech, allow_download),
            progress=lambda slug, stage: note(slug, stage) if "waiting" in stage else None,
            listener=listener,
        )
        result = process_episode(episode_dir, options)
    if as_json:
        click.echo(json.dumps(result.report, indent=2))
    if not result.ok:
        if _State.debug and result.exception is not None:
            raise result.exception  # returned, not raised, by process_episode: show its traceback
        _fail(result.error or "failed", result.exit_code)
    if not as_json:
        _print_summary(result.report, result.output_dir)


def _print_summary(report: dict[str, Any], output_dir: Path) -> None:
    out = report["loudness"]["output"]
    click.echo(f"{report['episode']}: {output_dir / report['mp3']}")
    click.echo(
        f"  {report['duration']:.1f} s, {out['integrated_lufs']} LUFS, "
        f"true peak {out['true_peak_dbtp']} dBTP, "
        f"speakers: {', '.join(s['name'] for s in report['speakers']) or 'none'}"
    )
    for warning in report.get("warnings", []):
        click.echo(f"  warning: {warning}")
    review = report.get("review")
    if review and review["items"]:
        click.echo(f"  safeguarding review: {review['pending']} of {review['items']} item(s) wait "
                   f"for review ({review['status']}): ppod review {output_dir}")  # fmt: skip


@cli.command()
@handle_errors
def doctor() -> None:
    """Show what is installed; exit non-zero when something required is missing."""
    from .doctor import run_checks

    problems = 0
    for check in run_checks():
        mark = "ok " if check.ok else ("-- " if not check.required else "!! ")
        click.echo(f"{mark} {check.name}: {check.detail}")
        problems += int(check.required and not check.ok)
    if problems:
        _fail(f"{problems} required component(s) missing", 1)


# --- stage commands on any audio file --------------------------------------------------------


def _decode16(path: Path):
    from .api import read_audio

    return read_audio(path)


@cli.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option(
    "--model", default=DEFAULT_MODEL, show_default=True, help="base, tiny.en, small or a folder."
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here, not stdout.")
@click.option("--format", "fmt", type=click.Choice(["json", "txt", "srt", "vtt"]), default="txt")
@click.option("--allow-download", is_flag=True, help="Let a missing model be fetched (off).")
@click.option(
    "--batched", is_flag=True, help="Decode VAD chunks in parallel: faster, but drops words."
)
@handle_errors
def transcribe(
    audio: Path, model: str, device: str, output: Path | None, fmt: str, allow_download: bool,
    batched: bool,
) -> None:  # fmt: skip
    """Transcribe any audio file with faster-whisper (no diarization, no cleaning)."""
    from .api import transcribe as run
    from .fileio import write_text
    from .transcript.standalone import render_words

    result = run(audio, model=model, device=device, allow_download=allow_download, batched=batched)
    text = render_words(result.words, fmt, title=audio.stem, model=result.info.model)
    if output:
        write_text(output, text)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--num-speakers", type=click.IntRange(1, 20), help="The number of voices, if known.")
@click.option("--min-speakers", type=click.IntRange(1, 20), help="At least this many voices.")
@click.option("--max-speakers", type=click.IntRange(1, 20), help="At most this many voices.")
@click.option(
    "--backend", type=click.Choice(["embedded", "pyannote"]), default="embedded",
    show_default=True, help="Diarizer: the embedded one or pyannote.audio.",
)  # fmt: skip
@click.option("--pipeline", "pipeline_path", help="pyannote pipeline folder or config.yaml.")
@click.option("--rttm", type=click.Path(path_type=Path), required=True, help="RTTM file to write.")
@handle_errors
def diarize(audio: Path, num_speakers: int | None, min_speakers: int | None,
            max_speakers: int | None, backend: str, pipeline_path: str | None,
            rttm: Path) -> None:  # fmt: skip
    """Who spoke when in any audio file, written as RTTM."""
    from .api import diarize as run
    from .fileio import atomic_path
    from .speech.turns import write_rttm

    turns = run(
        audio,
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
        backend=backend,
        pipeline=pipeline_path,
    )
    with atomic_path(rttm) as temporary:
        write_rttm(turns, audio.stem.replace(" ", "_"), temporary)
    speakers = sorted({turn.speaker for turn in turns})
    click.echo(f"{len(turns)} turns, {len(speakers)} speakers -> {rttm}")


# --- voiceprints -----------------------------------------------------------------------------


def _library(show_dir: Path) -> Path:
    from .config import load_show

    show = load_show(show_dir)
    return show.path(show.voices)


@cli.group()
def voices() -> None:
    """Enrolled voiceprints that name speakers automatically."""


show_option = click.option(
    "--show", "show_dir", type=click.Path(path_type=Path), default=Path("raw_audio"),
    show_default=True, help="Folder holding show.toml (the library is its `voices` setting).",
)  # fmt: skip


@voices.command("enroll")
@click.argument("name")
@click.argument("audio", nargs=-1, type=click.Path(path_type=Path))
@click.option("--from", "episode", type=click.Path(path_type=Path),
              help="A published episode (output/<episode>) to take the voice from.")  # fmt: skip
@click.option("--speaker", help='With --from: whose turns, as the episode names them ("Speaker 2")')
@show_option
@handle_errors
def voices_enroll(
    name: str, audio: tuple[Path, ...], episode: Path | None, speaker: str | None, show_dir: Path
) -> None:
    """Enroll NAME from clean recordings of their voice, or from their turns in an episode."""
    from .speech.voiceprints import enroll, enroll_from_episode

    if episode is not None:
        if audio or not speaker:
            raise click.UsageError("--from takes --speaker NAME and no audio files")
        voice, turns = enroll_from_episode(_library(show_dir), name, episode, speaker)
        click.echo(f"enrolled {voice.name} from {turns} turn(s) of {speaker} in {episode}, "
                   f"{voice.seconds:.1f} s of speech")  # fmt: skip
        return
    if not audio:
        raise click.UsageError("give audio clips of NAME, or --from output/<episode> --speaker S")
    voice = enroll(_library(show_dir), name, [_decode16(path) for path in audio])
    click.echo(f"enrolled {voice.name} from {len(audio)} clip(s), {voice.seconds:.1f} s of speech")


@voices.command("list")
@show_option
@handle_errors
def voices_list(show_dir: Path) -> None:
    """List enrolled voices."""
    from .speech.voiceprints import list_voices

    library = _library(show_dir)
    found = list_voices(library) if library.is_dir() else []
    if not found:
        click.echo(f"no voices enrolled in {library}")
    for voice in found:
        when = time.strftime("%Y-%m-%d", time.localtime(voice.enrolled_at))
        click.echo(f"{voice.name}\t{voice.seconds:.1f} s of speech\tenrolled {when}")


@voices.command("remove")
@click.argument("name")
@show_option
@handle_errors
def voices_remove(name: str, show_dir: Path) -> None:
    """Remove NAME's voiceprint."""
    from .speech.voiceprints import remove

    remove(_library(show_dir), name)
    click.echo(f"removed {name}")


@cli.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output_root", type=click.Path(path_type=Path),
              default=Path("output"), show_default=True, help="Output root folder.")  # fmt: skip
@click.option("--jobs", type=click.IntRange(1, 256), help="Local workers (default: cores/memory).")
@click.option("--scheduler", help="Dask scheduler address (tcp://host:8786) instead of a pool.")
@click.option("--only", metavar="GLOB", help="Only episode folders whose name matches GLOB.")
@click.option("--dry-run", is_flag=True, help="List what would run and why; process nothing.")
@click.option("--force", is_flag=True, help="Redo every stage, ignoring caches.")
@click.option("--json", "as_json", is_flag=True, help="Print per-episode results as JSON.")
@speech_options
@handle_errors
def batch(root: Path, output_root: Path, jobs: int | None, scheduler: str | None,
          only: str | None, dry_run: bool, force: bool, as_json: bool,
          **speech: Any) -> None:  # fmt: skip
    """Process every episode folder under ROOT (resumable, cached, parallel)."""
    from .batch import BatchOptions, run_cli

    options = BatchOptions(_output_folder(output_root), jobs, scheduler, force, _speech(**speech))
    sys.exit(run_cli(root, options, only, dry_run, as_json))


# --- editing a published episode (library: ppod_audio.edit, ppod_audio.editor) ----------------

output_dir_argument = click.argument("output_dir", type=click.Path(path_type=Path))


@cli.command()
@click.argument("output_dir", type=click.Path(path_type=Path), required=False)
@click.option("--from-text", is_flag=True, help="Fold edits of <episode>.txt in first.")
@click.option("--revert", "revert_to", metavar="[STAMP]", is_flag=False, flag_value="latest",
              default=None, help="Restore a saved version (the newest without STAMP).")  # fmt: skip
@click.option("--list-history", is_flag=True, help="List the saved versions of episode.json.")
@handle_errors
def render(output_dir: Path | None, from_text: bool, revert_to: str | None,
           list_history: bool) -> None:  # fmt: skip
    """Re-publish OUTPUT_DIR (transcripts, MP3 tags) from episode.json; no audio work."""
    from .edit.actions import history_lines, render_command

    if output_dir is None and revert_to and Path(revert_to).is_dir():  # `--revert OUTPUT_DIR`
        output_dir, revert_to = Path(revert_to), "latest"
    if output_dir is None:
        raise click.UsageError("Missing argument 'OUTPUT_DIR'.")
    waiting = lambda: click.echo(f"{output_dir} is locked by another run; waiting", err=True)  # noqa: E731
    lines = history_lines(output_dir) if list_history else render_command(
        output_dir, from_text=from_text, revert_to=revert_to, on_wait=waiting)  # fmt: skip
    click.echo("\n".join(lines))
    if not list_history:
        from .remaster import remaster_if_needed

        result = remaster_if_needed(output_dir)
        if result is not None:
            click.echo(f"  the audio edits changed: re-mastered from the recordings in "
                       f"{result.seconds:.1f} s")  # fmt: skip


@cli.command()
@output_dir_argument
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port on 127.0.0.1 (0: any free one). Default: the episode's own, so the "
                   "browser finds unsaved edits again after a restart.")  # fmt: skip
@click.option("--no-browser", is_flag=True, help="Print the link without opening a browser.")
@handle_errors
def edit(output_dir: Path, port: int | None, no_browser: bool) -> None:
    """Correct OUTPUT_DIR's transcript in a local web page; Ctrl+C stops."""
    import threading
    import webbrowser

    from .editor.server import EditorServer

    server = EditorServer(output_dir, port=port)
    url = server.start()
    click.echo(f"editing {output_dir} at {url}\nsaving re-publishes every output; Ctrl+C stops")
    if not no_browser:
        # The browser gets a file only this user can read, never the token on its command
        # line (where `ps` shows it to everyone).
        webbrowser.open(server.launch_file().as_uri())
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.stop()


@cli.command()
@output_dir_argument
@click.option("--keep", "keep_ids", multiple=True, metavar="ID", help="Mark item ID keep.")
@click.option("--redact", "redact_ids", multiple=True, metavar="ID", help="Mark item ID redact.")
@click.option("--by", help="The reviewer's name, recorded with each decision.")
@click.option("--json", "as_json", is_flag=True, help="Print the review as JSON.")
@click.option(
    "--apply/--no-apply",
    "apply",
    default=True,
    show_default=True,
    help="With --redact: also redact the items' words in the audio and transcripts.",
)
@handle_errors
def review(output_dir: Path, keep_ids: tuple[str, ...], redact_ids: tuple[str, ...],
           by: str | None, as_json: bool, apply: bool) -> None:  # fmt: skip
    """List OUTPUT_DIR's safeguarding review items; mark them keep or redact."""
    from .review import review_command

    result = review_command(output_dir, keep=keep_ids, redact=redact_ids, by=by)
    if redact_ids and apply:
        from .remaster import redact_review_items

        edited = redact_review_items(output_dir, redact_ids)
        if edited is not None:
            click.echo(f"redacted {len(edited.added)} span(s) in the audio and transcripts; "
                       f"re-published in {edited.seconds:.1f} s", err=as_json)  # fmt: skip
            result = review_command(output_dir)
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json") | {"summary": result.summary()},
                              indent=1, ensure_ascii=False))  # fmt: skip
        return
    for item in result.items:
        decided = (f"{item.decision} ({item.decided_by}, {item.decided_at})"
                   if item.decision else "PENDING")  # fmt: skip
        click.echo(f"{item.id}  {_clock(item.start)}-{_clock(item.end)}  {item.kind:<12} "
                   f"{item.text!r}  [{item.speaker or '?'}] {item.why}  {decided}")  # fmt: skip
    summary = result.summary()
    click.echo(f"{summary['items']} item(s), {summary['pending']} pending: {summary['status']}")


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


# --- edits that change the audio ----------------------------------------------------------------


def _selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option("--words", metavar="A-B",
                     help="Word numbers, 0-based, first and last included (the editor's count)."),
        click.option("--phrase", metavar="TEXT", help="The words as the transcript has them."),
        click.option("--all", "every", is_flag=True, help="With --phrase: every place it is said."),
        click.option("--from", "start", type=float, metavar="S",
                     help="Start, seconds on the published MP3 (with --to)."),
        click.option("--to", "end", type=float, metavar="E", help="End, seconds on the MP3."),
        click.option("--undo", is_flag=True,
                     help="Undo the latest redaction or cut (re-masters without it)."),
        click.option("--list", "list_only", is_flag=True, help="List the audio edits; no change."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]  # fmt: skip
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _audio_edit(output_dir: Path, kind: str, *, words: str | None, phrase: str | None,
                every: bool, start: float | None, end: float | None, undo: bool,
                list_only: bool, as_json: bool, mode: str | None = None) -> None:  # fmt: skip
    from .remaster import Selection, apply_edit, list_edits, undo_edit

    if list_only:
        listed = list_edits(output_dir)
        if as_json:
            click.echo(json.dumps([e.model_dump(mode="json") for e in listed], indent=1))
        for e in [] if as_json else listed:
            click.echo(f"{e.id}  {e.kind:<6} {e.start:.3f}-{e.end:.3f} s (recording clock)"
                       f"{'  ' + e.mode if e.mode else ''}  {e.made or ''}")  # fmt: skip
        if not listed and not as_json:
            click.echo("no audio edits")
        return
    console = _console()
    with console.status("re-mastering") as status:
        progress = lambda slug, stage: status.update(f"{slug}: {stage}")  # noqa: E731
        if undo:
            if words or phrase or start is not None or end is not None:
                raise click.UsageError("--undo takes no --words, --phrase, --from or --to")
            result = undo_edit(output_dir, progress=progress)
        else:
            selection = Selection(words=words, phrase=phrase, every=every, start=start, end=end)
            result = apply_edit(output_dir, kind, selection, mode=mode, progress=progress)
    summary = {
        "added": [e.model_dump(mode="json") for e in result.added],
        "undone": [e.model_dump(mode="json") for e in result.removed],
        "seconds": round(result.seconds, 2),
        "duration": result.report.get("duration"),
        "loudness": result.report.get("loudness", {}).get("output"),
        "audio_edits": result.report.get("audio_edits"),
    }
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    for e in result.added:
        click.echo(f"{e.kind} {e.id}: {e.end - e.start:.3f} s")
    for e in result.removed:
        click.echo(f"undid {e.kind} {e.id}")
    click.echo(f"re-mastered from the recordings and re-published in {result.seconds:.1f} s")
    _print_summary(result.report, result.output_dir)


@cli.command()
@output_dir_argument
@_selection_options
@click.option("--mode", type=click.Choice(["tone", "silence"]), default=None,
              help="What replaces the words (default: show.toml's redact_with, tone).")  # fmt: skip
@handle_errors
def redact(output_dir: Path, words: str | None, phrase: str | None, every: bool,
           start: float | None, end: float | None, undo: bool, list_only: bool, as_json: bool,
           mode: str | None) -> None:  # fmt: skip
    """Bleep (or silence) words in OUTPUT_DIR's audio; "[redacted]" in every transcript."""
    _audio_edit(output_dir, "redact", words=words, phrase=phrase, every=every, start=start,
                end=end, undo=undo, list_only=list_only, as_json=as_json, mode=mode)  # fmt: skip


@cli.command()
@output_dir_argument
@_selection_options
@handle_errors
def cut(output_dir: Path, words: str | None, phrase: str | None, every: bool,
        start: float | None, end: float | None, undo: bool, list_only: bool,
        as_json: bool) -> None:  # fmt: skip
    """Remove a span from OUTPUT_DIR's audio; every later time moves up by its length."""
    _audio_edit(output_dir, "cut", words=words, phrase=phrase, every=every, start=start,
                end=end, undo=undo, list_only=list_only, as_json=as_json)  # fmt: skip


@cli.group()
def glossary() -> None:
    """The show glossary: corrections applied to every transcript."""


@glossary.command("learn")
@output_dir_argument
@click.option("--yes", is_flag=True, help="Add every proposal without asking.")
@click.option("--show", "show_dir", type=click.Path(path_type=Path), default=None,
              help="Folder with show.toml [default: the episode's, else raw_audio].")  # fmt: skip
@handle_errors
def glossary_learn(output_dir: Path, yes: bool, show_dir: Path | None) -> None:
    """Propose glossary entries from the corrections made to OUTPUT_DIR's transcript."""
    from .edit.learn import add_replacements, current_glossary, glossary_file, proposals_for

    path = glossary_file(output_dir, show_dir)
    proposals = proposals_for(output_dir, current_glossary(path))
    if not proposals:
        click.echo("no new corrections to learn")
        return
    accepted = []
    for p in proposals:
        question = f'"{p.wrong}" -> "{p.right}" (corrected {p.count}x)'
        if yes:
            click.echo(question)
        if yes or click.confirm(f"{question}: add?", default=True):
            accepted.append(p)
    add_replacements(path, accepted)
    click.echo(f"added {len(accepted)} of {len(proposals)} to {path}")


def main() -> None:
    cli()
