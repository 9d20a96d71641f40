"""What changed in a transaction, told to listeners after it commits (the console's live view,
the delivery worker's wake-up). Collected from the session, so no service has to remember to emit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from handoff.models import Conversation, Message, OutboxEntry, TicketAssignment, TicketEvent

CHANGES = "committed_changes"


@dataclass(frozen=True)
class Change:
    kind: str  # message, conversation, ticket, assignment, outbox
    conversation_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)


def message_data(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "channel": message.channel,
        "direction": message.direction,
        "sender": message.sender,
        "operator_id": str(message.operator_id) if message.operator_id else None,
        "text": message.text,
        "payload": message.payload,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }


def changes_of_new(objects: Iterable[object]) -> list[Change]:
    """What new rows change for the listeners (also for rows written without a flush: `handoff.bulk`)."""
    changes: list[Change] = []
    for obj in objects:
        if isinstance(obj, Message):
            changes.append(Change("message", conversation_id=obj.conversation_id, data=message_data(obj)))
        elif isinstance(obj, OutboxEntry):
            changes.append(Change("outbox", conversation_id=obj.conversation_id))
        elif isinstance(obj, TicketEvent):
            changes.append(
                Change("ticket", ticket_id=obj.ticket_id, unit_id=obj.unit_id, data={"event": obj.kind, "to": obj.to_status})
            )
        elif isinstance(obj, TicketAssignment):
            changes.append(Change("assignment", ticket_id=obj.ticket_id, unit_id=obj.unit_id, data={"status": obj.status}))
        elif isinstance(obj, Conversation):
            changes.append(Change("conversation", conversation_id=obj.id, data={"state": obj.state}))
    return changes


def changes_of_dirty(objects: Iterable[object]) -> list[Change]:
    """What changed loaded rows change for the listeners (read before they are written)."""
    changes: list[Change] = []
    for obj in objects:
        if isinstance(obj, Conversation) and _modified(obj, "state", "operator_id"):
            data = {"state": obj.state, "operator_id": str(obj.operator_id) if obj.operator_id else None}
            changes.append(Change("conversation", conversation_id=obj.id, data=data))
        elif isinstance(obj, TicketAssignment) and _modified(obj, "status", "unit_id", "reminders"):
            changes.append(Change("assignment", ticket_id=obj.ticket_id, unit_id=obj.unit_id, data={"status": obj.status}))
    return changes


def _changes_of(session: Session) -> list[Change]:
    return changes_of_new(session.new) + changes_of_dirty(session.dirty)


def tell(session: Session, *changes: Change) -> None:
    """Changes made without the unit of work (a conditional Core UPDATE, say), which the flush
    cannot see: told to the listeners with the others once the transaction commits."""
    session.info.setdefault(CHANGES, []).extend(changes)


def _modified(obj: object, *attributes: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in attributes)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: object) -> None:
    session.info.setdefault(CHANGES, []).extend(_changes_of(session))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(CHANGES, None)
