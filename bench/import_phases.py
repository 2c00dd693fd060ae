"""Where the time of `crmtui import customers` goes: the check pass and the write pass, range
of rows by range of rows, and in the write pass each SQL statement and the commits.

Usage:
    .venv/bin/python bench/import_phases.py                          # 300,000 generated rows
    .venv/bin/python bench/import_phases.py --rows 1000000 --every 100000

It writes the sheet `bench_import.py` writes, then imports it in this process with the code
`crmtui import customers FILE` runs (`transfer.importing.run_import`) into a fresh database in
a temporary folder. The database driver's calls are timed by wrapping the APSW cursors peewee
hands out and its commit; what the write pass spends in them is the floor of crmtui's writes,
what they would take with no Python around them. The sqlite3 shell's `.import` of the same
file is timed first, as in `bench_import.py`, and every figure is also given as a multiple of
it.
"""

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import playhouse.apsw_ext
from bench_import import SQLITE3, write_csv
from processes import run

from crmtui.store import users
from crmtui.store.db import close_database, open_database
from crmtui.transfer.importing import ImportOptions, run_import

spent: Counter[str] = Counter()  # seconds in the driver, by statement (and "commit")


class _TimedCursor:
    """An APSW cursor whose `executemany` adds its time to `spent` under its statement."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def executemany(self, sql: str, rows: Iterable[Any]) -> Any:
        started = time.perf_counter()
        try:
            return self._cursor.executemany(sql, rows)
        finally:
            spent[" ".join(sql.split()[:3])] += time.perf_counter() - started


def _time_the_driver() -> None:
    database = playhouse.apsw_ext.APSWDatabase
    cursor, commit = database.cursor, database.commit

    def timed_cursor(self: Any, *args: Any, **kwargs: Any) -> _TimedCursor:
        return _TimedCursor(cursor(self, *args, **kwargs))

    def timed_commit(self: Any) -> None:
        started = time.perf_counter()
        try:
            commit(self)
        finally:
            spent["commit"] += time.perf_counter() - started

    database.cursor = timed_cursor  # type: ignore[method-assign]
    database.commit = timed_commit  # type: ignore[method-assign]


def _import(csv_path: Path, db: Path, every: int, floor: float) -> None:
    started = time.perf_counter()
    marks = {"stage": "", "at": started, "spent": Counter(spent)}

    def progress(stage: str, done: int) -> None:
        if done % every:
            return
        now = time.perf_counter()
        if stage != marks["stage"]:
            print(f"-- {stage}")
            marks["stage"] = stage
        took = {name: seconds - marks["spent"][name] for name, seconds in spent.items()}
        in_sql = sum(took.values())
        print(
            f"{done:>10,} rows  {now - marks['at']:6.1f} s  (in the driver {in_sql:5.1f} s: "
            + ", ".join(f"{name} {seconds:.2f}" for name, seconds in took.items() if seconds)
            + ")",
            flush=True,
        )
        marks.update(at=now, spent=Counter(spent))

    open_database(str(db))
    try:
        result = run_import(
            users.local_actor(), ImportOptions(source=str(csv_path)), progress=progress
        )
    finally:
        close_database()
    total = time.perf_counter() - started
    summary = result.summary
    print(f"created {summary.created:,}, rejected {summary.rejected:,}; {total:.1f} s in all")
    in_sql = sum(spent.values())
    print(f"`.import` of the file: {floor:.2f} s")
    print(f"crmtui import: {total:.1f} s = {total / floor:.1f}x `.import`")
    print(f"of which in the driver: {in_sql:.1f} s = {in_sql / floor:.1f}x `.import`:")
    for name, seconds in spent.most_common():
        print(f"  {name:<28} {seconds:7.1f} s  {seconds / floor:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000, help="rows of the generated CSV")
    parser.add_argument("--every", type=int, default=100_000, help="report every this many rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crmtui-bench-phases-") as folder:
        csv_path = Path(folder) / "customers.csv"
        write_csv(csv_path, args.rows)
        reference = Path(folder) / "reference.db"
        floor = run([SQLITE3, str(reference), f".import --csv {csv_path} customers"]).seconds
        _time_the_driver()
        _import(csv_path, Path(folder) / "crmtui.db", args.every, floor)


if __name__ == "__main__":
    sys.exit(main())
