"""An import shares the database: others save while it writes, an import still running is
never taken back, and one that fails part-way leaves nothing (see `store.batches`)."""

import subprocess
import sys
import threading
import time

import pytest

from crmtui.store import audit, batches, customers, imports
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.errors import StoreError, ValidationError
from crmtui.store.imports import SourceRow
from crmtui.store.types import Actor

from .conftest import Counts

ROWS = 100_000
# PostgreSQL's writers lock rows, not the database, so the import's size cannot hold a save
# up there; its search index makes writing cost ten times SQLite's (1 ms a row), hence fewer.
PG_ROWS = 10_000
SAVE_WITHIN = 2.0  # seconds: what a user waits for a save, at most, while an import runs
# The importing process: the store's import of generated rows, saying when it writes.
IMPORTER = """
import sys
from crmtui.store import db, imports, users
from crmtui.store.imports import SourceRow
db.open_database(sys.argv[1])
values = ({"name": f"客户{i}", "phone": f"138{i:08d}", "email": f"u{i}@example.com"}
          for i in range(int(sys.argv[2])))
rows = (SourceRow(line, row) for line, row in enumerate(values, start=2))
said = set()
def progress(stage, done):
    if stage not in said:
        said.add(stage)
        print(stage, flush=True)
imports.import_customers(users.local_actor(), rows, progress=progress)
print("finished", flush=True)
"""


def test_others_save_within_two_seconds_while_an_import_writes(
    db_target: str, actor: Actor
) -> None:
    customer = customers.add_customer(actor, {"name": "张伟"})
    rows = PG_ROWS if store_db.is_postgres() else ROWS
    store_db.close_database()
    importer = subprocess.Popen(
        [sys.executable, "-c", IMPORTER, db_target, str(rows)], stdout=subprocess.PIPE, text=True
    )
    assert importer.stdout is not None
    stages: list[str] = []
    reader = threading.Thread(target=lambda: stages.extend(s.strip() for s in importer.stdout))
    reader.start()
    while "written" not in stages and importer.poll() is None:
        time.sleep(0.01)
    # Opened while the import writes: its unfinished batch is not taken back.
    store_db.open_database(db_target)
    waits = []
    version = customer.version
    while "finished" not in stages and importer.poll() is None:
        started = time.monotonic()
        version = customers.update_customer(
            actor, customer.id, {"notes": f"save {len(waits)}"}, version
        ).version
        waits.append(time.monotonic() - started)
        time.sleep(0.05)
    importer.wait()
    reader.join()
    assert importer.returncode == 0
    assert len(waits) >= 5  # saves made while it wrote, not after
    assert max(waits) < SAVE_WITHIN, sorted(waits)[-5:]
    assert m.Customer.select().count() == rows + 1
    assert m.ImportBatch.get().finished_at is not None
    assert customers.get_customer(actor, customer.id).notes == f"save {len(waits) - 1}"


@pytest.fixture
def turn_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chunk of 10 rows written in a turn of its own, committed before the next."""
    monkeypatch.setattr(imports, "CHUNK", 10)
    monkeypatch.setattr(batches, "HOLD_SECONDS", 0)


def test_an_error_in_a_later_turn_takes_back_the_turns_before(
    db: str, actor: Actor, counts: Counts, turn_per_chunk: None
) -> None:
    rows = [SourceRow(i + 2, {"name": f"客户{i}", "email": f"u{i}@example.com"}) for i in range(50)]
    written: list[int] = []
    checkpoints: list[int] = []  # SQLite's WAL threshold while the import writes, then after
    sqlite = not store_db.is_postgres()

    def progress(stage: str, done: int) -> None:
        if stage == "written" and not written:  # after the first turn: someone saves row 40
            written.append(done)
            if sqlite:
                checkpoints.append(store_db.current_database().pragma("wal_autocheckpoint"))
            customers.add_customer(actor, {"name": "另一位", "email": "u40@example.com"})

    before = counts()
    with pytest.raises(ValidationError, match=r"line 42: customer \d+ was saved with this email"):
        imports.import_customers(actor, rows, key="email", progress=progress)
    after = counts()
    assert written == [10]
    if sqlite:  # raised from a turn, it still gives the connection SQLite's threshold back
        checkpoints.append(store_db.current_database().pragma("wal_autocheckpoint"))
        assert checkpoints == [batches.CHECKPOINT_PAGES, 1000]
    # On PostgreSQL the import is one transaction, which the save made from inside it (this
    # process, one connection) is part of; on SQLite it followed the first turn's commit.
    saved_apart = sqlite
    assert after["Customer"] == before["Customer"] + saved_apart  # only the other's customer
    assert after["ImportBatch"] == 0 and after["SearchDoc"] == after["Customer"]
    taken_back = [e for e in audit.list_entries(actor).rows if e.action == "import.take_back"]
    assert [e.detail.endswith("reason=the import failed while writing") for e in taken_back] == [
        True
    ] * saved_apart  # PostgreSQL rolled the import back: nothing to take back


def test_take_back_restores_the_fields_a_batch_updated(
    db: str, actor: Actor, turn_per_chunk: None
) -> None:
    saved = [customers.add_customer(actor, {"name": f"客户{i}", "city": "上海"}) for i in range(20)]
    rows = [SourceRow(i + 2, {"name": f"客户{i}", "city": "北京"}) for i in range(20)]

    def progress(stage: str, done: int) -> None:
        # In the second turn, the first committed: the user stops it.
        if stage == "written" and done == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        imports.import_customers(
            actor, rows, key="name+company", on_duplicate="update", progress=progress
        )
    assert {customers.get_customer(actor, c.id).city for c in saved} == {"上海"}
    assert m.ImportBatch.select().count() == 0


def test_undo_refuses_a_batch_still_being_written(db: str, actor: Actor) -> None:
    running = m.ImportBatch.create(user_id=actor.id, user_name=actor.name, kind="customers")
    with pytest.raises(StoreError, match="still being written"):
        imports.undo_import(actor, running.id)
    assert m.ImportBatch.get_by_id(running.id).undone_at is None
