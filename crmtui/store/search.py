"""Search as you type (SPEC F4): customers found by any part of their name, company, contact
names, e-mail, notes or phone numbers, through indexes, fast at a million customers.

What is searched. Each customer has one search document (`models.SearchDoc`), rewritten in the
same transaction as every write that changes what it holds, its texts normalized (NFKC, so
full-width letters and digits become ASCII; case-folded; whitespace runs made one space):
- `names`: the name, the company and the contact names, a line each;
- `text`: the e-mail address and the notes, a line each;
- `phones`: the customer's and its contacts' phone numbers, E.164 (`+8613812345678`).
A search term is normalized the same way and split into words; a customer matches when every
word occurs in its names or text (a substring, so 伟 finds 张伟 and "mith" finds Smith). A word
of one character is looked for in the names only: one letter is in nearly every e-mail address
(c in 83% of a million), so it found nearly everyone, and counting them took 200 ms. A term
shaped like a phone number (digits with spaces, dashes, dots, brackets, a leading +) is one word
read as a phone; see `_phone_clause` for the rules.

How it is indexed. Substring search needs n-grams: most Chinese names have two or three
characters and `unicode61` does not split Chinese text into words at all; FTS5's trigram
tokenizer cannot look up a term shorter than three characters (≈ 770 ms for a two-character
term at 1,000,000 customers, by scanning). So the grams are made here, in Python, and FTS5
stores them: one contentless table, `search_fts`, keyed by the document's `sort_key`, whose
`ascii` tokenizer takes each gram as one token (written in hex, which it cannot split):
- `names`, `text`, `phones`: each word's trigrams in order, then a word-end token, with
  positions. A word of three or more characters is the phrase of its trigrams, which FTS5
  matches exactly (consecutive positions: no re-check), and never across two words.
- `short`: the distinct two-character grams of names and text and the single characters of
  the names, for shorter words.
One MATCH expression then asks for every word at once and FTS5 intersects the lists in C:
"James H" (a phrase and a short gram) took 1 ms at 100,000 customers this way, 40–200 ms
when the short grams sat in a table of their own. FTS5 keeps each gram's documents
delta-encoded, under 2 bytes an entry where a B-tree table of (gram, customer) rows took 14
(all 1- to 3-grams of 100,000 customers: 13 MB against 128 MB). At 1,000,000 demo customers
search_fts takes 690 MB and search_doc 170 MB: 27% on top of the 3.3 GB database.
On PostgreSQL one SQL function (`crmtui_search_grams`) makes the one- to three-character grams,
a GIN index over it per column finds the documents holding all of a word's grams, and
`strpos` keeps those holding the word itself. No extension is needed.
Counting is the cost that remains: FTS5 reads every match's positions, 0.2–0.9 µs each, so a
term matching half a million customers takes 100–400 ms to count (see docs/BENCHMARKS.md).

Why `sort_key`. The table shows matches sorted by name. With a common term (a surname: 9% of a
million customers) reading every match to sort it took 200–800 ms, and walking the name index
until a page of matches turns up is as slow when the matches sit late in name order (every
Chinese name sorts after every Latin one). So on SQLite the index's row ids follow name order:
`sort_key` is the first four bytes of the name (UTF-8, the order SQLite compares names in) and
then the customer id. Reading matches in row-id order reads them in name order, give or take
names sharing those four bytes, which `_page` sorts exactly; a page reads about a page of
matches, whatever the term. PostgreSQL orders names by its collation, so it pages in SQL.
"""

import functools
import json
import operator
import re
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

import peewee

from crmtui.i18n import _
from crmtui.store import models as m
from crmtui.store.db import current_database, is_postgres, write_transaction
from crmtui.store.errors import StoreError
from crmtui.store.permissions import SEARCH_REBUILD, authorize
from crmtui.store.types import Actor
from crmtui.store.validation import phone_search_key

# Customer columns held in the search document: a change to any of them rewrites it.
INDEXED_COLUMNS = frozenset({"name", "company", "email", "notes", "phone", "alt_phone"})

_ID_BITS = 31  # PostgreSQL's serial ids stop below 2**31; the name prefix takes the 32 above
_ID_MASK = (1 << _ID_BITS) - 1
_PREFIX_BYTES = 4
_SHORT = 3  # words shorter than this are looked up among the short grams
_CHUNK = 20_000  # customers read and indexed at once by a rebuild
# A run of digits this long is more than a subscriber number: it is read as a whole number from
# its start (the area code or mobile prefix), in the configured region. Shorter runs (the last
# four to eight digits, an area code) are found wherever they occur in a number.
_WHOLE_NUMBER_DIGITS = 9
# Digits in any layout, with a + before them all: 138 1234 5678, (+86) 138-1234-5678.
_PHONE_SHAPE = re.compile(r"[ (]*(\+)?[0-9 ().\-]+")

# Where a needle is looked for: columns of search_doc (and of search_fts).
WORDS = ("names", "text")
NAMES, PHONES, ANYWHERE = ("names",), ("phones",), ("names", "text", "phones")

_WORD_END = "z"  # after each word's trigrams: hex has no z, so no phrase runs into the next word
_SQLITE_DDL = (
    # Contentless: the text lives once, in search_doc. Rows go by row id (contentless_delete).
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(names, text, phones, short, "
    "content='', contentless_delete=1, tokenize='ascii')",
    # Whatever removes a document (a customer deleted, so its document by cascade, or a
    # document rewritten) removes its index row in the same statement.
    "CREATE TRIGGER IF NOT EXISTS search_doc_deleted AFTER DELETE ON search_doc BEGIN "
    "DELETE FROM search_fts WHERE rowid = old.sort_key; END",
)
# What `_SQLITE_DDL` makes, by name (opening a database checks they are there).
SQLITE_OBJECTS = ("search_fts", "search_doc_deleted")
_SQLITE_DROP = ("DROP TRIGGER IF EXISTS search_doc_deleted", "DROP TABLE IF EXISTS search_fts")
# Every one- to three-character gram of the document's words, which `normalize` separates by a
# space or a newline (GIN drops repeated grams). Written as one set-returning SELECT: a version
# splitting with regexp_split_to_table took 13 ms a document, a PL/pgSQL loop grows its array
# in quadratic time on long notes; this one takes about 0.2 ms. The high COST makes the planner
# read the GIN index rather than call the function on every row of a small table.
_POSTGRES_FUNCTION = r"""
CREATE FUNCTION crmtui_search_grams(doc text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
  SELECT ARRAY(
    SELECT substr(w.word, i, n)
    FROM unnest(string_to_array(translate(doc, E'\n', ' '), ' ')) AS w(word)
    CROSS JOIN generate_series(1, 3) AS n
    CROSS JOIN LATERAL generate_series(1, length(w.word) - n + 1) AS i)
$$
"""
_POSTGRES_INDEXES = {
    f"search_doc_{column}_grams": f"CREATE INDEX IF NOT EXISTS search_doc_{column}_grams "
    f"ON search_doc USING gin (crmtui_search_grams({column}))"
    for column in ANYWHERE
}


class SearchIndexMissing(StoreError):
    def __init__(self) -> None:
        super().__init__(
            _("this database has no search index yet: run `crmtui reindex` to build it")
        )


# -- what is indexed -----------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Text as it is indexed and searched: NFKC (full-width forms become ASCII), case-folded,
    each run of whitespace one space."""
    if text.isascii():  # most of it (e-mail, phones, Latin names): the same, five times faster
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def sort_key(name: str, customer_id: int) -> int:
    """The document's row id: the name's first four UTF-8 bytes, then the customer id.

    Keys compare as the names do (SQLite compares text as UTF-8 bytes), except that names
    sharing those bytes compare by id; `_page` puts those in exact order.
    """
    return _with_id(_name_prefix(name), customer_id)


def _name_prefix(name: str) -> int:
    prefix = name.encode("utf-8", "surrogatepass")[:_PREFIX_BYTES].ljust(_PREFIX_BYTES, b"\0")
    return int.from_bytes(prefix, "big") << _ID_BITS


def _with_id(prefix: int, customer_id: int) -> int:
    if not 0 < customer_id <= _ID_MASK:
        raise StoreError(_("customer id {id} is too large to index").format(id=customer_id))
    return prefix | customer_id


@dataclass(frozen=True)
class Document:
    """One customer's search document, as `models.SearchDoc` holds it."""

    sort_key: int
    customer_id: int
    name: str  # as stored in the customer row, for exact name order
    names: str
    text: str
    phones: str


@dataclass(frozen=True)
class Terms:
    """A customer's search document but for its id, and SQLite's index row when made ahead:
    an import makes them while checking rows, so that writing them is only binding values
    (see `index_terms`)."""

    prefix: int  # the sort key's name part
    name: str
    names: str
    text: str
    phones: str
    index_row: tuple[str, str, str, str] | None  # None on PostgreSQL, which indexes itself

    def document(self, customer_id: int) -> Document:
        return Document(
            _with_id(self.prefix, customer_id),
            customer_id,
            self.name,
            self.names,
            self.text,
            self.phones,
        )


def terms(
    *,
    name: str,
    company: str = "",
    email: str = "",
    notes: str = "",
    phones: Iterable[str] = (),
    contact_names: Iterable[str] = (),
    index: bool = True,
) -> Terms:
    """The search terms of a customer with these values (phones in E.164); its document is
    `.document(customer_id)`. `index=False` leaves out SQLite's index row (`_insert` makes
    it when writing the document)."""
    names, text, phone_text = _columns(name, company, email, notes, phones, contact_names)
    index_row = _index_row(names, text, phone_text) if index and not is_postgres() else None
    return Terms(_name_prefix(name), name, names, text, phone_text, index_row)


def _columns(
    name: str,
    company: str,
    email: str,
    notes: str,
    phones: Iterable[str],
    contact_names: Iterable[str],
) -> tuple[str, str, str]:
    """A document's names, text and phones columns."""

    def lines(values: Iterable[str]) -> str:
        return "\n".join(line for line in map(normalize, values) if line)

    numbers = dict.fromkeys(normalize(p) for p in phones if p)  # in order, once each
    return (
        lines((name, company, *contact_names)),
        lines((email, notes)),
        " ".join(number for number in numbers if number),
    )


def _units(text: str) -> str:
    """Text as token characters: the hex of its UTF-16 code units, four digits each, which the
    `ascii` tokenizer keeps whole. Grams are then slices, the fastest to make in Python. (A
    character beyond the BMP is two units; matching units still matches whole characters.)"""
    return text.encode("utf-16-be", "surrogatepass").hex()


def _tokens(text: str, short: set[str], *, singles: bool = False) -> str:
    """Each word's trigrams in order, each word followed by a word end, as tokens; the word's
    two-unit grams (and single units with `singles`) are added to `short`."""
    trigrams: list[str] = []
    for word in text.split():
        units = _units(word)
        starts = range(0, len(units), 4)
        if singles:
            short.update([units[i : i + 4] for i in starts])
        short.update([units[i : i + 8] for i in starts[:-1]])
        trigrams += [units[i : i + 12] for i in starts[:-2]]
        trigrams.append(_WORD_END)
    return " ".join(trigrams)


def _phrase_of(needle: str) -> str:
    """The FTS5 phrase finding `needle` (three units or more): its trigrams in order."""
    units = _units(needle)
    return '"' + " ".join(units[i : i + 12] for i in range(0, len(units) - 8, 4)) + '"'


# -- keeping the index ---------------------------------------------------------------------------


def create_index(*, gin: bool = True) -> None:
    """Create the indexes kept over `models.SearchDoc` (called when its table is made), unless
    they exist. `gin=False` leaves PostgreSQL's GIN indexes for after a bulk load."""
    db = current_database()
    if is_postgres(db):
        # Made once, never replaced: the GIN indexes hold what this version of it returned.
        exists = db.execute_sql(
            "SELECT 1 FROM pg_proc WHERE proname = 'crmtui_search_grams' "
            "AND pronamespace = current_schema()::regnamespace"
        ).fetchone()
        if exists is None:
            db.execute_sql(_POSTGRES_FUNCTION)
        if gin:
            # Only the missing ones: CREATE INDEX takes a SHARE lock on the table even when
            # the index exists, which would stall every writer on each start.
            present = {
                name
                for (name,) in db.execute_sql(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = 'search_doc'"
                )
            }
            for name, statement in _POSTGRES_INDEXES.items():
                if name not in present:
                    db.execute_sql(statement)
    else:
        for statement in _SQLITE_DDL:
            db.execute_sql(statement)


def secure_delete() -> None:
    """From now on, removing a document from SQLite's index also removes its terms from the
    index's pages (FTS5's secure-delete), rather than only marking them gone: an erased
    person's name must not stay readable in the file."""
    current_database().execute_sql(
        "INSERT INTO search_fts(search_fts, rank) VALUES('secure-delete', 1)"
    )


def drop_index(db: peewee.Database) -> None:
    """Drop the search tables and everything built on them, leaving the database as one made
    before search: searching then asks for `crmtui reindex`."""
    if is_postgres(db):  # this version of the gram function, with everything built on it
        db.execute_sql("DROP FUNCTION IF EXISTS crmtui_search_grams(text) CASCADE")
    else:
        for statement in _SQLITE_DROP:
            db.execute_sql(statement)
    db.execute_sql("DROP TABLE IF EXISTS search_doc" + (" CASCADE" if is_postgres(db) else ""))
    _ready.discard(db)


def _index_row(names: str, text: str, phones: str) -> tuple[str, str, str, str]:
    """A document's row of SQLite's index: the tokens of each column, and its short grams."""
    short: set[str] = set()
    name_tokens = _tokens(names, short, singles=True)
    text_tokens = _tokens(text, short)
    return name_tokens, text_tokens, _tokens(phones, set()), " ".join(short)


def _insert(
    documents: Sequence[Document],
    index_rows: Sequence[tuple[str, str, str, str] | None] | None = None,
) -> None:
    """Add documents (with their index rows, made here unless given, one per document) for
    customers that have none."""
    if not documents:
        return
    # In row-id order: FTS5 writes out what it holds in memory whenever a row id is not above
    # the last one (a rebuild took three times as long in customer order).
    order = sorted(range(len(documents)), key=lambda i: documents[i].sort_key)
    db = current_database()
    p = db.param
    cursor = db.cursor()
    cursor.executemany(
        f"INSERT INTO search_doc (sort_key, customer_id, name, names, text, phones) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
        [
            (d.sort_key, d.customer_id, d.name, d.names, d.text, d.phones)
            for d in map(documents.__getitem__, order)
        ],
    )
    if is_postgres(db):  # PostgreSQL's GIN indexes follow the table by themselves
        return
    rows = []
    for i in order:
        d = documents[i]
        given = index_rows[i] if index_rows is not None else None
        rows.append((d.sort_key, *(given or _index_row(d.names, d.text, d.phones))))
    cursor.executemany(
        "INSERT INTO search_fts (rowid, names, text, phones, short) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def _documents(first: int, last: int) -> list[Document]:
    """The documents of the customers with ids `first`…`last`, as their rows now read."""
    c, k = m.Customer, m.Contact
    db = current_database()
    # Plain driver rows: Peewee's conversion of each value took a quarter of a rebuild.
    named = k.select(k.customer, k.name, k.phone).where(k.customer.between(first, last))
    contacts: dict[int, list[tuple[str, str]]] = {}
    for customer_id, name, phone in db.execute_sql(*named.order_by(k.id).sql()):
        contacts.setdefault(customer_id, []).append((name, phone))
    columns = (c.id, c.name, c.company, c.email, c.notes, c.phone, c.alt_phone)
    rows = db.execute_sql(*c.select(*columns).where(c.id.between(first, last)).sql())
    return [
        terms(
            name=name,
            company=company,
            email=email,
            notes=notes,
            phones=[phone, alt_phone, *(p for _n, p in contacts.get(cid, ()))],
            contact_names=[n for n, _p in contacts.get(cid, ())],
            index=False,
        ).document(cid)
        for cid, name, company, email, notes, phone, alt_phone in rows
    ]


def index_customer(customer_id: int) -> None:
    """Rewrite a customer's search document from its rows (none if it is gone).

    Call it inside the write transaction that changed the customer or its contacts, so the
    index never disagrees with what was saved.
    """
    _require_index()
    m.SearchDoc.delete().where(m.SearchDoc.customer == customer_id).execute()
    _insert(_documents(customer_id, customer_id))


def index_new(documents: Sequence[Document]) -> None:
    """Index customers just added in bulk (`crmtui demo`), in the caller's transaction."""
    _require_index()
    _insert(documents)


def index_terms(new: Sequence[tuple[int, Terms]]) -> None:
    """Index customers just added (an import), each with the terms made before its id."""
    _require_index()
    documents = [found.document(customer_id) for customer_id, found in new]
    _insert(documents, [found.index_row for _id, found in new])


def rebuild_search_index(actor: Actor, progress: Callable[[int], None] | None = None) -> int:
    """Build the search index afresh from every customer; return how many were indexed.

    For a database made before the index, or one repaired by hand. It runs as one transaction:
    searches meanwhile see the old index, and other writers wait for it.
    `progress(done)` is called after each chunk of customers.
    """
    authorize(actor, SEARCH_REBUILD)
    db = current_database()
    done = 0
    with write_transaction():
        drop_index(db)
        m.SearchDoc.create_table(safe=False, rebuild=True)
        last = 0
        while True:
            # A range of ids reads fast; each chunk is written in its own row-id order.
            rest = m.Customer.select(m.Customer.id).where(m.Customer.id > last)
            upper = rest.order_by(m.Customer.id).offset(_CHUNK - 1).limit(1).scalar()
            if upper is None:
                upper = rest.select(peewee.fn.MAX(m.Customer.id)).scalar()
                if upper is None:
                    break
            documents = _documents(last + 1, upper)
            _insert(documents)
            done += len(documents)
            last = upper
            if progress is not None:
                progress(done)
        if is_postgres(db):
            create_index()
            db.execute_sql("ANALYZE search_doc")  # the planner's view of the new table
        else:
            # Merge the index into one segment: the fastest to read.
            db.execute_sql("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
    return done


# Databases whose index was seen there: checking costs a query, and an index once made stays.
_ready: "weakref.WeakSet[peewee.Database]" = weakref.WeakSet()


def _require_index() -> None:
    """Refuse, with the command that fixes it, when the database has no search index (one
    made before the index: see `models.SearchDoc.create_table`)."""
    db = current_database()
    if db in _ready:
        return
    if not db.table_exists(m.SearchDoc._meta.table_name):
        raise SearchIndexMissing()
    _ready.add(db)


# -- reading a term ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Needle:
    """Text to find in any of some columns of the document."""

    text: str
    columns: tuple[str, ...]

    @property
    def short(self) -> bool:
        """Too short for trigrams: only words are (phone needles have three characters)."""
        return len(_units(self.text)) < 4 * _SHORT


def _word(word: str) -> _Needle:
    return _Needle(word, NAMES if len(_units(word)) == 4 else WORDS)


Clause = tuple[_Needle, ...]  # a customer meets a clause when it holds any of its needles


def _national_prefix(region: str) -> tuple[int, str] | None:
    """(country calling code, national prefix) of a region: (86, "0") for CN."""
    import phonenumbers  # here, not at the top: start-up time (about 20 ms to import)

    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None:
        return None
    return metadata.country_code, metadata.national_prefix or ""


def _phone_clause(word: str, region: str) -> Clause | None:
    """The needles of a term shaped like a phone number; None when it is not one.

    - With a leading +, its digits are the start of an international number: +86 138… .
    - A run of up to eight digits is found wherever it occurs in a number (the last four
      digits, 1234 5678) and in the text (a QQ number in an e-mail); one starting with the
      region's national prefix also as the number without it (021… finds +8621…).
    - A longer run is read as a whole number from its start, in the configured region: 138
      1234 5678 and (021) 6888-1234 find +8613812345678 and +862168881234, where a number of
      another country must be typed with its + (so (650) 253-0000 is not +1 650 253 0000
      unless the region is US). It is also looked for as digits in the text.
    A number typed with its separators (2025-03-05) is also looked for as typed, in the text.
    """
    shape = _PHONE_SHAPE.fullmatch(word)
    if shape is None:
        return None
    digits = re.sub(r"\D", "", word)
    plus = shape.group(1) is not None
    compact = ("+" if plus else "") + digits
    if len(compact) < _SHORT:
        return None
    needles = [_word(word)] if " " not in word and word != compact else []
    if plus:
        needles.append(_Needle(compact, ANYWHERE))
    elif len(digits) < _WHOLE_NUMBER_DIGITS:
        needles.append(_Needle(digits, ANYWHERE))
        national = _national_prefix(region)
        if national and national[1] and digits.startswith(national[1]):
            rest = digits[len(national[1]) :]
            if rest:
                needles.append(_Needle(f"+{national[0]}{rest}", PHONES))
    else:
        needles.append(_Needle(digits, WORDS))
        key = phone_search_key(word, region=region)
        if key:
            needles.append(_Needle(key, PHONES))
    return tuple(dict.fromkeys(needles))


def clauses(term: str, region: str) -> list[Clause]:
    """A term as clauses that must all hold: each word, or the whole term read as a phone."""
    text = normalize(term)
    if not text:
        return []
    whole = _phone_clause(text, region)
    if whole:
        return [whole]
    found: list[Clause] = []
    for word in dict.fromkeys(text.split()):
        found.append(_phone_clause(word, region) or (_word(word),))
    return found


# -- asking the index ----------------------------------------------------------------------------


def _match(found: Sequence[Clause]) -> str:
    """A term as one FTS5 MATCH expression over search_fts."""
    parts = []
    for clause in found:
        alternatives = []
        for needle in clause:
            if needle.short:  # one unit: names' singles; two: names' and text's pairs
                alternatives.append(f'{{short}} : "{_units(needle.text)}"')
                continue
            columns = f"{{{' '.join(needle.columns)}}} : "
            phrase = columns + _phrase_of(needle.text)
            rest = needle.text[4:]
            if needle.text.startswith("+") and len(rest) >= _SHORT:
                # Every number starts with +86 or so: FTS5 reads a phrase starting that way
                # for a long while (45 ms at a million). Asking first for the digits after
                # it (a phrase of rarer trigrams), which must be there too, took 13–31 ms.
                phrase = f"{columns}{_phrase_of(rest)} AND {phrase}"
            alternatives.append(f"({phrase})")
        parts.append("(" + " OR ".join(alternatives) + ")")
    return " AND ".join(parts)


def _rowids(match: str, column: str = "rowid", bounds: str = "") -> tuple[str, list[object]]:
    """SELECT of `column` (an expression of rowid, the sort key) of the documents matching,
    with `bounds` (more conditions on rowid) ANDed on."""
    return f"SELECT {column} FROM search_fts WHERE search_fts MATCH ?{bounds}", [match]


def _grams(text: str) -> list[str]:
    """The grams `crmtui_search_grams` makes that a document holding `text` must hold."""
    if len(text) <= 3:
        return [text]
    return sorted({text[i : i + 3] for i in range(len(text) - 2)})


def _any(conditions: Sequence[peewee.Expression]) -> peewee.Expression:
    return functools.reduce(operator.or_, conditions)


def _postgres_condition(found: Sequence[Clause]) -> peewee.Expression:
    """Each clause as (its needles' grams in a column's GIN index) AND (a needle in that
    column): the first part is what the indexes answer, the second is exact and cheap.

    It equals "a needle in a column" because a needle in a column has its grams there.
    Written as one OR of (grams AND needle) instead, PostgreSQL rechecked each candidate
    through the whole OR and computed its grams again: 100 ms for "James" at 100,000.
    """
    condition: peewee.Expression | None = None
    for clause in found:
        indexed, exact = [], []
        for needle in clause:
            grams = peewee.Cast(peewee.Value(_grams(needle.text), unpack=False), "text[]")
            for name in needle.columns:
                column = getattr(m.SearchDoc, name)
                indexed.append(
                    peewee.Expression(peewee.fn.crmtui_search_grams(column), "@>", grams)
                )
                exact.append(peewee.fn.strpos(column, needle.text) > 0)
        holds = _any(indexed) & _any(exact)
        condition = holds if condition is None else condition & holds
    assert condition is not None
    return condition


class Search:
    """A term, ready to ask the index."""

    def __init__(self, term: str, region: str) -> None:
        _require_index()
        self.clauses = clauses(term, region)
        self.postgres = is_postgres()

    def __bool__(self) -> bool:
        return bool(self.clauses)

    def customer_condition(self) -> peewee.Expression:
        """The condition "the customer matches", for a query on `models.Customer`."""
        if self.postgres:
            # OFFSET 0 keeps the matches a set of their own: joined in, PostgreSQL walked the
            # name index and computed the grams of each customer on the way (950 ms for 王
            # at 100,000 customers, every Latin name first); on their own, 42 ms.
            matching = (
                m.SearchDoc.select(m.SearchDoc.customer)
                .where(_postgres_condition(self.clauses))
                .offset(0)
            )
            return m.Customer.id.in_(matching)
        sql, params = _rowids(_match(self.clauses), f"rowid & {_ID_MASK}")
        return m.Customer.id.in_(peewee.SQL(f"({sql})", params))

    def count(self) -> int:
        """How many customers match, counted in the index alone."""
        if self.postgres:
            return m.SearchDoc.select().where(_postgres_condition(self.clauses)).count()
        sql, params = _rowids(_match(self.clauses), "count(*)")
        return current_database().execute_sql(sql, params).fetchone()[0]

    def page(
        self,
        *,
        descending: bool = False,
        offset: int = 0,
        limit: int = 50,
        after: tuple[str, int] | None = None,
    ) -> list[int] | None:
        """Ids of the matches at `offset`… (or just past `after`: a (name, id) of the order) in
        (name, id) order, read from the index in its own order; None on PostgreSQL, whose
        names sort by the database's collation: page there with `customer_condition`."""
        if self.postgres:
            return None
        return _page(_match(self.clauses), descending, offset, limit, after)


# -- pages in name order (SQLite) ----------------------------------------------------------------


def _group(key: int) -> int:
    return key >> _ID_BITS


def _page(
    match: str,
    descending: bool,
    offset: int,
    limit: int,
    after: tuple[str, int] | None,
) -> list[int]:
    """Matches in row-id order come grouped by the first four bytes of their names, groups in
    name order; within a group they are in id order. So read whole groups until they hold the
    page, then sort what was read by (name, id): only the last group can hold rows that sort
    before the page's end but were read after it."""
    bounds, params = "", []
    after_group = None
    if after is not None:
        # From `after`'s group on: its first key going up, its last going down.
        after_group = _group(sort_key(after[0], 1))
        first_key = after_group << _ID_BITS
        bounds = " AND rowid <= ?" if descending else " AND rowid >= ?"
        params = [first_key | _ID_MASK if descending else first_key]
    sql, match_params = _rowids(match, bounds=bounds)
    direction = "DESC" if descending else "ASC"
    cursor = current_database().execute_sql(
        f"{sql} ORDER BY rowid {direction}", [*match_params, *params]
    )
    need = offset + limit
    keys: list[int] = []
    counted = 0
    for group, rows in groupby((key for (key,) in cursor), key=_group):
        if counted >= need:
            break
        in_group = list(rows)
        keys += in_group
        # `after`'s own group may hold rows before it: they are not counted toward the page.
        if group != after_group:
            counted += len(in_group)
    names = _names(keys)
    keys = [key for key in keys if key in names]  # one deleted between the two reads

    def order(key: int) -> tuple[str, int]:
        return names[key], key & _ID_MASK

    keys.sort(key=order, reverse=descending)
    if after is not None:
        keys = [k for k in keys if (order(k) < after if descending else order(k) > after)]
    return [key & _ID_MASK for key in keys[offset : offset + limit]]


def _names(keys: Sequence[int]) -> dict[int, str]:
    """The names of the documents with these keys (rows near each other in search_doc,
    whose primary key they are)."""
    if not keys:
        return {}
    rows = current_database().execute_sql(
        "SELECT sort_key, name FROM search_doc WHERE sort_key IN (SELECT value FROM json_each(?))",
        [json.dumps(list(keys))],
    )
    return dict(rows)
