"""Paths as a person types and reads them in a dialog."""

from pathlib import Path


def shown_path(path: Path) -> str:
    """`path` as a person types it: the home folder as `~`."""
    home = Path.home()
    return "~/" + str(path.relative_to(home)) if path.is_relative_to(home) else str(path)


def target_path(text: str) -> Path:
    """The file a typed path names: `~` is the home folder, a relative path is from the
    current directory (where the user started crmtui)."""
    return Path(text.strip()).expanduser().absolute()
