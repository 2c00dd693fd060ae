"""Cells a spreadsheet would run as a formula, made harmless on export and restored on import.

OWASP's CSV-injection guidance: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with a single quote, which spreadsheets show as text and do not evaluate.
crmtui's own import takes the quote off again, so `+8613800000000` survives a round trip. Text
that already starts with quotes before such a character (`'=x`) gets one more, so that taking
one off gives it back as it was.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def neutralize(text: str) -> str:
    """The cell as written to a CSV file: quoted when a spreadsheet would evaluate it."""
    return _QUOTE + text if text.lstrip(_QUOTE).startswith(FORMULA_STARTS) else text


def restore(text: str) -> str:
    """A cell read from a file: `neutralize` undone (a quote before any other text stays)."""
    if text.startswith(_QUOTE) and text.lstrip(_QUOTE).startswith(FORMULA_STARTS):
        return text[1:]
    return text
