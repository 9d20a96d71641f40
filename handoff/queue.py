"""The operators' queue: handed-off chats and tickets waiting for the center, urgent first, then oldest.

A claim is one conditional UPDATE: of two operators claiming at the same moment, exactly one
changes the row and wins; the other gets ConflictError.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from handoff.errors import ConflictError, NotFoundError, PermissionDeniedError
from handoff.events import Change, tell
from handoff.models import (
    ChannelIdentity,
    Conversation,
    ConversationState,
    Message,
    Operator,
    Role,
    Ticket,
    TicketStatus,
)

# Tickets that need the center: new ones to confirm and dispatch, and ones a unit sent back.
CENTER_STATUSES = (TicketStatus.ACCEPTED, TicketStatus.RETURNED, TicketStatus.REOPENED)


@dataclass(frozen=True)
class QueueItem:
    kind: str  # chat or ticket
    conversation_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    ticket_number: str | None
    ticket_status: str | None
    channel: str
    citizen_name: str | None
    preview: str
    urgent: bool
    waiting_since: datetime
    operator_id: uuid.UUID | None  # who holds it, None while waiting
    lane: str = "citizen"  # enterprise: for the operators who serve businesses

    def waiting_seconds(self, now: datetime) -> int:
        return max(0, int((now - self.waiting_since).total_seconds()))


def serves(operator: Operator, lane: str) -> bool:
    """Operators take the lanes they serve (citizens, businesses); supervisors and admins all."""
    return operator.role != Role.OPERATOR or lane in operator.lanes.split(",")


QUEUE_PAGE = 200  # items a listing shows; after a burst thousands wait, and the counts say so


@dataclass(frozen=True)
class QueueView:
    items: list[QueueItem]  # the first of the queue, urgent first, then oldest
    total: int  # items in the queue in all
    waiting: int  # of them, held by nobody yet
    longest_wait_seconds: int


class _Entry(NamedTuple):
    """An item of the queue before it is shown: what sorts, counts and filters it, and how to make it."""

    later: bool  # not urgent
    since: datetime
    operator_id: uuid.UUID | None
    lane: str
    make: Callable[[], QueueItem]


def list_queue(
    session: Session, *, now: datetime, include_held: bool = True, operator: Operator | None = None,
    limit: int = QUEUE_PAGE,
) -> QueueView:
    """The queue, for `operator`'s lanes when given: a few queries however long it is, reading only
    the columns used, and items made for the first `limit` only (after a burst thousands wait, and
    every console asks once a second)."""
    states = [ConversationState.QUEUED] + ([ConversationState.OPERATOR] if include_held else [])
    conversations = session.execute(
        select(Conversation.id, Conversation.channel, Conversation.handed_off_at, Conversation.updated_at,
               Conversation.operator_id, Conversation.lane, ChannelIdentity.display_name)
        .outerjoin(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
        .where(Conversation.state.in_(states))
    ).all()
    tickets = session.execute(
        select(Ticket.id, Ticket.number, Ticket.status, Ticket.conversation_id, Ticket.channel, Ticket.contact_name,
               func.substr(Ticket.description, 1, 80).label("preview"), Ticket.urgent, Ticket.accepted_at,
               Ticket.returned_at, Ticket.reopened_at, Ticket.operator_id, Ticket.lane)
        .where(Ticket.status.in_(CENTER_STATUSES))
        .order_by(Ticket.accepted_at)
    ).all()
    open_ticket_of: dict[uuid.UUID, Any] = {}
    for ticket in tickets:
        if ticket.conversation_id is not None:
            open_ticket_of.setdefault(ticket.conversation_id, ticket)
    entries: list[_Entry] = []
    for chat in conversations:
        open_one = open_ticket_of.get(chat.id)
        urgent, since = bool(open_one and open_one.urgent), chat.handed_off_at or chat.updated_at
        entries.append(_Entry(not urgent, since, chat.operator_id, chat.lane,
                              partial(_chat_item, chat, open_one, urgent=urgent, since=since)))
    listed = {chat.id for chat in conversations}
    for ticket in tickets:
        if ticket.conversation_id in listed:
            continue  # shown with its chat
        since = ticket.returned_at or ticket.reopened_at or ticket.accepted_at
        entries.append(_Entry(not ticket.urgent, since, ticket.operator_id, ticket.lane,
                              partial(_ticket_item, ticket, since=since)))
    if operator is not None:
        entries = [entry for entry in entries if serves(operator, entry.lane)]
    entries.sort(key=lambda entry: (entry.later, entry.since))
    waiting = [entry.since for entry in entries if entry.operator_id is None]
    shown = [entry.make() for entry in entries[: max(limit, 1)]]
    words = _last_citizen_words(session, [i.conversation_id for i in shown if i.kind == "chat" and i.conversation_id])
    return QueueView(
        items=[replace(i, preview=words.get(i.conversation_id, "")) if i.kind == "chat" else i for i in shown],
        total=len(entries),
        waiting=len(waiting),
        longest_wait_seconds=max((max(0, int((now - since).total_seconds())) for since in waiting), default=0),
    )


def _chat_item(chat: Any, open_one: Any, *, urgent: bool, since: datetime) -> QueueItem:  # rows of `list_queue`'s queries
    return QueueItem(
        kind="chat",
        conversation_id=chat.id,
        ticket_id=open_one.id if open_one else None,
        ticket_number=open_one.number if open_one else None,
        ticket_status=open_one.status if open_one else None,
        channel=chat.channel,
        citizen_name=chat.display_name,
        preview="",  # the citizen's last words, read for the chats shown only
        urgent=urgent,
        waiting_since=since,
        operator_id=chat.operator_id,
        lane=chat.lane,
    )


def _ticket_item(ticket: Any, *, since: datetime) -> QueueItem:
    return QueueItem(
        kind="ticket",
        conversation_id=ticket.conversation_id,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        ticket_status=ticket.status,
        channel=ticket.channel,
        citizen_name=ticket.contact_name,
        preview=ticket.preview or "",
        urgent=ticket.urgent,
        waiting_since=since,
        operator_id=ticket.operator_id,
        lane=ticket.lane,
    )


def claim_conversation(session: Session, *, conversation_id: uuid.UUID, operator: Operator, now: datetime) -> Conversation:
    """Take a waiting chat. Exactly one of several simultaneous claims succeeds."""
    _require_center(operator)
    waiting = session.get(Conversation, conversation_id)
    if waiting is None:
        raise NotFoundError("会话不存在")
    if not serves(operator, waiting.lane):
        raise PermissionDeniedError("该会话属于企业服务专席")
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state == ConversationState.QUEUED)
        .values(state=ConversationState.OPERATOR, operator_id=operator.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError("该会话已被其他话务员接入")
    conversation = session.get_one(Conversation, conversation_id)
    session.refresh(conversation)
    # The other consoles: the chat leaves their queue, and one showing it sees who took it.
    tell(session, Change("conversation", conversation_id=conversation_id,
                         data={"state": ConversationState.OPERATOR, "operator_id": str(operator.id)}))
    session.execute(
        update(Ticket)
        .where(
            Ticket.conversation_id == conversation_id,
            Ticket.status.in_(CENTER_STATUSES),
            Ticket.operator_id.is_(None),
        )
        .values(operator_id=operator.id)
        .execution_options(synchronize_session=False)
    )
    return conversation


def claim_ticket(session: Session, *, ticket_id: uuid.UUID, operator: Operator) -> Ticket:
    _require_center(operator)
    waiting = session.get(Ticket, ticket_id)
    if waiting is None:
        raise NotFoundError("工单不存在")
    if not serves(operator, waiting.lane):
        raise PermissionDeniedError("该工单属于企业服务专席")
    result = session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket_id,
            Ticket.status.in_(CENTER_STATUSES),
            or_(Ticket.operator_id.is_(None), Ticket.operator_id == operator.id),
        )
        .values(operator_id=operator.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError("该工单已被其他话务员领取")
    ticket = session.get_one(Ticket, ticket_id)
    session.refresh(ticket)
    tell(session, Change("ticket", ticket_id=ticket_id, conversation_id=ticket.conversation_id,
                         data={"operator_id": str(operator.id)}))
    return ticket


def held_conversation(session: Session, *, conversation_id: uuid.UUID, operator: Operator) -> Conversation:
    """A chat this operator holds (supervisors may step into any)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFoundError("会话不存在")
    if conversation.state != ConversationState.OPERATOR:
        raise ConflictError("请先接入该会话")
    if conversation.operator_id != operator.id and operator.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDeniedError("该会话由其他话务员接待")
    return conversation


def release_conversation(session: Session, *, conversation_id: uuid.UUID, operator: Operator, now: datetime) -> None:
    """Put a chat back in the queue, where it keeps its place by its hand-off time."""
    conversation = held_conversation(session, conversation_id=conversation_id, operator=operator)
    conversation.state, conversation.operator_id, conversation.updated_at = ConversationState.QUEUED, None, now
    release_center_tickets(session, conversation.id)


def transfer_conversation(
    session: Session, *, conversation_id: uuid.UUID, operator: Operator, to_username: str, now: datetime
) -> Operator:
    conversation = held_conversation(session, conversation_id=conversation_id, operator=operator)
    colleague = session.scalar(select(Operator).where(Operator.username == to_username, Operator.active.is_(True)))
    if colleague is None or colleague.role not in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        raise NotFoundError(f"话务员 {to_username} 不存在")
    conversation.operator_id, conversation.updated_at = colleague.id, now
    session.execute(
        update(Ticket)
        .where(and_(Ticket.conversation_id == conversation.id, Ticket.status.in_(CENTER_STATUSES)))
        .values(operator_id=colleague.id)
        .execution_options(synchronize_session=False)
    )
    return colleague


def release_center_tickets(session: Session, conversation_id: uuid.UUID) -> None:
    session.execute(
        update(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status.in_(CENTER_STATUSES))
        .values(operator_id=None)
        .execution_options(synchronize_session=False)
    )


def _require_center(operator: Operator) -> None:
    if operator.role not in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDeniedError("只有话务员可以接入会话")


def _last_citizen_words(session: Session, conversation_ids: list[uuid.UUID]) -> dict[uuid.UUID | None, str]:
    """What each citizen said last (with words), in one query."""
    if not conversation_ids:
        return {}
    latest = (
        select(
            Message.conversation_id,
            Message.text,
            func.row_number()
            .over(partition_by=Message.conversation_id, order_by=Message.created_at.desc())
            .label("recency"),
        )
        .where(Message.conversation_id.in_(conversation_ids), Message.direction == "in", Message.text != "")
        .subquery()
    )
    rows = session.execute(select(latest.c.conversation_id, latest.c.text).where(latest.c.recency == 1))
    return {conversation_id: text[:80] for conversation_id, text in rows}
