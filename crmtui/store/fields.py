"""Field specifications: how each user-facing field of a record is checked and stored.

A service declares `{field name: FieldSpec}`; `clean_fields` runs every cleaner, collects every
problem (so a form can mark all bad fields at once) and returns the columns to save.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from crmtui.config import phone_region
from crmtui.i18n import _
from crmtui.store import validation as v
from crmtui.store.errors import FieldProblem, ValidationError
from crmtui.store.users import user_id_by_name

Columns = dict[str, object]


@dataclass(frozen=True)
class FieldSpec:
    """How one field is cleaned, and what a form needs to offer it.

    `kind` names the kind of value (the constructors below: "text", "phone", "email",
    "choice", "date", "moment", "decimal", "integer", "boolean", "currency", "user"), so an
    interface can pick an editor without knowing the record; `choices` are a choice's values.
    """

    clean: Callable[[object], Columns]
    required: bool = False
    kind: str = "text"
    choices: tuple[str, ...] = ()
    multiline: bool = False
    allow_empty: bool = True  # a choice may be left blank


def clean_fields(
    specs: Mapping[str, FieldSpec], values: Mapping[str, object], *, partial: bool
) -> Columns:
    """The columns to save for `values`; a full record (not `partial`) needs its required fields."""
    columns: Columns = {}
    problems: list[FieldProblem] = []
    for name in values:
        if name not in specs:
            problems.append(FieldProblem(name, _("is not a field of this record")))
    for name, spec in specs.items():
        if name not in values:
            if spec.required and not partial:
                problems.append(FieldProblem(name, _("is required")))
            continue
        try:
            columns.update(spec.clean(values[name]))
        except ValidationError as exc:
            problems.extend(exc.problems)
        except ValueError as exc:
            problems.append(FieldProblem(name, str(exc)))
    if problems:
        raise ValidationError(problems)
    return columns


def text(
    column: str, max_length: int = 200, *, required: bool = False, multiline: bool = False
) -> FieldSpec:
    def clean(value: object) -> Columns:
        return {
            column: v.clean_text(
                value, max_length=max_length, required=required, multiline=multiline
            )
        }

    return FieldSpec(clean, required, multiline=multiline)


def phone(column: str) -> FieldSpec:
    def clean(value: object) -> Columns:
        phone = v.clean_phone(value, region=phone_region())
        return {
            column: phone.value,
            f"{column}_raw": phone.raw,
            f"{column}_display": phone.display,
        }

    return FieldSpec(clean, kind="phone")


def email(column: str) -> FieldSpec:
    def clean(value: object) -> Columns:
        normalized = v.clean_email(value)
        return {column: normalized.value, f"{column}_raw": normalized.raw}

    return FieldSpec(clean, kind="email")


def choice(column: str, choices: tuple[str, ...], *, allow_empty: bool = False) -> FieldSpec:
    def clean(value: object) -> Columns:
        if allow_empty and (value is None or str(value).strip() == ""):
            return {column: ""}
        return {column: v.clean_choice(value, choices=choices)}

    return FieldSpec(clean, kind="choice", choices=choices, allow_empty=allow_empty)


def date(column: str, *, required: bool = False) -> FieldSpec:
    def clean(value: object) -> Columns:
        day = v.clean_date(value)
        if day is None and required:
            raise ValueError(_("a date is required"))
        return {column: day}

    return FieldSpec(clean, required, kind="date")


def moment(column: str, *, required: bool = False) -> FieldSpec:
    """A date and time typed in local time, stored in UTC; empty clears an optional one."""

    def clean(value: object) -> Columns:
        if not required and (value is None or str(value).strip() == ""):
            return {column: None}
        return {column: v.clean_datetime(value)}

    return FieldSpec(clean, required, kind="moment")


def decimal(
    column: str, places: int, *, minimum: Decimal | None = None, required: bool = False
) -> FieldSpec:
    def clean(value: object) -> Columns:
        return {
            column: v.clean_decimal(
                value, places=places, minimum=minimum, maximum=Decimal(10) ** 12
            )
        }

    return FieldSpec(clean, required, kind="decimal")


def integer(column: str, minimum: int, maximum: int, *, required: bool = False) -> FieldSpec:
    def clean(value: object) -> Columns:
        return {column: v.clean_int(value, minimum=minimum, maximum=maximum)}

    return FieldSpec(clean, required, kind="integer")


def boolean(column: str) -> FieldSpec:
    return FieldSpec(lambda value: {column: v.clean_bool(value)}, kind="boolean")


def currency(column: str) -> FieldSpec:
    return FieldSpec(lambda value: {column: v.clean_currency(value)}, kind="currency")


def user(column: str) -> FieldSpec:
    """A user given by name; empty means nobody."""

    def clean(value: object) -> Columns:
        if value is None or str(value).strip() == "":
            return {column: None}
        if isinstance(value, int):
            return {column: value}
        return {column: user_id_by_name(str(value), field=column)}

    return FieldSpec(clean, kind="user")
