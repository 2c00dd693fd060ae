"""Follow-up queue latency: opening the queue and each triage action, at a million follow-ups.

Usage:
    .venv/bin/python bench/bench_queue.py                     # 100,000 customers, 1,000,000 f-ups
    .venv/bin/python bench/bench_queue.py --customers 10000 --followups 100000 --runs 20

Makes its own SQLite file in a temporary folder (the crmtui schema, rows written with one
`executemany` per table): 20 sales users own the customers evenly; 5% are key accounts, last
contacted 0–120 days ago. Follow-ups: 70% done (due in the last two years), 3% open and
overdue (up to 60 days), 27% open and upcoming (up to a year ahead), 1% of the open ones
waiting; priorities low/normal/high/urgent 20/55/20/5%. Service items: one per two
customers, a tenth of them open past their due date.

Measured through the store, as the queue screen calls it, for one user: `list_queue` (the
whole queue, default limit), `list_queue(within="today")`, `count_overdue`, and the triage
actions complete (with an outcome: the communication is logged), snooze and reassign, each on
a different overdue follow-up. The reference, in the same run: a primary-key lookup of one
follow-up through a bare APSW connection to the same file.
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
from collections.abc import Callable
from pathlib import Path

import apsw

from crmtui.store import db as store_db
from crmtui.store import followups, queue
from crmtui.store import models as m
from crmtui.store.types import Actor

USERS = 20
PRIORITIES = (("low", 20), ("normal", 55), ("high", 20), ("urgent", 5))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(sep=" ")


def generate(path: Path, n_customers: int, n_followups: int, seed: int = 4) -> list[int]:
    """Write the data; return the user ids."""
    rng = random.Random(seed)
    now = m.utcnow()
    store_db.open_database(str(path))
    database = store_db.current_database()
    cursor = database.cursor()
    with database.atomic():
        cursor.executemany(
            "INSERT INTO user (name, full_name, role, active, created_at, version)"
            " VALUES (?, '', 'sales', 1, ?, 1)",
            [(f"sales{n:02}", iso(now)) for n in range(USERS)],
        )
    user_ids = [row[0] for row in database.execute_sql("SELECT id FROM user ORDER BY id")]
    customers = []
    for n in range(n_customers):
        created = now - dt.timedelta(days=rng.uniform(200, 1000))
        contact = now - dt.timedelta(days=rng.uniform(0, 120)) if rng.random() < 0.95 else None
        key = rng.random() < 0.05
        owner = user_ids[n % USERS]
        customers.append((f"客户{n}", owner, key, iso(contact) if contact else None, iso(created)))
    with database.atomic():
        cursor.executemany(
            "INSERT INTO customer (name, owner_id, key_account, last_contact_at, created_at,"
            " updated_at, version, company, title, phone, phone_raw, alt_phone, alt_phone_raw,"
            " email, email_raw, address, city, region, country, source, utm_source, utm_medium,"
            " utm_campaign, stage, needs, preferences, preferred_channel, notes,"
            " marketing_consent, external_id, custom)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, '', '', '', '', '', '', '', '', '', '', '', '', '', '',"
            " '', '', 'active', '', '', '', '', 0, '', '{}')",
            [(*c, c[4]) for c in customers],
        )
    priorities = [p for p, _w in PRIORITIES]
    weights = [w for _p, w in PRIORITIES]
    batch: list[tuple] = []
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
        batch.append(
            (
                customer + 1,
                f"follow-up {n}",
                iso(due.replace(microsecond=0)),
                rng.choices(priorities, weights)[0],
                assignee,
                status,
                waiting,
                done_at,
                iso(now),
            )
        )
        if len(batch) == 100_000 or n == n_followups - 1:
            with database.atomic():
                cursor.executemany(
                    "INSERT INTO follow_up (customer_id, title, due_at, priority, assignee_id,"
                    " status, snoozed_until, done_at, created_at, updated_at, version,"
                    " recurrence, outcome, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?9, 1,"
                    " '', '', '')",
                    batch,
                )
            batch.clear()
    services = []
    for _n in range(n_customers // 2):
        opened = (now - dt.timedelta(days=rng.uniform(0, 700))).date()
        due = opened + dt.timedelta(days=14)
        late = due < now.date() and rng.random() < 0.1
        status = rng.choice(("open", "in_progress")) if late or due >= now.date() else "closed"
        services.append(
            (rng.randrange(n_customers) + 1, opened.isoformat(), due.isoformat(), status)
        )
    with database.atomic():
        cursor.executemany(
            "INSERT INTO service_item (customer_id, kind, title, opened_on, due_on, status,"
            " notes, version, created_at, updated_at) VALUES (?, 'support', 'fix', ?, ?, ?, '',"
            " 1, ?5, ?5)",
            [(*s, iso(now)) for s in services],
        )
    database.execute_sql("ANALYZE")
    return user_ids


def timed(action: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _n in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "queue.db"
        start = time.perf_counter()
        user_ids = generate(path, args.customers, args.followups)
        print(f"generated in {time.perf_counter() - start:.1f} s, {path.stat().st_size >> 20} MB")
        actor = Actor(user_ids[0], "sales00", "sales")
        items = queue.list_queue(actor)
        counts = queue.count_sections(actor)
        by_kind = {k: sum(1 for i in items if i.kind == k) for k in queue.KINDS}
        print(f"queue of {actor.name}: {len(items)} items shown {by_kind}, in all {counts}")

        overdue = [i for i in queue.list_queue(actor, within="overdue", limit=None)]
        targets = iter([i for i in overdue if i.kind == "followup"])
        reference_db = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        ids = [i.id for i in overdue]

        def lookup() -> None:
            followup_id = random.choice(ids)
            reference_db.execute("SELECT * FROM follow_up WHERE id = ?", (followup_id,)).fetchall()

        def complete() -> None:
            item = next(targets)
            followups.complete_followup(actor, item.id, "called, all fine", item.version)

        def snooze() -> None:
            item = next(targets)
            followups.snooze_followup(actor, item.id, "+1w", item.version)

        def reassign() -> None:
            item = next(targets)
            followups.update_followup(actor, item.id, {"assignee": "sales01"}, item.version)

        results = {
            "reference: primary-key lookup (bare APSW)": timed(lookup, args.runs * 4),
            "list_queue (whole queue)": timed(lambda: queue.list_queue(actor), args.runs),
            "list_queue(within='today')": timed(
                lambda: queue.list_queue(actor, within="today"), args.runs
            ),
            "count_overdue (header)": timed(lambda: followups.count_overdue(actor), args.runs),
            "complete (outcome logged)": timed(complete, args.runs),
            "snooze +1w": timed(snooze, args.runs),
            "reassign": timed(reassign, args.runs),
            "list_queue everyone (--all)": timed(
                lambda: queue.list_queue(actor, everyone=True), max(5, args.runs // 5)
            ),
        }
        reference = statistics.median(results["reference: primary-key lookup (bare APSW)"])
        print(
            f"\n{platform.python_version()}, SQLite {apsw.sqlite_lib_version()},"
            f" load average {os.getloadavg()[0]:.2f} (1 min) at the end"
        )
        print(f"{'measure':45} {'runs':>5} {'median ms':>10} {'p95 ms':>8} {'ratio':>8}")
        for name, samples in results.items():
            median = statistics.median(samples)
            print(
                f"{name:45} {len(samples):5} {median:10.3f} {percentile(samples, 95):8.3f}"
                f" {median / reference:7.0f}×"
            )
        store_db.close_database()
    sys.exit(0)


if __name__ == "__main__":
    main()
