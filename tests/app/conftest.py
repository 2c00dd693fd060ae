"""SVG snapshots of the app's screens: `snap_compare`, in the manner of pytest-textual-snapshot.

pytest-textual-snapshot 1.1.0 needs syrupy 4.8.0, which needs pytest < 9, and the suite needs
pytest 9 (the `subtests` fixture), so the few lines it takes live here instead. Like the plugin,
`snap_compare(app, terminal_size=…, run_before=…)` runs the app headless at that size, lets
`run_before(pilot)` drive it, waits until the screen is still and compares the SVG screenshot
with the one kept under `__snapshots__/<test module>/`. `pytest --snapshot-update` writes the
screenshots taken instead (review them with `git diff` before committing).

A snapshot is named after the test function and the terminal size, not the backend: the same
screen must come out of SQLite and PostgreSQL.
"""

import difflib
import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

RunBefore = Callable[[Pilot], Awaitable[None]]
SnapCompare = Callable[..., Awaitable[bool]]

# Rich's SVG names its classes and clip paths after a hash of the whole picture; any change
# would alter every line of the file, so the kept snapshots leave the hash out.
_UNIQUE_ID = re.compile(r"\bterminal-\d+-([\w-]+)")
_TEXT = re.compile(
    r'<text [^>]*?x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
    r'clip-path="url\(#terminal-line-(\d+)\)">(.*?)</text>'
)
# The width of a terminal cell in Rich's SVG: 20 high, 0.61 of that wide.
CELL_WIDTH = 12.2


def normalize_svg(svg: str) -> str:
    """The SVG without its hash, and with wide characters (Chinese) two cells wide.

    Rich places every run of text at the right cell but sizes the run by characters, not
    cells, so a browser squeezes a Chinese name into half its width (Rich issue #2742).
    """
    svg = _UNIQUE_ID.sub(r"terminal-\1", svg)

    def widen(match: re.Match[str]) -> str:
        text = html.unescape(match.group(4))
        cells = cell_len(text)
        if cells == len(text):
            return match.group(0)
        length = f"{CELL_WIDTH * cells:g}"
        return match.group(0).replace(f'textLength="{match.group(2)}"', f'textLength="{length}"')

    return _TEXT.sub(widen, svg)


def screen_lines(svg: str) -> list[str]:
    """The text of each terminal line in a normalized SVG screenshot (for a readable diff)."""
    lines: dict[int, str] = {}
    for match in _TEXT.finditer(svg):
        line, column = int(match.group(3)), round(float(match.group(1)) / CELL_WIDTH)
        text = lines.get(line, "")
        text += " " * (column - cell_len(text)) + html.unescape(match.group(4))
        lines[line] = text.replace("\xa0", " ")
    return [lines.get(n, "").rstrip() for n in range(max(lines, default=-1) + 1)]


async def steady_screenshot(pilot: Pilot) -> str:
    """The SVG of the screen once nothing moves: animations done, cursors not blinking."""
    app = pilot.app
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    # A blinking cursor is shown or not depending on when the picture is taken. With the
    # blink off it holds still: hidden in a one-line field, shown in a focused text area.
    for editor in app.screen.query("Input, TextArea"):
        assert isinstance(editor, Input | TextArea)
        editor.cursor_blink = False
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    return normalize_svg(app.export_screenshot(simplify=True))


@pytest.fixture
def snap_compare(request: pytest.FixtureRequest, tmp_path: Path) -> SnapCompare:
    """`await snap_compare(app, terminal_size=(80, 24), run_before=…)`: True when the screen
    matches its snapshot; with `--snapshot-update`, writes the snapshot and returns True."""
    update = request.config.getoption("--snapshot-update")
    folder = request.path.parent / "__snapshots__" / request.path.stem
    base_name = request.node.originalname

    async def compare(
        app: App,
        *,
        terminal_size: tuple[int, int] = (80, 24),
        run_before: RunBefore | None = None,
        name: str = "",
    ) -> bool:
        width, height = terminal_size
        stem = "_".join(filter(None, (base_name, name, f"{width}x{height}")))
        expected_path = folder / f"{stem}.svg"
        async with app.run_test(size=terminal_size) as pilot:
            await pilot.pause()
            if run_before is not None:
                await run_before(pilot)
            actual = await steady_screenshot(pilot)
        if update:
            if not expected_path.exists() or expected_path.read_text("utf-8") != actual:
                folder.mkdir(parents=True, exist_ok=True)
                expected_path.write_text(actual, "utf-8")
            return True
        if not expected_path.exists():
            pytest.fail(f"no snapshot {expected_path}: run pytest with --snapshot-update")
        expected = expected_path.read_text("utf-8")
        if expected == actual:
            return True
        actual_path = tmp_path / f"{stem}.svg"
        actual_path.write_text(actual, "utf-8")
        diff = "\n".join(
            difflib.unified_diff(
                screen_lines(expected),
                screen_lines(actual),
                "snapshot",
                "now",
                lineterm="",
            )
        )
        pytest.fail(
            f"the screen differs from {expected_path}\n"
            f"now: {actual_path} (pytest --snapshot-update accepts it)\n"
            + (diff or "the same text: colours or styles differ"),
            pytrace=False,
        )

    return compare
