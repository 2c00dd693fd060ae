"""The errors the store raises. Each carries a message fit to show a user as it is."""

from collections.abc import Callable
from dataclasses import dataclass

from peewee import DatabaseError as DatabaseFailure

from crmtui.i18n import _

__all__ = ["DatabaseFailure"]  # what the driver raises when the database itself fails


class StoreError(Exception):
    """A request the store refused; `str(error)` is a readable one-line message."""


@dataclass(frozen=True)
class FieldProblem:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class ValidationError(StoreError):
    """One or more fields hold values the store will not save."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @classmethod
    def single(cls, field: str, reason: str) -> "ValidationError":
        return cls([FieldProblem(field, reason)])


class NotFoundError(StoreError):
    def __init__(self, entity: str, record_id: object) -> None:
        self.entity = entity
        self.record_id = record_id
        super().__init__(_("no {entity} with id {id}").format(entity=entity, id=record_id))


class ConflictError(StoreError):
    """The record changed since the caller read it; nothing was saved."""

    def __init__(self, entity: str, record_id: int, expected: int, actual: int) -> None:
        self.entity = entity
        self.record_id = record_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            _(
                "{entity} {id} was changed by someone else (you edited version {expected}, "
                "it is now version {actual}); nothing was saved"
            ).format(entity=entity, id=record_id, expected=expected, actual=actual)
        )


class PermissionDeniedError(StoreError):
    def __init__(self, user: str, action: str) -> None:
        self.user = user
        self.action = action
        # Set when refused inside a transaction: writes the refusal's audit row once that
        # transaction has rolled back (see `permissions.refuse`, `db.write_transaction`).
        self.after_rollback: Callable[[], None] | None = None
        super().__init__(_("{user} may not {action}").format(user=user, action=action))
