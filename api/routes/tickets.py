"""Tickets for the center: search, the full record, review of the NLU's guesses, dispatch, direct answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import OperatorDep, RuntimeDep
from api.schemas import (
    AnswerIn,
    AssignmentOut,
    DispatchIn,
    EventOut,
    ReviewIn,
    TicketDetailOut,
    TicketOut,
    UnitOut,
)
from handoff.access import CENTER_ROLES, readable_ticket, require_role
from handoff.corrections import TicketReview, review_ticket
from handoff.dispatch import close_directly, dispatch_ticket
from handoff.models import Message, Operator, Ticket, TicketAssignment, TicketEvent, Unit, UnitKind
from handoff.queue import claim_ticket
from handoff.routing import suggest_units
from handoff.search import TicketQuery, search_tickets

router = APIRouter(prefix="/api", tags=["tickets"])


@router.get("/tickets")
def find_tickets(
    runtime: RuntimeDep,
    operator: OperatorDep,
    number: str | None = None,
    phone: str | None = None,
    text: Annotated[str | None, Query(max_length=100)] = None,
    category: str | None = None,
    unit_id: uuid.UUID | None = None,
    status: str | None = None,
    urgent: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TicketOut]:
    """Search by number (prefix), phone, words in the description or address, category, unit, status, dates."""
    query = TicketQuery(number, phone, text, category, unit_id, status, urgent, since, until, limit, offset)
    with runtime.new_uow() as uow:
        return [TicketOut.of(t) for t in search_tickets(uow.session, operator=operator, query=query)]


@router.get("/tickets/{ticket_id}")
def ticket_detail(ticket_id: uuid.UUID, runtime: RuntimeDep, operator: OperatorDep) -> TicketDetailOut:
    with runtime.new_uow() as uow:
        return _detail(uow.session, readable_ticket(uow.session, operator, ticket_id), operator)


@router.patch("/tickets/{ticket_id}")
def review(ticket_id: uuid.UUID, body: ReviewIn, runtime: RuntimeDep, operator: OperatorDep) -> TicketDetailOut:
    """Confirm or correct the NLU's guesses; the result is kept as labelled data."""
    require_role(operator, CENTER_ROLES)
    with runtime.new_uow() as uow:
        ticket = readable_ticket(uow.session, operator, ticket_id)
        review_ticket(
            uow.session, ticket=ticket, review=TicketReview(**body.model_dump()), operator=operator,
            categories=runtime.categories, now=datetime.now(UTC),
        )
        uow.commit()
        return _detail(uow.session, ticket, operator)


@router.post("/tickets/{ticket_id}/claim")
def claim(ticket_id: uuid.UUID, runtime: RuntimeDep, operator: OperatorDep) -> TicketOut:
    with runtime.new_uow() as uow:
        ticket = claim_ticket(uow.session, ticket_id=ticket_id, operator=operator)
        uow.commit()
        return TicketOut.of(ticket)


@router.post("/tickets/{ticket_id}/dispatch")
def dispatch(ticket_id: uuid.UUID, body: DispatchIn, runtime: RuntimeDep, operator: OperatorDep) -> TicketDetailOut:
    """派单 to one or several units (the first leads), with deadlines from the SLA rules."""
    require_role(operator, CENTER_ROLES)
    with runtime.new_uow() as uow:
        ticket = readable_ticket(uow.session, operator, ticket_id)
        dispatch_ticket(uow.session, ticket=ticket, unit_ids=body.unit_ids, operator=operator, now=datetime.now(UTC), note=body.note)
        uow.commit()
        return _detail(uow.session, ticket, operator)


@router.post("/tickets/{ticket_id}/close")
def close(ticket_id: uuid.UUID, body: AnswerIn, runtime: RuntimeDep, operator: OperatorDep) -> TicketDetailOut:
    """The center answers the citizen itself and closes the ticket (both feedbacks at once)."""
    require_role(operator, CENTER_ROLES)
    with runtime.new_uow() as uow:
        ticket = readable_ticket(uow.session, operator, ticket_id)
        close_directly(uow.session, ticket=ticket, operator=operator, answer=body.answer, now=datetime.now(UTC))
        uow.commit()
        return _detail(uow.session, ticket, operator)


@router.get("/units")
def units(
    runtime: RuntimeDep,
    operator: OperatorDep,
    q: Annotated[str | None, Query(max_length=50)] = None,
    kind: UnitKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[UnitOut]:
    statement = select(Unit).where(Unit.active.is_(True))
    if q:
        statement = statement.where(Unit.name.contains(q) | Unit.code.startswith(q))
    if kind:
        statement = statement.where(Unit.kind == kind)
    with runtime.new_uow() as uow:
        return [UnitOut.of(u) for u in uow.session.scalars(statement.order_by(Unit.code).limit(limit))]


@router.get("/categories")
def categories(runtime: RuntimeDep, _operator: OperatorDep) -> list[str]:
    return list(runtime.categories)


def _detail(session: Session, ticket: Ticket, operator: Operator) -> TicketDetailOut:
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.created_at)).all()
    assignments = session.scalars(
        select(TicketAssignment)
        .where(TicketAssignment.ticket_id == ticket.id)
        .order_by(TicketAssignment.dispatched_at, TicketAssignment.lead.desc(), TicketAssignment.id)
    ).all()
    first = session.scalar(
        select(Message)
        .where(Message.conversation_id == ticket.conversation_id, Message.direction == "in", Message.analysis.is_not(None))
        .order_by(Message.created_at)
        .limit(1)
    ) if ticket.conversation_id else None
    return TicketDetailOut(
        ticket=TicketOut.of(ticket),
        timeline=[EventOut.of(e) for e in events],
        assignments=[AssignmentOut.of(a) for a in assignments],
        suggested_units=[UnitOut.of(u) for u in suggest_units(session, ticket)],
        analysis=first.analysis if first else None,
    )
