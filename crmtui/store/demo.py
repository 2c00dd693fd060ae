"""Demo data (`crmtui demo`): realistic customers with three years of history, fast.

Everything is drawn from `random.Random`, seeded per customer, so a seed always gives the
same people, companies and records (only the dates move with the day it runs). Rows are
written a thousand customers per transaction, so a large load never locks other users out
for more than a moment, and every customer gets a "create" history row.
"""

import datetime as dt
import functools
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

import phonenumbers

from crmtui.i18n import _
from crmtui.store import models as m
from crmtui.store import search
from crmtui.store.bulk import Writer
from crmtui.store.customers import ENTITY as CUSTOMER_ENTITY
from crmtui.store.db import write_transaction
from crmtui.store.errors import ValidationError
from crmtui.store.permissions import DEMO_LOAD, authorize
from crmtui.store.types import Actor
from crmtui.store.users import ensure_users
from crmtui.store.validation import Phone, clean_phone

MAX_CUSTOMERS = 2_000_000
CHUNK = 1_000  # customers per write transaction
_HISTORY_YEARS_DAYS = 3 * 365

SALES_USERS: tuple[tuple[str, str, str], ...] = (
    ("zhangwei", "张伟", "sales"),
    ("lina", "李娜", "sales"),
    ("wangfang", "王芳", "sales"),
    ("liuyang", "刘洋", "sales"),
    ("emily.zhou", "Emily Zhou", "sales"),
)


@dataclass(frozen=True)
class DemoSummary:
    """How many rows of each kind `load_demo` created."""

    users: int
    customers: int
    tags: int
    contacts: int
    purchases: int
    communications: int
    service_items: int
    feedback: int
    followups: int
    history: int

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """'王 wang 李 li' -> (('王', 'wang'), ('李', 'li')): hanzi with pinyin for e-mail names."""
    words = _words(text)
    return tuple(zip(words[::2], words[1::2], strict=True))


# Common surnames, most frequent first (weights fall off with rank), and a compound one.
_SURNAMES = _pairs(
    "王 wang 李 li 张 zhang 刘 liu 陈 chen 杨 yang 黄 huang 赵 zhao 吴 wu 周 zhou 徐 xu "
    "孙 sun 马 ma 朱 zhu 胡 hu 郭 guo 何 he 高 gao 林 lin 罗 luo 郑 zheng 梁 liang 谢 xie "
    "宋 song 唐 tang 许 xu 韩 han 冯 feng 邓 deng 曹 cao 彭 peng 曾 zeng 肖 xiao 田 tian "
    "董 dong 袁 yuan 潘 pan 于 yu 蒋 jiang 蔡 cai 余 yu 杜 du 叶 ye 程 cheng 苏 su 魏 wei "
    "吕 lv 丁 ding 任 ren 沈 shen 姚 yao 卢 lu 姜 jiang 崔 cui 钟 zhong 谭 tan 陆 lu "
    "汪 wang 范 fan 金 jin 石 shi 廖 liao 贾 jia 夏 xia 韦 wei 方 fang 白 bai 邹 zou "
    "孟 meng 熊 xiong 秦 qin 邱 qiu 江 jiang 尹 yin 薛 xue 段 duan 雷 lei 侯 hou 龙 long "
    "史 shi 陶 tao 黎 li 贺 he 顾 gu 毛 mao 郝 hao 龚 gong 邵 shao 万 wan 钱 qian 严 yan "
    "欧阳 ouyang"
)
# Cumulative, so a draw need not add up a hundred weights each time.
_SURNAME_CUM_WEIGHTS = tuple(itertools.accumulate(1 / (rank + 8) for rank in range(len(_SURNAMES))))
_GIVEN = _pairs(
    "伟 wei 芳 fang 娜 na 敏 min 静 jing 丽 li 强 qiang 磊 lei 军 jun 洋 yang 勇 yong "
    "艳 yan 杰 jie 娟 juan 涛 tao 明 ming 超 chao 秀 xiu 霞 xia 平 ping 刚 gang 英 ying "
    "华 hua 文 wen 辉 hui 鹏 peng 婷 ting 宇 yu 浩 hao 欣 xin 怡 yi 晨 chen 博 bo 子 zi "
    "轩 xuan 梓 zi 涵 han 睿 rui 嘉 jia 俊 jun 雪 xue 琳 lin 倩 qian 慧 hui 建 jian "
    "国 guo 志 zhi 海 hai 玉 yu 红 hong 春 chun 晓 xiao 佳 jia 思 si 雨 yu 天 tian "
    "诺 nuo 瑶 yao 鑫 xin 凯 kai 宁 ning 彬 bin 萱 xuan 泽 ze 昊 hao 然 ran 颖 ying"
)
# A character GBK cannot encode (GB18030 can), so exports and imports meet it early.
_RARE_GIVEN = ("䶮", "yan")

_LATIN_FIRST = _words(
    "James Mary Michael Emma Olivia Liam Noah Sophia Lucas Hannah David Sarah Daniel Laura "
    "Thomas Anna Oliver Chloe Kevin Grace Jason Amy Peter Lisa Mark Julia Ethan Nina"
)
_LATIN_LAST = _words(
    "Smith Johnson Brown Miller Davis Wilson Taylor Anderson Martin Clarke Müller Schmidt "
    "Dubois Rossi Tanaka Kim Patel Nguyen O'Brien Walker Lee Wong Tan Fischer"
)

# (city, province, districts, area code, city in English): where most customers are;
# each has eight-digit local numbers.
_CN_CITIES: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    ("上海", "上海", ("浦东新区", "徐汇区", "静安区", "闵行区", "长宁区"), "21", "Shanghai"),
    ("北京", "北京", ("朝阳区", "海淀区", "东城区", "丰台区"), "10", "Beijing"),
    ("深圳", "广东", ("南山区", "福田区", "宝安区", "龙岗区"), "755", "Shenzhen"),
    ("广州", "广东", ("天河区", "越秀区", "番禺区", "白云区"), "20", "Guangzhou"),
    ("杭州", "浙江", ("西湖区", "滨江区", "余杭区", "拱墅区"), "571", "Hangzhou"),
    ("苏州", "江苏", ("工业园区", "姑苏区", "吴中区"), "512", "Suzhou"),
    ("南京", "江苏", ("鼓楼区", "玄武区", "江宁区"), "25", "Nanjing"),
    ("成都", "四川", ("武侯区", "锦江区", "高新区"), "28", "Chengdu"),
    ("武汉", "湖北", ("江汉区", "洪山区", "武昌区"), "27", "Wuhan"),
    ("西安", "陕西", ("雁塔区", "碑林区", "未央区"), "29", "Xi'an"),
    ("重庆", "重庆", ("渝中区", "江北区", "渝北区"), "23", "Chongqing"),
    ("天津", "天津", ("和平区", "河西区", "滨海新区"), "22", "Tianjin"),
    ("青岛", "山东", ("市南区", "崂山区", "黄岛区"), "532", "Qingdao"),
    ("东莞", "广东", ("南城街道", "东城街道", "长安镇"), "769", "Dongguan"),
    ("长沙", "湖南", ("岳麓区", "芙蓉区", "天心区"), "731", "Changsha"),
    ("宁波", "浙江", ("鄞州区", "海曙区"), "574", "Ningbo"),
)
_CITY_WEIGHTS = (14, 12, 10, 9, 8, 6, 6, 6, 5, 4, 4, 4, 3, 3, 3, 3)
_ROADS = _words(
    "人民路 中山路 建设路 解放路 长江路 科技园路 工业大道 世纪大道 南京路 滨江大道 "
    "和平路 新华路 东风路 创业路 学院路"
)

# (city, region, country, currency, company suffix, rate: CNY per unit of the currency)
_FOREIGN: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("Singapore", "Singapore", "SG", "SGD", "Pte. Ltd.", "5.30"),
    ("Hong Kong", "Hong Kong", "HK", "HKD", "Limited", "0.91"),
    ("New York", "NY", "US", "USD", "Inc.", "7.10"),
    ("San Francisco", "CA", "US", "USD", "LLC", "7.10"),
    ("London", "England", "GB", "GBP", "Ltd", "9.00"),
    ("Frankfurt", "Hesse", "DE", "EUR", "GmbH", "7.70"),
    ("Paris", "Île-de-France", "FR", "EUR", "SAS", "7.70"),
    ("Tokyo", "Tokyo", "JP", "JPY", "K.K.", "0.048"),
    ("Sydney", "NSW", "AU", "AUD", "Pty Ltd", "4.70"),
    ("Seoul", "Seoul", "KR", "KRW", "Co., Ltd.", "0.0052"),
    ("Toronto", "Ontario", "CA", "CAD", "Inc.", "5.20"),
    ("Kuala Lumpur", "Kuala Lumpur", "MY", "MYR", "Sdn. Bhd.", "1.60"),
)
_WHOLE_UNIT_CURRENCIES = frozenset({"JPY", "KRW"})  # priced without cents
_CENT = Decimal("0.01")

_CN_BRANDS = _pairs(
    "华信 huaxin 恒通 hengtong 宏达 hongda 鑫源 xinyuan 金桥 jinqiao 博远 boyuan 天成 tiancheng "
    "瑞丰 ruifeng 中科 zhongke 东方 dongfang 嘉禾 jiahe 汇智 huizhi 中联 zhonglian 星辰 xingchen "
    "远航 yuanhang 同创 tongchuang 盛世 shengshi 永康 yongkang 海纳 haina 启明 qiming"
)
_CN_INDUSTRIES = _pairs(
    "科技 tech 贸易 trade 电子 elec 物流 logistics 机械 machinery 医疗器械 medical 食品 food "
    "信息技术 it 建材 build 纺织 textile 化工 chem 文化传媒 media 教育科技 edu 新能源 energy"
)
_CN_SUFFIXES = ("有限公司", "有限公司", "股份有限公司", "有限责任公司")
_EN_BRANDS = _words(
    "Northwind Contoso Globex Initech Bluewater Summit Pioneer Evergreen Silverline Redwood "
    "Atlas Orion Apex Meridian Lighthouse Crescent"
)
_EN_INDUSTRIES = _words(
    "Trading Logistics Electronics Foods Medical Software Industries Consulting Materials Energy"
)
_PERSONAL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com")
_LATIN_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")

_TITLES_ZH = _words(
    "总经理 副总经理 采购经理 采购主管 技术总监 财务经理 运营总监 市场经理 行政主管 项目经理 "
    "董事长 销售经理"
)
_TITLES_EN = (
    "CEO",
    "Purchasing Manager",
    "Procurement Lead",
    "CTO",
    "Finance Manager",
    "Operations Director",
    "Marketing Manager",
    "Office Manager",
    "Project Manager",
    "Managing Director",
)
# stage: (weight, days since created (lo, hi), days since last activity (lo, hi))
_STAGES: dict[str, tuple[int, tuple[int, int], tuple[int, int]]] = {
    "new": (10, (1, 90), (0, 14)),
    "prospect": (20, (30, 540), (0, 90)),
    "active": (45, (60, _HISTORY_YEARS_DAYS), (0, 30)),
    "dormant": (15, (400, _HISTORY_YEARS_DAYS), (180, 380)),
    "churned": (10, (500, _HISTORY_YEARS_DAYS), (365, 480)),
}
# (source, utm_source, utm_medium, campaign stem); a campaign gets the year it ran.
_SOURCES = (
    ("官网", "website", "organic", ""),
    ("百度推广", "baidu", "cpc", "brand_search"),
    ("微信公众号", "wechat", "social", "wx_article"),
    ("抖音", "douyin", "video", "short_video"),
    ("展会", "", "", ""),
    ("老客户转介绍", "", "", ""),
    ("电话营销", "", "", ""),
    ("LinkedIn", "linkedin", "social", "outreach"),
    ("Newsletter", "newsletter", "email", "monthly_digest"),
)
_SOURCE_WEIGHTS = (15, 12, 14, 6, 14, 18, 8, 5, 8)
_TAGS_ZH = _words(
    "经销商 老客户 展会客户 潜在大客户 价格敏感 制造业 教育行业 医疗行业 政府项目 华东区"
)
_TAGS_EN = _words("wholesale reseller partner enterprise smb export")
_KEY_ACCOUNT_TAG = "重点客户"
_NEEDS = (
    "需要稳定的供货周期和账期支持",
    "计划明年扩大采购规模，关注批量折扣",
    "希望提供上门安装与培训服务",
    "对售后响应时间要求高（4小时内）",
    "Looking for a long-term supplier with bilingual support",
    "Needs ISO certificates and export documents for every order",
)
_PREFERENCES = (
    "偏好国产品牌，要求开具增值税专用发票",
    "上午不方便接电话，优先微信联系",
    "每季度集中采购一次，周五下午送货",
    "Prefers e-mail; quarterly invoicing in USD",
    "Delivery before 10:00, loading dock B",
)
_NOTES = (
    "客户决策链较长，需要同时联系采购和技术负责人",
    "去年因交期问题有过投诉，已妥善处理",
    "春节前后采购量大，提前备货",
    "Met at the Canton Fair; very price-driven",
    "Decision maker is the regional director",
)

# (product, category, unit price in CNY (lo, hi))
_PRODUCTS: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("企业版软件许可", "软件", (8_000, 60_000)),
    ("年度维护服务", "服务", (3_000, 20_000)),
    ("工业传感器 S200", "硬件", (300, 2_000)),
    ("智能网关 G5", "硬件", (1_200, 5_000)),
    ("云存储 1TB 年付", "云服务", (600, 1_500)),
    ("员工培训课程", "培训", (2_000, 12_000)),
    ("定制开发项目", "项目", (50_000, 400_000)),
    ("办公耗材套装", "耗材", (80, 600)),
    ("Cloud analytics subscription", "云服务", (5_000, 30_000)),
    ("Installation service", "服务", (1_000, 8_000)),
)
_CHANNELS = ("wechat", "call", "email", "meeting", "visit", "social", "other")
_CHANNEL_WEIGHTS = (30, 30, 15, 10, 8, 4, 3)
_SUMMARIES_ZH = (
    "电话沟通{product}报价",
    "微信确认交货时间",
    "拜访客户，介绍新品{product}",
    "发送合同草案并解答疑问",
    "客户咨询{product}售后服务流程",
    "跟进付款进度",
    "年度合作回顾会议",
    "邀请参加新品发布会",
)
_SUMMARIES_EN = (
    "Call about the {product} quote",
    "Sent the revised proposal",
    "Meeting to review the annual contract",
    "Follow-up on the delivery schedule",
    "Demo of {product}",
    "Discussed renewal terms",
)
_OUTCOMES_ZH = (
    "客户有意向，下周回复",
    "已报价，等待确认",
    "需要再次跟进",
    "已成交",
    "客户暂无需求",
    "",
)
_OUTCOMES_EN = (
    "Interested, will reply next week",
    "Quote sent",
    "Needs another call",
    "Closed",
    "",
)
# kind: (SLA in days, Chinese titles, English titles)
_SERVICE: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    "support": (
        3,
        ("系统登录异常", "数据导出失败", "设备离线报警"),
        ("Cannot log in", "Export fails"),
    ),
    "after_sales": (7, ("设备更换配件", "退换货处理"), ("Replace faulty unit", "Return request")),
    "training": (14, ("新员工操作培训", "管理员培训"), ("Admin training", "Onboarding session")),
    "upgrade": (30, ("系统版本升级", "硬件固件升级"), ("Version upgrade", "Firmware update")),
}
_FEEDBACK_ZH = {
    "praise": ("服务很及时，非常满意", "产品质量稳定，值得推荐", "售后响应快，工程师很专业"),
    "suggestion": ("希望能提供更详细的使用培训", "建议支持电子发票", "交货周期可以再缩短"),
    "complaint": ("发货延迟了一周", "客服电话很难打通", "产品有质量问题，退换流程太慢"),
}
_FEEDBACK_EN = {
    "praise": ("Great service, very quick response", "Reliable product, would recommend"),
    "suggestion": ("More detailed training material would help", "Please support e-invoices"),
    "complaint": ("Delivery was a week late", "Support line is hard to reach"),
}
_SCORE_WEIGHTS = (5, 10, 15, 35, 35)  # scores 1…5
_FOLLOWUPS_ZH = (
    "回访客户使用情况",
    "发送报价单",
    "确认合同条款",
    "催收尾款",
    "安排产品演示",
    "续约沟通",
)
_FOLLOWUPS_EN = ("Check in on usage", "Send quote", "Confirm contract terms", "Renewal call")
_RECURRING_ZH, _RECURRING_EN = "定期回访", "Quarterly business review"
_DONE_ZH = ("已完成，客户满意", "已发送，等待回复", "客户要求下月再联系")
_DONE_EN = ("Done, customer happy", "Sent, awaiting reply")
_PRIORITIES = ("low", "normal", "high", "urgent")
_PRIORITY_WEIGHTS = (15, 55, 22, 8)

# Mainland mobile prefixes whose every 8-digit continuation is a valid number
# (the tests check each generated number with phonenumbers).
_CN_MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 "
    "173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199"
)


_NO_PHONE = Phone("", "", "")


@functools.cache
def _example_mobile(country: str) -> str:
    """The region's example mobile number in international layout: `+44 7400 123456`."""
    number = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@dataclass
class _Draft:
    """One customer and its records, before ids exist; links are positions in the chunk."""

    customer: dict[str, Any]
    tags: list[str]
    contacts: list[dict[str, Any]] = field(default_factory=list)
    purchases: list[dict[str, Any]] = field(default_factory=list)
    # (row, index of the contact spoken to in `contacts`, or None)
    communications: list[tuple[dict[str, Any], int | None]] = field(default_factory=list)
    service_items: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Person:
    name: str
    email_name: str  # ascii, for addresses: "wang.fang"
    latin: bool


class _Generator:
    """Draws customers with their history; holds no database state."""

    def __init__(self, seed: int, now: dt.datetime, actor_id: int, owner_ids: Sequence[int]):
        self.seed = seed
        self.rng = random.Random()  # seeded for each customer (see `draft`)
        self.now = now
        self.today = now.date()
        self.actor_id = actor_id
        # The acting user owns a fair share, so their own queue has something in it.
        self.owners = (actor_id, actor_id, *owner_ids)
        self.ordinal = 0

    # -- small draws -------------------------------------------------------------------

    def _chance(self, p: float) -> bool:
        return self.rng.random() < p

    def _days_ago(self, lo: int, hi: int) -> dt.datetime:
        return self.now - dt.timedelta(seconds=self.rng.randint(lo * 86_400, hi * 86_400))

    def _between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        span = max(int((end - start).total_seconds()), 0)
        return start + dt.timedelta(seconds=self.rng.randint(0, span))

    def _office_time(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment in Beijing office hours (01:00–10:00 UTC) within [start, end]."""
        day = self._between(start, end).date()
        moment = dt.datetime.combine(day, dt.time(self.rng.randint(1, 9), self.rng.randint(0, 59)))
        return min(max(moment, start), end)

    def _day_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randint(0, max((end - start).days, 0)))

    def _digits(self, n: int) -> str:
        return f"{self.rng.randrange(10**n):0{n}d}"

    # -- people and places --------------------------------------------------------------

    def _chinese_person(self) -> _Person:
        surname, surname_py = self.rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM_WEIGHTS)[0]
        if self._chance(0.002):
            given = [_RARE_GIVEN]
        else:
            given = [self.rng.choice(_GIVEN) for _ in range(self.rng.choice((1, 2, 2)))]
        name = surname + "".join(h for h, _py in given)
        given_py = "".join(py for _h, py in given)
        email = self.rng.choice((f"{given_py}.{surname_py}", f"{surname_py}{given_py}"))
        return _Person(name, email, latin=False)

    def _latin_person(self, *, chinese_surname: bool = False) -> _Person:
        first = self.rng.choice(_LATIN_FIRST)
        if chinese_surname:  # an English given name, as many use at work
            last = self.rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM_WEIGHTS)[0][1].capitalize()
        else:
            last = self.rng.choice(_LATIN_LAST)
        ascii_last = last.replace("ü", "ue").replace("'", "").lower()
        return _Person(f"{first} {last}", f"{first.lower()}.{ascii_last}", latin=True)

    def _email(self, person: _Person, domain: str | None) -> tuple[str, str]:
        """(normalized, as typed): people type capitals now and then; the store lowers them."""
        if domain is None:
            pool = _LATIN_DOMAINS if person.latin else _PERSONAL_DOMAINS
            domain = self.rng.choice(pool)
            local = person.email_name + (str(self.rng.randint(1, 99)) if self._chance(0.5) else "")
            if not person.latin and domain == "qq.com" and self._chance(0.5):
                local = str(self.rng.randint(10_000_000, 2_999_999_999))  # a QQ number
        else:
            local = person.email_name
        raw = f"{local}@{domain}"
        if self._chance(0.1):
            raw = raw[0].upper() + raw[1:]
        return raw.lower(), raw

    def _cn_mobile(self) -> Phone:
        """A mainland mobile, typed the ways people write them."""
        digits = self.rng.choice(_CN_MOBILE_PREFIXES) + self._digits(8)
        a, b, c = digits[:3], digits[3:7], digits[7:]
        raw = self.rng.choice(
            (digits, digits, f"{a} {b} {c}", f"{a}-{b}-{c}", f"+86 {a} {b} {c}", f"+86{digits}")
        )
        return Phone(f"+86{digits}", raw, f"+86 {a} {b} {c}")

    def _checked(self, make_raw: Callable[[], str], fallback: str) -> Phone:
        """A phone checked by the store's own phone cleaner; made again if invalid."""
        for _attempt in range(5):
            try:
                return clean_phone(make_raw(), region="CN")
            except ValueError:
                continue
        return clean_phone(fallback, region="CN")

    def _cn_landline(self, area: str) -> Phone:
        def make() -> str:
            local = str(self.rng.randint(2, 8)) + self._digits(7)
            return self.rng.choice(
                (f"0{area}-{local}", f"0{area}-{local[:4]} {local[4:]}", f"(0{area}) {local}")
            )

        return self._checked(make, f"0{area}-68881234")

    def _foreign_phone(self, country: str) -> Phone:
        example = _example_mobile(country)

        def make() -> str:
            # Replace the last four digits of the region's example number, keeping its layout.
            chars = list(example)
            positions = [i for i, ch in enumerate(chars) if ch.isdigit()][-4:]
            for i in positions:
                chars[i] = self.rng.choice("0123456789")
            raw = "".join(chars)
            return raw.replace(" ", "-") if self._chance(0.3) else raw

        return self._checked(make, example)

    def _cn_company(self, city: str) -> tuple[str, str]:
        """(name, e-mail domain): 上海华信科技有限公司, huaxintech.com.cn."""
        brand, brand_py = self.rng.choice(_CN_BRANDS)
        industry, industry_py = self.rng.choice(_CN_INDUSTRIES)
        name = f"{city}{brand}{industry}{self.rng.choice(_CN_SUFFIXES)}"
        return name, f"{brand_py}{industry_py}.{self.rng.choice(('com', 'cn', 'com.cn'))}"

    def _en_company(self, suffix: str) -> tuple[str, str]:
        brand = self.rng.choice(_EN_BRANDS)
        industry = self.rng.choice(_EN_INDUSTRIES)
        slug = f"{brand}-{industry}".lower().replace(" ", "")
        return f"{brand} {industry} {suffix}", f"{slug}.com"

    # -- one customer -----------------------------------------------------------------------

    def draft(self) -> _Draft:
        rng = self.rng
        self.ordinal += 1
        # Each customer draws from its own stream: how many numbers a customer consumes
        # depends on how its dates fall relative to today, and that must not change who
        # the next customer is. Customer n of a seed is the same person on every run.
        rng.seed(f"{self.seed}/{self.ordinal}")
        stage = rng.choices(tuple(_STAGES), tuple(w for w, _c, _a in _STAGES.values()))[0]
        _weight, created_span, active_span = _STAGES[stage]
        created = self._days_ago(*created_span)
        last_active = max(self._days_ago(*active_span), created)
        key_account = stage == "active" and self._chance(0.12)

        foreign = _FOREIGN[rng.randrange(len(_FOREIGN))] if self._chance(0.08) else None
        is_company = self._chance(0.7)
        if foreign:
            f_city, region, country, currency, suffix, _rate = foreign
            person = self._latin_person(chinese_surname=self._chance(0.2))
            city, address = f_city, f"{rng.randint(1, 400)} {rng.choice(_EN_BRANDS)} Street"
            company, domain = self._en_company(suffix) if is_company else ("", None)
            phone, alt_phone = self._foreign_phone(country), _NO_PHONE
        else:
            city, region, districts, area, city_en = rng.choices(_CN_CITIES, _CITY_WEIGHTS)[0]
            country, currency = "CN", "CNY"
            if self._chance(0.05):  # "Kevin Zhang": staff of a foreign firm's subsidiary
                person = self._latin_person(chinese_surname=True)
            else:
                person = self._chinese_person()
            address = f"{rng.choice(districts)}{rng.choice(_ROADS)}{rng.randint(1, 999)}号"
            if self._chance(0.4):
                address += f" {rng.randint(1, 12)}栋{rng.randint(1, 30)}{rng.randint(1, 20):02d}室"
            if is_company and person.latin:  # a foreign firm's mainland subsidiary
                company, domain = self._en_company(f"({city_en}) Co., Ltd.")
            elif is_company:
                company, domain = self._cn_company(city)
            else:
                company, domain = "", None
            phone = self._cn_mobile() if self._chance(0.97) else _NO_PHONE
            alt_phone = self._cn_landline(area) if is_company and self._chance(0.15) else _NO_PHONE
        email, email_raw = self._email(person, domain) if self._chance(0.8) else ("", "")
        source, utm_source, utm_medium, campaign = rng.choices(_SOURCES, _SOURCE_WEIGHTS)[0]
        consent = self._chance(0.55)
        tags = set(rng.sample(_TAGS_EN if person.latin else _TAGS_ZH, rng.choice((0, 1, 1, 2, 3))))
        if key_account:
            tags.add(_KEY_ACCOUNT_TAG)
        owner = rng.choice(self.owners) if self._chance(0.97) else None
        title_pool = _TITLES_EN if person.latin else _TITLES_ZH
        customer: dict[str, Any] = {
            "version": 1,
            "created_at": created,
            "updated_at": created,
            "name": person.name,
            "company": company,
            "title": rng.choice(title_pool) if is_company else "",
            "phone": phone.value,
            "phone_raw": phone.raw,
            "phone_display": phone.display,
            "alt_phone": alt_phone.value,
            "alt_phone_raw": alt_phone.raw,
            "alt_phone_display": alt_phone.display,
            "email": email,
            "email_raw": email_raw,
            "address": address,
            "city": city,
            "region": region,
            "country": country,
            "source": source,
            "utm_source": utm_source,
            "utm_medium": utm_medium,
            "utm_campaign": f"{created.year}_{campaign}" if campaign else "",
            "stage": stage,
            "owner": owner,
            "key_account": key_account,
            "needs": rng.choice(_NEEDS) if self._chance(0.3) else "",
            "preferences": rng.choice(_PREFERENCES) if self._chance(0.25) else "",
            "preferred_channel": rng.choice(("", "", *_CHANNELS[:4])),
            "notes": rng.choice(_NOTES) if self._chance(0.2) else "",
            "marketing_consent": consent,
            "consent_date": self._day_between(created.date(), self.today) if consent else None,
            # From what the draft holds already: another draw would change every later draft.
            "consent_source": ("官网表单" if utm_source else "电话确认") if consent else "",
            "consent_withdrawn_on": None,
            "external_id": f"C{created.year}{self.ordinal:07d}" if self._chance(0.3) else "",
            "custom": "{}",
            "last_contact_at": None,
        }
        draft = _Draft(customer, sorted(tags))
        staff = owner or self.actor_id
        if is_company:
            self._contacts(draft, person.latin, domain, foreign is not None, country, created)
        rate = Decimal(foreign[5]) if foreign else Decimal(1)
        self._purchases(draft, stage, key_account, currency, rate, created, last_active)
        self._communications(draft, stage, key_account, person.latin, staff, created, last_active)
        if stage != "new" and self._chance(0.35 if key_account else 0.2):
            self._service_items(draft, person.latin, staff, created)
        if self._chance(0.4) and any(p["status"] == "won" for p in draft.purchases):
            self._feedback(draft, person.latin)
        if stage != "churned":
            self._followups(draft, key_account, person.latin, staff, created)
        times = [row["at"] for row, _contact in draft.communications]
        customer["last_contact_at"] = max(times) if times else None
        return draft

    # -- its records ----------------------------------------------------------------------

    def _contacts(
        self,
        draft: _Draft,
        latin: bool,
        domain: str | None,
        foreign: bool,
        country: str,
        created: dt.datetime,
    ) -> None:
        for index in range(self.rng.choice((1, 1, 2, 2, 3))):
            person = self._latin_person() if latin else self._chinese_person()
            phone = self._foreign_phone(country) if foreign else self._cn_mobile()
            email, email_raw = self._email(person, domain) if self._chance(0.7) else ("", "")
            draft.contacts.append(
                {
                    "version": 1,
                    "created_at": created,
                    "updated_at": created,
                    "customer": None,
                    "name": person.name,
                    "title": self.rng.choice(_TITLES_EN if latin else _TITLES_ZH),
                    "phone": phone.value,
                    "phone_raw": phone.raw,
                    "phone_display": phone.display,
                    "email": email,
                    "email_raw": email_raw,
                    "primary": index == 0,
                    "notes": "",
                }
            )

    def _purchases(
        self,
        draft: _Draft,
        stage: str,
        key_account: bool,
        currency: str,
        rate: Decimal,
        created: dt.datetime,
        last_active: dt.datetime,
    ) -> None:
        rng = self.rng
        counts = {"new": (0, 1), "prospect": (0, 1), "active": (2, 10), "dormant": (1, 5)}
        lo, hi = (8, 25) if key_account else counts.get(stage, (1, 4))
        for _i in range(rng.randint(lo, hi)):
            product, category, (low, high) = rng.choice(_PRODUCTS)
            day = self._day_between(created.date(), last_active.date())
            quantity = rng.choice((1, 1, 1, 2, 3, 5, 10, 20))
            price = Decimal(rng.randint(low * 100, high * 100) * quantity) / 100 / rate
            step = Decimal(1) if currency in _WHOLE_UNIT_CURRENCIES else _CENT
            amount = price.quantize(step).quantize(_CENT)
            recent = (self.today - day).days < 90
            status = rng.choices(("won", "lost", "open"), (80, 12, 8 if recent else 0))[0]
            if stage in ("new", "prospect"):
                status = "open" if recent else "lost"
            draft.purchases.append(
                {
                    "version": 1,
                    "created_at": dt.datetime.combine(day, dt.time(3)),
                    "updated_at": dt.datetime.combine(day, dt.time(3)),
                    "customer": None,
                    "date": day,
                    "product": product,
                    "category": category,
                    "quantity": Decimal(quantity),
                    "amount": amount,
                    "currency": currency,
                    "status": status,
                    "notes": "",
                }
            )

    def _communication(
        self, draft: _Draft, at: dt.datetime, channel: str, staff: int, summary: str, outcome: str
    ) -> None:
        contact = self.rng.randrange(len(draft.contacts)) if draft.contacts else None
        row = {
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "customer": None,
            "at": at,
            "channel": channel,
            "user": staff,
            "contact": None,
            "summary": summary,
            "outcome": outcome,
        }
        draft.communications.append((row, contact))

    def _communications(
        self,
        draft: _Draft,
        stage: str,
        key_account: bool,
        latin: bool,
        staff: int,
        created: dt.datetime,
        last_active: dt.datetime,
    ) -> None:
        rng = self.rng
        counts = {"new": (0, 2), "prospect": (1, 6), "active": (3, 12), "dormant": (1, 5)}
        lo, hi = (8, 20) if key_account else counts.get(stage, (1, 4))
        n = rng.randint(lo, hi)
        for i in range(n):
            # The newest one is the customer's last activity; the rest fall before it.
            start = created if i < n - 1 else max(created, last_active - dt.timedelta(days=2))
            at = self._office_time(start, last_active)
            product = rng.choice(_PRODUCTS)[0]
            summary = rng.choice(_SUMMARIES_EN if latin else _SUMMARIES_ZH).format(product=product)
            outcome = rng.choice(_OUTCOMES_EN if latin else _OUTCOMES_ZH)
            channel = rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
            self._communication(draft, at, channel, staff, summary, outcome)

    def _service_items(self, draft: _Draft, latin: bool, staff: int, created: dt.datetime) -> None:
        rng = self.rng
        for _i in range(rng.randint(1, 3)):
            kind = rng.choice(tuple(_SERVICE))
            sla, titles_zh, titles_en = _SERVICE[kind]
            opened = self._day_between(created.date(), self.today)
            due = opened + dt.timedelta(days=sla)
            resolved = None
            if due < self.today - dt.timedelta(days=30) and self._chance(0.9):
                # Most old items are closed, some late: those are the SLA history.
                resolved = min(opened + dt.timedelta(days=rng.randint(0, sla + 5)), self.today)
                status = rng.choice(("resolved", "closed"))
            else:  # recent, or left open past due: an SLA breach for the queue
                status = rng.choice(("open", "in_progress"))
            draft.service_items.append(
                {
                    "version": 1,
                    "created_at": dt.datetime.combine(opened, dt.time(2)),
                    "updated_at": dt.datetime.combine(resolved or opened, dt.time(2)),
                    "customer": None,
                    "kind": kind,
                    "title": rng.choice(titles_en if latin else titles_zh),
                    "opened_on": opened,
                    "due_on": due,
                    "resolved_on": resolved,
                    "status": status,
                    "assignee": staff,
                    "notes": "",
                }
            )

    def _feedback(self, draft: _Draft, latin: bool) -> None:
        rng = self.rng
        won = [p["date"] for p in draft.purchases if p["status"] == "won"]
        for _i in range(rng.randint(1, 3)):
            day = self._day_between(rng.choice(won), self.today)
            score = rng.choices((1, 2, 3, 4, 5), _SCORE_WEIGHTS)[0]
            kind = "praise" if score == 5 else "complaint" if score <= 2 else "suggestion"
            # Foreign staff in Chinese companies answer in English now and then, and back.
            english = latin != self._chance(0.1)
            draft.feedback.append(
                {
                    "version": 1,
                    "created_at": dt.datetime.combine(day, dt.time(4)),
                    "updated_at": dt.datetime.combine(day, dt.time(4)),
                    "customer": None,
                    "date": day,
                    "channel": rng.choice(("wechat", "email", "call", "other")),
                    "score": score,
                    "kind": kind,
                    "comment": rng.choice((_FEEDBACK_EN if english else _FEEDBACK_ZH)[kind]),
                }
            )

    def _followups(
        self, draft: _Draft, key_account: bool, latin: bool, staff: int, created: dt.datetime
    ) -> None:
        rng = self.rng
        now = self.now
        end_of_day = dt.datetime.combine(self.today, dt.time(23, 59))
        plans: list[tuple[str, dt.datetime, str]] = []  # (when, due, recurrence)
        for _i in range(rng.choice((0, 1, 1, 2, 3))):
            when = rng.choices(("overdue", "today", "later", "done"), (25, 10, 40, 25))[0]
            if when == "overdue":
                due = max(self._days_ago(1, 30), created)
            elif when == "today":
                due = min(self._between(now, end_of_day) + dt.timedelta(minutes=1), end_of_day)
            elif when == "later":
                due = now + dt.timedelta(minutes=rng.randint(24 * 60, 60 * 24 * 60))
            else:
                due = max(self._days_ago(2, 200), created)
            plans.append((when, due.replace(second=0), ""))
        if key_account or self._chance(0.04):
            # 定期回访: key accounts get a regular visit; some already fell behind.
            due = now + dt.timedelta(days=rng.randint(-20, 80))
            plans.append(("recurring", due.replace(second=0), rng.choice(("monthly", "quarterly"))))
        for when, due, recurrence in plans:
            title = rng.choice(_FOLLOWUPS_EN if latin else _FOLLOWUPS_ZH)
            if recurrence:
                title = _RECURRING_EN if latin else _RECURRING_ZH
            # Most follow-ups are the owner's; some were handed to the acting user.
            assignee = self.actor_id if self._chance(0.1) else staff
            done_at = outcome = None
            status = "open"
            if when == "done":
                status = "done"
                done_at = min(due + dt.timedelta(hours=rng.randint(0, 72)), now)
                outcome = rng.choice(_DONE_EN if latin else _DONE_ZH)
                # As when a user completes one: the outcome is logged as a communication.
                self._communication(draft, done_at, "other", assignee, title, outcome)
            elif when in ("later", "recurring") and self._chance(0.05):
                status = "cancelled"
            draft.followups.append(
                {
                    "version": 1,
                    "created_at": min(created + dt.timedelta(days=1), now),
                    "updated_at": done_at or min(created + dt.timedelta(days=1), now),
                    "customer": None,
                    "title": title,
                    "due_at": due,
                    "priority": rng.choices(_PRIORITIES, _PRIORITY_WEIGHTS)[0],
                    "assignee": assignee,
                    "status": status,
                    "recurrence": recurrence,
                    "snoozed_until": None,
                    "done_at": done_at,
                    "outcome": outcome or "",
                    "notes": "",
                }
            )


def _created_history(actor: Actor, draft: _Draft, customer_id: int) -> dict[str, Any]:
    """The history row `records.insert` writes for a new customer, dated when it was made."""
    return {
        "at": draft.customer["created_at"],
        "user_id": actor.id,
        "user_name": actor.name,
        "entity": CUSTOMER_ENTITY.name,
        "entity_id": customer_id,
        "customer_id": customer_id,
        "action": "create",
        "field": None,
        "old_value": None,
        "new_value": None,
    }


def _write_chunk(
    writer: Writer, actor: Actor, drafts: Sequence[_Draft], counts: dict[str, int]
) -> None:
    customer_ids = writer.insert_with_ids(m.Customer, [d.customer for d in drafts])
    for draft, customer_id in zip(drafts, customer_ids, strict=True):
        owned = (*draft.contacts, *draft.purchases, *draft.service_items, *draft.feedback)
        for row in (*owned, *draft.followups, *(row for row, _c in draft.communications)):
            row["customer"] = customer_id
    contacts = [row for d in drafts for row in d.contacts]
    contact_ids = iter(writer.insert_with_ids(m.Contact, contacts))
    for draft in drafts:
        own_contacts = [next(contact_ids) for _row in draft.contacts]
        for row, contact in draft.communications:
            row["contact"] = None if contact is None else own_contacts[contact]

    def rows(kind: str) -> list[dict[str, Any]]:
        return [row for d in drafts for row in getattr(d, kind)]

    pairs = list(zip(drafts, customer_ids, strict=True))
    counts["customers"] += len(customer_ids)
    counts["contacts"] += len(contacts)
    counts["tags"] += writer.insert(
        m.CustomerTag, [{"customer": cid, "tag": tag} for d, cid in pairs for tag in d.tags]
    )
    counts["purchases"] += writer.insert(m.Purchase, rows("purchases"))
    counts["communications"] += writer.insert(
        m.Communication, [row for d in drafts for row, _c in d.communications]
    )
    counts["service_items"] += writer.insert(m.ServiceItem, rows("service_items"))
    counts["feedback"] += writer.insert(m.Feedback, rows("feedback"))
    counts["followups"] += writer.insert(m.FollowUp, rows("followups"))
    counts["history"] += writer.insert(
        m.History, [_created_history(actor, d, cid) for d, cid in pairs]
    )
    search.index_new([_search_document(d, cid) for d, cid in pairs])


def _search_document(draft: _Draft, customer_id: int) -> search.Document:
    """The search document `search.index_customer` would write, made from the draft in hand."""
    customer = draft.customer
    return search.terms(
        name=customer["name"],
        company=customer["company"],
        email=customer["email"],
        notes=customer["notes"],
        phones=[customer["phone"], customer["alt_phone"], *(c["phone"] for c in draft.contacts)],
        contact_names=[c["name"] for c in draft.contacts],
        index=False,
    ).document(customer_id)


def load_demo(
    actor: Actor,
    customers: int,
    *,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Add `customers` demo customers with their history; `progress(done)` after each chunk.

    Sales users to own them are created if missing. Each chunk of customers commits on its
    own, so an interrupted load keeps the whole customers written so far.
    """
    authorize(actor, DEMO_LOAD)
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValidationError.single(
            "customers",
            _("must be from 1 to {n:,}, not {value}").format(n=MAX_CUSTOMERS, value=customers),
        )
    names = [name for name, _full, _role in SALES_USERS]
    existing = m.User.select().where(m.User.name.in_(names)).count()
    owner_ids = ensure_users(list(SALES_USERS))
    generator = _Generator(seed, m.utcnow(), actor.id, [owner_ids[n] for n in names])
    counts = dict.fromkeys((f.name for f in fields(DemoSummary)), 0)
    counts["users"] = len(names) - existing
    writer = Writer()
    done = 0
    while done < customers:
        drafts = [generator.draft() for _i in range(min(CHUNK, customers - done))]
        with write_transaction():
            _write_chunk(writer, actor, drafts, counts)
        done += len(drafts)
        if progress is not None:
            progress(done)
    return DemoSummary(**counts)
