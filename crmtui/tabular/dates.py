"""Dates as the ISO text the store reads: a spreadsheet's datetime, or an Excel date number.

Excel keeps a date as a number of days since its epoch (30 December 1899, or 1 January 1904 in
old Mac workbooks) and shows it as a date only through the cell's format. A date column whose
cells lost that format (pasted values, a generator that wrote plain numbers) holds numbers like
45356; `serial_text` turns them back into dates for fields known to hold dates.
"""

import datetime as dt
import re

# 1900-03-01: before it Excel counts a 29 February 1900 that never was (Lotus 1-2-3's bug),
# and no customer record is that old. 73415 is 2100-12-31 (1900 epoch), the store's last date.
FIRST_SERIAL = 61
LAST_SERIAL = 73415
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def moment_text(moment: dt.datetime) -> str:
    """`2024-03-05` at midnight, else `2024-03-05 14:30` (with seconds when it has them)."""
    if moment.time() == dt.time():
        return moment.date().isoformat()
    return f"{moment.date().isoformat()} {time_text(moment.time())}"


def time_text(value: dt.time) -> str:
    return value.isoformat("minutes" if not value.second and not value.microsecond else "seconds")


def serial_text(text: str, epoch: dt.datetime, *, with_time: bool) -> str:
    """An Excel date number as an ISO date (or date and time); any other text as it is."""
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        return text
    days = float(stripped)
    if not FIRST_SERIAL <= days <= LAST_SERIAL:
        return text
    moment = epoch + dt.timedelta(seconds=round(days * 86400))
    return moment_text(moment) if with_time else moment.date().isoformat()
