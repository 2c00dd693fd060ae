"""Which database a command opens: --db, then CRMTUI_DB, then the user data directory."""

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmtui.cli import main


def _add(*args: str) -> None:
    result = CliRunner().invoke(main, [*args, "customer", "add", "--name", "Where"])
    assert result.exit_code == 0, result.stderr


def test_default_database_lives_in_the_user_data_directory_private() -> None:
    _add()
    path = Path(os.environ["XDG_DATA_HOME"]) / "crmtui" / "crmtui.db"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_environment_variable_then_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_env, from_option = tmp_path / "env.db", tmp_path / "option.db"
    monkeypatch.setenv("CRMTUI_DB", str(from_env))
    _add()
    assert from_env.exists() and not from_option.exists()
    _add("--db", str(from_option))
    assert from_option.exists()


@pytest.mark.parametrize(
    "target,hint",
    [
        ("postgresql://crm:s3cret@127.0.0.1:1/crm", "cannot open database"),
        ("/proc/no/such/dir/crm.db", "cannot create database file"),
    ],
)
def test_unusable_database_is_one_readable_line(target: str, hint: str) -> None:
    result = CliRunner().invoke(main, ["--db", target, "customer", "list"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and hint in lines[0]
    assert "s3cret" not in result.stderr  # a password in a URL is never printed
