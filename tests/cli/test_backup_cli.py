"""`crmtui backup` and `crmtui restore` as cron and a person under pressure use them: JSON for
scripts, exit status 1 with one line for every refusal, and nothing changed by a refused one."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run


def _json(crm: Run, *args: str) -> dict | list:
    result = crm(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _refused(crm: Run, *args: str, match: str) -> None:
    result = crm(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert match in result.stderr, result.stderr


@pytest.fixture
def keyfile(crm: Run, tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "backup-key.txt"
    result = crm("backup", "keygen", "-o", str(path))
    assert result.exit_code == 0, result.stderr
    return path, result.stdout.strip()


def test_keygen_writes_an_owner_only_identity_and_prints_the_public_key(
    crm: Run, keyfile: tuple[Path, str]
) -> None:
    path, public = keyfile
    assert public.startswith("age1") and len(public.splitlines()) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "AGE-SECRET-KEY-1" in path.read_text()
    before = path.read_text()
    _refused(crm, "backup", "keygen", "-o", str(path), match="not overwritten")
    assert path.read_text() == before


def test_backup_verify_list_restore_from_the_command_line(
    crm: Run, tmp_path: Path, keyfile: tuple[Path, str]
) -> None:
    out = tmp_path / "offsite"
    assert crm("customer", "add", "--name", "张伟").exit_code == 0
    made = _json(crm, "backup", "--to", str(out), "--recipient", keyfile[1])
    path = made["path"]
    assert path.endswith(".age") and made["manifest"]["tables"]["customer"] == 1
    assert made["manifest"]["encryption"] == "recipient"

    _refused(crm, "backup", "verify", path, match="--identity")
    report = _json(crm, "backup", "verify", path, "--identity", str(keyfile[0]))
    assert report["ok"] and report["tables"]["customer"] == 1
    listed = _json(crm, "backup", "list", "--to", str(out))
    assert [(b["path"], b["encryption"], bool(b["verified_at"])) for b in listed] == [
        (path, "recipient", True)
    ]

    assert crm("customer", "add", "--name", "Later").exit_code == 0
    wrong = tmp_path / "other-key.txt"
    assert crm("backup", "keygen", "-o", str(wrong)).exit_code == 0
    _refused(crm, "restore", path, "--identity", str(wrong), match="no identity")
    assert len(_json(crm, "customer", "list")) == 2  # a refused restore changed nothing

    restored = _json(crm, "restore", path, "--identity", str(keyfile[0]))
    assert restored["tables"]["customer"] == 1 and restored["safety_copy"]
    assert [c["name"] for c in _json(crm, "customer", "list")] == ["张伟"]


def test_rotation_keeps_the_newest(crm: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    paths = [_json(crm, "backup", "--to", str(out), "--keep", "2")["path"] for _ in range(3)]
    assert [b["path"] for b in _json(crm, "backup", "list", "--to", str(out))] == paths[:0:-1]


def test_passphrase_from_the_environment(
    crm: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMTUI_BACKUP_PASSPHRASE", "correct horse")
    path = _json(crm, "backup", "--to", str(tmp_path / "b"), "--passphrase")["path"]
    assert _json(crm, "backup", "verify", path)["ok"]
    monkeypatch.setenv("CRMTUI_BACKUP_PASSPHRASE", "wrong")
    _refused(crm, "backup", "verify", path, match="wrong passphrase")
    monkeypatch.delenv("CRMTUI_BACKUP_PASSPHRASE")
    _refused(crm, "backup", "verify", path, match="CRMTUI_BACKUP_PASSPHRASE")


def test_the_recipient_comes_from_the_config(
    crm: Run, tmp_path: Path, keyfile: tuple[Path, str]
) -> None:
    config = Path(os.environ["CRMTUI_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[backup]\nrecipient = "{keyfile[1]}"\ndir = "{tmp_path / "cfg"}"\n')
    made = _json(crm, "backup", "--encrypt")
    assert made["path"].startswith(str(tmp_path / "cfg")) and made["path"].endswith(".age")


def test_refusals_are_one_line_and_write_nothing(crm: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    _refused(crm, "backup", "--to", str(out), "--encrypt", match="needs a recipient")
    _refused(crm, "backup", "--to", str(out), "-r", "age1nonsense", match="not an age public key")
    _refused(crm, "backup", "verify", str(tmp_path / "none.db"), match="no such backup file")
    _refused(crm, "restore", str(tmp_path / "none.db"), match="no such backup file")
    assert not out.exists() or list(out.iterdir()) == []
    assert crm("backup", "--keep", "0").exit_code == 2  # a usage error


def test_restore_refuses_while_another_process_has_the_database_open_unless_forced(
    crm: Run, db_target: str, tmp_path: Path
) -> None:
    assert crm("customer", "add", "--name", "Alice").exit_code == 0
    path = _json(crm, "backup", "--to", str(tmp_path / "b"))["path"]
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom crmtui.store import db\ndb.open_database(sys.argv[1])\n"
         "print('open', flush=True)\ntime.sleep(60)", db_target],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        _refused(crm, "restore", path, match="another crmtui process")
        assert _json(crm, "restore", path, "--force")["tables"]["customer"] == 1
    finally:
        holder.kill()
        holder.wait()
