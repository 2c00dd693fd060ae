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
`_Sql.score`), so only those rows are read, not the user's whole backlog. "later" can hold
nearly every open follow-up, and its score (priority, key account, last contact) follows no
index, so its items are the most urgent of the follow-ups due soonest: of the DEFAULT_LIMIT
soonest (or `limit`, if more), however few are asked for, so that its pages fit together.

`list_queue` gives the items (the CLI's list). The screen does not hold them all: it opens
with `read_queue`, the size of every section (see `section_cap`) and only the first items,
and reads further items of a section with `read_section` when the cursor gets there.
`count_overdue` is the size of the overdue section alone.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from crmtui.config import current_settings
from crmtui.i18n import _, ngettext
from crmtui.store import models as m
from crmtui.store import scope, vocabulary
from crmtui.store.db import current_database, is_postgres
from crmtui.store.errors import ValidationError
from crmtui.store.permissions import FOLLOWUP_READ, authorize, refuse
from crmtui.store.types import Actor

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


def _points(
    due_at: dt.datetime,
    priority: str,
    key_account: bool,
    since: dt.datetime | None,
    now: dt.datetime,
) -> tuple[float, float, float, float]:
    """The four terms of the urgency score, unrounded: lateness (or nearness), priority,
    key account, time since contact (`since`: the last contact, else the creation)."""
    late = (now - due_at).total_seconds() / 86400
    if late > 0:
        timing = NEAR_POINTS + POINTS_PER_DAY_OVERDUE * min(late, OVERDUE_CAP_DAYS)
    else:
        timing = max(0.0, NEAR_POINTS * (1 - (-late) / NEAR_DAYS))
    contact = 0.0
    if since is not None:
        days = max(0.0, (now - since).total_seconds() / 86400)
        contact = min(POINTS_PER_DAY_SINCE_CONTACT * days, CONTACT_CAP_POINTS)
    return (
        timing,
        PRIORITY_POINTS.get(priority, 0.0),
        KEY_ACCOUNT_POINTS if key_account else 0.0,
        contact,
    )


def _score(points: tuple[float, float, float, float]) -> float:
    """The score shown: the sum of the terms each rounded to a tenth, so the reasons shown
    add up to it (a term worth nothing adds nothing, shown or not)."""
    timing, priority, key, contact = points
    return round(round(timing, 1) + round(priority, 1) + round(key, 1) + round(contact, 1), 1)


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
    points = _points(due_at, priority, key_account, last_contact_at or customer_since, now)
    return _score(points), _terms(points, due_at, priority, last_contact_at, customer_since, now)


def _terms(
    points: tuple[float, float, float, float],
    due_at: dt.datetime,
    priority: str,
    last_contact_at: dt.datetime | None,
    customer_since: dt.datetime | None,
    now: dt.datetime,
) -> tuple[ScoreTerm, ...]:
    """The labelled, rounded terms of `points` (the `_points` of the item)."""
    timing, priority_points, key_points, contact = points
    terms: list[ScoreTerm] = []
    late = (now - due_at).total_seconds() / 86400
    if late > 0:
        terms.append(ScoreTerm(_("{span} overdue").format(span=_span(late)), round(timing, 1)))
    elif timing > 0:
        terms.append(ScoreTerm(_("due in {span}").format(span=_span(-late)), round(timing, 1)))
    if priority_points:
        label = _("priority {priority}").format(priority=priority)
        terms.append(ScoreTerm(label, round(priority_points, 1)))
    if key_points:
        terms.append(ScoreTerm(_("key account"), round(key_points, 1)))
    since = last_contact_at or customer_since
    if since is not None and contact > 0:
        whole = int(max(0.0, (now - since).total_seconds() / 86400))
        label = (
            ngettext("{n} day since last contact", "{n} days since last contact", whole).format(
                n=whole
            )
            if last_contact_at
            else ngettext(
                "never contacted in {n} day", "never contacted in {n} days", whole
            ).format(n=whole)
        )
        terms.append(ScoreTerm(label, round(contact, 1)))
    return tuple(terms)


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
    # Only follow-ups about this user's own customers (sales: see `scope`), else None.
    customers_of: int | None = None


def _whose(actor: Actor, user: str | None, everyone: bool) -> _Owner:
    if user and everyone:
        raise ValidationError.single("user", _("name a user or everyone, not both"))
    if scope.own_only(actor):
        if everyone or (user and user.strip() != actor.name):
            raise refuse(
                actor, FOLLOWUP_READ, _("see other users' queues"), detail="another user's queue"
            )
        return _Owner(actor.id, customers_of=actor.id)
    if everyone:
        return _Owner(None)
    if not user:
        return _Owner(actor.id)
    row = m.User.get_or_none(m.User.name == user.strip())
    if row is None:
        raise ValidationError.single("user", _("no user named {name!r}").format(name=user))
    return _Owner(row.id)


# -- what each source holds, in SQL --------------------------------------------------------
# One spelling of each condition, shared by the reads and the counts, so a section's count is
# the number of items its reads can give.


def _followup_where(
    sql: _Sql, owner: _Owner, limits: Bounds, section: str, params: list[Any]
) -> str:
    """The open follow-ups, not waiting, due in `section`, of the owner (alias `f`)."""
    now, today_end, week_end = (_text(t) for t in (limits.now, limits.today_end, limits.week_end))
    ranges = {
        "overdue": f"f.due_at < '{now}'",
        "today": f"f.due_at >= '{now}' AND f.due_at < '{today_end}'",
        "week": f"f.due_at >= '{today_end}' AND f.due_at < '{week_end}'",
        "later": f"f.due_at >= '{week_end}'",
    }
    where = (
        f"f.status = 'open' AND (f.snoozed_until IS NULL OR f.snoozed_until <= '{now}')"
        f" AND {ranges[section]}"
    )
    if owner.user_id is not None:
        where += f" AND f.assignee_id = {sql.param}"
        params.append(owner.user_id)
    if owner.customers_of is not None:
        where += f" AND f.customer_id IN (SELECT id FROM customer WHERE owner_id = {sql.param})"
        params.append(owner.customers_of)
    return where


_SINCE = "COALESCE(c.last_contact_at, c.created_at)"


def _quiet_where(
    sql: _Sql, owner: _Owner, limits: Bounds, quiet_days: int, params: list[Any]
) -> str:
    """The owner's key accounts without contact for `quiet_days` (alias `c`)."""
    cutoff = _text(limits.now - dt.timedelta(days=quiet_days))
    where = f"c.key_account = {sql.param} AND {_SINCE} < '{cutoff}'"
    params.append(True)
    if owner.user_id is not None:
        where += f" AND c.owner_id = {sql.param}"
        params.append(owner.user_id)
    return where


def _breaches(sql: _Sql, owner: _Owner, limits: Bounds, params: list[Any]) -> str:
    """The ids of the SLA breaches of the owner's customers, as a subquery.

    A user's breaches are a few hundred of the thousands unresolved: their ids come from
    the partial index of unresolved items and the index of owners, without reading either
    table, so only the breaches' own rows are read after. Joined directly, every unresolved
    item and the user's every customer were read (at 100,000 customers: SQLite 17 ms of CPU
    against 4 ms now; PostgreSQL read 2,101 buffers against 1,555, its two heap scans gone).
    SQLite is told which index: it took the one on (status, due_on), which leads to the
    table. The condition is spelled as the partial index's own, so that SQLite sees the index
    applies.
    """
    index = "" if sql.postgres else f" INDEXED BY {m.OPEN_SERVICE_INDEX}"
    text = (
        f"SELECT b.id FROM service_item b{index} JOIN customer o ON o.id = b.customer_id"
        f" WHERE b.{m.OPEN_SERVICE_WHERE} AND b.due_on < '{limits.local_today.isoformat()}'"
    )
    if owner.user_id is not None:
        text += f" AND o.owner_id = {sql.param}"
        params.append(owner.user_id)
    return text


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


def _overdue_probe(sql: _Sql, user_id: int, limits: Bounds, params: list[Any]) -> str:
    """The user's open follow-ups due before now, waiting or not, read no further than
    FEW_OVERDUE (in the index on assignee, status and due_at), as a count."""
    params.append(user_id)
    return _capped_count(
        f"SELECT 1 FROM follow_up WHERE assignee_id = {sql.param} AND status = 'open'"
        f" AND due_at < '{_text(limits.now)}'",
        FEW_OVERDUE,
    )


def _many_overdue(sql: _Sql, owner: _Owner, limits: Bounds) -> bool:
    """Whether the overdue follow-ups are best read by looking each customer up (see
    FEW_OVERDUE): on PostgreSQL, for one user with fewer than FEW_OVERDUE of them."""
    if not sql.postgres or owner.user_id is None:
        return True
    params: list[Any] = []
    text = f"SELECT {_overdue_probe(sql, owner.user_id, limits, params)}"
    return int(sql.rows(text, params)[0][0]) >= FEW_OVERDUE


# -- counting ------------------------------------------------------------------------------


def _capped_count(select: str, cap: int) -> str:
    """A scalar subquery: the number of rows of `select`, read no further than `cap`."""
    return f"(SELECT COUNT(*) FROM ({select} LIMIT {cap}) AS n)"


class _Counts(NamedTuple):
    """How many items each source holds, each read no further than COUNT_CAP."""

    followups: dict[str, int]  # by section
    # None: not counted, the overdue follow-ups having reached the cap (read them anyway).
    quiet: int | None
    sla: int | None
    many_overdue: bool  # see `_many_overdue`

    def sections(self) -> dict[str, int]:
        """The size of each section counted: automatic items join "overdue"."""
        counts = dict(self.followups)
        if "overdue" in counts:
            automatic = (self.quiet or 0) + (self.sla or 0)
            counts["overdue"] = min(COUNT_CAP, counts["overdue"] + automatic)
        return counts


def section_cap(section: str) -> int:
    """How far a section is counted (a count that reached it is shown as "1000+"): "later"
    only as far as the screen lists, DEFAULT_LIMIT (it is nearly every open follow-up)."""
    return DEFAULT_LIMIT if section == "later" else COUNT_CAP


def _count(
    owner: _Owner, limits: Bounds, quiet_days: int, sections: Sequence[str], *, probe: bool
) -> _Counts:
    """The sources' counts, each a capped scalar subquery (capped: a backlog of 137,000
    overdue follow-ups took 300-500 ms to count at a million): the follow-ups of every
    section in one statement, then the automatic items in another, unless the overdue
    follow-ups reached the cap (the heading says "1000+" either way). PostgreSQL plans every
    subquery of a statement, run or not: the automatic items' two in a CASE that did not run
    them still took 3-6 ms of planning at load. `probe`: also find out `many_overdue`, for
    reading the overdue follow-ups after."""
    sql = _Sql()
    params: list[Any] = []
    parts = []
    for section in sections:
        where = _followup_where(sql, owner, limits, section, params)
        select = f"SELECT 1 FROM follow_up f WHERE {where}"
        if section == "later":
            # In the order of the index on (assignee, status, due_at), so that PostgreSQL
            # reads it no further than the cap: unordered, it took the whole range of the
            # user's upcoming follow-ups (13,000 entries, 3-7 ms) into a bitmap first.
            select += " ORDER BY f.due_at"
        parts.append(_capped_count(select, section_cap(section)))
    probed = probe and sql.postgres and owner.user_id is not None and "overdue" in sections
    if probed:
        assert owner.user_id is not None  # for the type checker: `probed` says so
        parts.append(_overdue_probe(sql, owner.user_id, limits, params))
    row = [int(n) for n in sql.rows("SELECT " + ", ".join(parts), params)[0]]
    followups = dict(zip(sections, row, strict=False))
    many = row[-1] >= FEW_OVERDUE if probed else True
    if "overdue" not in sections:
        return _Counts(followups, 0, 0, many)
    if followups["overdue"] >= COUNT_CAP:
        return _Counts(followups, None, None, many)
    params = []
    quiet = _quiet_where(sql, owner, limits, quiet_days, params)
    automatic = (
        _capped_count(f"SELECT 1 FROM customer c WHERE {quiet}", COUNT_CAP),
        _capped_count(_breaches(sql, owner, limits, params), COUNT_CAP),
    )
    quiet_count, sla_count = (int(n) for n in sql.rows("SELECT " + ", ".join(automatic), params)[0])
    return _Counts(followups, quiet_count, sla_count, many)


# -- reading -------------------------------------------------------------------------------
# Every source of a reading (a section's follow-ups, quiet key accounts, SLA breaches) is one
# branch of a single UNION ALL statement, with its assignee's or owner's name joined: one
# round trip for the rows instead of one per source and one for the names. On a loaded
# machine each round trip to PostgreSQL cost 1-7 ms of waiting for the server's turn.

_CUSTOMER_COLUMNS = "c.name, c.key_account, c.last_contact_at, c.created_at"
# The columns every branch gives, in this order (typed NULLs where a source has none, so
# that PostgreSQL can match the branches' types).
_COLUMNS = (
    "id",
    "version",
    "customer_id",
    "title",
    "due_at",
    "due_on",
    "priority",
    "person",
    "recurrence",
    "name",
    "key_account",
    "last_contact_at",
    "created_at",
)


def _select(values: str) -> str:
    """SELECT the comma-separated `values` as `_COLUMNS`."""
    named = zip(values.split(", "), _COLUMNS, strict=True)
    return "SELECT " + ", ".join(f"{value} AS {name}" for value, name in named)


def _customer(row: Sequence[Any]) -> tuple[Any, ...]:
    name, key_account, last_contact_at, created_at = row
    return name, bool(key_account), _moment(last_contact_at), _moment(created_at)


def _limited(sql: _Sql, limit: int | None, params: list[Any]) -> str:
    if limit is None:
        return ""
    params.append(limit)
    return f" LIMIT {sql.param}"


class _Branch(NamedTuple):
    kind: str
    text: str  # a SELECT of `_COLUMNS`
    params: list[Any]


def _followup_branch(
    sql: _Sql, owner: _Owner, limits: Bounds, section: str, limit: int | None, many: bool | None
) -> _Branch:
    """The section's follow-ups, the `limit` most urgent ("later": the soonest due, at least
    DEFAULT_LIMIT of them). `many`: what `_many_overdue` says, None when not yet asked."""
    params: list[Any] = []
    where = _followup_where(sql, owner, limits, section, params)
    if section == "later":  # the soonest due: see the module's docstring
        order = " ORDER BY f.due_at, f.id"
        limit = None if limit is None else max(limit, DEFAULT_LIMIT)
    elif limit is not None:  # all of them needs no order: Python sorts
        score = sql.score(sql.days(limits.now, "f.due_at"), _PRIORITY_SQL, limits.now)
        order = f" ORDER BY {score} DESC, f.due_at, f.id"
    else:
        order = ""
    source = f"follow_up f JOIN customer c ON c.id = f.customer_id WHERE {where}"
    if (
        section == "overdue"
        and sql.postgres
        and owner.user_id is not None
        and not (_many_overdue(sql, owner, limits) if many is None else many)
    ):
        # A lookup per follow-up, of which there are fewer than FEW_OVERDUE: see there.
        source = (
            f"(SELECT * FROM follow_up f WHERE {where} LIMIT {FEW_OVERDUE}) f"
            f" JOIN LATERAL (SELECT {_CUSTOMER_COLUMNS} FROM customer c"
            " WHERE c.id = f.customer_id OFFSET 0) c ON true"
        )
    columns = _select(
        "f.id, f.version, f.customer_id, f.title, f.due_at, CAST(NULL AS DATE), f.priority,"
        f" f.assignee_id, f.recurrence, {_CUSTOMER_COLUMNS}"
    )
    text = f"{columns} FROM {source}{order}"
    return _Branch("followup", text + _limited(sql, limit, params), params)


def _quiet_branch(
    sql: _Sql, owner: _Owner, limits: Bounds, quiet_days: int, limit: int | None
) -> _Branch:
    # Every quiet item has the same priority and key-account points, and both its lateness
    # and its contact points grow with the time since contact: the oldest contact is the
    # most urgent, so the database orders by that alone.
    params: list[Any] = []
    where = _quiet_where(sql, owner, limits, quiet_days, params)
    columns = _select(
        "c.id, CAST(NULL AS INTEGER), c.id, CAST(NULL AS VARCHAR(200)), CAST(NULL AS TIMESTAMP),"
        " CAST(NULL AS DATE), CAST(NULL AS VARCHAR(8)), c.owner_id, CAST(NULL AS VARCHAR(200)),"
        f" {_CUSTOMER_COLUMNS}"
    )
    text = f"{columns} FROM customer c WHERE {where} ORDER BY {_SINCE}, c.id"
    return _Branch("quiet", text + _limited(sql, limit, params), params)


def _sla_branch(sql: _Sql, owner: _Owner, limits: Bounds, limit: int | None) -> _Branch:
    params: list[Any] = []
    where = f"s.id IN ({_breaches(sql, owner, limits, params)})"
    order = ""
    if limit is not None:
        # Breached at the local midnight ending the due date: the local clock minus the due
        # date, less a day. (The offset of today stands in for the due date's: only the
        # choice of rows depends on it, not the score shown.)
        local_now = limits.now.replace(tzinfo=dt.UTC).astimezone().replace(tzinfo=None)
        late = f"({sql.days(local_now, 's.due_on')} - 1)"
        score = sql.score(late, str(PRIORITY_POINTS[SLA_PRIORITY]), limits.now)
        order = f" ORDER BY {score} DESC, s.due_on, s.id"
    columns = _select(
        "s.id, CAST(NULL AS INTEGER), s.customer_id, s.title, CAST(NULL AS TIMESTAMP), s.due_on,"
        f" CAST(NULL AS VARCHAR(8)), c.owner_id, CAST(NULL AS VARCHAR(200)), {_CUSTOMER_COLUMNS}"
    )
    text = (
        f"{columns} FROM service_item s JOIN customer c ON c.id = s.customer_id"
        f" WHERE {where}{order}"
    )
    return _Branch("sla", text + _limited(sql, limit, params), params)


def _read_branches(sql: _Sql, branches: Sequence[_Branch]) -> list[tuple[Any, ...]]:
    """The rows of every branch, in one statement: (kind, *`_COLUMNS`, the person's name)."""
    if not branches:
        return []
    texts = [
        f"SELECT '{b.kind}', r.*, u.name FROM ({b.text}) AS r"
        ' LEFT JOIN "user" u ON u.id = r.person'
        for b in branches
    ]
    params = [param for b in branches for param in b.params]
    return sql.rows(" UNION ALL ".join(texts), params)


class _Candidate(NamedTuple):
    """A row read for the queue, scored, before it is known to be kept: only the kept ones
    become QueueItems (with the labels of their terms)."""

    order: tuple[Any, ...]  # the queue's order: section, score (highest first), due, kind, id
    kind: str
    ids: tuple[int, int | None, int]  # item, version, customer
    title: str
    due_at: dt.datetime
    priority: str
    assignee: str
    customer: tuple[Any, ...]  # name, key account, last contact, created
    recurrence: str
    section: str
    points: tuple[float, float, float, float]  # see `_points`
    score: float


_SECTION_ORDER = {section: n for n, section in enumerate(SECTIONS)}
_KIND_ORDER = {kind: n for n, kind in enumerate(KINDS)}


def _candidate(row: tuple[Any, ...], limits: Bounds, quiet_days: int) -> _Candidate:
    """A row of `_read_branches`, scored."""
    kind, item_id, version, customer_id, title, due_at, due_on, priority = row[:8]
    recurrence, customer, assignee = row[9] or "", _customer(row[10:14]), row[14] or ""
    _name, key_account, last_contact_at, created_at = customer
    since = last_contact_at or created_at
    if kind == "followup":
        due_at = _moment(due_at)
    elif kind == "quiet":
        days = (limits.now - since).days
        title = ngettext("no contact for {n} day", "no contact for {n} days", days).format(n=days)
        due_at, priority = since + dt.timedelta(days=quiet_days), QUIET_PRIORITY
    else:  # "sla": breached at the local midnight ending its due date
        due_at, priority = _local_midnight(_day(due_on) + dt.timedelta(days=1)), SLA_PRIORITY
    points = _points(due_at, priority, key_account, since, limits.now)
    score = _score(points)
    section = section_of(due_at, limits)
    return _Candidate(
        (_SECTION_ORDER[section], -score, due_at, _KIND_ORDER[kind], item_id),
        kind,
        (item_id, version, customer_id),
        title,
        due_at,
        priority,
        assignee,
        customer,
        recurrence,
        section,
        points,
        score,
    )


def _item(candidate: _Candidate, limits: Bounds) -> QueueItem:
    item_id, version, customer_id = candidate.ids
    name, key_account, last_contact_at, created_at = candidate.customer
    terms = _terms(
        candidate.points,
        candidate.due_at,
        candidate.priority,
        last_contact_at,
        created_at,
        limits.now,
    )
    return QueueItem(
        kind=candidate.kind,
        id=item_id,
        version=version,
        customer_id=customer_id,
        customer_name=name,
        title=candidate.title,
        due_at=candidate.due_at,
        priority=candidate.priority,
        assignee=candidate.assignee,
        key_account=key_account,
        last_contact_at=last_contact_at,
        recurrence=candidate.recurrence,
        section=candidate.section,
        score=candidate.score,
        terms=terms,
    )


def _section(
    sql: _Sql,
    owner: _Owner,
    limits: Bounds,
    section: str,
    limit: int | None,
    quiet_days: int,
    counts: _Counts | None = None,
) -> list[_Branch]:
    """The branches that read the rows that can be the section's `limit` most urgent items
    (None: all of them): its follow-ups, and for "overdue" the automatic items too, each
    source read for `limit` rows. A source `counts` says is empty is not read (one not
    counted is)."""
    branches = []
    if counts is None or counts.followups.get(section, 0):
        many = None if counts is None else counts.many_overdue
        branches.append(_followup_branch(sql, owner, limits, section, limit, many))
    if section == "overdue":  # automatic items are all overdue
        if counts is None or counts.quiet != 0:
            branches.append(_quiet_branch(sql, owner, limits, quiet_days, limit))
        if counts is None or counts.sla != 0:
            branches.append(_sla_branch(sql, owner, limits, limit))
    return branches


def _items(
    sql: _Sql,
    branches: Sequence[_Branch],
    keep: Mapping[str, int] | None,
    limits: Bounds,
    quiet_days: int,
) -> list[QueueItem]:
    """The branches' rows in the queue's order as items, each section's first
    `keep[section]` (None: all), with the labels of their terms."""
    candidates = [_candidate(row, limits, quiet_days) for row in _read_branches(sql, branches)]
    candidates.sort(key=lambda c: c.order)
    if keep is not None:
        per_section: dict[str, int] = {}
        kept = []
        for candidate in candidates:
            per_section[candidate.section] = per_section.get(candidate.section, 0) + 1
            if per_section[candidate.section] <= keep.get(candidate.section, 0):
                kept.append(candidate)
        candidates = kept
    return [_item(c, limits) for c in candidates]


@dataclass(frozen=True)
class QueueView:
    """The queue as its screen opens it: the first items (see `read_queue`) and how many
    items each section holds in all (automatic items included in "overdue"), each counted
    no further than `section_cap(section)`. The screen lists at most DEFAULT_LIMIT items of
    a section."""

    items: list[QueueItem]
    counts: dict[str, int]


def _check(actor: Actor, within: str | None, limit: int | None) -> None:
    authorize(actor, FOLLOWUP_READ)
    if within is not None and within not in WITHIN:
        raise ValidationError.single(
            "within",
            _("{value!r} is not one of: {choices}").format(value=within, choices=", ".join(WITHIN)),
        )
    if limit is not None and limit < 1:
        raise ValidationError.single("limit", _("must be at least 1"))


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
    of the soonest due, see the module's docstring); None reads them all. Automatic items are
    those of the customers the user owns (everyone: all customers).
    """
    _check(actor, within, limit)
    owner = _whose(actor, user, everyone)
    limits = bounds(now)
    quiet_days = current_settings().quiet_days
    sections = WITHIN[within] if within else SECTIONS
    sql = _Sql()
    branches = [b for s in sections for b in _section(sql, owner, limits, s, limit, quiet_days)]
    keep = None if limit is None else dict.fromkeys(sections, limit)
    return _items(sql, branches, keep, limits, quiet_days)


def read_queue(
    actor: Actor,
    *,
    user: str | None = None,
    everyone: bool = False,
    now: dt.datetime | None = None,
    first: int | None = None,
) -> QueueView:
    """The size of every section and the queue's first items, in one call: what the
    screen reads on opening and after each triage action.

    The items are `list_queue`'s (at most DEFAULT_LIMIT a section), of which only the first
    `first` in the queue's order (None: all): the screen reads the rows it shows and pages
    in the rest (`read_section`) as the cursor gets there. The counts come first, in one
    statement, so no section is read for more rows than it has or the screen needs."""
    _check(actor, None, first)
    owner = _whose(actor, user, everyone)
    limits = bounds(now)
    quiet_days = current_settings().quiet_days
    counted = _count(owner, limits, quiet_days, SECTIONS, probe=True)
    counts = counted.sections()
    budget = first
    keep: dict[str, int] = {}
    sql = _Sql()
    branches: list[_Branch] = []
    for section in SECTIONS:
        wanted = min(DEFAULT_LIMIT, counts[section])
        if budget is not None:
            wanted = min(wanted, budget)
            budget -= wanted
        if wanted:
            keep[section] = wanted
            branches += _section(sql, owner, limits, section, wanted, quiet_days, counted)
    return QueueView(_items(sql, branches, keep, limits, quiet_days), counts)


def read_section(
    actor: Actor,
    section: str,
    *,
    user: str | None = None,
    everyone: bool = False,
    now: dt.datetime | None = None,
    offset: int = 0,
    limit: int = DEFAULT_LIMIT,
) -> list[QueueItem]:
    """Items `offset` to `offset + limit` of one section of the queue, in its order: a
    page of `list_queue(limit=None)`'s items of that section (of "later", past DEFAULT_LIMIT
    items: of the `offset + limit` due soonest, see the module's docstring)."""
    _check(actor, None, limit)
    if section not in SECTIONS:
        raise ValidationError.single(
            "section",
            _("{value!r} is not one of: {choices}").format(
                value=section, choices=", ".join(SECTIONS)
            ),
        )
    if offset < 0:
        raise ValidationError.single("offset", _("must be at least 0"))
    owner = _whose(actor, user, everyone)
    limits = bounds(now)
    end = offset + limit
    quiet_days = current_settings().quiet_days
    sql = _Sql()
    branches = _section(sql, owner, limits, section, end, quiet_days)
    return _items(sql, branches, {section: end}, limits, quiet_days)[offset:]


def count_overdue(actor: Actor, *, now: dt.datetime | None = None) -> int:
    """How many items the acting user's queue has overdue: the length of its "overdue"
    section without a limit (follow-ups not waiting, quiet key accounts, SLA breaches), at
    most COUNT_CAP. (`read_queue` gives the same number with the queue.)"""
    authorize(actor, FOLLOWUP_READ)
    settings = current_settings()
    owner = _whose(actor, None, everyone=False)
    counted = _count(owner, bounds(now), settings.quiet_days, ("overdue",), probe=False)
    return counted.sections()["overdue"]
