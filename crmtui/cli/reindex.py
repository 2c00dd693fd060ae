"""`crmtui reindex`: build the search index afresh."""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from crmtui.cli.common import acting_user, echo_json, json_option
from crmtui.i18n import _
from crmtui.store.search import rebuild_search_index


@contextmanager
def _progress_bar() -> Iterator[Callable[[int], None] | None]:
    """A progress callback drawing a bar on a terminal; None in a pipe, so logs stay clean."""
    if not sys.stdout.isatty():
        yield None
        return
    from rich import progress as p  # imported here: every other command starts faster without it

    columns = (
        p.TextColumn(_("Indexing customers")),
        p.SpinnerColumn(),
        p.TextColumn("{task.completed:,}"),
    )
    with p.Progress(*columns, transient=True) as bar:
        task = bar.add_task("", total=None)
        yield lambda done: bar.update(task, completed=done)


@click.command(
    help=_(
        "Build the search index afresh from every customer and its contacts. Needed once for "
        "a database made before search existed, or after rows were changed by hand (outside "
        "crmtui). Other users can search meanwhile; their changes wait until it is done."
    )
)
@json_option
def reindex(as_json: bool) -> None:
    actor = acting_user()
    started = time.perf_counter()
    with _progress_bar() as progress:
        customers = rebuild_search_index(actor, progress)
    seconds = time.perf_counter() - started
    if as_json:
        echo_json({"customers": customers, "seconds": round(seconds, 3)})
        return
    click.echo(
        _("Indexed {customers:,} customers in {seconds:.1f} s.").format(
            customers=customers, seconds=seconds
        )
    )
