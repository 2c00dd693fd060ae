"""One form for every kind of record about a customer (contacts, purchases, communications,
service items, feedback, follow-ups), its fields taken from the store's field specs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from crmtui.formatting import local_time
from crmtui.i18n import _
from crmtui.screens.form import FormScreen, Values, form_field, form_value, record_values
from crmtui.screens.record_types import RecordType
from crmtui.store.types import Actor, Customer, User


class RecordFormScreen(FormScreen[Any]):
    """Add a record to `customer`, or edit `record`; dismisses with the saved record."""

    def __init__(
        self,
        actor: Actor,
        record_type: RecordType,
        customer: Customer,
        record: Any | None,
        users: Sequence[User],
    ) -> None:
        self.actor = actor
        self.record_type = record_type
        self.customer = customer
        self.record = record
        self.user_names = {u.id: u.name for u in users}
        offered = [u.name for u in users if u.active]
        specs = record_type.fields
        fields = [form_field(name, spec, offered) for name, spec in specs.items()]
        if record is None:
            stored = record_type.new_values(actor)
            values = {
                name: form_value(spec, stored.get(name), self.user_names)
                for name, spec in specs.items()
            }
            # A record is mostly entered when it happens: its required day starts as today.
            today = {
                "date": dt.date.today().isoformat(),
                "moment": local_time(dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)),
            }
            for name, spec in specs.items():
                if spec.required and not values[name] and spec.kind in today:
                    values[name] = today[spec.kind]
            heading = _("New {noun} for {customer}")
            version = None
        else:
            values = record_values(specs, record, self.user_names)
            heading = _("Edit {noun} of {customer}")
            version = record.version
        heading = heading.format(noun=record_type.noun, customer=customer.name)
        super().__init__(
            heading[:1].upper() + heading[1:], record_type.noun, fields, values, version
        )

    def save_values(self, values: Values, version: int | None) -> Any:
        if self.record is None:
            return self.record_type.add(self.actor, self.customer.id, values)
        return self.record_type.update(self.actor, self.record.id, values, version)

    def saved_values(self) -> tuple[Values, int]:
        assert self.record is not None  # a new record cannot conflict
        saved = self.record_type.get(self.actor, self.record.id)
        return record_values(self.record_type.fields, saved, self.user_names), saved.version
