"""How values look to a person, shared by the app and the CLI."""

import datetime as dt
from decimal import Decimal

from rich.cells import cell_len, set_cell_size

from crmtui.i18n import _
from crmtui.store.types import Customer


def local_time(utc: dt.datetime | None) -> str:
    """A stored UTC timestamp in the user's local time, to the minute."""
    if utc is None:
        return ""
    return utc.replace(tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def money(amount: Decimal, currency: str) -> str:
    """An exact amount with its currency and thousands separators: `CNY 12,345.60`."""
    return f"{currency} {amount:,.2f}"


def fit(text: str, width: int) -> str:
    """`text` cropped or padded to exactly `width` terminal cells; a cropped text ends in "…".

    Widths are cells, not characters, so a Chinese character (two cells) keeps columns aligned.
    """
    if width <= 0:
        return ""
    if cell_len(text) > width:
        # A cut through a two-cell character leaves a blank cell: the "…" goes before it.
        text = set_cell_size(text, width - 1).rstrip() + "…"
    return set_cell_size(text, width)


def text_table(headers: list[str], rows: list[list[str]], *, max_width: int = 40) -> str:
    """Rows as aligned columns for a terminal or a pipe; wide characters keep alignment."""
    widths = [
        min(max_width, max([cell_len(h)] + [cell_len(r[i]) for r in rows]))
        for i, h in enumerate(headers)
    ]
    lines = []
    for row in [headers, *rows]:
        cells = [fit(value, width) for value, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def count_text(count: int, cap: int) -> str:
    """A count read no further than `cap`: `1000+` when it reached it."""
    return f"{count}+" if count >= cap else str(count)


def file_size(size: int) -> str:
    """A size in bytes as a person reads it: `812 B`, `3.4 MiB`, `1.2 GiB`."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def ago(age: dt.timedelta) -> str:
    """How long ago, short enough for the header: `5 min ago`, `3 h ago`, `2 d ago`."""
    seconds = max(int(age.total_seconds()), 0)
    if seconds < 3600:
        return _("{n} min ago").format(n=seconds // 60)
    if seconds < 2 * 86400:
        return _("{n} h ago").format(n=seconds // 3600)
    return _("{n} d ago").format(n=seconds // 86400)


def consent_note(customer: Customer) -> str:
    """What follows "yes" or "no" about consent to marketing: when and where it was given, or
    when it was withdrawn; empty when nothing is recorded."""
    if customer.marketing_consent:
        given = [d.isoformat() for d in (customer.consent_date,) if d]
        given += [customer.consent_source] if customer.consent_source else []
        return f" ({', '.join(given)})" if given else ""
    if customer.consent_withdrawn_on:
        withdrawn = customer.consent_withdrawn_on.isoformat()
        return " (" + _("withdrawn {date}").format(date=withdrawn) + ")"
    return ""
