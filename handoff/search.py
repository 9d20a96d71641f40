"""Finding tickets: by number, phone, words, category, unit, status and date, within what the
person searching may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from handoff.access import visible_tickets
from handoff.models import Citizen, Operator, Ticket, TicketAssignment


@dataclass(frozen=True)
class TicketQuery:
    number: str | None = None
    phone: str | None = None
    text: str | None = None
    category: str | None = None
    unit_id: uuid.UUID | None = None
    status: str | None = None
    urgent: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


def search_tickets(session: Session, *, operator: Operator, query: TicketQuery) -> list[Ticket]:
    statement = select(Ticket).where(visible_tickets(operator))
    if query.number:
        statement = statement.where(Ticket.number.startswith(query.number.strip()))
    if query.phone:
        phone = query.phone.strip()
        statement = statement.where(
            or_(
                Ticket.contact_phone == phone,
                exists(select(Citizen.id).where(Citizen.id == Ticket.citizen_id, Citizen.phone == phone)),
            )
        )
    if query.text:
        pattern = f"%{_escape_like(query.text.strip())}%"
        statement = statement.where(
            or_(Ticket.description.like(pattern, escape="\\"), Ticket.address.like(pattern, escape="\\"))
        )
    if query.category:
        statement = statement.where(Ticket.category == query.category)
    if query.status:
        statement = statement.where(Ticket.status == query.status)
    if query.urgent is not None:
        statement = statement.where(Ticket.urgent.is_(query.urgent))
    if query.unit_id:
        statement = statement.where(
            exists(select(TicketAssignment.id).where(TicketAssignment.ticket_id == Ticket.id, TicketAssignment.unit_id == query.unit_id))
        )
    if query.since:
        statement = statement.where(Ticket.accepted_at >= query.since)
    if query.until:
        statement = statement.where(Ticket.accepted_at < query.until)
    statement = statement.order_by(Ticket.accepted_at.desc()).limit(min(query.limit, 200)).offset(query.offset)
    return list(session.scalars(statement))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
