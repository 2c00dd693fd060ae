"""Follow-up queue latency: opening the queue and each triage action, at a million follow-ups.

Usage:
    .venv/bin/python bench/bench_queue.py                     # 100,000 customers, 1,000,000 f-ups
    .venv/bin/python bench/bench_queue.py --customers 10000 --followups 100000 --runs 20
    .venv/bin/python bench/bench_queue.py --db postgresql://postgres@127.0.0.1:5432/test

Makes its own data: a SQLite file in a temporary folder, or with `--db postgresql://…` a
fresh schema in that PostgreSQL database, dropped at the end. The crmtui schema is made by the
store; the rows are written with one `executemany` per table (SQLite) or `COPY` (PostgreSQL),
then the tables are analysed (PostgreSQL: `VACUUM ANALYZE`). 20 sales users own the
customers evenly; 5% are key accounts, last contacted 0–120 days ago. Follow-ups: 70% done
(due in the last two years), 3% open and overdue (up to 60 days), 27% open and upcoming (up
to a year ahead), 1% of the open ones waiting; priorities low/normal/high/urgent
20/55/20/5%. Service items: one per two customers, a tenth of them open past their due date.

Measured through the store, for one user, as the queue screen calls it:

- opening the queue: what `QueueScreen.reload` reads, `read_queue(first=PAGE)` (the counts
  in the headings, the status line and the header, and the first PAGE items; the list reads
  the rest of a section with `read_section` when it gets there, timed as "the next page");
  `list_queue` (every item the screen can list, without the counts: what the screen read
  before it paged); everyone's queue opened (`e`) and listed (`crmtui followups --all`);
- `list_queue(within="today")` (the CLI's `crmtui followups --today`) and `count_overdue`
  (the header's count when no queue was just read: every minute, or after a change made
  elsewhere);
- the triage actions complete (with an outcome: the communication is logged), snooze and
  reassign, each on a different overdue follow-up: the store call alone, and the store call
  with the reads the screen makes around it (see `SCREEN_ROUND`).

The reference, in the same run: a primary-key lookup of one follow-up through a bare
connection to the same database (APSW, or psycopg), so the ratio compares runs on a noisy
machine.
"""

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw
import peewee

from crmtui.screens.queue import PAGE
from crmtui.store import db as store_db
from crmtui.store import followups, queue
from crmtui.store import models as m
from crmtui.store.types import Actor

USERS = 20
PRIORITIES = (("low", 20), ("normal", 55), ("high", 20), ("urgent", 5))
# What a triage action costs on the queue screen, in store calls (crmtui/screens/queue.py):
# the dialog closes without reading (the screen reloads on resume only when back from another
# screen); the store call; `_changed` reads the queue again (one opening, `read_queue` of the
# counts and the first PAGE items, the cursor being near the top) and
# posts CustomersChanged with the overdue count that reading gave, which the app's header
# shows without counting again, and tells every other screen. The customer table under the
# queue reloads then; that is the table's cost (see its own benchmark), not the queue's, and
# is left out.
SCREEN_ROUND = "action + opening (read_queue(first=PAGE))"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(sep=" ")


def write_rows(model: type[peewee.Model], given: str, rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows of `model` in one transaction: `executemany` on SQLite, `COPY` on
    PostgreSQL. Each row holds values for the columns `given` (comma-separated); every other
    column gets the model's default (or NULL), so a column added to the model needs nothing
    here."""
    names = [name.strip() for name in given.split(",")]
    rest = [
        field
        for field in model._meta.sorted_fields
        if field is not model._meta.primary_key and field.column_name not in names
    ]
    fill = []
    for field in rest:
        if field.default is None or callable(field.default):
            if not field.null:
                raise ValueError(f"{model.__name__}.{field.name}: give it a value")
            fill.append(None)
        else:
            fill.append(field.db_value(field.default))
    columns = ", ".join([*names, *(field.column_name for field in rest)])
    table = model._meta.table_name
    full = (tuple(row) + tuple(fill) for row in rows)
    database = store_db.current_database()
    with database.atomic():
        if store_db.is_postgres():
            copying = f'COPY "{table}" ({columns}) FROM STDIN'
            with database.cursor() as cursor, cursor.copy(copying) as copy:
                for row in full:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * (len(names) + len(rest)))
            database.cursor().executemany(
                f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', full
            )


def generate(n_customers: int, n_followups: int, seed: int = 4) -> list[int]:
    """Write the data into the open database; return the user ids."""
    rng = random.Random(seed)
    now = m.utcnow()
    database = store_db.current_database()
    write_rows(
        m.User,
        "name, role, created_at",
        [(f"sales{n:02}", "sales", iso(now)) for n in range(USERS)],
    )
    user_ids = [row[0] for row in database.execute_sql('SELECT id FROM "user" ORDER BY id')]
    customers = []
    for n in range(n_customers):
        created = iso(now - dt.timedelta(days=rng.uniform(200, 1000)))
        contact = now - dt.timedelta(days=rng.uniform(0, 120)) if rng.random() < 0.95 else None
        key = rng.random() < 0.05
        owner = user_ids[n % USERS]
        contacted = iso(contact) if contact else None
        customers.append((f"客户{n}", owner, key, contacted, "active", created, created))
    write_rows(
        m.Customer,
        "name, owner_id, key_account, last_contact_at, stage, created_at, updated_at",
        customers,
    )
    priorities = [p for p, _w in PRIORITIES]
    weights = [w for _p, w in PRIORITIES]

    def followup_rows() -> Iterator[tuple[Any, ...]]:
        for n in range(n_followups):
            customer = rng.randrange(n_customers)
            assignee = user_ids[customer % USERS] if rng.random() < 0.9 else rng.choice(user_ids)
            roll = rng.random()
            waiting = None
            if roll < 0.70:
                due = now - dt.timedelta(days=rng.uniform(1, 730))
                status, done_at = "done", iso(due + dt.timedelta(hours=rng.uniform(0, 72)))
            else:
                status, done_at = "open", None
                if roll < 0.73:
                    due = now - dt.timedelta(days=rng.uniform(0, 60))
                else:
                    due = now + dt.timedelta(days=rng.uniform(0, 365))
                if rng.random() < 0.01:
                    waiting = iso(now + dt.timedelta(days=rng.uniform(1, 14)))
            yield (
                customer + 1,
                f"follow-up {n}",
                iso(due.replace(microsecond=0)),
                rng.choices(priorities, weights)[0],
                assignee,
                status,
                waiting,
                done_at,
                iso(now),
                iso(now),
            )

    rows = followup_rows()
    while batch := [row for _n, row in zip(range(100_000), rows, strict=False)]:
        write_rows(
            m.FollowUp,
            "customer_id, title, due_at, priority, assignee_id, status, snoozed_until,"
            " done_at, created_at, updated_at",
            batch,
        )
    services = []
    for _n in range(n_customers // 2):
        opened = (now - dt.timedelta(days=rng.uniform(0, 700))).date()
        due = opened + dt.timedelta(days=14)
        late = due < now.date() and rng.random() < 0.1
        status = rng.choice(("open", "in_progress")) if late or due >= now.date() else "closed"
        customer = rng.randrange(n_customers) + 1
        services.append(
            (customer, "fix", opened.isoformat(), due.isoformat(), status, iso(now), iso(now))
        )
    write_rows(
        m.ServiceItem,
        "customer_id, title, opened_on, due_on, status, created_at, updated_at",
        services,
    )
    return user_ids


def timed(
    measures: dict[str, tuple[Callable[[], object], int]], rounds: int
) -> dict[str, list[float]]:
    """Time each measure's action its number of times, taking turns over `rounds` rounds
    (a measure of 2 × rounds runs twice a round, one of rounds / 2 every other round), so a
    change in the machine's load falls on every measure alike."""
    samples: dict[str, list[float]] = {name: [] for name in measures}
    for n in range(rounds):
        for name, (action, runs) in measures.items():
            for _time in range((n + 1) * runs // rounds - n * runs // rounds):
                start = time.perf_counter()
                action()
                samples[name].append((time.perf_counter() - start) * 1000)
    return samples


@contextmanager
def sqlite_target() -> Iterator[tuple[str, Callable[[], Any]]]:
    """A new SQLite file, and how to open a bare (reference) connection to it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "queue.db"
        yield str(path), lambda: apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)


@contextmanager
def postgres_target(url: str) -> Iterator[tuple[str, Callable[[], Any]]]:
    """A new schema in the database at `url`, dropped afterwards; connections to the URL
    returned see only that schema."""
    import psycopg

    schema = f"bench_queue_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    target = f"{url}{separator}options=-csearch_path%3D{schema}"
    try:
        yield target, lambda: psycopg.connect(target, autocommit=True)
    finally:
        store_db.close_database()
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def analyse(target: str) -> str:
    """Gather the planner's statistics; return the size of the data."""
    database = store_db.current_database()
    if not store_db.is_postgres():
        database.execute_sql("ANALYZE")
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return f"{Path(target).stat().st_size >> 20} MB"
    import psycopg

    # VACUUM as autovacuum would have by now: the visibility map lets the planner use
    # index-only scans. It cannot run inside a transaction: a connection of its own.
    with psycopg.connect(target, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        size = connection.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchone()[0]
    return f"{int(size) >> 20} MB"


def backend_version() -> str:
    if store_db.is_postgres():
        row = store_db.current_database().execute_sql("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0]} (psycopg)"
    return f"SQLite {apsw.sqlite_lib_version()} (APSW)"


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--db",
        default="",
        metavar="URL",
        help="a PostgreSQL URL: the data goes in a new schema there (default: a SQLite file)",
    )
    args = parser.parse_args()
    if args.db and not store_db.is_postgres_url(args.db):
        parser.error("--db takes a postgresql:// URL; SQLite is the default")
    target_of = postgres_target(args.db) if args.db else sqlite_target()
    with target_of as (target, bare_connection):
        start_load = load()
        start = time.perf_counter()
        store_db.open_database(target)
        user_ids = generate(args.customers, args.followups)
        size = analyse(target)
        print(
            f"{backend_version()}: {args.customers:,} customers, {args.followups:,} follow-ups"
            f" generated in {time.perf_counter() - start:.1f} s, {size}"
        )
        actor = Actor(user_ids[0], "sales00", "sales")
        view = queue.read_queue(actor)
        items, counts = view.items, view.counts
        by_kind = {k: sum(1 for i in items if i.kind == k) for k in queue.KINDS}
        print(f"queue of {actor.name}: {len(items)} items listable {by_kind}, in all {counts}")

        overdue = queue.list_queue(actor, within="overdue", limit=None)
        print(f"overdue, unlimited: {len(overdue)} items")
        runs = args.runs
        overdue_followups = [i for i in overdue if i.kind == "followup"]
        if len(overdue_followups) < 6 * runs:
            sys.exit(f"too few overdue follow-ups ({len(overdue_followups)}) for the actions")
        targets = iter(overdue_followups)
        reference_db = bare_connection()
        ids = [i.id for i in overdue_followups]
        lookup_sql = "SELECT * FROM follow_up WHERE id = " + ("%s" if args.db else "?")

        def lookup() -> None:
            reference_db.execute(lookup_sql, (random.choice(ids),)).fetchall()

        def open_queue() -> None:
            queue.read_queue(actor, first=PAGE)  # QueueScreen.reload, the cursor at the top

        def complete() -> None:
            item = next(targets)
            followups.complete_followup(actor, item.id, "called, all fine", item.version)

        def snooze() -> None:
            item = next(targets)
            followups.snooze_followup(actor, item.id, "+1w", item.version)

        def reassign() -> None:
            item = next(targets)
            followups.update_followup(actor, item.id, {"assignee": "sales01"}, item.version)

        def on_screen(action: Callable[[], None]) -> Callable[[], None]:
            def round_trip() -> None:  # SCREEN_ROUND
                action()
                open_queue()

            return round_trip

        results = timed(
            {
                "reference: primary-key lookup (bare driver)": (lookup, runs * 4),
                "open the queue (read_queue, first page)": (open_queue, runs),
                "  the next page (read_section overdue)": (
                    lambda: queue.read_section(actor, "overdue", offset=PAGE, limit=PAGE),
                    runs,
                ),
                "  list_queue (all listable items, no counts)": (
                    lambda: queue.list_queue(actor),
                    runs,
                ),
                "list_queue(within='today')": (
                    lambda: queue.list_queue(actor, within="today"),
                    runs,
                ),
                "count_overdue (header)": (lambda: followups.count_overdue(actor), runs),
                "complete (outcome logged)": (complete, runs),
                "snooze +1w": (snooze, runs),
                "reassign": (reassign, runs),
                "complete, with the screen's reads": (on_screen(complete), runs),
                "snooze, with the screen's reads": (on_screen(snooze), runs),
                "reassign, with the screen's reads": (on_screen(reassign), runs),
                "open everyone's queue (read_queue, first page)": (
                    lambda: queue.read_queue(actor, everyone=True, first=PAGE),
                    max(5, runs // 5),
                ),
                "list_queue everyone (--all)": (
                    lambda: queue.list_queue(actor, everyone=True),
                    max(5, runs // 5),
                ),
            },
            runs,
        )
        reference_db.close()
        reference = statistics.median(results["reference: primary-key lookup (bare driver)"])
        print(
            f"\nPython {platform.python_version()}, {backend_version()};"
            f" load average (1 min) {start_load} at the start, {load()} at the end"
        )
        print(f"the screen's reads around an action: {SCREEN_ROUND}")
        print(f"{'measure':46} {'runs':>5} {'median ms':>10} {'p95 ms':>8} {'ratio':>8}")
        for name, samples in results.items():
            median = statistics.median(samples)
            print(
                f"{name:46} {len(samples):5} {median:10.3f} {percentile(samples, 95):8.3f}"
                f" {median / reference:7.0f}×"
            )
        store_db.close_database()
    sys.exit(0)


if __name__ == "__main__":
    main()
