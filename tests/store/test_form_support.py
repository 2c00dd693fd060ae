"""What the store tells a form: each field's kind of value, a new record's starting values, and
deleting a follow-up (the detail screen's `d` on its follow-ups tab)."""

from decimal import Decimal

import pytest

from crmtui.store import changes, customers, followups, timeline, vocabulary
from crmtui.store.errors import ConflictError, NotFoundError, PermissionDeniedError
from crmtui.store.types import Actor, Customer

from .conftest import Counts


def test_every_field_names_its_kind_of_value() -> None:
    kinds = {name: spec.kind for name, spec in customers.FIELDS.items()}
    assert kinds["name"] == "text" and customers.FIELDS["name"].required
    assert (kinds["phone"], kinds["email"], kinds["owner"]) == ("phone", "email", "user")
    assert (kinds["key_account"], kinds["consent_date"]) == ("boolean", "date")
    assert customers.FIELDS["notes"].multiline and not customers.FIELDS["city"].multiline
    stage, channel = customers.FIELDS["stage"], customers.FIELDS["preferred_channel"]
    assert (stage.kind, stage.choices, stage.allow_empty) == ("choice", vocabulary.STAGES, False)
    assert (channel.choices, channel.allow_empty) == (vocabulary.CHANNELS, True)
    assert timeline.COMMUNICATION.fields["at"].kind == "moment"
    assert timeline.PURCHASE.fields["amount"].kind == "decimal"
    assert timeline.PURCHASE.fields["currency"].kind == "currency"
    assert timeline.FEEDBACK.fields["score"].kind == "integer"
    assert followups.FIELDS["recurrence"].kind == "text"


def test_new_records_start_from_the_model_defaults(actor: Actor) -> None:
    assert timeline.new_record_values(actor, timeline.PURCHASE) == {
        "quantity": Decimal(1),
        "currency": "CNY",
        "status": "won",
    }
    assert timeline.new_record_values(actor, timeline.COMMUNICATION) == {
        "channel": "call",
        "user": actor.id,
    }
    # Not the first choice: the defaults a record gets when saved without them.
    assert timeline.new_record_values(actor, timeline.FEEDBACK) == {
        "channel": "other",
        "kind": "suggestion",
    }
    assert followups.new_followup_values(actor) == {"priority": "normal", "assignee": actor.id}


def test_a_follow_up_is_deleted_with_a_history_row(
    actor: Actor, customer: Customer, counts: Counts, make_actor
) -> None:
    followup = followups.add_followup(
        actor, customer.id, {"title": "Call back", "due_at": "2025-03-05 09:00"}
    )
    followups.update_followup(actor, followup.id, {"title": "Call back soon"}, None)
    reader = make_actor("ro", "readonly")
    before = counts()
    with pytest.raises(ConflictError):
        followups.delete_followup(actor, followup.id, followup.version)  # stale
    with pytest.raises(PermissionDeniedError):
        followups.delete_followup(reader, followup.id)
    assert counts() == before

    followups.delete_followup(actor, followup.id, followup.version + 1)
    with pytest.raises(NotFoundError):
        followups.get_followup(actor, followup.id)
    newest = changes.customer_changes(actor, customer.id, limit=1)[0]
    assert (newest.entity, newest.entity_id, newest.action) == ("follow-up", followup.id, "delete")
    assert "Call back soon" in (newest.old_value or "")
