"""Writing to the outbox: every message to a citizen is stored and queued in the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from handoff.messages import Button, Reply
from handoff.models import Conversation, Direction, Message, OutboxEntry

_LAST_OUT = "outbox_last_created_at"


def reply_payload(reply: Reply) -> dict[str, object]:
    return {"text": reply.text, "buttons": [asdict(b) for b in reply.buttons]}


def reply_from_payload(payload: dict[str, object]) -> Reply:
    raw_buttons = payload.get("buttons") or []
    assert isinstance(raw_buttons, list)
    buttons = tuple(Button(label=str(b["label"]), payload=str(b["payload"])) for b in raw_buttons)
    return Reply(text=str(payload.get("text", "")), buttons=buttons)


def _after_previous(session: Session, now: datetime) -> datetime:
    """A strictly later time than the message answered and than the last entry of this transaction.

    History and delivery order by time, so several replies written at one `now` keep their order.
    """
    previous: datetime | None = session.info.get(_LAST_OUT)
    moment = max(now, previous) + timedelta(microseconds=1) if previous else now + timedelta(microseconds=1)
    session.info[_LAST_OUT] = moment
    return moment


def enqueue(
    session: Session,
    *,
    conversation: Conversation,
    reply: Reply,
    kind: str,
    now: datetime,
    sender: str = "bot",
    in_reply_to: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    operator_id: uuid.UUID | None = None,
) -> OutboxEntry:
    """Store the outbound message in the conversation and queue it for its channel."""
    payload = reply_payload(reply)
    now = _after_previous(session, now)
    message = Message(
        id=uuid.uuid4(),
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction=Direction.OUT,
        platform_msg_id=None,
        analysis=None,
        sender=sender,
        operator_id=operator_id,
        text=reply.text,
        payload={"buttons": payload["buttons"]} if reply.buttons else None,
        in_reply_to=in_reply_to,
        created_at=now,
    )
    entry = OutboxEntry(
        id=uuid.uuid4(),
        channel=conversation.channel,
        chat_id=conversation.chat_id,
        conversation_id=conversation.id,
        ticket_id=ticket_id,
        message_id=message.id,
        kind=kind,
        payload=payload,
        next_attempt_at=now,
        created_at=now,
    )
    session.add_all([message, entry])
    return entry
