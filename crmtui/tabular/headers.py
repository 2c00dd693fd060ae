"""What the columns of each kind of sheet are called: the fields of each record kind, and the
Chinese and English headers people give them.

The field names repeat the store's (crmtui.store.customers.FIELDS, timeline.PURCHASE and
COMMUNICATION, followups.FIELDS) because this package must not import the database layer; a
test keeps the two in step.

Headers are compared by `normalize`, so `E-mail`, `email`, `ＥＭＡＩＬ` and `e mail` are one.
"""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

_REMARK = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")  # "金额(元)", "手机号【必填】"
_TRAILING_NUMBER = re.compile(r"\d+$")


def normalize(header: str) -> str:
    """A header reduced to what identifies it: full-width folded (NFKC), case folded, and only
    letters and digits kept (no spaces, punctuation, underscores or symbols)."""
    text = unicodedata.normalize("NFKC", header).casefold()
    return "".join(char for char in text if unicodedata.category(char)[0] in "LN")


def without_remark(header: str) -> str:
    """The header without a bracketed remark, normalized: `金额（元）` → `金额`."""
    return normalize(_REMARK.sub("", unicodedata.normalize("NFKC", header)))


def without_number(normalized: str) -> str:
    """A normalized header without a trailing number: `phone2` → `phone`."""
    return _TRAILING_NUMBER.sub("", normalized)


@dataclass(frozen=True)
class RecordKind:
    """One kind of sheet: the fields a row fills, and how its headers are recognized.

    `aliases` name the targets (fields, or the extra targets below) that common headers map
    to; `secondary` aliases are tried only after every column has had its primary match (so
    `单价`, unit price, is the amount only when no `总价`, total, column exists). Unknown
    columns become "Header: value" lines in `extras_field`.
    """

    name: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    dates: frozenset[str]  # fields holding a date: an Excel date number becomes ISO
    moments: frozenset[str]  # fields holding a date and time
    extras_field: str
    aliases: Mapping[str, tuple[str, ...]]
    secondary: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    extra_targets: tuple[str, ...] = ()  # targets besides the fields: tags, contact.*, …
    custom: bool = False  # rows carry custom field values (customers only)

    @property
    def targets(self) -> tuple[str, ...]:
        return self.fields + self.extra_targets


# The vocabulary below is a table: one line per field, kept compact by hand.
# fmt: off
NAME_PARTS = ("name.first", "name.last")  # joined into `name`
CONTACT_TARGETS = ("contact.name", "contact.title", "contact.phone", "contact.email")
# A phone's or e-mail's text as typed, which crmtui's export writes beside the stored form:
# imported with it, so that a round trip keeps what the user typed.
RAW_TARGETS = ("phone_raw", "alt_phone_raw", "email_raw")
CUSTOMER_KEYS = (
    "customer.id", "customer.external_id", "customer.email", "customer.phone", "customer.name",
    "customer.company",
)

CUSTOMER = RecordKind(
    name="customer",
    fields=(
        "name", "company", "title", "phone", "alt_phone", "email", "address", "city", "region",
        "country", "source", "utm_source", "utm_medium", "utm_campaign", "stage", "owner",
        "key_account", "needs", "preferences", "preferred_channel", "notes", "marketing_consent",
        "consent_date", "consent_source", "consent_withdrawn_on", "external_id", "tags",
    ),
    required=("name",),
    dates=frozenset({"consent_date", "consent_withdrawn_on"}),
    moments=frozenset(),
    extras_field="notes",
    extra_targets=(*NAME_PARTS, *CONTACT_TARGETS, *RAW_TARGETS),
    custom=True,
    aliases={
        "name": (
            "客户名称", "客户名", "客户", "客户姓名", "姓名", "名称", "全名",
            "Name", "Full Name", "Customer", "Customer Name", "Client", "Client Name",
            "Account", "Account Name",
        ),
        **{raw: (raw,) for raw in RAW_TARGETS},
        "name.first": ("名", "名字", "First Name", "Given Name", "Forename", "First"),
        "name.last": ("姓", "姓氏", "Last Name", "Surname", "Family Name", "Last"),
        "company": (
            "公司名称", "公司", "单位", "单位名称", "企业", "企业名称", "所属公司", "工作单位",
            "Company", "Company Name", "Organization", "Organisation", "Employer",
        ),
        "contact.name": (
            "联系人", "联系人姓名", "联系人名称", "Contact", "Contact Name", "Contact Person",
        ),
        "contact.title": ("联系人职位", "联系人职务", "Contact Title"),
        "contact.phone": ("联系人电话", "联系人手机", "Contact Phone"),
        "contact.email": ("联系人邮箱", "Contact Email"),
        "title": ("职位", "职务", "头衔", "岗位", "Title", "Job Title", "Position", "Role"),
        "phone": (
            "联系电话", "联系方式", "手机", "手机号", "手机号码", "电话", "电话号码", "移动电话",
            "Phone", "Mobile", "Mobile Phone", "Cell", "Cell Phone", "Telephone", "Tel",
            "Phone Number", "Mobile Number",
        ),
        "alt_phone": (
            "备用电话", "其他电话", "座机", "固定电话", "固话", "办公电话",
            "Other Phone", "Alternate Phone", "Alt Phone", "Home Phone", "Work Phone",
            "Landline", "Office Phone",
        ),
        "email": (
            "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址",
            "Email", "E-mail", "Mail", "Email Address",
        ),
        "address": (
            "地址", "详细地址", "联系地址", "通讯地址", "公司地址",
            "Address", "Street", "Street Address", "Mailing Address",
        ),
        "city": ("城市", "所在城市", "市", "City", "Town"),
        "region": (
            "省份", "省", "地区", "区域", "所在地区",
            "Region", "State", "Province", "State/Province",
        ),
        "country": ("国家", "国家/地区", "Country", "Country/Region"),
        "source": ("来源", "客户来源", "获客渠道", "来源渠道", "渠道", "Source", "Lead Source"),
        "stage": (
            "阶段", "客户阶段", "生命周期", "客户状态", "状态",
            "Stage", "Lifecycle Stage", "Status",
        ),
        "owner": (
            "负责人", "销售", "业务员", "跟进人", "归属人", "所属销售", "客户经理", "销售负责人",
            "Owner", "Account Owner", "Sales Rep", "Salesperson", "Assigned To",
        ),
        "key_account": ("重点客户", "大客户", "关键客户", "是否重点客户", "Key Account"),
        "needs": ("需求", "客户需求", "需求分析", "Needs", "Requirements"),
        "preferences": ("偏好", "喜好", "客户偏好", "Preferences"),
        "preferred_channel": (
            "首选渠道", "偏好渠道", "首选联系渠道", "Preferred Channel", "Preferred Contact Method",
        ),
        "notes": (
            "备注", "说明", "描述", "备注信息",
            "Notes", "Note", "Remarks", "Comments", "Description",
        ),
        "marketing_consent": (
            "营销同意", "同意营销", "是否同意营销", "Marketing Consent", "Consent", "Opt-in",
        ),
        "consent_date": ("同意日期", "Consent Date"),
        "consent_source": ("同意来源", "同意渠道", "Consent Source"),
        "consent_withdrawn_on": ("撤回日期", "撤回同意日期", "Consent Withdrawn", "Opt-out Date"),
        "external_id": (
            "外部编号", "外部ID", "客户编号", "编号",
            "External ID", "Customer ID", "Ref", "Reference",
        ),
        "tags": ("标签", "客户标签", "Tags", "Tag", "Labels"),
    },
    # A bare "ID" is another system's record number, unless the sheet has an external_id too
    # (crmtui's own export: then "id" is crmtui's own, and skipped).
    secondary={"external_id": ("ID",)},
)

_CUSTOMER_KEY_ALIASES: dict[str, tuple[str, ...]] = {
    "customer.id": ("customer_id", "客户ID"),
    "customer.external_id": (
        "external_id", "customer_external_id", "外部编号", "外部ID", "客户编号", "External ID",
    ),
    "customer.email": ("email", "customer_email", "邮箱", "电子邮件", "客户邮箱", "E-mail"),
    "customer.phone": (
        "phone", "customer_phone", "电话", "手机", "手机号", "联系电话", "客户电话", "Mobile",
    ),
    "customer.name": (
        "name", "customer_name", "customer", "客户", "客户名称", "客户姓名", "姓名",
        "Customer Name", "Client",
    ),
    "customer.company": ("company", "customer_company", "公司", "公司名称", "Company"),
}
# A history sheet's "联系人" names the customer only when nothing else does.
_CUSTOMER_KEY_SECONDARY = {"customer.name": ("联系人", "Contact", "Contact Name")}

PURCHASE = RecordKind(
    name="purchase",
    fields=("date", "product", "category", "quantity", "amount", "currency", "status", "notes"),
    required=("date", "product", "amount"),
    dates=frozenset({"date"}),
    moments=frozenset(),
    extras_field="notes",
    extra_targets=CUSTOMER_KEYS,
    aliases={
        **_CUSTOMER_KEY_ALIASES,
        "date": (
            "日期", "购买日期", "下单日期", "成交日期", "订单日期", "购买时间",
            "Date", "Purchase Date", "Order Date",
        ),
        "product": (
            "产品", "产品名称", "商品", "商品名称", "服务", "项目",
            "Product", "Product Name", "Item", "Service",
        ),
        "category": ("类别", "分类", "产品类别", "类型", "Category", "Type"),
        "quantity": ("数量", "Quantity", "Qty"),
        "amount": (
            "金额", "总价", "总金额", "成交金额", "订单金额", "合计",
            "Amount", "Total", "Total Amount",
        ),
        "currency": ("币种", "货币", "Currency"),
        "status": ("状态", "成交状态", "Status", "Deal Status"),
        "notes": ("备注", "说明", "Notes", "Note", "Remarks", "Comments"),
    },
    secondary={**_CUSTOMER_KEY_SECONDARY, "amount": ("单价", "价格", "Price", "Unit Price")},
)

COMMUNICATION = RecordKind(
    name="communication",
    fields=("at", "channel", "user", "summary", "outcome"),
    required=("at", "summary"),
    dates=frozenset(),
    moments=frozenset({"at"}),
    extras_field="summary",  # a communication has no notes: its summary is its text
    extra_targets=CUSTOMER_KEYS,
    aliases={
        **_CUSTOMER_KEY_ALIASES,
        "at": (
            "日期", "时间", "日期时间", "沟通时间", "联系时间", "沟通日期",
            "Date", "Time", "Date/Time", "When", "At",
        ),
        "channel": ("方式", "渠道", "沟通方式", "联系渠道", "Channel", "Type", "Method"),
        "user": ("记录人", "经办人", "负责人", "销售", "跟进人", "User", "By", "Staff"),
        "summary": (
            "内容", "摘要", "沟通内容", "记录", "详情", "跟进内容",
            "Summary", "Content", "Details", "Subject",
        ),
        "outcome": ("结果", "沟通结果", "跟进结果", "Outcome", "Result"),
    },
    secondary=_CUSTOMER_KEY_SECONDARY,
)

# A follow-up's state besides what its form sets, which crmtui's export writes (a done
# follow-up, its outcome): taken by these exact headers only, so that another tool's 状态
# column, in words of its own, still goes to the notes.
FOLLOWUP_STATE = ("status", "done_at", "snoozed_until", "outcome")

FOLLOWUP = RecordKind(
    name="followup",
    fields=("title", "due_at", "priority", "assignee", "recurrence", "notes"),
    required=("title", "due_at"),
    dates=frozenset(),
    moments=frozenset({"due_at"}),
    extras_field="notes",
    extra_targets=(*CUSTOMER_KEYS, *FOLLOWUP_STATE),
    aliases={
        **_CUSTOMER_KEY_ALIASES,
        "title": ("标题", "事项", "待办", "任务", "跟进事项", "Title", "Task", "Subject"),
        "due_at": (
            "截止日期", "截止时间", "到期", "到期日", "到期时间", "计划时间", "跟进时间",
            "Due", "Due Date", "Due At", "Deadline",
        ),
        "priority": ("优先级", "Priority"),
        "assignee": ("负责人", "跟进人", "执行人", "Assignee", "Assigned To", "Owner"),
        "recurrence": ("重复", "周期", "循环", "Recurrence", "Repeat"),
        "notes": ("备注", "说明", "Notes", "Note", "Remarks", "Comments"),
    },
    secondary=_CUSTOMER_KEY_SECONDARY,
)

# Columns crmtui's own export writes that no import sets, by their exact header.
SYSTEM_COLUMNS = frozenset({
    "id", "version", "created_at", "updated_at", "last_contact_at", "owner_id", "user_id",
    "assignee_id", "contact_id", "phone_display", "alt_phone_display",
})
# fmt: on

KINDS: dict[str, RecordKind] = {
    kind.name: kind for kind in (CUSTOMER, PURCHASE, COMMUNICATION, FOLLOWUP)
}
