"""`crmtui audit` and `crmtui audit verify` on each backend."""

import json

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
