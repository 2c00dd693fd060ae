"""`crmtui demo`: fill the database with realistic customers and their history."""

import time

import click

from crmtui.cli.common import acting_user, echo_json, json_option, progress_bars
from crmtui.i18n import _
from crmtui.store.demo import load_demo


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
    with progress_bars(_("customers")) as bars:
        progress = None if bars is None else lambda done: bars(_("Creating customers"), done, count)
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
