"""Every `crmtui` command, run as each role, against one table of who may run it (SPEC F8).

A command that is not in RULES fails `test_every_command_has_a_rule`: adding a command means
deciding who may run it. Each case runs on its own copy of one prepared database (SQLite: the
rules are the store's, which the store tests check on PostgreSQL too), logged in with
`--user`; a refused run must say "may not" and leave the database exactly as it was.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result

from crmtui.cli import main
from crmtui.store import accounts, auth, customers, followups, passwords, timeline, users
from crmtui.store import db as store_db
from crmtui.store import models as m
from tests.cli.test_help import ALL_COMMANDS, _command

ROLES = ("admin", "manager", "sales", "marketing", "readonly")
PASSWORD = "a long enough secret"
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
MANAGERS = frozenset({"admin", "manager"})
WRITERS = frozenset({"admin", "manager", "sales"})
# What a manager reads: customers, their history and follow-ups. Marketing reads customers only.
READERS = EVERYONE - {"marketing"}

# command: (its arguments, the roles that may run it). `{name}` fills in from `_Case.values`.
RULES: dict[str, tuple[list[str], frozenset[str]]] = {
    "audit": ([], ADMIN),
    "audit verify": ([], ADMIN),
    "backup": (["--to", "{dir}/out"], ADMIN),
    "backup keygen": (["-o", "{dir}/new.key"], EVERYONE),  # makes a key file, reads no data
    "backup list": (["--to", "{dir}/backups"], ADMIN),
    # Reads only the file named (which whoever names it can read already), not the database.
    "backup verify": (["{backup}"], EVERYONE),
    "restore": (["{backup}", "--force"], ADMIN),
    "customer add": (["--name", "新客户"], WRITERS),
    "customer delete": (["{mine}", "--yes"], WRITERS),
    "customer edit": (["{mine}", "--city", "北京"], WRITERS),
    "customer history": (["{mine}"], READERS),
    "customer list": ([], EVERYONE),
    "customer show": (["{mine}"], EVERYONE),
    "demo": (["--customers", "5"], ADMIN),
    "doctor": ([], MANAGERS),
    "export": (["customers", "-o", "{dir}/out.csv"], EVERYONE),
    "field add": (["tier", "--label", "Tier"], ADMIN),
    "field list": ([], EVERYONE),
    "field remove": (["region_code"], ADMIN),
    "followup add": (["{mine}", "--due", "+1d", "--title", "回访"], WRITERS),
    "followup done": (["{followup}", "--outcome", "谈妥了"], WRITERS),
    "followup list": ([], READERS),
    "followup reschedule": (["{followup}", "+2d"], WRITERS),
    "followup snooze": (["{followup}", "+1d"], WRITERS),
    "followup wait": (["{followup}", "+1d"], WRITERS),
    "followups": ([], READERS),
    "import customers": (["{dir}/customers.csv"], WRITERS),
    "import purchases": (["{dir}/purchases.csv"], WRITERS),
    "import communications": (["{dir}/communications.csv"], WRITERS),
    "import followups": (["{dir}/followups.csv"], WRITERS),
    "import undo": (["{batch}"], WRITERS),
    "privacy export": (["{mine}"], ADMIN),
    "privacy erase": (["{mine}", "--yes"], ADMIN),
    "reindex": ([], ADMIN),
    "user add": (["newbie", "--role", "sales", "--password-stdin"], ADMIN),
    "user disable": (["other"], ADMIN),
    "user enable": (["other"], ADMIN),
    "user list": ([], EVERYONE),
    "user passwd": (["other", "--password-stdin"], ADMIN),  # another's password
    "user role": (["other", "manager"], ADMIN),
    "user totp disable": (["other"], ADMIN),  # another's two-step verification
    "user totp enable": (["other"], ADMIN),
    "user unlock": (["other"], ADMIN),
}
# Commands that ask for more than the arguments give: only "refused or not" is checked.
INTERACTIVE = {"user totp enable"}
STDIN = {"user add": PASSWORD + "\n", "user passwd": PASSWORD + "\n"}


def _runnable(path: tuple[str, ...]) -> bool:
    command = _command(path)
    return bool(path) and not (
        isinstance(command, click.Group) and not command.invoke_without_command
    )


RUNNABLE = [" ".join(path) for path in ALL_COMMANDS if _runnable(path)]


def test_every_command_has_a_rule() -> None:
    assert sorted(set(RUNNABLE) - set(RULES)) == []
    assert sorted(set(RULES) - set(RUNNABLE)) == []


def _prepare(folder: Path) -> dict[str, str]:
    """A database with a user of each role (and `other`), a customer of the sales user's with
    a purchase and a follow-up, a custom field, an import batch and a backup."""
    db = folder / "crm.db"
    store_db.open_database(str(db))
    accounts.add_user(users.local_actor(), "admin", "admin", PASSWORD)
    boss = auth.log_in("admin", PASSWORD)
    for role in [*ROLES[1:], "sales"]:
        name = "other" if m.User.select().where(m.User.name == role).exists() else role
        accounts.add_user(boss, name, role, PASSWORD)
    mine = customers.add_customer(boss, {"name": "张伟", "owner": "sales"})
    timeline.add_record(
        boss, timeline.PURCHASE, mine.id, {"date": "2025-03-05", "product": "茶", "amount": "9"}
    )
    followup = followups.add_followup(
        boss, mine.id, {"title": "回访", "due_at": "+1d", "assignee": "sales"}
    )
    store_db.close_database()
    (folder / "customers.csv").write_text("name\n王芳\n", encoding="utf-8")
    (folder / "purchases.csv").write_text(
        f"customer_id,date,product,amount\n{mine.id},2025-03-05,茶,10\n", encoding="utf-8"
    )
    (folder / "communications.csv").write_text(
        f"customer_id,at,summary\n{mine.id},2025-03-05 10:00,电话\n", encoding="utf-8"
    )
    (folder / "followups.csv").write_text(
        f"customer_id,due_at,title\n{mine.id},2030-01-01,再联系\n", encoding="utf-8"
    )
    as_sales = {"CRMTUI_PASSWORD": PASSWORD}
    runner = CliRunner()
    for args, env in [
        (["--user", "admin", "field", "add", "region_code"], {"CRMTUI_PASSWORD": PASSWORD}),
        (["--user", "sales", "import", "customers", str(folder / "customers.csv")], as_sales),
        (["--user", "admin", "backup", "--to", str(folder / "backups")], as_sales),
    ]:
        done = runner.invoke(main, ["--db", str(db), *args], env=env, catch_exceptions=False)
        assert done.exit_code == 0, (args, done.output)
    store_db.close_database()
    backup = next((folder / "backups").glob("*.db"))
    return {"mine": str(mine.id), "followup": str(followup.id), "batch": "1",
            "backup": str(backup.relative_to(folder))}  # fmt: skip


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("role-table")
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", str(folder / "home"))  # no real user's config or data
    mp.setenv("CRMTUI_CONFIG", str(folder / "absent.toml"))
    # The quick_hashes fixture's costs, by hand: that fixture is per test, this is not.
    quick = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    mp.setattr(passwords, "_hasher", quick)
    mp.setattr(passwords, "DUMMY_HASH", quick.hash("nobody knows this"))
    values = _prepare(folder)
    yield folder, values
    mp.undo()


def _tables(db: Path) -> dict[str, list[tuple]]:
    store_db.open_database(str(db))
    try:
        return {
            model._meta.table_name: sorted(model.select().tuples(), key=lambda row: row[0])
            for model in m.ALL_MODELS
            if model is not m.AuditEntry and model is not m.AuditHead
        }
    finally:
        store_db.close_database()


def _run(folder: Path, values: dict[str, str], command: str, role: str) -> Result:
    args, _roles = RULES[command]
    filled = [arg.format(dir=folder, **values) for arg in args]
    filled = [str(folder / a) if a == values["backup"] else a for a in filled]
    return CliRunner().invoke(
        main,
        ["--db", str(folder / "crm.db"), "--user", role, *command.split(), *filled],
        input=STDIN.get(command),
        env={"CRMTUI_PASSWORD": PASSWORD},
        catch_exceptions=False,
    )


@pytest.mark.usefixtures("quick_hashes")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("command", sorted(RULES))
def test_the_command_obeys_the_table(
    prepared: tuple[Path, dict[str, str]], tmp_path: Path, command: str, role: str
) -> None:
    base, values = prepared
    folder = tmp_path / "case"
    shutil.copytree(base, folder)
    allowed = role in RULES[command][1]
    before = None if allowed else _tables(folder / "crm.db")
    result = _run(folder, values, command, role)
    refused = "may not" in result.output
    if allowed:
        assert not refused, result.output
        if command not in INTERACTIVE:
            assert result.exit_code == 0, result.output
    else:
        assert refused and result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert _tables(folder / "crm.db") == before
