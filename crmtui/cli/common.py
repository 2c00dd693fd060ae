"""What every command shares: the database session, output as text or JSON, and errors."""

import contextlib
import dataclasses
import datetime as dt
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import click

from crmtui.config import ConfigError
from crmtui.i18n import _
from crmtui.store import db as store_db
from crmtui.store import users
from crmtui.store.errors import DatabaseFailure, StoreError
from crmtui.store.types import Actor


@dataclasses.dataclass
class CliState:
    target: str
    user_name: str | None = None  # --user
    actor: Actor | None = None
    opened: bool = False


def _open(ctx: click.Context) -> CliState:
    """Open the database the user chose, once per command."""
    state: CliState = ctx.find_object(CliState)
    if not state.opened:
        store_db.open_database(state.target)
        ctx.find_root().call_on_close(store_db.close_database)
        state.opened = True
    return state


def acting_user(ctx: click.Context | None = None) -> Actor:
    """Open the database the user chose (once per command) and return who is acting: the
    user logged in with `--user` once users have passwords, else the single-user-mode admin."""
    ctx = ctx or click.get_current_context()
    state = _open(ctx)
    if state.actor is None:
        if not users.login_required():
            _no_user_option(state)
            state.actor = users.local_actor()
        elif state.user_name is None:
            raise click.ClickException(
                _(
                    "this database has users with passwords: log in with "
                    "`crmtui --user NAME …` (the password is asked, or read from {env})"
                ).format(env="CRMTUI_PASSWORD")
            )
        else:
            from crmtui.cli.login import log_in  # argon2 loads only when a login is asked

            state.actor = log_in(state.user_name)
    return state.actor


def app_actor(ctx: click.Context) -> Actor | None:
    """Who the app acts for from the start: None when users have passwords, and the app's
    login screen must ask (`--user` then only fills in the user name)."""
    state = _open(ctx)
    if users.login_required():
        return None
    _no_user_option(state)
    return users.local_actor()


def _no_user_option(state: CliState) -> None:
    if state.user_name is not None:
        raise click.ClickException(
            _(
                "--user: no user of this database has a password, so crmtui asks for no login "
                "(single-user mode); `crmtui user add NAME --role admin` adds the first"
            )
        )


def database_target(ctx: click.Context | None = None) -> str:
    ctx = ctx or click.get_current_context()
    return ctx.find_object(CliState).target


def _json_default(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def echo_json(value: object) -> None:
    """Write `value` (dataclasses, lists of them, dicts) as JSON on stdout."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    click.echo(json.dumps(value, default=_json_default, ensure_ascii=False, indent=2))


json_option = click.option("--json", "as_json", is_flag=True, help=_("Write JSON instead of text."))
yes_option = click.option("--yes", "-y", is_flag=True, help=_("Do not ask for confirmation."))


def confirm_unless_yes(yes: bool, question: str) -> None:
    """Ask `question` on a terminal (no: abort); a script must say --yes instead."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(_("not a terminal: confirm with --yes"))
    click.confirm(question, abort=True)


def _one_line(message: str) -> str:
    """Driver messages can span lines; a script reads one line per error."""
    return " ".join(message.split())


class ErrorHandlingGroup(click.Group):
    """A click group that turns every refusal into one readable line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (StoreError, ConfigError) as exc:
            raise click.ClickException(_one_line(str(exc))) from None
        except DatabaseFailure as exc:
            raise click.ClickException(
                _("the database refused the request: {error}").format(error=_one_line(str(exc)))
            ) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("CRMTUI_DEBUG"):
                raise
            print(
                _("crmtui: internal error: {error} (set CRMTUI_DEBUG=1 to see where)").format(
                    error=f"{type(exc).__name__}: {exc}"
                ),
                file=sys.stderr,
            )
            ctx.exit(1)


class LazyGroup(ErrorHandlingGroup):
    """A group whose subcommands are imported only when one is run or listed (click's lazy
    loading pattern): opening the app needs none of them (start-up time).

    `lazy_subcommands` maps each command's name to `"module:attribute"`.
    """

    def __init__(self, *args: Any, lazy_subcommands: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands and cmd_name not in self.commands:
            module, attribute = self.lazy_subcommands[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


# Called with a bar's label, the count done and the count in all (None: not known).
Progress = Callable[[str, int, int | None], None]


@contextlib.contextmanager
def progress_bars(unit: str) -> Iterator[Progress | None]:
    """Progress bars with counts and the rate in `unit`s a second, one per label, on a
    terminal; None when stdout is not a terminal, so logs and pipes stay clean."""
    if not sys.stdout.isatty():
        yield None
        return
    # Imported here: every other command starts faster without it.
    from rich import progress as p
    from rich.text import Text

    class RateColumn(p.ProgressColumn):
        def render(self, task: p.Task) -> Text:
            speed = task.finished_speed or task.speed
            text = _("{rate:,.0f} {unit}/s").format(rate=speed, unit=unit) if speed else ""
            return Text(text, style="progress.data.speed")

    columns = (p.BarColumn(), p.MofNCompleteColumn(), RateColumn(), p.TimeRemainingColumn())
    # Transient: once done, the summary line is all that stays on the screen.
    with p.Progress(p.TextColumn("{task.description}"), *columns, transient=True) as bars:
        tasks: dict[str, p.TaskID] = {}

        def update(label: str, done: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = bars.add_task(label, total=total)
            bars.update(tasks[label], completed=done)

        yield update


def counted(bars: Progress | None) -> Callable[[str, int], None] | None:
    """`bars` as a transfer reports to them (`crmtui.transfer.progress.Progress`: a stage and
    the rows done, the total not known); None without bars."""
    if bars is None:
        return None
    return lambda label, done: bars(label, done, None)
