"""Every store service, called as each role, against one table of who may call it (SPEC F8).

The services are found, not listed: every public function of a `crmtui.store` module whose
first parameter is `actor`. Each needs an entry in RULES (who may call it, and what sales meets
on another user's customer), in INTERNAL (a helper the services call after their own checks,
which nothing outside the store may call) or in QUESTIONS: a new service without one fails
`test_every_service_has_a_rule`. Deny by default is checked too: a role crmtui does not know is
refused every service.

Each call gets fresh targets made by the admin (a customer with a purchase, a follow-up and a
field change, owned by the sales user or, for the "another's" case, by a second sales user).
A refused call raises PermissionDeniedError and a hidden one (sales, another's customer)
NotFoundError; an import of another's rows rejects them. Each leaves every table as it was, but
for the refusal's own audit row.
"""

import dataclasses
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest

import crmtui.store
from crmtui.store import (
    accounts,
    audit,
    backup,
    changes,
    custom_fields,
    customers,
    demo,
    duplicates,
    exports,
    followups,
    health,
    history_imports,
    imports,
    privacy,
    queue,
    search,
    summary,
    timeline,
    totp,
    users,
    views,
)
from crmtui.store import models as m
from crmtui.store.encryption import Keys
from crmtui.store.errors import NotFoundError, PermissionDeniedError
from crmtui.store.imports import ImportSummary, SourceRow
from crmtui.store.types import Actor, Customer, CustomerQuery

from .conftest import Counts

ROLES = ("admin", "manager", "sales", "marketing", "readonly")
UNKNOWN_ROLE = "wizard"  # deny by default: a role nobody declared gets nothing
PASSWORD = "a long enough secret"
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
MANAGERS = frozenset({"admin", "manager"})
WRITERS = frozenset({"admin", "manager", "sales"})
READERS = EVERYONE - {"marketing"}  # customers with their history and follow-ups

ALLOWED = "allowed"
# What sales meets on another user's customer (or asking for another user's).
SAME = "as on its own"
HIDDEN = "hidden"  # NotFoundError: to sales, another's customer does not exist
REFUSED = "refused"  # PermissionDeniedError
REJECTED = "rejected"  # an import's rows, each with its reason; nothing written


@dataclasses.dataclass(frozen=True)
class Targets:
    """What one call acts on, made fresh for it by the admin."""

    owner: str  # the user owning `customer`, whose name the call may ask about
    customer: Customer
    purchase: Any
    followup: Any
    change: int  # the id of a history row recording a change of the customer's city
    view: int  # a saved view of the acting user
    folder: Path
    target: str  # the database's path or URL


@dataclasses.dataclass
class World:
    """One database: a user of each role, a second sales user and an unknown-role user."""

    target: str
    folder: Path
    admin: Actor
    actors: dict[str, Actor]

    def targets(self, actor: Actor, owner: str) -> Targets:
        customer = customers.add_customer(
            self.admin, {"name": "张伟", "owner": owner, "phone": "13812345678"}
        )
        customers.update_customer(self.admin, customer.id, {"city": "北京"}, None)
        purchase = timeline.add_record(
            self.admin,
            timeline.PURCHASE,
            customer.id,
            {"date": "2025-03-05", "product": "茶", "amount": "9"},
        )
        followup = followups.add_followup(
            self.admin, customer.id, {"title": "回访", "due_at": "-1d", "assignee": owner}
        )
        change = (
            m.History.select(m.History.id)
            .where((m.History.customer_id == customer.id) & (m.History.field == "city"))
            .scalar()
        )
        view = m.TableView.create(
            user=actor.id, screen="customers", name=f"v{customer.id}", settings="{}"
        ).id
        return Targets(owner, customer, purchase, followup, change, view, self.folder, self.target)


Call = Callable[[Actor, Any], object]
Prepare = Callable[[World, Actor, str], Any]


@dataclasses.dataclass(frozen=True)
class Rule:
    call: Call
    roles: frozenset[str]  # the roles that may make the call
    others: str = SAME  # what sales meets when the targets are another sales user's
    prepare: Prepare = World.targets


def _batch(world: World, actor: Actor, owner: str) -> int:
    """An import batch of the owner's (one new customer)."""
    made = imports.import_customers(
        world.actors[owner], [SourceRow(2, {"name": "王芳"}, ("王芳",))]
    )
    assert made.batch_id is not None
    return made.batch_id


def _backup(world: World, actor: Actor, owner: str) -> tuple[str, Path]:
    """The database's target, and a backup of it."""
    made = backup.create_backup(world.admin, world.target, directory=world.folder / "backups")
    return world.target, Path(made.path)


def _purchases(t: Targets) -> list[SourceRow]:
    link = {"id": str(t.customer.id)}
    values = {"date": "2025-04-01", "product": "茶", "amount": "5"}
    return [SourceRow(2, values, (*link.values(), *values.values()), customer=link)]


def _mine(t: Targets) -> CustomerQuery:
    return CustomerQuery(owner=t.owner)


def _secret(world: World, actor: Actor, owner: str) -> str:
    """A secret to turn two-step verification on with, every user having it off."""
    m.User.update(totp_secret=None, totp_last_step=None).execute()
    return totp.new_secret()


def _own_name(world: World, actor: Actor, owner: str) -> str:
    return actor.name


def _another_name(world: World, actor: Actor, owner: str) -> str:
    return "other" if actor.name != "other" else "sales"


def _code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


# "module.function" -> its cases (most have one; the account services differ between one's own
# account and another's).
RULES: dict[str, tuple[Rule, ...]] = {
    # Users and accounts.
    "accounts.add_user": (
        Rule(lambda a, t: accounts.add_user(a, f"new{t.customer.id}", "sales", PASSWORD), ADMIN),
    ),
    "accounts.check_new_user": (
        Rule(lambda a, t: accounts.check_new_user(a, "x", "sales"), ADMIN),
    ),
    "accounts.set_password": (
        Rule(
            lambda a, name: accounts.set_password(a, name, PASSWORD + "!"),
            ADMIN,
            REFUSED,
            _another_name,
        ),
        Rule(
            lambda a, name: accounts.set_password(a, name, PASSWORD + "!"),
            EVERYONE,
            SAME,
            _own_name,
        ),
    ),
    "accounts.set_role": (
        Rule(lambda a, name: accounts.set_role(a, name, "manager"), ADMIN, REFUSED, _another_name),
    ),
    "accounts.set_active": (
        Rule(lambda a, name: accounts.set_active(a, name, False), ADMIN, REFUSED, _another_name),
    ),
    "accounts.unlock": (Rule(accounts.unlock, ADMIN, REFUSED, _another_name),),
    "accounts.start_two_step": (
        Rule(accounts.start_two_step, ADMIN, REFUSED, _another_name),
        Rule(accounts.start_two_step, EVERYONE, SAME, _own_name),
    ),
    "accounts.enable_two_step": (
        Rule(
            lambda a, s: accounts.enable_two_step(
                a, "other" if a.name != "other" else "sales", s, _code(s)
            ),
            ADMIN,
            REFUSED,
            _secret,
        ),
        Rule(
            lambda a, s: accounts.enable_two_step(a, a.name, s, _code(s)), EVERYONE, SAME, _secret
        ),
    ),
    "accounts.disable_two_step": (
        Rule(accounts.disable_two_step, ADMIN, REFUSED, _another_name),
        Rule(accounts.disable_two_step, EVERYONE, SAME, _own_name),
    ),
    "users.list_users": (Rule(lambda a, t: users.list_users(a), EVERYONE),),
    # The audit log and backups: an admin's.
    "audit.list_entries": (Rule(lambda a, t: audit.list_entries(a), ADMIN),),
    "audit.verify": (Rule(lambda a, t: audit.verify(a), ADMIN),),
    "backup.audit_anchors": (
        Rule(lambda a, t: backup.audit_anchors(a, t.target, t.folder / "backups"), ADMIN),
    ),
    "backup.backup_freshness": (Rule(lambda a, t: backup.backup_freshness(a, t.target), ADMIN),),
    "backup.create_backup": (
        Rule(lambda a, t: backup.create_backup(a, t.target, directory=t.folder / "made"), ADMIN),
    ),
    "backup.list_backups": (
        Rule(lambda a, t: backup.list_backups(a, t.target, t.folder / "backups"), ADMIN),
    ),
    "backup.restore_backup": (
        Rule(
            lambda a, made: backup.restore_backup(a, made[0], made[1], Keys(), force=True),
            ADMIN,
            prepare=_backup,
        ),
    ),
    # Customers.
    "customers.add_customer": (
        Rule(
            lambda a, t: customers.add_customer(a, {"name": "王芳", "owner": t.owner}),
            WRITERS,
            REFUSED,  # sales gives a customer to another only through a manager
        ),
    ),
    "customers.get_customer": (
        Rule(lambda a, t: customers.get_customer(a, t.customer.id), EVERYONE, HIDDEN),
    ),
    "customers.open_customer": (
        Rule(lambda a, t: customers.open_customer(a, t.customer.id), EVERYONE, HIDDEN),
    ),
    "customers.update_customer": (
        Rule(
            lambda a, t: customers.update_customer(a, t.customer.id, {"city": "上海"}, None),
            WRITERS,
            HIDDEN,
        ),
    ),
    "customers.delete_customer": (
        Rule(lambda a, t: customers.delete_customer(a, t.customer.id), WRITERS, HIDDEN),
    ),
    "customers.bulk_update": (
        Rule(
            lambda a, t: customers.bulk_update(a, {t.customer.id: None}, {"stage": "active"}),
            WRITERS,
            HIDDEN,
        ),
    ),
    "customers.bulk_tag": (
        Rule(
            lambda a, t: customers.bulk_tag(a, {t.customer.id: None}, add=["vip"]),
            WRITERS,
            HIDDEN,
        ),
    ),
    "customers.bulk_delete": (
        Rule(lambda a, t: customers.bulk_delete(a, {t.customer.id: None}), WRITERS, HIDDEN),
    ),
    # Asking for another's customers by owner is refused; unfiltered, sales gets its own.
    "customers.count_customers": (
        Rule(lambda a, t: customers.count_customers(a, _mine(t)), EVERYONE, REFUSED),
    ),
    "customers.list_customers": (
        Rule(lambda a, t: customers.list_customers(a, _mine(t)), EVERYONE, REFUSED),
    ),
    "customers.customers_after": (
        Rule(lambda a, t: customers.customers_after(a, _mine(t)), EVERYONE, REFUSED),
    ),
    "customers.customers_before": (
        Rule(lambda a, t: customers.customers_before(a, _mine(t)), EVERYONE, REFUSED),
    ),
    "customers.customers_at": (
        Rule(lambda a, t: customers.customers_at(a, _mine(t)), EVERYONE, REFUSED),
    ),
    # Sales is told of no duplicate it may not see (tests/store/test_scope.py); asking is fine.
    "duplicates.possible_duplicates": (
        Rule(lambda a, t: duplicates.possible_duplicates(a, {"name": "张伟"}), EVERYONE),
    ),
    "summary.customer_summary": (
        Rule(lambda a, t: summary.customer_summary(a, t.customer.id), READERS, HIDDEN),
    ),
    "changes.customer_changes": (
        Rule(lambda a, t: changes.customer_changes(a, t.customer.id), READERS, HIDDEN),
    ),
    "changes.list_customer_changes": (
        Rule(lambda a, t: changes.list_customer_changes(a, t.customer.id), READERS, HIDDEN),
    ),
    "changes.restore_change": (
        Rule(lambda a, t: changes.restore_change(a, t.change), WRITERS, HIDDEN),
    ),
    # A customer's history.
    "timeline.new_record_values": (
        Rule(lambda a, t: timeline.new_record_values(a, timeline.PURCHASE), WRITERS),
    ),
    "timeline.add_record": (
        Rule(
            lambda a, t: timeline.add_record(
                a,
                timeline.PURCHASE,
                t.customer.id,
                {"date": "2025-04-01", "product": "茶", "amount": "5"},
            ),
            WRITERS,
            HIDDEN,
        ),
    ),
    "timeline.get_record": (
        Rule(
            lambda a, t: timeline.get_record(a, timeline.PURCHASE, t.purchase.id),
            READERS,
            HIDDEN,
        ),
    ),
    "timeline.list_records": (
        Rule(
            lambda a, t: timeline.list_records(a, timeline.PURCHASE, t.customer.id),
            READERS,
            HIDDEN,
        ),
    ),
    "timeline.update_record": (
        Rule(
            lambda a, t: timeline.update_record(
                a, timeline.PURCHASE, t.purchase.id, {"amount": "7"}, None
            ),
            WRITERS,
            HIDDEN,
        ),
    ),
    "timeline.delete_record": (
        Rule(
            lambda a, t: timeline.delete_record(a, timeline.PURCHASE, t.purchase.id),
            WRITERS,
            HIDDEN,
        ),
    ),
    # Follow-ups and the queue.
    "followups.new_followup_values": (
        Rule(lambda a, t: followups.new_followup_values(a), WRITERS),
    ),
    "followups.add_followup": (
        Rule(
            lambda a, t: followups.add_followup(a, t.customer.id, {"title": "t", "due_at": "+1d"}),
            WRITERS,
            HIDDEN,
        ),
    ),
    "followups.get_followup": (
        Rule(lambda a, t: followups.get_followup(a, t.followup.id), READERS, HIDDEN),
    ),
    "followups.update_followup": (
        Rule(
            lambda a, t: followups.update_followup(a, t.followup.id, {"title": "新"}, None),
            WRITERS,
            HIDDEN,
        ),
    ),
    "followups.delete_followup": (
        Rule(lambda a, t: followups.delete_followup(a, t.followup.id), WRITERS, HIDDEN),
    ),
    "followups.complete_followup": (
        Rule(lambda a, t: followups.complete_followup(a, t.followup.id, "谈妥了"), WRITERS, HIDDEN),
    ),
    "followups.snooze_followup": (
        Rule(lambda a, t: followups.snooze_followup(a, t.followup.id, "+1d"), WRITERS, HIDDEN),
    ),
    "followups.reschedule_followup": (
        Rule(lambda a, t: followups.reschedule_followup(a, t.followup.id, "+2d"), WRITERS, HIDDEN),
    ),
    "followups.wait_followup": (
        Rule(lambda a, t: followups.wait_followup(a, t.followup.id, "+1d"), WRITERS, HIDDEN),
    ),
    "followups.list_followups": (
        Rule(lambda a, t: followups.list_followups(a, customer_id=t.customer.id), READERS, HIDDEN),
    ),
    "followups.count_overdue": (Rule(lambda a, t: followups.count_overdue(a), READERS),),
    "queue.count_overdue": (Rule(lambda a, t: queue.count_overdue(a), READERS),),
    "queue.list_queue": (Rule(lambda a, t: queue.list_queue(a, user=t.owner), READERS, REFUSED),),
    "queue.read_queue": (Rule(lambda a, t: queue.read_queue(a, user=t.owner), READERS, REFUSED),),
    "queue.read_section": (
        Rule(lambda a, t: queue.read_section(a, "overdue", user=t.owner), READERS, REFUSED),
    ),
    # Custom fields and table views (a user's own views change no data).
    "custom_fields.define_field": (
        Rule(lambda a, t: custom_fields.define_field(a, f"f{t.customer.id}", "F", "text"), ADMIN),
    ),
    "custom_fields.list_fields": (Rule(lambda a, t: custom_fields.list_fields(a), EVERYONE),),
    "custom_fields.remove_field": (
        Rule(lambda a, t: custom_fields.remove_field(a, "tier"), ADMIN),
    ),
    "views.list_views": (Rule(lambda a, t: views.list_views(a), EVERYONE),),
    "views.save_view": (
        Rule(lambda a, t: views.save_view(a, "mine", _mine(t), ["email"]), EVERYONE),
    ),
    "views.delete_view": (Rule(lambda a, t: views.delete_view(a, t.view), EVERYONE),),
    "views.hidden_columns": (Rule(lambda a, t: views.hidden_columns(a), EVERYONE),),
    "views.set_hidden_columns": (
        Rule(lambda a, t: views.set_hidden_columns(a, ["email"]), EVERYONE),
    ),
    # Moving data in and out.
    "exports.export_table": (
        Rule(
            lambda a, t: list(exports.export_table(a, "customers", _mine(t)).rows),
            EVERYONE,
            REFUSED,
        ),
    ),
    "exports.export_records": (
        Rule(
            lambda a, t: list(exports.export_records(a, "purchases", _mine(t))),
            READERS,
            REFUSED,
        ),
    ),
    "imports.import_customers": (
        Rule(
            lambda a, t: imports.import_customers(
                a, [SourceRow(2, {"name": "王芳", "owner": t.owner}, ("王芳", t.owner))]
            ),
            WRITERS,
            REJECTED,
        ),
    ),
    "imports.undo_import": (
        Rule(lambda a, batch: imports.undo_import(a, batch), WRITERS, HIDDEN, _batch),
    ),
    "history_imports.import_history": (
        Rule(
            lambda a, t: history_imports.import_history(a, "purchases", _purchases(t)),
            WRITERS,
            REJECTED,
        ),
    ),
    # Whole-database work.
    "demo.load_demo": (Rule(lambda a, t: demo.load_demo(a, 2), ADMIN),),
    "health.check_database": (Rule(lambda a, t: health.check_database(a, t.target), MANAGERS),),
    "search.rebuild_search_index": (Rule(lambda a, t: search.rebuild_search_index(a), ADMIN),),
    "privacy.export_person": (Rule(lambda a, t: privacy.export_person(a, t.customer.id), ADMIN),),
    "privacy.erase_person": (Rule(lambda a, t: privacy.erase_person(a, t.customer.id), ADMIN),),
}

# Helpers taking an acting user that the services call once they have checked it; reaching
# them from outside the store would pass by those checks.
INTERNAL = {
    "audit.record",  # writes the audit row of a checked (or refused) act
    "batches.write_batch",  # the write turns of an import the importer checked
    "customers.apply_update",  # the write of a checked customer update
    "records.insert",
    "records.update",
    "records.delete",
    "records.record_history",
    "permissions.authorize",  # the check itself, and its refusal
    "permissions.refuse",
    "scope.check_customer",
    "scope.check_new_owner",
    "scope.check_owner",
    "scope.masks_contacts",
    "scope.own_only",
    "scope.seen_by",
    "scope.shown",
    "scope.visible_query",
}
# Questions an interface asks to offer only what the user may do: they read no data and
# record nothing (tests/store/test_permissions.py checks their answers).
QUESTIONS = {"permissions.allowed", "permissions.denial"}


def _services() -> list[str]:
    found = []
    for module_info in pkgutil.iter_modules(crmtui.store.__path__):
        module = importlib.import_module(f"crmtui.store.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            if list(inspect.signature(function).parameters)[:1] == ["actor"]:
                found.append(f"{module_info.name}.{name}")
    return sorted(found)


SERVICES = _services()


def test_every_service_has_a_rule() -> None:
    assert len(SERVICES) > 80
    assert sorted(set(SERVICES) - set(RULES) - INTERNAL - QUESTIONS) == []
    assert sorted((set(RULES) | INTERNAL | QUESTIONS) - set(SERVICES)) == []
    assert len(RULES) + len(INTERNAL) + len(QUESTIONS) == len(SERVICES)  # each in one place


def test_internal_helpers_are_not_called_outside_the_store() -> None:
    package = Path(crmtui.store.__file__).parent.parent
    offenders = []
    for path in package.rglob("*.py"):
        if "store" in path.relative_to(package).parts:
            continue
        text = path.read_text(encoding="utf-8")
        for helper in INTERNAL:
            module, name = helper.split(".")
            if re.search(rf"\b{module}\.{name}\b|\bimport\b[^\n]*\b{name}\b", text):
                offenders.append(f"{path.relative_to(package)}: {helper}")
    assert offenders == []


@pytest.fixture
def world(db: str, tmp_path: Path, quick_hashes: None) -> World:
    boss = accounts.add_user(users.local_actor(), "admin", "admin", PASSWORD)
    admin = Actor(boss.id, boss.name, boss.role)
    actors = {"admin": admin}
    for name, role in [(r, r) for r in ROLES[1:]] + [("other", "sales")]:
        made = accounts.add_user(admin, name, role, PASSWORD)
        actors[name] = Actor(made.id, made.name, made.role)
    stranger = m.User.create(name="stranger", role=UNKNOWN_ROLE, active=True)
    actors[UNKNOWN_ROLE] = Actor(stranger.id, stranger.name, UNKNOWN_ROLE)
    custom_fields.define_field(admin, "tier", "Tier", "text")
    (tmp_path / "backups").mkdir()
    backup.create_backup(admin, db, directory=tmp_path / "backups")
    return World(db, tmp_path, admin, actors)


def _expect(rule: Rule, role: str, owner: str) -> str:
    """The outcome the table promises `role` acting on `owner`'s targets."""
    if role not in rule.roles:
        return REFUSED
    if owner == "other" and rule.others != SAME:
        return rule.others
    return ALLOWED


def _attempt(world: World, rule: Rule, role: str, owner: str, counts: Counts) -> str:
    actor = world.actors[role]
    prepared = rule.prepare(world, actor, owner)
    before = counts()
    try:
        result = rule.call(actor, prepared)
    except PermissionDeniedError:
        outcome = REFUSED
    except NotFoundError:
        outcome = HIDDEN
    else:
        if not (isinstance(result, ImportSummary) and result.rejected):
            return ALLOWED
        outcome = REJECTED
    assert counts() == before, f"{role} was {outcome} yet rows changed"
    return outcome


@pytest.mark.parametrize("service", sorted(RULES))
def test_each_role_meets_the_rule(
    service: str, world: World, counts: Counts, subtests: pytest.Subtests
) -> None:
    # Refusals first: an allowed call may change what a later one finds (a restore, above all).
    runs = [(role, "sales") for role in (*ROLES, UNKNOWN_ROLE)] + [("sales", "other")]
    for number, rule in enumerate(RULES[service]):
        ordered = sorted(runs, key=lambda run: _expect(rule, *run) == ALLOWED)
        for role, owner in ordered:
            with subtests.test(case=number, role=role, owner=owner):
                assert _attempt(world, rule, role, owner, counts) == _expect(rule, role, owner)
