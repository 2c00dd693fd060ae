"""How long `crmtui demo` takes, measured against a bare-driver reference on the same machine.

Usage: .venv/bin/python bench/bench_demo.py [--small 10000] [--large 100000] [--runs 3]

Each run executes the real command (`python -m crmtui --db FILE demo --customers N --json`)
on a fresh SQLite file in a temporary folder, so start-up is included, and reads the rows
written from its JSON summary. The reference inserts the same number of plain three-column
rows with one `executemany` through a bare APSW connection with the same pragmas (WAL,
synchronous=FULL, one transaction): on a shared, noisy machine the ratio is the figure to
quote. With CRMTUI_TEST_PG set, the same is done on PostgreSQL in a fresh schema, with psycopg's
`executemany` as the reference.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import apsw
import psycopg

PG_URL = os.environ.get("CRMTUI_TEST_PG", "")


@dataclass(frozen=True)
class Run:
    seconds: float
    rows: int
    size_bytes: int


def _plain_rows(n: int) -> Iterator[tuple[int, str, int]]:
    return ((i, f"row {i}", i * 7) for i in range(n))


def _environment(tmp: Path) -> dict[str, str]:
    """The user's config and data stay out of it: defaults only."""
    return {
        **os.environ,
        "CRMTUI_CONFIG": str(tmp / "absent.toml"),
        "XDG_DATA_HOME": str(tmp / "data"),
    }


def _run_demo(target: str, customers: int, tmp: Path) -> tuple[float, int]:
    command = [sys.executable, "-m", "crmtui", "--db", target, "demo"]
    command += ["--customers", str(customers), "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_environment(tmp))
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"crmtui demo failed: {done.stderr.strip()}")
    summary = json.loads(done.stdout)
    return seconds, summary["total"]


def _sqlite_size(path: Path) -> int:
    """File size after a checkpoint, with whatever -wal and -shm files remain."""
    connection = apsw.Connection(str(path))
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return sum(f.stat().st_size for f in files if f.exists())


def sqlite_demo(customers: int) -> Run:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        path = tmp / "demo.db"
        seconds, rows = _run_demo(str(path), customers, tmp)
        return Run(seconds, rows, _sqlite_size(path))


def sqlite_reference(rows: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        connection = apsw.Connection(str(Path(folder) / "plain.db"))
        connection.execute("PRAGMA journal_mode=wal; PRAGMA synchronous=full")
        connection.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)")
        started = time.perf_counter()
        with connection:
            connection.executemany("INSERT INTO plain VALUES (?, ?, ?)", _plain_rows(rows))
        seconds = time.perf_counter() - started
        connection.close()
        return seconds


def _pg_schema() -> tuple[str, Callable[[], None]]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(PG_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return schema, drop


def _pg_url(schema: str) -> str:
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


def pg_demo(customers: int) -> Run:
    schema, drop = _pg_schema()
    try:
        with tempfile.TemporaryDirectory() as folder:
            seconds, rows = _run_demo(_pg_url(schema), customers, Path(folder))
        with psycopg.connect(PG_URL) as connection:
            size = connection.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = 'r'",
                (schema,),
            ).fetchone()[0]
        return Run(seconds, rows, int(size))
    finally:
        drop()


def pg_reference(rows: int) -> float:
    schema, drop = _pg_schema()
    try:
        with psycopg.connect(_pg_url(schema)) as connection:
            connection.execute("CREATE TABLE plain (id bigint PRIMARY KEY, name text, n bigint)")
            connection.commit()
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.executemany("INSERT INTO plain VALUES (%s, %s, %s)", _plain_rows(rows))
            connection.commit()
            return time.perf_counter() - started
    finally:
        drop()


def measure(
    backend: str,
    customers: int,
    runs: int,
    demo: Callable[[int], Run],
    reference: Callable[[int], float],
) -> dict[str, object]:
    results = []
    for attempt in range(runs):
        result = demo(customers)
        print(
            f"  {backend} {customers:,} run {attempt + 1}: {result.seconds:.1f} s, "
            f"{result.rows:,} rows",
            file=sys.stderr,
        )
        results.append(result)
    rows = results[0].rows
    references = [reference(rows) for _attempt in range(runs)]
    seconds = statistics.median(r.seconds for r in results)
    ref_seconds = statistics.median(references)
    return {
        "backend": backend,
        "customers": customers,
        "runs": runs,
        "seconds": seconds,
        "all_seconds": [round(r.seconds, 1) for r in results],
        "rows": rows,
        "rows_per_second": rows / seconds,
        "size_mb": statistics.median(r.size_bytes for r in results) / 1e6,
        "reference_seconds": ref_seconds,
        "ratio": seconds / ref_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=10_000, help="customers, repeated --runs")
    parser.add_argument("--large", type=int, default=100_000, help="customers, run once")
    parser.add_argument("--runs", type=int, default=3, help="runs of the small size")
    args = parser.parse_args()

    plans = [("sqlite", sqlite_demo, sqlite_reference)]
    if PG_URL:
        plans.append(("postgresql", pg_demo, pg_reference))
    results = []
    for backend, demo, reference in plans:
        results.append(measure(backend, args.small, args.runs, demo, reference))
        results.append(measure(backend, args.large, 1, demo, reference))

    print(
        f"python {platform.python_version()}, SQLite {apsw.sqlite_lib_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    header = "| backend | customers | runs | wall time (median) | rows written | rows/s "
    header += "| database size | reference (bare executemany) | ratio |"
    print(header)
    print("|" + "---|" * 9)
    for r in results:
        print(
            f"| {r['backend']} | {r['customers']:,} | {r['runs']} | {r['seconds']:.1f} s "
            f"{r['all_seconds'] if r['runs'] > 1 else ''} | {r['rows']:,} | "
            f"{r['rows_per_second']:,.0f} | {r['size_mb']:.0f} MB | "
            f"{r['reference_seconds']:.2f} s | {r['ratio']:.0f}× |"
        )


if __name__ == "__main__":
    main()
