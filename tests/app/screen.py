"""Reading what a Pilot-driven app shows, and typing into it: shared by the app tests."""

from textual.app import App
from textual.pilot import Pilot
from textual.scroll_view import ScrollView


async def screen_text(pilot: Pilot) -> str:
    """Everything on the terminal, as plain text, once the screen has caught up."""
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


async def type_text(pilot: Pilot, text: str) -> None:
    """Type `text` a key at a time."""
    await pilot.press(*("space" if char == " " else char for char in text))


def painted_lines(widget: ScrollView) -> list[str]:
    """A line widget's painted lines without trailing blanks: its header, then its rows."""
    lines = [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def notifications(app: App) -> list[str]:
    """The messages the app will notify the user of (toasts wrap, so the screen is no test)."""
    seen: list[str] = []
    notify = app.notify

    def recording(message: str, **options: object) -> None:
        seen.append(message)
        notify(message, **options)  # type: ignore[arg-type]

    app.notify = recording  # type: ignore[method-assign]
    return seen
