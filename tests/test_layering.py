"""The layers stay apart: the store never pulls in the interface libraries."""

import subprocess
import sys
from pathlib import Path

import pytest

STORE_MODULES = sorted(
    f"crmtui.store.{path.stem}"
    for path in (Path(__file__).parent.parent / "crmtui" / "store").glob("*.py")
    if path.stem != "__init__"
)


@pytest.mark.parametrize("forbidden", ["textual", "click"])
def test_store_imports_without_interface_libraries(forbidden: str) -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {STORE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"leaked = sorted(m for m in sys.modules if m == {forbidden!r} "
        f"or m.startswith({forbidden!r} + '.'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert len(STORE_MODULES) > 10
    assert result.stdout.strip() == "", f"crmtui.store imported {result.stdout.strip()}"


def test_screens_and_cli_do_not_query_the_database() -> None:
    """No Peewee or model imports outside crmtui/store: one door to the data."""
    package = Path(__file__).parent.parent / "crmtui"
    offenders = []
    for path in package.rglob("*.py"):
        if "store" in path.relative_to(package).parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "import peewee" in text or "store.models" in text or "from peewee" in text:
            offenders.append(str(path.relative_to(package)))
    assert offenders == [], offenders
