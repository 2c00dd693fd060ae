"""The export's format, file names and paths, as both interfaces use them."""

import datetime as dt
from pathlib import Path

import pytest

from crmtui.transfer import exporting
from crmtui.transfer.errors import TransferError
from crmtui.transfer.paths import shown_path, target_path


@pytest.mark.parametrize(
    ("chosen", "output", "fmt"),
    [
        (None, "-", "csv"),
        (None, "out", "csv"),
        (None, "客户.XLSX", "xlsx"),
        (None, "a.json", "json"),
        ("json", "a.csv", "json"),  # a format given wins
    ],
)
def test_the_format_comes_from_the_choice_else_the_extension(
    chosen: str | None, output: str, fmt: str
) -> None:
    assert exporting.format_for(chosen, output) == fmt


def test_an_extension_that_names_no_format_is_refused() -> None:
    with pytest.raises(TransferError, match=r"'\.xls'"):
        exporting.format_for(None, "customers.xls")


@pytest.mark.parametrize(
    ("path", "fmt", "changed"),
    [
        ("~/a.csv", "xlsx", "~/a.xlsx"),
        ("a.JSON", "csv", "a.csv"),
        ("notes.txt", "csv", "notes.txt.csv"),  # not a format's extension: kept
    ],
)
def test_choosing_a_format_changes_the_extension(path: str, fmt: str, changed: str) -> None:
    assert exporting.with_format(path, fmt) == changed
    assert exporting.named_format(changed) == fmt


def test_the_default_file_is_named_after_the_kind_and_the_day(tmp_path: Path) -> None:
    day = dt.date(2025, 3, 5)
    assert (
        exporting.default_path("customers", day, tmp_path) == tmp_path / "customers-2025-03-05.csv"
    )


def test_paths_are_shown_and_read_with_the_home_folder_as_a_tilde() -> None:
    inside = Path.home() / "exports" / "a.csv"
    assert shown_path(inside) == "~/exports/a.csv"
    assert target_path(" ~/exports/a.csv ") == inside
    assert shown_path(Path("/elsewhere/a.csv")) == "/elsewhere/a.csv"
    assert target_path("a.csv") == Path.cwd() / "a.csv"
