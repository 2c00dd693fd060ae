"""The follow-up queue: urgency score, sections by local day, waiting, automatic items,
triage helpers and snooze choices, with a pinned clock and time zone, on both backends."""

import datetime as dt
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crmtui import config
from crmtui.store import customers, followups, queue, timeline
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.errors import ConflictError, NotFoundError, StoreError, ValidationError
from crmtui.store.queue import ScoreTerm, urgency
from crmtui.store.types import Actor, Customer
from tests.conftest import Clock, local_zone

from .conftest import Counts

NOW = dt.datetime(2025, 3, 5, 6, 0)  # UTC, a Wednesday: 14:00 in Shanghai, 01:00 in New York


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    pinned = Clock(NOW)
    monkeypatch.setattr(m, "utcnow", pinned)  # every store module reads the time as m.utcnow()
    with local_zone("UTC"):
        yield pinned


def add(actor: Actor, customer_id: int, due: dt.datetime, **values: object) -> int:
    return followups.add_followup(actor, customer_id, {"title": "call", "due_at": due, **values}).id


def ids(items: list[queue.QueueItem]) -> list[tuple[str, str, int]]:
    return [(i.section, i.kind, i.id) for i in items]


# -- the score ------------------------------------------------------------------------------


def test_urgency_terms_explain_the_score() -> None:
    score, terms = urgency(
        due_at=NOW - dt.timedelta(days=3, hours=2),
        priority="high",
        key_account=True,
        last_contact_at=NOW - dt.timedelta(days=45),
        now=NOW,
    )
    assert terms == (
        ScoreTerm("3 days overdue", 50.8),  # 20 for being due, 10 a day
        ScoreTerm("priority high", 20.0),
        ScoreTerm("key account", 15.0),
        ScoreTerm("45 days since last contact", 9.0),
    )
    assert score == 94.8 == round(sum(t.points for t in terms), 1)


def test_urgency_grows_with_lateness_and_nearness() -> None:
    def score(due: dt.datetime, priority: str = "normal") -> float:
        return urgency(
            due_at=due, priority=priority, key_account=False, last_contact_at=NOW, now=NOW
        )[0]

    days = [-40, -30, -10, -1, -1 / 24, 1 / 24, 1, 3, 6.9, 7, 30]
    scores = [score(NOW + dt.timedelta(days=d)) for d in days]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == scores[1] == 330.0  # lateness stops growing after a month
    assert scores[-2] == scores[-1] == 10.0  # a week or more ahead: priority alone
    # An urgent item a day late outranks a normal one three days late, not a month late.
    assert score(NOW - dt.timedelta(days=1), "urgent") > score(NOW - dt.timedelta(days=3))
    assert score(NOW - dt.timedelta(days=30), "low") > score(NOW - dt.timedelta(days=1), "urgent")
    # Nothing not yet due outranks the same item overdue.
    assert score(NOW + dt.timedelta(hours=1), "urgent") < score(
        NOW - dt.timedelta(hours=1), "urgent"
    )


def test_urgency_small_terms() -> None:
    score, terms = urgency(
        due_at=NOW + dt.timedelta(hours=5),
        priority="low",
        key_account=False,
        last_contact_at=None,
        customer_since=NOW - dt.timedelta(days=400),
        now=NOW,
    )
    assert terms == (
        ScoreTerm("due in 5 hours", 19.4),
        ScoreTerm("never contacted in 400 days", 30.0),  # capped
    )
    assert score == 49.4
    _score, terms = urgency(
        due_at=NOW - dt.timedelta(minutes=20),
        priority="urgent",
        key_account=False,
        last_contact_at=NOW + dt.timedelta(days=1),  # logged ahead: no negative points
        now=NOW,
    )
    assert [t.label for t in terms] == ["1 hour overdue", "priority urgent"]


# -- sections -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "now", "today_end", "week_end"),
    [
        # Shanghai (UTC+8): 23:30 local is still today; tomorrow starts at 16:00 UTC.
        ("Asia/Shanghai", dt.datetime(2025, 3, 5, 15, 30), (2025, 3, 5, 16), (2025, 3, 12, 16)),
        # ... and half an hour later it is tomorrow there.
        ("Asia/Shanghai", dt.datetime(2025, 3, 5, 16, 0), (2025, 3, 6, 16), (2025, 3, 13, 16)),
        # New York: the week crosses the change to summer time (9 March), 5 h then 4 h.
        ("America/New_York", dt.datetime(2025, 3, 5, 4, 0), (2025, 3, 5, 5), (2025, 3, 12, 4)),
        # The last day of February in a leap year, and the month end in the week.
        ("UTC", dt.datetime(2024, 2, 29, 23, 59), (2024, 3, 1, 0), (2024, 3, 8, 0)),
    ],
)
def test_bounds_follow_the_local_day(
    name: str, now: dt.datetime, today_end: tuple[int, ...], week_end: tuple[int, ...]
) -> None:
    with local_zone(name):
        limits = queue.bounds(now)
    assert (limits.today_end, limits.week_end) == (dt.datetime(*today_end), dt.datetime(*week_end))
    assert queue.section_of(now - dt.timedelta(seconds=1), limits) == "overdue"
    assert queue.section_of(now, limits) == "today"
    assert queue.section_of(limits.today_end - dt.timedelta(seconds=1), limits) == "today"
    assert queue.section_of(limits.today_end, limits) == "week"
    assert queue.section_of(limits.week_end - dt.timedelta(seconds=1), limits) == "week"
    assert queue.section_of(limits.week_end, limits) == "later"


def test_sections_and_order(
    actor: Actor, customer: Customer, make_actor: Callable[..., Actor]
) -> None:
    make_actor("wang", "sales")
    key = customers.add_customer(actor, {"name": "Key", "key_account": True})
    timeline.add_record(
        actor, timeline.COMMUNICATION, key.id, {"at": NOW, "summary": "hello"}
    )  # contacted now: not quiet
    timeline.add_record(actor, timeline.COMMUNICATION, customer.id, {"at": NOW, "summary": "hello"})
    with local_zone("Asia/Shanghai"):  # 14:00 local; the day ends at 16:00 UTC
        late_low = add(actor, customer.id, NOW - dt.timedelta(days=2), priority="low")
        late_key = add(actor, key.id, NOW - dt.timedelta(days=1))
        late_urgent = add(actor, customer.id, NOW - dt.timedelta(hours=1), priority="urgent")
        tonight = add(actor, customer.id, dt.datetime(2025, 3, 5, 15, 59))
        tonight_high = add(actor, customer.id, dt.datetime(2025, 3, 5, 15, 0), priority="high")
        tomorrow = add(actor, customer.id, dt.datetime(2025, 3, 5, 16, 0))
        in_a_week = add(actor, customer.id, dt.datetime(2025, 3, 12, 15, 59))
        later = add(actor, customer.id, dt.datetime(2025, 3, 12, 16, 0))
        much_later = add(actor, key.id, dt.datetime(2025, 6, 1), priority="urgent")
        add(actor, customer.id, NOW - dt.timedelta(days=5), assignee="wang")
        done = add(actor, customer.id, NOW - dt.timedelta(days=9))
        followups.complete_followup(actor, done, "done")

        items = queue.list_queue(actor)
        assert ids(items) == [
            ("overdue", "followup", late_urgent),  # 20 + 1 h + urgent 40
            ("overdue", "followup", late_key),  # 20 + 10 + normal 10 + key 15
            ("overdue", "followup", late_low),  # 20 + 20 + low 0
            ("today", "followup", tonight_high),
            ("today", "followup", tonight),
            ("week", "followup", tomorrow),
            ("week", "followup", in_a_week),
            ("later", "followup", much_later),  # urgent: scored above the nearer one
            ("later", "followup", later),
        ]
        first = items[0]
        assert (first.version, first.customer_id, first.customer_name, first.title) == (
            1,
            customer.id,
            "张伟",
            "call",
        )
        assert (first.assignee, first.priority, first.key_account) == (actor.name, "urgent", False)
        assert first.last_contact_at == NOW and first.recurrence == ""
        assert first.score == sum(t.points for t in first.terms)
        assert [i.id for i in queue.list_queue(actor, within="overdue")] == [
            late_urgent,
            late_key,
            late_low,
        ]
        assert len(queue.list_queue(actor, within="today")) == 5
        assert len(queue.list_queue(actor, within="week")) == 7
        assert [i.section for i in queue.list_queue(actor, user="wang")] == ["overdue"]
        assert len(queue.list_queue(actor, everyone=True)) == 10
        assert queue.read_queue(actor).counts == {
            "overdue": 3,
            "today": 2,
            "week": 2,
            "later": 2,
        }
        assert followups.count_overdue(actor) == 3
    # In UTC the same moment is 06:00: all of today's and tomorrow's items are today.
    assert queue.read_queue(actor).counts == {"overdue": 3, "today": 3, "week": 2, "later": 1}


def test_counts_stop_at_the_cap(
    actor: Actor, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "COUNT_CAP", 3)
    for day in range(1, 6):
        due = NOW - dt.timedelta(days=day)
        followups.add_followup(actor, customer.id, {"title": f"late {day}", "due_at": due})
    assert followups.count_overdue(actor) == 3
    assert queue.read_queue(actor).counts["overdue"] == 3
    assert len(queue.list_queue(actor, within="overdue")) == 5  # the list is not capped


def test_limit_keeps_the_most_urgent_of_each_section(actor: Actor, customer: Customer) -> None:
    """The database picks the rows by the same score the queue shows."""
    key = customers.add_customer(actor, {"name": "Key", "key_account": True})
    timeline.add_record(actor, timeline.COMMUNICATION, key.id, {"at": NOW, "summary": "hi"})
    timeline.add_record(
        actor,
        timeline.COMMUNICATION,
        customer.id,
        {"at": NOW - dt.timedelta(days=29), "summary": "hi"},
    )
    for days, priority, target in [
        (10, "low", customer),
        (1, "urgent", customer),
        (2, "normal", key),
        (3, "normal", customer),
        (0.5, "high", key),
        (45, "low", customer),
    ]:
        add(actor, target.id, NOW - dt.timedelta(days=days), priority=priority)
    for days, priority in [(0.1, "low"), (0.2, "urgent"), (3, "high"), (4, "normal")]:
        add(actor, customer.id, NOW + dt.timedelta(days=days), priority=priority)
    everything = queue.list_queue(actor, limit=None)
    for limit in (1, 2, 3):
        expected = [
            item
            for section in queue.SECTIONS
            for item in [i for i in everything if i.section == section][:limit]
        ]
        assert queue.list_queue(actor, limit=limit) == expected


@pytest.mark.parametrize(("limit", "cap"), [(200, 1000), (2, 1000), (1, 3), (3, 4)])
def test_read_queue_is_the_list_and_its_counts(
    actor: Actor,
    customer: Customer,
    make_actor: Callable[..., Actor],
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
    cap: int,
) -> None:
    """One call gives the screen the list (`list_queue`'s) and the sections' sizes, counted
    up to the cap ("later" up to the limit, as far as the screen lists), the same as the
    unlimited list's; its overdue count is the header's."""
    monkeypatch.setattr(queue, "DEFAULT_LIMIT", limit)
    monkeypatch.setattr(queue, "COUNT_CAP", cap)
    wang = make_actor("wang", "manager")  # may read another's queue
    for n in range(3):
        key = customers.add_customer(actor, {"name": f"Key {n}", "key_account": True})
        m.Customer.update(created_at=NOW - dt.timedelta(days=40 + n)).where(
            m.Customer.id == key.id
        ).execute()
        values = {"title": "fix", "opened_on": "2025-02-01", "due_on": f"2025-03-0{n + 1}"}
        timeline.add_record(actor, timeline.SERVICE, key.id, values)
    for days in (-3, -2, -1, -0.5, 0.1, 0.2, 2, 3, 4, 5, 10, 20):
        add(actor, customer.id, NOW + dt.timedelta(days=days))
    add(actor, customer.id, NOW - dt.timedelta(days=1), assignee="wang")
    for who in (actor, wang):
        everything = queue.list_queue(who, limit=None)
        view = queue.read_queue(who)
        assert view.items == queue.list_queue(who, limit=limit)
        assert view.counts == {
            section: min(
                limit if section == "later" else cap,
                sum(1 for i in everything if i.section == section),
            )
            for section in queue.SECTIONS
        }
        assert view.counts["overdue"] == followups.count_overdue(who)
    assert queue.read_queue(wang, user=actor.name) == queue.read_queue(actor)
    everyone = queue.read_queue(actor, everyone=True)
    assert everyone.items == queue.list_queue(actor, everyone=True, limit=limit)
    assert everyone.counts["overdue"] == min(cap, 4 + 3 + 3 + 1)


def _mixed_queue(actor: Actor, customer: Customer) -> None:
    """Follow-ups in every section, two quiet key accounts and two SLA breaches."""
    for n in range(2):
        values = {"name": f"Key {n}", "key_account": True, "owner": actor.id}
        key = customers.add_customer(actor, values)
        m.Customer.update(created_at=NOW - dt.timedelta(days=40 + 20 * n)).where(
            m.Customer.id == key.id
        ).execute()
        values = {"title": "fix", "opened_on": "2025-02-01", "due_on": f"2025-03-0{n + 2}"}
        timeline.add_record(actor, timeline.SERVICE, key.id, values)
    priorities = ["low", "normal", "high", "urgent"]
    for n, days in enumerate((-40, -3, -2, -1.5, -1, -0.5, -0.1, 0.1, 0.3, 2, 3, 4, 9, 20, 30)):
        add(actor, customer.id, NOW + dt.timedelta(days=days), priority=priorities[n % 4])


def test_read_queue_first_gives_the_first_items_in_queue_order(
    actor: Actor, customer: Customer
) -> None:
    """The screen opens with the first items only: the unlimited list's first `first`,
    across sections, with the same counts as when every item is read."""
    _mixed_queue(actor, customer)
    everything = queue.list_queue(actor, limit=None)
    assert [i.section for i in everything].count("overdue") == 7 + 2 + 2
    counts = queue.read_queue(actor).counts
    assert counts == {
        section: sum(1 for i in everything if i.section == section) for section in queue.SECTIONS
    }
    for first in (1, 4, 11, 12, 14, 19, 100):
        view = queue.read_queue(actor, first=first)
        assert view.items == everything[:first]
        assert view.counts == counts
    with pytest.raises(ValidationError, match="limit: must be at least 1"):
        queue.read_queue(actor, first=0)


def test_the_database_picks_the_rows_python_ranks_first(actor: Actor) -> None:
    """The SQL spelling of the score chooses which rows are read; Python's scores and sorts
    them. On a random queue (ties of lateness past the 30-day cap, customers of every kind)
    the first items read, and the pages of each section, are the unlimited list's, which
    Python alone orders."""
    rng = random.Random(7)
    targets = []
    for n in range(12):
        values = {"name": f"C{n}", "key_account": n % 3 == 0, "owner": actor.id}
        target = customers.add_customer(actor, values)
        days = rng.choice([None, 2, 20, 45, 90, 200])
        if days is not None:
            at = NOW - dt.timedelta(days=days, hours=rng.random())
            timeline.add_record(
                actor, timeline.COMMUNICATION, target.id, {"at": at, "summary": "hi"}
            )
        m.Customer.update(created_at=NOW - dt.timedelta(days=rng.uniform(10, 400))).where(
            m.Customer.id == target.id
        ).execute()
        targets.append(target.id)
    for _n in range(60):
        late = rng.choice([rng.uniform(-40, 9), rng.uniform(31, 60)])  # a third past the cap
        due = NOW - dt.timedelta(days=late)
        priority = rng.choice(["low", "normal", "high", "urgent"])
        add(actor, rng.choice(targets), due.replace(microsecond=0), priority=priority)
    everything = queue.list_queue(actor, limit=None)
    assert len({i.score for i in everything if i.section == "overdue"}) > 10
    for first in (3, 10, 25):
        assert queue.read_queue(actor, first=first).items == everything[:first]
    for section in queue.SECTIONS:
        expected = [i for i in everything if i.section == section]
        pages = [queue.read_section(actor, section, offset=o, limit=4) for o in range(0, 60, 4)]
        assert [item for page in pages for item in page] == expected


def test_read_section_pages_through_a_section(
    actor: Actor, customer: Customer, make_actor: Callable[..., Actor]
) -> None:
    """Pages of one section, read one after another, are the section as the unlimited list
    orders it: none missed, none twice, automatic items in their place."""
    _mixed_queue(actor, customer)
    wang = make_actor("wang", "manager")  # may read another's queue
    for who, options in ((actor, {}), (actor, {"everyone": True}), (wang, {"user": actor.name})):
        everything = queue.list_queue(who, limit=None, **options)
        for section in queue.SECTIONS:
            expected = [i for i in everything if i.section == section]
            for size in (1, 2, 3, 5):
                offsets = range(0, len(expected) + size, size)  # one page past the end
                pages = [
                    queue.read_section(who, section, offset=offset, limit=size, **options)
                    for offset in offsets
                ]
                assert [len(page) for page in pages] == [
                    max(0, min(size, len(expected) - offset)) for offset in offsets
                ]
                assert [item for page in pages for item in page] == expected
    for bad, message in [
        ({"section": "soon"}, "section: 'soon' is not one of: overdue, today, week, later"),
        ({"section": "today", "offset": -1}, "offset: must be at least 0"),
        ({"section": "today", "limit": 0}, "limit: must be at least 1"),
    ]:
        with pytest.raises(ValidationError, match=message):
            queue.read_section(actor, **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("few", [2, 5, 6, 5000])
def test_overdue_read_alike_however_customers_are_joined(
    actor: Actor, customer: Customer, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """PostgreSQL looks up the customers of a user's overdue follow-ups one by one when they
    are fewer than `FEW_OVERDUE` (waiting ones counted: five here), and joins them when there
    are more: the same items in the same order either way, none left out by the bound."""
    monkeypatch.setattr(queue, "FEW_OVERDUE", few)
    key = customers.add_customer(actor, {"name": "Key", "key_account": True})
    for days, priority, target in [
        (1, "urgent", customer),
        (2, "normal", key),
        (45, "low", customer),
        (0.5, "high", key),
    ]:
        add(actor, target.id, NOW - dt.timedelta(days=days), priority=priority)
    waiting = add(actor, customer.id, NOW - dt.timedelta(days=3))
    followups.wait_followup(actor, waiting, "+2d")
    everything = queue.list_queue(actor, within="overdue", limit=None)
    assert len(everything) == 4 and waiting not in [i.id for i in everything]
    assert queue.list_queue(actor, within="overdue") == everything
    for limit in (1, 3):
        assert queue.list_queue(actor, within="overdue", limit=limit) == everything[:limit]


def test_unknown_user_and_bad_arguments(actor: Actor) -> None:
    with pytest.raises(ValidationError, match="user: no user named 'ghost'"):
        queue.list_queue(actor, user="ghost")
    with pytest.raises(ValidationError, match="user: name a user or everyone, not both"):
        queue.list_queue(actor, user=actor.name, everyone=True)
    with pytest.raises(ValidationError, match="within: 'month' is not one of: overdue, today"):
        queue.list_queue(actor, within="month")
    with pytest.raises(ValidationError, match="limit: must be at least 1"):
        queue.list_queue(actor, limit=0)
    assert queue.list_queue(actor) == []


# -- waiting --------------------------------------------------------------------------------


def test_waiting_hides_until_the_time_passes(
    actor: Actor, customer: Customer, clock: Clock, counts: Counts
) -> None:
    overdue = add(actor, customer.id, NOW - dt.timedelta(days=1))
    waited = followups.wait_followup(actor, overdue, "+2d", expected_version=1)
    assert (waited.snoozed_until, waited.due_at, waited.version) == (
        dt.datetime(2025, 3, 7, 9),  # 09:00 local (UTC here)
        NOW - dt.timedelta(days=1),
        2,
    )
    assert queue.list_queue(actor) == [] and followups.count_overdue(actor) == 0
    row = m.History.select().where(m.History.field == "snoozed_until").get()
    assert (row.old_value, row.new_value) == (None, "2025-03-07 09:00:00")

    before = counts()
    for until, message in [
        ("2025-03-04", "until: is not in the future"),
        ("someday", "until: 'someday' is not a date crmtui understands"),
    ]:
        with pytest.raises(ValidationError) as caught:
            followups.wait_followup(actor, overdue, until)
        assert str(caught.value).startswith(message)
    with pytest.raises(ConflictError):
        followups.wait_followup(actor, overdue, "+3d", expected_version=1)
    with pytest.raises(NotFoundError, match="no follow-up with id 999999"):
        followups.wait_followup(actor, 999_999, "+3d")
    assert counts() == before

    clock.now = dt.datetime(2025, 3, 7, 9)  # the moment it was waiting for: back
    [item] = queue.list_queue(actor)
    assert (item.id, item.section, item.version) == (overdue, "overdue", 2)
    assert followups.count_overdue(actor) == 1

    clock.now = NOW
    followups.wait_followup(actor, overdue, "+1w")
    assert queue.list_queue(actor) == []
    cleared = followups.wait_followup(actor, overdue, "")
    assert cleared.snoozed_until is None
    assert [i.id for i in queue.list_queue(actor)] == [overdue]


# -- automatic items ------------------------------------------------------------------------


def test_quiet_key_accounts_appear_and_clear(
    actor: Actor, make_actor: Callable[..., Actor], clock: Clock, tmp_path: Path
) -> None:
    wang = make_actor("wang", "sales")
    key = customers.add_customer(actor, {"name": "Key", "key_account": True, "owner": actor.id})
    plain = customers.add_customer(actor, {"name": "Plain", "owner": actor.id})
    others = customers.add_customer(actor, {"name": "Wang's", "key_account": True, "owner": "wang"})
    never = customers.add_customer(actor, {"name": "Never", "key_account": True, "owner": "wang"})
    # The models stamp creation with the real clock: set it to the pinned one's past.
    m.Customer.update(created_at=NOW - dt.timedelta(days=31)).where(
        m.Customer.id == never.id
    ).execute()
    for target in (key, plain, others):
        timeline.add_record(
            actor,
            timeline.COMMUNICATION,
            target.id,
            {"at": NOW - dt.timedelta(days=30, minutes=1), "summary": "hi"},
        )
    [item] = queue.list_queue(actor)
    assert (item.kind, item.id, item.version, item.customer_id) == ("quiet", key.id, None, key.id)
    assert (item.section, item.title, item.assignee, item.key_account) == (
        "overdue",
        "no contact for 30 days",
        actor.name,
        True,
    )
    assert item.due_at == NOW - dt.timedelta(minutes=1)
    assert item.last_contact_at == NOW - dt.timedelta(days=30, minutes=1)
    assert [t.label for t in item.terms] == [
        "1 hour overdue",
        "priority normal",
        "key account",
        "30 days since last contact",
    ]
    assert followups.count_overdue(actor) == 1
    assert [(i.kind, i.customer_name) for i in queue.list_queue(wang)] == [
        ("quiet", "Wang's"),  # 31 days since creation vs 30 since contact: older goes first
        ("quiet", "Never"),
    ][::-1]
    assert followups.count_overdue(wang) == 2
    assert len(queue.list_queue(actor, everyone=True)) == 3

    timeline.add_record(actor, timeline.COMMUNICATION, key.id, {"at": NOW, "summary": "call"})
    assert queue.list_queue(actor) == [] and followups.count_overdue(actor) == 0

    # The number of days is a setting.
    config_file = Path(os.environ["CRMTUI_CONFIG"])
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("[queue]\nquiet_days = 60\n")
    config.reset_settings()
    assert queue.list_queue(wang) == []
    clock.now = NOW + dt.timedelta(days=30)
    assert [i.customer_name for i in queue.list_queue(wang)] == ["Never", "Wang's"]


def test_quiet_days_setting_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert config.load_settings(path).quiet_days == 30
    for bad in ("0", "-3", "true", '"30"', "1.5"):
        path.write_text(f"[queue]\nquiet_days = {bad}\n")
        with pytest.raises(config.ConfigError, match="quiet_days must be a whole number"):
            config.load_settings(path)


def test_sla_breaches_appear_and_clear(actor: Actor, make_actor: Callable[..., Actor]) -> None:
    make_actor("wang", "sales")
    mine = customers.add_customer(actor, {"name": "Mine", "owner": actor.id})
    theirs = customers.add_customer(actor, {"name": "Theirs", "owner": "wang"})
    for target in (mine, theirs):
        timeline.add_record(actor, timeline.COMMUNICATION, target.id, {"at": NOW, "summary": "x"})

    def service(target: Customer, due: str, status: str = "open") -> int:
        values = {"title": "fix it", "opened_on": "2025-02-01", "due_on": due, "status": status}
        return timeline.add_record(actor, timeline.SERVICE, target.id, values).id

    with local_zone("Asia/Shanghai"):  # local today: 5 March
        breached = service(mine, "2025-03-04", "in_progress")
        service(mine, "2025-03-05")  # due today: not yet breached
        service(mine, "2025-03-01", "resolved")
        service(theirs, "2025-03-01")
        [item] = queue.list_queue(actor)
        assert (item.kind, item.id, item.customer_name, item.title) == (
            "sla",
            breached,
            "Mine",
            "fix it",
        )
        # Breached at local midnight ending 4 March: 16:00 UTC that day, 14 hours ago.
        assert (item.due_at, item.priority, item.section) == (
            dt.datetime(2025, 3, 4, 16),
            "high",
            "overdue",
        )
        assert item.terms[0] == ScoreTerm("14 hours overdue", 25.8)
        assert followups.count_overdue(actor) == 1
        assert len(queue.list_queue(actor, everyone=True)) == 2
        timeline.update_record(actor, timeline.SERVICE, breached, {"status": "resolved"}, 1)
        assert queue.list_queue(actor) == [] and followups.count_overdue(actor) == 0


# -- triage ---------------------------------------------------------------------------------


def test_triage_keeps_version_and_history(
    actor: Actor, customer: Customer, make_actor: Callable[..., Actor], counts: Counts
) -> None:
    make_actor("wang", "sales")
    followup_id = add(actor, customer.id, NOW + dt.timedelta(days=2))
    with local_zone("Asia/Shanghai"):
        moved = followups.reschedule_followup(actor, followup_id, "today", 1)  # 09:00 local
        assert (moved.due_at, moved.version) == (dt.datetime(2025, 3, 5, 1), 2)
        snoozed = followups.snooze_followup(actor, followup_id, "next monday", 2)
        assert snoozed.due_at == dt.datetime(2025, 3, 10, 1)  # Monday 09:00 in Shanghai
        typed = followups.snooze_followup(actor, followup_id, "+2w", 3)
        assert typed.due_at == dt.datetime(2025, 3, 19, 1)
    handed = followups.update_followup(actor, followup_id, {"assignee": "wang"}, 4)
    urgent = followups.update_followup(actor, followup_id, {"priority": "urgent"}, 5)
    assert (handed.assignee, urgent.priority, urgent.version) == ("wang", "urgent", 6)
    changed = m.History.select().where(
        (m.History.entity == "follow-up") & (m.History.action == "update")
    )
    assert [r.field for r in changed.order_by(m.History.id)] == [
        "due_at",
        "due_at",
        "due_at",
        "assignee",
        "priority",
    ]

    before = counts()
    for call, message in [
        (lambda: followups.snooze_followup(actor, followup_id, "2025-03-04"), "until: is not"),
        (lambda: followups.snooze_followup(actor, followup_id, "-1d"), "until: is not in the"),
        (lambda: followups.snooze_followup(actor, followup_id, "someday"), "until: 'someday'"),
        (lambda: followups.reschedule_followup(actor, followup_id, "x y z"), "when: 'x y z' is"),
        (lambda: followups.reschedule_followup(actor, followup_id, ""), "when: a date is required"),
        (
            lambda: followups.update_followup(actor, followup_id, {"assignee": "ghost"}, 6),
            "assignee: no active user named 'ghost'",
        ),
        (
            lambda: followups.update_followup(actor, followup_id, {"priority": "asap"}, 6),
            "priority: 'asap' is not one of: low, normal, high, urgent",
        ),
    ]:
        with pytest.raises(ValidationError) as caught:
            call()
        assert str(caught.value).startswith(message)
    with pytest.raises(ConflictError):
        followups.reschedule_followup(actor, followup_id, "+1d", 5)
    with pytest.raises(NotFoundError, match="no follow-up with id 999999"):
        followups.reschedule_followup(actor, 999_999, "+1d")
    followups.complete_followup(actor, followup_id, "ok")
    before = counts()
    with pytest.raises(StoreError, match="is done, not open"):
        followups.reschedule_followup(actor, followup_id, "+1d")
    with pytest.raises(StoreError, match="is done, not open"):
        followups.wait_followup(actor, followup_id, "+1d")
    assert counts() == before


# -- snooze choices -------------------------------------------------------------------------

CHOICE_LABELS = ["+1 day", "+3 days", "+1 week", "next Monday", "end of month"]


@pytest.mark.parametrize(
    ("local_now", "expected"),
    [
        # Friday 31 January 2025, 10:00: end of month has passed today, so February's.
        ("2025-01-31 10:00", ["2025-02-01", "2025-02-03", "2025-02-07", "2025-02-03", "2025-02-28"]),  # noqa: E501
        # ... but at 08:00 the month's end is still ahead (09:00 today).
        ("2025-01-31 08:00", ["2025-02-01", "2025-02-03", "2025-02-07", "2025-02-03", "2025-01-31"]),  # noqa: E501
        # Friday 28 February 2025, after 09:00: the end of March.
        ("2025-02-28 12:00", ["2025-03-01", "2025-03-03", "2025-03-07", "2025-03-03", "2025-03-31"]),  # noqa: E501
        # A leap year: Wednesday 28 February 2024 ends on the 29th.
        ("2024-02-28 12:00", ["2024-02-29", "2024-03-02", "2024-03-06", "2024-03-04", "2024-02-29"]),  # noqa: E501
        # Sunday: next Monday is tomorrow. Monday: the Monday a week on.
        ("2025-03-09 20:00", ["2025-03-10", "2025-03-12", "2025-03-16", "2025-03-10", "2025-03-31"]),  # noqa: E501
        ("2025-03-10 08:00", ["2025-03-11", "2025-03-13", "2025-03-17", "2025-03-17", "2025-03-31"]),  # noqa: E501
    ],
)  # fmt: skip
@pytest.mark.parametrize("name", ["Asia/Shanghai", "America/New_York"])
def test_snooze_choices(name: str, local_now: str, expected: list[str]) -> None:
    with local_zone(name):
        now = dt.datetime.fromisoformat(local_now).astimezone(dt.UTC).replace(tzinfo=None)
        choices = followups.snooze_choices(now)
        assert [label for label, _moment in choices] == CHOICE_LABELS
        local = [moment.replace(tzinfo=dt.UTC).astimezone() for _label, moment in choices]
    assert [d.date().isoformat() for d in local] == expected
    assert {d.time() for d in local} == {dt.time(9)}
    assert all(moment > now for _label, moment in choices)


def test_a_snooze_choice_is_accepted_as_is(actor: Actor, customer: Customer) -> None:
    followup_id = add(actor, customer.id, NOW - dt.timedelta(days=1))
    [_day, _three, _week, (_label, monday), _end] = followups.snooze_choices()
    moved = followups.snooze_followup(actor, followup_id, monday, 1)
    assert moved.due_at == monday == dt.datetime(2025, 3, 10, 9)
    [item] = queue.list_queue(actor)
    assert (item.section, item.version) == ("week", 2)


# -- the schema -----------------------------------------------------------------------------


def test_upgrade_from_version_2_adds_the_queue_indexes(db: str) -> None:
    database = store_db.current_database()
    for name in ("customer_owner_id_key_account_last_contact_at", "service_item_status_due_on"):
        database.execute_sql(f"DROP INDEX {name}")
    store_db.SchemaVersion.update(version=2).execute()
    store_db.close_database()
    database = store_db.open_database(db)
    assert [r.version for r in store_db.SchemaVersion.select()] == [store_db.SCHEMA_VERSION]
    indexes = {
        (i.name, tuple(i.columns))
        for table in ("customer", "service_item")
        for i in database.get_indexes(table)
    }
    assert {
        ("customer_owner_id_key_account_last_contact_at", ("owner_id", "key_account", "last_contact_at")),  # noqa: E501
        ("service_item_status_due_on", ("status", "due_on")),
    } <= indexes  # fmt: skip
