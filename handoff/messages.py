"""The channel contract: what every adapter in `bots/` hands in, and what it is asked to send.

Adapters translate platform traffic into `InboundMessage` and deliver `Delivery` values; the
conversation engine never learns which platform a message came from beyond its name.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

ChannelName = Literal["web", "telegram", "wechat"]
CHANNELS: tuple[ChannelName, ...] = ("web", "telegram", "wechat")


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float
    label: str | None = None


@dataclass(frozen=True)
class Attachment:
    kind: Literal["image", "voice", "video", "file"]
    file_id: str  # the platform's handle (Telegram file_id, WeChat MediaId)
    url: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """One thing a citizen did on a channel: text, a location pin, a photo, a button, an event."""

    channel: ChannelName
    channel_user_id: str  # stable per citizen on that platform (Telegram user id, WeChat OpenID)
    chat_id: str  # where replies go
    platform_msg_id: str  # unique per channel; a redelivery carries the same id
    received_at: datetime
    text: str = ""
    location: GeoPoint | None = None
    attachments: tuple[Attachment, ...] = ()
    button: str | None = None  # payload of a pressed button
    event: str | None = None  # "start", "subscribe", "unsubscribe", "menu:<key>"
    display_name: str | None = None
    language: str | None = None  # the platform's language code, e.g. zh-hans, en
    edited: bool = False

    @property
    def has_content(self) -> bool:
        return bool(self.text.strip() or self.location or self.attachments or self.button or self.event)


@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # sent back as `InboundMessage.button` when pressed


@dataclass(frozen=True)
class Reply:
    """Something the system says to a citizen; channels without buttons number them as text."""

    text: str
    buttons: tuple[Button, ...] = ()

    def as_text(self) -> str:
        """The text with its buttons as numbered lines, for channels without buttons (the intake
        reads a bare number as the button of that line)."""
        if not self.buttons:
            return self.text
        options = "\n".join(f"{i}. {button.label}" for i, button in enumerate(self.buttons, start=1))
        return f"{self.text}\n\n{options}"


@dataclass(frozen=True)
class Delivery:
    """One outbox entry handed to a channel for sending."""

    outbox_id: uuid.UUID
    channel: ChannelName
    chat_id: str
    reply: Reply
    kind: str  # reply, status, operator, survey
    attempt: int  # 1 for the first try
    idempotency_key: str  # stable across retries: the outbox id
    conversation_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None  # the stored outbound message
    last_inbound_at: datetime | None = None  # for channels with reply windows (WeChat: 48 h)


class Sender(Protocol):
    """What the delivery worker needs from a channel adapter."""

    name: ChannelName

    async def send(self, delivery: Delivery) -> str | None:
        """Deliver it; return the platform's message id if it has one.

        Raise `handoff.errors.DeliveryError` (retryable or not) when it did not go out.
        """
        ...


@dataclass(frozen=True)
class InboundResult:
    """What the engine did with one inbound message."""

    message_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    replies: Sequence[Reply] = field(default_factory=tuple)
    outbox_ids: Sequence[uuid.UUID] = field(default_factory=tuple)
    duplicate: bool = False  # the same platform message id was already handled
    ticket_number: str | None = None  # set when this message opened a ticket
    passive_reply: Reply | None = None  # settled to go in the webhook's own response (WeChat)
