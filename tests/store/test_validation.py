"""Cleaning what users type: phones, emails, decimals, choices, booleans (no database)."""

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from dateutil import tz

from crmtui import config
from crmtui.store import fields as f
from crmtui.store import validation as v
from crmtui.store.errors import ValidationError


@pytest.fixture
def us_region(tmp_path: Path) -> Iterator[None]:
    """The config file names the United States as the default phone region."""
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[phone]\ndefault_region = "us"\n', encoding="utf-8")
    config.reset_settings()
    yield
    config.reset_settings()


# -- phones ----------------------------------------------------------------------------------


MOBILE = ("+8613812345678", "+86 138 1234 5678")
US = ("+16502530000", "+1 650-253-0000")


@pytest.mark.parametrize(
    ("raw", "region", "stored"),
    [
        ("138 1234 5678", "CN", MOBILE),
        ("13812345678", "CN", MOBILE),
        ("138-1234-5678", "CN", MOBILE),
        ("+86 138-1234-5678", "CN", MOBILE),
        ("+86 (138) 1234-5678", "CN", MOBILE),
        ("0086 138 1234 5678", "CN", MOBILE),
        ("+8613812345678", "US", MOBILE),  # an international number ignores region
        ("010-6552 9988", "CN", ("+861065529988", "+86 10 6552 9988")),  # Beijing landline
        ("(650) 253-0000", "US", US),
        ("650.253.0000", "US", US),
        ("+1 650 253 0000", "CN", US),
        ("020 7946 0958", "GB", ("+442079460958", "+44 20 7946 0958")),
        ("138 1234 5678 ext. 12", "CN", MOBILE),  # extension kept in raw only
        ("138 1234 5678 转 12", "CN", MOBILE),  # as Chinese sheets write an extension
        ("010-6552 9988转8001", "CN", ("+861065529988", "+86 10 6552 9988")),
        ("010-6552 9988 分机 8001", "CN", ("+861065529988", "+86 10 6552 9988")),
        ("010-6552 9988 分机号8001", "CN", ("+861065529988", "+86 10 6552 9988")),
        ("010 6552 9988 内线 12", "CN", ("+861065529988", "+86 10 6552 9988")),
    ],
)
def test_phone_to_e164_keeping_raw_with_its_display_form(
    raw: str, region: str, stored: tuple[str, str]
) -> None:
    e164, display = stored
    assert v.clean_phone(raw, region=region) == v.Phone(e164, raw, display)


def test_phone_raw_has_outer_and_doubled_blanks_folded() -> None:
    assert v.clean_phone("  138  1234   5678 ", region="CN") == v.Phone(
        "+8613812345678", "138 1234 5678", "+86 138 1234 5678"
    )


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_empty_phone_is_no_phone(empty: object) -> None:
    assert v.clean_phone(empty, region="CN") == v.Phone("", "", "")


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("12345", "CN", "'12345' is not a valid phone number (region CN)"),
        ("138 1234 567", "CN", "'138 1234 567' is not a valid phone number"),
        ("+86 000 0000 0000", "CN", "'+86 000 0000 0000' is not a valid phone number"),
        ("(650) 253-0000", "CN", "'(650) 253-0000' is not a valid phone number (region CN)"),
        ("call me", "CN", "'call me' is not a phone number"),
        ("1", "CN", "'1' is not a phone number"),
        ("1" * 65, "CN", "is longer than 64 characters"),
    ],
)
def test_invalid_phone_refused_naming_it(raw: str, region: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        v.clean_phone(raw, region=region)
    assert message in str(caught.value)


def test_phone_field_uses_the_configured_region(us_region: None) -> None:
    specs = {"phone": f.phone("phone")}
    assert f.clean_fields(specs, {"phone": "(650) 253-0000"}, partial=True) == {
        "phone": "+16502530000",
        "phone_raw": "(650) 253-0000",
        "phone_display": "+1 650-253-0000",
    }
    with pytest.raises(ValidationError) as caught:
        f.clean_fields(specs, {"phone": "138 1234 5678"}, partial=True)
    assert str(caught.value) == "phone: '138 1234 5678' is not a valid phone number (region US)"


def test_phone_field_defaults_to_china() -> None:
    assert f.clean_fields({"phone": f.phone("phone")}, {"phone": "138 1234 5678"}, partial=True)[
        "phone"
    ] == ("+8613812345678")


@pytest.mark.parametrize(
    ("e164", "shown"),
    [("+8613812345678", "+86 138 1234 5678"), ("+16502530000", "+1 650-253-0000"), ("", "")],
)
def test_format_phone(e164: str, shown: str) -> None:
    assert v.format_phone(e164) == shown


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("(139) 8765-4321", "+8613987654321"),
        ("138", None),  # too short to be a phone: searched as text
        ("张伟", None),
        ("a1234567", None),
    ],
)
def test_phone_search_key(text: str, key: str | None) -> None:
    assert v.phone_search_key(text, region="CN") == key


# -- emails ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("alice@example.com", "alice@example.com"),
        ("Alice@Example.COM", "alice@example.com"),
        ("ALICE@EXAMPLE.CO.UK", "alice@example.co.uk"),
        ("zhang.wei+crm@xinghe.cn", "zhang.wei+crm@xinghe.cn"),
        ("用户@example.com", "用户@example.com"),
    ],
)
def test_email_normalized_keeping_raw(raw: str, normalized: str) -> None:
    assert v.clean_email(raw) == v.Normalized(normalized, raw)


def test_empty_email_is_no_email() -> None:
    assert v.clean_email("  ") == v.Normalized("", "")


@pytest.mark.parametrize(
    "raw", ["alice", "alice@", "@example.com", "a b@example.com", "alice@@example.com", "a@b"]
)
def test_invalid_email_refused_naming_it(raw: str) -> None:
    with pytest.raises(ValueError) as caught:
        v.clean_email(raw)
    assert str(caught.value).startswith(f"{raw!r} is not a valid email address (")


# -- decimals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "places", "expected"),
    [
        ("1,234.50", 2, "1234.50"),
        ("¥99", 2, "99.00"),
        ("￥1,000", 2, "1000.00"),
        ("$0.1", 2, "0.10"),
        ("-5", 2, "-5.00"),
        ("1.500", 2, "1.50"),  # trailing zeros are not extra places
        (" 7 ", 0, "7"),
        ("0.125", 3, "0.125"),
        (3, 2, "3.00"),
        (Decimal("2.5"), 2, "2.50"),
        ("1e3", 2, "1000.00"),
    ],
)
def test_decimal_exact(raw: object, places: int, expected: str) -> None:
    result = v.clean_decimal(raw, places=places)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_decimals_add_exactly() -> None:
    tenth = v.clean_decimal("0.10", places=2)
    fifth = v.clean_decimal("0.20", places=2)
    assert tenth + fifth == Decimal("0.30")
    assert str(tenth + fifth) == "0.30"


@pytest.mark.parametrize(
    ("raw", "places", "message"),
    [
        ("1.234", 2, "has more than 2 decimal places"),
        ("0.001", 2, "has more than 2 decimal places"),
        ("1.5", 0, "has more than 0 decimal places"),
        ("abc", 2, "'abc' is not a number"),
        ("", 2, "'' is not a number"),
        (None, 2, "None is not a number"),
        ("1.2.3", 2, "'1.2.3' is not a number"),
        ("NaN", 2, "'NaN' is not a number"),
        ("Infinity", 2, "'Infinity' is not a number"),
        # More digits than Decimal arithmetic holds: refused, not an arithmetic traceback.
        ("1e30", 2, "'1e30' is too large"),
        ("123456789012345678901234567890", 2, "is too large"),
    ],
)
def test_decimal_refused(raw: object, places: int, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        v.clean_decimal(raw, places=places)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("-0.01", "must be at least 0"), ("100.01", "must be at most 100")],
)
def test_decimal_bounds(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        v.clean_decimal(raw, places=2, minimum=Decimal(0), maximum=Decimal(100))
    assert v.clean_decimal("100", places=2, minimum=Decimal(0), maximum=Decimal(100)) == 100


def test_amount_field_refuses_huge_values() -> None:
    specs = {"amount": f.decimal("amount", 2)}
    with pytest.raises(ValidationError) as caught:
        f.clean_fields(specs, {"amount": "1e30"}, partial=True)
    assert caught.value.problems[0].field == "amount"
    with pytest.raises(ValidationError, match="amount: must be at most"):
        f.clean_fields(specs, {"amount": "1000000000001"}, partial=True)


# -- choices, booleans, integers, currencies, text ------------------------------------------

STAGES = ("new", "prospect", "active")


@pytest.mark.parametrize(("raw", "expected"), [("active", "active"), (" Prospect ", "prospect")])
def test_choice(raw: str, expected: str) -> None:
    assert v.clean_choice(raw, choices=STAGES) == expected


@pytest.mark.parametrize("raw", ["bogus", "", "activ"])
def test_choice_refused_listing_the_choices(raw: str) -> None:
    with pytest.raises(ValueError) as caught:
        v.clean_choice(raw, choices=STAGES)
    assert str(caught.value) == f"{raw!r} is not one of: new, prospect, active"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("yes", True),
        ("Y", True),
        ("true", True),
        ("1", True),
        ("on", True),
        ("是", True),
        ("no", False),
        ("N", False),
        ("FALSE", False),
        ("0", False),
        ("off", False),
        ("否", False),
        ("", False),
        (1, True),
        (0, False),
    ],
)
def test_bool(raw: object, expected: bool) -> None:
    assert v.clean_bool(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "yess"])
def test_bool_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=f"{raw!r} is not yes or no"):
        v.clean_bool(raw)


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        ("3", 3),
        (" 5 ", 5),
        (1, 1),
        ("0", "must be from 1 to 5"),
        ("6", "must be from 1 to 5"),
        ("x", "'x' is not a whole number"),
        ("2.5", "'2.5' is not a whole number"),
    ],
)
def test_int(raw: object, outcome: object) -> None:
    if isinstance(outcome, int):
        assert v.clean_int(raw, minimum=1, maximum=5) == outcome
    else:
        with pytest.raises(ValueError, match=str(outcome)):
            v.clean_int(raw, minimum=1, maximum=5)


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        ("cny", "CNY"),
        (" usd ", "USD"),
        ("C1Y", "'C1Y' is not a three-letter currency code"),
        ("yuan", "is longer than 3 characters"),
    ],
)
def test_currency(raw: str, outcome: str) -> None:
    if outcome.isupper():
        assert v.clean_currency(raw) == outcome
    else:
        with pytest.raises(ValueError, match=outcome):
            v.clean_currency(raw)


def test_text_folds_blanks_on_one_line_and_keeps_lines_in_multiline() -> None:
    assert v.clean_text("  a \t b\nc  ", max_length=20) == "a b c"
    assert v.clean_text("  line one\n  line two  ", max_length=50, multiline=True) == (
        "line one\n  line two"
    )
    assert v.clean_text(None, max_length=5) == ""


@pytest.mark.parametrize(
    ("raw", "kwargs", "message"),
    [
        ("   ", {"required": True}, "must not be empty"),
        ("abcdef", {}, "is longer than 5 characters"),
    ],
)
def test_text_refused(raw: str, kwargs: dict[str, bool], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        v.clean_text(raw, max_length=5, **kwargs)


# -- dates through the cleaners ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("2025/3/5", dt.date(2025, 3, 5)),
        (dt.date(2025, 3, 5), dt.date(2025, 3, 5)),
        (dt.datetime(2025, 3, 5, 23, 59), dt.date(2025, 3, 5)),
        ("+1d", dt.date(2025, 3, 6)),
    ],
)
def test_clean_date(raw: object, expected: dt.date | None) -> None:
    assert v.clean_date(raw, today=dt.date(2025, 3, 5)) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [("2025-02-30", "'2025-02-30' is not a real date"), (dt.date(1800, 1, 1), "is outside")],
)
def test_clean_date_refused(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        v.clean_date(raw)


def test_clean_datetime() -> None:
    shanghai = tz.gettz("Asia/Shanghai")
    aware = dt.datetime(2025, 3, 5, 9, 0, tzinfo=shanghai)
    assert v.clean_datetime(aware) == dt.datetime(2025, 3, 5, 1, 0)
    assert v.clean_datetime(dt.datetime(2025, 3, 5, 9, 0)) == dt.datetime(2025, 3, 5, 9, 0)
    now = dt.datetime(2025, 3, 5, 10, 0, tzinfo=shanghai)
    assert v.clean_datetime("2025-03-05 14:30", now=now) == dt.datetime(2025, 3, 5, 6, 30)
    with pytest.raises(ValueError, match="is outside"):
        v.clean_datetime(dt.datetime(1800, 1, 1))
    with pytest.raises(ValueError, match="'25:00' is not a time of day"):
        v.clean_datetime("2025-03-05 25:00", now=now)


# -- field specs ---------------------------------------------------------------------------


def test_clean_fields_collects_every_problem() -> None:
    specs = {
        "name": f.text("name", required=True),
        "email": f.email("email"),
        "stage": f.choice("stage", STAGES),
    }
    with pytest.raises(ValidationError) as caught:
        f.clean_fields(specs, {"email": "nope", "stage": "x", "colour": "red"}, partial=False)
    assert sorted(p.field for p in caught.value.problems) == ["colour", "email", "name", "stage"]
    assert "name: is required" in str(caught.value)
    assert "colour: is not a field of this record" in str(caught.value)


def test_clean_fields_partial_skips_required() -> None:
    specs = {"name": f.text("name", required=True), "email": f.email("email")}
    assert f.clean_fields(specs, {"email": "A@B.cn"}, partial=True) == {
        "email": "a@b.cn",
        "email_raw": "A@B.cn",
    }


def test_plain_mainland_mobiles_are_read_as_phonenumbers_reads_them() -> None:
    """The quick way for mainland mobiles gives what phonenumbers gives, for every block of
    numbers (the first five digits), in each way of writing one, from several regions."""
    rng = random.Random(5)
    layouts = (
        "{n}",
        "{a} {b} {c}",
        "{a}-{b}-{c}",
        "+86 {a} {b} {c}",
        "0086{n}",
        "(+86) {a}.{b}.{c}",
    )
    checked = 0
    for block in range(13000, 20000):
        national = f"{block}{rng.randrange(10**6):06d}"
        a, b, c = national[:3], national[3:7], national[7:]
        raw = rng.choice(layouts).format(n=national, a=a, b=b, c=c)
        for region in ("CN", "US"):
            try:
                expected: object = v.parse_phone(raw, region)
            except ValueError as exc:
                expected = str(exc)
            try:
                got: object = v.clean_phone(raw, region=region)
            except ValueError as exc:
                got = str(exc)
            assert got == expected, (raw, region)
            checked += 1
    assert checked == 14000


def test_plain_email_addresses_are_read_as_email_validator_reads_them() -> None:
    """The quick way for plain addresses gives what email-validator gives, on addresses made
    to hit its edges: dots, hyphens, digits, special-use and one-label domains, lengths."""
    rng = random.Random(7)
    locals_ = ["ada", "a.b", ".ab", "ab.", "a..b", "A_B+tag", "o'neil", "x" * 64, "x" * 65]
    locals_.append("a!#$%&*/=?^`{|}~-")
    domains = [
        "example.com", "EXAMPLE.COM", "qq.com", "mail.163.com", "-bad.com", "bad-.com",
        "localhost", "a.test", "b.invalid", "c.local", "d.onion", "x.arpa", "1.2.3.4",
        "co.123", "xn--fiqs8s.cn", "a_b.com", "sub." + "d" * 63 + ".com", "e" * 64 + ".com",
        "example", "foo.example", "bar.example.org",
    ]  # fmt: skip
    for local in locals_:
        for domain in domains:
            raw = f"{local}@{domain}"
            if rng.random() < 0.2:
                raw = raw.upper()
            try:
                expected: object = v.parse_email(raw)
            except ValueError as exc:
                expected = str(exc)
            try:
                got: object = v.clean_email(raw)
            except ValueError as exc:
                got = str(exc)
            assert got == expected, raw
