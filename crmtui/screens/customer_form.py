"""The customer form: every customer field, its tags, and the custom fields an admin defined."""

from __future__ import annotations

from collections.abc import Sequence

from crmtui.i18n import _
from crmtui.labels import duplicate_label, field_label
from crmtui.screens.form import FormScreen, Values, form_field, record_values
from crmtui.store import custom_fields, customers, duplicates, users
from crmtui.store.types import Actor, Customer, CustomFieldDef, User
from crmtui.widgets.form_field import CHOICE, DATE, TEXT, FieldValue, FormField

# Custom field values are sent to the store under "custom"; in the form each is its own field.
CUSTOM_PREFIX = "custom."
# Who the customer is and how to reach them come first; the rest follow in the store's order.
FIRST_FIELDS = (
    "name",
    "company",
    "title",
    "phone",
    "alt_phone",
    "email",
    "stage",
    "owner",
    "tags",
    "key_account",
)
_CUSTOM_EDITORS = {"text": TEXT, "number": TEXT, "date": DATE, "choice": CHOICE}


def _custom_field(definition: CustomFieldDef) -> FormField:
    return FormField(
        CUSTOM_PREFIX + definition.key,
        definition.label,
        _CUSTOM_EDITORS.get(definition.kind, TEXT),
        tuple((c, c) for c in definition.choices),
        # The store names a custom field's problem by its label.
        aliases=(definition.label, definition.key),
    )


class CustomerFormScreen(FormScreen[Customer]):
    """A new customer (`customer` None) or an existing one; dismisses with the saved customer."""

    def __init__(
        self,
        actor: Actor,
        customer: Customer | None,
        definitions: Sequence[CustomFieldDef],
        known_users: Sequence[User],
    ) -> None:
        self.actor = actor
        self.customer = customer
        self.definitions = list(definitions)
        self.user_names = {u.id: u.name for u in known_users}
        offered = [u.name for u in known_users if u.active]
        order = [*FIRST_FIELDS, *(n for n in customers.FIELDS if n not in FIRST_FIELDS)]
        fields = [
            FormField("tags", field_label("tags"))
            if name == "tags"
            else form_field(name, customers.FIELDS[name], offered)
            for name in order
        ]
        fields.extend(_custom_field(d) for d in self.definitions)
        if customer is None:
            # A customer someone adds is theirs until they give it to someone else.
            values: Values = {"owner": actor.name if actor.name in offered else ""}
            heading, version = _("New customer"), None
        else:
            values = self._values_of(customer)
            heading = _("Edit customer {name}").format(name=customer.name)
            version = customer.version
        super().__init__(heading, _("customer"), fields, values, version)

    @classmethod
    def load(cls, actor: Actor, customer_id: int | None = None) -> CustomerFormScreen:
        """The form for a customer read now (None: a new one); raises StoreError."""
        customer = None if customer_id is None else customers.get_customer(actor, customer_id)
        return cls(actor, customer, custom_fields.list_fields(actor), users.list_users(actor))

    def _values_of(self, customer: Customer) -> Values:
        values = record_values(customers.FIELDS, customer, self.user_names)
        values["tags"] = ", ".join(customer.tags)
        for definition in self.definitions:
            values[CUSTOM_PREFIX + definition.key] = str(customer.custom.get(definition.key, ""))
        return values

    def save_values(self, values: Values, version: int | None) -> Customer:
        changes: dict[str, object] = {}
        custom: dict[str, FieldValue] = {}
        for name, value in values.items():
            if name.startswith(CUSTOM_PREFIX):
                custom[name.removeprefix(CUSTOM_PREFIX)] = value
            elif name == "tags":
                changes["tags"] = [value]  # the store splits the text at commas
            else:
                changes[name] = value
        if custom:
            changes["custom"] = custom
        if self.customer is None:
            return customers.add_customer(self.actor, changes)
        return customers.update_customer(self.actor, self.customer.id, changes, version)

    def warning_before_save(self, values: Values) -> str:
        compared = {k: v for k, v in values.items() if k in duplicates.COMPARED}
        if not compared:  # an edit that leaves name, phones and e-mail alone
            return ""
        exclude = None if self.customer is None else self.customer.id
        found = duplicates.possible_duplicates(self.actor, compared, exclude=exclude)
        if not found:
            return ""
        return _("Possibly saved already: {customers}. ctrl+s again saves anyway.").format(
            customers="; ".join(duplicate_label(d) for d in found)
        )

    def saved_values(self) -> tuple[Values, int]:
        assert self.customer is not None  # a new customer cannot conflict
        saved = customers.get_customer(self.actor, self.customer.id)
        return self._values_of(saved), saved.version
