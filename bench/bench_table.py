"""How fast the customer table paints and pages, and how much memory it holds.

Usage:
    .venv/bin/python bench/bench_table.py                        # makes a 100,000 demo database
    .venv/bin/python bench/bench_table.py --customers 0 --db COPY-OF-1M.db
    .venv/bin/python bench/bench_table.py --db A.db --db B.db --runs 5 --presses 300

Each measurement runs in a fresh Python process (so imports and memory start from nothing),
headless through Textual's `run_test()` at 80×24:

- first paint: from the first line of the process (before Textual or crmtui are imported)
  until the first frame holding customer rows is composed. The reference is an empty Textual
  app (one Static) timed the same way, in the same run, its runs alternating with the
  table's: the target is within 1.5× of it.
- page-down: from the key press until the next frame is composed, for `--presses` presses
  from the top; about one press in four reads a page of 100 rows from the database.
- memory: the process's peak resident set (`ru_maxrss`) after the paging.

Each database is opened as crmtui opens it (tables a newer crmtui adds are created), so pass
a copy of a database you care about. With `--customers N` a demo database of N customers is
made in a temporary folder first (`crmtui demo`, about 2 minutes per 100,000).

crmtui's modules are byte-compiled first, as installing crmtui does (Textual's are, from its
wheel). Without that, under PYTHONDONTWRITEBYTECODE or in a fresh checkout, every start
compiles crmtui's sources again (about 40 ms), which no installed copy does; `--no-compile`
leaves crmtui's bytecode as it is, to measure that case where there is none.
"""

import time

STARTED = time.perf_counter()  # before anything else is imported: start-up is measured
STARTED_CPU = time.process_time()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import compileall  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import py_compile  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

SIZE = (80, 24)


# --- Workers: one configuration, in its own process; they print one JSON object ---------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _now() -> tuple[float, float]:
    """Wall-clock and CPU time of this process. On a busy machine the CPU time says what the
    wall-clock time would be on an idle one (the app runs in one thread; the database file is
    in the page cache)."""
    return time.perf_counter(), time.process_time()


def _frames(app: object) -> list[tuple[float, float]]:
    """The times at which the app composes a frame, as it runs (in headless mode nothing is
    written to a terminal, but each frame is composed just as for one)."""
    frames: list[tuple[float, float]] = []
    display = app._display  # type: ignore[attr-defined]

    def recording(screen: object, renderable: object) -> None:
        display(screen, renderable)
        if renderable is not None:
            frames.append(_now())

    app._display = recording  # type: ignore[attr-defined]
    return frames


async def _next_frame(frames: list[tuple[float, float]], seen: int) -> tuple[float, float]:
    """The time of the first frame after the first `seen` frames, once it is composed.

    Pilot sleeps after each key it sends, so the time a press takes to return is mostly the
    harness; the frame's own time stamp is what the user would see.
    """
    while len(frames) <= seen:
        await asyncio.sleep(0.001)
    return frames[seen]


async def _empty_worker() -> dict[str, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Empty(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("crmtui")

    app = Empty()
    frames = _frames(app)
    async with app.run_test(size=SIZE):
        wall, cpu = await _next_frame(frames, 0)
    return {
        "first_paint_ms": (wall - STARTED) * 1000,
        "first_paint_cpu_ms": (cpu - STARTED_CPU) * 1000,
        "peak_mb": _peak_mb(),
    }


async def _table_worker(db: str, presses: int) -> dict[str, object]:
    from crmtui.app import CrmApp
    from crmtui.store import db as store_db
    from crmtui.store import users
    from crmtui.widgets.customer_table import CustomerTable

    store_db.open_database(db)
    actor = users.local_actor()
    app = CrmApp(actor=actor, db_label=db)
    painted_rows: list[tuple[float, float]] = []
    render_line = CustomerTable.render_line

    def recording(table: CustomerTable, y: int) -> object:
        strip = render_line(table, y)
        if y and not painted_rows and table.total:
            painted_rows.append(_now())
        return strip

    CustomerTable.render_line = recording  # type: ignore[method-assign]
    frames = _frames(app)
    async with app.run_test(size=SIZE) as pilot:
        # The first frame composed after a row of the table was rendered: the first table.
        while not painted_rows:
            await asyncio.sleep(0.001)
        painted, painted_cpu = await _next_frame(frames, sum(t < painted_rows[0] for t in frames))
        table = app.screen.query_one(CustomerTable)
        await pilot.pause()  # the count follows the first page
        total = table.total

        page_down: list[float] = []
        page_down_cpu: list[float] = []
        for _ in range(presses):
            seen, (started, started_cpu) = len(frames), _now()
            await pilot.press("pagedown")
            wall, cpu = await _next_frame(frames, seen)
            page_down.append((wall - started) * 1000)
            page_down_cpu.append((cpu - started_cpu) * 1000)
        assert table.cursor_row == min(total - 1, presses * (table.size.height - 1))

        jumps = {}
        for key in ("G", "g"):
            await pilot.pause()
            seen, (started, _cpu) = len(frames), _now()
            await pilot.press(key)
            jumps[key] = ((await _next_frame(frames, seen))[0] - started) * 1000
    store_db.close_database()
    return {
        "customers": total,
        "first_paint_ms": (painted - STARTED) * 1000,
        "first_paint_cpu_ms": (painted_cpu - STARTED_CPU) * 1000,
        "page_down_ms": page_down,
        "page_down_cpu_ms": page_down_cpu,
        "end_ms": jumps["G"],
        "home_ms": jumps["g"],
        "peak_mb": _peak_mb(),
    }


# --- The driver --------------------------------------------------------------------------------


def _environment(tmp: Path) -> dict[str, str]:
    """The user's config and data stay out of it: defaults only."""
    return {
        **os.environ,
        "CRMTUI_CONFIG": str(tmp / "absent.toml"),
        "XDG_DATA_HOME": str(tmp / "data"),
    }


def _worker(args: list[str], tmp: Path) -> dict:
    command = [sys.executable, __file__, "--worker", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=_environment(tmp))
    if done.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _make_demo(customers: int, tmp: Path) -> str:
    path = tmp / f"demo-{customers}.db"
    print(f"making a demo database of {customers:,} customers in {path} …", file=sys.stderr)
    command = [sys.executable, "-m", "crmtui", "--db", str(path), "demo"]
    command += ["--customers", str(customers), "--json"]
    subprocess.run(command, check=True, capture_output=True, env=_environment(tmp))
    return str(path)


def _byte_compile() -> None:
    """Write crmtui's bytecode, as installing it does. Checked by hash, not by time stamp, so
    a source edited afterwards (in a working tree) is never run from stale bytecode."""
    spec = importlib.util.find_spec("crmtui")  # finds the package without importing it
    assert spec is not None and spec.submodule_search_locations
    for folder in spec.submodule_search_locations:
        mode = py_compile.PycInvalidationMode.CHECKED_HASH
        if not compileall.compile_dir(folder, quiet=1, invalidation_mode=mode):
            raise SystemExit(f"cannot byte-compile {folder}")


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", default=[], help="a database to measure")
    parser.add_argument("--customers", type=int, default=100_000, help="0: make no database")
    parser.add_argument("--runs", type=int, default=3, help="processes per configuration")
    parser.add_argument("--presses", type=int, default=200, help="page-downs per run")
    parser.add_argument(
        "--no-compile", action="store_true", help="leave crmtui's bytecode as it is"
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.worker:
        kind, *rest = options.worker
        if kind == "empty":
            result = asyncio.run(_empty_worker())
        else:
            result = asyncio.run(_table_worker(rest[0], int(rest[1])))
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        databases = list(options.db)
        if options.customers:
            databases.insert(0, _make_demo(options.customers, tmp))
        if not options.no_compile:
            _byte_compile()
        print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
        print("crmtui " + ("bytecode left as it is" if options.no_compile else "byte-compiled"))
        print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")

        # Round by round, so the empty app and each database meet the machine alike: on a shared
        # or virtual machine its speed drifts over minutes, which would skew one block of runs.
        empty: list[dict] = []
        tables: dict[str, list[dict]] = {db: [] for db in databases}
        for _ in range(options.runs):
            empty.append(_worker(["empty"], tmp))
            for db in databases:
                tables[db].append(_worker(["table", db, str(options.presses)], tmp))
        empty_ms = statistics.median(run["first_paint_ms"] for run in empty)
        empty_cpu = statistics.median(run["first_paint_cpu_ms"] for run in empty)
        print(
            f"empty Textual app: first paint {empty_ms:.0f} ms, CPU {empty_cpu:.0f} ms "
            f"(medians of {options.runs}), peak {max(run['peak_mb'] for run in empty):.0f} MB"
        )
        for db, runs in tables.items():
            paint = statistics.median(run["first_paint_ms"] for run in runs)
            paint_cpu = statistics.median(run["first_paint_cpu_ms"] for run in runs)
            print(f"\n{runs[0]['customers']:,} customers ({db})")
            print(
                f"  first paint {paint:.0f} ms = {paint / empty_ms:.2f}× the empty app; "
                f"CPU {paint_cpu:.0f} ms = {paint_cpu / empty_cpu:.2f}×"
            )
            for label, key in (("wall", "page_down_ms"), ("CPU", "page_down_cpu_ms")):
                presses = [ms for run in runs for ms in run[key]]
                print(
                    f"  page-down {label} ({len(presses)} presses): median "
                    f"{statistics.median(presses):.1f} ms, p95 {_p95(presses):.1f} ms, "
                    f"max {max(presses):.1f} ms"
                )
            print(
                f"  G (last row) {statistics.median(run['end_ms'] for run in runs):.0f} ms,"
                f" g (first row) {statistics.median(run['home_ms'] for run in runs):.0f} ms"
            )
            print(f"  peak memory {max(run['peak_mb'] for run in runs):.0f} MB")
        print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
