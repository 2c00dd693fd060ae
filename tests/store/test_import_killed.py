"""An import killed with SIGKILL at any moment leaves a sound database holding none of its
rows or all of them, on both backends. On SQLite the import writes in short turns (see
`store.batches`), so a kill between turns leaves part of a batch in the file, unfinished: the
next process to open the database takes it back before anyone reads it."""

import os
import signal
import subprocess
import sys

import apsw
import pytest

from crmtui.store import db as store_db
from crmtui.store import health, users
from crmtui.store import models as m

ROWS = 3000
CHUNK = 100  # rows the importer writes a turn
# The importing process: the store's import of generated rows, printing each stage's progress.
IMPORTER = f"""
import sys
from crmtui.store import batches, db, imports, users
from crmtui.store.imports import SourceRow
db.open_database(sys.argv[1])
values = ({{"name": f"客户{{i}}", "phone": f"138{{i:08d}}"}} for i in range({ROWS}))
rows = (SourceRow(line, row) for line, row in enumerate(values, start=2))
def progress(stage, done):
    print(stage, done, flush=True)
imports.CHUNK = {CHUNK}
batches.HOLD_SECONDS = 0  # a turn per chunk: a kill always finds turns committed
imports.import_customers(users.local_actor(), rows, progress=progress)
print("finished", flush=True)
"""


@pytest.mark.parametrize(
    ("stage", "rows", "left"),
    [
        ("checked", 1500, 0),  # while checking: nothing written yet
        ("written", 200, 0),  # early in the writing
        ("written", 2900, 0),  # late in it, before the batch is finished
        ("finished", 0, ROWS),  # after it
    ],
)
def test_a_killed_import_leaves_none_or_all_of_its_rows(
    db_target: str, stage: str, rows: int, left: int
) -> None:
    store_db.open_database(db_target)  # made before the importer starts
    store_db.close_database()
    importer = subprocess.Popen(
        [sys.executable, "-c", IMPORTER, db_target], stdout=subprocess.PIPE, text=True
    )
    assert importer.stdout is not None
    for line in importer.stdout:
        said, *done = line.split()
        if said == stage and int(done[0] if done else 0) >= rows:
            os.kill(importer.pid, signal.SIGKILL)
            break
    importer.wait()
    if left == 0:
        assert importer.returncode == -signal.SIGKILL  # killed before it finished
    if stage == "written" and not db_target.startswith("postgresql"):
        # The turns before the one it was in were committed, and are taken back now.
        assert _customers_in_file(db_target) >= rows - CHUNK

    store_db.open_database(db_target)
    actor = users.local_actor()
    assert health.check_database(actor, db_target).integrity == "ok"
    assert m.Customer.select().count() == left
    assert m.SearchDoc.select().count() == m.Customer.select().count()
    assert m.History.select().count() == m.Customer.select().count()


def _customers_in_file(path: str) -> int:
    """Customers in a SQLite file, read around crmtui (which would take a batch back)."""
    connection = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return connection.execute("SELECT count(*) FROM customer").fetchone()[0]
    finally:
        connection.close()
