"""Writing to the outbox: every message to a citizen is stored and queued in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from handoff.messages import Button, Reply
from handoff.models import Conversation, Direction, Message, OutboxEntry

_LAST_OUT = "outbox_last_created_at"


@dataclass(frozen=True)
class TextLimit:
    """What one message can carry on a platform, measured the platform's way."""

    most: int
    size: Callable[[str], int]
    buttons_in_text: bool  # the buttons are numbered lines of the text (`Reply.as_text`)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# Telegram's sendMessage takes 4096 characters (UTF-16 units); WeChat's passive replies and
# customer-service messages 2048 bytes of UTF-8 (errcode 45002 beyond). The web chat has no limit.
TEXT_LIMITS: dict[str, TextLimit] = {
    "telegram": TextLimit(4096, _utf16_units, buttons_in_text=False),
    "wechat": TextLimit(2048, lambda text: len(text.encode()), buttons_in_text=True),
}
# Where a long text is best cut, in order of preference; a part ends with its break.
_BREAKS = ("\n", "。", "！", "？", "；", "!", "?", ";", "，", ",", " ")


def fit_to_channel(reply: Reply, channel: str) -> list[Reply]:
    """The reply as the messages the channel's platform accepts: one, or parts cut at line or
    sentence ends, the buttons on the last. Each part is its own outbox entry, so a part that fails
    is retried alone and nothing already delivered is sent twice."""
    limit = TEXT_LIMITS.get(channel)
    if limit is None or limit.size(reply.as_text() if limit.buttons_in_text else reply.text) <= limit.most:
        return [reply]
    reserve = limit.size(Reply("", reply.buttons).as_text()) if limit.buttons_in_text else 0
    texts = _cut(reply.text, max(limit.most - reserve, limit.most // 2), limit.size)
    return [Reply(text) for text in texts[:-1]] + [replace(reply, text=texts[-1])]


def _cut(text: str, most: int, size: Callable[[str], int]) -> list[str]:
    parts: list[str] = []
    while size(text) > most:
        fits = _longest_prefix(text, most, size)
        window = text[:fits]
        # The latest break of the most preferred kind that keeps the part at least half full.
        cut = next((end for brk in _BREAKS if (end := window.rfind(brk) + len(brk)) > fits // 2), fits)
        if part := text[:cut].rstrip():  # a run of blank lines makes no message of its own
            parts.append(part)
        text = text[cut:].lstrip()
    return [*parts, text]


def _longest_prefix(text: str, most: int, size: Callable[[str], int]) -> int:
    low, high = 1, len(text)  # size(text[:low]) fits: no character is bigger than a limit
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= most:
            low = middle
        else:
            high = middle - 1
    return low


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
) -> list[OutboxEntry]:
    """Store the outbound message in the conversation and queue it for its channel: one entry, or
    one per part when it is longer than the channel takes (`fit_to_channel`)."""
    return [
        _enqueue_one(session, conversation=conversation, reply=part, kind=kind, now=now, sender=sender,
                     in_reply_to=in_reply_to, ticket_id=ticket_id, operator_id=operator_id)
        for part in fit_to_channel(reply, conversation.channel)
    ]


def _enqueue_one(
    session: Session,
    *,
    conversation: Conversation,
    reply: Reply,
    kind: str,
    now: datetime,
    sender: str,
    in_reply_to: uuid.UUID | None,
    ticket_id: uuid.UUID | None,
    operator_id: uuid.UUID | None,
) -> OutboxEntry:
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
