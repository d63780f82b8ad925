"""The ``ppod`` command: thin Click commands over the library.

Commands parse arguments, call one library function and print its result; no logic lives here.
Expected failures (``PpodError``) print one line naming the file and the fix and exit 2 (bad
input) or 1 (processing failed); ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import InputError, PpodError


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
        except KeyboardInterrupt:
            _fail("interrupted; outputs already published are intact, run again to resume", 1)

    return wrapper


def _console():
    from rich.console import Console

    return Console(stderr=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ppod")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """Turn raw recordings of The P Pod into published, transcribed, tagged episodes."""
    _State.debug = debug


def speech_options(command: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option("--model", help="Speech model: tiny.en (default), base, small, or a folder."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None),
        click.option(
            "--diarizer",
            type=click.Choice(["embedded", "pyannote", "tracks", "none"]),
            default=None,
            help="Who-spoke-when backend (default from show.toml: embedded).",
        ),
        click.option("--no-speech", is_flag=True, help="Skip transcription and diarization."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _speech(model: str | None, device: str | None, diarizer: str | None, no_speech: bool):
    from .speech.stage import SpeechOptions

    return SpeechOptions(enabled=not no_speech, model=model, device=device, diarizer=diarizer)


@cli.command()
@click.argument("episode_dir", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output_root", type=click.Path(path_type=Path),
              default=Path("output"), show_default=True, help="Output root folder.")
@click.option("--force", is_flag=True, help="Redo every stage, ignoring caches.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@speech_options
@handle_errors
def process(episode_dir: Path, output_root: Path, force: bool, as_json: bool,
            model: str | None, device: str | None, diarizer: str | None,
            no_speech: bool) -> None:  # fmt: skip
    """Process one episode folder into OUTPUT/<episode>/."""
    from .pipeline import ProcessOptions, process_episode

    console = _console()
    with console.status("starting") as status:
        options = ProcessOptions(
            output_root=output_root,
            force=force,
            speech=_speech(model, device, diarizer, no_speech),
            progress=lambda slug, stage: status.update(f"{slug}: {stage}"),
        )
        result = process_episode(episode_dir, options)
    if as_json:
        click.echo(json.dumps(result.report, indent=2))
    if not result.ok:
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


def main() -> None:
    cli()
