"""Every command and option explains itself (`--help`)."""

import click
import pytest
from click.testing import CliRunner

from crmtui.cli import main


def _subcommand(group: click.Group, name: str) -> click.Command:
    """A group's command by name, through click's interface (the top level loads lazily)."""
    command = group.get_command(click.Context(group), name)
    assert command is not None, name
    return command


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name in group.list_commands(click.Context(group)):
        command = _subcommand(group, name)
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*path, name)))
        else:
            found.append((*path, name))
    return found


ALL_COMMANDS = _commands(main)


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = _subcommand(command, name)
    return command


def test_the_expected_commands_exist() -> None:
    names = {" ".join(path) for path in ALL_COMMANDS}
    for expected in [
        "customer add", "customer list", "customer show", "customer edit", "customer delete",
        "customer history", "followup add", "followup list", "followup done", "followup snooze",
        "field add", "field list", "field remove", "demo", "doctor",
        "backup", "backup keygen", "backup verify", "backup list", "restore",
        "audit", "audit verify",
    ]:  # fmt: skip
        assert expected in names


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "crmtui")
def test_every_command_and_option_has_help(path: tuple[str, ...]) -> None:
    command = _command(path)
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts[0]} has no help"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert command.help.split("\n")[0][:30] in " ".join(result.output.split())
