"""The queue and live chat: claim, talk, release, transfer, end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import OperatorDep, RuntimeDep
from api.schemas import CannedReplyOut, MessageOut, QueueItemOut, QueueOut, TextIn, TicketOut, TransferIn
from handoff.access import CENTER_ROLES, require_role
from handoff.errors import NotFoundError
from handoff.live_chat import canned_replies, conversation_messages, end_chat, operator_reply
from handoff.models import Conversation, Ticket
from handoff.queue import QUEUE_PAGE, claim_conversation, list_queue, release_conversation, transfer_conversation

router = APIRouter(prefix="/api", tags=["queue and live chat"])


@router.get("/queue")
def queue(
    runtime: RuntimeDep, operator: OperatorDep, limit: Annotated[int, Query(ge=1, le=1000)] = QUEUE_PAGE
) -> QueueOut:
    """Handed-off chats and tickets waiting for the center: urgent first, then oldest; the first
    `limit` of them, with the counts of all."""
    require_role(operator, CENTER_ROLES)
    now = datetime.now(UTC)
    with runtime.new_uow() as uow:
        view = list_queue(uow.session, now=now, operator=operator, limit=limit)
    return QueueOut(
        waiting=view.waiting,
        longest_wait_seconds=view.longest_wait_seconds,
        total=view.total,
        items=[QueueItemOut.of(i, now) for i in view.items],
    )


@router.get("/conversations/{conversation_id}")
def conversation(conversation_id: uuid.UUID, runtime: RuntimeDep, operator: OperatorDep) -> dict[str, object]:
    """The chat, and every ticket this citizen has filed (on any channel) beside it."""
    require_role(operator, CENTER_ROLES)
    with runtime.new_uow() as uow:
        found = uow.session.get(Conversation, conversation_id)
        if found is None:
            raise NotFoundError("会话不存在")
        tickets = uow.session.scalars(
            select(Ticket).where(Ticket.citizen_id == found.citizen_id).order_by(Ticket.accepted_at.desc()).limit(50)
        ).all()
        return {
            "id": found.id,
            "state": found.state,
            "channel": found.channel,
            "operator_id": found.operator_id,
            "draft": found.draft,
            "messages": [MessageOut.of(m) for m in conversation_messages(uow.session, found.id)],
            "citizen_tickets": [TicketOut.of(t) for t in tickets],
        }


@router.post("/conversations/{conversation_id}/claim")
def claim(conversation_id: uuid.UUID, runtime: RuntimeDep, operator: OperatorDep) -> dict[str, str]:
    with runtime.new_uow() as uow:
        claimed = claim_conversation(uow.session, conversation_id=conversation_id, operator=operator, now=datetime.now(UTC))
        uow.commit()
        return {"state": claimed.state}


@router.post("/conversations/{conversation_id}/messages")
def send_message(conversation_id: uuid.UUID, body: TextIn, runtime: RuntimeDep, operator: OperatorDep) -> MessageOut:
    """Say something to the citizen, on their own channel."""
    with runtime.new_uow() as uow:
        message = operator_reply(
            uow.session, conversation_id=conversation_id, operator=operator, text=body.text, now=datetime.now(UTC)
        )
        uow.commit()
        return MessageOut.of(message)


@router.post("/conversations/{conversation_id}/release", status_code=204)
def release(conversation_id: uuid.UUID, runtime: RuntimeDep, operator: OperatorDep) -> None:
    with runtime.new_uow() as uow:
        release_conversation(uow.session, conversation_id=conversation_id, operator=operator, now=datetime.now(UTC))
        uow.commit()


@router.post("/conversations/{conversation_id}/transfer")
def transfer(conversation_id: uuid.UUID, body: TransferIn, runtime: RuntimeDep, operator: OperatorDep) -> dict[str, str]:
    with runtime.new_uow() as uow:
        colleague = transfer_conversation(
            uow.session, conversation_id=conversation_id, operator=operator, to_username=body.username, now=datetime.now(UTC)
        )
        uow.commit()
        return {"operator": colleague.username}


@router.post("/conversations/{conversation_id}/end", status_code=204)
def end(conversation_id: uuid.UUID, runtime: RuntimeDep, operator: OperatorDep) -> None:
    """The operator is done; the bot takes the chat again."""
    with runtime.new_uow() as uow:
        end_chat(uow.session, conversation_id=conversation_id, operator=operator, now=datetime.now(UTC))
        uow.commit()


@router.get("/canned-replies")
def list_canned_replies(runtime: RuntimeDep, operator: OperatorDep) -> list[CannedReplyOut]:
    require_role(operator, CENTER_ROLES)
    with runtime.new_uow() as uow:
        return [CannedReplyOut(shortcut=c.shortcut, text=c.text) for c in canned_replies(uow.session)]
