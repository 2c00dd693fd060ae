"""The follow-up queue screen driven by keys through Pilot on both backends: a queue of mixed
items (overdue, today, later, a recurring follow-up, a quiet key account) triaged by keys
only. Each test checks what the screen shows and what the database holds.

The store's clock is pinned (a Wednesday, 14:00 in Beijing) and the local zone is Beijing's,
so times typed and shown (local) are not the ones stored (UTC).
"""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot

from crmtui.app import CrmApp
from crmtui.screens import queue as queue_screen
from crmtui.screens.customer_detail import CustomerDetailScreen
from crmtui.screens.help import HelpScreen
from crmtui.screens.prompts import ChoiceScreen, TextPromptScreen
from crmtui.screens.queue import QueueScreen, WhyScreen
from crmtui.screens.record_form import RecordFormScreen
from crmtui.store import customers, followups, queue, timeline, users
from crmtui.store import models as m
from crmtui.store.types import Actor
from tests.app.screen import painted_lines, screen_text, type_text
from tests.conftest import local_zone

from .test_customer_detail import notifications

SIZE = (80, 24)
NOW = dt.datetime(2025, 3, 5, 6, 0)  # UTC, a Wednesday: 14:00 in Beijing


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The store's clock at NOW and the local zone eight hours ahead of UTC."""
    monkeypatch.setattr(m, "utcnow", lambda: NOW)  # every store module reads m.utcnow()
    with local_zone("CST-8"):
        yield


@dataclass
class Mixed:
    """The ids of the queue's items."""

    zhang: int  # a key account last contacted 45 days ago: a quiet item
    contract: int  # overdue, high priority
    weekly: int  # overdue by a day, recurring weekly
    call_bob: int  # due today
    review: int  # later
    theirs: int  # wangfang's: not in my queue


def beijing(text: str) -> dt.datetime:
    """A Beijing wall-clock time as stored (naive UTC)."""
    return dt.datetime.fromisoformat(text) - dt.timedelta(hours=8)


@pytest.fixture
def mixed(actor: Actor) -> Mixed:
    users.ensure_users([("wangfang", "王芳", "sales")])
    zhang = customers.add_customer(
        actor, {"name": "张伟", "company": "北京星河科技", "key_account": True, "owner": actor.name}
    )
    timeline.add_record(
        actor,
        timeline.COMMUNICATION,
        zhang.id,
        {"at": NOW - dt.timedelta(days=45), "channel": "call", "summary": "季度回顾"},
    )
    li = customers.add_customer(actor, {"name": "李娜", "owner": actor.name})
    bob = customers.add_customer(actor, {"name": "Bob Jones", "owner": actor.name})

    def add(customer_id: int, title: str, due: str, **values: object) -> int:
        return followups.add_followup(
            actor, customer_id, {"title": title, "due_at": beijing(due), **values}
        ).id

    return Mixed(
        zhang=zhang.id,
        contract=add(li.id, "寄送续约合同", "2025-03-03 10:00", priority="high"),
        weekly=add(bob.id, "Weekly check-in", "2025-03-04 09:00", recurrence="weekly"),
        call_bob=add(bob.id, "Call back Bob", "2025-03-05 16:00"),
        review=add(li.id, "季度回访", "2025-03-20 09:00", priority="low"),
        theirs=add(li.id, "Send samples", "2025-03-04 11:00", assignee="wangfang"),
    )


async def open_queue(pilot: Pilot) -> QueueScreen:
    await pilot.pause()
    await pilot.press("w")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, QueueScreen)
    return screen


async def move_to(pilot: Pilot, screen: QueueScreen, title: str) -> None:
    """Walk the cursor (by keys) to the item titled `title`."""
    await pilot.press("g")
    for _step in range(20):
        current = screen.queue_list.current
        assert current is not None
        if current.title == title:
            return
        await pilot.press("j")
    raise AssertionError(f"no item {title!r} in the queue")


def titles(screen: QueueScreen) -> list[str]:
    return [item.title for item in screen.queue_list.items()]


def open_followup(actor: Actor, followup_id: int) -> followups.FollowUp:
    return followups.get_followup(actor, followup_id)


async def test_w_opens_my_queue_in_sections_and_escape_goes_back(
    db: str, actor: Actor, mixed: Mixed
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        text = await screen_text(pilot)
        assert "My queue (" in text and "Overdue 3 · Today 1 · Next 7 days 0 · Later 1" in text
        lines = painted_lines(screen.queue_list)
        assert lines[0].split() == ["Due", "Customer", "Title", "Kind", "Priority", "Score"]
        assert lines[1].strip() == "Overdue · 3"
        # The quiet key account first (45 days without contact), then by score.
        assert lines[2].startswith(" 2025-02-18 14:00 ★ 张伟")
        assert "no contact for 45 d…" in lines[2] and "quiet key" in lines[2]  # cut at 80
        assert lines[3].startswith(" 2025-03-03 10:00 李娜")
        assert "寄送续约合同" in lines[3] and "high" in lines[3]
        assert "Weekly check-in" in lines[4]
        assert lines[5].strip() == "Today · 1"
        assert lines[6].startswith(" 2025-03-05 16:00 Bob Jones")
        assert lines[7].strip() == "Later · 1"
        assert lines[8].startswith(" 2025-03-20 09:00 李娜")
        assert "Send samples" not in text  # wangfang's
        # Wide characters keep the columns aligned: each score ends in the last column.
        widths = {cell_len(line) for line in (lines[2], lines[3], lines[4], lines[6], lines[8])}
        assert len(widths) == 1
        assert screen.queue_list.current is not None
        assert screen.queue_list.current.kind == "quiet"  # the cursor starts on an item
        # Up from the first item stays on it (headings are not rows to act on).
        await pilot.press("k")
        assert screen.queue_list.current.kind == "quiet"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, QueueScreen)


async def test_done_asks_the_outcome_logs_it_and_moves_to_the_next_item(
    db: str, actor: Actor, mixed: Mixed
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        assert "3 overdue follow-ups" in app.sub_title
        await move_to(pilot, screen, "寄送续约合同")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptScreen)
        await type_text(pilot, "Sent by courier")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert "寄送续约合同" not in await screen_text(pilot)
        assert screen.queue_list.current is not None
        assert screen.queue_list.current.title == "Weekly check-in"  # the next one
        assert "2 overdue follow-ups" in app.sub_title  # the header's count follows

    done = open_followup(actor, mixed.contract)
    assert (done.status, done.outcome) == ("done", "Sent by courier")
    customer_id = done.customer_id
    [logged] = timeline.list_records(actor, timeline.COMMUNICATION, customer_id).rows
    assert (logged.summary, logged.outcome, logged.at) == ("寄送续约合同", "Sent by courier", NOW)


async def test_recurring_done_makes_exactly_one_next_occurrence(
    db: str, actor: Actor, mixed: Mixed
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await move_to(pilot, screen, "Weekly check-in")
        await pilot.press("d")
        await pilot.pause()
        await type_text(pilot, "All fine")
        await pilot.press("enter")
        await pilot.pause()
        text = await screen_text(pilot)
        lines = painted_lines(screen.queue_list)
        # The next one, a week after the last due date, is in the next 7 days.
        week = lines.index(" Next 7 days · 1")
        assert lines[week + 1].startswith(" 2025-03-11 09:00 Bob Jones")
        assert "Weekly check-in" in lines[week + 1]
        assert "Next 7 days 1" in text

    bob_id = open_followup(actor, mixed.weekly).customer_id
    open_ones = followups.list_followups(actor, customer_id=bob_id).rows
    weekly = [f for f in open_ones if f.title == "Weekly check-in"]
    assert len(weekly) == 1
    assert weekly[0].due_at == beijing("2025-03-11 09:00")
    assert weekly[0].recurrence == "weekly"
    assert open_followup(actor, mixed.weekly).status == "done"


async def test_snooze_to_next_monday_from_the_choices(db: str, actor: Actor, mixed: Mixed) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await move_to(pilot, screen, "Call back Bob")
        await pilot.press("s")
        await pilot.pause()
        choice = app.screen
        assert isinstance(choice, ChoiceScreen)
        labels = [label for _value, label in choice.choices]
        assert labels[3] == "next Monday    2025-03-10 09:00"
        assert labels[-1] == "type a date…"
        await pilot.press("down", "down", "down", "enter")
        await pilot.pause()
        assert app.screen is screen
        lines = painted_lines(screen.queue_list)
        week = lines.index(" Next 7 days · 1")
        assert lines[week + 1].startswith(" 2025-03-10 09:00 Bob Jones")
        assert "Today" not in "\n".join(lines)  # nothing left today

    assert open_followup(actor, mixed.call_bob).due_at == beijing("2025-03-10 09:00")


async def test_a_bad_typed_date_is_refused_with_a_message_and_changes_nothing(
    db: str, actor: Actor, mixed: Mixed
) -> None:
    before = open_followup(actor, mixed.call_bob)
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        screen = await open_queue(pilot)
        await move_to(pilot, screen, "Call back Bob")
        for typed, message in (
            ("yesterday", "until: is not in the future"),
            ("someday", "'someday' is not a date crmtui understands"),
        ):
            await pilot.press("s")
            await pilot.pause()
            await pilot.press("end", "enter")  # "type a date…"
            await pilot.pause()
            assert isinstance(app.screen, TextPromptScreen)
            await type_text(pilot, typed)
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is screen
            assert message in seen[-1]
            assert screen.queue_list.current is not None
            assert screen.queue_list.current.title == "Call back Bob"  # still there
        # Reschedule takes a past date (to put right when it was due), but not nonsense.
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "31/31")
        await pilot.press("enter")
        await pilot.pause()
        assert "when:" in seen[-1]

    after = open_followup(actor, mixed.call_bob)
    assert (after.due_at, after.version) == (before.due_at, before.version)


async def test_reschedule_moves_the_item_to_its_section(
    db: str, actor: Actor, mixed: Mixed
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await move_to(pilot, screen, "季度回访")
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "+2d")
        await pilot.press("enter")
        await pilot.pause()
        lines = painted_lines(screen.queue_list)
        assert " Next 7 days · 1" in lines
        assert "Later" not in "\n".join(lines)

    assert open_followup(actor, mixed.review).due_at == beijing("2025-03-07 09:00")


async def test_reassign_and_priority_by_choice(db: str, actor: Actor, mixed: Mixed) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await move_to(pilot, screen, "Call back Bob")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("end", "enter")  # urgent
        await pilot.pause()
        assert screen.queue_list.current is not None
        assert screen.queue_list.current.title == "季度回访"  # the cursor moved on
        await move_to(pilot, screen, "Call back Bob")
        assert "urgent" in painted_lines(screen.queue_list)[screen.queue_list.cursor_row + 1]

        await pilot.press("a")
        await pilot.pause()
        choice = app.screen
        assert isinstance(choice, ChoiceScreen)
        assert [value for value, _label in choice.choices] == sorted([actor.name, "wangfang"])
        await pilot.press(*("down" if actor.name < "wangfang" else "up",), "enter")
        await pilot.pause()
        assert "Call back Bob" not in titles(screen)  # gone from my queue

    moved = open_followup(actor, mixed.call_bob)
    assert (moved.assignee, moved.priority) == ("wangfang", "urgent")


async def test_automatic_items_say_what_clears_them(db: str, actor: Actor, mixed: Mixed) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        screen = await open_queue(pilot)
        assert screen.queue_list.current is not None
        assert screen.queue_list.current.kind == "quiet"
        for key in "dsrap":
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen  # no dialog
            assert "leaves the queue when a communication with 张伟 is logged" in seen[-1]
        assert len(seen) == 5


async def test_why_shows_the_terms_of_the_score(db: str, actor: Actor, mixed: Mixed) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        item = screen.queue_list.current
        assert item is not None and item.kind == "quiet"
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, WhyScreen)
        text = await screen_text(pilot)
        for line in (
            "+170.0  15 days overdue",
            "+10.0   priority normal",
            "+15.0   key account",
            "+9.0    45 days since last contact",
            "204.0   score",
        ):
            assert line in text
        assert item.score == 204.0
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_enter_opens_the_customer_and_n_adds_a_follow_up(
    db: str, actor: Actor, mixed: Mixed
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, CustomerDetailScreen)
        assert detail.customer_id == mixed.zhang
        await pilot.press("w")  # the queue again: back to it, not a second one on top
        await pilot.pause()
        assert app.screen is screen
        assert sum(isinstance(s, QueueScreen) for s in app.screen_stack) == 1

        await pilot.press("n")  # on the quiet key account: a follow-up for 张伟
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RecordFormScreen)
        assert form.customer.id == mixed.zhang
        await type_text(pilot, "Visit")
        await pilot.press("tab", "end", "ctrl+u")
        await type_text(pilot, "2025-03-06 10:00")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        lines = painted_lines(screen.queue_list)
        assert " Next 7 days · 1" in lines
        assert any(line.startswith(" 2025-03-06 10:00 ★ 张伟") for line in lines)

    [added] = followups.list_followups(actor, customer_id=mixed.zhang).rows
    assert (added.title, added.due_at, added.assignee) == (
        "Visit",
        beijing("2025-03-06 10:00"),
        actor.name,
    )


async def test_everyone_and_another_users_queue(db: str, actor: Actor, mixed: Mixed) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await pilot.press("e")
        await pilot.pause()
        text = await screen_text(pilot)
        assert "Everyone's queue · Overdue 4" in text
        assert "Send samples" in titles(screen)
        assert painted_lines(screen.queue_list)[0].split() == [
            "Due",
            "Customer",
            "Title",
            "Assignee",
            "Kind",
            "Priority",
            "Score",
        ]

        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("end", "enter")  # wangfang (sorted after the login name)
        await pilot.pause()
        text = await screen_text(pilot)
        assert "Queue of wangfang · Overdue 1 · Today 0" in text
        assert titles(screen) == ["Send samples"]


async def test_someone_elses_change_meanwhile_is_reported_and_the_queue_reloads(
    db: str, actor: Actor, mixed: Mixed
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        screen = await open_queue(pilot)
        await move_to(pilot, screen, "Call back Bob")
        listed = open_followup(actor, mixed.call_bob)
        followups.update_followup(actor, mixed.call_bob, {"title": "Call Bob now"}, listed.version)
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("end", "enter")
        await pilot.pause()
        assert "was changed by someone else" in seen[-1]
        assert "Call Bob now" in titles(screen)  # read again

    assert open_followup(actor, mixed.call_bob).priority == "normal"


async def test_help_and_palette_list_the_queue_keys(db: str, actor: Actor, mixed: Mixed) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        titles_there = {command.title for command in app.get_system_commands(app.screen)}
        assert "Follow-up queue" in titles_there
        await open_queue(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        listed = {k.description: k.keys for k in help_screen.keys}
        assert [k.description for k in help_screen.keys][:7] == [
            "Back",
            "Done",
            "Snooze",
            "Reschedule",
            "Reassign",
            "Priority",
            "Why",
        ]
        assert listed["Open customer"] == "⏎"  # enter
        assert listed["Everyone's queue"] == "e" and listed["A user's queue"] == "u"
        assert listed["New follow-up"] == "n"


async def test_a_triage_action_reads_the_queue_once(
    db: str, actor: Actor, mixed: Mixed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing the action's dialog and telling the other screens do not read it again (each
    reading is tens of milliseconds on a large queue), while a customer's screen does. The
    header's overdue count comes with that one reading, not from a count of its own."""
    reads: list[str] = []

    def counting(name: str, read: Callable[..., object]) -> Callable[..., object]:
        def counted(*args: object, **options: object) -> object:
            reads.append(name)
            return read(*args, **options)

        return counted

    for name in ("read_queue", "read_section", "list_queue", "count_overdue"):
        monkeypatch.setattr(queue, name, counting(name, getattr(queue, name)))
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        assert "3 overdue follow-ups" in app.sub_title
        await move_to(pilot, screen, "Weekly check-in")
        reads.clear()
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("down", "enter")  # +3 days
        await pilot.pause()
        await pilot.pause()
        assert reads == ["read_queue"]
        [snoozed] = [i for i in screen.queue_list.items() if i.title == "Weekly check-in"]
        assert snoozed.section == "week"
        assert "2 overdue follow-ups" in app.sub_title

        reads.clear()
        await move_to(pilot, screen, "寄送续约合同")
        await pilot.press("enter")  # the customer's screen, then back
        await pilot.pause()
        assert isinstance(app.screen, CustomerDetailScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and reads == ["read_queue"]

        reads.clear()
        await pilot.press("u")  # another user's queue: its count is not the header's
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert screen.user == "wangfang"
        await move_to(pilot, screen, "Send samples")
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        await pilot.pause()
        assert reads == ["read_queue", "read_queue", "count_overdue"]


async def test_the_queue_is_read_a_page_at_a_time(
    db: str, actor: Actor, mixed: Mixed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen opens with the sections' counts and the first items only, and reads the
    rest of a section when it shows it: the same list, in the same order, as read whole."""
    monkeypatch.setattr(queue_screen, "PAGE", 2)
    reads: list[tuple[str, ...]] = []
    read_queue, read_section = queue.read_queue, queue.read_section

    def reading_queue(*args: object, **options: object) -> object:
        reads.append(("read_queue", str(options["first"])))
        return read_queue(*args, **options)  # type: ignore[arg-type]

    def reading_section(actor: Actor, section: str, **options: object) -> object:
        reads.append(("read_section", section, str(options["offset"]), str(options["limit"])))
        return read_section(actor, section, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(queue, "read_queue", reading_queue)
    monkeypatch.setattr(queue, "read_section", reading_section)
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        # The first two items; painting the list reads the third overdue one, then today's
        # and the later one (each section's rest up to the row shown and a page more).
        assert reads == [
            ("read_queue", "2"),
            ("read_section", "overdue", "2", "1"),
            ("read_section", "today", "0", "1"),
            ("read_section", "later", "0", "1"),
        ]
        lines = painted_lines(screen.queue_list)
        assert [line.strip() for line in (lines[1], lines[5], lines[7])] == [
            "Overdue · 3",
            "Today · 1",
            "Later · 1",
        ]
        whole = queue.list_queue(actor)
        assert screen.queue_list.items() == whole
        assert [lines[row][1:17] for row in (2, 3, 4, 6, 8)] == [
            f"{item.due_at + dt.timedelta(hours=8):%Y-%m-%d %H:%M}" for item in whole
        ]

        reads.clear()
        await pilot.press("G", "g")  # everything is read: walking reads nothing more
        assert screen.queue_list.current is not None
        assert screen.queue_list.current.kind == "quiet"
        assert reads == []
