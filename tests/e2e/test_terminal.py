"""The installed `crmtui` in a real terminal (tmux, 80×24): what a user sees and types.

Databases are SQLite files under tmp_path, filled through the store or the command line
before the app starts. The tests wait for what the screen shows, never for a fixed time: keys
sent while the app is still busy with the ones before reach the widget that had the focus then,
so a test types into a field only once the terminal cursor is on it.
"""

import getpass
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest
from rich.cells import cell_len

from crmtui.store import customers, users
from crmtui.store import db as store_db

TMUX = shutil.which("tmux")
CRMTUI = Path(sys.executable).with_name("crmtui")
# Generous: the machine may be shared and slow. Waits poll, so a quick run stays quick.
DEADLINE_SECONDS = 30
POLL_SECONDS = 0.1

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed: no terminal to drive")


class Terminal:
    """One tmux server of our own (its own socket), with one 80×24 window."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env
        self.socket_path: Path | None = None

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
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())

    def start_app(self, db: Path, exit_file: Path) -> None:
        """Run `crmtui --db db`; a shell writes its exit status to `exit_file` when it ends."""
        self.start(
            "sh", "-c", '"$0" --db "$1"; echo $? > "$2"', str(CRMTUI), str(db), str(exit_file)
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "crm")

    def cursor_line(self) -> str:
        """The screen line the terminal cursor is on: the focused text field's line.

        Textual keeps the (hidden) terminal cursor at the cursor of the focused input or text
        area, where an input method would show what is being composed.
        """
        row = int(self.tmux("display-message", "-p", "-t", "crm", "#{cursor_y}"))
        lines = self.screen().splitlines()
        return lines[row] if row < len(lines) else ""

    def wait(self, seen: Callable[[], bool], what: str) -> None:
        """Poll until `seen()` holds; fail after the deadline, showing the screen."""
        if not poll(seen, DEADLINE_SECONDS):
            pytest.fail(
                f"waited {DEADLINE_SECONDS}s for {what}; the screen shows:\n{self.screen()}"
            )

    def wait_for(self, seen: Callable[[str], bool], what: str) -> str:
        """The screen once `seen(screen)` holds; fails after the deadline, showing the screen."""
        shown = ""

        def check() -> bool:
            nonlocal shown
            shown = self.screen()
            return seen(shown)

        self.wait(check, what)
        return shown

    def press(self, *keys: str) -> None:
        """Keys by tmux's names: `j`, `Enter`, `Tab`, `BTab` (shift+tab), `Escape`, `C-s`."""
        self.tmux("send-keys", "-t", "crm", *keys)

    def type(self, text: str) -> None:
        """`text` as typed, character by character (UTF-8: Chinese too), no key names."""
        self.tmux("send-keys", "-t", "crm", "-l", text)

    def wait_for_focus(self, label: str) -> None:
        """Wait until the text cursor is in the form field labelled `label`."""
        self.wait(lambda: field_label(self.cursor_line()) == label, f"the focus in {label!r}")

    def fill(self, label: str, text: str) -> None:
        """Type `text` into the empty field `label` once it has the focus; wait to see it."""
        self.wait_for_focus(label)
        self.type(text)
        self.wait_for(lambda s: field_value(s, label) == text, f"{text!r} in {label!r}")

    def choose(self, label: str, option: str) -> None:
        """Pick `option` in the choice `label` (focused, or about to be) by typing its start.

        A choice shows no text cursor, so the menu's opening is what says it has the focus:
        `Down` opens it, and does nothing in the text field before it if that still has the
        focus; so it is sent again until the menu shows (in the menu, it moves the highlight).
        """

        def menu_open() -> bool:
            return field_row(self.screen(), label).endswith("▲")

        deadline = time.monotonic() + DEADLINE_SECONDS
        while not menu_open():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the menu of {label!r} did not open; the screen shows:\n{self.screen()}"
                )
            self.press("Down")
            poll(menu_open, 2)
        self.type(option[0])  # the menu highlights the first option starting so
        self.press("Enter")
        self.wait_for(
            lambda s: field_row(s, label).endswith("▼") and option in field_row(s, label),
            f"{option!r} chosen in {label!r}",
        )

    def wait_for_exit(self, exit_file: Path) -> str:
        """The app's exit status, once its process has ended."""
        self.wait(
            lambda: exit_file.exists() and bool(exit_file.read_text().strip()), "crmtui to exit"
        )
        return exit_file.read_text().strip()

    def kill(self) -> None:
        subprocess.run(
            [TMUX, "-L", self.socket, "kill-server"], env=self.env, capture_output=True, check=False
        )
        # A server that ended with its last window (the app quit) leaves its socket behind.
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)


def poll(seen: Callable[[], bool], seconds: float) -> bool:
    """Whether `seen()` came to hold within `seconds`, asking every POLL_SECONDS."""
    deadline = time.monotonic() + seconds
    while not seen():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def field_label(line: str) -> str:
    """The label of a form line (label column 20 cells wide, after a blank), required mark off."""
    return line[1:21].strip().removesuffix(" *")


def field_row(screen: str, label: str) -> str:
    """The first form line labelled `label`, without trailing blanks ("" if none)."""
    return next((line.rstrip() for line in screen.splitlines() if field_label(line) == label), "")


def field_value(screen: str, label: str) -> str:
    """The text in the field labelled `label` (up to a wider gap: a date's hint is beside it)."""
    return field_row(screen, label)[21:].strip().split("  ")[0]


def test_keys_typed_ahead_land_in_their_fields(
    terminal: Terminal, filled_db: Path, tmp_path: Path
) -> None:
    """What is typed after tab goes into the next field, however fast it comes."""
    terminal.start_app(filled_db, tmp_path / "exit-status")
    terminal.wait_for(lambda s: "Zoe Turner" in s, "the customer table")
    terminal.press("n")
    terminal.wait_for_focus("Name")
    # One burst, as a fast typist, a paste or a slow SSH connection delivers it: tmux sends
    # text that names no key as it is.
    terminal.press("王小明", "Tab", "上海华信科技", "Tab", "Tab", "138 1234 5678")
    screen = terminal.wait_for(lambda s: "5678" in s, "what was typed")
    shown = {label: field_value(screen, label) for label in ("Name", "Company", "Title", "Phone")}
    assert shown == {
        "Name": "王小明",
        "Company": "上海华信科技",
        "Title": "",
        "Phone": "138 1234 5678",
    }, screen


def table_rows(screen: str) -> list[str]:
    """The customer table's rows: the lines between its header and the footer."""
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if "Name" in line and "Phone" in line)
    return [line for line in lines[header + 1 : -1] if line.strip()]


def crmtui(db: Path, *args: str, env: dict[str, str]) -> Any:
    """Run the installed command line on `db` with `--json`; what it printed, parsed."""
    result = subprocess.run(
        [str(CRMTUI), "--db", str(db), *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )
    assert result.returncode == 0, f"crmtui {' '.join(args)} failed: {result.stderr}"
    return json.loads(result.stdout)


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
    terminal.start_app(filled_db, exit_file)
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
    assert terminal.wait_for_exit(exit_file) == "0"


def test_add_find_open_and_record_a_communication_then_the_cli_shows_it(
    terminal: Terminal, tmp_path: Path
) -> None:
    """Issue 3's acceptance: a customer with a Chinese name, added, found, opened, contacted."""
    db = tmp_path / "crm.db"
    # Others in the table, so that the search has something to leave out: 王小红 shares two
    # characters with the new customer, her company the third.
    for name, company in [("王小红", "明华贸易"), ("张伟", "北京华信科技"), ("Zoe Turner", "Acme")]:
        crmtui(db, "customer", "add", "--name", name, "--company", company, env=terminal.env)
    exit_file = tmp_path / "exit-status"
    terminal.start_app(db, exit_file)
    terminal.wait_for(lambda s: "3 customers" in s and "王小红" in s, "the customer table")

    # A new customer: n opens the form with the focus in Name; tab moves field by field.
    terminal.press("n")
    terminal.wait_for(lambda s: "New customer" in s, "the new customer form")
    terminal.fill("Name", "王小明")
    terminal.press("Tab")
    terminal.fill("Company", "上海华信科技")
    terminal.press("Tab", "Tab")  # past Title
    terminal.fill("Phone", "138 1234 5678")
    terminal.press("Tab", "Tab")  # past Other phone
    terminal.fill("Email", "xm.wang@example.com")
    terminal.press("C-s")
    screen = terminal.wait_for(
        lambda s: "4 customers" in s and "王小明" in s, "the table with the new customer"
    )
    added = next(row for row in table_rows(screen) if "王小明" in row)
    assert "上海华信科技" in added and "+86 138 1234 5678" in added, added

    # Found by typing part of the name: / shows the search line, the focus in it.
    terminal.press("/")
    terminal.wait_for(lambda s: s.splitlines()[1].startswith(" Search name"), "the search line")
    terminal.type("小明")
    screen = terminal.wait_for(lambda s: "1 match · search: 小明" in s, "the search to apply")
    assert [row.split()[0] for row in table_rows(screen)] == ["王小明"], screen
    # Enter leaves the search line (the search stays); enter again opens the customer.
    terminal.press("Enter")
    terminal.wait_for(lambda s: s.splitlines()[1].startswith(" 1 match"), "the search closed")
    terminal.press("Enter")
    screen = terminal.wait_for(lambda s: "王小明 · 上海华信科技" in s, "the customer's screen")
    assert "Phone +86 138 1234 5678" in screen and "Email xm.wang@example.com" in screen, screen

    # A communication: 4 shows the fourth tab, n opens its form, the focus in When.
    terminal.press("4")
    terminal.wait_for(lambda s: "Press n to add a communication" in s, "the communications tab")
    terminal.press("n")
    terminal.wait_for(lambda s: "New communication for 王小明" in s, "the communication form")
    terminal.wait_for_focus("When")
    # It starts as now: clear it, and wait for that (ctrl+u is a key binding, run after the
    # key went round the widgets; letters typed meanwhile would be inserted before it runs).
    terminal.press("C-u")
    terminal.wait_for(lambda s: "YYYY-MM-DD" in field_row(s, "When"), "When cleared")
    terminal.fill("When", "2025/3/5 14:30")
    assert "→ 2025-03-05 14:30" in field_row(terminal.screen(), "When")  # what it will save
    terminal.press("Tab")
    terminal.choose("Channel", "WeChat")
    terminal.press("Tab", "Tab")  # past By, the user it was (you)
    terminal.fill("Summary", "微信沟通报价，客户有意向")
    terminal.press("Tab")
    terminal.fill("Outcome", "下周回访")
    terminal.press("C-s")
    screen = terminal.wait_for(
        lambda s: "New communication" not in s and "下周回访" in s, "the communication listed"
    )
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["When", "Channel"])
    when, time_of_day, channel, by, *rest = lines[header + 1].split()
    assert [when, time_of_day, channel, *rest] == [
        "2025-03-05",
        "14:30",
        "WeChat",
        "微信沟通报价，客户有意向",
        "下周回访",
    ], screen
    assert getpass.getuser().startswith(by.removesuffix("…")), screen  # By: you, maybe cut
    # Each value starts in its column's cell, Chinese or not.
    for title, value in [("Summary", "微信沟通报价"), ("Outcome", "下周回访")]:
        row = lines[header + 1]
        assert cell_len(row[: row.index(value)]) == lines[header].index(title), (title, screen)

    # Back to the table (escape), then q quits.
    terminal.press("Escape")
    terminal.wait_for(lambda s: "1 match · search: 小明" in s, "the customer table again")
    terminal.press("q")
    assert terminal.wait_for_exit(exit_file) == "0"

    # The command line shows what was typed.
    found = crmtui(db, "customer", "list", "--search", "王小明", env=terminal.env)
    assert [c["name"] for c in found] == ["王小明"]
    shown = crmtui(db, "customer", "show", str(found[0]["id"]), env=terminal.env)
    assert {k: shown[k] for k in ("name", "company", "phone", "phone_raw", "email")} == {
        "name": "王小明",
        "company": "上海华信科技",
        "phone": "+8613812345678",
        "phone_raw": "138 1234 5678",
        "email": "xm.wang@example.com",
    }
    # The communication: no command lists communications; the customer's last contact is its
    # time (TZ is UTC here, so local time is stored as typed), and history has its creation.
    assert shown["last_contact_at"] == "2025-03-05T14:30:00"
    history = crmtui(db, "customer", "history", str(shown["id"]), env=terminal.env)
    created = [e for e in history if e["entity"] == "communication" and e["action"] == "create"]
    assert len(created) == 1, history
    # What it holds, read from the file itself (read-only).
    connection = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        rows = connection.execute(
            "SELECT at, channel, summary, outcome, user.name FROM communication"
            " JOIN user ON user.id = communication.user_id WHERE customer_id = ?",
            (shown["id"],),
        ).fetchall()
    finally:
        connection.close()
    assert len(rows) == 1, rows
    at, channel, summary, outcome, by = rows[0]
    assert (str(at)[:16], channel, summary, outcome, by) == (
        "2025-03-05 14:30",
        "wechat",
        "微信沟通报价，客户有意向",
        "下周回访",
        getpass.getuser(),
    )


def test_an_import_shows_its_rate_on_a_terminal_and_nothing_in_a_pipe(
    terminal: Terminal, tmp_path: Path
) -> None:
    sheet = tmp_path / "客户表.csv"
    lines = [f"客户{i},{13800000000 + i},u{i}@example.com" for i in range(40_000)]
    sheet.write_text("客户名称,手机,邮箱\n" + "\n".join(lines) + "\n", encoding="gb18030")
    exit_file = tmp_path / "exit-status"
    terminal.start(
        "sh",
        "-c",
        '"$0" --db "$1" import customers "$2"; echo $? > "$3"; sleep 60',
        str(CRMTUI),
        str(tmp_path / "terminal.db"),
        str(sheet),
        str(exit_file),
    )

    bar = terminal.wait_for(lambda s: "rows/s" in s, "the progress bar's rate")
    assert "Checking rows" in bar or "Writing customers" in bar, bar
    assert terminal.wait_for_exit(exit_file) == "0"
    # The bars are gone once done: the summary is what stays.
    done = terminal.screen()
    assert "Imported batch 1: created 40,000" in done and "rows/s" not in done, done

    piped = subprocess.run(
        [str(CRMTUI), "--db", str(tmp_path / "piped.db"), "import", "customers", str(sheet)],
        env=terminal.env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS * 4,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("Imported batch 1: created 40,000"), piped.stdout
    assert "rows/s" not in piped.stdout + piped.stderr and "\x1b[" not in piped.stderr
