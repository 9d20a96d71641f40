"""Tickets and their lifecycle. Every change leaves an event and tells the citizen on their channel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import outbox, texts
from handoff.errors import InvalidTransitionError, NotFoundError
from handoff.messages import Reply
from handoff.models import Citizen, Conversation, Survey, Ticket, TicketEvent, TicketStatus
from handoff.numbering import next_ticket_number

S = TicketStatus
ALLOWED: dict[str, frozenset[str]] = {
    S.ACCEPTED: frozenset({S.DISPATCHED, S.RESOLVED, S.CANCELLED}),
    S.DISPATCHED: frozenset({S.SIGNED, S.RETURNED, S.DISPATCHED, S.CANCELLED}),
    S.SIGNED: frozenset({S.IN_PROGRESS, S.RESOLVED, S.RETURNED}),
    S.IN_PROGRESS: frozenset({S.IN_PROGRESS, S.RESOLVED, S.RETURNED}),
    S.RETURNED: frozenset({S.DISPATCHED, S.RESOLVED, S.CANCELLED}),
    S.RESOLVED: frozenset({S.SURVEYED, S.REOPENED, S.ARCHIVED}),
    S.SURVEYED: frozenset({S.ARCHIVED, S.REOPENED}),
    S.REOPENED: frozenset({S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.RESOLVED}),
    S.ARCHIVED: frozenset(),
    S.CANCELLED: frozenset(),
}
OPEN_STATUSES = frozenset(
    {S.ACCEPTED, S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.RETURNED, S.REOPENED}
)
_TIMESTAMP_OF: dict[str, str] = {
    S.DISPATCHED: "dispatched_at",
    S.SIGNED: "signed_at",
    S.IN_PROGRESS: "in_progress_at",
    S.RESOLVED: "resolved_at",
    S.SURVEYED: "surveyed_at",
    S.ARCHIVED: "archived_at",
    S.RETURNED: "returned_at",
    S.REOPENED: "reopened_at",
    S.CANCELLED: "cancelled_at",
}


@dataclass(frozen=True)
class Actor:
    kind: str  # citizen, bot, operator, unit, system
    id: str | None = None


BOT = Actor("bot")


@dataclass
class TicketDraft:
    """What intake knows when it opens a ticket."""

    request_type: str
    description: str
    category: str | None = None
    category_confidence: float | None = None
    district: str | None = None
    district_code: str | None = None
    street: str | None = None
    street_code: str | None = None
    community: str | None = None
    community_code: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    contact_phone: str | None = None
    urgent: bool = False
    urgency_cue: str | None = None
    attachments: list[dict[str, str | None]] | None = None
    lane: str = "citizen"
    credit_code: str | None = None

    @property
    def admin_code(self) -> str | None:
        return self.community_code or self.street_code or self.district_code

    def place_text(self) -> str:
        parts = [p for p in (self.district, self.street, self.community, self.address) if p]
        return " ".join(parts)


def open_ticket(
    session: Session,
    *,
    citizen: Citizen,
    conversation: Conversation | None,
    draft: TicketDraft,
    now: datetime,
    tz: ZoneInfo,
    actor: Actor = BOT,
    channel: str | None = None,
    number: str | None = None,
) -> Ticket:
    """A new ticket, 受理. Without a conversation (filed through Open311) nothing is pushed to a chat."""
    ticket = Ticket(
        id=uuid.uuid4(),
        number=number or next_ticket_number(session, now=now, tz=tz),
        citizen_id=citizen.id,
        conversation_id=conversation.id if conversation else None,
        channel=channel or (conversation.channel if conversation else "api"),
        chat_id=conversation.chat_id if conversation else "",
        request_type=draft.request_type,
        category=draft.category,
        category_confidence=draft.category_confidence,
        district=draft.district,
        district_code=draft.district_code,
        street=draft.street,
        street_code=draft.street_code,
        community=draft.community,
        community_code=draft.community_code,
        address=draft.address or None,
        admin_code=draft.admin_code,
        latitude=draft.latitude,
        longitude=draft.longitude,
        description=draft.description,
        contact_phone=draft.contact_phone or citizen.phone,
        contact_name=citizen.display_name,
        urgent=draft.urgent,
        urgency_cue=draft.urgency_cue,
        lane=draft.lane,
        credit_code=draft.credit_code,
        status=S.ACCEPTED,
        attachments={"items": draft.attachments} if draft.attachments else None,
        accepted_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.add(
        TicketEvent(
            id=uuid.uuid4(),  # known before the flush: a plain batched INSERT, no RETURNING
            ticket_id=ticket.id,
            kind="status",
            from_status=None,
            to_status=S.ACCEPTED,
            actor_type=actor.kind,
            actor_id=actor.id,
            note="受理",
            created_at=now,
        )
    )
    return ticket


def advance_ticket(
    session: Session,
    *,
    ticket: Ticket,
    to_status: TicketStatus,
    actor: Actor,
    now: datetime,
    note: str | None = None,
    notify_citizen: bool = True,
) -> TicketEvent:
    """Move a ticket along its lifecycle, record who did it, and tell the citizen."""
    if to_status not in ALLOWED.get(ticket.status, frozenset()):
        raise InvalidTransitionError(f"工单 {ticket.number}: {ticket.status} → {to_status} 不允许")
    event = TicketEvent(
        ticket_id=ticket.id,
        kind="status",
        from_status=ticket.status,
        to_status=to_status,
        actor_type=actor.kind,
        actor_id=actor.id,
        note=note,
        created_at=now,
    )
    ticket.status = to_status
    ticket.updated_at = now
    if (column := _TIMESTAMP_OF.get(to_status)) is not None:
        setattr(ticket, column, now)
    session.add(event)
    if notify_citizen:
        notify_status(session, ticket=ticket, note=note, now=now)
    if to_status == S.RESOLVED:
        _schedule_survey(session, ticket=ticket, now=now)
    return event


def _schedule_survey(session: Session, *, ticket: Ticket, now: datetime) -> None:
    """回访 follows every closing; the timers ask it (handoff/surveys.py)."""
    rounds = session.scalar(select(func.count()).select_from(Survey).where(Survey.ticket_id == ticket.id)) or 0
    session.add(
        Survey(ticket_id=ticket.id, conversation_id=ticket.conversation_id, round=rounds + 1, next_ask_at=now, created_at=now)
    )


def notify_status(session: Session, *, ticket: Ticket, note: str | None, now: datetime) -> None:
    if ticket.conversation_id is None:
        return  # filed without a chat (e.g. by API): nothing to push to
    conversation = session.get(Conversation, ticket.conversation_id)
    citizen = session.get(Citizen, ticket.citizen_id)
    if conversation is None or citizen is None:
        return
    language = citizen.language
    key = "status_update_note" if note else "status_update"
    text = texts.say(
        key, language, number=ticket.number, status=texts.status_label(ticket.status, language), note=note
    )
    outbox.enqueue(
        session, conversation=conversation, reply=Reply(text), kind="status", now=now, ticket_id=ticket.id
    )


def find_ticket(session: Session, number: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    if ticket is None:
        raise NotFoundError(f"工单 {number} 不存在")
    return ticket


def citizen_tickets(session: Session, citizen_id: uuid.UUID, limit: int = 5) -> list[Ticket]:
    statement = (
        select(Ticket)
        .where(Ticket.citizen_id == citizen_id)
        .order_by(Ticket.accepted_at.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))
