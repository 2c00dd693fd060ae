"""Reading typed dates and times, with the clock fixed (no database)."""

import datetime as dt

import pytest
from dateutil import tz

from crmtui.store.dates import DateParseError, parse_date, parse_datetime

WEDNESDAY = dt.date(2025, 3, 5)
MONDAY = dt.date(2025, 3, 3)
SHANGHAI = tz.gettz("Asia/Shanghai")
NEW_YORK = tz.gettz("America/New_York")
NOW_SHANGHAI = dt.datetime(2025, 3, 5, 10, 0, tzinfo=SHANGHAI)  # 02:00 UTC


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("2025-03-05", WEDNESDAY, dt.date(2025, 3, 5)),
        ("2025/3/5", WEDNESDAY, dt.date(2025, 3, 5)),
        ("2025.03.05", WEDNESDAY, dt.date(2025, 3, 5)),
        ("2025年3月5日", WEDNESDAY, dt.date(2025, 3, 5)),
        ("2025 年 3 月 5 号", WEDNESDAY, dt.date(2025, 3, 5)),
        ("  2025-03-05  ", WEDNESDAY, dt.date(2025, 3, 5)),
        ("5 Mar 2025", WEDNESDAY, dt.date(2025, 3, 5)),
        ("today", WEDNESDAY, dt.date(2025, 3, 5)),
        ("Today", WEDNESDAY, dt.date(2025, 3, 5)),
        ("今天", WEDNESDAY, dt.date(2025, 3, 5)),
        ("tomorrow", WEDNESDAY, dt.date(2025, 3, 6)),
        ("明天", WEDNESDAY, dt.date(2025, 3, 6)),
        ("yesterday", WEDNESDAY, dt.date(2025, 3, 4)),
        ("+3d", WEDNESDAY, dt.date(2025, 3, 8)),
        ("+ 3 d", WEDNESDAY, dt.date(2025, 3, 8)),
        ("+0d", WEDNESDAY, dt.date(2025, 3, 5)),
        ("-1w", WEDNESDAY, dt.date(2025, 2, 26)),
        ("+2w", WEDNESDAY, dt.date(2025, 3, 19)),
        ("+1m", WEDNESDAY, dt.date(2025, 4, 5)),
        ("+1y", WEDNESDAY, dt.date(2026, 3, 5)),
        # A month on from a day the next month lacks is that month's last day.
        ("+1m", dt.date(2025, 1, 31), dt.date(2025, 2, 28)),
        ("+1m", dt.date(2024, 1, 31), dt.date(2024, 2, 29)),
        ("-1m", dt.date(2025, 3, 31), dt.date(2025, 2, 28)),
        ("+1m", dt.date(2025, 12, 15), dt.date(2026, 1, 15)),
        ("+1y", dt.date(2024, 2, 29), dt.date(2025, 2, 28)),
        # Weekdays always mean a day after today: from a Monday, "mon" is a week away.
        ("mon", WEDNESDAY, dt.date(2025, 3, 10)),
        ("next monday", WEDNESDAY, dt.date(2025, 3, 10)),
        ("fri", WEDNESDAY, dt.date(2025, 3, 7)),
        ("wed", WEDNESDAY, dt.date(2025, 3, 12)),
        ("mon", MONDAY, dt.date(2025, 3, 10)),
        ("next monday", MONDAY, dt.date(2025, 3, 10)),
        ("Monday", MONDAY, dt.date(2025, 3, 10)),
        ("tue", MONDAY, dt.date(2025, 3, 4)),
        ("sun", MONDAY, dt.date(2025, 3, 9)),
        ("next week", WEDNESDAY, dt.date(2025, 3, 10)),
        ("end of week", WEDNESDAY, dt.date(2025, 3, 9)),
        ("end of month", WEDNESDAY, dt.date(2025, 3, 31)),
        ("eom", dt.date(2024, 2, 10), dt.date(2024, 2, 29)),
        ("end of month", dt.date(2025, 4, 30), dt.date(2025, 4, 30)),
        # The limits of the accepted range are themselves accepted.
        ("1900-01-01", WEDNESDAY, dt.date(1900, 1, 1)),
        ("2100-12-31", WEDNESDAY, dt.date(2100, 12, 31)),
    ],
)
def test_parse_date(text: str, today: dt.date, expected: dt.date) -> None:
    assert parse_date(text, today=today) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-02-30", "'2025-02-30' is not a real date"),
        ("2025/2/30", "'2025/2/30' is not a real date"),
        ("2025年2月30日", "'2025年2月30日' is not a real date"),
        ("2025-13-01", "'2025-13-01' is not a real date"),
        ("2023-02-29", "'2023-02-29' is not a real date"),
        ("1800-01-01", "1800-01-01 is outside the dates crmtui accepts (1900-01-01 to 2100-12-31)"),
        ("2200-06-01", "2200-06-01 is outside the dates crmtui accepts"),
        ("1899-12-31", "outside the dates crmtui accepts"),
        ("2101-01-01", "outside the dates crmtui accepts"),
        ("+100y", "2125-03-05 is outside"),
        ("", "a date is required"),
        ("   ", "a date is required"),
        ("someday", "'someday' is not a date crmtui understands"),
        ("+3h", "'+3h' is not a date crmtui understands"),
    ],
)
def test_parse_date_refuses(text: str, message: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_date(text, today=WEDNESDAY)
    assert message in str(caught.value)


def test_date_parse_error_is_a_value_error() -> None:
    """Field cleaners turn ValueError into a problem naming the field."""
    assert issubclass(DateParseError, ValueError)


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        # A date alone means 09:00 local: 01:00 UTC in Shanghai (UTC+8).
        ("2025-03-05", dt.datetime(2025, 3, 5, 1, 0)),
        ("2025年3月6日", dt.datetime(2025, 3, 6, 1, 0)),
        ("today", dt.datetime(2025, 3, 5, 1, 0)),
        ("tomorrow", dt.datetime(2025, 3, 6, 1, 0)),
        ("+1d", dt.datetime(2025, 3, 6, 1, 0)),
        ("mon", dt.datetime(2025, 3, 10, 1, 0)),
        ("2025-03-05 14:30", dt.datetime(2025, 3, 5, 6, 30)),
        ("2025/3/5 9:05", dt.datetime(2025, 3, 5, 1, 5)),
        ("mon 10:00", dt.datetime(2025, 3, 10, 2, 0)),
        ("tomorrow 23:59", dt.datetime(2025, 3, 6, 15, 59)),
        # Early morning local is the previous day in UTC.
        ("2025-03-06 00:30", dt.datetime(2025, 3, 5, 16, 30)),
        ("March 6 2025 14:00", dt.datetime(2025, 3, 6, 6, 0)),
        # Hours count from now (10:00 local, 02:00 UTC).
        ("+2h", dt.datetime(2025, 3, 5, 4, 0)),
        ("-1h", dt.datetime(2025, 3, 5, 1, 0)),
        ("+48h", dt.datetime(2025, 3, 7, 2, 0)),
    ],
)
def test_parse_datetime_local_to_naive_utc(text: str, expected_utc: dt.datetime) -> None:
    result = parse_datetime(text, now=NOW_SHANGHAI)
    assert result == expected_utc
    assert result.tzinfo is None


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("2025-03-07", dt.datetime(2025, 3, 7, 14, 0)),  # EST, UTC-5
        ("2025-03-10", dt.datetime(2025, 3, 10, 13, 0)),  # EDT from 9 March, UTC-4
    ],
)
def test_parse_datetime_uses_the_offset_of_the_day_named(
    text: str, expected_utc: dt.datetime
) -> None:
    now = dt.datetime(2025, 3, 5, 12, 0, tzinfo=NEW_YORK)
    assert parse_datetime(text, now=now) == expected_utc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-03-05 25:00", "'25:00' is not a time of day"),
        ("2025-03-05 12:60", "'12:60' is not a time of day"),
        ("tomorrow 24:00", "'24:00' is not a time of day"),
        ("25:00", "'25:00' is not a date crmtui understands"),
        ("2025-02-30 10:00", "'2025-02-30' is not a real date"),
        ("1800-01-01 10:00", "1800-01-01 is outside"),
        ("2200-01-01", "2200-01-01 is outside"),
        ("", "a date is required"),
        ("whenever", "'whenever' is not a date crmtui understands"),
    ],
)
def test_parse_datetime_refuses(text: str, message: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_datetime(text, now=NOW_SHANGHAI)
    assert message in str(caught.value)
