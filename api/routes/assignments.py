"""The handling units' side (签收, 进展, 办结, 退回) and the supervisors' (超期, 督办, 改派)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import OperatorDep, RuntimeDep
from api.schemas import (
    AssignmentOut,
    AssignmentWithTicketOut,
    NoteIn,
    OverdueOut,
    ReasonIn,
    ReassignIn,
    RemindIn,
    ResultIn,
    TicketOut,
)
from handoff import dispatch
from handoff.access import SUPERVISION_ROLES, own_assignment, require_role
from handoff.models import Role, Ticket, TicketAssignment

router = APIRouter(prefix="/api", tags=["units and supervision"])


@router.get("/my/assignments")
def my_assignments(runtime: RuntimeDep, operator: OperatorDep, include_done: bool = False) -> list[AssignmentWithTicketOut]:
    """A unit handler's queue: their unit's tickets, the most urgent deadline first."""
    require_role(operator, {Role.UNIT_HANDLER})
    statuses = [*dispatch.ACTIVE, *([dispatch.A.RESOLVED, dispatch.A.RETURNED] if include_done else [])]
    with runtime.new_uow() as uow:
        rows = uow.session.execute(
            select(TicketAssignment, Ticket)
            .join(Ticket, Ticket.id == TicketAssignment.ticket_id)
            .where(TicketAssignment.unit_id == operator.unit_id, TicketAssignment.status.in_(statuses))
            .order_by(Ticket.urgent.desc(), TicketAssignment.sign_deadline)
        ).all()
        return [AssignmentWithTicketOut(assignment=AssignmentOut.of(a), ticket=TicketOut.of(t)) for a, t in rows]


@router.post("/assignments/{assignment_id}/sign")
def sign(assignment_id: uuid.UUID, runtime: RuntimeDep, operator: OperatorDep) -> AssignmentOut:
    with runtime.new_uow() as uow:
        assignment = own_assignment(uow.session, operator, assignment_id)
        dispatch.sign(uow.session, assignment=assignment, handler=operator, now=datetime.now(UTC))
        uow.commit()
        return AssignmentOut.of(assignment)


@router.post("/assignments/{assignment_id}/progress")
def progress(assignment_id: uuid.UUID, body: NoteIn, runtime: RuntimeDep, operator: OperatorDep) -> AssignmentOut:
    with runtime.new_uow() as uow:
        assignment = own_assignment(uow.session, operator, assignment_id)
        dispatch.report_progress(uow.session, assignment=assignment, handler=operator, note=body.note, now=datetime.now(UTC))
        uow.commit()
        return AssignmentOut.of(assignment)


@router.post("/assignments/{assignment_id}/result")
def result(assignment_id: uuid.UUID, body: ResultIn, runtime: RuntimeDep, operator: OperatorDep) -> AssignmentOut:
    """办结 with dual feedback: the result for the center, and a reply to the citizen (or a call)."""
    with runtime.new_uow() as uow:
        assignment = own_assignment(uow.session, operator, assignment_id)
        dispatch.report_result(
            uow.session, assignment=assignment, handler=operator, result=body.result,
            citizen_reply=body.citizen_reply, phone_contacted=body.phone_contacted, now=datetime.now(UTC),
        )
        uow.commit()
        return AssignmentOut.of(assignment)


@router.post("/assignments/{assignment_id}/return")
def send_back(assignment_id: uuid.UUID, body: ReasonIn, runtime: RuntimeDep, operator: OperatorDep) -> AssignmentOut:
    """退回 with a reason; the center re-dispatches."""
    with runtime.new_uow() as uow:
        assignment = own_assignment(uow.session, operator, assignment_id)
        dispatch.return_assignment(uow.session, assignment=assignment, handler=operator, reason=body.reason, now=datetime.now(UTC))
        uow.commit()
        return AssignmentOut.of(assignment)


@router.get("/supervision/overdue")
def overdue(runtime: RuntimeDep, operator: OperatorDep, soon_hours: float = 2.0) -> list[OverdueOut]:
    """Assignments past or near their sign/resolve deadline, most overdue first."""
    require_role(operator, SUPERVISION_ROLES)
    with runtime.new_uow() as uow:
        rows = dispatch.overdue(uow.session, now=datetime.now(UTC), soon=timedelta(hours=soon_hours))
        return [OverdueOut.of(r) for r in rows]


@router.post("/assignments/{assignment_id}/remind")
def remind(assignment_id: uuid.UUID, body: RemindIn, runtime: RuntimeDep, operator: OperatorDep) -> AssignmentOut:
    """督办: the unit is told at once in its console."""
    require_role(operator, SUPERVISION_ROLES)
    with runtime.new_uow() as uow:
        assignment = own_assignment(uow.session, operator, assignment_id)
        dispatch.remind(uow.session, assignment=assignment, supervisor=operator, note=body.note, now=datetime.now(UTC))
        uow.commit()
        return AssignmentOut.of(assignment)


@router.post("/assignments/{assignment_id}/reassign")
def reassign(assignment_id: uuid.UUID, body: ReassignIn, runtime: RuntimeDep, operator: OperatorDep) -> AssignmentOut:
    require_role(operator, SUPERVISION_ROLES)
    with runtime.new_uow() as uow:
        assignment = own_assignment(uow.session, operator, assignment_id)
        replacement = dispatch.reassign(uow.session, assignment=assignment, supervisor=operator, unit_id=body.unit_id, now=datetime.now(UTC))
        uow.commit()
        return AssignmentOut.of(replacement)
