"""The first screen, driven by keys through Textual's Pilot, on each database backend.

Assertions are on what the user sees (the table's rendered lines, the screen's text) and on
what the table asks of the store.
"""

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.message import Message

from crmtui.app import CrmApp, program_name, shell_command, shown_target
from crmtui.config import default_db_path
from crmtui.formatting import fit
from crmtui.store import customers, followups, timeline, users, vocabulary
from crmtui.store.types import Actor, Customer
from crmtui.widgets.customer_table import STAGE_LABELS, CustomerTable, column_widths
from tests.app.screen import screen_text

SIZE = (80, 24)


def table_of(app: App) -> CustomerTable:
    return app.screen.query_one(CustomerTable)


def table_lines(app: App) -> list[str]:
    """The table's lines as painted: the column header, then the visible rows."""
    table = table_of(app)
    return [table.render_line(y).text for y in range(table.size.height)]


def cells_of(line: str, table: CustomerTable) -> list[str]:
    """The text of each column shown in a painted table line."""
    cells, chars = [], iter(line)
    keys = tuple(column.key for column in table.columns)
    for column_width in column_widths(table.scrollable_content_region.width, keys):
        next(chars)  # the blank before each column (the mark, before the first)
        cell, used = "", 0
        while used < column_width:
            char = next(chars)
            cell, used = cell + char, used + cell_len(char)
        cells.append(cell.strip())
    return cells


def add_numbered(actor: Actor, count: int) -> None:
    """`Customer 000` … in a shuffled order, so the table must sort them."""
    for n in sorted(range(count), key=lambda n: (n * 7919) % count):
        customers.add_customer(actor, {"name": f"Customer {n:03d}", "company": f"Firm {n}"})


Fetch = tuple[str, str | None, int]


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> list[Fetch]:
    """Every page the table reads: (how, the name of the customer it walks from, limit).

    `after`/`before` walk the sort order from a customer held (None: from the first or the
    last); `at` reads by position (the OFFSET the table uses only for far jumps).
    """
    calls: list[Fetch] = []

    def record(how: str, real: Callable[..., tuple[Customer, ...]]) -> Callable[..., object]:
        def recording(actor: Actor, query: object, start: Customer | None, *, limit: int):
            calls.append((how, None if start is None else start.name, limit))
            return real(actor, query, start, limit=limit)

        return recording

    def at(actor: Actor, query: object, *, offset: int, limit: int) -> tuple[Customer, ...]:
        calls.append(("at", str(offset), limit))
        return real_at(actor, query, offset=offset, limit=limit)

    real_at = customers.customers_at
    monkeypatch.setattr(customers, "customers_after", record("after", customers.customers_after))
    monkeypatch.setattr(customers, "customers_before", record("before", customers.customers_before))
    monkeypatch.setattr(customers, "customers_at", at)
    return calls


class TableApp(App[None]):
    """Just the table, so a test can choose its page size."""

    def __init__(self, actor: Actor, **options: int) -> None:
        super().__init__()
        self.actor = actor
        self.options = options

    def compose(self) -> ComposeResult:
        yield CustomerTable(self.actor, **self.options)


async def test_empty_database_says_how_to_add_customers(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not table_of(app).display
        words = " ".join((await screen_text(pilot)).split())  # long paths wrap
        assert "No customers yet." in words
        assert "demo --customers 1000" in words
        assert "customer add --name NAME" in words
        message = str(app.screen.query_one("#empty-message").content)
        command = shell_command(db)
        assert f"{command} demo --customers 1000" in message
        assert f"{command} customer add --name NAME" in message
        assert f"{command} import" in message

        # Someone adds a customer from a shell; r shows the table instead of the message.
        customers.add_customer(actor, {"name": "Alice Smith"})
        await pilot.press("r")
        await pilot.pause()
        assert table_of(app).display and table_of(app).has_focus
        assert "No customers yet." not in await screen_text(pilot)
        assert table_lines(app)[1].startswith(" Alice Smith ")


async def test_rows_show_the_columns_sorted_by_name(db: str, actor: Actor) -> None:
    for name, company, phone, stage in [
        ("Charlie Brown", "Peanuts Inc", "139 8765 4321", "active"),
        ("Alice Smith", "Acme", "138 1234 5678", "prospect"),
        ("Bob Jones", "", "+1 415 555 0123", "new"),
    ]:
        customers.add_customer(
            actor,
            {"name": name, "company": company, "phone": phone, "stage": stage, "owner": actor.name},
        )
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        width = table.size.width
        header, *rows = [cells_of(line, table) for line in table_lines(app)]
        assert header == ["Name ▴", "Company", "Phone", "Stage", "Owner", "Last contact"]
        assert rows[:4] == [
            ["Alice Smith", "Acme", "+86 138 1234 5678", "prospect", actor.name, ""],
            ["Bob Jones", "", "+1 415-555-0123", "new", actor.name, ""],
            ["Charlie Brown", "Peanuts Inc", "+86 139 8765 4321", "active", actor.name, ""],
            ["", "", "", "", "", ""],
        ]
        assert all(cell_len(line) == width for line in table_lines(app))


async def test_last_contact_is_shown_in_local_time(
    db: str, actor: Actor, beijing_time: None
) -> None:
    customer = customers.add_customer(actor, {"name": "Alice Smith"})
    timeline.add_record(
        actor,
        timeline.COMMUNICATION,
        customer.id,
        {"at": dt.datetime(2025, 3, 5, 22, 30), "channel": "call", "summary": "Intro call"},
    )
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert table_lines(app)[1].rstrip().endswith("2025-03-06 06:30")


async def test_cursor_keys_move_the_highlighted_row(db: str, actor: Actor) -> None:
    add_numbered(actor, 60)
    messages: list[Message] = []
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.pause()
        table = table_of(app)
        cursor_style = table.get_component_rich_style("paged-list--cursor")

        def highlighted_lines() -> list[int]:
            return [
                y
                for y in range(1, table.size.height)
                if {s.style for s in table.render_line(y)} == {cursor_style}
            ]

        assert table.has_focus
        assert highlighted_lines() == [1]
        await pilot.press("j", "j", "down", "k")
        assert table.cursor_row == 2
        assert highlighted_lines() == [3]
        assert table.render_line(3).text.startswith(" Customer 002 ")

        await pilot.press("pagedown")
        body = table.size.height - 1
        assert table.cursor_row == 2 + body
        assert table_lines(app)[1].startswith(f" Customer {body:03d} ")
        assert highlighted_lines() == [3]
        await pilot.press("pageup", "up", "up", "up")
        assert table.cursor_row == 0  # stops at the first row
        await pilot.press("end")
        assert table.cursor_row == 59
        await pilot.press("home")
        assert table.cursor_row == 0

        # The hook sees a message at each node it bubbles through: count each once.
        posted = list({id(m): m for m in messages}.values())
        moved = [m for m in posted if isinstance(m, CustomerTable.Highlighted)]
        assert moved[-1].customer.name == "Customer 000"
        assert any(m.customer.name == "Customer 059" for m in moved)

        await pilot.press("j", "enter")
        posted = list({id(m): m for m in messages}.values())
        selected = [m for m in posted if isinstance(m, CustomerTable.Selected)]
        assert [(m.index, m.customer.name) for m in selected] == [(1, "Customer 001")]


async def test_G_shows_the_last_customer_fetching_only_what_is_shown(
    db: str, actor: Actor, fetches: list[Fetch]
) -> None:
    add_numbered(actor, 500)
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        assert table.total == 500
        assert "Customer 499" not in await screen_text(pilot)

        await pilot.press("G")
        await pilot.pause()
        assert table.cursor_row == 499
        lines = table_lines(app)
        assert lines[-1].startswith(" Customer 499 ")
        assert lines[1].startswith(f" Customer {500 - (len(lines) - 1):03d} ")
        assert "Customer 499" in await screen_text(pilot)

        await pilot.press("g")
        assert table_lines(app)[1].startswith(" Customer 000 ")

    # Pages of 100: the first, and the last read backwards from the end. Nothing skipped over
    # by position, never the whole list.
    assert fetches == [("after", None, 100), ("before", None, 100)]


async def test_paging_walks_from_the_page_held_and_the_cache_stays_bounded(
    db: str, actor: Actor, fetches: list[Fetch]
) -> None:
    add_numbered(actor, 120)
    # 23 rows on screen touch at most 4 pages of 10: the table keeps those and one to walk
    # from, not the 2 asked for.
    app = TableApp(actor, page_size=10, max_pages=2)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(CustomerTable)
        table.focus()
        for _ in range(8):  # past the end of 120 rows
            await pilot.press("pagedown")
        assert table.cursor_row == 119
        assert table.render_line(table.size.height - 1).text.startswith(" Customer 119 ")
        # Each page once (no refetch while painting), each read after the last row of the
        # page before it.
        assert fetches == [
            ("after", None if page == 0 else f"Customer {page * 10 - 1:03d}", 10)
            for page in range(12)
        ]
        fetches.clear()

        await pilot.press("g")
        await pilot.pause()
        assert table.render_line(1).text.startswith(" Customer 000 ")
    # Only five pages are kept, so the first pages had to be read again.
    assert fetches == [
        ("after", None, 10),
        ("after", "Customer 009", 10),
        ("after", "Customer 019", 10),
    ]


async def test_a_jump_far_from_any_page_held_reads_by_position(
    db: str, actor: Actor, fetches: list[Fetch]
) -> None:
    add_numbered(actor, 300)
    app = TableApp(actor, page_size=10)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(CustomerTable)
        table.focus()
        await pilot.pause()  # the count comes after the first page is painted
        assert table.total == 300
        fetches.clear()
        table.scroll_to(y=150, animate=False)  # as a drag of the scrollbar does
        await pilot.pause()
        assert table.render_line(1).text.startswith(" Customer 150 ")
    # Page 15 is far from the pages held (0–2) and from both ends: one read by position, and
    # the pages after it walked from there.
    assert fetches[0] == ("at", "150", 10)
    assert fetches[1:] == [("after", "Customer 159", 10), ("after", "Customer 169", 10)]


async def test_reloading_far_down_walks_to_the_page_shown(
    db: str, actor: Actor, fetches: list[Fetch]
) -> None:
    add_numbered(actor, 300)
    app = TableApp(actor, page_size=10)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(CustomerTable)
        table.focus()
        await pilot.pause()
        for _ in range(7):
            await pilot.press("pagedown")
        top = table.render_line(1).text
        assert top.startswith(" Customer 161 ")
        customers.delete_customer(actor, table.row_at(0).id)  # someone deletes a row
        fetches.clear()
        table.reload()
        await pilot.pause()
        assert table.total == 299
        # The rows on screen stay where they were; the page is found by walking from the place
        # of its first row, not by position.
        assert table.render_line(1).text == top
        assert [how for how, _start, _limit in fetches] == ["before", "after", "after", "after"]
        assert fetches[:2] == [("before", "Customer 160", 1), ("after", "Customer 159", 10)]


async def test_customers_added_elsewhere_appear_on_reload(db: str, actor: Actor) -> None:
    add_numbered(actor, 60)
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        assert table.total == 60
        for n in range(900, 905):  # another user adds customers that sort last
            customers.add_customer(actor, {"name": f"Customer {n}"})

        # The matches are counted once per query, not per page: the table still shows 60.
        await pilot.press("G")
        assert table.cursor_row == 59
        assert "Customer 900" not in await screen_text(pilot)

        await pilot.press("r")  # counts again and reads the rows afresh
        assert table.total == 65
        assert "65 customers" in await screen_text(pilot)
        await pilot.press("G")
        assert table.cursor_row == 64
        assert table.render_line(table.size.height - 1).text.startswith(" Customer 904 ")


async def test_chinese_names_keep_the_columns_aligned(db: str, actor: Actor) -> None:
    customers.add_customer(
        actor, {"name": "张伟", "company": "北京华信科技有限公司", "phone": "138 1234 5678"}
    )
    customers.add_customer(
        actor, {"name": "Alice Smith", "company": "Acme", "phone": "139 8765 4321"}
    )
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lines = table_lines(app)[1:3]
        assert {line.split()[0] for line in lines} == {"张伟", "Alice"}
        phone_cells = {cell_len(line[: line.index("+86")]) for line in lines}
        assert len(phone_cells) == 1, lines
        assert any("北京华信" in line and "…" in line for line in lines)
        assert {cell_len(line) for line in lines} == {table_of(app).size.width}


async def test_header_shows_the_database_and_overdue_follow_ups(db: str, actor: Actor) -> None:
    customer = customers.add_customer(actor, {"name": "Alice Smith"})
    followups.add_followup(actor, customer.id, {"title": "Call back", "due_at": "2024-01-02 09:00"})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # The admin is told there is no backup yet (tests/app/test_backup_screen.py).
        assert app.sub_title == f"1 overdue follow-up · no backup · {shown_target(db)}"
        followups.add_followup(actor, customer.id, {"title": "Visit", "due_at": "2024-02-03"})
        app.show_status()
        assert app.sub_title.startswith("2 overdue follow-ups · ")
        assert "crmtui — 2 overdue follow-ups · " in (await screen_text(pilot)).splitlines()[0]


async def test_a_role_without_follow_ups_still_opens(db: str, actor: Actor) -> None:
    ids = users.ensure_users([("mkt", "Marketing", "marketing")])
    marketer = Actor(id=ids["mkt"], name="mkt", role="marketing")
    customers.add_customer(actor, {"name": "Alice Smith"})
    app = CrmApp(actor=marketer, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.sub_title == shown_target(db)
        assert table_lines(app)[1].startswith(" Alice Smith ")


async def test_q_quits(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.return_code is None
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.is_running


def test_fit_pads_and_crops_by_terminal_cells() -> None:
    assert fit("张伟", 6) == "张伟  "
    assert fit("北京华信科技有限公司", 12) == "北京华信科… "  # no half of a 2-cell character
    assert fit("Alexander Hamilton", 8) == "Alexand…"
    assert all(
        cell_len(fit(text, width)) == width
        for text in ("北京华信科技", "Acme", "")
        for width in range(1, 14)
    )


def test_every_stage_has_a_label() -> None:
    assert set(STAGE_LABELS) == set(vocabulary.STAGES)


@pytest.mark.parametrize(
    ("target", "shown", "command"),
    [
        ("/data/crm.db", "/data/crm.db", "--db /data/crm.db"),
        ("/data/my crm.db", "/data/my crm.db", "--db '/data/my crm.db'"),
        (
            "postgresql://sales:secret@db.example/crm",
            "postgresql://sales@db.example/crm",
            "--db postgresql://sales@db.example/crm",
        ),
    ],
)
def test_the_database_is_named_without_secrets(target: str, shown: str, command: str) -> None:
    assert shown_target(target) == shown
    assert shell_command(target) == f"{program_name()} {command}"


def test_the_program_is_named_as_the_shell_finds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """After `make run` crmtui is not on the PATH: the hint names the venv's script."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.chdir(Path(sys.executable).parent.parent.parent)
    assert program_name() == str(Path(sys.executable).parent.relative_to(Path.cwd()) / "crmtui")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert program_name() == "crmtui"


def test_the_default_database_needs_no_db_option() -> None:
    default = str(default_db_path())
    assert shell_command(default) == program_name()
    assert shown_target(default) == "~/" + str(Path(default).relative_to(Path.home()))
