"""`crmtui doctor` as cron or a person runs it: exit status 0 when healthy, 1 with each problem
and its fix on stderr otherwise."""

import json
import os

from tests.cli.conftest import Run


def test_doctor_exits_1_naming_the_problem_and_its_fix(crm: Run, db_target: str) -> None:
    healthy = crm("doctor")
    assert healthy.exit_code == 0, healthy.stderr
    assert "last backup" in healthy.stdout and healthy.stderr == ""
    report = json.loads(crm("doctor", "--json").stdout)
    assert report["healthy"] is True and report["problems"] == []
    if db_target.startswith("postgresql"):
        return  # the server's files are the server's: no permissions of crmtui's to check
    os.chmod(db_target, 0o644)
    sick = crm("doctor")
    assert sick.exit_code == 1
    [line] = sick.stderr.splitlines()
    assert line.startswith("problem: ") and f"fix: chmod 600 {db_target}" in line
    report = json.loads(crm("doctor", "--json").stdout)
    assert report["healthy"] is False and report["file_mode"] == "0644"
