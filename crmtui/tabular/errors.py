"""The one error a table file raises when it cannot be read: a reason, and the line if known."""

from crmtui.i18n import _


class TableError(ValueError):
    """A file that cannot be read as a table.

    `line` is the physical line (CSV) or sheet row (XLSX) where reading stopped, or None for a
    problem of the whole file ("the file is empty"); `reason` is the message without the line,
    for a reject file or a dialog that shows the line in a column of its own.
    """

    def __init__(self, reason: str, line: int | None = None) -> None:
        message = _("line {line}: {reason}").format(line=line, reason=reason) if line else reason
        super().__init__(message)
        self.reason = reason
        self.line = line
