"""`crmtui demo`: fill the database with realistic customers and their history."""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from crmtui.cli.common import acting_user, echo_json, json_option
from crmtui.i18n import _
from crmtui.store.demo import load_demo


@contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress callback drawing a bar on a terminal; None in a pipe, so logs stay clean."""
    if not sys.stdout.isatty():
        yield None
        return
    # Imported here: every other command starts faster without it.
    from rich import progress as p
    from rich.text import Text

    class RateColumn(p.ProgressColumn):
        def render(self, task: p.Task) -> Text:
            speed = task.finished_speed or task.speed
            text = _("{rate:,.0f} customers/s").format(rate=speed) if speed else ""
            return Text(text, style="progress.data.speed")

    columns = (p.BarColumn(), p.MofNCompleteColumn(), RateColumn(), p.TimeRemainingColumn())
    # Transient: once done, the summary line is all that stays on the screen.
    with p.Progress(p.TextColumn(_("Creating customers")), *columns, transient=True) as bar:
        task = bar.add_task("", total=total)
        yield lambda done: bar.update(task, completed=done)


@click.command(
    help=_(
        "Fill the database with demo customers and three years of their history: contacts, "
        "purchases, communications, service items, feedback and follow-ups (some overdue). "
        "The same seed gives the same data."
    )
)
@click.option(
    "--customers",
    "count",
    type=int,
    required=True,
    metavar="N",
    help=_("How many customers to create (1 to 2,000,000)."),
)
@click.option("--seed", type=int, default=1, show_default=True, help=_("Random seed."))
@json_option
def demo(count: int, seed: int, as_json: bool) -> None:
    actor = acting_user()
    started = time.perf_counter()
    with _progress_bar(count) as progress:
        summary = load_demo(actor, count, seed=seed, progress=progress)
    seconds = time.perf_counter() - started
    if as_json:
        echo_json({**summary.__dict__, "total": summary.total, "seconds": round(seconds, 3)})
        return
    click.echo(
        _(
            "Created {customers:,} customers with {rows:,} rows in all ({purchases:,} purchases, "
            "{communications:,} communications, {followups:,} follow-ups) in {seconds:.1f} s "
            "({rate:,.0f} rows/s)."
        ).format(
            customers=summary.customers,
            rows=summary.total,
            purchases=summary.purchases,
            communications=summary.communications,
            followups=summary.followups,
            seconds=seconds,
            rate=summary.total / seconds if seconds else 0,
        )
    )
