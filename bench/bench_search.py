"""Search latency per keystroke, measured the way the customer table asks, on demo databases.

Usage:
    .venv/bin/python bench/bench_search.py                  # SQLite, 100,000 customers made here
    .venv/bin/python bench/bench_search.py --db COPY.db     # an existing demo database (a copy:
                                                            # the index is built in it if missing)
    CRMTUI_TEST_PG=postgresql://… .venv/bin/python bench/bench_search.py --postgres 100000

Terms are typed a key at a time: 王, then 王芳; 1, 13, 138, … Each keystroke's query is what the
table issues when the search box changes: the number of matches (`count_customers`) and the
first 50 rows sorted by name (`customers_after`). Terms come from the database itself (seeded),
by kind: two- and three-character Chinese names, surnames alone, company words, English
names, e-mail addresses, phone fragments; and, apart, a few terms that match a large share of
all customers. Per kind: median, 95th percentile and slowest keystroke.

References measured in the same run, through a bare driver connection: the search as it was
before the index (LIKE '%term%' on name, company and e-mail, the same page and count) for the
whole term of some keystrokes, and a primary-key lookup. Index build time (a full
`rebuild_search_index`) and index size are reported too.
"""

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import apsw
import psycopg

from crmtui.store import customers, search, users
from crmtui.store import db as store_db
from crmtui.store.demo import load_demo
from crmtui.store.errors import NotFoundError
from crmtui.store.types import Actor, CustomerQuery

PG_URL = os.environ.get("CRMTUI_TEST_PG", "")
PAGE = 50


@dataclass
class Kind:
    name: str
    terms: list[str]
    samples: list[float] = field(default_factory=list)  # ms per keystroke
    matches: list[int] = field(default_factory=list)


def keystrokes(term: str) -> Iterator[str]:
    """What the search box holds after each key (a trailing space searches what it did)."""
    for end in range(1, len(term) + 1):
        if not term[end - 1].isspace():
            yield term[:end]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- terms from the database ---------------------------------------------------------------------


def choose_terms(actor: Actor, seed: int) -> list[Kind]:
    """Realistic terms, drawn from customers of the database (ids sampled with `seed`)."""
    rng = random.Random(seed)
    total = customers.count_customers(actor)
    sample = []
    for customer_id in rng.sample(range(1, total + 1), 400):  # demo ids run 1…n
        try:
            sample.append(customers.get_customer(actor, customer_id))
        except NotFoundError:
            continue

    def pick(pattern: str, values: list[str], n: int) -> list[str]:
        fitting = sorted({v for v in values if v and re.fullmatch(pattern, v)})
        return rng.sample(fitting, min(n, len(fitting)))

    names = [c.name for c in sample]
    mobiles = [c.phone for c in sample if re.fullmatch(r"\+861\d{10}", c.phone)]
    last_four = [p[-4:] for p in rng.sample(mobiles, 3)]
    last_eight = [p[-8:] for p in rng.sample(mobiles, 2)]
    typed = [f"{p[3:6]} {p[6:10]} {p[10:]}" for p in rng.sample(mobiles, 2)]
    return [
        Kind("two-character Chinese names", pick(r"[\u4e00-\u9fff]{2}", names, 5)),
        Kind("surnames alone", ["王", "李", "张", "欧阳"]),
        Kind("three-character Chinese names", pick(r"[\u4e00-\u9fff]{3}", names, 5)),
        Kind("company words", ["华信科技", "星辰", "Northwind", "Logistics", "医疗器械"]),
        Kind("English names", pick(r"[A-Z][a-z]+ [A-Z][\w']+", names, 4)),
        Kind("e-mail addresses", pick(r"[a-z][\w.]+@[\w.]+", [c.email for c in sample], 3)),
        Kind("phone fragments", last_four + last_eight + typed),
        Kind("very common terms (apart)", ["有限公司", "gmail.com", "com", "+86 138 1234 5678"]),
    ]


# -- measuring -----------------------------------------------------------------------------------


def keystroke(actor: Actor, text: str) -> tuple[float, int]:
    """One keystroke as the table asks it: the count, then the first page. (ms, matches)"""
    query = CustomerQuery(search=text)
    started = time.perf_counter()
    total = customers.count_customers(actor, query)
    rows = customers.customers_after(actor, query, None, limit=PAGE)
    elapsed = (time.perf_counter() - started) * 1000
    assert len(rows) == min(PAGE, total), (text, len(rows), total)
    return elapsed, total


def measure(actor: Actor, kinds: list[Kind], runs: int) -> None:
    for _run in range(runs):
        for kind in kinds:
            for term in kind.terms:
                for text in keystrokes(term):
                    ms, total = keystroke(actor, text)
                    kind.samples.append(ms)
                    kind.matches.append(total)


@dataclass(frozen=True)
class Reference:
    like_ms: float  # median: the search before the index, whole terms
    like_terms: list[str]
    lookup_ms: float  # median: one customer by primary key


def _old_search_sql(param: str) -> tuple[str, str]:
    """The page and count `_filtered` issued before the index: LIKE on three columns."""
    where = (
        f"(name LIKE {param} OR company LIKE {param} OR email LIKE {param})"
        if param == "?"
        else f"(name ILIKE {param} OR company ILIKE {param} OR email ILIKE {param})"
    )
    page = f"SELECT * FROM customer WHERE {where} ORDER BY name, id LIMIT {PAGE}"
    count = f"SELECT count(*) FROM (SELECT 1 FROM customer WHERE {where}) AS matches"
    return page, count


def reference(target: str, kinds: list[Kind]) -> Reference:
    """Bare-driver references: the old LIKE search (one whole term per kind), a key lookup."""
    terms = [kind.terms[0] for kind in kinds if kind.terms]
    like, lookups = [], []
    if store_db.is_postgres_url(target):
        connection = psycopg.connect(target, autocommit=True)
        page, count = _old_search_sql("%s")
        lookup = "SELECT * FROM customer WHERE id = %s"
    else:
        connection = apsw.Connection(target)
        connection.execute("PRAGMA cache_size=-32000")
        page, count = _old_search_sql("?")
        lookup = "SELECT * FROM customer WHERE id = ?"
    try:
        (high,) = connection.execute("SELECT max(id) FROM customer").fetchone()
        for term in terms:
            pattern = f"%{term.lower()}%"
            started = time.perf_counter()
            connection.execute(page, (pattern, pattern, pattern)).fetchall()
            connection.execute(count, (pattern, pattern, pattern)).fetchall()
            like.append((time.perf_counter() - started) * 1000)
        rng = random.Random(1)
        for _i in range(2000):
            started = time.perf_counter()
            connection.execute(lookup, (rng.randint(1, high),)).fetchall()
            lookups.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return Reference(statistics.median(like), terms, statistics.median(lookups))


def index_size(target: str) -> int:
    """Bytes held by the search document table, its indexes and the FTS5 tables."""
    if store_db.is_postgres_url(target):
        with psycopg.connect(target) as connection:
            return connection.execute("SELECT pg_total_relation_size('search_doc')").fetchone()[0]
    connection = apsw.Connection(target)
    try:
        (size,) = connection.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN "
            "(SELECT name FROM sqlite_schema WHERE name LIKE 'search%' "
            "OR tbl_name = 'search_doc')"
        ).fetchone()
        return size
    finally:
        connection.close()


def run(target: str, label: str, args: argparse.Namespace, build: bool) -> dict[str, object]:
    store_db.open_database(target)
    actor = users.local_actor()
    n = customers.count_customers(actor)
    build_seconds = None
    if build:
        print(f"{label}: building the search index of {n:,} customers …", file=sys.stderr)
        started = time.perf_counter()
        search.rebuild_search_index(actor)
        build_seconds = time.perf_counter() - started
    size = index_size(target)
    kinds = choose_terms(actor, args.seed)
    measure(actor, kinds[:1], 1)  # warm up: first queries read pages from disk
    for kind in kinds:
        kind.samples.clear()
        kind.matches.clear()
    print(f"{label}: typing …", file=sys.stderr)
    measure(actor, kinds, args.runs)
    store_db.close_database()
    print(f"{label}: references …", file=sys.stderr)
    ref = reference(target, kinds)
    return {
        "label": label,
        "customers": n,
        "build_seconds": build_seconds,
        "index_bytes": size,
        "kinds": kinds,
        "reference": ref,
    }


def report(result: dict[str, object]) -> None:
    ref: Reference = result["reference"]  # type: ignore[assignment]
    kinds: list[Kind] = result["kinds"]  # type: ignore[assignment]
    n: int = result["customers"]  # type: ignore[assignment]
    build = result["build_seconds"]
    size = result["index_bytes"] / 1e6  # type: ignore[operator]
    print(f"\n### {result['label']}: {n:,} customers\n")
    built = f"{build:.0f} s" if build is not None else "not rebuilt in this run"
    print(f"Index: {size:,.0f} MB ({size * 1e6 / n:,.0f} bytes per customer); build: {built}.\n")
    print("| term kind | terms | keystrokes | median | p95 | slowest | matches (median) |")
    print("|---|---|---|---|---|---|---|")
    for kind in kinds:
        if not kind.samples:
            continue
        print(
            f"| {kind.name} | {', '.join(kind.terms)} | {len(kind.samples)} "
            f"| {statistics.median(kind.samples):.1f} ms | {percentile(kind.samples, 95):.1f} ms "
            f"| {max(kind.samples):.1f} ms | {statistics.median(kind.matches):,.0f} |"
        )
    everything = [ms for kind in kinds[:-1] for ms in kind.samples]
    print(
        f"| **all kinds but the very common** | | {len(everything)} "
        f"| **{statistics.median(everything):.1f} ms** | **{percentile(everything, 95):.1f} ms** "
        f"| {max(everything):.1f} ms | |"
    )
    print(
        f"\nReferences (bare driver): LIKE '%term%' search as before the index, page + count, "
        f"median of {len(ref.like_terms)} whole terms ({', '.join(ref.like_terms)}): "
        f"**{ref.like_ms:,.0f} ms** ({ref.like_ms / statistics.median(everything):,.0f}× the "
        f"indexed keystroke median); a primary-key lookup: {ref.lookup_ms:.3f} ms."
    )


def _demo(target: str, n: int) -> None:
    store_db.open_database(target)
    print(f"making {n:,} demo customers …", file=sys.stderr)
    started = time.perf_counter()
    load_demo(users.local_actor(), n)  # the search index is kept as they are written
    print(f"  made in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    store_db.close_database()


def _analyze(target: str) -> None:
    """What autovacuum does soon after a bulk load: the planner needs the statistics."""
    with psycopg.connect(target, autocommit=True) as connection:
        connection.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="an existing demo database (SQLite file) to measure")
    parser.add_argument("--customers", type=int, default=100_000, help="SQLite size to make")
    parser.add_argument("--postgres", type=int, default=0, help="PostgreSQL size to make")
    parser.add_argument("--rebuild", action="store_true", help="rebuild an existing index too")
    parser.add_argument("--runs", type=int, default=2, help="times each term is typed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as folder:
        if args.db:
            store_db.open_database(args.db)
            missing = not store_db.current_database().table_exists("search_doc")
            store_db.close_database()
            results.append(run(args.db, "SQLite", args, build=missing or args.rebuild))
        elif args.customers:
            target = str(Path(folder) / "demo.db")
            _demo(target, args.customers)
            results.append(run(target, "SQLite", args, build=True))
        if args.postgres:
            if not PG_URL:
                raise SystemExit("--postgres needs CRMTUI_TEST_PG")
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_URL, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{schema}"')
            separator = "&" if "?" in PG_URL else "?"
            target = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
            try:
                _demo(target, args.postgres)
                _analyze(target)
                results.append(run(target, "PostgreSQL", args, build=True))
            finally:
                with psycopg.connect(PG_URL, autocommit=True) as connection:
                    connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    print(
        f"python {platform.python_version()}, SQLite {apsw.sqlite_lib_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    for result in results:
        report(result)
    if args.json:
        Path(args.json).write_text(
            json.dumps(results, default=lambda o: o.__dict__, indent=2, ensure_ascii=False)
        )


if __name__ == "__main__":
    main()
