"""How fast `crmtui export customers` writes CSV, against the sqlite3 command line, and in how
much memory.

Usage:
    .venv/bin/python bench/bench_export.py                       # 100,000 demo customers
    .venv/bin/python bench/bench_export.py --customers 1000000   # a million (demo: ~15 min)
    .venv/bin/python bench/bench_export.py --db COPY.db --runs 7 --formats csv,json,xlsx

The data is made first with `crmtui demo --customers N` in a temporary folder (removed at the
end), unless `--db` names a database to use: pass a copy, since crmtui upgrades an older schema
when it opens one.

Each run is a fresh process, timed from its start to its exit (import and start-up included):

- export: `python -m crmtui --db DB export customers -o out.csv` (also .json, .xlsx with
  `--formats`), the acceptance target being a million customers in at most 3x the time of
- reference: `sqlite3 -csv -header DB 'SELECT * FROM customer' > out.csv`, the same customer
  table dumped by SQLite's own shell in C (without crmtui's tags, owner names, custom-field
  columns or formula neutralization).

Runs alternate between the two, so load from other jobs on the machine falls on both; the
medians and their ratio are printed, with the CPU time of each (which load does not inflate),
the peak resident memory of the export process (`ru_maxrss`), the output sizes, and the load
average before and after.
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from processes import Run, crmtui, median, run

SQLITE3 = "/usr/bin/sqlite3"


def _make_demo(db: Path, customers: int) -> None:
    print(f"making {customers:,} demo customers in {db} …", flush=True)
    started = time.perf_counter()
    run(crmtui(db, "demo", "--customers", str(customers)))
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)


def _describe(label: str, runs: list[Run], size: int) -> None:
    print(
        f"{label:<22} median {median(runs, 'seconds'):7.2f} s  "
        f"(cpu {median(runs, 'cpu'):6.2f} s, runs: "
        f"{', '.join(f'{r.seconds:.2f}' for r in runs)})  "
        f"peak {max(r.peak_mb for r in runs):6.1f} MB  {size / 1e6:8.1f} MB written"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000, help="demo size to make")
    parser.add_argument("--db", type=Path, help="use this database (a copy) instead of a demo")
    parser.add_argument("--runs", type=int, default=5, help="runs of each command")
    parser.add_argument(
        "--formats", default="csv", help="export formats to time: csv,json,xlsx (csv first)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]

    folder = Path(tempfile.mkdtemp(prefix="crmtui-bench-export-"))
    try:
        db = args.db
        if db is None:
            db = folder / "demo.db"
            _make_demo(db, args.customers)
        count = subprocess.run(
            [SQLITE3, str(db), "SELECT count(*) FROM customer"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        load_before = os.getloadavg()
        print(f"{int(count):,} customers in {db}; {args.runs} runs each; {os.cpu_count()} CPUs")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}")

        reference_out = folder / "sqlite3.csv"
        reference_command = [SQLITE3, "-csv", "-header", str(db), "SELECT * FROM customer"]
        run(crmtui(db, "export", "customers", "-o", str(folder / "warm.csv")))  # page cache
        reference: list[Run] = []
        exported: dict[str, list[Run]] = {fmt: [] for fmt in formats}
        for _ in range(args.runs):
            reference.append(run(reference_command, reference_out))
            for fmt in formats:
                out = folder / f"export.{fmt}"
                exported[fmt].append(run(crmtui(db, "export", "customers", "-o", str(out))))
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

        _describe("sqlite3 -csv", reference, reference_out.stat().st_size)
        for fmt, runs in exported.items():
            _describe(f"crmtui export ({fmt})", runs, (folder / f"export.{fmt}").stat().st_size)
        base, base_cpu = median(reference, "seconds"), median(reference, "cpu")
        for fmt, runs in exported.items():
            print(
                f"ratio {fmt} / sqlite3 csv: {median(runs, 'seconds') / base:.2f}x wall, "
                f"{median(runs, 'cpu') / base_cpu:.2f}x cpu"
            )
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
