"""Who may see and do what. Unit handlers see only tickets dispatched to their own unit."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from handoff.errors import NotFoundError, PermissionDeniedError
from handoff.models import AssignmentStatus, Operator, Role, Ticket, TicketAssignment

CENTER_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
SUPERVISION_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def require_role(operator: Operator, roles: frozenset[str] | set[str]) -> None:
    if operator.role not in roles:
        raise PermissionDeniedError("无权进行此操作")


def visible_tickets(operator: Operator) -> ColumnElement[bool]:
    """A WHERE clause: the tickets this person may read."""
    if operator.role in CENTER_ROLES:
        return Ticket.id.is_not(None)
    return exists(
        select(TicketAssignment.id).where(
            TicketAssignment.ticket_id == Ticket.id,
            TicketAssignment.unit_id == operator.unit_id,
            TicketAssignment.status != AssignmentStatus.WITHDRAWN,
        )
    )


def readable_ticket(session: Session, operator: Operator, ticket_id: object) -> Ticket:
    """The ticket, if this person may read it. Someone else's ticket looks exactly like a missing one,
    so guessing ids reveals nothing."""
    ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id, visible_tickets(operator)))
    if ticket is None:
        raise NotFoundError("工单不存在")
    return ticket


def own_assignment(session: Session, operator: Operator, assignment_id: object) -> TicketAssignment:
    """An assignment of the handler's own unit (supervisors and admins may act on any)."""
    assignment = session.get(TicketAssignment, assignment_id)
    if assignment is None:
        raise NotFoundError("派单记录不存在")
    if operator.role in SUPERVISION_ROLES:
        return assignment
    if operator.role != Role.UNIT_HANDLER or assignment.unit_id != operator.unit_id:
        raise NotFoundError("派单记录不存在")
    return assignment
