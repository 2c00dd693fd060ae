"""Passwords: the rules a new one must meet, and their argon2id hashes.

A password is only ever held in memory: the database keeps its argon2id hash (argon2-cffi's
defaults, RFC 9106's low-memory profile), and no message or log names it.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crmtui.i18n import _
from crmtui.store.errors import ValidationError

MIN_LENGTH = 10
# Long enough for any passphrase; the bound keeps a pasted book from being hashed.
MAX_LENGTH = 256

_hasher = PasswordHasher()

# A hash of a random password nobody knows, made with the hasher's parameters. A login for a
# user without a hash verifies against it, so it takes as long as a real one and the time
# does not tell which user names exist. Kept as a constant rather than made at start: making
# it would take a hash's time more on the first login of each process, which would tell too.
# (tests/store/test_login.py checks that it has the hasher's parameters.)
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$mTZ2nRWPs4ZzrgzEY1mY9A"
    "$ONoazalY3M3RqI9Us2XKaeFNWL6F+VkSWN8S5eVpXkA"
)


def rules() -> str:
    """The rules a new password must meet, as a sentence for users."""
    return _(
        "a password needs at least {min} characters (at most {max}; any letters, digits, "
        "spaces or symbols), must not be the user name, and must not be one character repeated"
    ).format(min=MIN_LENGTH, max=MAX_LENGTH)


def check_rules(password: str, user_name: str) -> None:
    """Refuse a new password that breaks the rules, saying what they are."""
    broken = (
        not MIN_LENGTH <= len(password) <= MAX_LENGTH
        or password.strip().casefold() == user_name.strip().casefold()
        or len(set(password)) == 1
    )
    if broken:
        raise ValidationError.single("password", rules())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; with no hash, False, in the same time."""
    try:
        return _hasher.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker (or other) parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
