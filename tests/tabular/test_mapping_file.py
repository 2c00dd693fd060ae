"""Mapping files fix any header; `describe()` shows what each column becomes (--show-mapping)."""

import datetime as dt
from pathlib import Path

import pytest

from crmtui.tabular.mapping import MappingError, load_mapping_file, plan_columns
from crmtui.tabular.reading import Row

GOOD = """
# 客户导入映射
[columns]
"客户名" = "name"
"内部编号" = "external_id"
"忽略此列" = ""
"VIP等级" = "custom:vip_level"
"公司" = "company"
"""
VIP = [("vip_level", "VIP 等级")]


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_mapping_file_fixes_headers(tmp_path: Path) -> None:
    columns = load_mapping_file(_file(tmp_path, GOOD))
    header = ["客户名", "内部编号", "忽略此列", "VIP等级", "公司", "联系人"]

    plan = plan_columns("customer", header, mapping=columns, custom_fields=VIP)
    row = plan.map_row(Row(2, cells := ("云栖", "C-001", "x", "3", "云栖集团", "王小明"), cells))

    assert row.fields == {"name": "云栖", "external_id": "C-001", "company": "云栖集团"}
    assert row.custom == {"vip_level": "3"}
    assert row.contact == {"name": "王小明"}


def test_the_mapping_file_wins_over_the_automatic_rules(tmp_path: Path) -> None:
    columns = load_mapping_file(
        _file(tmp_path, '[columns]\n"电话" = "alt_phone"\n"备注" = "needs"\n"公司" = "company"\n')
    )

    plan = plan_columns("customer", ["公司", "电话", "手机", "备注"], mapping=columns)

    # 公司 stays the company although no name column exists: the file said so.
    assert [c.target for c in plan.columns] == ["company", "alt_phone", "phone", "needs"]
    assert plan.missing == ("name",)


def test_headers_in_the_file_match_like_automatic_ones(tmp_path: Path) -> None:
    columns = load_mapping_file(_file(tmp_path, '[columns]\n"Internal No." = "external_id"\n'))

    plan = plan_columns("customer", ["name", "ＩＮＴＥＲＮＡＬ ＮＯ"], mapping=columns)

    assert plan.columns[1].target == "external_id"


def test_history_kinds_take_customer_keys(tmp_path: Path) -> None:
    columns = load_mapping_file(_file(tmp_path, '[columns]\n"客户代码" = "customer.external_id"\n'))

    plan = plan_columns("purchase", ["客户代码", "日期", "产品", "金额"], mapping=columns)

    assert plan.key_columns == ("external_id",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[columns]\n"客户名" = "nmae"\n', "'客户名' = 'nmae': a customer has no such field"),
        ('[columns]\n"VIP" = "custom:vip"\n', "no custom field 'vip' \\(vip_level\\)"),
        ('[columns]\n"客户名" = "name"\n"姓名" = "name"\n', "both '客户名' and '姓名' are mapped"),
    ],
)
def test_a_mapping_that_names_no_field_is_a_clear_error(
    tmp_path: Path, text: str, message: str
) -> None:
    columns = load_mapping_file(_file(tmp_path, text))

    with pytest.raises(MappingError, match=message):
        plan_columns("customer", ["客户名", "姓名", "VIP"], mapping=columns, custom_fields=VIP)


def test_custom_fields_are_a_customers_only(tmp_path: Path) -> None:
    columns = load_mapping_file(_file(tmp_path, '[columns]\n"VIP" = "custom:vip_level"\n'))

    with pytest.raises(MappingError, match="a purchase has no such field"):
        plan_columns("purchase", ["VIP"], mapping=columns, custom_fields=VIP)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[columns]\n"客户名" = \n', "mapping file .*mapping.toml: Invalid value"),
        ('[colums]\n"客户名" = "name"\n', "unknown table 'colums'"),
        ('[columns]\n"客户名" = 3\n', "maps headers to field names"),
        ('columns = "name"\n', "maps headers to field names"),
    ],
)
def test_a_broken_mapping_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        load_mapping_file(_file(tmp_path, text))


def test_a_missing_mapping_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"cannot read the mapping file .*: No such file"):
        load_mapping_file(tmp_path / "nothing.toml")


def test_describe_shows_every_column(tmp_path: Path) -> None:
    columns = {"Ignored": "", "VIP等级": "custom:vip_level", "Nowhere": "phone"}
    header = [
        "客户名称",
        "联系人",
        "电话",
        "微信",
        "Ignored",
        "VIP等级",
        "标签",
        "external_id",
        "id",
        "",
    ]

    plan = plan_columns("customer", header, mapping=columns, custom_fields=VIP)

    assert plan.describe() == [
        "客户名称 → name",
        "联系人 → contact.name",
        "电话 → phone",
        '微信 → notes ("微信: …")',
        "Ignored → (skipped)",
        "VIP等级 → custom:vip_level",
        "标签 → tags",
        "external_id → external_id",
        "id → (skipped: set by crmtui)",
        'column 10 → notes ("column 10: …")',
        "Nowhere → phone (mapping file: no such column)",
    ]


def test_describe_names_what_a_sheet_lacks() -> None:
    plan = plan_columns("purchase", ["日期", "说明"], excel_epoch=dt.datetime(1899, 12, 30))

    assert plan.describe() == [
        "日期 → date (Excel date numbers read as dates)",
        "说明 → notes",
        "(no column for product)",
        "(no column for amount)",
        "(no column finds the customer: customer_id, external_id, email, phone, name)",
    ]
