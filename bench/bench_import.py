"""How fast `crmtui import customers` reads a CSV, checks every row and writes it, against
the sqlite3 command line's `.import` and `sqlite-utils insert --csv`, and in how much memory.

Usage:
    .venv/bin/pip install -e '.[bench]'                        # sqlite-utils, once
    .venv/bin/python bench/bench_import.py                     # 100,000 rows, 3 runs each
    .venv/bin/python bench/bench_import.py --rows 1000000 --runs 1

The CSV is generated first (the shape of a customer sheet off Excel: Chinese headers, names,
companies, mainland mobiles, e-mail addresses, cities, notes, some tags) in a temporary folder,
removed at the end. Each run is a fresh process writing a fresh database, timed from its start
to its exit:

- floor: `sqlite3 DB '.import --csv FILE customers'`: SQLite's shell in C, every cell stored as
  text, no checks, no indexes;
- sqlite-utils: `sqlite-utils insert DB customers FILE --csv` (it detects column types), and
  with `--no-detect-types`;
- crmtui: `python -m crmtui --db DB import customers FILE`: headers mapped, every value
  cleaned as the form cleans it (phones to E.164, e-mails normalized), history, tags and the
  search index written, in turns that leave others room to save (see store/batches.py).

Runs alternate between the commands, so load from other jobs falls on all; the medians, the
CPU time (which load inflates less), the peak resident memory and the ratios to the floor are
printed, with the load average before and after.
"""

import argparse
import csv
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from processes import Run, crmtui, median, run

SQLITE3 = "/usr/bin/sqlite3"
HEADER = ["客户名称", "公司名称", "联系电话", "邮箱", "城市", "备注", "标签"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
CITIES = ["上海", "北京", "深圳", "杭州", "成都", "广州", "南京", "武汉", "西安", "苏州"]
TRADES = ["科技", "贸易", "实业", "咨询", "电子", "物流"]
MOBILE_PREFIXES = ["135", "137", "138", "139", "150", "151", "186", "188"]  # all in use


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A customer sheet of `rows` rows, UTF-8, as a spreadsheet saves it."""
    pick = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            city = pick.choice(CITIES)
            writer.writerow(
                [
                    pick.choice(SURNAMES) + "".join(pick.choices(GIVEN, k=pick.randint(1, 2))),
                    f"{city}{pick.choice(TRADES)}有限公司{i % 5000}",
                    f"{pick.choice(MOBILE_PREFIXES)}{pick.randrange(10**8):08d}",
                    f"user{i}@example.com",
                    city,
                    "老客户，年底回访" if i % 3 == 0 else "",
                    "vip" if i % 7 == 0 else "",
                ]
            )


def _sqlite_utils() -> str | None:
    found = shutil.which("sqlite-utils", path=str(Path(sys.executable).parent))
    return found or shutil.which("sqlite-utils")


def _describe(label: str, runs: list[Run], floor: list[Run]) -> None:
    wall, cpu = median(runs, "seconds"), median(runs, "cpu")
    print(
        f"{label:<32} median {wall:8.2f} s  cpu {cpu:8.2f} s  "
        f"peak {max(r.peak_mb for r in runs):7.1f} MB  "
        f"= {wall / median(floor, 'seconds'):6.1f}x wall, {cpu / median(floor, 'cpu'):6.1f}x cpu "
        f"of .import  (runs: {', '.join(f'{r.seconds:.1f}' for r in runs)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the generated CSV")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="crmtui-bench-import-"))
    try:
        sheet = folder / "customers.csv"
        write_csv(sheet, args.rows)
        sqlite_utils = _sqlite_utils()
        commands: dict[str, list[str]] = {
            ".import (sqlite3 shell)": [SQLITE3, "{db}", f".import --csv {sheet} customers"],
            "crmtui import customers": crmtui(Path("{db}"), "import", "customers", str(sheet)),
        }
        if sqlite_utils is None:
            print("sqlite-utils is not installed (pip install -e '.[bench]'): left out")
        else:
            insert = [sqlite_utils, "insert", "{db}", "customers", str(sheet), "--csv"]
            commands["sqlite-utils insert --csv"] = insert
            commands["sqlite-utils --no-detect-types"] = [*insert, "--no-detect-types"]
        print(
            f"{args.rows:,} rows, {sheet.stat().st_size / 1e6:.1f} MB; {args.runs} runs each; "
            f"{os.cpu_count()} CPUs; load average before: "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        runs: dict[str, list[Run]] = {label: [] for label in commands}
        for attempt in range(args.runs):
            for label, command in commands.items():
                db = folder / f"run{attempt}-{len(runs[label])}-{label.split()[0]}.db"
                runs[label].append(run([part.replace("{db}", str(db)) for part in command]))
                for leftover in folder.glob(f"{db.name}*"):
                    leftover.unlink()  # the disk holds one database at a time
        print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        floor = runs[".import (sqlite3 shell)"]
        for label, measured in runs.items():
            _describe(label, measured, floor)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
