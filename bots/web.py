"""The web chat channel: a browser page talking JSON frames over a WebSocket.

Client → server frames:
    {"type": "hello", "token": "<the browser's token, or absent on first visit>"}
    {"type": "message", "id": "<client message id>", "text": "..."}
    {"type": "button", "id": "<client message id>", "payload": "human"}
    {"type": "location", "id": "...", "latitude": 39.99, "longitude": 116.47, "label": "..."}
    {"type": "entry", "id": "...", "entry": "enterprise"}    the page's businesses' entry (/?lane=enterprise)
Server → client frames:
    {"type": "welcome", "token": "...", "history": [<message>, ...]}
    {"type": "ack", "id": "<client message id>", "message": <message>}
    {"type": "message", "message": <message>}        a reply, a status update, an operator's words
    {"type": "error", "id": "...", "code": "...", "message": "<what to do, in Chinese>"}

The token is the browser's bearer secret: it is stored hashed (as the channel user id) only.
Several tabs of one browser share a chat; every connected tab receives every message.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bots.errors import MalformedPayloadError
from handoff.messages import ChannelName, Delivery, GeoPoint, InboundMessage

MAX_FRAME_BYTES = 16 * 1024
TOKEN_BYTES = 24

SendFrame = Callable[[dict[str, Any]], Awaitable[None]]


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def chat_id_for(token: str) -> str:
    """The chat (and channel user) id of a browser: a hash, so the database never holds the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:40]


def valid_token(token: object) -> bool:
    return isinstance(token, str) and 20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()


@dataclass(frozen=True)
class ClientFrame:
    type: str
    id: str | None
    body: dict[str, Any]


def read_frame(raw: str | bytes | None) -> ClientFrame:
    """Decode one client frame, refusing binary, oversized and malformed ones."""
    if raw is None or isinstance(raw, bytes):
        raise MalformedPayloadError("只支持文字消息，请不要发送二进制数据。")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise MalformedPayloadError("消息过长，请分段发送。")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise MalformedPayloadError("消息格式有误，请刷新页面后重试。") from exc
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise MalformedPayloadError("消息格式有误，请刷新页面后重试。")
    frame_id = body.get("id")
    if frame_id is not None and (not isinstance(frame_id, str) or not 1 <= len(frame_id) <= 64):
        raise MalformedPayloadError("消息编号无效。")
    return ClientFrame(type=body["type"], id=frame_id, body=body)


class WebChatChannel:
    """Turns frames into `InboundMessage` and pushes deliveries to the chat's open sockets."""

    name: ChannelName = "web"

    def __init__(self) -> None:
        self._sockets: dict[str, set[SendFrame]] = {}

    def to_inbound(self, frame: ClientFrame, *, chat_id: str, received_at: datetime | None = None) -> InboundMessage:
        if frame.id is None:
            raise MalformedPayloadError("消息缺少编号。")
        at = received_at or datetime.now(UTC)
        base = InboundMessage(
            channel=self.name,
            channel_user_id=chat_id,
            chat_id=chat_id,
            platform_msg_id=f"{chat_id[:16]}:{frame.id}",  # client ids are only unique per browser
            received_at=at,
        )
        body = frame.body
        if frame.type == "message":
            text = body.get("text")
            if not isinstance(text, str):
                raise MalformedPayloadError("消息内容应为文字。")
            return replace(base, text=text)
        if frame.type == "button":
            payload = body.get("payload")
            if not isinstance(payload, str) or not 1 <= len(payload) <= 64:
                raise MalformedPayloadError("按钮无效。")
            return replace(base, button=payload)
        if frame.type == "entry":  # the page was opened through an entry such as /?lane=enterprise
            if body.get("entry") != "enterprise":
                raise MalformedPayloadError("未知的入口。")
            return replace(base, event="menu:enterprise")
        if frame.type == "location":
            try:
                point = GeoPoint(float(body["latitude"]), float(body["longitude"]), _label(body.get("label")))
            except (KeyError, TypeError, ValueError) as exc:
                raise MalformedPayloadError("位置格式有误。") from exc
            if not (-90 <= point.latitude <= 90 and -180 <= point.longitude <= 180):
                raise MalformedPayloadError("位置超出范围。")
            return replace(base, location=point)
        raise MalformedPayloadError(f"不支持的消息类型：{frame.type[:20]}")

    # -- live sockets ---------------------------------------------------------------------------

    def connect(self, chat_id: str, send: SendFrame) -> None:
        self._sockets.setdefault(chat_id, set()).add(send)

    def disconnect(self, chat_id: str, send: SendFrame) -> None:
        sockets = self._sockets.get(chat_id)
        if sockets is not None:
            sockets.discard(send)
            if not sockets:
                del self._sockets[chat_id]

    def is_connected(self, chat_id: str) -> bool:
        return bool(self._sockets.get(chat_id))

    async def send(self, delivery: Delivery) -> str | None:
        """Push to every open tab. A closed browser reads it from history on reconnect, so an
        absent socket is not a failure: the message is already stored in the conversation."""
        await self.push(delivery.chat_id, {"type": "message", "message": delivery_frame(delivery)})
        return str(delivery.message_id) if delivery.message_id else None

    async def push(self, chat_id: str, frame: dict[str, Any]) -> None:
        """Send a frame to the chat's tabs connected to this process."""
        for send in list(self._sockets.get(chat_id, ())):
            try:
                await send(frame)
            except Exception:  # a tab that went away; the others still get it
                self.disconnect(chat_id, send)


class WebChatRelay:
    """The web chat as a separate delivery worker sees it (production mode): the citizen's socket
    is held by some web process, so the frame is published for all of them (`api.fanout`)."""

    name: ChannelName = "web"

    def __init__(self, publish: Callable[[dict[str, Any]], Awaitable[int]]) -> None:
        self._publish = publish

    async def send(self, delivery: Delivery) -> str | None:
        frame = {"type": "message", "message": delivery_frame(delivery)}
        await self._publish({"type": "webchat", "chat_id": delivery.chat_id, "frame": frame})
        return str(delivery.message_id) if delivery.message_id else None


def delivery_frame(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": str(delivery.message_id) if delivery.message_id else str(delivery.outbox_id),
        "direction": "out",
        "sender": "operator" if delivery.kind == "operator" else "bot",
        "kind": delivery.kind,
        "text": delivery.reply.text,
        "buttons": [{"label": b.label, "payload": b.payload} for b in delivery.reply.buttons],
        "created_at": datetime.now(UTC).isoformat(),
    }


def _label(value: object) -> str | None:
    return value[:200] if isinstance(value, str) and value else None
