"""Two-step verification codes: TOTP (RFC 6238) as authenticator apps make them.

SHA-1, 6 digits, 30-second steps: what every authenticator app reads from a QR code. A code
is accepted one step early or late (clocks drift, typing takes time), and `matching_step`
says which step it was, so the caller can refuse a code of a step already used.
"""

import datetime as dt

import pyotp

DIGITS = 6
STEP_SECONDS = 30
VALID_WINDOW = 1
ISSUER = "crmtui"


def new_secret() -> str:
    """A random base32 secret of 160 bits (pyotp draws it from `secrets.SystemRandom`)."""
    return pyotp.random_base32()


def _totp(secret: str, digits: int) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS)


def unix_time(when: dt.datetime) -> int:
    """Seconds since the epoch of a naive UTC time (the store's; pyotp would read it as local)."""
    return int(when.replace(tzinfo=dt.UTC).timestamp())


def matching_step(secret: str, code: str, when: dt.datetime, *, digits: int = DIGITS) -> int | None:
    """The time step (within one of `when`'s) whose code `code` is, or None when none is."""
    code = "".join(code.split())  # apps show "123 456"
    if len(code) != digits or not (code.isascii() and code.isdigit()):
        return None
    try:
        return _totp(secret, digits).verify_and_get_timecode(
            code, for_time=unix_time(when), valid_window=VALID_WINDOW
        )
    except pyotp.OTPVerificationError:
        return None
    except ValueError:  # a step before 1970 (pyotp refuses those): no code matches it
        return None


def provisioning_uri(secret: str, user_name: str) -> str:
    """The `otpauth://` address an authenticator app reads (from a QR code) to add the account."""
    return _totp(secret, DIGITS).provisioning_uri(name=user_name, issuer_name=ISSUER)
