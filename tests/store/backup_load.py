"""What the backup tests on either backend load a database with: many customers at once, and
processes that keep adding customers while a backup runs."""

import subprocess
import sys
import textwrap

from crmtui.store import db as store_db
from crmtui.store import models as m


def fill(count: int, prefix: str, notes: int = 0) -> None:
    """`count` customers, quickly (no history): enough pages for a copy of many steps."""
    with store_db.write_transaction():
        for start in range(0, count, 500):
            m.Customer.insert_many(
                [
                    {"name": f"{prefix} {i:05}", "notes": "x" * notes}
                    for i in range(start, min(count, start + 500))
                ]
            ).execute()


# argv: database, name prefix, seconds; prints how many customers it added.
WRITER = textwrap.dedent(
    """
    import sys, time
    from crmtui.store import customers, db, users
    db.open_database(sys.argv[1])
    actor = users.local_actor()
    deadline = time.monotonic() + float(sys.argv[3])
    n = 0
    while time.monotonic() < deadline:
        # A customer and its history row, in one transaction: a consistent copy has both.
        customers.add_customer(actor, {"name": f"{sys.argv[2]}-{n}"})
        n += 1
    print(n)
    """
)


def run_python(code: str, *args: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], text=True, **popen)
