"""`crmtui audit` and `crmtui audit verify` on each backend."""

import json
from pathlib import Path

import pytest

from crmtui.store.db import open_database
from tests.cli.conftest import Run
from tests.tampering import edit_behind_crmtuis_back


def test_audit_lists_what_was_done_newest_first(crm: Run) -> None:
    assert crm("customer", "add", "--name", "张伟").exit_code == 0
    assert crm("customer", "show", "1").exit_code == 0
    listed = crm("audit", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["seq"], r["action"], r["target"]) for r in rows] == [
        (2, "customer.view", "customer:1"),
        (1, "customer.create", "customer:1"),
    ]
    text = crm("audit", "--customer", "1", "--since", "today").output
    assert "customer.view" in text and "customer.create" in text
    assert crm("audit", "--user", "somebody-else").output.strip() == "no audit rows match"


def test_audit_refuses_a_date_it_cannot_read(crm: Run) -> None:
    result = crm("audit", "--since", "yesterday-ish")
    assert result.exit_code == 1
    assert "since" in result.output and "Traceback" not in result.output


def test_verify_passes_then_fails_with_the_row_named(crm: Run, db_target: str) -> None:
    crm("customer", "add", "--name", "王芳")
    crm("customer", "edit", "1", "--city", "北京")
    ok = crm("audit", "verify")
    assert ok.exit_code == 0 and "2 rows, chain intact" in ok.output
    edit_behind_crmtuis_back(db_target, "UPDATE audit_log SET detail = '' WHERE seq = 2")
    tampered = crm("audit", "verify", "--json")
    assert tampered.exit_code == 1
    report = json.loads(tampered.output)
    assert report["ok"] is False
    assert report["problems"] == ["row 2 was changed after it was written"]


def test_verify_holds_the_log_to_the_backups_heads(crm: Run, db_target: str) -> None:
    crm("customer", "add", "--name", "王芳")
    crm("customer", "edit", "1", "--city", "北京")
    made = crm("backup", "--json")
    assert made.exit_code == 0, made.output
    name = Path(json.loads(made.output)["path"]).name
    ok = crm("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "3 rows, chain intact (held to 1 backup's head)" in ok.output
    # Cut back below the backup's head, head and all, so the chain alone looks whole.
    edit_behind_crmtuis_back(db_target, "DELETE FROM audit_log WHERE seq >= 2")
    open_database(db_target)  # as crmtui would next: the dropped triggers are put back
    edit_behind_crmtuis_back(
        db_target,
        "UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_log WHERE seq = 1)",
    )
    cut = crm("audit", "verify", "--json")
    assert cut.exit_code == 1
    report = json.loads(cut.output)
    assert report["backups"] == 1
    assert report["problems"] == [f"row 2, recorded by backup {name}, is not in the log"]


def test_verify_reads_the_backups_in_another_directory(
    crm: Run, db_target: str, tmp_path: Path
) -> None:
    crm("customer", "add", "--name", "王芳")
    offsite = tmp_path / "offsite"
    assert crm("backup", "--to", str(offsite)).exit_code == 0
    # The row the backup recorded, rewritten with its hash made anew: only the backup tells.
    edit_behind_crmtuis_back(
        db_target,
        "UPDATE audit_log SET hash = '" + "0" * 64 + "' WHERE seq = 1",
    )
    plain = crm("audit", "verify", "--json")  # the usual place holds no backup
    assert json.loads(plain.output)["backups"] == 0
    held = crm("audit", "verify", "--backups", str(offsite), "--json")
    assert held.exit_code == 1
    problems = json.loads(held.output)["problems"]
    name = next(p.name for p in offsite.iterdir() if not p.name.endswith(".json"))
    assert f"row 1 differs from the one backup {name} recorded" in problems
    missing = crm("audit", "verify", "--backups", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "does not exist" in missing.output


@pytest.mark.usefixtures("quick_hashes")
def test_a_refused_command_is_in_the_log(crm: Run) -> None:
    boss = {"CRMTUI_PASSWORD": "s3cret-pass"}
    made = crm("user", "add", "boss", "--role", "admin", "--password-stdin", input="s3cret-pass\n")
    assert made.exit_code == 0, made.output
    made = crm(
        "--user",
        "boss",
        "user",
        "add",
        "zhao",
        "--role",
        "readonly",
        "--password-stdin",
        input="zhao-pass-1\n",
        env=boss,
    )
    assert made.exit_code == 0, made.output
    refused = crm("--user", "zhao", "audit", env={"CRMTUI_PASSWORD": "zhao-pass-1"})
    assert refused.exit_code == 1 and "may not read the audit log" in refused.output
    rows = json.loads(crm("--user", "boss", "audit", "--json", env=boss).output)
    assert [(r["user_name"], r["action"]) for r in rows if r["result"] == "refused"] == [
        ("zhao", "audit.read")
    ]
