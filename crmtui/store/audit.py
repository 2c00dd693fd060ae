"""The audit log (SPEC F8): one row per act — who, when, from where, what, with what result.

Rows are hash-chained: each row's hash covers its own fields and the previous row's hash, and
`audit_head` keeps the last sequence number and hash apart from the log. So `verify` finds an
edited row (its hash no longer matches), a removed row (a gap in the sequence, a broken link)
and a log cut short (it ends before its head, or before a hash a backup manifest recorded).
The database itself refuses updates and deletes of written rows (triggers, see the model).

What this does not stop: someone who can write the database file can rewrite the whole chain
and its head consistently. The anchors outside the file (the head in each backup's manifest)
are what catches that; `docs/` says how to keep staff away from the file.
"""

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from crmtui.i18n import _
from crmtui.store import dates
from crmtui.store import models as m
from crmtui.store.db import is_postgres, write_transaction
from crmtui.store.errors import ValidationError
from crmtui.store.permissions import AUDIT_READ, authorize
from crmtui.store.types import Actor, Page

GENESIS = m.AUDIT_GENESIS
_VERIFY_CHUNK = 5_000
_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: dt.datetime
    user_name: str
    origin: str
    action: str
    target: str
    customer_id: int | None
    detail: str
    result: str


@dataclass(frozen=True)
class AuditHeadValue:
    """Where the chain ends: a backup manifest records it, `verify` can be given it."""

    seq: int
    hash: str


@dataclass(frozen=True)
class Anchor:
    """A head recorded outside the log, such as in a backup's manifest: the log must still
    hold row `seq` with this hash. `source` (the backup's file name) is named in problems."""

    seq: int
    hash: str
    source: str = ""
    recorded_at: dt.datetime | None = None  # naive UTC: when the head was read


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    head: AuditHeadValue
    problems: tuple[str, ...]
    # What was not held against the log, and why (a backup of a log a restore replaced).
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def origin() -> str:
    """Where the acting user is: the SSH client's address when over SSH, else "local"."""
    for variable in ("SSH_CLIENT", "SSH_CONNECTION"):
        if words := os.environ.get(variable, "").split():
            return words[0][:64]
    return "local"


def _row_hash(
    seq: int,
    at: dt.datetime,
    user_id: int | None,
    user_name: str,
    where: str,
    action: str,
    target: str,
    customer_id: int | None,
    detail: str,
    result: str,
    prev_hash: str,
) -> str:
    fields = [seq, at.isoformat(sep=" "), user_id, user_name, where, action, target]
    fields += [customer_id, detail, result, prev_hash]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _locked_head() -> m.AuditHead:
    """The head row, locked until the transaction ends, so writers extend the chain one at a
    time. (On SQLite the write transaction already holds the only write lock.)"""
    query = m.AuditHead.select().where(m.AuditHead.id == m.AUDIT_HEAD_ID)
    if is_postgres():
        query = query.for_update()
    head = query.first()
    if head is None:
        # Made with the table; gone only if someone removed it. Carry on from the log's last
        # row: `verify` cannot then tell whether rows were cut off before it, which it says.
        last = m.AuditEntry.select().order_by(m.AuditEntry.seq.desc()).first()
        seq, digest = (0, GENESIS) if last is None else (last.seq, last.hash)
        m.AuditHead.insert(id=m.AUDIT_HEAD_ID, seq=seq, hash=digest).on_conflict_ignore().execute()
        head = query.first()
    return head


def record(
    actor: Actor | None,
    action: str,
    *,
    target: str = "",
    customer_id: int | None = None,
    detail: str = "",
    result: str = "ok",
) -> None:
    """Append one row, in the caller's transaction when there is one (so the act and its
    record are written together or not at all). `actor` None: an act by nobody logged in,
    such as a failed login for an unknown name (`detail` then says what was tried)."""
    user_id, user_name = (None, "") if actor is None else (actor.id, actor.name)
    where, at = origin(), m.utcnow()
    with write_transaction():
        head = _locked_head()
        seq = head.seq + 1
        digest = _row_hash(
            seq,
            at,
            user_id,
            user_name,
            where,
            action,
            target,
            customer_id,
            detail,
            result,
            head.hash,
        )
        m.AuditEntry.insert(
            seq=seq,
            at=at,
            user_id=user_id,
            user_name=user_name,
            origin=where,
            action=action,
            target=target,
            customer_id=customer_id,
            detail=detail,
            result=result,
            prev_hash=head.hash,
            hash=digest,
        ).execute()
        m.AuditHead.update(seq=seq, hash=digest).where(m.AuditHead.id == head.id).execute()


def head() -> AuditHeadValue:
    """The chain's end as its head row says (for a backup manifest)."""
    row = m.AuditHead.get_or_none(m.AuditHead.id == m.AUDIT_HEAD_ID)
    return AuditHeadValue(0, GENESIS) if row is None else AuditHeadValue(row.seq, row.hash)


def _since(text: str) -> dt.datetime:
    """The moment `since` names: a day (`2025-03-05`, `-7d`, `today`) from its local midnight,
    or a day with a time; as naive UTC."""
    from dateutil.tz import tzlocal  # as dates does: only when asked

    try:
        moment = dates.parse_datetime(text)
        if ":" not in text:  # a day alone: all of it, not from 09:00
            midnight = dt.datetime.combine(dates.parse_date(text), dt.time(), tzlocal())
            moment = midnight.astimezone(dt.UTC).replace(tzinfo=None)
    except dates.DateParseError as exc:
        raise ValidationError.single("since", str(exc)) from None
    return moment


def list_entries(
    actor: Actor,
    *,
    user: str | None = None,
    customer_id: int | None = None,
    since: str | None = None,
    offset: int = 0,
    limit: int | None = 100,
) -> Page:
    """Rows newest first, filtered by user name, customer and `since` (as people type dates)."""
    authorize(actor, AUDIT_READ)
    select = m.AuditEntry.select()
    if user:
        select = select.where(m.AuditEntry.user_name == user)
    if customer_id is not None:
        select = select.where(m.AuditEntry.customer_id == customer_id)
    if since:
        select = select.where(m.AuditEntry.at >= _since(since))
    rows = select.order_by(m.AuditEntry.seq.desc()).offset(offset)
    if limit is not None:
        rows = rows.limit(limit)
    found = tuple(
        AuditRecord(
            seq=row.seq,
            at=row.at,
            user_name=row.user_name,
            origin=row.origin,
            action=row.action,
            target=row.target,
            customer_id=row.customer_id,
            detail=row.detail,
            result=row.result,
        )
        for row in rows
    )
    return Page(found, offset, select.count())


def _chain() -> Iterator[m.AuditEntry]:
    last = 0
    while True:
        rows = list(
            m.AuditEntry.select()
            .where(m.AuditEntry.seq > last)
            .order_by(m.AuditEntry.seq)
            .limit(_VERIFY_CHUNK)
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


RESTORE = "restore"  # the action of the row a restore writes into the restored log
_REPLACED = re.compile(r"replaced_head=(\d+):([0-9a-f]{64})")


def restore_detail(replaced: AuditHeadValue | None, backup_head: AuditHeadValue | None) -> str:
    """The `detail` of a restore's row: where the backup's log ended, and the head of the log
    the restore replaced (None: the database could not be read), which `verify` needs to
    tell a backup of that replaced log from a log cut short."""
    parts = [f"backup_head={backup_head.seq}" if backup_head else "backup_head=unknown"]
    parts.append(
        f"replaced_head={replaced.seq}:{replaced.hash}" if replaced else "replaced_head=unknown"
    )
    return "; ".join(parts)


@dataclass(frozen=True)
class _Restore:
    seq: int  # the restore's row: the restored log ended at the row before
    at: dt.datetime
    replaced: AuditHeadValue | None

    def replaced_part(self, anchor: Anchor) -> bool:
        """Whether `anchor` was read from the log this restore replaced: past the restored
        log's end, and the replaced log's head itself or read before the restore (seconds:
        the row's time has no fraction)."""
        if anchor.seq < self.seq:
            return False
        if self.replaced is not None:
            if (anchor.seq, anchor.hash) == (self.replaced.seq, self.replaced.hash):
                return True
            if anchor.seq > self.replaced.seq:
                return False
        recorded = anchor.recorded_at
        return recorded is not None and recorded.replace(microsecond=0) <= self.at


def _restore_of(row: m.AuditEntry) -> _Restore | None:
    if row.action != RESTORE or row.result != "ok":
        return None
    found = _REPLACED.search(row.detail)
    replaced = AuditHeadValue(int(found[1]), found[2]) if found else None
    return _Restore(row.seq, row.at, replaced)


def _anchor_problem(anchor: Anchor, missing: bool) -> str:
    if not anchor.source:
        if missing:
            return _("row {seq}, recorded by a backup, is not in the log").format(seq=anchor.seq)
        return _("row {seq} differs from the one a backup recorded").format(seq=anchor.seq)
    if missing:
        return _("row {seq}, recorded by backup {backup}, is not in the log").format(
            seq=anchor.seq, backup=anchor.source
        )
    return _("row {seq} differs from the one backup {backup} recorded").format(
        seq=anchor.seq, backup=anchor.source
    )


def verify(actor: Actor, *, anchors: Sequence[Anchor | AuditHeadValue] = ()) -> VerifyReport:
    """Check every row's hash and link, the head, and that the chain holds each of `anchors`
    (heads recorded elsewhere earlier, such as in backup manifests).

    An anchor the log does not hold is a problem, unless a restore written in the log since
    explains it: a backup of the log that restore replaced (see `_Restore`) is a note.
    """
    authorize(actor, AUDIT_READ)
    problems: list[str] = []
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    wanted: dict[int, list[Anchor]] = {}
    for given in anchors:
        if given.seq:
            anchor = given if isinstance(given, Anchor) else Anchor(given.seq, given.hash)
            wanted.setdefault(anchor.seq, []).append(anchor)
    unmatched: list[tuple[Anchor, bool]] = []  # with True: not in the log at all
    restores: list[_Restore] = []
    with m.AuditEntry._meta.database.atomic():  # one consistent snapshot of log and head
        for row in _chain():
            checked += 1
            if row.seq != expected_seq:
                gap = (expected_seq, row.seq - 1)
                problems.append(
                    _("row {first} is missing").format(first=gap[0])
                    if gap[0] == gap[1]
                    else _("rows {first}–{last} are missing").format(first=gap[0], last=gap[1])
                )
            elif row.prev_hash != prev_hash:
                problems.append(
                    _("row {seq} does not follow the row before it").format(seq=row.seq)
                )
            digest = _row_hash(
                row.seq,
                row.at,
                row.user_id,
                row.user_name,
                row.origin,
                row.action,
                row.target,
                row.customer_id,
                row.detail,
                row.result,
                row.prev_hash,
            )
            if digest != row.hash:
                problems.append(_("row {seq} was changed after it was written").format(seq=row.seq))
            for anchor in wanted.pop(row.seq, ()):
                if anchor.hash != row.hash:
                    unmatched.append((anchor, False))
            if (restore := _restore_of(row)) is not None:
                restores.append(restore)
            expected_seq, prev_hash = row.seq + 1, row.hash
        recorded = head()
        last = expected_seq - 1
        if recorded.seq > last or (recorded.seq == last and recorded.hash != prev_hash):
            problems.append(
                _("the log ends at row {last}, but its head says row {head}").format(
                    last=last, head=recorded.seq
                )
            )
        elif recorded.seq < last:
            problems.append(
                _("the log goes on past its head (row {head}) to row {last}").format(
                    head=recorded.seq, last=last
                )
            )
    unmatched += [(anchor, True) for seq in sorted(wanted) for anchor in wanted[seq]]
    notes: list[str] = []
    for anchor, missing in sorted(unmatched, key=lambda item: item[0].seq):
        restore = next((r for r in restores if r.replaced_part(anchor)), None)
        if restore is None:
            problems.append(_anchor_problem(anchor, missing))
        else:
            notes.append(
                _(
                    "backup {backup} holds row {seq} of the log the restore at row {restore} "
                    "replaced: not checked"
                ).format(backup=anchor.source or "?", seq=anchor.seq, restore=restore.seq)
            )
    return VerifyReport(
        checked, recorded, tuple(problems[:_PROBLEMS_SHOWN]), tuple(notes[:_PROBLEMS_SHOWN])
    )


def describe_changes(columns: object) -> str:
    """The names of the changed fields, for `detail` (never their values)."""
    return ",".join(sorted(str(name) for name in columns)) if columns else ""
