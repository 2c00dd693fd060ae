"""The one error a transfer raises for a request it cannot carry out."""


class TransferError(Exception):
    """A file that cannot be read or written, or options that do not fit together: the message
    is the whole story, for a shell's error line or a dialog."""
