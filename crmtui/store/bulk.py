"""Writing many new rows at once, for loads (`crmtui demo`) and imports."""

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import peewee

from crmtui.store import models as m
from crmtui.store.db import current_database, is_postgres


def _stored_differently(field: peewee.Field) -> bool:
    """Whether a field binds something other than the Python value it is given.

    Peewee's own text, number and flag fields only coerce (str, int, bool), which generated
    values already are, and a foreign key binds the id it is given; times, dates and money
    (see models) are converted to their stored form.
    """
    overrides = type(field).db_value is not peewee.Field.db_value
    return overrides and not isinstance(field, peewee.ForeignKeyField)


@dataclass(frozen=True)
class _Statement:
    """A one-row INSERT for every column of a model, and how to bind a row to it."""

    sql: str
    keys: tuple[str, ...]  # columns the rows carry
    defaulted: tuple[peewee.Field, ...]  # columns they leave out, filled from field defaults
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, db_value)

    def params(self, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
        bound = []
        for row in rows:
            values = [row[key] for key in self.keys]
            values += [f.default() if callable(f.default) else f.default for f in self.defaulted]
            for position, to_db in self.conversions:
                values[position] = to_db(values[position])
            bound.append(values)
        return bound


@functools.cache
def _defaults(model: type[m.BaseModel]) -> dict[str, Any]:
    """Every column of a new row but the id, at its default; the defaults that are functions
    (the timestamps) are left for `new_row` to set."""
    return {
        name: None if callable(f.default) else f.default
        for name, f in model._meta.fields.items()
        if name != "id"
    }


def new_row(
    model: type[m.VersionedModel], columns: Mapping[str, object], now: dt.datetime
) -> dict[str, Any]:
    """A new record of `model` holding `columns`, every other column at its default, at
    version 1 and made `now`. Every row of a model gets the same keys, in the same order,
    which is what `Writer` needs of the rows it inserts together."""
    return {**_defaults(model), **columns, "version": 1, "created_at": now, "updated_at": now}


class Writer:
    """Inserts rows with one statement per model, rendered by Peewee, run by `executemany`.

    `Model.insert_many` renders a multi-row INSERT value by value, which took three quarters
    of a demo load (SQLite itself: 3%), and psycopg then re-parses each long statement. A
    one-row INSERT rendered once and handed to the driver's `executemany` (a C loop in APSW,
    pipelined in psycopg) writes the same rows three times faster, with no limit on bound
    variables to respect, and returns ids in the order of the rows.
    """

    def __init__(self) -> None:
        self._statements: dict[tuple[type[m.BaseModel], tuple[str, ...]], _Statement] = {}

    def _statement(self, model: type[m.BaseModel], keys: tuple[str, ...]) -> _Statement:
        cache_key = (model, keys)
        if cache_key not in self._statements:
            pk = model._meta.primary_key
            defaulted = tuple(
                f for f in model._meta.sorted_fields if f is not pk and f.name not in keys
            )
            fields_ = [*(model._meta.fields[k] for k in keys), *defaulted]
            query = model.insert_many([(None,) * len(fields_)], fields=fields_).returning()
            sql, params = query.sql()
            assert len(params) == len(fields_)  # every value is bound, none inlined
            conversions = tuple(
                (i, f.db_value) for i, f in enumerate(fields_) if _stored_differently(f)
            )
            self._statements[cache_key] = _Statement(sql, keys, defaulted, conversions)
        return self._statements[cache_key]

    def insert(self, model: type[m.BaseModel], rows: Sequence[dict[str, Any]]) -> int:
        if rows:
            statement = self._statement(model, tuple(rows[0]))
            current_database().cursor().executemany(statement.sql, statement.params(rows))
        return len(rows)

    def insert_with_ids(
        self, model: type[m.BaseModel], rows: Sequence[dict[str, Any]]
    ) -> list[int]:
        """Insert rows (in the caller's write transaction) and return their ids, in the order
        of `rows`. The ids are asked for first (`next_ids`) and inserted with the rows."""
        ids = next_ids(model, len(rows))
        self.insert(model, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
        return ids


# Columns a new row is given when it is written, not when it is made ahead.
_WRITE_TIME = ("id", "created_at", "updated_at")


class PreboundInsert:
    """New records of a model bound to values ahead of writing them (an import's check pass),
    all but their ids and timestamps, so that the write pass does no more than pair each with
    an id and hand them to `executemany`."""

    def __init__(self, model: type[m.VersionedModel]) -> None:
        self._model = model
        self._fields = [f for f in model._meta.sorted_fields if f.name not in _WRITE_TIME]
        self._conversions = [
            (i, f.db_value) for i, f in enumerate(self._fields) if _stored_differently(f)
        ]
        self._stamp = model._meta.fields["created_at"].db_value
        columns = [model._meta.fields[name] for name in _WRITE_TIME] + self._fields
        query = model.insert_many([(None,) * len(columns)], fields=columns).returning()
        self._sql, params = query.sql()
        assert len(params) == len(columns)  # every value is bound, none inlined

    def bind(self, columns: Mapping[str, object]) -> tuple[Any, ...]:
        """A new record holding `columns` (every other column at its default, version 1), as
        the values its row binds, but for the id and timestamps."""
        row = {**_defaults(self._model), **columns, "version": 1}
        values = [row[f.name] for f in self._fields]
        for position, to_db in self._conversions:
            values[position] = to_db(values[position])
        return tuple(values)

    def write(self, ids: Sequence[int], rows: Sequence[tuple[Any, ...]], now: dt.datetime) -> None:
        stamp = self._stamp(now)
        current_database().cursor().executemany(
            self._sql, [(i, stamp, stamp, *row) for i, row in zip(ids, rows, strict=True)]
        )


def next_ids(model: type[m.BaseModel], count: int) -> list[int]:
    """Ids for `count` new rows of `model`, for the caller to insert in its transaction.

    Asking for ids beats having them returned: SQLite's RETURNING made an import's inserts
    four times slower. On SQLite the write lock the transaction holds keeps them free."""
    if count == 0:
        return []
    db = current_database()
    table = model._meta.table_name
    if is_postgres(db):
        cursor = db.execute_sql(
            f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id')) "
            "FROM generate_series(1, %s)",
            (count,),
        )
        return [row[0] for row in cursor.fetchall()]
    last = db.execute_sql(f'SELECT MAX(id) FROM "{table}"').fetchone()[0] or 0
    return list(range(last + 1, last + 1 + count))
