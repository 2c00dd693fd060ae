"""The installed `crmtui` in a real terminal (tmux, 80×24): what a user sees, and `q` quits.

The database is a SQLite file filled through the store before the app starts.
"""

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len

from crmtui.store import customers, users
from crmtui.store import db as store_db

TMUX = shutil.which("tmux")
CRMTUI = Path(sys.executable).with_name("crmtui")
DEADLINE_SECONDS = 20

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed: no terminal to drive")


class Terminal:
    """One tmux server of our own (its own socket), with one 80×24 window."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        result = subprocess.run(
            [TMUX, "-L", self.socket, "-f", os.devnull, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=DEADLINE_SECONDS,
        )
        assert result.returncode == 0, f"tmux {args[0]} failed: {result.stderr}"
        return result.stdout

    def start(self, *command: str) -> None:
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "crm", *command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "crm")

    def wait_for(self, seen: Callable[[str], bool], what: str) -> str:
        """The screen once `seen(screen)` holds; fails after the deadline, showing the screen."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            screen = self.screen()
            if seen(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"waited {DEADLINE_SECONDS}s for {what}; the screen shows:\n{screen}")
            time.sleep(0.1)

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "crm", *keys)

    def kill(self) -> None:
        subprocess.run(
            [TMUX, "-L", self.socket, "kill-server"], env=self.env, capture_output=True, check=False
        )


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    # The autouse fixture has already pointed HOME, XDG dirs, the config file and TZ at tmp_path.
    env = {key: value for key, value in os.environ.items() if not key.startswith("TMUX")}
    env.update(TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    term = Terminal(f"crmtui-e2e-{uuid.uuid4().hex}", env)
    yield term
    term.kill()


@pytest.fixture
def filled_db(tmp_path: Path) -> Path:
    path = tmp_path / "crm.db"
    store_db.open_database(str(path))
    actor = users.local_actor()
    for values in [
        {"name": "Zoe Turner", "company": "Acme", "phone": "139 8765 4321", "stage": "active"},
        {"name": "张伟", "company": "北京华信科技有限公司", "phone": "138 1234 5678"},
        {"name": "Alice Smith", "company": "Globex", "phone": "137 0000 1111", "stage": "prospect"},
    ]:
        customers.add_customer(actor, values)
    store_db.close_database()  # the app opens it in its own process
    return path


def test_the_app_shows_the_customers_and_q_quits(
    terminal: Terminal, filled_db: Path, tmp_path: Path
) -> None:
    exit_file = tmp_path / "exit-status"
    # A shell records crmtui's exit status: when the file appears, the process has ended.
    terminal.start(
        "sh", "-c", '"$0" --db "$1"; echo $? > "$2"', str(CRMTUI), str(filled_db), str(exit_file)
    )
    screen = terminal.wait_for(lambda s: "Zoe Turner" in s and "q Quit" in s, "the first screen")
    lines = screen.splitlines()

    assert "crmtui" in lines[0] and "0 overdue follow-ups" in lines[0]
    header = next(i for i, line in enumerate(lines) if "Name" in line and "Phone" in line)
    rows = lines[header + 1 : header + 4]
    assert [row.split()[0] for row in rows] == ["Alice", "Zoe", "张伟"]  # sorted by name
    assert "+86 138 1234 5678" in rows[2] and "北京华信" in rows[2]
    # The phone column starts at the same cell on the Chinese row as on the Latin ones.
    assert len({cell_len(row[: row.index("+86")]) for row in rows}) == 1, rows
    assert "q Quit" in lines[-1]

    terminal.press("j")
    terminal.press("q")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (exit_file.exists() and exit_file.read_text().strip()):
        if time.monotonic() > deadline:
            pytest.fail(f"crmtui still runs after q; the screen shows:\n{terminal.screen()}")
        time.sleep(0.1)
    assert exit_file.read_text().strip() == "0"
