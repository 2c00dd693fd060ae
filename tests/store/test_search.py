"""Search as you type on both backends: every field by substrings of every length, phones in
any layout, the index kept in step with every write, agreeing with a brute-force scan, and
pages in name order read from the index."""

import random
import re
import unicodedata
from collections.abc import Callable, Iterable

import peewee
import pytest

from crmtui.store import customers, demo, search, timeline
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.demo import load_demo
from crmtui.store.errors import ConflictError, PermissionDeniedError
from crmtui.store.search import SearchIndexMissing
from crmtui.store.types import Actor, Customer, CustomerQuery

from .conftest import Counts


def found(actor: Actor, term: str, **query: object) -> set[int]:
    """Ids of the customers a search finds, checked against the count the table shows."""
    q = CustomerQuery(search=term, **query)  # type: ignore[arg-type]
    page = customers.list_customers(actor, q, limit=None)
    ids = {c.id for c in page.rows}
    assert customers.count_customers(actor, q) == len(ids) == page.total, term
    return ids


def names(actor: Actor, term: str) -> set[str]:
    return {c.name for c in customers.list_customers(actor, CustomerQuery(search=term)).rows}


# -- every field, every length -------------------------------------------------------------------


@pytest.fixture
def people(actor: Actor) -> dict[str, Customer]:
    zhang = customers.add_customer(
        actor,
        {
            "name": "张伟",
            "company": "北京星河科技有限公司",
            "phone": "138 1234 5678",
            "alt_phone": "021-6888 1234",
            "email": "Zhang.Wei88@XingHe.cn",
            "notes": "去年因交期问题有过投诉\n已妥善处理",
        },
    )
    ouyang = customers.add_customer(
        actor, {"name": "欧阳娜娜", "company": "Northwind Trading Inc.", "phone": "13987654321"}
    )
    emily = customers.add_customer(
        actor,
        {
            "name": "Emily O'Brien",
            "company": "Contoso Logistics",
            "phone": "+1 650 253 0000",
            "email": "emily@contoso.com",
            "notes": "Met at the Canton Fair; very price-driven",
        },
    )
    other = customers.add_customer(actor, {"name": "李娜", "company": "上海华信贸易有限公司"})
    timeline.add_record(
        actor, timeline.CONTACT, other.id, {"name": "王芳", "phone": "186 0000 1111"}
    )
    timeline.add_record(actor, timeline.CONTACT, emily.id, {"name": "Kevin Zhang"})
    return {"zhang": zhang, "ouyang": ouyang, "emily": emily, "other": other}


def by_key(people: dict[str, Customer], keys: Iterable[str]) -> set[int]:
    return {people[key].id for key in keys}


FINDS = [
    # Chinese names: one, two and three characters, from any place in the name
    ("张", {"zhang"}),
    ("伟", {"zhang"}),
    ("张伟", {"zhang"}),
    ("欧", {"ouyang"}),
    ("欧阳", {"ouyang"}),
    ("阳娜", {"ouyang"}),
    ("欧阳娜娜", {"ouyang"}),
    ("娜", {"ouyang", "other"}),
    # companies, Chinese and English, any case
    ("星", {"zhang"}),
    ("星河", {"zhang"}),
    ("星河科技", {"zhang"}),
    ("有限公司", {"zhang", "other"}),
    ("north", {"ouyang"}),
    ("NORTHWIND", {"ouyang"}),
    ("Trading Inc", {"ouyang"}),  # two words, both held
    ("ogis", {"emily"}),
    # English names, any case, apostrophes kept
    ("emily", {"emily"}),
    ("O'BRIEN", {"emily"}),
    ("'b", {"emily"}),
    # e-mail addresses, stored lower-case, typed in any case
    ("zhang.wei88@", {"zhang"}),
    ("XINGHE.CN", {"zhang"}),
    ("@c", {"emily"}),
    ("88", {"zhang"}),
    ("@", set()),  # one character: looked for in names only (it is in every e-mail address)
    # notes, over lines
    ("投诉", {"zhang"}),
    ("交期问题", {"zhang"}),
    ("妥善处理", {"zhang"}),
    ("投", set()),  # one character: names only
    ("canton fair", {"emily"}),
    ("price-driven", {"emily"}),
    # contact names
    ("王", {"other"}),
    ("王芳", {"other"}),
    ("kevin", {"emily"}),
    ("zhang", {"zhang", "emily"}),  # an e-mail and a contact
    # full-width forms are their ASCII selves
    ("ＮＯＲＴＨ", {"ouyang"}),
    ("１３８", {"zhang"}),
    # several words: all of them
    ("张伟 星河", {"zhang"}),
    ("星河 张伟", {"zhang"}),
    ("张伟 northwind", set()),
    ("娜 上海", {"other"}),
    # nothing
    ("nobody", set()),
    ("%", set()),
    ("_", set()),
    ('"', set()),
    ("AND", set()),  # FTS5 query words are text here
    ("NEAR", set()),
    ("NOT", set()),
    ("*", set()),
]


def test_every_field_by_any_part(
    actor: Actor, people: dict[str, Customer], subtests: pytest.Subtests
) -> None:
    for term, keys in FINDS:
        with subtests.test(term=term):
            assert found(actor, term) == by_key(people, keys)


PHONES = [
    # a mobile typed every way people type one
    ("138 1234 5678", {"zhang"}),
    ("13812345678", {"zhang"}),
    ("138-1234-5678", {"zhang"}),
    ("+86 138 1234 5678", {"zhang"}),
    ("+8613812345678", {"zhang"}),
    ("(+86) 138-1234-5678", {"zhang"}),
    ("１３８ １２３４ ５６７８", {"zhang"}),
    # as it is typed, key by key
    ("138", {"zhang"}),
    ("1381", {"zhang"}),
    ("138123456", {"zhang"}),
    ("+86 1", {"zhang", "ouyang", "other"}),
    # by its last digits
    ("5678", {"zhang"}),
    ("45678", {"zhang"}),
    ("1234 5678", {"zhang"}),
    ("12345678", {"zhang"}),
    # a landline, with its area code and without
    ("021-6888 1234", {"zhang"}),
    ("(021) 68881234", {"zhang"}),
    ("021", {"zhang"}),
    ("6888", {"zhang"}),
    ("+86 21 6888", {"zhang"}),
    # a contact's phone finds its customer
    ("186 0000 1111", {"other"}),
    ("1111", {"other"}),
    # a number of another country, with its +; its digits alone are a number of this region
    ("+1 650 253 0000", {"emily"}),
    ("+1 650", {"emily"}),
    ("2530000", {"emily"}),
    ("650 253 0000", set()),
    # more than eight digits are a number from its start, not a run from its middle
    ("812345678", set()),
    # two digits are text, not a phone
    ("13", set()),
]


def test_phones_in_any_layout(
    actor: Actor, people: dict[str, Customer], subtests: pytest.Subtests
) -> None:
    for term, keys in PHONES:
        with subtests.test(term=term):
            assert found(actor, term) == by_key(people, keys)


def test_digits_are_searched_in_text_too(actor: Actor) -> None:
    qq = customers.add_customer(actor, {"name": "QQ", "email": "2876543210@qq.com"})
    dated = customers.add_customer(actor, {"name": "Dated", "notes": "renewal 2025-03-05"})
    assert found(actor, "2876543210") == {qq.id}  # ten digits: not a phone of anybody's
    assert found(actor, "876543") == {qq.id}
    assert found(actor, "2025-03-05") == {dated.id}


# -- kept in step with every write ---------------------------------------------------------------


def test_editing_a_name_replaces_its_terms(actor: Actor, people: dict[str, Customer]) -> None:
    zhang = people["zhang"]
    customers.update_customer(actor, zhang.id, {"name": "赵敏"}, zhang.version)
    assert found(actor, "张伟") == set()
    assert found(actor, "张") == set()
    assert found(actor, "赵敏") == {zhang.id}
    assert found(actor, "敏") == {zhang.id}
    assert found(actor, "星河") == {zhang.id}  # the rest stays


def test_editing_phone_email_and_notes(actor: Actor, people: dict[str, Customer]) -> None:
    zhang = people["zhang"]
    changes = {"phone": "13900002222", "email": "zw@example.org", "notes": ""}
    customers.update_customer(actor, zhang.id, changes, zhang.version)
    assert found(actor, "5678") == set()
    assert found(actor, "0000 2222") == {zhang.id}
    assert found(actor, "xinghe") == set()
    assert found(actor, "example") == {zhang.id}
    assert found(actor, "投诉") == set()


def test_contacts_are_kept_in_step(actor: Actor, people: dict[str, Customer]) -> None:
    other = people["other"]
    contact = timeline.add_record(actor, timeline.CONTACT, other.id, {"name": "周杰"})
    assert found(actor, "周杰") == {other.id}
    timeline.update_record(actor, timeline.CONTACT, contact.id, {"name": "孙丽"}, contact.version)
    assert found(actor, "周杰") == set()
    assert found(actor, "孙丽") == {other.id}
    timeline.delete_record(actor, timeline.CONTACT, contact.id)
    assert found(actor, "孙丽") == set()
    assert found(actor, "李娜") == {other.id}


def test_deleting_a_customer_removes_its_rows(actor: Actor, people: dict[str, Customer]) -> None:
    before = m.SearchDoc.select().count()
    customers.delete_customer(actor, people["zhang"].id)
    assert m.SearchDoc.select().count() == before - 1
    assert found(actor, "星河") == set()
    assert found(actor, "5678") == set()
    db = store_db.current_database()
    if not store_db.is_postgres(db):  # the FTS5 table loses the row too, not only search_doc
        assert db.execute_sql("SELECT count(*) FROM search_fts").fetchone()[0] == before - 1


def test_a_refused_write_leaves_the_index(
    actor: Actor, people: dict[str, Customer], counts: Counts
) -> None:
    before = counts()
    zhang = people["zhang"]
    with pytest.raises(ConflictError):
        customers.update_customer(actor, zhang.id, {"name": "赵敏"}, zhang.version + 5)
    assert counts() == before
    assert found(actor, "张伟") == {zhang.id}


# -- agreeing with a brute-force scan ------------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


Row = tuple[list[str], list[str], list[str]]  # names (name, company, contacts), text, phones


def _scan(rows: dict[int, Row], term: str) -> set[int]:
    """The customers a term should find, by reading every one: each word of the term in one
    of its texts (a single character: in one of its names); a run of 3 to 8 digits also in
    its phones (E.164), or from the area code on (0 dropped, +86 put) as a number of this
    region."""
    hits = set()
    words = _fold(term).split()
    for cid, (names, texts, phones) in rows.items():
        folded_names = [_fold(t) for t in names]
        folded = folded_names + [_fold(t) for t in texts]

        def holds(
            word: str, names: list[str] = folded_names, folded: list[str] = folded, phones=phones
        ) -> bool:
            if any(word in t for t in (names if len(word) == 1 else folded)):
                return True
            if re.fullmatch(r"\d{3,8}", word):
                local = "+86" + word[1:] if word.startswith("0") else None
                return any(word in p or (local and local in p) for p in phones)
            return False

        if all(holds(word) for word in words):
            hits.add(cid)
    return hits


@pytest.fixture
def demo_rows(actor: Actor, monkeypatch: pytest.MonkeyPatch) -> dict[int, Row]:
    """A few hundred demo customers, read back as (names, texts, phones) per customer."""
    monkeypatch.setattr(demo, "CHUNK", 128)
    load_demo(actor, 300, seed=5)
    contacts: dict[int, list[tuple[str, str]]] = {}
    for cid, name, phone in m.Contact.select(
        m.Contact.customer, m.Contact.name, m.Contact.phone
    ).tuples():
        contacts.setdefault(cid, []).append((name, phone))
    rows = {}
    for c in m.Customer.select():
        own = contacts.get(c.id, [])
        names = [c.name, c.company, *(n for n, _p in own)]
        phones = [p for p in (c.phone, c.alt_phone, *(p for _n, p in own)) if p]
        rows[c.id] = (names, [c.email, c.notes], phones)
    return rows


def _random_terms(rows: dict[int, Row], rng: random.Random, n: int) -> list[str]:
    terms = []
    customers_ = list(rows.values())
    while len(terms) < n:
        names, texts, phones = rng.choice(customers_)
        if rng.random() < 0.2 and phones:
            digits = rng.choice(phones).lstrip("+")
            length = rng.randint(3, 8)
            start = rng.randint(0, len(digits) - length)
            terms.append(digits[start : start + length])
            continue
        text = rng.choice([t for t in names + texts if t.strip()])
        length = rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5, 7))
        start = rng.randint(0, max(0, len(text) - length))
        term = text[start : start + length].strip()
        if term:
            terms.append(term)
    # and some that may match nobody, or everybody
    terms += ["zz", "qq.com", "有限", "公司", "王", "a", "e", "1", "0000", "wei", "ou"]
    return terms


def test_index_agrees_with_a_scan(
    actor: Actor, demo_rows: dict[int, Row], subtests: pytest.Subtests
) -> None:
    rng = random.Random(11)
    for term in _random_terms(demo_rows, rng, 150):
        with subtests.test(term=term):
            expected = _scan(demo_rows, term)
            got = found(actor, term)
            assert got == expected, (sorted(got - expected)[:5], sorted(expected - got)[:5])


def test_rebuild_gives_what_was_kept(actor: Actor, demo_rows: dict[int, Row]) -> None:
    # Some edits first, so the kept index has seen more than the bulk load.
    first = customers.list_customers(actor, CustomerQuery(sort="id"), limit=3).rows
    customers.update_customer(actor, first[0].id, {"name": "新名字", "notes": "备注"}, None)
    customers.delete_customer(actor, first[1].id)
    timeline.add_record(
        actor, timeline.CONTACT, first[2].id, {"name": "Zoë Ng", "phone": "13311112222"}
    )

    def snapshot() -> tuple[list[tuple], dict[str, set[int]]]:
        docs = sorted(m.SearchDoc.select().tuples())
        terms = ["新名字", "备注", "zoë", "1111", "王", "有限公司", "gmail", "a", "+86 13"]
        return docs, {term: found(actor, term) for term in terms}

    kept = snapshot()
    done: list[int] = []
    assert search.rebuild_search_index(actor, done.append) == len(demo_rows) - 1
    assert done and done[-1] == len(demo_rows) - 1
    assert snapshot() == kept


def test_demo_customers_are_searchable(actor: Actor) -> None:
    load_demo(actor, 40, seed=2)
    assert m.SearchDoc.select().count() == m.Customer.select().count() == 40
    for c in customers.list_customers(actor, CustomerQuery(sort="id"), limit=10).rows:
        assert c.id in found(actor, c.name)
        if c.phone:
            assert c.id in found(actor, c.phone[-4:])
            assert c.id in found(actor, c.phone)


# -- pages in name order -------------------------------------------------------------------------


def _sorted_ids(actor: Actor, term: str, descending: bool) -> list[int]:
    """The matches in the order SQL sorts them (all of them: never read from the index)."""
    q = CustomerQuery(search=term, descending=descending)
    rows = customers.list_customers(actor, q, limit=None).rows
    if not store_db.is_postgres():  # SQLite compares names by code point, as Python does
        assert list(rows) == sorted(rows, key=lambda c: (c.name, c.id), reverse=descending)
    return [c.id for c in rows]


@pytest.fixture
def crowd(actor: Actor) -> None:
    """Names sharing their first bytes, added out of name order, with repeats."""
    rng = random.Random(3)
    stems = ["王伟", "王伟明", "王伟华", "王芳", "王", "Emily", "Emil", "Em", "Emily Zhou", "Ema"]
    for i in range(60):
        name = rng.choice(stems) + rng.choice(["", "", "甲", "乙", "a", "b"])
        customers.add_customer(actor, {"name": name, "notes": "crowd" if i % 3 else "other"})


def test_pages_follow_name_order(actor: Actor, crowd: None, subtests: pytest.Subtests) -> None:
    for term in ("crowd", "王", "王伟", "em", "e", "a", "o"):
        for descending in (False, True):
            with subtests.test(term=term, descending=descending):
                _check_pages(actor, CustomerQuery(search=term, descending=descending))


def _check_pages(actor: Actor, q: CustomerQuery) -> None:
    """Every way the store pages gives the matches in the order SQL sorts them."""
    expected = _sorted_ids(actor, q.search, q.descending)
    for size in (7, 50):
        listed = [
            c.id
            for start in range(0, len(expected) + size, size)  # and a page past the end
            for c in customers.list_customers(actor, q, offset=start, limit=size).rows
        ]
        assert listed == expected
        at = [
            c.id
            for start in range(0, len(expected), size)
            for c in customers.customers_at(actor, q, offset=start, limit=size)
        ]
        assert at == expected
    # walking on from the last row read (the table), forwards and backwards
    walked: list[Customer] = []
    while page := customers.customers_after(actor, q, walked[-1] if walked else None, limit=9):
        walked += page
    assert [c.id for c in walked] == expected
    back: list[Customer] = []
    while page := customers.customers_before(actor, q, back[0] if back else None, limit=9):
        back = list(page) + back
    assert [c.id for c in back] == expected


def test_index_pages_match_sql_pages(actor: Actor, crowd: None) -> None:
    """On SQLite the index gives the page; it must be the page SQL sorting gives."""
    if store_db.is_postgres():
        assert search.Search("王", "CN").page() is None  # PostgreSQL pages in SQL
        return
    for term in ("王", "王伟", "em", "crowd"):
        for descending in (False, True):
            q = CustomerQuery(search=term, descending=descending)
            sql = customers._ordered(customers._filtered(q), q).limit(30)
            expected = [row.id for row in sql]
            assert search.Search(term, "CN").page(descending=descending, limit=30) == expected


# -- a database made before search ---------------------------------------------------------------


def test_a_database_without_the_index_asks_for_a_rebuild(
    actor: Actor, db: str, make_actor: Callable[..., Actor]
) -> None:
    zhang = customers.add_customer(actor, {"name": "张伟", "phone": "13812345678"})
    # What a database made before search holds: everything but the search tables.
    database = store_db.current_database()
    if not store_db.is_postgres(database):
        database.execute_sql("DROP TABLE search_fts")
    m.SearchDoc.drop_table(cascade=store_db.is_postgres(database))
    store_db.close_database()
    store_db.open_database(db)  # opening leaves the index to be built, not made empty
    assert not m.SearchDoc.table_exists()
    with pytest.raises(SearchIndexMissing, match="crmtui reindex"):
        customers.list_customers(actor, CustomerQuery(search="张伟"))
    with pytest.raises(SearchIndexMissing):
        customers.add_customer(actor, {"name": "李娜"})
    assert customers.count_customers(actor) == 1  # the refused add wrote nothing
    with pytest.raises(PermissionDeniedError):
        search.rebuild_search_index(make_actor("s", "sales"))
    assert search.rebuild_search_index(actor) == 1
    assert found(actor, "张伟") == found(actor, "5678") == {zhang.id}
    customers.add_customer(actor, {"name": "李娜"})
    assert len(found(actor, "娜")) == 1


def test_a_version_1_database_drops_its_old_index_and_asks_for_a_rebuild(
    actor: Actor, db: str
) -> None:
    """Schema 1 kept all of a document's text in one column; opening such a database drops
    that index (derived data) rather than searching it wrongly."""
    zhang = customers.add_customer(actor, {"name": "张伟", "email": "zw@example.com"})
    database = store_db.current_database()
    search.drop_index(database)
    database.execute_sql(  # the version 1 document table
        "CREATE TABLE search_doc (sort_key BIGINT PRIMARY KEY, customer_id INTEGER NOT NULL, "
        "name VARCHAR(200) NOT NULL, text TEXT NOT NULL, phones TEXT NOT NULL)"
    )
    database.execute_sql("UPDATE schema_version SET version = 1")
    store_db.close_database()
    store_db.open_database(db)
    assert [row.version for row in store_db.SchemaVersion.select()] == [store_db.SCHEMA_VERSION]
    assert not m.SearchDoc.table_exists()
    with pytest.raises(SearchIndexMissing, match="crmtui reindex"):
        customers.list_customers(actor, CustomerQuery(search="张伟"))
    assert search.rebuild_search_index(actor) == 1
    assert found(actor, "张伟") == found(actor, "zw@") == {zhang.id}


def test_database_error_is_not_hidden(actor: Actor) -> None:
    """A broken index is a database error, not "no results"."""
    database = store_db.current_database()
    if store_db.is_postgres(database):
        database.execute_sql("DROP FUNCTION crmtui_search_grams(text) CASCADE")
    else:
        database.execute_sql("DROP TABLE search_fts")
    with pytest.raises(peewee.DatabaseError):
        customers.list_customers(actor, CustomerQuery(search="张"))
