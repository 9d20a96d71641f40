"""The console API's JSON shapes (documented in /docs through OpenAPI)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from handoff.dispatch import OverdueRow
from handoff.models import Message, Operator, Ticket, TicketAssignment, TicketEvent, Unit
from handoff.queue import QueueItem


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class OperatorOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    unit_id: uuid.UUID | None
    lanes: list[str]

    @classmethod
    def of(cls, operator: Operator) -> OperatorOut:
        return cls(
            id=operator.id, username=operator.username, display_name=operator.display_name,
            role=operator.role, unit_id=operator.unit_id, lanes=operator.lanes.split(","),
        )


class SessionOut(BaseModel):
    operator: OperatorOut
    csrf_token: str


class QueueItemOut(BaseModel):
    kind: str
    conversation_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    ticket_number: str | None
    ticket_status: str | None
    channel: str
    citizen_name: str | None
    preview: str
    urgent: bool
    waiting_since: datetime
    waiting_seconds: int
    operator_id: uuid.UUID | None
    lane: str

    @classmethod
    def of(cls, item: QueueItem, now: datetime) -> QueueItemOut:
        return cls(**{k: getattr(item, k) for k in QueueItem.__dataclass_fields__}, waiting_seconds=item.waiting_seconds(now))


class QueueOut(BaseModel):
    waiting: int  # citizens waiting for nobody yet
    longest_wait_seconds: int
    total: int  # in the queue in all; `items` holds the first of them
    items: list[QueueItemOut]


class MessageOut(BaseModel):
    id: uuid.UUID
    direction: str
    sender: str
    text: str
    payload: dict[str, Any] | None
    analysis: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(
            id=message.id, direction=message.direction, sender=message.sender, text=message.text,
            payload=message.payload, analysis=message.analysis, created_at=message.created_at,
        )


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class TransferIn(BaseModel):
    username: str


class TicketOut(BaseModel):
    id: uuid.UUID
    number: str
    status: str
    request_type: str
    category: str | None
    category_confidence: float | None
    district: str | None
    district_code: str | None
    street: str | None
    street_code: str | None
    community: str | None
    address: str | None
    admin_code: str | None
    latitude: float | None
    longitude: float | None
    description: str
    contact_name: str | None
    contact_phone: str | None
    urgent: bool
    urgency_cue: str | None
    lane: str
    credit_code: str | None
    channel: str
    conversation_id: uuid.UUID | None
    operator_id: uuid.UUID | None
    accepted_at: datetime
    dispatched_at: datetime | None
    signed_at: datetime | None
    resolved_at: datetime | None
    sign_deadline: datetime | None
    resolve_deadline: datetime | None
    center_feedback_at: datetime | None
    citizen_feedback_at: datetime | None
    confirmed_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, ticket: Ticket) -> TicketOut:
        return cls.model_validate(ticket, from_attributes=True)


class EventOut(BaseModel):
    kind: str
    from_status: str | None
    to_status: str | None
    actor_type: str
    actor_id: str | None
    unit_id: uuid.UUID | None
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, event: TicketEvent) -> EventOut:
        return cls.model_validate(event, from_attributes=True)


class UnitOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    district_code: str | None

    @classmethod
    def of(cls, unit: Unit) -> UnitOut:
        return cls.model_validate(unit, from_attributes=True)


class AssignmentOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    unit: UnitOut
    lead: bool
    status: str
    dispatched_at: datetime
    sign_deadline: datetime
    resolve_deadline: datetime
    signed_at: datetime | None
    resolved_at: datetime | None
    returned_at: datetime | None
    return_reason: str | None
    result: str | None
    reminders: int

    @classmethod
    def of(cls, assignment: TicketAssignment) -> AssignmentOut:
        return cls(
            **{k: getattr(assignment, k) for k in cls.model_fields if k != "unit"},
            unit=UnitOut.of(assignment.unit),
        )


class TicketDetailOut(BaseModel):
    ticket: TicketOut
    timeline: list[EventOut]
    assignments: list[AssignmentOut]
    suggested_units: list[UnitOut]
    analysis: dict[str, Any] | None  # what the NLU read in the first message, with confidences


class ReviewIn(BaseModel):
    request_type: str | None = None
    category: str | None = None
    street_code: str | None = None
    district_code: str | None = None
    community: str | None = Field(default=None, max_length=128)
    address: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=4000)
    contact_phone: str | None = Field(default=None, max_length=32)
    urgent: bool | None = None


class DispatchIn(BaseModel):
    unit_ids: list[uuid.UUID] = Field(min_length=1, max_length=10)
    note: str | None = Field(default=None, max_length=500)


class AnswerIn(BaseModel):
    answer: str = Field(min_length=1, max_length=2000)


class NoteIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


class ResultIn(BaseModel):
    result: str = Field(min_length=1, max_length=4000)
    citizen_reply: str | None = Field(default=None, max_length=2000)
    phone_contacted: bool = False


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class RemindIn(BaseModel):
    note: str | None = Field(default=None, max_length=500)


class ReassignIn(BaseModel):
    unit_id: uuid.UUID


class AssignmentWithTicketOut(BaseModel):
    assignment: AssignmentOut
    ticket: TicketOut


class OverdueOut(BaseModel):
    assignment_id: uuid.UUID
    ticket_id: uuid.UUID
    ticket_number: str
    unit: UnitOut
    stage: str
    deadline: datetime
    overdue: bool
    reminders: int
    urgent: bool

    @classmethod
    def of(cls, row: OverdueRow) -> OverdueOut:
        return cls(
            assignment_id=row.assignment.id, ticket_id=row.ticket.id, ticket_number=row.ticket.number,
            unit=UnitOut.of(row.unit), stage=row.stage, deadline=row.deadline, overdue=row.overdue,
            reminders=row.assignment.reminders, urgent=row.ticket.urgent,
        )


class CannedReplyOut(BaseModel):
    shortcut: str
    text: str
