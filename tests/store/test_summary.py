"""Per-customer figures from SQL aggregates, exact to the cent, on both backends."""

import datetime as dt
from decimal import Decimal

import pytest

from crmtui.store import customers, summary, timeline
from crmtui.store.errors import NotFoundError, PermissionDeniedError
from crmtui.store.types import Actor, Customer


def buy(actor: Actor, customer: Customer, day: str, amount: str, **more: str) -> None:
    values = {"date": day, "product": "Widget", "amount": amount, **more}
    timeline.add_record(actor, timeline.PURCHASE, customer.id, values)


def test_a_customer_without_records_has_empty_figures(actor: Actor, customer: Customer) -> None:
    figures = summary.customer_summary(actor, customer.id)
    assert figures == summary.CustomerSummary(customer.id, (), None, None, None, None, 0)
    assert figures.orders == 0


def test_spend_counts_won_purchases_exactly_per_currency(actor: Actor, customer: Customer) -> None:
    # Amounts whose float sum is not exact (0.1 + 0.2 != 0.3 in binary).
    buy(actor, customer, "2024-01-10", "0.10")
    buy(actor, customer, "2025-03-05", "0.20")
    buy(actor, customer, "2024-06-01", "999999999.99")
    buy(actor, customer, "2023-01-01", "5000", status="lost")  # not revenue
    buy(actor, customer, "2026-01-01", "7000", status="open")
    buy(actor, customer, "2024-02-02", "10.01", currency="USD")
    buy(actor, customer, "2024-02-03", "10.00", currency="usd")
    someone = customers.add_customer(actor, {"name": "Someone else"})
    buy(actor, someone, "2025-12-31", "1")  # another customer's purchase must not count

    figures = summary.customer_summary(actor, customer.id)
    assert figures.spend == (
        summary.Spend("CNY", Decimal("1000000000.29"), 3),
        summary.Spend("USD", Decimal("20.01"), 2),
    )
    assert all(isinstance(s.total, Decimal) for s in figures.spend)
    assert figures.orders == 5
    assert figures.spend[0].average == Decimal("333333333.43")
    assert figures.spend[1].average == Decimal("10.01")  # 10.005 rounds half up
    assert figures.first_purchase == dt.date(2024, 1, 10)
    assert figures.last_purchase == dt.date(2025, 3, 5)


def test_last_contact_and_satisfaction(actor: Actor, customer: Customer) -> None:
    for at in (dt.datetime(2025, 3, 5, 14, 30), dt.datetime(2024, 1, 1, 9, 0)):
        timeline.add_record(
            actor, timeline.COMMUNICATION, customer.id, {"at": at, "summary": "Call"}
        )
    for day, score in (("2025-01-01", 5), ("2025-01-02", 4), ("2025-01-03", 4)):
        timeline.add_record(actor, timeline.FEEDBACK, customer.id, {"date": day, "score": score})

    figures = summary.customer_summary(actor, customer.id)
    assert figures.last_contact == dt.datetime(2025, 3, 5, 14, 30)
    assert figures.satisfaction == Decimal("4.33")
    assert figures.feedback_count == 3


def test_unknown_customer_and_roles_without_history(
    actor: Actor, customer: Customer, make_actor
) -> None:
    with pytest.raises(NotFoundError):
        summary.customer_summary(actor, 999_999)
    with pytest.raises(PermissionDeniedError):
        summary.customer_summary(make_actor("mkt", "marketing"), customer.id)
