"""Backups in the age format (age-encryption.org/v1), through pyrage (rage's Rust code).

A backup encrypted here is decrypted by the standard `age` tool without crmtui:
`age -d -i KEYFILE backup.db.age > crm.db`, or `age -d backup.db.age` for a passphrase.

Recipient keys stream: a file of any size passes through in 64 KiB chunks. Passphrase mode
does not: pyrage offers it only on whole byte strings, so the whole file and its encrypted
copy are held in memory; it is refused above PASSPHRASE_LIMIT.
"""

import datetime as dt
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyrage

from crmtui.i18n import _
from crmtui.store.errors import StoreError

AGE_MAGIC = b"age-encryption.org/v1\n"
# Passphrase mode holds the file and its encrypted copy in memory: about twice this at most.
PASSPHRASE_LIMIT = 1 << 30
PASSPHRASE_ENV = "CRMTUI_BACKUP_PASSPHRASE"


class EncryptionError(StoreError):
    """A key, passphrase or encrypted file that cannot be used; the message says why."""


@dataclass(frozen=True)
class Keys:
    """How to encrypt (recipients or a passphrase) or decrypt (identities or a passphrase)."""

    recipients: tuple[str, ...] = ()
    identity_file: Path | None = None
    passphrase: str | None = None


def mode_of(header: bytes) -> str | None:
    """'recipient' or 'passphrase' for an age file starting with `header`; None when the file
    is not encrypted."""
    if not header.startswith(AGE_MAGIC):
        return None
    stanzas = [line for line in header.split(b"\n") if line.startswith(b"-> ")]
    return "passphrase" if any(s.startswith(b"-> scrypt ") for s in stanzas) else "recipient"


def recipients_of(keys: tuple[str, ...]) -> list[pyrage.x25519.Recipient]:
    parsed = []
    for key in keys:
        try:
            parsed.append(pyrage.x25519.Recipient.from_str(key.strip()))
        except (pyrage.RecipientError, ValueError):
            shown = key if len(key) < 80 else key[:20] + "…"
            raise EncryptionError(
                _("{key} is not an age public key (age1…)").format(key=shown)
            ) from None
    return parsed


def identities_of(path: Path) -> list[pyrage.x25519.Identity]:
    """The identities (AGE-SECRET-KEY-1… lines) of an age identity file."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else _("not an age identity file")
        raise EncryptionError(
            _("cannot read identity file {path}: {error}").format(path=path, error=reason)
        ) from None
    identities = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except (pyrage.IdentityError, ValueError):
            raise EncryptionError(
                _("{path} is not an age identity file (AGE-SECRET-KEY-1… lines)").format(path=path)
            ) from None
    if not identities:
        raise EncryptionError(_("{path} holds no age identity").format(path=path))
    return identities


def generate_identity(path: Path) -> str:
    """Write a new identity to `path` (owner-only, never replacing a file) as `age-keygen`
    does; return its public key."""
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    text = f"# created: {created}\n# public key: {public}\n{identity}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise EncryptionError(_("{path} exists; it is not overwritten").format(path=path)) from None
    except OSError as exc:
        raise EncryptionError(
            _("cannot write {path}: {error}").format(path=path, error=exc.strerror)
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    return public


class HashingWriter:
    """Writes to a descriptor, hashing (SHA-256) and counting what passes. An error of its
    own is kept, because pyrage turns it into a generic one."""

    def __init__(self, fd: int, progress: Callable[[int], None] | None = None) -> None:
        self.fd = fd
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.error: OSError | None = None
        self._progress = progress

    def write(self, data: bytes) -> int:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as exc:
            self.error = exc
            raise
        self.sha256.update(data)
        self.size += len(data)
        if self._progress:
            self._progress(self.size)
        return len(data)

    def flush(self) -> None:
        pass


def encrypt_stream(source: BinaryIO, sink: HashingWriter, keys: Keys) -> None:
    """Encrypt everything `source` holds into `sink`, for the recipients or the passphrase."""
    if keys.passphrase is not None:
        data = source.read(PASSPHRASE_LIMIT + 1)
        if len(data) > PASSPHRASE_LIMIT:
            raise EncryptionError(too_large_for_passphrase())
        sink.write(pyrage.passphrase.encrypt(data, keys.passphrase))
        return
    try:
        pyrage.encrypt_io(source, sink, recipients_of(keys.recipients))
    except (pyrage.EncryptError, OSError) as exc:
        if sink.error is not None:
            raise sink.error from None
        raise EncryptionError(_("cannot encrypt: {error}").format(error=exc)) from None


def too_large_for_passphrase() -> str:
    return _(
        "a passphrase-encrypted backup is held in memory whole, so crmtui makes or reads one "
        "only up to {limit} GiB; encrypt for a key instead (crmtui backup keygen)"
    ).format(limit=PASSPHRASE_LIMIT >> 30)


def decrypt_stream(source: BinaryIO, sink: HashingWriter, mode: str, keys: Keys) -> None:
    """Decrypt the age file `source` into `sink`; EncryptionError when the keys do not open
    it or the file is damaged (age authenticates every 64 KiB chunk and the end)."""
    if mode == "passphrase":
        if keys.passphrase is None:
            raise EncryptionError(
                _("this backup is encrypted with a passphrase: set {env} or type it").format(
                    env=PASSPHRASE_ENV
                )
            )
        data = source.read(PASSPHRASE_LIMIT + (1 << 20))
        if len(data) > PASSPHRASE_LIMIT + (1 << 16):
            raise EncryptionError(too_large_for_passphrase())
        try:
            plain = pyrage.passphrase.decrypt(data, keys.passphrase)
        except pyrage.DecryptError:
            raise EncryptionError(
                _("cannot decrypt: wrong passphrase, or the file is damaged")
            ) from None
        sink.write(plain)
        return
    if keys.identity_file is None:
        raise EncryptionError(
            _("this backup is encrypted for a key: name its identity file with --identity")
        )
    identities = identities_of(keys.identity_file)
    try:
        pyrage.decrypt_io(source, sink, identities)
    except (pyrage.DecryptError, OSError, ValueError) as exc:
        if sink.error is not None:
            raise sink.error from None
        if "No matching keys" in str(exc):
            raise EncryptionError(
                _("no identity in {path} can decrypt this backup").format(path=keys.identity_file)
            ) from None
        raise EncryptionError(
            _("cannot decrypt: the file is damaged or incomplete ({error})").format(error=exc)
        ) from None
