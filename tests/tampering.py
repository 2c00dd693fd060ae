"""Editing a crmtui database behind crmtui's back, as an intruder with the file (SQLite) or
the server (PostgreSQL) would: the audit log's append-only triggers dropped first."""

import sqlite3

import psycopg

from crmtui.store import db as store_db


def edit_behind_crmtuis_back(target: str, sql: str) -> None:
    """Run `sql` on the database `target` names with crmtui's own connection closed (the
    next store call opens it again, as crmtui does)."""
    store_db.close_database()
    if store_db.is_postgres_url(target):
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("DROP TRIGGER audit_log_append_only ON audit_log")
            conn.execute(sql)
        return
    conn = sqlite3.connect(target)
    with conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute(sql)
    conn.close()
