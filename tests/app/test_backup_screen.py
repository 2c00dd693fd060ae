"""Backing up from the app: `B` runs a backup with a progress bar and says where it went; the
header tells how old the newest backup is, as a warning past 7 days or when there is none."""

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import ProgressBar

from crmtui import config
from crmtui.app import CrmApp
from crmtui.screens.backup import BackupScreen
from crmtui.screens.help import HelpScreen
from crmtui.store import backup as store_backup
from crmtui.store import customers, users
from crmtui.store import models as m
from crmtui.store.types import Actor
from tests.app.screen import notifications, screen_text
from tests.conftest import Clock

SIZE = (80, 24)


class Gate:
    """Holds the real backup at its first progress report until the test has looked at the
    dialog (the backup runs in a thread; without this it may be over before the test looks)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        real = store_backup.create_backup

        def create(actor: Actor, target: str, **options: object) -> store_backup.BackupResult:
            report = options["progress"]
            assert callable(report)

            def held(label: str, done: int, total: int | None) -> None:
                report(label, done, total)
                if not self.reached.is_set():
                    self.reached.set()
                    self.release.wait(30)

            return real(actor, target, **{**options, "progress": held})

        monkeypatch.setattr(store_backup, "create_backup", create)


async def _until(pilot: object, done: Callable[[], bool]) -> None:
    for _step in range(300):
        if done():
            return
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    raise AssertionError("timed out")


def _backups(target: str) -> list[Path]:
    folder = store_backup.default_backup_dir(target)
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def test_b_backs_up_with_a_progress_bar_and_tells_where(
    db: str, actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(200):
        customers.add_customer(actor, {"name": f"Customer {i:03}", "notes": "n" * 200})
    monkeypatch.setattr(store_backup, "_STEP_PAGES", 1)  # many steps, so one is seen mid-way
    gate = Gate(monkeypatch)
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        told = notifications(app)
        await pilot.pause()
        assert "no backup" in app.sub_title
        await pilot.press("B")
        await _until(pilot, gate.reached.is_set)
        await pilot.pause(0.1)
        assert isinstance(app.screen, BackupScreen)
        text = await screen_text(pilot)
        assert "Backing up the database" in text
        bar = app.screen.query_one(ProgressBar)
        if db.startswith("postgresql"):
            assert "dumping:" in text and bar.total is None  # pg_dump's size is not known ahead
        else:
            assert "copying:" in text and " of " in text
            assert bar.total is not None and 0 < bar.progress < bar.total
        assert _backups(db) == []  # nothing under a name until complete

        gate.release.set()
        await _until(pilot, lambda: not isinstance(app.screen, BackupScreen))
        made, manifest = _backups(db)
        assert manifest.name == made.name + store_backup.MANIFEST_SUFFIX
        assert json.loads(manifest.read_text())["tables"]["customer"] == 200
        # The dialog's result reaches the app's callback (which tells) after the dialog is gone.
        await _until(pilot, lambda: bool(told))
        [message] = told
        assert str(made) in message and "KiB" in message
        await pilot.pause()
        assert "backup 0 min ago" in app.sub_title
        assert app._backup_warning is None
    # What the app made is a sound backup, and it restores: no connection the backup's thread
    # opened is left holding the database (on PostgreSQL it would refuse the restore).
    store_backup.verify_backup(made, store_backup.Keys())
    result = store_backup.restore_backup(actor, db, made, store_backup.Keys())
    assert result.tables["customer"] == 200


def _backup_made_at(target: str, actor: Actor, when: dt.datetime) -> None:
    """A backup whose manifest says it was made at `when` (UTC, naive)."""
    made = Path(store_backup.create_backup(actor, target).path)
    path = store_backup.manifest_path(made)
    manifest = json.loads(path.read_text())
    manifest["created_at"] = when.replace(tzinfo=dt.UTC).isoformat()
    path.write_text(json.dumps(manifest))


NOW = dt.datetime(2025, 6, 16, 9, 30)


@pytest.mark.parametrize(
    ("made", "shown", "warning"),
    [
        (NOW - dt.timedelta(days=2, hours=3), "backup 2 d ago", False),
        (NOW - dt.timedelta(hours=5), "backup 5 h ago", False),
        (NOW - dt.timedelta(days=7, hours=1), "backup overdue: 7 d ago", True),
        (None, "no backup", True),
    ],
)
async def test_the_header_tells_the_newest_backups_age(
    sqlite_target: str,
    monkeypatch: pytest.MonkeyPatch,
    made: dt.datetime | None,
    shown: str,
    warning: bool,
) -> None:
    from crmtui.store import db as store_db

    monkeypatch.setattr(m, "utcnow", Clock(NOW))
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    customers.add_customer(actor, {"name": "Kept Safe"})
    if made is not None:
        _backup_made_at(sqlite_target, actor, made - dt.timedelta(days=30))  # an older one
        _backup_made_at(sqlite_target, actor, made)
    app = CrmApp(actor=actor, db_label=sqlite_target)
    async with app.run_test(size=(120, 24)) as pilot:
        text = await screen_text(pilot)
        header = text.splitlines()[0]
        assert shown in header
        title = app.format_title(app.title, app.sub_title)
        start = title.plain.index(shown)
        styles = [str(span.style) for span in title.spans if span.start == start]
        assert ("not dim" in " ".join(styles)) is warning


async def test_a_role_that_may_not_back_up_is_refused(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    users.ensure_users([("wang", "wang", "sales")])
    sales = Actor(users.ensure_users([("wang", "wang", "sales")])["wang"], "wang", "sales")
    app = CrmApp(actor=sales, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        told = notifications(app)
        await pilot.pause()
        assert "backup" not in app.sub_title  # nothing this user could do about it
        await pilot.press("B")
        await pilot.pause()
        assert not isinstance(app.screen, BackupScreen)
        assert told == ["wang may not back up the database: ask an admin"]
    assert _backups(db) == []


async def test_a_backup_that_cannot_be_written_says_why(
    sqlite_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmtui.store import db as store_db

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the backup directory would be")
    settings = tmp_path / "config.toml"
    settings.write_text(f'[backup]\ndir = "{blocker / "backups"}"\n')
    monkeypatch.setenv("CRMTUI_CONFIG", str(settings))
    config.reset_settings()
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    app = CrmApp(actor=actor, db_label=sqlite_target)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("B")
        await _until(pilot, lambda: app.screen.has_class("-failed"))
        text = await screen_text(pilot)
        assert "The backup failed" in text
        assert "cannot make backup directory" in text and "Not a directory" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, BackupScreen)
    assert blocker.read_text().startswith("a file")


async def test_help_and_palette_offer_the_backup(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "Back up the database" in titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        listed = {k.description: k.keys for k in app.screen.keys}
        assert listed["Back up the database"] == "B"
