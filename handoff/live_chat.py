"""An operator talking with a citizen: what they type goes out on the citizen's own channel."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import outbox, texts
from handoff.errors import InvalidMessageError
from handoff.messages import Reply
from handoff.models import CannedReply, Citizen, ConversationState, Message, Operator
from handoff.queue import held_conversation, release_center_tickets

MAX_OPERATOR_CHARS = 2000
DEFAULT_CANNED_REPLIES = {
    "hi": "您好，我是12345话务员，请问有什么可以帮您？",
    "wait": "正在为您查询，请稍候。",
    "where": "请告诉我问题发生的具体位置：所在区、街道/乡镇，以及小区、道路或门牌号。",
    "phone": "方便留一个联系电话吗？承办单位可能需要与您联系核实情况。",
    "dispatched": "您反映的问题已派给承办单位，办理进展会第一时间通知您。",
    "bye": "感谢您的来电，如有其他问题随时联系12345。",
}


def operator_reply(
    session: Session, *, conversation_id: uuid.UUID, operator: Operator, text: str, now: datetime
) -> Message:
    text = text.strip()
    if not text:
        raise InvalidMessageError("消息为空")
    if len(text) > MAX_OPERATOR_CHARS:
        raise InvalidMessageError(f"消息过长，请控制在{MAX_OPERATOR_CHARS}字以内")
    conversation = held_conversation(session, conversation_id=conversation_id, operator=operator)
    first, *_ = outbox.enqueue(
        session,
        conversation=conversation,
        reply=Reply(text),
        kind="operator",
        now=now,
        sender="operator",
        operator_id=operator.id,
    )
    conversation.updated_at = now
    # A text longer than the platform takes goes in parts; the console hears the others as changes.
    return session.get_one(Message, first.message_id)


def end_chat(session: Session, *, conversation_id: uuid.UUID, operator: Operator, now: datetime) -> None:
    """The operator is done: the bot takes over again and says so."""
    conversation = held_conversation(session, conversation_id=conversation_id, operator=operator)
    conversation.state, conversation.operator_id, conversation.updated_at = ConversationState.BOT, None, now
    conversation.draft = None
    release_center_tickets(session, conversation.id)
    citizen = session.get_one(Citizen, conversation.citizen_id)
    outbox.enqueue(
        session,
        conversation=conversation,
        reply=Reply(texts.say("chat_ended", citizen.language)),
        kind="reply",
        now=now,
        sender="system",
    )


def conversation_messages(session: Session, conversation_id: uuid.UUID, limit: int = 200) -> list[Message]:
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.created_at.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def canned_replies(session: Session) -> list[CannedReply]:
    return list(session.scalars(select(CannedReply).order_by(CannedReply.shortcut)))


def seed_canned_replies(session: Session) -> int:
    existing = set(session.scalars(select(CannedReply.shortcut)))
    missing = [CannedReply(shortcut=k, text=v) for k, v in DEFAULT_CANNED_REPLIES.items() if k not in existing]
    session.add_all(missing)
    return len(missing)


