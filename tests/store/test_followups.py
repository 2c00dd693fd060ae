"""Follow-ups on both backends: defaults, lists, completion (logged, recurring), snoozing."""

import datetime as dt
from collections.abc import Callable

import pytest

from crmtui.store import customers, followups, timeline
from crmtui.store import models as m
from crmtui.store.dates import parse_datetime
from crmtui.store.errors import ConflictError, NotFoundError, StoreError, ValidationError
from crmtui.store.types import Actor, Customer

from .conftest import Counts

FUTURE = dt.datetime(2090, 1, 4, 10, 0)  # a Wednesday
PAST = dt.datetime(2020, 1, 15, 10, 0)


def add(actor: Actor, customer_id: int, due: dt.datetime, **values: object) -> int:
    return followups.add_followup(actor, customer_id, {"title": "call", "due_at": due, **values}).id


def test_add_with_defaults(actor: Actor, customer: Customer) -> None:
    added = followups.add_followup(
        actor, customer.id, {"title": "  Send   quote ", "due_at": "2090-01-04 10:00"}
    )
    assert added.due_at == parse_datetime("2090-01-04 10:00")  # typed in local time
    assert (added.title, added.status, added.priority, added.recurrence) == (
        "Send quote",
        "open",
        "normal",
        "",
    )
    assert (added.assignee_id, added.assignee) == (actor.id, actor.name)
    assert (added.customer_id, added.customer_name, added.version) == (customer.id, "张伟", 1)
    assert (added.done_at, added.snoozed_until, added.outcome) == (None, None, "")
    assert followups.get_followup(actor, added.id) == added
    history = m.History.get((m.History.entity == "follow-up") & (m.History.entity_id == added.id))
    assert (history.action, history.customer_id) == ("create", customer.id)


BAD_FOLLOWUPS = [
    ({"title": ""}, "title: must not be empty"),
    ({"due_at": "2025-02-30"}, "due_at: '2025-02-30' is not a real date"),
    ({"due_at": ""}, "due_at: a date is required"),
    ({"due_at": "2090-01-04 25:00"}, "due_at: '25:00' is not a time of day"),
    ({"priority": "soon"}, "priority: 'soon' is not one of: low, normal, high, urgent"),
    ({"recurrence": "sometimes"}, "recurrence: 'sometimes' is not daily, weekly, monthly"),
    ({"recurrence": "FREQ=FORTNIGHTLY"}, "recurrence: 'FREQ=FORTNIGHTLY' is not daily"),
    ({"assignee": "ghost"}, "assignee: no active user named 'ghost'"),
]


def test_bad_followups_are_refused_and_write_nothing(
    actor: Actor, customer: Customer, counts: Counts, subtests: pytest.Subtests
) -> None:
    before = counts()
    for values, message in BAD_FOLLOWUPS:
        with subtests.test(values=values):
            with pytest.raises(ValidationError) as caught:
                followups.add_followup(
                    actor, customer.id, {"title": "t", "due_at": FUTURE, **values}
                )
            assert str(caught.value).startswith(message)
            assert counts() == before
    with pytest.raises(NotFoundError, match="no customer with id 999999"):
        followups.add_followup(actor, 999_999, {"title": "t", "due_at": FUTURE})
    assert counts() == before


def test_list_orders_by_due_and_filters(
    actor: Actor, customer: Customer, make_actor: Callable[..., Actor]
) -> None:
    wang = make_actor("wang", "sales")
    other = customers.add_customer(actor, {"name": "Other"})
    late = add(actor, customer.id, dt.datetime(2090, 3, 1))
    first = add(actor, customer.id, dt.datetime(2090, 1, 1))
    tie = add(actor, customer.id, dt.datetime(2090, 1, 1))  # same due: by id
    wangs = add(actor, customer.id, dt.datetime(2089, 12, 1), assignee="wang")
    elsewhere = add(actor, other.id, dt.datetime(2090, 2, 1))
    overdue = add(actor, other.id, PAST)
    done = add(actor, customer.id, dt.datetime(2089, 1, 1))
    followups.complete_followup(actor, done, "done")

    def ids(**kwargs: object) -> list[int]:
        page = followups.list_followups(actor, limit=None, **kwargs)  # type: ignore[arg-type]
        assert page.total == len(page.rows)
        return [f.id for f in page.rows]

    assert ids() == [overdue, first, tie, elsewhere, late]
    assert ids(everyone=True) == [overdue, wangs, first, tie, elsewhere, late]
    assert ids(assignee="wang") == [wangs]
    assert ids(assignee=actor.name) == [overdue, first, tie, elsewhere, late]
    assert ids(customer_id=customer.id) == [wangs, first, tie, late]
    assert ids(customer_id=other.id) == [overdue, elsewhere]
    assert ids(overdue=True) == [overdue]
    assert ids(assignee="wang", overdue=True) == []
    assert ids(status="done") == [done]
    page = followups.list_followups(actor, offset=1, limit=2)
    assert ([f.id for f in page.rows], page.total) == ([first, tie], 5)
    [shown] = followups.list_followups(actor, assignee="wang").rows
    assert (shown.assignee_id, shown.assignee, shown.customer_name) == (wang.id, "wang", "张伟")
    with pytest.raises(ValidationError, match="user: no user named 'ghost'"):
        followups.list_followups(actor, assignee="ghost")


def test_complete_logs_a_communication(actor: Actor, customer: Customer, counts: Counts) -> None:
    followup_id = add(actor, customer.id, FUTURE, title="Send quote")
    followups.update_followup(actor, followup_id, {"priority": "high"}, 1)
    before = counts()
    with pytest.raises(ValidationError, match="outcome: must not be empty"):
        followups.complete_followup(actor, followup_id, "  ")
    with pytest.raises(ConflictError):
        followups.complete_followup(actor, followup_id, "done", expected_version=1)
    assert counts() == before

    done, following = followups.complete_followup(actor, followup_id, "  quote sent  ", 2)
    assert following is None
    assert (done.status, done.outcome, done.version) == ("done", "quote sent", 3)
    assert done.done_at is not None
    assert abs(done.done_at - m.utcnow()) < dt.timedelta(minutes=1)
    [logged] = timeline.list_records(actor, timeline.COMMUNICATION, customer.id).rows
    assert (logged.summary, logged.outcome, logged.channel, logged.user_id) == (
        "Send quote",
        "quote sent",
        "other",
        actor.id,
    )
    assert logged.at == done.done_at
    assert customers.get_customer(actor, customer.id).last_contact_at == done.done_at
    recorded = m.History.select().where(
        (m.History.entity == "follow-up") & (m.History.action == "update")
    )
    assert sorted((r.field, r.new_value) for r in recorded) == sorted(
        [
            ("priority", "high"),
            ("status", "done"),
            ("outcome", "quote sent"),
            ("done_at", str(done.done_at)),
        ]
    )

    before = counts()
    with pytest.raises(StoreError, match=f"follow-up {followup_id} is done, not open"):
        followups.complete_followup(actor, followup_id, "again")
    assert counts() == before
    assert followups.get_followup(actor, followup_id) == done


# rule, due, the next occurrence's due
RECURRENCES = [
    ("daily", dt.datetime(2090, 1, 4, 10), dt.datetime(2090, 1, 5, 10)),
    ("weekly", dt.datetime(2090, 1, 2, 10), dt.datetime(2090, 1, 9, 10)),
    ("Monthly", dt.datetime(2090, 1, 15, 10), dt.datetime(2090, 2, 15, 10)),
    # A month on from the 31st is the end of a shorter month, not the next month with a 31st.
    ("monthly", dt.datetime(2090, 1, 31, 10), dt.datetime(2090, 2, 28, 10)),
    ("monthly", dt.datetime(2090, 3, 31, 10), dt.datetime(2090, 4, 30, 10)),
    ("monthly", dt.datetime(2090, 4, 30, 10), dt.datetime(2090, 5, 30, 10)),
    ("quarterly", dt.datetime(2090, 1, 15, 10), dt.datetime(2090, 4, 15, 10)),
    ("quarterly", dt.datetime(2090, 11, 30, 10), dt.datetime(2091, 2, 28, 10)),
    ("yearly", dt.datetime(2090, 6, 1, 10), dt.datetime(2091, 6, 1, 10)),
    ("yearly", dt.datetime(2092, 2, 29, 10), dt.datetime(2093, 2, 28, 10)),
    ("FREQ=WEEKLY;BYDAY=MO", dt.datetime(2090, 1, 4, 10), dt.datetime(2090, 1, 9, 10)),
    ("FREQ=MONTHLY;BYMONTHDAY=1", dt.datetime(2090, 1, 15, 10), dt.datetime(2090, 2, 1, 10)),
    ("RRULE:FREQ=DAILY;INTERVAL=2", dt.datetime(2090, 1, 4, 9), dt.datetime(2090, 1, 6, 9)),
]


def test_recurring_creates_exactly_one_next_occurrence(
    actor: Actor, make_actor: Callable[..., Actor], subtests: pytest.Subtests
) -> None:
    make_actor("wang", "sales")
    for rule, due, next_due in RECURRENCES:
        with subtests.test(rule=rule, due=due):
            target = customers.add_customer(actor, {"name": rule})
            followup_id = add(
                actor, target.id, due, recurrence=rule, priority="high", assignee="wang", notes="n"
            )
            done, following = followups.complete_followup(actor, followup_id, "ok")
            assert done.status == "done"
            assert following is not None
            assert following.due_at == next_due
            assert (following.status, following.title, following.priority) == (
                "open",
                "call",
                "high",
            )
            assert (following.assignee, following.recurrence, following.notes) == (
                "wang",
                rule.lower() if rule == "Monthly" else rule,
                "n",
            )
            listed = followups.list_followups(actor, customer_id=target.id, limit=None)
            assert [f.id for f in listed.rows] == [following.id]
            total = m.FollowUp.select().where(m.FollowUp.customer == target.id).count()
            assert total == 2


def test_overdue_recurring_schedules_after_now_and_finished_rules_stop(
    actor: Actor, customer: Customer
) -> None:
    overdue = add(actor, customer.id, PAST, recurrence="monthly")
    _done, following = followups.complete_followup(actor, overdue, "late")
    assert following is not None
    assert following.due_at > m.utcnow()
    assert following.due_at - m.utcnow() <= dt.timedelta(days=31)
    assert (following.due_at.day, following.due_at.time()) == (15, dt.time(10, 0))

    once = add(actor, customer.id, FUTURE, recurrence="FREQ=DAILY;COUNT=1")
    _done, following = followups.complete_followup(actor, once, "only once")
    assert following is None
    assert followups.list_followups(actor, customer_id=customer.id).total == 1


def test_snooze(actor: Actor, customer: Customer, counts: Counts) -> None:
    followup_id = add(actor, customer.id, PAST)
    snoozed = followups.snooze_followup(actor, followup_id, "+2d")
    assert snoozed.due_at == parse_datetime("+2d")
    assert snoozed.due_at > m.utcnow()
    assert (snoozed.status, snoozed.version) == ("open", 2)
    row = m.History.select().where(m.History.action == "update").get()
    assert (row.field, row.old_value, row.new_value) == (
        "due_at",
        "2020-01-15 10:00:00",
        str(snoozed.due_at),
    )
    exact = followups.snooze_followup(actor, followup_id, FUTURE, expected_version=2)
    assert (exact.due_at, exact.version) == (FUTURE, 3)

    before = counts()
    for until, message in [
        ("2020-01-01", "until: is not in the future"),
        ("-1d", "until: is not in the future"),
        (dt.datetime(2000, 1, 1), "until: is not in the future"),
        ("someday", "until: 'someday' is not a date crmtui understands"),
        ("2090-02-30", "until: '2090-02-30' is not a real date"),
        ("", "until: a date is required"),
    ]:
        with pytest.raises(ValidationError) as caught:
            followups.snooze_followup(actor, followup_id, until)
        assert str(caught.value).startswith(message)
    with pytest.raises(ConflictError):
        followups.snooze_followup(actor, followup_id, "+3d", expected_version=2)
    assert counts() == before
    assert followups.get_followup(actor, followup_id) == exact

    followups.complete_followup(actor, followup_id, "done")
    before = counts()
    with pytest.raises(StoreError, match="is done, not open"):
        followups.snooze_followup(actor, followup_id, "+3d")
    with pytest.raises(NotFoundError):
        followups.snooze_followup(actor, 999_999, "+3d")
    assert counts() == before


def test_update_followup(actor: Actor, customer: Customer, counts: Counts) -> None:
    followup_id = add(actor, customer.id, FUTURE)
    updated = followups.update_followup(
        actor, followup_id, {"title": "Visit", "priority": "URGENT", "recurrence": "quarterly"}, 1
    )
    assert (updated.title, updated.priority, updated.recurrence, updated.version) == (
        "Visit",
        "urgent",
        "quarterly",
        2,
    )
    before = counts()
    with pytest.raises(ConflictError):
        followups.update_followup(actor, followup_id, {"title": "Stale"}, 1)
    with pytest.raises(ValidationError, match="recurrence: "):
        followups.update_followup(actor, followup_id, {"recurrence": "every so often"}, 2)
    assert counts() == before
    assert followups.get_followup(actor, followup_id) == updated


def test_count_overdue(actor: Actor, customer: Customer, make_actor: Callable[..., Actor]) -> None:
    wang = make_actor("wang", "manager")  # sales sees only its own customers' items
    add(actor, customer.id, PAST)
    add(actor, customer.id, dt.datetime(2024, 12, 31))
    add(actor, customer.id, FUTURE)
    add(actor, customer.id, PAST, assignee="wang")
    followups.complete_followup(actor, add(actor, customer.id, PAST), "done")
    assert followups.count_overdue(actor) == 2
    assert followups.count_overdue(wang) == 1
