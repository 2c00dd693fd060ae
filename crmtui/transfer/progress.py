"""How a transfer says how far it is: a callable both interfaces give, a bar each."""

from collections.abc import Callable

# Called with what is being done ("Checking rows", "Writing customers", …) and the count of
# rows done so far. A terminal's rich bar and the TUI's ProgressBar are both one of these.
Progress = Callable[[str, int], None]
