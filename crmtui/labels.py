"""The words people read for the store's field names, choice values and history entries.

Every label is a literal passed to `_`, so the translation tools find it; a name without a
label here is shown as itself, made readable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmtui.i18n import _

if TYPE_CHECKING:
    from crmtui.store.duplicates import PossibleDuplicate

FIELD_LABELS: dict[str, str] = {
    # Customers
    "name": _("Name"),
    "company": _("Company"),
    "title": _("Title"),
    "phone": _("Phone"),
    "alt_phone": _("Other phone"),
    "email": _("Email"),
    "address": _("Address"),
    "city": _("City"),
    "region": _("Region"),
    "country": _("Country"),
    "source": _("Source"),
    "utm_source": _("UTM source"),
    "utm_medium": _("UTM medium"),
    "utm_campaign": _("UTM campaign"),
    "stage": _("Stage"),
    "owner": _("Owner"),
    "key_account": _("Key account"),
    "needs": _("Needs"),
    "preferences": _("Preferences"),
    "preferred_channel": _("Preferred channel"),
    "notes": _("Notes"),
    "marketing_consent": _("Marketing consent"),
    "consent_date": _("Consent date"),
    "consent_source": _("Consent source"),
    "consent_withdrawn_on": _("Consent withdrawn on"),
    "external_id": _("External id"),
    "tags": _("Tags"),
    # Records about a customer
    "primary": _("Primary contact"),
    "date": _("Date"),
    "product": _("Product"),
    "category": _("Category"),
    "quantity": _("Quantity"),
    "amount": _("Amount"),
    "currency": _("Currency"),
    "status": _("Status"),
    "at": _("When"),
    "channel": _("Channel"),
    "user": _("By"),
    "contact": _("Contact"),
    "summary": _("Summary"),
    "outcome": _("Outcome"),
    "kind": _("Kind"),
    "opened_on": _("Opened"),
    "due_on": _("Due"),
    "resolved_on": _("Resolved"),
    "assignee": _("Assignee"),
    "score": _("Satisfaction"),
    "comment": _("Comment"),
    "due_at": _("Due"),
    "priority": _("Priority"),
    "recurrence": _("Repeats"),
    "snoozed_until": _("Snoozed until"),
    "done_at": _("Done"),
}

CHOICE_LABELS: dict[str, str] = {
    # Stages
    "new": _("new"),
    "prospect": _("prospect"),
    "active": _("active"),
    "dormant": _("dormant"),
    "churned": _("churned"),
    # Deals
    "won": _("won"),
    "lost": _("lost"),
    # Channels
    "call": _("call"),
    "meeting": _("meeting"),
    "email": _("email"),
    "visit": _("visit"),
    "wechat": _("WeChat"),
    "social": _("social"),
    "other": _("other"),
    # Service items
    "support": _("support"),
    "training": _("training"),
    "upgrade": _("upgrade"),
    "after_sales": _("after-sales"),
    "open": _("open"),
    "in_progress": _("in progress"),
    "resolved": _("resolved"),
    "closed": _("closed"),
    # Feedback
    "praise": _("praise"),
    "suggestion": _("suggestion"),
    "complaint": _("complaint"),
    # Follow-ups
    "done": _("done"),
    "snoozed": _("snoozed"),
    "cancelled": _("cancelled"),
    "low": _("low"),
    "normal": _("normal"),
    "high": _("high"),
    "urgent": _("urgent"),
}

ENTITY_LABELS: dict[str, str] = {
    "customer": _("customer"),
    "contact": _("contact"),
    "purchase": _("purchase"),
    "communication": _("communication"),
    "service item": _("service item"),
    "feedback": _("feedback"),
    "follow-up": _("follow-up"),
}

ACTION_LABELS: dict[str, str] = {
    "create": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    "restore": _("restored"),
}


def _readable(name: str) -> str:
    return name.replace("_", " ")


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name) or _readable(name).capitalize()


def choice_label(value: str) -> str:
    return CHOICE_LABELS.get(value) or _readable(value)


def entity_label(entity: str) -> str:
    return ENTITY_LABELS.get(entity, entity)


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def duplicate_label(duplicate: PossibleDuplicate) -> str:
    """`#42 张伟 (星河科技): same name, phone` — one possible duplicate, for a warning."""
    who = f"#{duplicate.id} {duplicate.name}"
    if duplicate.company:
        who += f" ({duplicate.company})"
    same = ", ".join(field_label(name).lower() for name in duplicate.same)
    return _("{who}: same {same}").format(who=who, same=same)
