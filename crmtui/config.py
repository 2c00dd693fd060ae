"""Settings and paths: where the database and the config file live.

The database is chosen by `--db`, then `CRMTUI_DB`, then a file in the user data directory.
The config file (TOML) is `CRMTUI_CONFIG` or `config.toml` in the user config directory.
"""

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from crmtui.i18n import _

APP_NAME = "crmtui"


class ConfigError(Exception):
    """The config file cannot be read or holds a bad value."""


@dataclass(frozen=True)
class Settings:
    default_region: str = "CN"
    default_currency: str = "CNY"
    # A key account with no communication for this many days appears in the follow-up queue.
    quiet_days: int = 30
    # [backup]: the age public keys `crmtui backup --encrypt` encrypts for, and where backups
    # go when `--to` is not given (None: beside the database).
    backup_recipients: tuple[str, ...] = ()
    backup_dir: str | None = None


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "crmtui.db"


def config_path() -> Path:
    env = os.environ.get("CRMTUI_CONFIG")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def resolve_db_target(option: str | None) -> str:
    """The database the user asked for: a file path or a `postgresql://` URL."""
    return option or os.environ.get("CRMTUI_DB") or str(default_db_path())


def load_settings(path: Path | None = None) -> Settings:
    path = path or config_path()
    if not path.exists():
        return Settings()
    import tomllib  # here, not at the top: most users have no config file (start-up time)

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            _("cannot read config file {path}: {error}").format(path=path, error=exc)
        ) from exc
    region = str(data.get("phone", {}).get("default_region", Settings.default_region)).upper()
    currency = str(data.get("money", {}).get("default_currency", Settings.default_currency))
    quiet_days = data.get("queue", {}).get("quiet_days", Settings.quiet_days)
    # bool is an int in Python; `quiet_days = true` is a mistake, not one day.
    if isinstance(quiet_days, bool) or not isinstance(quiet_days, int) or quiet_days < 1:
        raise ConfigError(
            _("{path}: [queue] quiet_days must be a whole number of days, 1 or more").format(
                path=path
            )
        )
    backup = data.get("backup", {})
    recipients = backup.get("recipient", [])
    recipients = [recipients] if isinstance(recipients, str) else recipients
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise ConfigError(
            _("{path}: [backup] recipient must be an age public key or a list of them").format(
                path=path
            )
        )
    backup_dir = backup.get("dir")
    if backup_dir is not None and not isinstance(backup_dir, str):
        raise ConfigError(_("{path}: [backup] dir must be a path").format(path=path))
    return Settings(
        default_region=region,
        default_currency=currency.upper(),
        quiet_days=quiet_days,
        backup_recipients=tuple(recipients),
        backup_dir=str(Path(backup_dir).expanduser()) if backup_dir else None,
    )


_settings: Settings | None = None


def current_settings() -> Settings:
    """The settings of this process, read from the config file once."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def override_settings(**changes: object) -> None:
    """Change settings for the rest of this process: a command's options over the file's."""
    global _settings
    _settings = replace(current_settings(), **changes)  # type: ignore[arg-type]


def reset_settings() -> None:
    """Forget the settings read, so the next use reads the config file again."""
    global _settings
    _settings = None


# An import's `--region` holds for the import alone: a ContextVar, so that an import running in
# the TUI's worker thread leaves the phones the user saves meanwhile to the configured region.
_region_here: ContextVar[str | None] = ContextVar("crmtui_phone_region", default=None)


def phone_region() -> str:
    """The region of phone numbers typed without a country code, here and now."""
    return _region_here.get() or current_settings().default_region


@contextlib.contextmanager
def reading_phones_as(region: str | None) -> Iterator[None]:
    """Read phones without a country code in `region` (None: as configured) in this thread or
    task, for the length of the block."""
    token = _region_here.set(region.upper() if region else None)
    try:
        yield
    finally:
        _region_here.reset(token)
