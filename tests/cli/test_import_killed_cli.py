"""`crmtui import` itself, the installed command, killed with SIGKILL while it writes: the next
crmtui to open the database finds it sound and holding none of the import (see
`store.batches`; tests/store/test_import_killed.py kills the store's import at each stage)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw

CRMTUI = Path(sys.executable).with_name("crmtui")
ROWS = 40_000  # about three seconds of writing here: turns enough to be killed between
DEADLINE_SECONDS = 120


def _customers_in_file(path: Path) -> int:
    """Customers in the file, read around crmtui (which would take an unfinished batch back)."""
    connection = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return connection.execute("SELECT count(*) FROM customer").fetchone()[0]
    finally:
        connection.close()


def _crmtui(db: Path, *args: str) -> dict | list:
    result = subprocess.run(
        [str(CRMTUI), "--db", str(db), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_killed_crmtui_import_leaves_none_of_its_rows(tmp_path: Path) -> None:
    sheet = tmp_path / "客户表.csv"
    lines = [f"客户{i},{13800000000 + i},u{i}@example.com" for i in range(ROWS)]
    sheet.write_text("客户名称,手机,邮箱\n" + "\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "crm.db"
    assert _crmtui(db, "doctor")["customers"] == 0  # made before the import starts

    importer = subprocess.Popen(
        [str(CRMTUI), "--db", str(db), "import", "customers", str(sheet)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + DEADLINE_SECONDS
    while _customers_in_file(db) == 0:  # checking, then the first turn's commit
        assert importer.poll() is None, importer.stderr.read()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the import wrote nothing"
        time.sleep(0.02)
    os.kill(importer.pid, signal.SIGKILL)
    importer.wait()

    assert importer.returncode == -signal.SIGKILL
    written = _customers_in_file(db)
    assert 0 < written < ROWS  # killed part-way through its turns
    doctor = _crmtui(db, "doctor")  # opening takes the unfinished batch back
    assert (doctor["integrity"], doctor["customers"]) == ("ok", 0)
    assert _crmtui(db, "customer", "list") == []
    # The same file imports whole afterwards.
    result = subprocess.run(
        [str(CRMTUI), "--db", str(db), "import", "customers", str(sheet), "--json"],
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["created"] == ROWS
