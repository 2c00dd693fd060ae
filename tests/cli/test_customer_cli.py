"""`crmtui customer …` and `crmtui followup …` from a script's point of view."""

import json

import pytest

from tests.cli.conftest import Run


def _added(crm: Run, *args: str) -> dict:
    result = crm("customer", "add", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_add_show_list_round_trip_in_json(crm: Run) -> None:
    created = _added(
        crm, "--name", "张伟", "--company", "上海华信科技有限公司", "--phone", "138 1234 5678",
        "--email", "Zhang.Wei@Example.COM", "--stage", "prospect", "--tag", "vip", "--tag", "北京",
    )  # fmt: skip
    assert created["id"] > 0 and created["version"] == 1
    assert created["phone"] == "+8613812345678" and created["phone_raw"] == "138 1234 5678"
    assert created["email"] == "zhang.wei@example.com"
    assert created["tags"] == ["vip", "北京"]

    shown = json.loads(crm("customer", "show", str(created["id"]), "--json").stdout)
    assert shown == created

    listed = json.loads(crm("customer", "list", "--search", "13812345678", "--json").stdout)
    assert [c["id"] for c in listed] == [created["id"]]
    assert {"id", "version", "name", "company", "phone", "email", "stage"} <= set(listed[0])


def test_a_possible_duplicate_is_added_with_a_warning_on_stderr(crm: Run) -> None:
    first = _added(crm, "--name", "张伟", "--email", "zw@example.com")
    result = crm("customer", "add", "--name", "Zhang Wei", "--email", "ZW@Example.com", "--json")
    assert result.exit_code == 0
    second = json.loads(result.stdout)  # stdout stays pure JSON for scripts
    assert result.stderr == (
        f"Warning: customer {second['id']} may duplicate #{first['id']} 张伟: same email\n"
    )
    quiet = crm("customer", "add", "--name", "李娜")
    assert (quiet.exit_code, quiet.stderr) == (0, "")


def test_list_text_is_aligned_and_limit_zero_lists_all(crm: Run) -> None:
    for n in range(3):
        _added(crm, "--name", f"客户{n}", "--company", f"Company {n}")
    limited = crm("customer", "list", "--limit", "2")
    assert limited.exit_code == 0
    assert len(limited.stdout.splitlines()) == 3  # header + 2 rows
    assert "showing 2 of 3" in limited.stderr
    everything = crm("customer", "list", "--limit", "0")
    lines = everything.stdout.splitlines()
    assert len(lines) == 4 and everything.stderr == ""
    # The company column starts at the same place on every line, Chinese names included.
    from rich.cells import cell_len

    starts = {cell_len(line[: line.index("Company")]) for line in lines[1:]}
    assert len(starts) == 1


def test_edit_with_a_stale_version_is_refused_and_names_the_conflict(crm: Run) -> None:
    created = _added(crm, "--name", "李娜", "--email", "li@example.com")
    first = crm("customer", "edit", str(created["id"]), "--email", "new@example.com",
                "--if-version", "1")  # fmt: skip
    assert first.exit_code == 0, first.stderr
    stale = crm("customer", "edit", str(created["id"]), "--email", "other@example.com",
                "--if-version", "1")  # fmt: skip
    assert stale.exit_code == 1
    assert "changed by someone else" in stale.stderr and "version 2" in stale.stderr
    shown = json.loads(crm("customer", "show", str(created["id"]), "--json").stdout)
    assert shown["email"] == "new@example.com" and shown["version"] == 2


def test_tags_can_be_added_and_removed_and_history_shows_it(crm: Run) -> None:
    created = _added(crm, "--name", "Ada", "--tag", "a", "--tag", "b")
    result = crm("customer", "edit", str(created["id"]), "--add-tag", "c", "--remove-tag", "a")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(crm("customer", "show", str(created["id"]), "--json").stdout)
    assert shown["tags"] == ["b", "c"]
    history = json.loads(crm("customer", "history", str(created["id"]), "--json").stdout)
    tag_change = [e for e in history if e["field"] == "tags"]
    assert tag_change[0]["old_value"] == "a, b" and tag_change[0]["new_value"] == "b, c"
    assert history[-1]["action"] == "create"


def test_delete_needs_confirmation_outside_a_terminal(crm: Run, snapshot) -> None:
    created = _added(crm, "--name", "Temp")
    before = snapshot()
    refused = crm("customer", "delete", str(created["id"]))
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert snapshot() == before
    deleted = crm("customer", "delete", str(created["id"]), "--yes")
    assert deleted.exit_code == 0
    assert crm("customer", "show", str(created["id"])).exit_code == 1
    history = json.loads(crm("customer", "history", str(created["id"]), "--json").stdout)
    assert history[0]["action"] == "delete" and "Temp" in history[0]["old_value"]


def test_custom_fields_are_defined_then_set(crm: Run) -> None:
    assert crm("field", "add", "industry", "--type", "choice", "--choice", "制造",
               "--choice", "零售").exit_code == 0  # fmt: skip
    assert crm("field", "add", "budget", "--type", "number").exit_code == 0
    created = _added(crm, "--name", "Custom Co", "--set", "industry=零售", "--set", "budget=1200.5")
    assert created["custom"] == {"budget": "1200.5", "industry": "零售"}
    bad = crm("customer", "edit", str(created["id"]), "--set", "industry=农业")
    assert bad.exit_code == 1 and "not one of" in bad.stderr
    fields = json.loads(crm("field", "list", "--json").stdout)
    assert [f["key"] for f in fields] == ["budget", "industry"]


def test_followup_add_list_done_with_recurrence(crm: Run) -> None:
    customer = _added(crm, "--name", "周杰")
    added = crm("followup", "add", str(customer["id"]), "--due", "+2d", "--title", "回访",
                "--every", "monthly", "--json")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    followup = json.loads(added.stdout)
    listed = json.loads(crm("followup", "list", "--json").stdout)
    assert [f["id"] for f in listed] == [followup["id"]]
    done = crm("followup", "done", str(followup["id"]), "--outcome", "客户满意", "--json")
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["done"]["status"] == "done" and result["next"]["status"] == "open"
    assert result["next"]["due_at"] > followup["due_at"]
    open_now = json.loads(crm("followup", "list", "--json").stdout)
    assert [f["id"] for f in open_now] == [result["next"]["id"]]
    assert crm("followup", "list", "--overdue").stdout == ""


def test_followup_snooze_moves_the_due_time(crm: Run) -> None:
    customer = _added(crm, "--name", "Snoozer")
    followup = json.loads(
        crm(
            "followup", "add", str(customer["id"]), "--due", "today", "--title", "t", "--json"
        ).stdout
    )
    moved = crm("followup", "snooze", str(followup["id"]), "2099-01-05", "--json")
    assert moved.exit_code == 0, moved.stderr
    assert json.loads(moved.stdout)["due_at"].startswith("2099-01-05")


# Each case: the command after any set-up, and a word its one-line message must contain.
BAD_INPUT = [
    (["customer", "add", "--name", ""], "name"),
    (["customer", "add", "--name", "   "], "name"),
    (["customer", "add", "--name", "X", "--phone", "123"], "phone"),
    (["customer", "add", "--name", "X", "--phone", "138 1234"], "phone"),
    (["customer", "add", "--name", "X", "--email", "not-an-email"], "email"),
    (["customer", "add", "--name", "X", "--email", "a@b"], "email"),
    (["customer", "add", "--name", "X", "--stage", "bogus"], "stage"),
    (["customer", "add", "--name", "X", "--owner", "nobody"], "owner"),
    (["customer", "add", "--name", "X", "--set", "nosuchfield=1"], "nosuchfield"),
    (["customer", "edit", "{cid}", "--email", "bad@"], "email"),
    (["customer", "edit", "{cid}", "--name", ""], "name"),
    (["customer", "edit", "999999", "--name", "Y"], "999999"),
    (["customer", "edit", "{cid}", "--city", "X", "--if-version", "7"], "version"),
    (["customer", "show", "999999"], "999999"),
    (["customer", "delete", "999999", "--yes"], "999999"),
    (["customer", "delete", "{cid}", "--yes", "--if-version", "5"], "version"),
    (["customer", "history", "999999"], "999999"),
    (["followup", "add", "999999", "--due", "+1d", "--title", "x"], "999999"),
    (["followup", "add", "{cid}", "--due", "2025-02-30", "--title", "x"], "2025-02-30"),
    (["followup", "add", "{cid}", "--due", "someday soon", "--title", "x"], "someday"),
    (["followup", "add", "{cid}", "--due", "1800-01-01", "--title", "x"], "1800"),
    (["followup", "add", "{cid}", "--due", "+1d", "--title", ""], "title"),
    (["followup", "add", "{cid}", "--due", "+1d", "--title", "x", "--every", "fortnightly"],
     "fortnightly"),
    (["followup", "done", "999999", "--outcome", "ok"], "999999"),
    (["followup", "done", "{fid}", "--outcome", " "], "outcome"),
    (["followup", "snooze", "999999", "+1d"], "999999"),
    (["followup", "snooze", "{fid}", "2025-13-01"], "2025-13-01"),
    (["followup", "snooze", "{fid}", "2001-01-01"], "future"),
    (["followup", "list", "--user", "nobody"], "nobody"),
    (["field", "add", "9bad"], "key"),
    (["field", "add", "kind", "--type", "choice"], "choice"),
    (["field", "remove", "missing"], "missing"),
]  # fmt: skip


@pytest.mark.parametrize(
    "args,word", BAD_INPUT, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_bad_input_exits_1_with_one_line_and_changes_nothing(
    crm: Run, snapshot, args: list[str], word: str
) -> None:
    customer = _added(crm, "--name", "Existing", "--email", "e@example.com")
    followup = json.loads(
        crm("followup", "add", str(customer["id"]), "--due", "+1d", "--title", "t", "--json").stdout
    )
    args = [a.format(cid=customer["id"], fid=followup["id"]) for a in args]
    before = snapshot()
    result = crm(*args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and word in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert snapshot() == before


def test_unreadable_database_is_one_line_not_a_traceback(tmp_path) -> None:
    from click.testing import CliRunner

    from crmtui.cli import main

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(main, ["--db", str(junk), "customer", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
