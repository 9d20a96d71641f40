"""Telegram, on python-telegram-bot: updates in (webhook or getUpdates), messages with inline
keyboards out.

`read_update` checks the webhook's secret token and decodes the body; `parse_update` is pure and
turns one Update into an `InboundMessage` (or None for updates we do not handle, which still get
a 200 so Telegram stops resending them). `TelegramChannel.send` is the delivery worker's seam:
Telegram's errors become `DeliveryError` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram import Message as TelegramMessage
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bots.errors import InvalidSignatureError, MalformedPayloadError
from bots.ratelimit import RateLimiter
from handoff.errors import DeliveryError
from handoff.messages import Attachment, ChannelName, Delivery, GeoPoint, InboundMessage, Reply

log = logging.getLogger(__name__)

# Durations as timedelta, the form PTB 23 will use; the int form warns on every RetryAfter raised.
# PTB reads this when the error is made, so setting it here is early enough.
os.environ.setdefault("PTB_TIMEDELTA", "true")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 256 * 1024
# Commands become what the engine already understands: an event, or one of its own buttons.
COMMAND_EVENTS = {"start": "start", "help": "help", "enterprise": "menu:enterprise"}  # /enterprise: 企业热线
COMMAND_BUTTONS = {"status": "status", "human": "human", "cancel": "cancel"}
UPDATE_TYPES = ["message", "edited_message", "callback_query"]


@dataclass(frozen=True)
class ParsedUpdate:
    message: InboundMessage | None
    callback_query_id: str | None = None  # answered after handling, so the button stops spinning


def read_update(body: bytes, headers: Mapping[str, str], *, secret: str) -> dict[str, Any]:
    """Verify the webhook's secret token and decode the JSON body."""
    given = headers.get(SECRET_HEADER) or headers.get(SECRET_HEADER.lower()) or ""
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        raise InvalidSignatureError("missing or wrong X-Telegram-Bot-Api-Secret-Token")
    if len(body) > MAX_UPDATE_BYTES:
        raise MalformedPayloadError("update too large")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise MalformedPayloadError("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedPayloadError("an update is a JSON object")
    return data


def parse_update(data: Mapping[str, Any], *, received_at: datetime | None = None) -> ParsedUpdate:
    """One Telegram Update (its JSON) as an `InboundMessage`. Pure: no I/O."""
    if not isinstance(data.get("update_id"), int):
        raise MalformedPayloadError("an update needs an integer update_id")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            update = Update.de_json(dict(data), None)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedPayloadError(f"not a Telegram update: {type(exc).__name__}") from exc
    at = received_at or datetime.now(UTC)
    msg_id = f"update:{update.update_id}"
    query = update.callback_query
    if query is not None:
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        inbound = InboundMessage(
            channel="telegram",
            channel_user_id=str(query.from_user.id),
            chat_id=str(chat),
            platform_msg_id=msg_id,
            received_at=at,
            button=(query.data or "")[:64] or None,
            display_name=query.from_user.full_name,
            language=query.from_user.language_code,
        )
        return ParsedUpdate(inbound if inbound.button else None, callback_query_id=query.id)
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return ParsedUpdate(None)  # channel posts, joins, polls …: nothing a citizen said to us
    fields = _message_fields(message)
    if fields is None:
        return ParsedUpdate(None)
    inbound = InboundMessage(
        channel="telegram",
        channel_user_id=str(message.from_user.id),
        chat_id=str(message.chat.id),
        platform_msg_id=msg_id,
        received_at=at,
        display_name=message.from_user.full_name,
        language=message.from_user.language_code,
        edited=update.edited_message is not None,
        **fields,
    )
    return ParsedUpdate(inbound)


def _message_fields(message: TelegramMessage) -> dict[str, Any] | None:
    text = message.text or message.caption or ""
    if message.text and message.text.startswith("/"):
        command = message.text.split()[0][1:].split("@")[0].lower()
        if command in COMMAND_BUTTONS:
            return {"button": COMMAND_BUTTONS[command]}
        return {"event": COMMAND_EVENTS.get(command, "help")}
    if message.location is not None:
        venue = message.venue
        label = f"{venue.title} {venue.address}".strip() if venue is not None else None
        return {"text": text, "location": GeoPoint(message.location.latitude, message.location.longitude, label)}
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return {"text": text, "attachments": (Attachment("image", largest.file_id),)}
    if message.voice is not None:
        return {"text": text, "attachments": (Attachment("voice", message.voice.file_id),)}
    if message.video is not None:
        return {"text": text, "attachments": (Attachment("video", message.video.file_id),)}
    if message.document is not None:
        return {"text": text, "attachments": (Attachment("file", message.document.file_id),)}
    if message.contact is not None:
        return {"text": message.contact.phone_number}  # read like a typed number: the citizen's phone
    if text:
        return {"text": text}
    return None


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.payload)] for b in reply.buttons])


class TelegramChannel:
    """Sends through an injected `telegram.Bot`, paced by `limiter` (Telegram's flood limits)."""

    name: ChannelName = "telegram"

    def __init__(self, bot: Bot, *, webhook_secret: str, limiter: RateLimiter, connections: int) -> None:
        self.bot = bot
        self.webhook_secret = webhook_secret
        self._limiter = limiter
        # At most as many sends in flight as the bot has connections: the rest wait here, not in
        # the HTTP client's pool, which would fail them with a pool timeout after a slow minute
        # (and httpx's rescanned every connection for every waiting request).
        self._in_flight = asyncio.Semaphore(connections)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> ParsedUpdate:
        return parse_update(read_update(body, headers, secret=self.webhook_secret))

    async def send(self, delivery: Delivery) -> str | None:
        await self._limiter.wait(delivery.chat_id)
        try:
            async with self._in_flight:
                sent = await self.bot.send_message(
                    chat_id=delivery.chat_id, text=delivery.reply.text, reply_markup=keyboard(delivery.reply)
                )
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return str(sent.message_id)

    async def answer_button(self, callback_query_id: str) -> None:
        """Stop the pressed button's spinner. A courtesy: the answer itself goes through the outbox."""
        try:
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as exc:
            log.warning("could not answer a callback query: %s", type(exc).__name__)

    async def start(self) -> None:
        """Open the HTTP connections and check the token with getMe; a failure is only logged,
        so a Telegram outage at start-up does not keep the other channels down."""
        try:
            await self.bot.initialize()
        except TelegramError as exc:
            log.warning("Telegram getMe failed at start-up: %s", type(exc).__name__)

    async def close(self) -> None:
        await self.bot.shutdown()
        # PTB shuts down only what `initialize` opened; a channel used without `start` opened its
        # connections on the first send.
        await self.bot.request.shutdown()


def delivery_error(exc: TelegramError) -> DeliveryError:
    """Telegram's error, as the delivery worker understands it: retry, when, or give up."""
    if isinstance(exc, RetryAfter):
        return DeliveryError(f"telegram flood control: {exc}", retryable=True, retry_after=retry_after_seconds(exc))
    if isinstance(exc, (Forbidden, BadRequest, InvalidToken)):
        # The citizen blocked the bot, the chat is gone, or the message is invalid: retrying won't help.
        return DeliveryError(f"telegram refused: {exc}", retryable=False)
    if isinstance(exc, NetworkError):  # timeouts, connection errors, 5xx
        return DeliveryError(f"telegram unreachable: {exc}", retryable=True)
    return DeliveryError(f"telegram error: {exc}", retryable=True)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form is going away; we take both
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
