"""Two-step verification: RFC 6238's test vectors, the ±1 step window, codes used once."""

import base64
import datetime as dt

import pyotp
import pytest

from crmtui.store import accounts, auth, totp
from crmtui.store import models as m
from crmtui.store.errors import StoreError, ValidationError
from crmtui.store.types import Actor
from tests.conftest import Clock

PASSWORD = "correct horse battery"
NOW = dt.datetime(2026, 3, 1, 9, 0, 10)  # 10 s into a step

# RFC 6238 Appendix B, SHA-1: the 20-byte ASCII secret, Unix time -> the 8-digit code.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = {
    59: "94287082",
    1111111109: "07081804",
    1111111111: "14050471",
    1234567890: "89005924",
    2000000000: "69279037",
    20000000000: "65353130",
}


def utc(seconds: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(("unix_time", "code"), RFC_VECTORS.items())
def test_rfc_6238_test_vectors(unix_time: int, code: str) -> None:
    made = pyotp.TOTP(RFC_SECRET, digits=8, interval=totp.STEP_SECONDS)
    assert made.at(unix_time) == code
    assert totp.unix_time(utc(unix_time)) == unix_time
    step = unix_time // 30
    assert totp.matching_step(RFC_SECRET, code, utc(unix_time), digits=8) == step
    # One step early or late is accepted (as that step), two are not.
    assert totp.matching_step(RFC_SECRET, code, utc(unix_time + 30), digits=8) == step
    if step > 1:  # pyotp refuses a window reaching before 1970 (step -1)
        assert totp.matching_step(RFC_SECRET, code, utc(unix_time - 30), digits=8) == step
    assert totp.matching_step(RFC_SECRET, code, utc(unix_time + 60), digits=8) is None
    assert totp.matching_step(RFC_SECRET, code, utc(unix_time), digits=6) is None


def test_codes_as_typed() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20  # 160 bits
    code = pyotp.TOTP(secret).at(totp.unix_time(NOW))
    step = totp.unix_time(NOW) // 30
    assert totp.matching_step(secret, f" {code[:3]} {code[3:]} ", NOW) == step
    for typed in ("", "12345", "1234567", "abcdef", "１２３４５６", code[:5] + "x"):
        assert totp.matching_step(secret, typed, NOW) is None
    assert totp.provisioning_uri(secret, "alice") == (
        f"otpauth://totp/crmtui:alice?secret={secret}&issuer=crmtui"
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(NOW)
    monkeypatch.setattr(m, "utcnow", clock)
    return clock


def code_at(secret: str, when: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(totp.unix_time(when))


@pytest.fixture
def alice(actor: Actor, clock: Clock, quick_hashes: None) -> tuple[Actor, str]:
    """The admin alice, with two-step verification on; and her secret."""
    accounts.add_user(actor, "alice", "admin", PASSWORD)
    alice = auth.log_in("alice", PASSWORD)
    setup = accounts.start_two_step(alice, "alice")
    assert (setup.user, setup.uri) == ("alice", totp.provisioning_uri(setup.secret, "alice"))
    assert m.User.get(m.User.name == "alice").totp_secret is None  # not before it is confirmed
    enabled = accounts.enable_two_step(alice, "alice", setup.secret, code_at(setup.secret, NOW))
    assert enabled.two_step is True
    return alice, setup.secret


def test_a_login_asks_for_the_code_and_a_code_works_once(
    alice: tuple[Actor, str], clock: Clock
) -> None:
    actor, secret = alice
    with pytest.raises(auth.CodeRequiredError):
        auth.log_in("alice", PASSWORD)
    with pytest.raises(auth.LoginFailedError):
        auth.log_in("alice", PASSWORD + "x")  # a wrong password is refused before any code
    # The code that confirmed the set-up was used: it cannot log in.
    with pytest.raises(auth.LoginFailedError):
        auth.log_in("alice", PASSWORD, code_at(secret, NOW))

    clock.now = NOW + dt.timedelta(seconds=30)
    code = code_at(secret, clock.now)
    assert auth.log_in("alice", PASSWORD, code) == actor
    step = totp.unix_time(clock.now) // 30
    assert m.User.get(m.User.name == "alice").totp_last_step == step
    # Replayed at once, or a little later while it is still within the window: refused.
    for later in (0, 20):
        clock.now = NOW + dt.timedelta(seconds=30 + later)
        with pytest.raises(auth.LoginFailedError):
            auth.log_in("alice", PASSWORD, code)
    # So is an earlier step's code, though within one step of now.
    with pytest.raises(auth.LoginFailedError):
        auth.log_in("alice", PASSWORD, code_at(secret, NOW))
    # The next step's code is accepted a step early (a clock running ahead).
    assert (
        auth.log_in("alice", PASSWORD, code_at(secret, clock.now + dt.timedelta(seconds=30)))
        == actor
    )
    # Refused codes count towards the lock-out like wrong passwords.
    assert m.User.get(m.User.name == "alice").failed_logins == 0  # the success reset them
    with pytest.raises(auth.LoginFailedError):
        auth.log_in("alice", PASSWORD, "000000" if code != "000000" else "111111")
    assert m.User.get(m.User.name == "alice").failed_logins == 1


def test_two_step_set_up_and_turned_off(alice: tuple[Actor, str], clock: Clock) -> None:
    actor, _secret = alice
    with pytest.raises(StoreError, match="two-step verification is on for alice already"):
        accounts.start_two_step(actor, "alice")
    off = accounts.disable_two_step(actor, "alice")
    assert off.two_step is False
    assert auth.log_in("alice", PASSWORD) == actor  # no code asked
    setup = accounts.start_two_step(actor, "alice")
    with pytest.raises(ValidationError, match="code: that is not the code the app shows now"):
        accounts.enable_two_step(actor, "alice", setup.secret, "12345")
    assert m.User.get(m.User.name == "alice").totp_secret is None
    # Without a password there is nothing for a second step to follow.
    m.User.create(name="nopass", role="sales")
    with pytest.raises(StoreError, match="nopass has no password; set one before two-step"):
        accounts.start_two_step(actor, "nopass")
