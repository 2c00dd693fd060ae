"""One field of a form: its label, an editor fit for its kind of value, and its error.

A form is a column of `FieldRow`s. Rows know nothing of records or the store: they are given
a `FormField` (what to show) and a value, give back what the user entered, and show a problem
at the field when the form is told of one.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from crmtui.labels import yes_no
from crmtui.widgets.date_input import DateInput

# What a field holds while it is edited: text for most, True/False for a check box.
FieldValue = str | bool

# Editors by kind. Kinds not listed here (phone, email, decimal, ...) are typed as text and
# checked by the store on save.
TEXT, MULTILINE, DATE, MOMENT, CHOICE, BOOLEAN = (
    "text",
    "multiline",
    "date",
    "moment",
    "choice",
    "boolean",
)


@dataclass(frozen=True)
class FormField:
    """What a form shows for one field.

    `name` is the key of the field in the values the form returns; `aliases` are other names
    the store may give the field when it reports a problem (a custom field's label).
    """

    name: str
    label: str
    kind: str = TEXT
    choices: tuple[tuple[str, str], ...] = ()  # (label, value) of a choice
    required: bool = False
    allow_blank: bool = True  # a choice may be left empty
    aliases: tuple[str, ...] = ()

    def shown(self, value: FieldValue) -> str:
        """The value as a person reads it (a choice by its label)."""
        if isinstance(value, bool):
            return yes_no(value)
        labels = {v: label for label, v in self.choices}
        return labels.get(value, value)


def dom_id(name: str) -> str:
    """A DOM id for a field name (custom field names hold a dot, which ids may not)."""
    return "field-" + name.replace(".", "--")


class FieldRow(Widget):
    """A label on the left, the editor on the right, and under it the field's problem.

    The problem line is mounted only while there is a problem: a long form then has two
    widgets per field (plus its editor's own), which keeps opening it quick.
    """

    DEFAULT_CSS = """
    FieldRow {
        height: auto;
        layout: grid;
        grid-size: 2;
        grid-columns: 20 1fr;
        grid-rows: auto;
        & > .field-label {
            padding-right: 1;
            color: $text-muted;
        }
        /* Textual restyles a row on a change of focus within it only when the row itself
           has a :focus-within rule: without this one the highlight stayed on the first row. */
        &:focus-within {
        }
        &:focus-within > .field-label {
            color: $accent;
            text-style: bold;
        }
        & > .field-problem {
            column-span: 2;
            padding-left: 20;
            color: $text-error;
        }
        &.-invalid > .field-label {
            color: $text-error;
        }
        & TextArea {
            height: 3;
            padding: 0 1 0 0;  /* text in line with the one-line fields' (no left padding) */
        }
        & Checkbox {
            width: 5;  /* the button, and the blanks around its (empty) label */
        }
        & Input, & Select, & TextArea {
            background: $boost;
        }
    }
    """

    def __init__(self, field: FormField, value: FieldValue) -> None:
        super().__init__(id=dom_id(field.name))
        self.field = field
        self._initial = value
        self._problem = ""

    def compose(self) -> ComposeResult:
        field = self.field
        yield Label(field.label + (" *" if field.required else ""), classes="field-label")
        yield self._editor(field, self._initial)

    @staticmethod
    def _options(field: FormField, value: FieldValue) -> list[tuple[str, str]]:
        """A choice's options; a value no longer offered (a user since disabled) stays one."""
        options = list(field.choices)
        if value and value not in {v for _label, v in options}:
            options.append((str(value), str(value)))
        return options

    def _editor(self, field: FormField, value: FieldValue) -> Widget:
        if field.kind == BOOLEAN:
            return Checkbox("", bool(value), compact=True)
        if field.kind == CHOICE:
            return Select(
                self._options(field, value),
                prompt="—",
                allow_blank=field.allow_blank,
                value=value if value else Select.NULL,
                compact=True,
            )
        if field.kind in (DATE, MOMENT):
            return DateInput(str(value), moment=field.kind == MOMENT)
        if field.kind == MULTILINE:
            return TextArea(str(value), soft_wrap=True, tab_behavior="focus", compact=True)
        return Input(str(value), compact=True)

    @property
    def editor(self) -> Widget:
        return self.children[1]

    @property
    def value(self) -> FieldValue:
        editor = self.editor
        if isinstance(editor, Checkbox):
            return editor.value
        if isinstance(editor, Select):
            return "" if editor.value is Select.NULL else str(editor.value)
        if isinstance(editor, TextArea):
            return editor.text
        assert isinstance(editor, Input | DateInput)
        return editor.value

    @value.setter
    def value(self, value: FieldValue) -> None:
        editor = self.editor
        if isinstance(editor, Checkbox):
            editor.value = bool(value)
        elif isinstance(editor, Select):
            if value and value not in {v for _label, v in self.field.choices}:
                editor.set_options(self._options(self.field, value))
            editor.value = value if value else Select.NULL
        elif isinstance(editor, TextArea):
            editor.text = str(value)
        else:
            assert isinstance(editor, Input | DateInput)
            editor.value = str(value)

    @property
    def problem(self) -> str:
        return self._problem

    @problem.setter
    def problem(self, reason: str) -> None:
        self._problem = reason
        self.set_class(bool(reason), "-invalid")
        shown = self.query(".field-problem")
        if not reason:
            shown.remove()
        elif shown:
            shown.first(Static).update(reason)
        else:
            self.mount(Static(reason, classes="field-problem", markup=False))

    def focus_editor(self) -> None:
        self.editor.focus()
