"""Header mapping: which column fills which field, and rows as values for the store."""

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from crmtui.tabular.headers import KINDS, normalize
from crmtui.tabular.mapping import ColumnPlan, MappedRow, join_name, plan_columns
from crmtui.tabular.reading import Row, open_table

EXCEL_1900 = dt.datetime(1899, 12, 30)


def _targets(kind: str, header: list[str], **options: object) -> dict[str, str]:
    """Each header's target ("+notes" for a notes line, "" for skipped)."""
    plan = plan_columns(kind, header, **options)  # type: ignore[arg-type]
    return {
        column.label: column.target if column.role == "field" else f"+{column.role}"
        for column in plan.columns
    }


def _map(plan: ColumnPlan, *cells: str, line: int = 2) -> MappedRow:
    return plan.map_row(Row(line, cells, cells))


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("客户名称", "name"),
        ("客户", "name"),
        ("姓名", "name"),
        ("公司名称", "company"),
        ("单位", "company"),
        ("联系电话", "phone"),
        ("联系方式", "phone"),
        ("手机", "phone"),
        ("手机号", "phone"),
        ("电话", "phone"),
        ("邮箱", "email"),
        ("电子邮件", "email"),
        ("地址", "address"),
        ("城市", "city"),
        ("省份", "region"),
        ("备注", "notes"),
        ("标签", "tags"),
        ("来源", "source"),
        ("阶段", "stage"),
        ("负责人", "owner"),
        ("重点客户", "key_account"),
        ("职位", "title"),
        ("Name", "name"),
        ("Full Name", "name"),
        ("Company", "company"),
        ("Phone", "phone"),
        ("Mobile", "phone"),
        ("Email", "email"),
        ("E-mail", "email"),
        ("City", "city"),
        ("Region", "region"),
        ("State", "region"),
        ("Province", "region"),
        ("Country", "country"),
        ("Address", "address"),
        ("Notes", "notes"),
        ("Tags", "tags"),
        ("Owner", "owner"),
        ("Stage", "stage"),
        ("Source", "source"),
        ("External ID", "external_id"),
    ],
)
def test_common_headers_map_to_customer_fields(header: str, field: str) -> None:
    """Each with a name column beside it, so a company or contact column is not the name."""
    other = "Name" if field != "name" else "Notes"
    assert _targets("customer", [other, header])[header] == field


@pytest.mark.parametrize(
    "header",
    ["E-mail", "email", "EMAIL", " e mail ", "ＥＭＡＩＬ", "E_Mail:", "邮箱（必填）", "【邮箱】"],
)
def test_matching_ignores_case_spaces_punctuation_width_and_remarks(header: str) -> None:
    assert _targets("customer", ["name", header])[header.strip()] == "email"


def test_normalize_folds_full_width_and_drops_everything_but_letters_and_digits() -> None:
    assert normalize("Ｐｈｏｎｅ　１") == "phone1"
    assert normalize("联系电话：") == "联系电话"
    assert normalize("Alt_Phone") == "altphone"


@pytest.mark.parametrize("field", KINDS["customer"].fields)
def test_a_header_equal_to_a_field_name_maps_to_it(field: str) -> None:
    """crmtui's own export writes the field names as headers."""
    header = ["name", field] if field != "name" else ["name"]
    assert _targets("customer", header)[field] == field


def test_crmtuis_own_export_maps_back_field_for_field() -> None:
    header = ["id", *KINDS["customer"].fields, "created_at", "updated_at", "phone_display"]

    targets = _targets("customer", header)

    assert all(targets[field] == field for field in KINDS["customer"].fields)
    assert [targets[h] for h in ("id", "created_at", "updated_at", "phone_display")] == [
        "+skip"
    ] * 4


def test_a_bare_id_is_the_external_id_when_the_sheet_has_none() -> None:
    assert _targets("customer", ["ID", "Name"])["ID"] == "external_id"
    assert _targets("customer", ["ID", "Name", "External ID"])["ID"] == "+extra"


def test_a_foreign_created_at_column_goes_to_the_notes_not_away() -> None:
    """Only crmtui's exact machine names are skipped as crmtui's own columns."""
    assert _targets("customer", ["Name", "Created At"])["Created At"] == "+extra"


class TestCustomerName:
    """客户名称 is the account (company or person), 联系人 the person, 联系电话 the phone."""

    def test_a_name_column_is_the_name_and_the_contact_a_contact_person(self) -> None:
        plan = plan_columns("customer", ["客户名称", "联系人", "联系电话", "公司"])

        row = _map(plan, "杭州云栖科技", "王小明", "13812345678", "云栖集团")

        assert row.fields == {"name": "杭州云栖科技", "phone": "13812345678", "company": "云栖集团"}
        assert row.contact == {"name": "王小明"}

    def test_without_a_name_column_the_company_is_the_customer(self) -> None:
        plan = plan_columns("customer", ["公司名称", "联系人", "手机"])

        row = _map(plan, "杭州云栖科技有限公司", "王小明", "13812345678")

        assert row.fields == {"name": "杭州云栖科技有限公司", "phone": "13812345678"}
        assert row.contact == {"name": "王小明"}
        assert plan.describe()[0] == (
            "公司名称 → name (no customer-name column: the company is the customer)"
        )

    def test_with_only_a_contact_column_the_person_is_the_customer(self) -> None:
        plan = plan_columns("customer", ["联系人", "手机", "地址"])

        row = _map(plan, "王小明", "13812345678", "杭州")

        assert row.fields["name"] == "王小明"
        assert row.contact == {}

    def test_contact_details_in_their_own_columns_go_to_the_contact(self) -> None:
        plan = plan_columns("customer", ["客户名称", "联系人", "联系人电话", "联系人职务"])

        row = _map(plan, "云栖科技", "王小明", "13812345678", "采购经理")

        assert row.contact == {"name": "王小明", "phone": "13812345678", "title": "采购经理"}

    def test_first_and_last_names_are_joined(self) -> None:
        plan = plan_columns("customer", ["First Name", "Last Name", "Company"])

        row = _map(plan, "Ada", "Lovelace", "Analytical Engines")

        assert row.fields == {"name": "Ada Lovelace", "company": "Analytical Engines"}

    def test_chinese_family_and_given_names_are_joined_without_a_space(self) -> None:
        plan = plan_columns("customer", ["名", "姓", "手机"])

        assert _map(plan, "小明", "王", "138").fields["name"] == "王小明"

    def test_name_parts_beside_a_name_column_go_to_the_notes(self) -> None:
        plan = plan_columns("customer", ["Name", "First Name"])

        assert _map(plan, "Ada Lovelace", "Ada").fields == {
            "name": "Ada Lovelace",
            "notes": "First Name: Ada",
        }


@pytest.mark.parametrize(
    ("first", "last", "name"),
    [
        ("Ada", "Lovelace", "Ada Lovelace"),
        ("小明", "王", "王小明"),
        ("Ada", "", "Ada"),
        ("", "王", "王"),
        (" 小明 ", " 欧阳 ", "欧阳小明"),
        ("Wei", "王", "Wei 王"),
    ],
)
def test_join_name(first: str, last: str, name: str) -> None:
    assert join_name(first, last) == name


@pytest.mark.parametrize(
    ("header", "phone", "alt_phone", "notes"),
    [
        (["姓名", "手机", "座机"], "手机", "座机", None),
        (["姓名", "座机", "手机"], "手机", "座机", None),
        (["Name", "Phone 1", "Phone 2"], "Phone 1", "Phone 2", None),
        (["姓名", "电话", "手机"], "电话", "手机", None),
        (["姓名", "电话1", "电话2", "电话3"], "电话1", "电话2", "电话3"),
        (["name", "alt_phone", "手机", "电话"], "手机", "alt_phone", "电话"),
    ],
)
def test_two_phone_columns_are_the_phone_and_the_alt_phone(
    header: list[str], phone: str, alt_phone: str, notes: str | None
) -> None:
    targets = _targets("customer", header)

    assert targets[phone] == "phone"
    assert targets[alt_phone] == "alt_phone"
    if notes:
        assert targets[notes] == "+extra"


def test_unknown_columns_become_notes_lines_after_the_notes() -> None:
    plan = plan_columns("customer", ["客户名称", "微信", "备注", "QQ", "行业", ""])

    with_notes = _map(plan, "云栖科技", "wx_wang", "老客户", "12345", "", "stray")
    without_notes = _map(plan, "云栖科技", "wx_wang", "", "", "", "")

    assert with_notes.fields["notes"] == "老客户\n微信: wx_wang\nQQ: 12345\ncolumn 6: stray"
    assert without_notes.fields["notes"] == "微信: wx_wang"


def test_unknown_columns_with_nothing_in_them_add_nothing() -> None:
    plan = plan_columns("customer", ["name", "wechat"])

    assert "notes" not in _map(plan, "Ann", "  ").fields


def test_unknown_columns_fill_custom_fields_by_key_or_label() -> None:
    plan = plan_columns(
        "customer",
        ["客户名称", "VIP等级", "industry", "custom:region_code", "微信"],
        custom_fields=[("vip_level", "VIP等级"), ("industry", "行业"), ("region_code", "区号")],
    )

    row = _map(plan, "云栖科技", "3", "制造业", "0571", "wx")

    assert row.custom == {"vip_level": "3", "industry": "制造业", "region_code": "0571"}
    assert row.fields == {"name": "云栖科技", "notes": "微信: wx"}


def test_a_custom_field_does_not_take_a_column_a_field_has() -> None:
    targets = _targets("customer", ["name", "来源"], custom_fields=[("origin", "来源")])

    assert targets["来源"] == "source"


def test_several_tag_columns_are_joined() -> None:
    plan = plan_columns("customer", ["name", "标签", "Tag 2", "tags"])

    assert _map(plan, "Ann", "vip", "", "b2b, 华东").fields["tags"] == "vip,b2b, 华东"


def test_a_second_column_for_a_field_goes_to_the_notes() -> None:
    plan = plan_columns("customer", ["姓名", "邮箱", "电子邮件"])

    assert _map(plan, "Ann", "a@x.cn", "b@x.cn").fields == {
        "name": "Ann",
        "email": "a@x.cn",
        "notes": "电子邮件: b@x.cn",
    }


def test_empty_cells_are_passed_on_as_empty_text() -> None:
    plan = plan_columns("customer", ["name", "phone", "email"])

    assert _map(plan, "Ann", "", "").fields == {"name": "Ann", "phone": "", "email": ""}


class TestRaggedRows:
    def test_a_short_row_is_a_problem_and_its_missing_cells_empty(self) -> None:
        plan = plan_columns("customer", ["name", "phone", "city"])

        row = _map(plan, "Ann", "138", line=7)

        assert row.line == 7
        assert row.problems == (("", "the row has 2 cells; the header has 3"),)
        assert row.fields == {"name": "Ann", "phone": "138", "city": ""}
        assert row.original == ("Ann", "138")

    def test_a_long_row_with_data_past_the_header_is_a_problem(self) -> None:
        plan = plan_columns("customer", ["name", "phone"])

        row = _map(plan, "Ann", "138", "Rome")

        assert row.problems == (("", "the row has 3 cells; the header has 2"),)

    def test_trailing_empty_cells_past_the_header_are_not(self) -> None:
        plan = plan_columns("customer", ["name", "phone"])

        assert _map(plan, "Ann", "138", "", "").problems == ()


class TestHistory:
    def test_purchase_headers(self) -> None:
        targets = _targets(
            "purchase",
            [
                "客户编号",
                "购买日期",
                "产品名称",
                "类别",
                "数量",
                "金额（元）",
                "币种",
                "状态",
                "备注",
            ],
        )

        assert list(targets.values()) == [
            "customer.external_id",
            "date",
            "product",
            "category",
            "quantity",
            "amount",
            "currency",
            "status",
            "notes",
        ]

    def test_a_unit_price_is_the_amount_only_without_a_total(self) -> None:
        assert _targets("purchase", ["日期", "产品", "单价"])["单价"] == "amount"
        with_total = _targets("purchase", ["日期", "产品", "单价", "数量", "总价"])
        assert (with_total["单价"], with_total["总价"]) == ("+extra", "amount")

    def test_communication_headers_and_extras_in_the_summary(self) -> None:
        plan = plan_columns("communication", ["客户", "时间", "方式", "内容", "结果", "地点"])

        row = _map(plan, "云栖科技", "2024-03-05 14:30", "visit", "拜访采购部", "报价", "杭州")

        assert row.fields == {
            "at": "2024-03-05 14:30",
            "channel": "visit",
            "summary": "拜访采购部\n地点: 杭州",
            "outcome": "报价",
        }
        assert row.customer == {"name": "云栖科技"}

    def test_followup_headers(self) -> None:
        targets = _targets(
            "followup", ["手机", "事项", "截止日期", "优先级", "负责人", "重复", "说明"]
        )

        assert list(targets.values()) == [
            "customer.phone",
            "title",
            "due_at",
            "priority",
            "assignee",
            "recurrence",
            "notes",
        ]

    @pytest.mark.parametrize(
        ("header", "keys"),
        [
            (["customer_id", "date", "product", "amount"], ("id",)),
            (["external_id", "日期", "产品", "金额"], ("external_id",)),
            (["邮箱", "日期", "产品", "金额"], ("email",)),
            (["联系电话", "日期", "产品", "金额"], ("phone",)),
            (["客户名称", "公司", "日期", "产品", "金额"], ("name", "company")),
            (["Email", "Customer Name", "Date", "Product", "Total"], ("email", "name")),
            (["联系人", "日期", "产品", "金额"], ("name",)),
            (["日期", "产品", "金额"], ()),
        ],
    )
    def test_the_key_columns_that_find_the_customer_are_exposed(
        self, header: list[str], keys: tuple[str, ...]
    ) -> None:
        plan = plan_columns("purchase", header)

        assert plan.key_columns == keys
        row = _map(plan, *[f"v{n}" for n in range(len(header))])
        assert set(row.customer) == set(keys)

    def test_a_contact_column_does_not_name_the_customer_beside_a_name_column(self) -> None:
        targets = _targets("communication", ["联系人", "客户名称", "时间", "内容"])

        assert (targets["客户名称"], targets["联系人"]) == ("customer.name", "+extra")

    def test_history_kinds_have_no_custom_fields(self) -> None:
        plan = plan_columns(
            "purchase", ["日期", "VIP等级"], custom_fields=[("vip_level", "VIP等级")]
        )

        assert _map(plan, "2024-03-05", "3").custom == {}


class TestExcelDates:
    """Date numbers become dates in date fields of an XLSX sheet, and nowhere else."""

    def test_date_numbers_in_date_fields_become_iso_dates(self) -> None:
        plan = plan_columns(
            "purchase", ["日期", "产品", "数量", "金额", "备注"], excel_epoch=EXCEL_1900
        )

        row = _map(plan, "45356", "年费", "45356", "45356.5", "45356")

        assert row.fields["date"] == "2024-03-05"
        assert (row.fields["quantity"], row.fields["amount"], row.fields["notes"]) == (
            "45356",
            "45356.5",
            "45356",
        )

    def test_a_fraction_of_a_day_is_the_time_in_a_date_and_time_field(self) -> None:
        plan = plan_columns("followup", ["客户", "事项", "到期"], excel_epoch=EXCEL_1900)

        row = _map(plan, "云栖", "回访", "45356.6041666667")

        assert row.fields["due_at"] == "2024-03-05 14:30"

    def test_the_customers_consent_date_too(self) -> None:
        plan = plan_columns("customer", ["name", "consent_date"], excel_epoch=EXCEL_1900)

        assert _map(plan, "Ann", "45356").fields["consent_date"] == "2024-03-05"

    def test_the_1904_calendar_of_old_mac_workbooks(self) -> None:
        plan = plan_columns("purchase", ["日期"], excel_epoch=dt.datetime(1904, 1, 1))

        assert _map(plan, "43894").fields["date"] == "2024-03-05"

    @pytest.mark.parametrize(
        "text", ["2024-03-05", "2024/3/5", "", "12", "99999", "45356 天", "-1"]
    )
    def test_text_that_is_not_a_plausible_date_number_is_left_for_the_store(
        self, text: str
    ) -> None:
        plan = plan_columns("purchase", ["日期"], excel_epoch=EXCEL_1900)

        assert _map(plan, text).fields["date"] == text

    def test_a_csv_file_keeps_its_numbers(self) -> None:
        plan = plan_columns("purchase", ["日期"])

        assert _map(plan, "45356").fields["date"] == "45356"

    def test_from_a_workbook_file_to_mapped_rows(self, tmp_path: Path) -> None:
        book = Workbook()
        book.active.append(["购买日期", "产品", "金额", "手机"])
        book.active.append([dt.datetime(2024, 3, 5), "年费", 1200.0, 13812345678.0])
        book.active.append([45357, "服务", 80.5, 13900000000])
        path = tmp_path / "purchases.xlsx"
        book.save(path)

        with open_table(path) as table:
            plan = plan_columns("purchase", table.header, excel_epoch=table.excel_epoch)
            rows = [plan.map_row(row) for row in table.rows]

        assert [(r.line, r.fields, r.customer) for r in rows] == [
            (
                2,
                {"date": "2024-03-05", "product": "年费", "amount": "1200"},
                {"phone": "13812345678"},
            ),
            (
                3,
                {"date": "2024-03-06", "product": "服务", "amount": "80.5"},
                {"phone": "13900000000"},
            ),
        ]
