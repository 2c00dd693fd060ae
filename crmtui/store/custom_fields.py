"""Custom customer fields an admin defines without code changes: text, number, date, choice.

Values live in the customer's `custom` JSON object, keyed by the field's key, stored as text
(numbers exactly, dates as ISO) so every backend reads them back the same.
"""

import re
from collections.abc import Mapping

from crmtui.i18n import _
from crmtui.store import models as m
from crmtui.store import records, vocabulary
from crmtui.store.db import write_transaction
from crmtui.store.errors import FieldProblem, NotFoundError, ValidationError
from crmtui.store.permissions import FIELD_ADMIN, FIELD_READ, authorize
from crmtui.store.types import Actor, CustomFieldDef
from crmtui.store.validation import clean_choice, clean_date, clean_decimal, clean_text

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _as_def(row: m.CustomField) -> CustomFieldDef:
    choices = tuple(c for c in row.choices.splitlines() if c)
    return CustomFieldDef(row.id, row.version, row.key, row.label, row.kind, choices)


ENTITY = records.Entity("custom_field", m.CustomField, _as_def)


def define_field(
    actor: Actor, key: str, label: str, kind: str, choices: tuple[str, ...] = ()
) -> CustomFieldDef:
    authorize(actor, FIELD_ADMIN)
    problems: list[FieldProblem] = []
    key = key.strip().lower()
    if not _KEY.match(key):
        problems.append(
            FieldProblem("key", _("use a-z, 0-9 and _, starting with a letter (at most 64)"))
        )
    try:
        label = clean_text(label or key, max_length=200, required=True)
    except ValueError as exc:
        problems.append(FieldProblem("label", str(exc)))
    try:
        kind = clean_choice(kind, choices=vocabulary.CUSTOM_FIELD_KINDS)
    except ValueError as exc:
        problems.append(FieldProblem("kind", str(exc)))
    cleaned_choices = tuple(dict.fromkeys(c.strip() for c in choices if c.strip()))
    if kind == "choice" and not cleaned_choices:
        problems.append(FieldProblem("choices", _("a choice field needs at least one choice")))
    if problems:
        raise ValidationError(problems)
    with write_transaction():
        if m.CustomField.get_or_none(m.CustomField.key == key) is not None:
            raise ValidationError.single("key", _("a field {key!r} exists already").format(key=key))
        row = records.insert(
            actor,
            ENTITY,
            {"key": key, "label": label, "kind": kind, "choices": "\n".join(cleaned_choices)},
        )
    return _as_def(row)


def list_fields(actor: Actor) -> list[CustomFieldDef]:
    authorize(actor, FIELD_READ)
    return [_as_def(row) for row in m.CustomField.select().order_by(m.CustomField.key)]


def remove_field(actor: Actor, key: str) -> None:
    """Remove a definition. Customers keep their values, shown again if it is re-added."""
    authorize(actor, FIELD_ADMIN)
    with write_transaction():
        row = m.CustomField.get_or_none(m.CustomField.key == key.strip().lower())
        if row is None:
            raise NotFoundError(_("custom field"), key)
        records.delete(actor, ENTITY, row.id, None)


def definitions() -> dict[str, CustomFieldDef]:
    """Every custom field's definition by key, for `clean_custom_values` (after the caller's
    own permission check: an import reads them once a chunk rather than once a row)."""
    return {row.key: _as_def(row) for row in m.CustomField.select()}


def clean_custom_values(
    values: Mapping[str, object], defined: Mapping[str, CustomFieldDef] | None = None
) -> dict[str, str]:
    """Check custom values against their definitions (`defined`, else read now); an empty
    value clears the field."""
    if defined is None:
        defined = definitions()
    cleaned: dict[str, str] = {}
    problems: list[FieldProblem] = []
    for key, value in values.items():
        definition = defined.get(key)
        if definition is None:
            problems.append(FieldProblem(key, _("no custom field has this name")))
            continue
        try:
            cleaned[key] = _clean_value(definition, value)
        except ValueError as exc:
            problems.append(FieldProblem(definition.label, str(exc)))
    if problems:
        raise ValidationError(problems)
    return cleaned


def _clean_value(definition: CustomFieldDef, value: object) -> str:
    if value is None or str(value).strip() == "":
        return ""
    if definition.kind == "number":
        # Fixed-point text: str() of a normalized Decimal writes 100 as "1E+2".
        return format(clean_decimal(value, places=6).normalize(), "f")
    if definition.kind == "date":
        day = clean_date(value)
        return day.isoformat() if day else ""
    if definition.kind == "choice":
        text = str(value).strip()
        if text not in definition.choices:
            raise ValueError(
                _("{value!r} is not one of: {choices}").format(
                    value=text, choices=", ".join(definition.choices)
                )
            )
        return text
    return clean_text(value, max_length=2000, multiline=True)
