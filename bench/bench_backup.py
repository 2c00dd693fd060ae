"""How long `crmtui backup` takes, plain and encrypted, against `sqlite3 DB ".backup FILE"`.

Usage:
    .venv/bin/python bench/bench_backup.py                     # 1,000,000 demo customers, 5 runs
    .venv/bin/python bench/bench_backup.py --customers 100000 --runs 3
    .venv/bin/python bench/bench_backup.py --db COPY.db        # a database of your own

The database is made once by `crmtui demo` (about 15 minutes for a million customers) and
kept as `demo-N.db` in the cache folder (default /tmp/crmtui-bench-backup), checkpointed, so
later runs start at once. Backups are written to `out/` there and removed after each run.

Each run is a command, process start-up included, as cron runs it:

- reference: `sqlite3 DB ".backup FILE"` (Debian's sqlite3 command line tool);
- plain: `python -m crmtui --db DB backup --to DIR --json`;
- encrypted: the same with `--recipient age1…` (a key made for the run).

The three alternate within a round, and the order turns each round (A B C, B C A, C A B…) so
that a neighbour's load on the shared machine falls on all of them alike. The medians and the
ratios to the reference's median are printed; the targets are 1.2× plain and 2× encrypted.
crmtui's own `seconds` (from its JSON summary: the backup without Python's start-up) is shown
beside its wall-clock time.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import apsw

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "crmtui-bench-backup"
TARGETS = {"plain": 1.2, "encrypted": 2.0}


def _environment(cache: Path) -> dict[str, str]:
    """The user's config and data stay out of it: defaults only."""
    return {
        **os.environ,
        "CRMTUI_CONFIG": str(cache / "env" / "absent.toml"),
        "XDG_DATA_HOME": str(cache / "env" / "data"),
    }


def _crmtui(db: Path, cache: Path, *args: str) -> str:
    command = [sys.executable, "-m", "crmtui", "--db", str(db), *args]
    done = subprocess.run(command, capture_output=True, text=True, env=_environment(cache))
    if done.returncode != 0:
        raise SystemExit(f"crmtui {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def demo_database(customers: int, cache: Path) -> Path:
    """The cached demo database of `customers` customers, made first if it is not there."""
    final = cache / f"demo-{customers}.db"
    if final.exists():
        return final
    building = cache / f"building-{customers}.db"
    for stale in cache.glob(f"building-{customers}.db*"):
        stale.unlink()
    print(f"making {final} with crmtui demo (about 15 min per million) …", file=sys.stderr)
    _crmtui(building, cache, "demo", "--customers", str(customers), "--json")
    checkpoint(building)
    building.rename(final)
    return final


def checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so every run copies the same single file."""
    connection = apsw.Connection(str(path))
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def _sqlite3_version(sqlite3: str) -> str:
    return subprocess.run([sqlite3, "--version"], capture_output=True, text=True).stdout.split()[0]


def _timed(run: Callable[[], float | None]) -> tuple[float, float | None]:
    started = time.perf_counter()
    inner = run()
    return time.perf_counter() - started, inner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="back up this SQLite file instead of a demo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    sqlite3 = shutil.which("sqlite3")
    if sqlite3 is None:
        raise SystemExit("the sqlite3 command is missing: apt-get install -y sqlite3")
    args.cache.mkdir(parents=True, exist_ok=True)
    db = args.db or demo_database(args.customers, args.cache)
    checkpoint(db)
    out = args.cache / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    key = out.parent / "bench-key.txt"
    key.unlink(missing_ok=True)
    recipient = _crmtui(db, args.cache, "backup", "keygen", "-o", str(key)).strip()

    def reference() -> None:
        target = out / "reference.db"
        subprocess.run([sqlite3, str(db), f".backup '{target}'"], check=True)
        target.unlink()

    def crmtui_backup(*options: str) -> Callable[[], float]:
        def run() -> float:
            summary = json.loads(
                _crmtui(db, args.cache, "backup", "--to", str(out), "--json", *options)
            )
            for made in out.iterdir():
                made.unlink()
            return float(summary["seconds"])

        return run

    configs: dict[str, Callable[[], float | None]] = {
        "reference": reference,
        "plain": crmtui_backup(),
        "encrypted": crmtui_backup("--recipient", recipient),
    }
    size = db.stat().st_size
    print(
        f"{db}: {size / 1e9:.2f} GB; Python {platform.python_version()}, "
        f"crmtui's SQLite {apsw.sqlite_lib_version()}, sqlite3 {_sqlite3_version(sqlite3)}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    names = list(configs)
    wall: dict[str, list[float]] = {name: [] for name in names}
    inner: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(args.runs):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        line = []
        for name in order:
            seconds, own = _timed(configs[name])
            wall[name].append(seconds)
            if own is not None:
                inner[name].append(own)
            line.append(f"{name} {seconds:.2f} s")
        print(f"round {round_ + 1}: " + ", ".join(line), flush=True)
    key.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)

    base = statistics.median(wall["reference"])
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    print("| what | median | runs | crmtui's own seconds (median) | ratio | target |")
    print("|---|---|---|---|---|---|")
    for name in names:
        median = statistics.median(wall[name])
        runs = ", ".join(f"{s:.2f}" for s in wall[name])
        own = f"{statistics.median(inner[name]):.2f} s" if inner[name] else "—"
        target = f"≤ {TARGETS[name]}×" if name in TARGETS else "—"
        print(f"| {name} | {median:.2f} s | {runs} | {own} | {median / base:.2f}× | {target} |")


if __name__ == "__main__":
    main()
