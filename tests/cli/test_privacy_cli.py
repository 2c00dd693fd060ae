"""`crmtui privacy export|erase` on each backend."""

import json

from tests.cli.conftest import Run


def test_export_then_erase(crm: Run) -> None:
    added = crm("customer", "add", "--name", "欧阳娜娜", "--email", "nana@example.com", "--json")
    customer_id = json.loads(added.stdout)["id"]
    exported = crm("privacy", "export", str(customer_id))
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["customer"]["email"] == "nana@example.com"

    unconfirmed = crm("privacy", "erase", str(customer_id))
    assert unconfirmed.exit_code == 2 and "confirm with --yes" in unconfirmed.stderr
    erased = crm("privacy", "erase", str(customer_id), "--yes")
    assert erased.exit_code == 0, erased.output
    assert (
        erased.stdout
        == f"erased customer {customer_id}; it is now 'erased customer {customer_id}'\n"
    )
    shown = json.loads(crm("customer", "show", str(customer_id), "--json").stdout)
    assert (shown["name"], shown["email"]) == (f"erased customer {customer_id}", "")

    missing = crm("privacy", "erase", "999", "--yes")
    assert missing.exit_code == 1 and "no customer with id 999" in missing.stderr
