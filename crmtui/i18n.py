"""The one translation function every user-visible string passes through.

Catalogues are gettext `.mo` files under `crmtui/locale/<lang>/LC_MESSAGES/crmtui.mo`;
until a catalogue exists for the user's language, strings show as written (English).
"""

import gettext
from pathlib import Path

_LOCALE_DIR = Path(__file__).parent / "locale"
_translation = gettext.translation("crmtui", localedir=_LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    """Translate `message` into the user's language (LANGUAGE / LC_ALL / LANG)."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message whose form depends on the count `n`."""
    return _translation.ngettext(singular, plural, n)
