"""`crmtui reindex` on both backends: builds the index a database made before search lacks."""

import json

from crmtui.store import db as store_db
from crmtui.store import models as m

from .conftest import Run


def _drop_search_index(target: str) -> None:
    """Leave the database as one made before search: customers, no search tables."""
    store_db.open_database(target)
    database = store_db.current_database()
    if not store_db.is_postgres(database):
        database.execute_sql("DROP TABLE search_fts")
    m.SearchDoc.drop_table(cascade=store_db.is_postgres(database))
    store_db.close_database()


def test_reindex_builds_a_missing_index(crm: Run, db_target: str) -> None:
    for name in ("张伟", "李娜"):
        assert crm("customer", "add", "--name", name).exit_code == 0
    _drop_search_index(db_target)

    refused = crm("customer", "list", "--search", "张伟")
    assert refused.exit_code == 1
    assert "crmtui reindex" in refused.stderr

    built = crm("reindex", "--json")
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["customers"] == 2

    listed = json.loads(crm("customer", "list", "--search", "张伟", "--json").stdout)
    assert [c["name"] for c in listed] == ["张伟"]


def test_reindex_again_changes_nothing(crm: Run) -> None:
    crm("customer", "add", "--name", "Emily Zhou", "--phone", "13812345678")
    before = json.loads(crm("customer", "list", "--search", "5678", "--json").stdout)
    assert [c["name"] for c in before] == ["Emily Zhou"]
    assert crm("reindex").stdout.startswith("Indexed 1 customers")
    assert json.loads(crm("customer", "list", "--search", "5678", "--json").stdout) == before
