"""The follow-up queue (SPEC F3, issue 4): what a user should do next, most urgent first.

The queue holds three kinds of item:

- "followup": an open follow-up assigned to the user that is not waiting (its
  `snoozed_until`, shown as "waiting until", is empty or has passed);
- "quiet": a key account the user owns with no communication for `quiet_days` days (config
  `[queue] quiet_days`, default 30); a customer never contacted counts from its creation. It
  is due `quiet_days` after the last contact, and leaves the queue when a communication is
  logged (which moves `last_contact_at`);
- "sla": a service item of a customer the user owns, open or in progress after its due date.
  It is due at the local midnight that ends its due date, and leaves the queue when resolved
  or closed.

Automatic items are only ever in the queue once they are late, so they are all "overdue".

Sections, from the clock `now` (naive UTC, like every stored time) and the local time zone
of the process (the one `crmtui.formatting.local_time` shows times in):

- overdue: due before now;
- today: due from now until local midnight tonight;
- week: due in the 7 local calendar days after today;
- later: due after that.

Within a section items go by urgency score, highest first (ties: earlier due, then id).
How many are read: each section holds at most `limit` items (default `DEFAULT_LIMIT`), the
most urgent ones; the database orders overdue, today and week by the same score (see
`_sql_score`), so only those rows are read, not the user's whole backlog. "later" can hold
nearly every open follow-up, and its score (priority, key account, last contact) follows no
index, so it is the `limit` follow-ups due soonest, ordered by score among themselves.
`count_sections` gives the full size of the bounded sections, up to `COUNT_CAP`.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import peewee

from crmtui.config import current_settings
from crmtui.i18n import _, ngettext
from crmtui.store import models as m
from crmtui.store import vocabulary
from crmtui.store.db import current_database, is_postgres
from crmtui.store.errors import ValidationError
from crmtui.store.permissions import FOLLOWUP_READ, authorize
from crmtui.store.types import Actor
from crmtui.store.users import user_names

SECTIONS = ("overdue", "today", "week", "later")
KINDS = ("followup", "quiet", "sla")
# `within`: the sections each choice keeps.
WITHIN = {"overdue": SECTIONS[:1], "today": SECTIONS[:2], "week": SECTIONS[:3]}
DEFAULT_LIMIT = 200  # items per section: a screenful many times over, read in a few ms
# Counts stop here: past it nobody needs the exact number (it is shown as "1000+"), and
# counting a backlog of 137,000 overdue follow-ups took 300-500 ms at a million, on every
# refresh of the header.
COUNT_CAP = 1000

# Automatic items have no priority of their own. A quiet key account is an ordinary task; a
# broken service promise is a complaint in the making, so it ranks like a high priority.
QUIET_PRIORITY = "normal"
SLA_PRIORITY = "high"
OPEN_SERVICE = ("open", "in_progress")

# -- the urgency score ---------------------------------------------------------------------
# Points add up; a screen shows each term ("why"). The scale is set by lateness: a day late
# is worth 10 points. One step of priority is worth one or two days of lateness, so an urgent
# item a day late outranks a normal one three days late, but a long-forgotten promise still
# rises above fresh urgent ones. Lateness stops growing after a month: past that an item is
# simply "very late", and priority and the customer decide among such items.
# Not yet due: up to 20 points for nearness, falling to 0 a week ahead; this orders today's
# and the week's items by time when priorities are equal, without beating a priority step.
# An overdue item keeps the 20 points of something due now and adds its lateness, so the
# score never drops as time passes (nothing due later outranks the same item due earlier).
POINTS_PER_DAY_OVERDUE = 10.0
OVERDUE_CAP_DAYS = 30.0
NEAR_POINTS = 20.0
NEAR_DAYS = 7.0
PRIORITY_POINTS = {"low": 0.0, "normal": 10.0, "high": 20.0, "urgent": 40.0}
# A key account matters more than a day and a half's lateness of an ordinary customer.
KEY_ACCOUNT_POINTS = 15.0
# A customer long without contact is drifting away: 0.2 points a day (6 a month), at most 30
# (five months), so neglect breaks ties and adds up, but never outweighs three days late.
POINTS_PER_DAY_SINCE_CONTACT = 0.2
CONTACT_CAP_POINTS = 30.0

assert tuple(PRIORITY_POINTS) == vocabulary.PRIORITIES  # a new priority needs its points


@dataclass(frozen=True)
class ScoreTerm:
    """One reason an item ranks where it does: "3 days overdue" +30."""

    label: str
    points: float


@dataclass(frozen=True)
class QueueItem:
    """One line of the queue.

    `id` is the follow-up's id for kind "followup", the customer's for "quiet", the service
    item's for "sla"; `version` is the follow-up's (to pass as `expected_version` to the
    triage functions), None for automatic items. `due_at` is naive UTC. `assignee` is the
    follow-up's assignee, or the customer's owner for an automatic item.
    """

    kind: str
    id: int
    version: int | None
    customer_id: int
    customer_name: str
    title: str
    due_at: dt.datetime
    priority: str
    assignee: str
    key_account: bool
    last_contact_at: dt.datetime | None
    recurrence: str
    section: str
    score: float
    terms: tuple[ScoreTerm, ...]


def _span(days: float) -> str:
    """A length of time as a person says it: hours under a day, whole days from there."""
    if days < 1:
        hours = max(1, int(days * 24))
        return ngettext("{n} hour", "{n} hours", hours).format(n=hours)
    whole = int(days)
    return ngettext("{n} day", "{n} days", whole).format(n=whole)


def urgency(
    *,
    due_at: dt.datetime,
    priority: str,
    key_account: bool,
    last_contact_at: dt.datetime | None,
    now: dt.datetime,
    customer_since: dt.datetime | None = None,
) -> tuple[float, tuple[ScoreTerm, ...]]:
    """The urgency score of an item and its terms (the terms worth no points left out).

    All times are naive UTC. Days since last contact count from `customer_since` (the
    customer's creation) when the customer was never contacted. Each term is rounded to a
    tenth and the score is their sum, so the reasons shown add up to the score shown.
    """
    terms: list[ScoreTerm] = []
    late = (now - due_at).total_seconds() / 86400
    if late > 0:
        points = NEAR_POINTS + POINTS_PER_DAY_OVERDUE * min(late, OVERDUE_CAP_DAYS)
        terms.append(ScoreTerm(_("{span} overdue").format(span=_span(late)), points))
    else:
        points = max(0.0, NEAR_POINTS * (1 - (-late) / NEAR_DAYS))
        if points > 0:
            terms.append(ScoreTerm(_("due in {span}").format(span=_span(-late)), points))
    if PRIORITY_POINTS.get(priority, 0.0):
        label = _("priority {priority}").format(priority=priority)
        terms.append(ScoreTerm(label, PRIORITY_POINTS[priority]))
    if key_account:
        terms.append(ScoreTerm(_("key account"), KEY_ACCOUNT_POINTS))
    since = last_contact_at or customer_since
    if since is not None:
        days = max(0.0, (now - since).total_seconds() / 86400)
        points = min(POINTS_PER_DAY_SINCE_CONTACT * days, CONTACT_CAP_POINTS)
        if points > 0:
            whole = int(days)
            label = (
                ngettext("{n} day since last contact", "{n} days since last contact", whole).format(
                    n=whole
                )
                if last_contact_at
                else ngettext(
                    "never contacted in {n} day", "never contacted in {n} days", whole
                ).format(n=whole)
            )
            terms.append(ScoreTerm(label, points))
    rounded = tuple(ScoreTerm(t.label, round(t.points, 1)) for t in terms)
    return round(sum(t.points for t in rounded), 1), rounded


# -- sections and the clock ----------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """Where the sections start, in naive UTC, and the local date of `now`."""

    now: dt.datetime
    today_end: dt.datetime  # local midnight ending today
    week_end: dt.datetime  # local midnight ending the 7th day after today
    local_today: dt.date


def _local_midnight(day: dt.date) -> dt.datetime:
    # A naive datetime's astimezone() reads it as system local time (mktime), so the offset
    # is the one in force on that day: a week crossing a DST change keeps local midnights.
    return dt.datetime.combine(day, dt.time()).astimezone(dt.UTC).replace(tzinfo=None)


def bounds(now: dt.datetime | None = None) -> Bounds:
    """The section boundaries for `now` (naive UTC; default the store's clock)."""
    now = now or m.utcnow()
    today = now.replace(tzinfo=dt.UTC).astimezone().date()
    return Bounds(
        now,
        _local_midnight(today + dt.timedelta(days=1)),
        _local_midnight(today + dt.timedelta(days=1 + 7)),
        today,
    )


def section_of(due_at: dt.datetime, limits: Bounds) -> str:
    """The section an item due at `due_at` (naive UTC) belongs in."""
    if due_at < limits.now:
        return "overdue"
    if due_at < limits.today_end:
        return "today"
    if due_at < limits.week_end:
        return "week"
    return "later"


# -- the score in SQL ----------------------------------------------------------------------
# Only to choose which rows to read (the `limit` most urgent of a section): the items are
# scored again by `urgency`, which is what the queue shows and sorts by.
# The reads are SQL text built here rather than Peewee expressions: Peewee took about 3 ms to
# render each of these queries, more than the database took to run them. Times are inlined
# as literals: they are ISO texts this module makes from datetimes, never user input.


def _text(moment: dt.datetime) -> str:
    return moment.isoformat(sep=" ")


class _Sql:
    """The few spellings that differ between SQLite and PostgreSQL."""

    def __init__(self) -> None:
        self.postgres = is_postgres()
        self.param = "%s" if self.postgres else "?"
        self.least = "LEAST" if self.postgres else "MIN"
        self.greatest = "GREATEST" if self.postgres else "MAX"

    def days(self, later: dt.datetime, column: str) -> str:
        """`later - column` in days, as a float."""
        if self.postgres:
            return (
                f"(date_part('epoch', CAST('{_text(later)}' AS timestamp)"
                f" - CAST({column} AS timestamp)) / 86400.0)"
            )
        return f"(julianday('{_text(later)}') - julianday({column}))"

    def score(self, late: str, priority: str, now: dt.datetime) -> str:
        """`urgency` for an item `late` days past due (negative: not yet), of customer `c`."""
        since = "COALESCE(c.last_contact_at, c.created_at)"
        return (
            f"(CASE WHEN {late} > 0"
            f" THEN {NEAR_POINTS} + {POINTS_PER_DAY_OVERDUE} * {self.least}({late},"
            f" {OVERDUE_CAP_DAYS})"
            f" ELSE {self.greatest}(0.0, {NEAR_POINTS} * (1 + {late} / {NEAR_DAYS})) END)"
            f" + {priority}"
            f" + (CASE WHEN c.key_account THEN {KEY_ACCOUNT_POINTS} ELSE 0.0 END)"
            f" + {self.least}({self.greatest}(0.0, {POINTS_PER_DAY_SINCE_CONTACT}"
            f" * {self.days(now, since)}), {CONTACT_CAP_POINTS})"
        )

    def rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in current_database().execute_sql(sql, params).fetchall()]


_PRIORITY_SQL = (
    "(CASE f.priority "
    + " ".join(f"WHEN '{name}' THEN {points}" for name, points in PRIORITY_POINTS.items())
    + " ELSE 0.0 END)"
)


def _moment(value: Any) -> Any:
    """A timestamp as SQLite returns it (text) or PostgreSQL (a datetime), as a datetime."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _day(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


# -- whose queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Owner:
    user_id: int | None  # None: everyone's


def _whose(actor: Actor, user: str | None, everyone: bool) -> _Owner:
    if user and everyone:
        raise ValidationError.single("user", _("name a user or everyone, not both"))
    if everyone:
        return _Owner(None)
    if not user:
        return _Owner(actor.id)
    row = m.User.get_or_none(m.User.name == user.strip())
    if row is None:
        raise ValidationError.single("user", _("no user named {name!r}").format(name=user))
    return _Owner(row.id)


# The same conditions as Peewee expressions, for counting (`count_sections`, `count_overdue`);
# the reads below spell them in SQL, and the tests hold the two to the same numbers.


def _followup_filter(owner: _Owner, now: dt.datetime) -> peewee.Expression:
    waiting_over = m.FollowUp.snoozed_until.is_null() | (m.FollowUp.snoozed_until <= now)
    condition = (m.FollowUp.status == "open") & waiting_over
    if owner.user_id is not None:
        condition &= m.FollowUp.assignee == owner.user_id
    return condition


def _quiet_filter(owner: _Owner, now: dt.datetime, quiet_days: int) -> peewee.Expression:
    since = peewee.fn.COALESCE(m.Customer.last_contact_at, m.Customer.created_at)
    condition = (m.Customer.key_account == True) & (  # noqa: E712
        since < _text(now - dt.timedelta(days=quiet_days))
    )
    if owner.user_id is not None:
        condition &= m.Customer.owner == owner.user_id
    return condition


def _sla_filter(owner: _Owner, local_today: dt.date) -> peewee.Expression:
    condition = m.ServiceItem.status.in_(OPEN_SERVICE) & (m.ServiceItem.due_on < local_today)
    if owner.user_id is not None:
        condition &= m.Customer.owner == owner.user_id
    return condition


# -- reading -------------------------------------------------------------------------------

_CUSTOMER_COLUMNS = "c.name, c.key_account, c.last_contact_at, c.created_at"


def _customer(row: tuple[Any, ...]) -> tuple[Any, ...]:
    name, key_account, last_contact_at, created_at = row
    return name, bool(key_account), _moment(last_contact_at), _moment(created_at)


def _limited(sql: _Sql, limit: int | None, params: list[Any]) -> str:
    if limit is None:
        return ""
    params.append(limit)
    return f" LIMIT {sql.param}"


def _followup_rows(
    owner: _Owner, limits: Bounds, section: str, limit: int | None
) -> list[tuple[Any, ...]]:
    sql = _Sql()
    now, today_end, week_end = (_text(t) for t in (limits.now, limits.today_end, limits.week_end))
    ranges = {
        "overdue": f"f.due_at < '{now}'",
        "today": f"f.due_at >= '{now}' AND f.due_at < '{today_end}'",
        "week": f"f.due_at >= '{today_end}' AND f.due_at < '{week_end}'",
        "later": f"f.due_at >= '{week_end}'",
    }
    params: list[Any] = []
    where = (
        f"f.status = 'open' AND (f.snoozed_until IS NULL OR f.snoozed_until <= '{now}')"
        f" AND {ranges[section]}"
    )
    if owner.user_id is not None:
        where += f" AND f.assignee_id = {sql.param}"
        params.append(owner.user_id)
    if section == "later":  # the soonest due: see the module's docstring
        order = " ORDER BY f.due_at, f.id"
    elif limit is not None:  # all of them needs no order: Python sorts
        score = sql.score(sql.days(limits.now, "f.due_at"), _PRIORITY_SQL, limits.now)
        order = f" ORDER BY {score} DESC, f.due_at, f.id"
    else:
        order = ""
    source = f"follow_up f JOIN customer c ON c.id = f.customer_id WHERE {where}"
    if (
        sql.postgres
        and section == "overdue"
        and owner.user_id is not None
        and not _many_overdue(sql, owner.user_id, now)
    ):
        # A lookup per follow-up, of which there are fewer than FEW_OVERDUE: see there.
        source = (
            f"(SELECT * FROM follow_up f WHERE {where} LIMIT {FEW_OVERDUE}) f"
            f" JOIN LATERAL (SELECT {_CUSTOMER_COLUMNS} FROM customer c"
            " WHERE c.id = f.customer_id OFFSET 0) c ON true"
        )
    text = (
        "SELECT f.id, f.version, f.customer_id, f.title, f.due_at, f.priority, f.assignee_id,"
        f" f.recurrence, {_CUSTOMER_COLUMNS} FROM {source}{order}"
    )
    text += _limited(sql, limit, params)
    return [(*r[:4], _moment(r[4]), *r[5:8], *_customer(r[8:])) for r in sql.rows(text, params)]


# PostgreSQL guesses a user's overdue open follow-ups from each condition's share on its own:
# a twentieth of the rows are the user's, 30% are open, 73% are due before now, so about
# 11,000 of a million. But open follow-ups are mostly not yet due: there were 1,500. For
# 11,000 rows it hashes every customer to join them (a parallel scan of all 100,000, 40-70 ms
# of opening the queue); for 1,500, a primary-key lookup each takes 5-15 ms. So when the
# index on (assignee, status, due_at) holds fewer than FEW_OVERDUE of them, the customers are
# looked up (LATERAL … OFFSET 0: PostgreSQL does not flatten it into a join), and the rows
# are bounded by a LIMIT that leaves none out but tells the planner how few there are: from
# its guess of 11,000 lookups the plan cost past `jit_above_cost`, and compiling the query
# took 15 ms more. Past FEW_OVERDUE the hash join is the faster (30,000 rows: 110-130 ms
# against 160-220 ms). SQLite joins by lookups anyway.
FEW_OVERDUE = 5000


def _many_overdue(sql: _Sql, user_id: int, now: str) -> bool:
    """Whether the user has at least FEW_OVERDUE open follow-ups due before `now`, waiting or
    not (read in the index on assignee, status and due_at)."""
    text = (
        f"SELECT 1 FROM follow_up WHERE assignee_id = {sql.param} AND status = 'open'"
        f" AND due_at < '{now}' OFFSET {FEW_OVERDUE - 1} LIMIT 1"
    )
    return bool(sql.rows(text, [user_id]))


def _quiet_rows(
    owner: _Owner, limits: Bounds, quiet_days: int, limit: int | None
) -> list[tuple[Any, ...]]:
    # Every quiet item has the same priority and key-account points, and both its lateness
    # and its contact points grow with the time since contact: the oldest contact is the
    # most urgent, so the database orders by that alone.
    sql = _Sql()
    since = "COALESCE(c.last_contact_at, c.created_at)"
    cutoff = _text(limits.now - dt.timedelta(days=quiet_days))
    params: list[Any] = []
    where = f"c.key_account = {sql.param} AND {since} < '{cutoff}'"
    params.append(True)
    if owner.user_id is not None:
        where += f" AND c.owner_id = {sql.param}"
        params.append(owner.user_id)
    text = (
        f"SELECT c.id, c.owner_id, {_CUSTOMER_COLUMNS} FROM customer c"
        f" WHERE {where} ORDER BY {since}, c.id"
    )
    text += _limited(sql, limit, params)
    return [(*r[:2], *_customer(r[2:])) for r in sql.rows(text, params)]


def _sla_rows(owner: _Owner, limits: Bounds, limit: int | None) -> list[tuple[Any, ...]]:
    sql = _Sql()
    params: list[Any] = []
    statuses = ", ".join(f"'{status}'" for status in OPEN_SERVICE)
    where = f"s.status IN ({statuses}) AND s.due_on < '{limits.local_today.isoformat()}'"
    if owner.user_id is not None:
        where += f" AND c.owner_id = {sql.param}"
        params.append(owner.user_id)
    order = ""
    if limit is not None:
        # Breached at the local midnight ending the due date: the local clock minus the due
        # date, less a day. (The offset of today stands in for the due date's: only the
        # choice of rows depends on it, not the score shown.)
        local_now = limits.now.replace(tzinfo=dt.UTC).astimezone().replace(tzinfo=None)
        late = f"({sql.days(local_now, 's.due_on')} - 1)"
        score = sql.score(late, str(PRIORITY_POINTS[SLA_PRIORITY]), limits.now)
        order = f" ORDER BY {score} DESC, s.due_on, s.id"
    text = (
        f"SELECT s.id, s.customer_id, s.title, s.due_on, c.owner_id, {_CUSTOMER_COLUMNS}"
        f" FROM service_item s JOIN customer c ON c.id = s.customer_id WHERE {where}{order}"
    )
    text += _limited(sql, limit, params)
    return [(*r[:3], _day(r[3]), r[4], *_customer(r[5:])) for r in sql.rows(text, params)]


def _item(
    kind: str,
    ids: tuple[int, int | None, int],
    title: str,
    due_at: dt.datetime,
    priority: str,
    assignee: str,
    customer: Sequence[Any],
    recurrence: str,
    limits: Bounds,
) -> QueueItem:
    item_id, version, customer_id = ids
    name, key_account, last_contact_at, created_at = customer
    score, terms = urgency(
        due_at=due_at,
        priority=priority,
        key_account=bool(key_account),
        last_contact_at=last_contact_at,
        now=limits.now,
        customer_since=created_at,
    )
    return QueueItem(
        kind=kind,
        id=item_id,
        version=version,
        customer_id=customer_id,
        customer_name=name,
        title=title,
        due_at=due_at,
        priority=priority,
        assignee=assignee,
        key_account=bool(key_account),
        last_contact_at=last_contact_at,
        recurrence=recurrence,
        section=section_of(due_at, limits),
        score=score,
        terms=terms,
    )


def _sorted(items: Iterable[QueueItem]) -> list[QueueItem]:
    return sorted(
        items,
        key=lambda i: (SECTIONS.index(i.section), -i.score, i.due_at, KINDS.index(i.kind), i.id),
    )


def list_queue(
    actor: Actor,
    *,
    user: str | None = None,
    everyone: bool = False,
    within: str | None = None,
    now: dt.datetime | None = None,
    limit: int | None = DEFAULT_LIMIT,
) -> list[QueueItem]:
    """The queue of the acting user, of the user named `user`, or of `everyone`.

    Sections in `SECTIONS` order, each by score (highest first). `within` keeps "overdue",
    "today" (overdue and today) or "week" (the next 7 days too). `now` is naive UTC (default
    the store's clock). Each section holds at most `limit` items, the most urgent ("later":
    the soonest due); None reads them all. Automatic items are those of the customers the
    user owns (everyone: all customers).
    """
    authorize(actor, FOLLOWUP_READ)
    if within is not None and within not in WITHIN:
        raise ValidationError.single(
            "within",
            _("{value!r} is not one of: {choices}").format(value=within, choices=", ".join(WITHIN)),
        )
    if limit is not None and limit < 1:
        raise ValidationError.single("limit", _("must be at least 1"))
    owner = _whose(actor, user, everyone)
    limits = bounds(now)
    sections = WITHIN[within] if within else SECTIONS
    quiet_days = current_settings().quiet_days

    followup_rows = [
        row for section in sections for row in _followup_rows(owner, limits, section, limit)
    ]
    quiet_rows = _quiet_rows(owner, limits, quiet_days, limit)  # all overdue, always shown
    sla_rows = _sla_rows(owner, limits, limit)
    names = user_names(
        {r[6] for r in followup_rows if r[6]}
        | {r[1] for r in quiet_rows if r[1]}
        | {r[4] for r in sla_rows if r[4]}
    )

    items = [
        _item(
            "followup",
            (r[0], r[1], r[2]),
            r[3],
            r[4],
            r[5],
            names.get(r[6], ""),
            r[8:],
            r[7],
            limits,
        )
        for r in followup_rows
    ]
    for r in quiet_rows:
        last_contact_at, created_at = r[4:6]
        due_at = (last_contact_at or created_at) + dt.timedelta(days=quiet_days)
        days = (limits.now - (last_contact_at or created_at)).days
        title = ngettext("no contact for {n} day", "no contact for {n} days", days).format(n=days)
        items.append(
            _item(
                "quiet",
                (r[0], None, r[0]),
                title,
                due_at,
                QUIET_PRIORITY,
                names.get(r[1], ""),
                r[2:],
                "",
                limits,
            )
        )
    for r in sla_rows:
        due_at = _local_midnight(r[3] + dt.timedelta(days=1))
        items.append(
            _item(
                "sla",
                (r[0], None, r[1]),
                r[2],
                due_at,
                SLA_PRIORITY,
                names.get(r[4], ""),
                r[5:],
                "",
                limits,
            )
        )
    ordered = _sorted(items)
    if limit is None:
        return ordered
    # Automatic items join the overdue section: keep its `limit` most urgent.
    kept: list[QueueItem] = []
    per_section: dict[str, int] = {}
    for item in ordered:
        per_section[item.section] = per_section.get(item.section, 0) + 1
        if per_section[item.section] <= limit:
            kept.append(item)
    return kept


def count_sections(
    actor: Actor,
    *,
    user: str | None = None,
    everyone: bool = False,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """How many items "overdue", "today" and "week" hold in all (not limited), automatic
    items included, each at most COUNT_CAP. "later" is not counted: it is every open
    follow-up beyond the week."""
    authorize(actor, FOLLOWUP_READ)
    owner = _whose(actor, user, everyone)
    limits = bounds(now)
    base = _followup_filter(owner, limits.now)
    due = m.FollowUp.due_at
    ranges = {
        "overdue": due < limits.now,
        "today": (due >= limits.now) & (due < limits.today_end),
        "week": (due >= limits.today_end) & (due < limits.week_end),
    }
    counts = {
        section: _capped(m.FollowUp.select().where(base & condition))
        for section, condition in ranges.items()
    }
    counts["overdue"] = min(COUNT_CAP, counts["overdue"] + _count_automatic(owner, limits))
    return counts


def _capped(select: peewee.ModelSelect) -> int:
    """The number of rows, read no further than COUNT_CAP."""
    return select.limit(COUNT_CAP).count()


def _count_automatic(owner: _Owner, limits: Bounds) -> int:
    quiet = m.Customer.select().where(
        _quiet_filter(owner, limits.now, current_settings().quiet_days)
    )
    sla = (
        m.ServiceItem.select()
        .join(m.Customer, on=(m.ServiceItem.customer == m.Customer.id))
        .where(_sla_filter(owner, limits.local_today))
    )
    return _capped(quiet) + _capped(sla)


def count_overdue(actor: Actor, *, now: dt.datetime | None = None) -> int:
    """How many items the acting user's queue has overdue: the length of its "overdue"
    section without a limit (follow-ups not waiting, quiet key accounts, SLA breaches), at
    most COUNT_CAP."""
    authorize(actor, FOLLOWUP_READ)
    owner = _Owner(actor.id)
    limits = bounds(now)
    followups = _capped(
        m.FollowUp.select().where(
            _followup_filter(owner, limits.now) & (m.FollowUp.due_at < limits.now)
        )
    )
    return min(COUNT_CAP, followups + _count_automatic(owner, limits))
