"""Formula cells: neutralized for spreadsheets on export, restored by crmtui's import."""

import pytest

from crmtui.tabular.cells import neutralize, restore


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+8613800000000", "'+8613800000000"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("王小明", "王小明"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_neutralize_then_restore_gives_the_text_back(text: str, written: str) -> None:
    assert neutralize(text) == written
    assert restore(written) == text


def test_a_leading_quote_before_plain_text_is_kept() -> None:
    assert restore("'Tis") == "'Tis"
