"""The one door to the data. Services take the acting user and return frozen values.

This package never imports Textual or click.
"""

import sys

# Peewee imports psycopg at its own import when psycopg is installed, whichever database is
# then opened: about 90 ms of start-up, a third of what crmtui added to Textual's, spent for
# nothing on SQLite. So peewee is first imported here with psycopg hidden from it (a None in
# sys.modules makes an import fail), and `db.PostgresqlDatabase` imports psycopg itself when a
# PostgreSQL database is opened. Where psycopg is already imported, peewee simply takes it.
if "peewee" not in sys.modules and "psycopg" not in sys.modules:
    sys.modules["psycopg"] = None  # type: ignore[assignment]
    try:
        import peewee  # noqa: F401
    finally:
        del sys.modules["psycopg"]
