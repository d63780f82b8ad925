"""Every command is documented: help text in the CLI and a line in the README (as sqlite-utils'
docs tests do), so a command cannot ship that a newcomer never hears of."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from conftest import REPO

from ppod_audio.cli import cli


def commands(group: click.Group, prefix: str = "ppod") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


ALL = list(commands(cli))


def test_there_are_commands_to_check() -> None:
    assert {"ppod process", "ppod render", "ppod voices enroll"} <= {path for path, _ in ALL}
    assert (cli.help or "").strip(), "ppod --help has no summary"


@pytest.mark.parametrize(("path", "command"), ALL, ids=[path for path, _ in ALL])
def test_command_has_help_and_is_in_the_readme(path: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{path} has no help text"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert path in readme, f"{path} is not mentioned in README.md"
    for parameter in command.params:
        if isinstance(parameter, click.Option) and not parameter.hidden:
            explained = (parameter.help or "").strip() or any(o in readme for o in parameter.opts)
            assert explained, f"{path} {parameter.opts[0]}: no help text and not in README.md"
