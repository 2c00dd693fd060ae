"""The customer table's export and import: a dialog, the work in a thread with a bar under the
table (which the user goes on using), then what happened.

The work is `crmtui.transfer`'s, the same as `crmtui export` and `crmtui import` do; this module
only asks, runs it off the screen's thread, and tells.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from textual.css.query import NoMatches
from textual.widgets import Footer
from textual.worker import WorkerFailed

from crmtui.i18n import _
from crmtui.messages import CustomersChanged
from crmtui.screens.confirm import ConfirmScreen
from crmtui.screens.customers import TRANSFER_GROUP, CustomersScreen, describe
from crmtui.screens.export_dialog import ExportScreen
from crmtui.screens.import_dialog import ImportScreen
from crmtui.screens.import_report import ImportReportScreen
from crmtui.store.db import close_database
from crmtui.store.errors import StoreError
from crmtui.transfer import exporting, importing
from crmtui.transfer.errors import TransferError
from crmtui.transfer.paths import shown_path
from crmtui.widgets.transfer_bar import TransferBar

T = TypeVar("T")

_THREAD_GROUP = "transfer-thread"


def running(screen: CustomersScreen) -> bool:
    """Whether an import or export started on `screen` is still going."""
    return any(
        worker.node is screen and worker.group == TRANSFER_GROUP and worker.is_running
        for worker in screen.app.workers
    )


async def _bar(screen: CustomersScreen) -> TransferBar:
    """The screen's progress line, mounted over the footer when first wanted."""
    try:
        return screen.query_one(TransferBar)
    except NoMatches:
        bar = TransferBar(id="transfer-bar")
        await screen.mount(bar, before=screen.query_one(Footer))
        return bar


async def _in_thread(screen: CustomersScreen, job: Callable[[], T]) -> T:
    """Run `job` in a thread and wait for it without holding up the screen; its error, if
    any, is raised here."""

    def work() -> T:
        try:
            return job()
        finally:
            # Peewee's connections are per thread: this one is the worker's own, and done.
            close_database()

    worker = screen.run_worker(work, group=_THREAD_GROUP, thread=True, exit_on_error=False)
    try:
        return await worker.wait()
    except WorkerFailed as failed:
        raise failed.error from None


# --- Export ---------------------------------------------------------------------------------


async def export_view(screen: CustomersScreen) -> None:
    """Ask for a file, then write the customers the table shows to it, in the table's order."""
    app = screen.app
    table = screen.table
    query, total = table.query, table.total
    what = " · ".join(describe(query, total))
    offered = exporting.default_path("customers", dt.date.today())
    request = await app.push_screen_wait(ExportScreen(what, shown_path(offered)))
    if request is None:
        return
    if request.path.exists() and not request.path.is_dir():  # a folder: the write says why
        question = _("{path} exists. Replace it?").format(path=request.path)
        confirmed = await app.push_screen_wait(
            ConfirmScreen(question, title=_("Export"), confirm_label=_("Replace"), danger=True)
        )
        if not confirmed:
            return
    bar = await _bar(screen)
    bar.start(exporting.EXPORTING, {exporting.EXPORTING: total})
    try:
        count = await _in_thread(
            screen,
            lambda: exporting.export_to_file(
                screen.actor,
                "customers",
                request.path,
                query,
                fmt=request.fmt,
                excel=request.excel,
                in_table_order=True,
                progress=bar.report,
            ),
        )
    except (TransferError, StoreError) as error:
        screen.notify(str(error), severity="error", title=_("Nothing was exported"))
        return
    finally:
        bar.finish()
    screen.notify(exporting.done_text(count, request.path))


# --- Import ---------------------------------------------------------------------------------


async def import_file(screen: CustomersScreen) -> None:
    """Ask for a file and options; check it (a dry run) and show what would happen; on yes,
    import it, then say what was done and show the table as it is now."""
    app = screen.app
    options = await app.push_screen_wait(ImportScreen())
    if options is None:
        return
    bar = await _bar(screen)
    bar.start(importing.CHECKING)
    try:
        preview = await _in_thread(
            screen,
            lambda: importing.run_import(
                screen.actor, replace(options, dry_run=True), progress=bar.report
            ),
        )
    except (TransferError, StoreError) as error:
        screen.notify(str(error), severity="error", title=_("Nothing was imported"))
        return
    finally:
        bar.finish()
    if options.dry_run:
        await app.push_screen_wait(ImportReportScreen(preview, "dry-run"))
        return
    if preview.failed:  # the import would write nothing: say why, rather than ask
        await app.push_screen_wait(ImportReportScreen(preview, "failed"))
        return
    if not await app.push_screen_wait(ImportReportScreen(preview, "ask")):
        return
    # Both stages' totals are known now: the check counted the rows, and those it would write.
    totals = {
        importing.CHECKING: preview.rows,
        importing.writing(options.kind): preview.rows - preview.summary.rejected,
    }
    bar.start(importing.CHECKING, totals)
    try:
        result = await _in_thread(
            screen, lambda: importing.run_import(screen.actor, options, progress=bar.report)
        )
    except (TransferError, StoreError) as error:
        screen.notify(str(error), severity="error", title=_("Nothing was imported"))
        return
    finally:
        bar.finish()
    if result.failed:  # rows turned bad since the check (someone saved a duplicate meanwhile)
        await app.push_screen_wait(ImportReportScreen(result, "failed"))
        return
    app.post_message(CustomersChanged())
    screen.notify(result.text(), title=_("Imported"), timeout=15)
