"""Timing whole processes for the benchmarks: wall time, CPU time and peak memory of one
command run to its end, and the medians of several runs."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Run:
    seconds: float  # wall clock, start to exit
    cpu: float  # user + system time of the process
    peak_mb: float  # peak resident set


def run(command: list[str], stdout_path: Path | None = None) -> Run:
    """Run `command` to its end; its wall time, CPU time and peak memory (from wait4, which
    reports on that one process). A failing command stops the benchmark."""
    with (
        open(stdout_path or os.devnull, "wb") as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            sys.exit(f"{' '.join(command)} failed ({process.returncode}): {stderr.read().decode()}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(r, attribute) for r in runs)


def crmtui(db: Path, *args: str) -> list[str]:
    """The command running crmtui of this checkout on `db`."""
    return [sys.executable, "-m", "crmtui", "--db", str(db), *args]
