"""Reading the dates people type: `2025-03-05`, `2025/3/5`, `2025年3月5日`, `today`, `+3d`, `mon`.

Relative forms count from a given `today`/`now`, so tests fix the clock by passing it.
Times typed by a user are local; they are stored in UTC.
"""

import datetime as dt
import re

from dateutil.relativedelta import MO, SU, relativedelta

from crmtui.i18n import _

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2100, 12, 31)
DEFAULT_TIME = dt.time(9, 0)

_RELATIVE = re.compile(r"^([+-])\s*(\d{1,4})\s*([dwmyh])$")
_CHINESE_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}
_KEYWORDS = {"today": 0, "tomorrow": 1, "yesterday": -1, "今天": 0, "明天": 1, "昨天": -1}
_UNITS = {
    "d": lambda n: relativedelta(days=n),
    "w": lambda n: relativedelta(weeks=n),
    "m": lambda n: relativedelta(months=n),
    "y": lambda n: relativedelta(years=n),
}


def utcnow() -> dt.datetime:
    """The current time in UTC, naive, as every timestamp is stored."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class DateParseError(ValueError):
    """The text is not a date or time crmtui understands; the message says why."""


def parse_date(text: str, *, today: dt.date | None = None) -> dt.date:
    """The calendar date `text` names, counting relative forms from `today`."""
    today = today or dt.date.today()
    cleaned = " ".join(str(text).strip().lower().split())
    if not cleaned:
        raise DateParseError(_("a date is required"))
    result = _parse_relative_date(cleaned, today)
    if result is None:
        result = _parse_absolute_date(cleaned, today)
    return _in_range(result)


def parse_datetime(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """The moment `text` names, as a naive UTC datetime; a date alone means 09:00 local.

    `now` is an aware datetime in the user's zone (default: the local clock).
    """
    from dateutil.tz import tzlocal  # here, not at the top: start-up time (about 8 ms)

    now = now or dt.datetime.now(tzlocal())
    zone = now.tzinfo or tzlocal()
    cleaned = " ".join(str(text).strip().lower().split())
    if not cleaned:
        raise DateParseError(_("a date is required"))
    hours = _RELATIVE.match(cleaned)
    if hours and hours.group(3) == "h":
        sign = 1 if hours.group(1) == "+" else -1
        moment = now + dt.timedelta(hours=sign * int(hours.group(2)))
    else:
        moment = _parse_local_moment(cleaned, now, zone)
    _in_range(moment.date())
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _parse_local_moment(cleaned: str, now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    date_part, _sep, time_part = cleaned.rpartition(" ")
    if date_part and re.fullmatch(r"\d{1,2}:\d{2}", time_part):
        day = parse_date(date_part, today=now.date())
        hour, minute = (int(p) for p in time_part.split(":"))
        if hour > 23 or minute > 59:
            raise DateParseError(_("{text!r} is not a time of day").format(text=time_part))
        return dt.datetime.combine(day, dt.time(hour, minute), zone)
    day_only = _parse_relative_date(cleaned, now.date()) or _parse_exact_date(cleaned)
    if day_only is not None:
        return dt.datetime.combine(day_only, DEFAULT_TIME, zone)
    from dateutil import parser as date_parser  # here, not at the top: start-up time

    try:
        parsed = date_parser.parse(cleaned, default=dt.datetime.combine(now.date(), DEFAULT_TIME))
    except (ValueError, OverflowError) as exc:
        raise DateParseError(
            _("{text!r} is not a date crmtui understands").format(text=cleaned)
        ) from exc
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def _parse_relative_date(cleaned: str, today: dt.date) -> dt.date | None:
    if cleaned in _KEYWORDS:
        return today + dt.timedelta(days=_KEYWORDS[cleaned])
    match = _RELATIVE.match(cleaned)
    if match and match.group(3) in _UNITS:
        count = int(match.group(2)) * (1 if match.group(1) == "+" else -1)
        return today + _UNITS[match.group(3)](count)
    weekday = cleaned.removeprefix("next ").strip()
    if weekday in _WEEKDAYS:
        days_ahead = (_WEEKDAYS[weekday] - today.weekday() - 1) % 7 + 1
        return today + dt.timedelta(days=days_ahead)
    if cleaned in ("end of month", "eom"):
        return today + relativedelta(day=31)
    if cleaned in ("next week",):
        return today + relativedelta(days=1, weekday=MO(+1))
    if cleaned in ("end of week", "eow"):
        return today + relativedelta(weekday=SU(+1))
    return None


def _parse_exact_date(cleaned: str) -> dt.date | None:
    """A year-month-day date (`2025-03-05`, `2025/3/5`, `2025年3月5日`), or None if not one."""
    chinese = _CHINESE_DATE.match(cleaned)
    if chinese:
        parts = chinese.groups()
    elif re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}", cleaned):
        parts = re.split(r"[-/.]", cleaned)
    else:
        return None
    year, month, day = (int(p) for p in parts)
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise DateParseError(
            _("{text!r} is not a real date ({error})").format(text=cleaned, error=exc)
        ) from exc


def _parse_absolute_date(cleaned: str, today: dt.date) -> dt.date:
    exact = _parse_exact_date(cleaned)
    if exact is not None:
        return exact
    from dateutil import parser as date_parser  # here, not at the top: start-up time

    try:
        return date_parser.parse(cleaned, default=dt.datetime.combine(today, DEFAULT_TIME)).date()
    except (ValueError, OverflowError) as exc:
        raise DateParseError(
            _("{text!r} is not a date crmtui understands").format(text=cleaned)
        ) from exc


def _in_range(day: dt.date) -> dt.date:
    if not EARLIEST <= day <= LATEST:
        raise DateParseError(
            _("{day} is outside the dates crmtui accepts ({first} to {last})").format(
                day=day.isoformat(), first=EARLIEST.isoformat(), last=LATEST.isoformat()
            )
        )
    return day
