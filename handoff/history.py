"""A citizen's chat history on one channel, for the web chat's reconnect and the console."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import ChannelIdentity, Conversation, Message


@dataclass(frozen=True)
class HistoryItem:
    id: uuid.UUID
    direction: str  # in, out
    sender: str  # citizen, bot, operator, system
    text: str
    buttons: tuple[dict[str, str], ...]
    created_at: datetime


def chat_history(session: Session, *, channel: str, channel_user_id: str, limit: int = 100) -> list[HistoryItem]:
    """The latest messages across the citizen's conversations on this channel, oldest first."""
    rows = session.scalars(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.channel_user_id == channel_user_id)
        .order_by(Message.created_at.desc())
        .limit(limit)
    ).all()
    return [
        HistoryItem(
            id=m.id,
            direction=m.direction,
            sender=m.sender,
            text=m.text,
            buttons=tuple((m.payload or {}).get("buttons") or ()),
            created_at=m.created_at,
        )
        for m in reversed(rows)
    ]
