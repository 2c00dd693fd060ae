"""Two sessions editing the same customer cannot lose an update, on both backends."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from crmtui.store import audit, changes, customers
from crmtui.store.errors import ConflictError
from crmtui.store.types import Actor


def _save_email(
    actor: Actor,
    customer_id: int,
    email: str,
    seen_version: int,
    both_read: threading.Barrier,
    outcomes: dict[str, object],
    label: str,
) -> None:
    """One session: it has read `seen_version`, waits for the other, then saves."""
    both_read.wait()
    try:
        customers.update_customer(actor, customer_id, {"email": email}, seen_version)
        outcomes[label] = "saved"
    except ConflictError as exc:
        outcomes[label] = exc


def test_two_sessions_saving_the_same_version_one_wins_one_is_refused(actor: Actor) -> None:
    """Both sessions read version N, then save at the same moment from their own connection."""
    created = customers.add_customer(actor, {"name": "王芳", "email": "start@example.com"})
    for round_number in range(10):
        seen = customers.get_customer(actor, created.id)
        both_read = threading.Barrier(2)
        outcomes: dict[str, object] = {}
        threads = [
            threading.Thread(
                target=_save_email,
                args=(
                    actor,
                    created.id,
                    f"{label}{round_number}@example.com",
                    seen.version,
                    both_read,
                    outcomes,
                    label,
                ),
            )
            for label in ("a", "b")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        winners = [label for label, outcome in outcomes.items() if outcome == "saved"]
        losers = [o for o in outcomes.values() if isinstance(o, ConflictError)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert losers[0].expected == seen.version and losers[0].actual == seen.version + 1
        final = customers.get_customer(actor, created.id)
        assert final.email == f"{winners[0]}{round_number}@example.com"
        assert final.version == seen.version + 1

    email_changes = [e for e in changes.customer_changes(actor, created.id) if e.field == "email"]
    assert len(email_changes) == 10  # one recorded change per round: the winner's


_WORKER = """
import sys
from crmtui.store import customers, db, users
from crmtui.store.errors import ConflictError

target, customer_id, increments = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db.open_database(target)
actor = users.local_actor()
conflicts = 0
for _ in range(increments):
    while True:
        seen = customers.get_customer(actor, customer_id)
        try:
            customers.update_customer(
                actor, customer_id, {"notes": str(int(seen.notes or 0) + 1)}, seen.version
            )
            break
        except ConflictError:
            conflicts += 1
print(conflicts)
"""


def test_processes_incrementing_one_field_lose_no_increment(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    """Four processes read-modify-write one counter; every increment must survive."""
    created = customers.add_customer(actor, {"name": "Counter", "notes": "0"})
    script = tmp_path / "worker.py"
    script.write_text(_WORKER, encoding="utf-8")
    workers, increments = 4, 25
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), db, str(created.id), str(increments)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    for process, (_out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
    final = customers.get_customer(actor, created.id)
    assert final.notes == str(workers * increments)
    assert final.version == 1 + workers * increments
    # Every saved increment is one audit row, chained in one line however the writers raced.
    report = audit.verify(actor)
    assert report.ok, report.problems
    assert report.checked == 1 + workers * increments


@pytest.mark.parametrize("stale_by", [1, 3])
def test_a_stale_edit_changes_nothing(actor: Actor, stale_by: int) -> None:
    created = customers.add_customer(actor, {"name": "李雷", "city": "北京"})
    for n in range(stale_by):
        customers.update_customer(actor, created.id, {"city": f"上海{n}"}, None)
    before = customers.get_customer(actor, created.id)
    history_before = changes.customer_changes(actor, created.id)
    with pytest.raises(ConflictError):
        customers.update_customer(actor, created.id, {"city": "广州", "tags": ["x"]}, 1)
    assert customers.get_customer(actor, created.id) == before
    assert changes.customer_changes(actor, created.id) == history_before
