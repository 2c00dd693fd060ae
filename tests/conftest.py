"""Shared fixtures: isolated paths for every test, and real databases on both backends.

`db` is parametrized over SQLite (a file under tmp_path) and PostgreSQL (a fresh schema in the
server named by CRMTUI_TEST_PG; skipped, with that reason, when the variable is unset).
"""

import contextlib
import datetime as dt
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from crmtui import config
from crmtui.store import db as store_db
from crmtui.store import users
from crmtui.store.types import Actor

PG_URL = os.environ.get("CRMTUI_TEST_PG", "")
PG_SKIP_REASON = "CRMTUI_TEST_PG is unset: no PostgreSQL server to test against"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--snapshot-update",
        action="store_true",
        help="write the app's screen snapshots (tests/app/__snapshots__) instead of comparing",
    )


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test away from the real user's data, config and database."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("CRMTUI_CONFIG", str(home / "config" / "crmtui" / "config.toml"))
    monkeypatch.setenv("TZ", "UTC")
    for variable in ("CRMTUI_DB", "CRMTUI_USER", "CRMTUI_PASSWORD", "CRMTUI_TOTP"):
        monkeypatch.delenv(variable, raising=False)
    config.reset_settings()
    yield
    store_db.close_database()
    config.reset_settings()


class Clock:
    """A clock for `crmtui.store.models.utcnow` (every store module reads the time there),
    set by the test: `monkeypatch.setattr(m, "utcnow", Clock(NOW))`, then `clock.now = …`."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@contextlib.contextmanager
def local_zone(name: str) -> Iterator[None]:
    """Run in the local time zone `name` (the C library's, as the app reads it), e.g. a POSIX
    rule like `CST-8` that needs no time zone database."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture
def beijing_time() -> Iterator[None]:
    """Local time eight hours ahead of UTC, so a UTC value shown as local time would show."""
    with local_zone("CST-8"):
        yield


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_target() -> Iterator[str]:
    """A URL whose connections see only a new, empty schema, dropped afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield _with_search_path(PG_URL, schema)
    store_db.close_database()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_target(tmp_path: Path) -> str:
    return str(tmp_path / "crm.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest) -> str:
    """A database path or URL, once per backend."""
    fixture = "sqlite_target" if request.param == "sqlite" else "pg_target"
    return request.getfixturevalue(fixture)


@pytest.fixture
def db(db_target: str) -> Iterator[str]:
    """An open, empty crmtui database on each backend; yields its target."""
    store_db.open_database(db_target)
    yield db_target
    store_db.close_database()


@pytest.fixture
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Password hashes with argon2id's smallest costs (under a millisecond, where the defaults
    take 50 ms and more on a busy machine), for the tests about logins rather than hashing;
    the dummy hash changes with them, so every attempt still verifies one hash.
    tests/store/test_login.py checks the real hasher."""
    from argon2 import PasswordHasher

    from crmtui.store import passwords

    quick = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", quick)
    monkeypatch.setattr(passwords, "DUMMY_HASH", quick.hash("nobody knows this"))


@pytest.fixture
def actor(db: str) -> Actor:
    """The single-user-mode admin acting in the store."""
    return users.local_actor()
