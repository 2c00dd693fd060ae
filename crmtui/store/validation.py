"""Turning what a user typed into the values the store saves, or a reason why not.

Each cleaner takes the raw value and returns the stored form; it raises `ValueError` with a
message that names the problem (the caller adds the field's name).
"""

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from crmtui.i18n import _
from crmtui.store.dates import DateParseError, parse_date, parse_datetime


class Normalized(NamedTuple):
    """A standardized value and the text the user typed, kept so nothing is silently lost."""

    value: str
    raw: str


def clean_text(
    value: object, *, max_length: int, required: bool = False, multiline: bool = False
) -> str:
    """Text with outer blanks removed; a one-line field also folds inner runs of blanks."""
    text = "" if value is None else str(value)
    text = text.strip() if multiline else " ".join(text.split())
    if required and not text:
        raise ValueError(_("must not be empty"))
    if len(text) > max_length:
        raise ValueError(_("is longer than {n} characters").format(n=max_length))
    return text


PHONE_LENGTH = 64  # characters of a phone as typed: an extension and a remark fit
EMAIL_LENGTH = 254  # an address's longest, by RFC 5321


class Phone(NamedTuple):
    """A phone in E.164, as typed, and in the international layout shown to users."""

    value: str
    raw: str
    display: str


# A mainland mobile written with nothing but blanks, dashes, dots or brackets between its
# digits, after an optional +86 or 0086: most phones in a Chinese customer list.
_MOBILE_SEPARATORS = re.compile(r"[ ().-]")
_MOBILE = re.compile(r"(\+86|0086)?(1[3-9]\d{9})")
# How Chinese sheets write an extension (010-6552 9988 转 8001, 分机 8001, 内线 12), which
# phonenumbers reads only as "ext.".
_CHINESE_EXTENSION = re.compile(r"\s*(?:转分机|转|分机号?|内线|內線)\s*(?=\d)")


@functools.lru_cache(maxsize=1024)
def _valid_mobile_block(first_five: str) -> bool:
    """Whether phonenumbers takes the mainland mobiles starting with these five digits: its
    patterns for them look no further (tests/store/test_validation.py checks every block)."""
    import phonenumbers  # here, not at the top: start-up time (about 20 ms to import)

    return phonenumbers.is_valid_number(phonenumbers.parse(f"+86{first_five}000000", None))


def _mainland_mobile(raw: str, region: str) -> Phone | None:
    """`clean_phone`'s answer for a plainly written mainland mobile, without parsing it the
    long way (30 µs a number, most of an import's time); None for any other phone."""
    match = _MOBILE.fullmatch(_MOBILE_SEPARATORS.sub("", raw))
    # +86 is read the same from anywhere; 0086 as a call abroad from the mainland only.
    if match is None or not (region == "CN" or match[1] == "+86"):
        return None
    national = match[2]
    if not _valid_mobile_block(national[:5]):
        return None  # the long way says why
    shown = f"+86 {national[:3]} {national[3:7]} {national[7:]}"
    return Phone("+86" + national, raw, shown)


def clean_phone(value: object, *, region: str) -> Phone:
    """A phone in E.164 (`+8613812345678`); an extension is kept in the raw text only."""
    raw = clean_text(value, max_length=PHONE_LENGTH)
    if not raw:
        return Phone("", "", "")
    return _mainland_mobile(raw, region) or parse_phone(raw, region)


def is_region(code: str) -> bool:
    """Whether `code` names a region phonenumbers knows (CN, US, GB, …), in any case."""
    import phonenumbers  # here, not at the top: start-up time (about 20 ms to import)

    return code.upper() in phonenumbers.SUPPORTED_REGIONS


def parse_phone(raw: str, region: str) -> Phone:
    """`clean_phone` the long way, through phonenumbers, for any phone."""
    import phonenumbers  # here, not at the top: start-up time (about 20 ms to import)

    try:
        number = phonenumbers.parse(_CHINESE_EXTENSION.sub(" ext. ", raw), region)
    except phonenumbers.NumberParseException:
        raise ValueError(_("{raw!r} is not a phone number").format(raw=raw)) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            _("{raw!r} is not a valid phone number (region {region})").format(
                raw=raw, region=region
            )
        )
    number.extension = None  # shown as stored: E.164 has no room for an extension
    return Phone(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        raw,
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    )


def format_phone(e164: str) -> str:
    """An E.164 number in international layout, `+86 138 1234 5678`, for display."""
    if not e164:
        return ""
    import phonenumbers  # here, not at the top: start-up time (about 20 ms to import)

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_search_key(text: str, *, region: str) -> str | None:
    """The E.164 form of a phone typed in any layout, or None when it is not one."""
    digits = re.sub(r"[\s().-]", "", text)
    if not re.fullmatch(r"\+?\d{5,}", digits):
        return None
    import phonenumbers  # here, not at the top: start-up time (about 20 ms to import)

    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# An address of plain ASCII: a dot-atom before the @, host-name labels after it.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_EMAIL = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_LOCAL_PART_MAX = 64


@functools.lru_cache(maxsize=4096)
def _plain_email_domain(domain: str) -> bool:
    """Whether email-validator takes addresses at `domain` as they are: valid, and not
    punycode (`xn--`), which it turns into Unicode."""
    if "xn--" in domain:
        return False
    try:
        parse_email(f"a@{domain}")
    except ValueError:
        return False
    return True


def clean_email(value: object) -> Normalized:
    raw = clean_text(value, max_length=EMAIL_LENGTH)
    if not raw:
        return Normalized("", "")
    # Plain addresses the quick way (email-validator takes 35 µs an address, most of an
    # import's time): the same answer, as tests/store/test_validation.py checks.
    plain = _PLAIN_EMAIL.fullmatch(raw)
    if (
        plain is not None
        and len(plain[1]) <= _LOCAL_PART_MAX
        and _plain_email_domain(plain[2].lower())
    ):
        return Normalized(raw.lower(), raw)
    return parse_email(raw)


def parse_email(raw: str) -> Normalized:
    """`clean_email` the long way, through email-validator, for any address."""
    import email_validator  # here, not at the top: start-up time (it compiles its patterns)

    try:
        result = email_validator.validate_email(raw, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(
            _("{raw!r} is not a valid email address ({reason})").format(
                raw=raw, reason=str(exc).rstrip(".")
            )
        ) from None
    return Normalized(result.normalized.lower(), raw)


def clean_choice(value: object, *, choices: tuple[str, ...]) -> str:
    text = clean_text(value, max_length=64).lower()
    if text not in choices:
        raise ValueError(
            _("{value!r} is not one of: {choices}").format(value=text, choices=", ".join(choices))
        )
    return text


def clean_date(value: object, *, today: dt.date | None = None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return parse_date(value.isoformat())
    try:
        return parse_date(str(value), today=today)
    except DateParseError as exc:
        raise ValueError(str(exc)) from None


def clean_datetime(value: object, *, now: dt.datetime | None = None) -> dt.datetime:
    """A naive UTC datetime; aware datetimes are converted, naive ones taken as UTC."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        parse_date(value.date().isoformat())  # range check
        return value
    try:
        return parse_datetime(str(value or ""), now=now)
    except DateParseError as exc:
        raise ValueError(str(exc)) from None


def clean_decimal(
    value: object, *, places: int, minimum: Decimal | None = None, maximum: Decimal | None = None
) -> Decimal:
    text = str(value).strip().replace(",", "") if value is not None else ""
    for symbol in ("¥", "￥", "$", "€", "£"):
        text = text.replace(symbol, "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("{value!r} is not a number").format(value=value)) from None
    if not number.is_finite():
        raise ValueError(_("{value!r} is not a number").format(value=value))
    try:
        exact = number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:  # more digits than Decimal's precision holds (`1e30`)
        raise ValueError(_("{value!r} is too large").format(value=value)) from None
    if number != exact:
        raise ValueError(_("has more than {n} decimal places").format(n=places))
    if minimum is not None and number < minimum:
        raise ValueError(_("must be at least {n}").format(n=minimum))
    if maximum is not None and number > maximum:
        raise ValueError(_("must be at most {n}").format(n=maximum))
    return exact


def clean_int(value: object, *, minimum: int, maximum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(_("{value!r} is not a whole number").format(value=value)) from None
    if not minimum <= number <= maximum:
        raise ValueError(_("must be from {lo} to {hi}").format(lo=minimum, hi=maximum))
    return number


def clean_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on", "是"):
        return True
    if text in ("0", "false", "no", "n", "off", "否", ""):
        return False
    raise ValueError(_("{value!r} is not yes or no").format(value=value))


def clean_currency(value: object) -> str:
    text = clean_text(value, max_length=3).upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise ValueError(_("{value!r} is not a three-letter currency code").format(value=value))
    return text
