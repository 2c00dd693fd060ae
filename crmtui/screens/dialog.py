"""What every dialog shares: a bordered box (`#dialog`) centred over the screen that opened
it, a bold `#title`, a muted `#hint` under the rest, and `#buttons` on the right."""

from typing import TypeVar

from textual.screen import ModalScreen

T = TypeVar("T")


class Dialog(ModalScreen[T]):
    """A modal dialog; a subclass's CSS changes what differs (its width, say)."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        & > #dialog {
            width: 60;
            max-width: 100%;
            height: auto;
            max-height: 90%;
            padding: 1 2;
            border: thick $primary;
            background: $surface;
        }
        #title {
            text-style: bold;
            margin-bottom: 1;
        }
        #hint {
            color: $text-muted;
            margin-top: 1;
        }
        #buttons {
            height: auto;
            margin-top: 1;
            align-horizontal: right;
            & > Button {
                margin-left: 2;
            }
        }
    }
    """
