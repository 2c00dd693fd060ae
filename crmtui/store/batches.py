"""Writing an import's batch so that others can still save, and none or all of it stays.

On SQLite one writer at a time holds the database's write lock: an import writing 100,000
rows in one transaction would make every other user's save wait many seconds, and fail. So
an import writes in turns: it holds the lock at most `HOLD_SECONDS`, commits, and pauses
`PAUSE_SECONDS`, which is when a waiting save (see `db.BUSY_POLL_SECONDS`) takes its turn.

A batch is marked finished, with its counts, in its last turn's transaction. One that is not
finished was interrupted: an error while writing takes it back at once; a process killed
while writing leaves it to the next process that opens the database, which takes it back
unless an import is still running. (While it runs, each importer holds a shared lock on the
file `DATABASE-import`; the taker-back needs it exclusively.) Taking back deletes the records
the batch added and gives the fields it changed their old values: so a killed import leaves
the database holding none of its batch, or all of it.

PostgreSQL lets others write while an import's transaction is open, so there an import is
one transaction, and a killed one leaves nothing behind.
"""

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import peewee

from crmtui.i18n import _
from crmtui.store import audit, customers, followups, records, search, timeline
from crmtui.store import models as m
from crmtui.store.changes import restore_change
from crmtui.store.db import current_database, is_postgres, write_transaction
from crmtui.store.errors import StoreError
from crmtui.store.types import Actor

# The longest an import holds SQLite's write lock at a time. Each turn's commit writes every
# page the turn dirtied, and at scale its rows land on distinct index pages: a million-row
# import spent 44 s committing turns of 0.25 s, 32 s committing turns of 0.5 s. A save that
# waits for a turn still waits well under a second (tests/store/test_import_shared.py).
HOLD_SECONDS = 0.5
PAUSE_SECONDS = 0.02  # between its turns: other writers' chance to take the lock
# While an import writes, the WAL is copied back into the database once it holds this many
# pages (400 MB), not SQLite's 1,000: every turn outgrows 1,000 pages, so each was copied
# back, and the index pages it shares with the next turns with it, again and again. Saves
# made meanwhile still wait well under a second (tests/store/test_import_shared.py).
CHECKPOINT_PAGES = 100_000

Chunk = TypeVar("Chunk")

# The records an import makes, by the entity name their history rows carry.
ENTITIES: dict[str, records.Entity[Any]] = {
    entity.name: entity
    for entity in (
        customers.ENTITY,
        timeline.CONTACT.entity,  # a contact person a row gave a customer it updated
        timeline.PURCHASE.entity,
        timeline.COMMUNICATION.entity,
        followups.ENTITY,
    )
}


def _lock_path(db: peewee.Database) -> Path:
    return Path(db.database).with_name(Path(db.database).name + "-import")


@contextlib.contextmanager
def _importing(db: peewee.Database) -> Iterator[None]:
    """Hold the import lock shared while writing: others can see an import is running."""
    fd = os.open(_lock_path(db), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a taker-back holds it
        yield
    finally:
        os.close(fd)  # which drops the lock


@contextlib.contextmanager
def _no_import_running(db: peewee.Database) -> Iterator[bool]:
    """Hold the import lock exclusively, yielding True; yield False when an import holds it."""
    fd = os.open(_lock_path(db), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def write_batch(
    actor: Actor,
    kind: str,
    source: str,
    chunks: Iterable[Chunk],
    write: Callable[[int, Chunk], None],
    finish: Callable[[], dict[str, int]],
) -> int:
    """Write an import as batch `kind`: `write(batch_id, chunk)` each chunk, then record the
    counts `finish()` returns (created, updated, skipped) and an audit row; return the batch
    id. Any error takes back what was written and is raised again."""
    db = current_database()
    if is_postgres(db):
        with write_transaction():
            batch = _new_batch(actor, kind, source)
            for chunk in chunks:
                write(batch.id, chunk)
            _finish(actor, batch, finish())
        return batch.id
    with _importing(db):
        with write_transaction():
            batch = _new_batch(actor, kind, source)
        try:
            _write_in_turns(actor, batch, chunks, write, finish)
        except BaseException:
            take_back(batch.id, _("the import failed while writing"))
            raise
    return batch.id


def _new_batch(actor: Actor, kind: str, source: str) -> m.ImportBatch:
    return m.ImportBatch.create(
        user_id=actor.id, user_name=actor.name, kind=kind, source=source[:500]
    )


def _write_in_turns(
    actor: Actor,
    batch: m.ImportBatch,
    chunks: Iterable[Chunk],
    write: Callable[[int, Chunk], None],
    finish: Callable[[], dict[str, int]],
) -> None:
    db = current_database()
    # The turns' commits need not reach the disk each (a wait of its own, a third of the
    # write pass): a batch lost in a power cut is unfinished, and is taken back. Finishing
    # commits with synchronous=FULL again, which makes every turn before it durable too.
    # Finishing also copies the WAL back, with SQLite's own threshold restored.
    db.pragma("synchronous", "normal")
    checkpoint = db.pragma("wal_autocheckpoint")
    db.pragma("wal_autocheckpoint", CHECKPOINT_PAGES)
    try:
        iterator = iter(chunks)
        more = True
        while more:
            started = time.monotonic()
            with write_transaction():
                more = False
                for chunk in iterator:
                    write(batch.id, chunk)
                    if time.monotonic() - started >= HOLD_SECONDS:
                        more = True
                        break
            if more:
                time.sleep(PAUSE_SECONDS)
    finally:
        db.pragma("synchronous", "full")
        db.pragma("wal_autocheckpoint", checkpoint)
    with write_transaction():
        _finish(actor, batch, finish())


def _finish(actor: Actor, batch: m.ImportBatch, counts: dict[str, int]) -> None:
    m.ImportBatch.update(**counts, finished_at=m.utcnow()).where(
        m.ImportBatch.id == batch.id
    ).execute()
    audit.record(
        actor,
        "import",
        target=f"batch:{batch.id}",
        detail=" ".join(
            [f"kind={batch.kind}", f"source={batch.source}"]
            + [f"{name}={count}" for name, count in counts.items()]
        ),
    )


def take_back_interrupted() -> list[int]:
    """Take back the batches of imports that stopped before finishing (a killed process);
    return their ids. Nothing is done while an import is running: its batch is unfinished
    too. Called on opening a SQLite database; costs one query when there is nothing to do."""
    unfinished = m.ImportBatch.select(m.ImportBatch.id).where(m.ImportBatch.finished_at.is_null())
    if unfinished.first() is None:
        return []
    with _no_import_running(current_database()) as free:
        if not free:
            return []
        ids = [batch_id for (batch_id,) in unfinished.tuples()]
        for batch_id in ids:
            take_back(batch_id, _("the import was interrupted"))
        return ids


def take_back(batch_id: int, reason: str) -> None:
    """Remove what an unfinished batch wrote, as a rolled-back transaction would: the records
    it added go with their history (a later record given the same id must not inherit it),
    the fields it changed get their old values back (history shows both), and the batch goes.
    One audit row says it was taken back, and why."""
    with write_transaction():
        batch = m.ImportBatch.get_or_none(m.ImportBatch.id == batch_id)
        if batch is None or batch.finished_at is not None:
            return
        importer = _importer(batch)
        changes = m.History.select().where(m.History.batch_id == batch_id)
        for change in changes.where(m.History.action != "create").order_by(m.History.id.desc()):
            with contextlib.suppress(StoreError):  # a field someone has changed since stays
                restore_change(importer, change.id)
        reindex: set[int] = set()
        contacted: set[int] = set()
        for name, entity in ENTITIES.items():
            created = changes.select(m.History.entity_id).where(
                m.History.action == "create", m.History.entity == name
            )
            model = entity.model
            if entity is not customers.ENTITY:
                owners = model.select(model.customer).where(model.id.in_(created))
                touched = {customer_id for (customer_id,) in owners.tuples()}
                if entity is timeline.CONTACT.entity:
                    reindex |= touched
                elif entity is timeline.COMMUNICATION.entity:
                    contacted |= touched
            # Tags, contacts and search documents of a deleted customer go by cascade.
            model.delete().where(model.id.in_(created)).execute()
        m.History.delete().where(
            m.History.batch_id == batch_id, m.History.action == "create"
        ).execute()
        for customer_id in reindex:
            search.index_customer(customer_id)
        timeline.touch_last_contact(contacted)
        batch.delete_instance()
        audit.record(
            importer,
            "import.take_back",
            target=f"batch:{batch_id}",
            detail=f"kind={batch.kind} source={batch.source} reason={reason}",
        )


def _importer(batch: m.ImportBatch) -> Actor:
    """Who ran the batch: its take-back is done in their name, with their rights."""
    row = m.User.get_or_none(m.User.id == batch.user_id)
    if row is None:
        return Actor(id=batch.user_id or 0, name=batch.user_name, role="admin")
    return Actor(id=row.id, name=row.name, role=row.role)
