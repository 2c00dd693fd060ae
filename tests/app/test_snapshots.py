"""Snapshots of the main screens at 80×24 and 120×40: the customer table (and the help and the
import dialog over it), a customer's detail screen (overview, communications, history), the
customer form (as opened, and refusing a bad email at its field), the follow-up queue and its
"why" dialog.

Each screen is compared with the SVG kept in `__snapshots__/test_snapshots/`; after a change
meant to alter a screen, `pytest tests/app/test_snapshots.py --snapshot-update` writes them
anew (look at them before committing). One snapshot serves both backends.

What a screen shows must not depend on when, where or by whom the tests run, so the fixtures
pin it all: the store's clock (history times, `updated_at`, which follow-ups are overdue), the
creation times the database fills in, the time zone, the login name that becomes the acting
user, the database name in the header, and the theme and colours a developer's environment
may ask for. Every date in the data is explicit. The data has Chinese names and companies, so
the columns are checked to stay aligned with wide characters.
"""

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
from textual.pilot import Pilot

from crmtui.app import DARK_THEME, CrmApp
from crmtui.screens.customer_detail import CustomerDetailScreen
from crmtui.screens.customer_form import CustomerFormScreen
from crmtui.screens.customers import CustomersScreen
from crmtui.screens.help import HelpScreen
from crmtui.screens.import_dialog import ImportScreen
from crmtui.screens.queue import QueueScreen, WhyScreen
from crmtui.store import custom_fields, customers, followups, timeline, users
from crmtui.store import models as m
from crmtui.store.types import Actor, Customer
from crmtui.widgets import customer_table
from tests.conftest import Clock

SnapCompare = Callable[..., Awaitable[bool]]  # the fixture of tests/app/conftest.py
SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])

# A Monday long before these tests were written: no date below is near the real clock.
NOW = dt.datetime(2025, 6, 16, 9, 30)
CREATED = dt.datetime(2025, 3, 3, 8, 0)
USER = "lihua"
DB_LABEL = "~/crm/customers.db"


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """The clock, the zone, the user name and the colours, before the database is filled."""
    clock = Clock(NOW)
    monkeypatch.setattr(m, "utcnow", clock)  # every store module reads the time as m.utcnow()
    monkeypatch.setenv("LOGNAME", USER)  # getpass.getuser(): the local actor's name
    monkeypatch.delenv("NO_COLOR", raising=False)  # a developer's terminal preference
    # `isolated_paths` set TZ=UTC in the environment; the C library reads it on tzset().
    time.tzset()
    customer_table._time.cache_clear()  # texts cached in another test's time zone
    yield clock
    customer_table._time.cache_clear()


@pytest.fixture
def team(actor: Actor) -> Actor:
    """The acting admin and two salespeople."""
    assert actor.name == USER
    users.ensure_users([("wangfang", "王芳", "sales"), ("liuyang", "刘洋", "sales")])
    return actor


def pin_creation_times() -> None:
    """Creation and last-change times the database filled in from the real clock."""
    m.Customer.update(created_at=CREATED).execute()
    m.Customer.update(updated_at=CREATED).where(m.Customer.version == 1).execute()


def contacted(actor: Actor, customer: Customer, at: str, channel: str, summary: str) -> None:
    timeline.add_record(
        actor,
        timeline.COMMUNICATION,
        customer.id,
        {"at": at, "channel": channel, "summary": summary},
    )


@pytest.fixture
def customer_list(team: Actor, pinned: Clock) -> dict[str, Customer]:
    """Ten customers, Latin and Chinese, of every stage; each name sorts alike in any
    collation (no accented or lower-case first letter)."""
    pinned.now = CREATED
    rows = [
        {
            "name": "张伟",
            "company": "北京星河科技有限公司",
            "phone": "13812345678",
            "email": "zhang.wei@xinghe.cn",
            "stage": "active",
            "owner": USER,
            "key_account": True,
            "tags": ["vip", "重点"],
        },
        {
            "name": "王芳",
            "company": "上海华信贸易有限公司",
            "phone": "139 8765 4321",
            "email": "wangfang@huaxin.com.cn",
            "stage": "prospect",
            "owner": "wangfang",
        },
        {
            "name": "欧阳娜娜",
            "company": "深圳前海数码科技股份有限公司华南区域销售中心",
            "phone": "+86 186 1234 5678",
            "stage": "new",
            "owner": "liuyang",
            "tags": ["展会"],
        },
        {"name": "陈静", "email": "chenjing@163.com", "stage": "dormant", "owner": "wangfang"},
        {
            "name": "赵磊",
            "company": "成都天府软件园",
            "phone": "028 8512 3456",
            "stage": "churned",
            "owner": "liuyang",
        },
        {
            "name": "田中宏",
            "company": "東京精密株式会社",
            "phone": "+81 90 1234 5678",
            "stage": "active",
            "owner": USER,
        },
        {
            "name": "Bob Jones",
            "company": "Acme Corporation",
            "phone": "+1 650 253 0000",
            "email": "bob.jones@acme.example",
            "stage": "active",
            "owner": "liuyang",
            "tags": ["wholesale"],
        },
        {
            "name": "Chloé Martin",
            "company": "Café Lumière",
            "phone": "+33 6 12 34 56 78",
            "stage": "prospect",
        },
        {
            "name": "María García López",
            "company": "Iberia Foods S.L.",
            "phone": "+34 612 345 678",
            "email": "maria@iberiafoods.example",
            "stage": "active",
            "owner": "wangfang",
        },
        {"name": "Wang Xiaoming", "company": "Evergreen Trading Ltd.", "stage": "new"},
    ]
    made = {row["name"]: customers.add_customer(team, row) for row in rows}
    for name, at, channel, summary in (
        ("张伟", "2025-06-12 14:30", "wechat", "确认第二季度订单"),
        ("王芳", "2025-06-03 10:00", "call", "介绍新产品线"),
        ("Bob Jones", "2025-05-20 16:45", "email", "Sent the price list"),
        ("田中宏", "2025-04-28 09:15", "meeting", "東京で打ち合わせ"),
    ):
        contacted(team, made[name], at, channel, summary)
    pin_creation_times()
    pinned.now = NOW
    return made


@pytest.fixture
def zhang_wei(team: Actor, pinned: Clock) -> Customer:
    """One customer with records in every tab and a history of changes made over months."""
    pinned.now = CREATED
    custom_fields.define_field(team, "industry", "行业", "choice", ("制造", "零售", "软件"))
    customer = customers.add_customer(
        team,
        {
            "name": "张伟",
            "company": "北京星河科技有限公司",
            "title": "采购经理",
            "phone": "13812345678",
            "alt_phone": "010 6552 8888",
            "email": "Zhang.Wei@XingHe.CN",
            "stage": "prospect",
            "owner": "wangfang",
            "address": "朝阳区建国路 88 号",
            "city": "北京",
            "country": "CN",
            "source": "展会",
            "preferred_channel": "wechat",
            "needs": "每季度采购办公设备，关注售后响应速度",
            "marketing_consent": True,
            "consent_source": "官网表单",
            "consent_date": "2025-03-03",
            "custom": {"industry": "软件"},
        },
    )
    records = (
        ("2025-03-10 11:00", timeline.CONTACT, {"name": "李静", "title": "财务", "primary": True}),
        (
            "2025-03-10 11:05",
            timeline.CONTACT,
            {"name": "Kevin Liu", "title": "IT lead", "email": "kevin.liu@xinghe.cn"},
        ),
        (
            "2025-03-20 15:00",
            timeline.PURCHASE,
            {"date": "2025-03-20", "product": "激光打印机 X200", "quantity": 4, "amount": "12800"},
        ),
        (
            "2025-05-08 10:20",
            timeline.PURCHASE,
            {"date": "2025-05-08", "product": "Toner cartridges", "amount": "2399.50"},
        ),
        (
            "2025-03-12 09:40",
            timeline.COMMUNICATION,
            {
                "at": "2025-03-12 09:30",
                "channel": "visit",
                "summary": "上门拜访，了解采购流程和预算审批时间",
                "outcome": "下周发报价",
            },
        ),
        (
            "2025-04-02 16:10",
            timeline.COMMUNICATION,
            {
                "at": "2025-04-02 16:00",
                "channel": "email",
                "summary": "Sent the quotation for 4 printers and a service plan",
            },
        ),
        (
            "2025-06-12 14:35",
            timeline.COMMUNICATION,
            {
                "at": "2025-06-12 14:30",
                "channel": "wechat",
                "summary": "确认第二季度订单",
                "outcome": "客户满意",
            },
        ),
        (
            "2025-05-15 13:00",
            timeline.SERVICE,
            {"kind": "support", "title": "打印机卡纸", "opened_on": "2025-05-15"},
        ),
        (
            "2025-05-30 17:00",
            timeline.FEEDBACK,
            {"date": "2025-05-30", "score": 4, "comment": "响应很快"},
        ),
    )
    for at, kind, values in records:
        pinned.now = dt.datetime.fromisoformat(at)
        timeline.add_record(team, kind, customer.id, values)
    pinned.now = dt.datetime(2025, 5, 9, 9, 0)
    customer = customers.update_customer(
        team,
        customer.id,
        {"stage": "active", "owner": USER, "key_account": True, "tags": ["vip", "重点"]},
        customer.version,
    )
    pinned.now = dt.datetime(2025, 6, 2, 10, 0)
    for due, title in (("2025-06-13 10:00", "寄送续约合同"), ("2025-06-20 09:00", "Renewal call")):
        followups.add_followup(team, customer.id, {"due_at": due, "title": title})
    pinned.now = dt.datetime(2025, 6, 10, 11, 30)
    customers.update_customer(team, customer.id, {"title": "采购总监"}, customer.version)
    pin_creation_times()
    pinned.now = NOW
    return customers.get_customer(team, customer.id)


def crm_app(actor: Actor) -> CrmApp:
    app = CrmApp(actor=actor, db_label=DB_LABEL)
    app.theme = DARK_THEME  # the default, whatever TEXTUAL_THEME a developer has set
    return app


async def open_first_customer(pilot: Pilot) -> CustomerDetailScreen:
    await pilot.press("enter")
    await pilot.pause()
    detail = pilot.app.screen
    assert isinstance(detail, CustomerDetailScreen)
    return detail


async def edit_first_customer(pilot: Pilot) -> CustomerFormScreen:
    await pilot.press("e")
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, CustomerFormScreen)
    return form


@SIZES
async def test_customer_table(
    db: str,
    team: Actor,
    customer_list: dict[str, Customer],
    snap_compare: SnapCompare,
    size: tuple[int, int],
) -> None:
    async def opened(pilot: Pilot) -> None:
        assert isinstance(pilot.app.screen, CustomersScreen)

    assert await snap_compare(crm_app(team), terminal_size=size, run_before=opened)


@SIZES
async def test_help_over_the_customer_table(
    db: str,
    team: Actor,
    customer_list: dict[str, Customer],
    snap_compare: SnapCompare,
    size: tuple[int, int],
) -> None:
    async def run_before(pilot: Pilot) -> None:
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)

    assert await snap_compare(crm_app(team), terminal_size=size, run_before=run_before)


@SIZES
async def test_import_dialog_over_the_customer_table(
    db: str,
    team: Actor,
    customer_list: dict[str, Customer],
    snap_compare: SnapCompare,
    size: tuple[int, int],
) -> None:
    async def run_before(pilot: Pilot) -> None:
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ImportScreen)

    assert await snap_compare(crm_app(team), terminal_size=size, run_before=run_before)


@SIZES
@pytest.mark.parametrize(
    ("tab", "key"), [("overview", ""), ("communications", "4"), ("history", "8")]
)
async def test_customer_detail(
    db: str,
    team: Actor,
    zhang_wei: Customer,
    snap_compare: SnapCompare,
    size: tuple[int, int],
    tab: str,
    key: str,
) -> None:
    async def run_before(pilot: Pilot) -> None:
        detail = await open_first_customer(pilot)
        if key:
            await pilot.press(key)
        assert detail.tabs.active == tab

    assert await snap_compare(crm_app(team), terminal_size=size, name=tab, run_before=run_before)


@SIZES
async def test_customer_edit_form(
    db: str, team: Actor, zhang_wei: Customer, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot) -> None:
        await edit_first_customer(pilot)

    assert await snap_compare(crm_app(team), terminal_size=size, run_before=run_before)


@SIZES
async def test_customer_form_refusing_a_bad_email(
    db: str, team: Actor, zhang_wei: Customer, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot) -> None:
        form = await edit_first_customer(pilot)
        form.row("email").focus_editor()
        await pilot.press("end", "ctrl+u", *"zhang.wei@", "ctrl+s")
        await pilot.pause()
        assert pilot.app.screen is form  # refused: the form stays open
        assert "not a valid email address" in form.row("email").problem

    assert await snap_compare(crm_app(team), terminal_size=size, run_before=run_before)
    assert customers.get_customer(team, zhang_wei.id).email == "zhang.wei@xinghe.cn"


@pytest.fixture
def queue_items(team: Actor, customer_list: dict[str, Customer], pinned: Clock) -> None:
    """Follow-ups of every section for the acting user (one recurring, one urgent), one of
    another user's, and a quiet key account (田中宏, last contacted seven weeks ago)."""
    pinned.now = dt.datetime(2025, 6, 2, 10, 0)
    tanaka = customer_list["田中宏"]
    customers.update_customer(team, tanaka.id, {"key_account": True}, tanaka.version)
    for name, due, title, extra in (
        ("张伟", "2025-06-13 10:00", "寄送续约合同", {"priority": "high"}),
        ("Bob Jones", "2025-06-16 08:00", "Weekly check-in", {"recurrence": "weekly"}),
        ("王芳", "2025-06-16 15:00", "电话确认报价", {"priority": "urgent"}),
        ("María García López", "2025-06-16 17:30", "Send the catalogue", {}),
        ("欧阳娜娜", "2025-06-19 10:00", "展会后回访：确认样品需求", {}),
        ("Chloé Martin", "2025-06-20 09:00", "Demo of the new line", {"priority": "low"}),
        ("赵磊", "2025-07-15 09:00", "Win-back offer", {}),
        ("陈静", "2025-06-12 09:00", "Not mine", {"assignee": "wangfang"}),
    ):
        values = {"due_at": due, "title": title, **extra}
        followups.add_followup(team, customer_list[name].id, values)
    pinned.now = NOW


@SIZES
async def test_follow_up_queue(
    db: str, team: Actor, queue_items: None, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot) -> None:
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(pilot.app.screen, QueueScreen)

    assert await snap_compare(crm_app(team), terminal_size=size, run_before=run_before)


@SIZES
async def test_why_a_queue_item_ranks_there(
    db: str, team: Actor, queue_items: None, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    """`i` on the first item of the queue, the quiet key account: the terms of its score,
    adding up to it."""

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(pilot.app.screen, QueueScreen)
        await pilot.press("i")
        await pilot.pause()
        why = pilot.app.screen
        assert isinstance(why, WhyScreen)
        assert (why.item.kind, why.item.customer_name) == ("quiet", "田中宏")

    assert await snap_compare(crm_app(team), terminal_size=size, run_before=run_before)
