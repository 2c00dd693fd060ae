"""Moving records between files and the store, for `crmtui import`/`export` and the TUI alike.

The store reads and writes records; `crmtui.tabular` reads and writes table files. This package
joins them the one way both interfaces need: the options and their defaults, where files go,
progress, the reject file, and the words of a summary. It knows neither click nor Textual: each
interface asks here and shows the answer its own way.
"""
