"""crmtui.tabular stays apart from the database and the interface, and in step with the store."""

import subprocess
import sys

import pytest

from crmtui.store import customers, followups, timeline
from crmtui.store import fields as store_fields
from crmtui.tabular.headers import KINDS, RecordKind, normalize, without_number

STORE_FIELDS: dict[str, dict[str, store_fields.FieldSpec]] = {
    "customer": customers.FIELDS,
    "purchase": dict(timeline.PURCHASE.fields),
    "communication": dict(timeline.COMMUNICATION.fields),
    "followup": followups.FIELDS,
}


def test_tabular_imports_without_the_database_the_interface_or_openpyxl() -> None:
    """openpyxl is left out too: it is imported when a workbook is read, not at start-up."""
    code = (
        "import sys\n"
        "import crmtui.tabular.reading, crmtui.tabular.mapping\n"
        "banned = ('peewee', 'apsw', 'psycopg', 'textual', 'click', 'openpyxl', 'crmtui.store')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in banned"
        " or m.startswith('crmtui.store'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_fields_are_the_stores(kind: str) -> None:
    record = KINDS[kind]
    store = STORE_FIELDS[kind]
    extra = {"tags"} if kind == "customer" else set()  # tags are a customer's, beside FIELDS

    assert set(record.fields) == set(store) | extra
    assert set(record.required) == {name for name, spec in store.items() if spec.required}
    assert record.dates == {name for name, spec in store.items() if spec.kind == "date"}
    assert record.moments == {name for name, spec in store.items() if spec.kind == "moment"}


@pytest.mark.parametrize("record", KINDS.values(), ids=sorted(KINDS))
def test_no_header_means_two_things_in_one_kind_of_sheet(record: RecordKind) -> None:
    spellings: dict[str, set[str]] = {}
    for table in (record.aliases, record.secondary):
        for target, aliases in table.items():
            for alias in aliases:
                spellings.setdefault(normalize(alias), set()).add(target)
    for target in record.targets:
        spellings.setdefault(normalize(target), set()).add(target)

    assert {h: t for h, t in spellings.items() if len(t) > 1} == {}
    assert all(normalize(alias) for aliases in record.aliases.values() for alias in aliases)


@pytest.mark.parametrize("record", KINDS.values(), ids=sorted(KINDS))
def test_every_alias_target_is_a_target_of_its_kind(record: RecordKind) -> None:
    for table in (record.aliases, record.secondary):
        assert set(table) <= set(record.targets)


def test_no_alias_is_another_with_a_number_after_it() -> None:
    """`电话2` means "a second 电话": no alias may itself end in a number."""
    for record in KINDS.values():
        names = [normalize(a) for aliases in record.aliases.values() for a in aliases]
        assert [name for name in names if without_number(name) != name] == []
