"""Per-customer figures (SPEC F5): spend, orders, average order value, last purchase, last
contact and average satisfaction, each computed by one SQL aggregate.

Money stays exact: amounts are stored as whole cents and summed as integers by the database,
then turned back into Decimals; averages are divided here, in Decimal, never in floating point.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from peewee import fn

from crmtui.store import customers, records, scope
from crmtui.store import models as m
from crmtui.store.permissions import CUSTOMER_READ, HISTORY_READ, authorize
from crmtui.store.types import Actor

CENT = Decimal("0.01")

# Only won deals are purchases; open and lost ones are offers that did not become revenue.
_SPENDING = "won"


@dataclass(frozen=True)
class Spend:
    """A customer's won purchases in one currency."""

    currency: str
    total: Decimal
    orders: int

    @property
    def average(self) -> Decimal:
        """The average order value, to the cent (half up, as a person rounds money)."""
        return (self.total / self.orders).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CustomerSummary:
    customer_id: int
    # One entry per currency, largest total first: amounts in different currencies are never
    # added together. Empty when the customer has bought nothing.
    spend: tuple[Spend, ...]
    first_purchase: dt.date | None
    last_purchase: dt.date | None
    last_contact: dt.datetime | None
    satisfaction: Decimal | None  # average feedback score, 1–5, to two places
    feedback_count: int

    @property
    def orders(self) -> int:
        return sum(s.orders for s in self.spend)


def customer_summary(actor: Actor, customer_id: int) -> CustomerSummary:
    """The figures of one customer; NotFoundError if there is no such customer."""
    authorize(actor, CUSTOMER_READ)
    authorize(actor, HISTORY_READ)
    scope.check_owner(actor, customer_id, records.get_row(customers.ENTITY, customer_id).owner_id)
    won = (m.Purchase.customer == customer_id) & (m.Purchase.status == _SPENDING)
    # SUM of a FixedDecimalField is not converted unless asked (peewee leaves SUM raw), and
    # the raw value is whole cents; coerce(True) applies the field's cents -> Decimal.
    by_currency = (
        m.Purchase.select(
            m.Purchase.currency,
            fn.SUM(m.Purchase.amount).coerce(True),
            fn.COUNT(m.Purchase.id),
        )
        .where(won)
        .group_by(m.Purchase.currency)
        .tuples()
    )
    spend = sorted(
        (Spend(currency, total, orders) for currency, total, orders in by_currency),
        key=lambda s: (-s.total, s.currency),
    )
    first, last = (
        m.Purchase.select(fn.MIN(m.Purchase.date), fn.MAX(m.Purchase.date)).where(won).tuples()
    ).get()
    last_contact = (
        m.Communication.select(fn.MAX(m.Communication.at))
        .where(m.Communication.customer == customer_id)
        .tuples()
        .get()[0]
    )
    score_total, scores = (
        m.Feedback.select(fn.SUM(m.Feedback.score), fn.COUNT(m.Feedback.id))
        .where(m.Feedback.customer == customer_id)
        .tuples()
        .get()
    )
    satisfaction = (
        (Decimal(int(score_total)) / scores).quantize(CENT, rounding=ROUND_HALF_UP)
        if scores
        else None
    )
    return CustomerSummary(
        customer_id=customer_id,
        spend=tuple(spend),
        first_purchase=first,
        last_purchase=last,
        last_contact=last_contact,
        satisfaction=satisfaction,
        feedback_count=scores,
    )
