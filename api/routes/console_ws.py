"""The console's live socket: every change an operator should see, pushed as it commits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.deps import SESSION_COOKIE, same_origin, session_policy
from api.runtime import Runtime
from handoff.access import CENTER_ROLES
from handoff.accounts import authenticate
from handoff.errors import AuthenticationError
from handoff.events import Change
from handoff.models import Operator

router = APIRouter(tags=["console"])


@router.websocket("/ws/console")
async def console_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    if not same_origin(websocket.headers.get("origin"), websocket.headers.get("host")):
        await websocket.close(code=1008)  # another site's page must not listen in
        return
    try:
        operator = await anyio.to_thread.run_sync(_operator, runtime, websocket.cookies.get(SESSION_COOKIE))
    except AuthenticationError:
        await websocket.close(code=1008)
        return
    await websocket.accept()
    lock = asyncio.Lock()

    async def send(frame: dict[str, Any]) -> None:
        async with lock:
            await websocket.send_json(frame)

    listener = await runtime.live.listen(send, _audience(operator))
    await send({"type": "hello", "operator": operator.username})
    try:
        while True:
            frame = await websocket.receive_text()
            if frame == "ping":
                await send({"type": "pong"})
    except WebSocketDisconnect:
        pass
    finally:
        runtime.live.unsubscribe(listener)


def _operator(runtime: Runtime, token: str | None) -> Operator:
    with runtime.new_uow() as uow:
        operator, _ = authenticate(uow.session, token=token, now=datetime.now(UTC), policy=session_policy(runtime))
        uow.commit()
        return operator


def _audience(operator: Operator) -> Any:
    if operator.role in CENTER_ROLES:
        return lambda change: True

    def hears(change: Change) -> bool:  # a unit handler: their own unit's business only
        return change.kind in ("assignment", "ticket") and change.unit_id == operator.unit_id

    return hears
