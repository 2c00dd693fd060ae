"""Demo data on both backends: counts, valid and consistent values, determinism, refusals."""

import datetime as dt
import re
from decimal import Decimal

import peewee
import phonenumbers
import pytest

from crmtui.store import customers, demo, followups, timeline
from crmtui.store import models as m
from crmtui.store import vocabulary as v
from crmtui.store.demo import DemoSummary, load_demo
from crmtui.store.errors import PermissionDeniedError, ValidationError
from crmtui.store.types import Actor, CustomerQuery
from crmtui.store.validation import clean_email, clean_phone

from .conftest import Counts

N = 200
CHINESE_NAME = re.compile(r"^(欧阳|[\u4e00-\u9fff])[\u3400-\u9fff]{1,2}$")
LATIN_NAME = re.compile(r"^[A-Z][a-z]+ [A-Z][\w']+$")


@pytest.fixture
def loaded(actor: Actor, monkeypatch: pytest.MonkeyPatch) -> DemoSummary:
    """N customers written in several chunks, so ids are matched across transactions."""
    monkeypatch.setattr(demo, "CHUNK", 64)
    done: list[int] = []
    summary = load_demo(actor, N, seed=3, progress=done.append)
    assert done == [64, 128, 192, 200]
    return summary


def _all_customers(actor: Actor) -> list:
    return list(customers.list_customers(actor, CustomerQuery(sort="id"), limit=None).rows)


def _as_datetime(value: object) -> dt.datetime | None:
    """MAX() of a timestamp: a datetime from PostgreSQL, ISO text from SQLite."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]


def test_counts_match_the_summary(actor: Actor, loaded: DemoSummary) -> None:
    tables = {
        "customers": m.Customer,
        "tags": m.CustomerTag,
        "contacts": m.Contact,
        "purchases": m.Purchase,
        "communications": m.Communication,
        "service_items": m.ServiceItem,
        "feedback": m.Feedback,
        "followups": m.FollowUp,
        "history": m.History,
    }
    for kind, model in tables.items():
        assert getattr(loaded, kind) == model.select().count() > 0, kind
    assert loaded.customers == N
    assert loaded.users == len(demo.SALES_USERS) == m.User.select().count() - 1  # + the actor
    assert loaded.total == sum(model.select().count() for model in tables.values()) + 5
    assert customers.count_customers(actor) == N


def test_every_customer_has_one_truthful_create_history_row(
    actor: Actor, loaded: DemoSummary
) -> None:
    created = {c.id: c.created_at for c in _all_customers(actor)}
    rows = list(m.History.select())
    assert len(rows) == N
    assert {row.entity_id for row in rows} == set(created)
    for row in rows:
        assert (row.entity, row.action, row.customer_id) == ("customer", "create", row.entity_id)
        assert (row.user_id, row.user_name, row.field) == (actor.id, actor.name, None)
        assert row.at == created[row.entity_id]


def test_people_companies_and_owners_are_varied(actor: Actor, loaded: DemoSummary) -> None:
    people = _all_customers(actor)
    names = [c.name for c in people]
    assert sum(bool(CHINESE_NAME.match(n)) for n in names) > N * 0.7
    assert any(LATIN_NAME.match(n) for n in names)
    assert all(CHINESE_NAME.match(n) or LATIN_NAME.match(n) for n in names), names
    companies = [c.company for c in people if c.company]
    assert any(c.endswith("有限公司") for c in companies)
    assert any(
        re.search(r" (Ltd|Inc\.|GmbH|LLC|Limited|Co\., Ltd\.|Pte\. Ltd\.)$", c) for c in companies
    )
    assert len(companies) < N  # individuals too
    owners = {c.owner for c in people}
    assert actor.name in owners
    assert {name for name, _full, _role in demo.SALES_USERS} <= owners
    assert {c.stage for c in people} == set(v.STAGES)
    key_accounts = [c for c in people if c.key_account]
    assert key_accounts and all("重点客户" in c.tags for c in key_accounts)
    for c in people:
        assert (c.consent_date is not None) == c.marketing_consent
        assert c.created_at <= m.utcnow()


def test_phones_are_valid_e164_and_keep_what_was_typed(actor: Actor, loaded: DemoSummary) -> None:
    stored = [(c.phone, c.phone_raw, c.phone_display) for c in _all_customers(actor)]
    stored += [(c.alt_phone, c.alt_phone_raw, c.alt_phone_display) for c in _all_customers(actor)]
    contacts = m.Contact.select(m.Contact.phone, m.Contact.phone_raw, m.Contact.phone_display)
    stored += list(contacts.tuples())
    stored = [phone for phone in stored if any(phone)]
    assert len(stored) > N
    for e164, raw, display in stored:
        number = phonenumbers.parse(e164, None)
        assert phonenumbers.is_valid_number(number), e164
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == e164
        # The raw text means the same, and the number is shown as the store would show it.
        assert clean_phone(raw, region="CN") == (e164, raw, display)
    mainland = [e for e, _raw, _shown in stored if e.startswith("+861") and len(e) == 14]
    assert len(mainland) > N * 0.7
    assert any(not e.startswith("+86") for e, _raw, _shown in stored)  # foreign numbers
    assert any(re.search(r"[ -]", raw) for _e, raw, _shown in stored)  # typed with spaces or dashes


def test_emails_are_stored_as_the_store_normalizes_them(actor: Actor, loaded: DemoSummary) -> None:
    emails = [(c.email, c.email_raw) for c in _all_customers(actor) if c.email_raw]
    emails += [
        (e, raw)
        for e, raw in m.Contact.select(m.Contact.email, m.Contact.email_raw).tuples()
        if raw
    ]
    assert len(emails) > N / 2
    for email, raw in emails:
        assert clean_email(raw).value == email
    assert any(email != raw for email, raw in emails)  # some were typed with capitals


def test_last_contact_is_the_newest_communication(actor: Actor, loaded: DemoSummary) -> None:
    newest = dict(
        m.Communication.select(m.Communication.customer, peewee.fn.MAX(m.Communication.at))
        .group_by(m.Communication.customer)
        .tuples()
    )
    people = _all_customers(actor)
    assert sum(c.last_contact_at is None for c in people) < N / 4  # new customers only
    for c in people:
        assert c.last_contact_at == _as_datetime(newest.get(c.id)), c.id
        log = timeline.list_records(actor, timeline.COMMUNICATION, c.id, limit=1)
        assert (log.rows[0].at if log.rows else None) == c.last_contact_at
        assert c.last_contact_at is None or c.last_contact_at <= m.utcnow()


def test_communications_name_contacts_of_their_own_customer(loaded: DemoSummary) -> None:
    pairs = list(
        m.Communication.select(m.Communication.customer, m.Contact.customer)
        .join(m.Contact, on=(m.Communication.contact == m.Contact.id))
        .tuples()
    )
    assert pairs and all(mine == theirs for mine, theirs in pairs)
    primaries = m.Contact.select().where(m.Contact.primary == True).count()  # noqa: E712
    companies = m.Customer.select().where(m.Customer.company != "").count()
    assert primaries == companies  # one primary contact per company customer


def test_purchase_amounts_are_exact_two_place_decimals(actor: Actor, loaded: DemoSummary) -> None:
    amounts: list[Decimal] = []
    currencies: list[str] = []
    today = m.utcnow().date()
    for c in _all_customers(actor):
        for p in timeline.list_records(actor, timeline.PURCHASE, c.id, limit=None).rows:
            assert isinstance(p.amount, Decimal) and p.amount.as_tuple().exponent == -2
            assert p.amount > 0
            assert today - dt.timedelta(days=3 * 366) <= p.date <= today
            assert p.status in ("won", "lost", "open")
            amounts.append(p.amount)
            currencies.append(p.currency)
    assert len(amounts) == loaded.purchases
    assert currencies.count("CNY") > len(currencies) * 0.8 and set(currencies) != {"CNY"}
    # The database adds them up to the cent, as Python does.
    cents = m.Purchase.select(peewee.fn.SUM(m.Purchase.amount)).scalar()
    assert Decimal(int(cents)).scaleb(-2) == sum(amounts)


def test_follow_ups_are_overdue_due_today_later_and_recurring(
    actor: Actor, loaded: DemoSummary
) -> None:
    now = m.utcnow()
    open_items = followups.list_followups(actor, everyone=True, limit=None).rows
    assert any(f.due_at < now for f in open_items)
    assert any(f.due_at > now + dt.timedelta(days=1) for f in open_items)
    assert {f.recurrence for f in open_items} >= {"monthly", "quarterly"}
    assert {f.priority for f in open_items} == set(v.PRIORITIES)
    mine = followups.list_followups(actor, limit=None).rows
    assert mine and any(f.due_at < now for f in mine)  # the acting user has overdue ones
    assert {f.assignee for f in open_items} > {actor.name}
    done = followups.list_followups(actor, everyone=True, status="done", limit=None).rows
    assert done and all(f.done_at is not None and f.outcome for f in done)
    # Service items past their due date and still open: SLA breaches for the queue.
    breaches = m.ServiceItem.select().where(
        (m.ServiceItem.due_on < now.date()) & m.ServiceItem.status.in_(("open", "in_progress"))
    )
    assert breaches.count() > 0


def test_every_choice_is_one_the_store_accepts(loaded: DemoSummary) -> None:
    def used(column: peewee.Field) -> set[str]:
        return {value for (value,) in column.model.select(column).distinct().tuples()}

    assert used(m.Customer.stage) == set(v.STAGES)
    assert used(m.Customer.preferred_channel) <= {"", *v.CHANNELS}
    assert used(m.Purchase.status) == set(v.DEAL_STATUSES)
    assert used(m.Communication.channel) == set(v.CHANNELS)
    assert used(m.ServiceItem.kind) == set(v.SERVICE_KINDS)
    assert used(m.ServiceItem.status) == set(v.SERVICE_STATUSES)
    assert used(m.Feedback.kind) == set(v.FEEDBACK_KINDS)
    assert used(m.Feedback.channel) <= set(v.CHANNELS)
    assert used(m.FollowUp.status) <= set(v.FOLLOWUP_STATUSES)
    assert used(m.FollowUp.priority) == set(v.PRIORITIES)


def test_feedback_scores_and_comments(loaded: DemoSummary) -> None:
    rows = list(m.Feedback.select())
    assert {r.score for r in rows} == {1, 2, 3, 4, 5}
    assert any(re.search(r"[\u4e00-\u9fff]", r.comment) for r in rows)
    assert any(re.fullmatch(r"[A-Za-z ,.-]+", r.comment) for r in rows)


def test_the_same_seed_gives_the_same_people(actor: Actor) -> None:
    load_demo(actor, 30, seed=7)
    load_demo(actor, 30, seed=7)
    load_demo(actor, 30, seed=8)
    people = _all_customers(actor)
    first, again, other = people[:30], people[30:60], people[60:]

    def who(group: list) -> list[tuple]:
        return [(c.name, c.company, c.phone, c.email, c.stage, c.tags) for c in group]

    assert who(first) == who(again)
    assert [c.name for c in first] != [c.name for c in other]


@pytest.mark.parametrize("count", [0, -5, demo.MAX_CUSTOMERS + 1])
def test_a_bad_count_is_refused_and_writes_nothing(
    actor: Actor, counts: Counts, count: int
) -> None:
    before = counts()
    with pytest.raises(ValidationError) as refused:
        load_demo(actor, count)
    assert [p.field for p in refused.value.problems] == ["customers"]
    assert "2,000,000" in str(refused.value)
    assert counts() == before


def test_only_those_allowed_may_load_demo_data(make_actor, counts: Counts) -> None:  # type: ignore[no-untyped-def]
    seller = make_actor("seller", "sales")
    before = counts()
    with pytest.raises(PermissionDeniedError):
        load_demo(seller, 10)
    assert counts() == before
