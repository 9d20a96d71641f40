"""The web chat's WebSocket: frames in, the conversation engine, acks and pushed messages out."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import OperationalError

from api.limits import TOO_FAST
from api.runtime import Runtime
from bots.errors import MalformedPayloadError
from bots.web import ClientFrame, chat_id_for, new_token, read_frame, valid_token
from handoff.errors import InvalidMessageError
from handoff.history import HistoryItem, chat_history
from handoff.messages import InboundResult

router = APIRouter(tags=["web chat"])
log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0
HISTORY_LIMIT = 200


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    lock = asyncio.Lock()

    async def send(frame: dict[str, Any]) -> None:
        async with lock:  # the delivery worker and this handler both write to the socket
            await websocket.send_json(frame)

    try:
        token = await _hello(websocket)
    except (TimeoutError, MalformedPayloadError) as exc:
        await send({"type": "error", "code": "bad_hello", "message": str(exc) or "连接超时，请刷新页面。"})
        await websocket.close(code=1008)
        return
    except WebSocketDisconnect:
        return
    chat_id = chat_id_for(token)
    history = await anyio.to_thread.run_sync(_history, runtime, chat_id)
    await send({"type": "welcome", "token": token, "history": [_item_frame(i) for i in history]})
    runtime.web.connect(chat_id, send)
    try:
        while True:
            event = await websocket.receive()
            if event["type"] == "websocket.disconnect":
                break
            raw = event.get("text") if event.get("text") is not None else event.get("bytes")
            reply = await _handle_frame(runtime, chat_id, raw, address=websocket.client.host if websocket.client else None)
            if reply is not None:
                await send(reply)
    except WebSocketDisconnect:
        pass
    finally:
        runtime.web.disconnect(chat_id, send)


async def _hello(websocket: WebSocket) -> str:
    with anyio.fail_after(HELLO_TIMEOUT):
        raw = await websocket.receive_text()
    frame = read_frame(raw)
    if frame.type != "hello":
        raise MalformedPayloadError("请先发送 hello。")
    token = frame.body.get("token")
    return token if valid_token(token) else new_token()  # type: ignore[return-value]


async def _handle_frame(
    runtime: Runtime, chat_id: str, raw: str | bytes | None, *, address: str | None
) -> dict[str, Any] | None:
    frame: ClientFrame | None = None
    try:
        frame = read_frame(raw)
        if frame.type == "ping":
            return {"type": "pong"}
        inbound = runtime.web.to_inbound(frame, chat_id=chat_id)
        if not (await runtime.limits.allow_ip(address) and await runtime.limits.allow_citizen("web", chat_id)):
            return {"type": "error", "id": frame.id, "code": "rate_limited", "message": TOO_FAST}
        result: InboundResult = await runtime.receive(inbound)
    except (MalformedPayloadError, InvalidMessageError) as exc:
        return {"type": "error", "id": frame.id if frame else None, "code": "invalid_message", "message": str(exc)}
    except OperationalError:
        log.exception("database unavailable while handling a web chat message")
        return {
            "type": "error",
            "id": frame.id if frame else None,
            "code": "unavailable",
            "message": "系统暂时繁忙，消息未能送达，请稍后重发。",
        }
    return {
        "type": "ack",
        "id": frame.id,
        "duplicate": result.duplicate,
        "ticket_number": result.ticket_number,
        "message_id": str(result.message_id) if result.message_id else None,
    }


def _history(runtime: Runtime, chat_id: str) -> list[HistoryItem]:
    with runtime.new_uow() as uow:
        return chat_history(uow.session, channel="web", channel_user_id=chat_id, limit=HISTORY_LIMIT)


def _item_frame(item: HistoryItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "direction": item.direction,
        "sender": item.sender,
        "text": item.text,
        "buttons": list(item.buttons),
        "created_at": item.created_at.isoformat(),
    }
