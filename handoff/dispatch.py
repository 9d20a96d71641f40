"""派单 and what the units do with it: sign (签收), report progress, report the result (办结) with
dual feedback (双反馈), or send it back (退回); and the supervisors' reminders (督办) and reassignment.

The ticket's own status follows its units: dispatched → signed when a unit signs → in progress →
resolved when every unit still on it has reported and both feedbacks are recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handoff import outbox, texts
from handoff.errors import ConflictError, InvalidMessageError, NotFoundError
from handoff.messages import Reply
from handoff.models import (
    AssignmentStatus,
    Citizen,
    Conversation,
    Operator,
    SlaRule,
    Ticket,
    TicketAssignment,
    TicketEvent,
    TicketStatus,
    Unit,
)
from handoff.tickets import ALLOWED, Actor, advance_ticket

A = AssignmentStatus
ACTIVE = (A.DISPATCHED, A.SIGNED, A.IN_PROGRESS)
# Defaults from the 12345 practice: sign at once (2 h; urgent 30 min), resolve within days.
DEFAULT_SLA = {False: (120, 7 * 24 * 60), True: (30, 24 * 60)}


@dataclass(frozen=True)
class Deadlines:
    sign: datetime
    resolve: datetime


def deadlines(session: Session, *, category: str | None, urgent: bool, now: datetime) -> Deadlines:
    """The most specific SLA rule: this category and urgency, else any category, else the defaults."""
    rules = session.scalars(
        select(SlaRule).where(SlaRule.urgent.is_(urgent), or_(SlaRule.category == category, SlaRule.category.is_(None)))
    ).all()
    rule = next((r for r in rules if r.category == category and category), None) or next(
        (r for r in rules if r.category is None), None
    )
    sign_minutes, resolve_minutes = (rule.sign_minutes, rule.resolve_minutes) if rule else DEFAULT_SLA[urgent]
    return Deadlines(now + timedelta(minutes=sign_minutes), now + timedelta(minutes=resolve_minutes))


def seed_sla_rules(session: Session) -> int:
    existing = {(r.category, r.urgent) for r in session.scalars(select(SlaRule))}
    missing = [
        SlaRule(category=None, urgent=urgent, sign_minutes=sign, resolve_minutes=resolve)
        for urgent, (sign, resolve) in DEFAULT_SLA.items()
        if (None, urgent) not in existing
    ]
    session.add_all(missing)
    return len(missing)


def dispatch_ticket(
    session: Session,
    *,
    ticket: Ticket,
    unit_ids: Sequence[uuid.UUID],
    operator: Operator | None,
    now: datetime,
    note: str | None = None,
) -> list[TicketAssignment]:
    """Send a ticket to one or several units; the first is the lead unit (主办).

    `operator` is None when the system itself re-dispatches (a citizen's 二次办理)."""
    if not unit_ids:
        raise InvalidMessageError("请至少选择一个承办单位")
    units = [session.get(Unit, unit_id) for unit_id in unit_ids]
    if any(u is None or not u.active for u in units):
        raise NotFoundError("承办单位不存在")
    due = deadlines(session, category=ticket.category, urgent=ticket.urgent, now=now)
    assignments = []
    for index, unit in enumerate(units):
        assert unit is not None
        assignment = TicketAssignment(
            id=uuid.uuid4(),
            ticket_id=ticket.id,
            unit_id=unit.id,
            lead=index == 0,
            status=A.DISPATCHED,
            dispatched_by=operator.id if operator else None,
            dispatched_at=now,
            sign_deadline=due.sign,
            resolve_deadline=due.resolve,
        )
        session.add(assignment)
        assignments.append(assignment)
    names = "、".join(u.name for u in units if u is not None)
    ticket.sign_deadline, ticket.resolve_deadline = due.sign, due.resolve
    if operator is not None:
        ticket.operator_id = ticket.operator_id or operator.id
    advance_ticket(
        session,
        ticket=ticket,
        to_status=TicketStatus.DISPATCHED,
        actor=Actor("operator", str(operator.id)) if operator else Actor("system"),
        now=now,
        note=note or f"已派至{names}办理",
    )
    return assignments


def sign(session: Session, *, assignment: TicketAssignment, handler: Operator, now: datetime) -> None:
    if assignment.status != A.DISPATCHED:
        raise ConflictError("该派单已签收或已不在本单位")
    assignment.status, assignment.signed_at = A.SIGNED, now
    ticket = session.get_one(Ticket, assignment.ticket_id)
    unit = session.get_one(Unit, assignment.unit_id)
    if ticket.status == TicketStatus.DISPATCHED:
        advance_ticket(session, ticket=ticket, to_status=TicketStatus.SIGNED, actor=_unit_actor(handler), now=now,
                       note=f"{unit.name}已签收")
    else:
        _event(session, ticket, handler, assignment, "signed", f"{unit.name}已签收", now)


def report_progress(session: Session, *, assignment: TicketAssignment, handler: Operator, note: str, now: datetime) -> None:
    if assignment.status not in (A.SIGNED, A.IN_PROGRESS):
        raise ConflictError("请先签收")
    if not note.strip():
        raise InvalidMessageError("请填写办理进展")
    assignment.status = A.IN_PROGRESS
    ticket = session.get_one(Ticket, assignment.ticket_id)
    if ticket.status in (TicketStatus.SIGNED, TicketStatus.IN_PROGRESS, TicketStatus.REOPENED):
        advance_ticket(session, ticket=ticket, to_status=TicketStatus.IN_PROGRESS, actor=_unit_actor(handler), now=now,
                       note=note.strip())
    else:
        _event(session, ticket, handler, assignment, "progress", note.strip(), now)


def report_result(
    session: Session,
    *,
    assignment: TicketAssignment,
    handler: Operator,
    result: str,
    citizen_reply: str | None,
    phone_contacted: bool = False,
    now: datetime,
) -> None:
    """办结 with dual feedback: the result goes on the ticket for the center, and to the citizen,
    on their channel (or, if the unit called them, the call is recorded)."""
    if assignment.status not in (A.SIGNED, A.IN_PROGRESS):
        raise ConflictError("请先签收")
    if not result.strip():
        raise InvalidMessageError("请填写办理结果")
    if not (citizen_reply and citizen_reply.strip()) and not phone_contacted:
        raise InvalidMessageError("办理结果须同时反馈给市民：填写给市民的答复，或确认已电话联系")
    ticket = session.get_one(Ticket, assignment.ticket_id)
    unit = session.get_one(Unit, assignment.unit_id)
    assignment.status, assignment.resolved_at, assignment.result = A.RESOLVED, now, result.strip()
    ticket.center_feedback_at = now
    _event(session, ticket, handler, assignment, "center_feedback", result.strip(), now)
    if citizen_reply and citizen_reply.strip() and ticket.conversation_id is not None:
        conversation = session.get_one(Conversation, ticket.conversation_id)
        citizen = session.get_one(Citizen, ticket.citizen_id)
        text = texts.say("unit_result", citizen.language, number=ticket.number, unit=unit.name, result=citizen_reply.strip())
        outbox.enqueue(session, conversation=conversation, reply=Reply(text), kind="status", now=now, ticket_id=ticket.id)
        ticket.citizen_feedback_at = now
        _event(session, ticket, handler, assignment, "citizen_feedback", citizen_reply.strip(), now)
    elif phone_contacted:
        ticket.citizen_feedback_at = now
        _event(session, ticket, handler, assignment, "citizen_feedback", "承办单位已电话联系市民", now)
    else:
        raise InvalidMessageError("该工单没有在线渠道，请电话联系市民后勾选“已电话联系”")
    _close_when_done(session, ticket, handler, now)


def return_assignment(session: Session, *, assignment: TicketAssignment, handler: Operator, reason: str, now: datetime) -> None:
    """退回: not this unit's business; the center re-dispatches."""
    if assignment.status not in ACTIVE:
        raise ConflictError("该派单已办结或已退回")
    if not reason.strip():
        raise InvalidMessageError("请填写退回理由")
    assignment.status, assignment.returned_at, assignment.return_reason = A.RETURNED, now, reason.strip()
    ticket = session.get_one(Ticket, assignment.ticket_id)
    unit = session.get_one(Unit, assignment.unit_id)
    if _active(session, ticket.id):
        _event(session, ticket, handler, assignment, "returned", f"{unit.name}退回：{reason.strip()}", now)
        return
    ticket.operator_id = None  # back to the queue for any operator
    advance_ticket(session, ticket=ticket, to_status=TicketStatus.RETURNED, actor=_unit_actor(handler), now=now,
                   note=f"{unit.name}退回：{reason.strip()}", notify_citizen=False)


def remind(session: Session, *, assignment: TicketAssignment, supervisor: Operator, note: str | None, now: datetime) -> None:
    """督办: the unit is told, and it stays on the record."""
    if assignment.status not in ACTIVE:
        raise ConflictError("该派单已办结或已退回")
    assignment.reminders += 1
    assignment.last_reminded_at = now
    ticket = session.get_one(Ticket, assignment.ticket_id)
    session.add(
        TicketEvent(
            ticket_id=ticket.id, kind="reminder", actor_type="supervisor", actor_id=str(supervisor.id),
            unit_id=assignment.unit_id, note=note or "请加快办理", created_at=now,
        )
    )


def reassign(
    session: Session, *, assignment: TicketAssignment, supervisor: Operator, unit_id: uuid.UUID, now: datetime
) -> TicketAssignment:
    """Take the ticket from one unit and give it to another, with fresh deadlines."""
    if assignment.status not in ACTIVE:
        raise ConflictError("该派单已办结或已退回")
    unit = session.get(Unit, unit_id)
    if unit is None or not unit.active:
        raise NotFoundError("承办单位不存在")
    ticket = session.get_one(Ticket, assignment.ticket_id)
    due = deadlines(session, category=ticket.category, urgent=ticket.urgent, now=now)
    assignment.status, assignment.withdrawn_at = A.WITHDRAWN, now
    replacement = TicketAssignment(
        id=uuid.uuid4(), ticket_id=ticket.id, unit_id=unit.id, lead=assignment.lead, status=A.DISPATCHED,
        dispatched_by=supervisor.id, dispatched_at=now, sign_deadline=due.sign, resolve_deadline=due.resolve,
    )
    session.add(replacement)
    old_unit = session.get_one(Unit, assignment.unit_id)
    session.add(
        TicketEvent(
            ticket_id=ticket.id, kind="reassigned", actor_type="supervisor", actor_id=str(supervisor.id),
            unit_id=unit.id, note=f"由{old_unit.name}改派至{unit.name}", created_at=now,
        )
    )
    return replacement


def close_directly(session: Session, *, ticket: Ticket, operator: Operator, answer: str, now: datetime) -> None:
    """The center answers itself (a 咨询 the operator can settle): both feedbacks at once."""
    if not answer.strip():
        raise InvalidMessageError("请填写答复内容")
    ticket.center_feedback_at = now
    if ticket.conversation_id is not None:
        conversation = session.get_one(Conversation, ticket.conversation_id)
        outbox.enqueue(session, conversation=conversation, reply=Reply(answer.strip()), kind="operator", now=now,
                       sender="operator", operator_id=operator.id, ticket_id=ticket.id)
        ticket.citizen_feedback_at = now
    else:
        raise InvalidMessageError("该工单没有在线渠道，请派单或电话答复")
    advance_ticket(session, ticket=ticket, to_status=TicketStatus.RESOLVED, actor=Actor("operator", str(operator.id)),
                   now=now, note=answer.strip(), notify_citizen=False)


@dataclass(frozen=True)
class OverdueRow:
    assignment: TicketAssignment
    ticket: Ticket
    unit: Unit
    stage: str  # sign or resolve
    deadline: datetime
    overdue: bool  # False: due soon


def overdue(session: Session, *, now: datetime, soon: timedelta = timedelta(hours=2)) -> list[OverdueRow]:
    """Assignments past their deadline or close to it, most overdue first."""
    rows: list[OverdueRow] = []
    candidates = session.execute(
        select(TicketAssignment, Ticket, Unit)
        .join(Ticket, Ticket.id == TicketAssignment.ticket_id)
        .join(Unit, Unit.id == TicketAssignment.unit_id)
        .where(TicketAssignment.status.in_(ACTIVE))
    ).all()
    for assignment, ticket, unit in candidates:
        stage, deadline = (
            ("sign", assignment.sign_deadline) if assignment.status == A.DISPATCHED else ("resolve", assignment.resolve_deadline)
        )
        if deadline <= now + soon:
            rows.append(OverdueRow(assignment, ticket, unit, stage, deadline, overdue=deadline <= now))
    rows.sort(key=lambda r: r.deadline)
    return rows


def _active(session: Session, ticket_id: uuid.UUID) -> list[TicketAssignment]:
    return list(
        session.scalars(select(TicketAssignment).where(TicketAssignment.ticket_id == ticket_id, TicketAssignment.status.in_(ACTIVE)))
    )


def _close_when_done(session: Session, ticket: Ticket, handler: Operator, now: datetime) -> None:
    if _active(session, ticket.id) or not (ticket.center_feedback_at and ticket.citizen_feedback_at):
        return
    if TicketStatus.RESOLVED in ALLOWED.get(ticket.status, frozenset()):
        advance_ticket(session, ticket=ticket, to_status=TicketStatus.RESOLVED, actor=_unit_actor(handler), now=now,
                       note="承办单位已办结")


def _unit_actor(handler: Operator) -> Actor:
    return Actor("unit", str(handler.id))


def _event(
    session: Session, ticket: Ticket, handler: Operator, assignment: TicketAssignment, kind: str, note: str, now: datetime
) -> None:
    ticket.updated_at = now
    session.add(
        TicketEvent(ticket_id=ticket.id, kind=kind, actor_type="unit", actor_id=str(handler.id),
                    unit_id=assignment.unit_id, note=note, created_at=now)
    )
