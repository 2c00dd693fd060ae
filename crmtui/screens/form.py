"""What every form shares: fields built from the store's field specs, ctrl+s to save, escape to
cancel, problems shown at their fields, and the conflict dialog when the record moved on.

A form screen saves through the store itself (its subclass says how) because a refused save
must leave the form open with the problem at the field. It dismisses with what was saved, or
None when cancelled, so the screen that opened it only has to show the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from crmtui.formatting import local_time
from crmtui.i18n import _
from crmtui.labels import choice_label, field_label
from crmtui.screens.conflict import ConflictScreen, Difference
from crmtui.store.errors import ConflictError, FieldProblem, StoreError, ValidationError
from crmtui.store.fields import FieldSpec
from crmtui.widgets.form_field import (
    BOOLEAN,
    CHOICE,
    DATE,
    MOMENT,
    MULTILINE,
    TEXT,
    FieldRow,
    FieldValue,
    FormField,
    dom_id,
)

T = TypeVar("T")

Values = dict[str, FieldValue]


def form_field(name: str, spec: FieldSpec, user_names: Sequence[str]) -> FormField:
    """The form field for one field of the store, with the editor its kind of value needs."""
    label = field_label(name)
    if spec.kind == "choice":
        choices = tuple((choice_label(c), c) for c in spec.choices)
        return FormField(name, label, CHOICE, choices, spec.required, spec.allow_empty)
    if spec.kind == "user":
        return FormField(name, label, CHOICE, tuple((u, u) for u in user_names), spec.required)
    kinds = {"boolean": BOOLEAN, "date": DATE, "moment": MOMENT}
    kind = kinds.get(spec.kind, MULTILINE if spec.multiline else TEXT)
    return FormField(name, label, kind, required=spec.required)


def form_value(spec: FieldSpec, value: object, user_names: Mapping[int, str]) -> FieldValue:
    """A stored value as its field shows it for editing (the store reads that text back)."""
    if spec.kind == "boolean":
        return bool(value)
    if value is None:
        return ""
    if spec.kind == "user":
        return user_names.get(value, "") if isinstance(value, int) else str(value)
    if spec.kind == "moment" and isinstance(value, dt.datetime):
        return local_time(value)  # typed and shown in local time, stored in UTC
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def record_values(
    specs: Mapping[str, FieldSpec], record: Any, user_names: Mapping[int, str]
) -> Values:
    """A saved record's fields as its form shows them.

    Users are kept by id (`owner_id`); phones and emails show what was typed (`phone_raw`),
    which the store reads back to the same stored value and keeps what a normal form drops.
    """
    values: Values = {}
    for name, spec in specs.items():
        if spec.kind == "user":
            value = getattr(record, f"{name}_id", None)
        elif spec.kind in ("phone", "email"):
            value = getattr(record, f"{name}_raw", "") or getattr(record, name)
        else:
            value = getattr(record, name)
        values[name] = form_value(spec, value, user_names)
    return values


class FormScreen(Screen[T]):
    """A form over one record, new (`version` None) or saved."""

    HOLDS_INPUT: ClassVar[bool] = True  # the app's `q` must not quit and drop what was typed

    DEFAULT_CSS = """
    FormScreen {
        & > #form-title {
            padding: 0 1;
            text-style: bold;
            background: $panel;
        }
        & > #form-error {
            display: none;
            padding: 0 1;
            color: $text-error;
        }
        & > #form-error.-shown {
            display: block;
        }
        & > #form-fields {
            padding: 1 1 0 1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", _("Save"), priority=True, id="form.save"),
        Binding("escape", "cancel", _("Cancel"), id="form.cancel"),
        # Tab moves the focus before the keys typed after it are handed out. Textual's own tab
        # binding runs only once the key has gone round the focused field, and what was typed
        # meanwhile (fast typing, a paste without bracketed paste, keys bunched over SSH) went
        # into the field being left. Same descriptions as Textual's, so the help is unchanged.
        Binding("tab", "app.focus_next", "Focus Next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "Focus Previous", show=False, priority=True),
    ]

    def __init__(
        self,
        heading: str,
        noun: str,
        fields: Sequence[FormField],
        values: Mapping[str, FieldValue],
        version: int | None,
    ) -> None:
        super().__init__()
        self.heading = heading
        self.noun = noun  # "customer", "purchase": named in the conflict dialog
        self.fields = list(fields)
        # What the record held when the form opened: a field is saved only if it differs, so
        # a field left alone never overwrites someone else's change to it.
        self.base: Values = {f.name: values.get(f.name, self._empty(f)) for f in self.fields}
        self.version = version
        self._discard_armed = False
        self._warned_for: Values | None = None  # values a warning was shown for

    @staticmethod
    def _empty(field: FormField) -> FieldValue:
        return False if field.kind == BOOLEAN else ""

    # What a form for a particular record provides.

    def save_values(self, values: Values, version: int | None) -> T:
        """Save through the store: add when `version` is None, else update that version."""
        raise NotImplementedError

    def saved_values(self) -> tuple[Values, int]:
        """The record as saved now, and its version (for the conflict dialog)."""
        raise NotImplementedError

    def warning_before_save(self, values: Values) -> str:
        """A warning about saving these values ("" for none): the first ctrl+s shows it, a
        second one with the same values saves."""
        return ""

    # The form itself.

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.heading, id="form-title")
        yield Static("", id="form-error")
        with VerticalScroll(id="form-fields"):
            for field in self.fields:
                yield FieldRow(field, self.base[field.name])
        yield Footer()

    def on_mount(self) -> None:
        # What the editors hold is what the user starts from (a choice that may not be blank
        # shows its first option): a change is a difference from this.
        self.base = self.entered()
        if self.fields:
            self.row(self.fields[0].name).focus_editor()

    def row(self, name: str) -> FieldRow:
        return self.query_one(f"#{dom_id(name)}", FieldRow)

    def entered(self) -> Values:
        return {field.name: self.row(field.name).value for field in self.fields}

    def to_save(self) -> Values:
        """A new record: every field filled in (the store fills in defaults and says what is
        missing). A saved record: only the fields the user changed."""
        entered = self.entered()
        if self.version is None:
            return {name: value for name, value in entered.items() if value != ""}
        return {name: value for name, value in entered.items() if value != self.base[name]}

    def action_save(self) -> None:
        self._discard_armed = False
        values = self.to_save()
        try:
            if values != self._warned_for:
                warning = self.warning_before_save(values)
                if warning:
                    self._warned_for = values
                    self.show_error(warning)
                    return
            saved = self.save_values(values, self.version)
        except ValidationError as exc:
            self.show_problems(exc.problems)
        except ConflictError:
            self._resolve_conflict()
        except StoreError as exc:
            self.show_error(_("Not saved: {reason}").format(reason=exc))
        else:
            self.dismiss(saved)

    def action_cancel(self) -> None:
        """Close without saving; with unsaved changes, only on a second escape."""
        if self.entered() != self.base and not self._discard_armed:
            self._discard_armed = True
            self.show_error(
                _("You have unsaved changes: escape again discards them, ctrl+s saves.")
            )
            return
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(message)
        error.set_class(bool(message), "-shown")

    def show_problems(self, problems: Sequence[FieldProblem]) -> None:
        """Show each problem at its field; ones naming no field of the form go above them."""
        rows = {
            alias: self.row(field.name)
            for field in self.fields
            for alias in (field.name, *field.aliases)
        }
        for field in self.fields:
            self.row(field.name).problem = ""
        unplaced: list[str] = []
        for problem in problems:
            row = rows.get(problem.field)
            if row is None:
                unplaced.append(str(problem))
            else:
                row.problem = "; ".join(filter(None, (row.problem, problem.reason)))
        self.show_error(" ".join([_("Not saved: correct the fields marked in red."), *unplaced]))
        invalid = [r for r in self.query(FieldRow) if r.problem]
        if invalid:
            invalid[0].focus_editor()
            invalid[0].scroll_visible(animate=False)

    def _resolve_conflict(self) -> None:
        """Show their saved values beside the form's, and save what the user keeps."""
        try:
            theirs, version = self.saved_values()
        except StoreError as exc:  # deleted meanwhile
            self.show_error(_("Not saved: {reason}").format(reason=exc))
            return
        entered = self.entered()
        differences = [
            Difference(
                field.name,
                field.label,
                field.shown(theirs.get(field.name, self._empty(field))),
                field.shown(entered[field.name]),
                keep_mine=entered[field.name] != self.base[field.name],
            )
            for field in self.fields
            if entered[field.name] != theirs.get(field.name, self._empty(field))
        ]

        def merge(keep_mine: dict[str, bool] | None) -> None:
            if keep_mine is None:
                self.show_error(
                    _("Not saved: this {noun} was changed by someone else.").format(noun=self.noun)
                )
                return
            for name, mine in keep_mine.items():
                if not mine:
                    self.row(name).value = theirs[name]
            # From now on the form edits their version: only the fields kept are saved.
            self.base = {f.name: theirs.get(f.name, self._empty(f)) for f in self.fields}
            self.version = version
            self.show_error("")
            self.action_save()

        if differences:
            self.app.push_screen(ConflictScreen(self.noun, differences), merge)
        else:
            merge({})  # they changed nothing this form shows
