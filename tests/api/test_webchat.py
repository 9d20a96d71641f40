"""The web chat end to end: a real uvicorn server, a real WebSocket client, the real NLU, both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from handoff.models import Message, TicketStatus
from handoff.tickets import Actor, advance_ticket, find_ticket
from tests.conftest import LiveServer

DEMO = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"


class Client:
    """A browser tab, reduced to its frames."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.token = ""
        self.history: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, server: LiveServer, token: str | None = None) -> Client:
        client = cls(await websockets.connect(server.ws_url))
        await client.socket.send(json.dumps({"type": "hello", "token": token}))
        welcome = await client.next_frame()
        assert welcome["type"] == "welcome"
        client.token, client.history = welcome["token"], welcome["history"]
        return client

    async def next_frame(self, timeout: float = 10) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def frames_until(self, predicate: Any, timeout: float = 10) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while not seen or not predicate(seen[-1]):
                seen.append(await self.next_frame(timeout))
        return seen

    async def say(self, text: str, frame_id: str) -> None:
        await self.socket.send(json.dumps({"type": "message", "id": frame_id, "text": text}))

    async def close(self) -> None:
        await self.socket.close()


def _message_with(fragment: str) -> Any:
    return lambda f: f["type"] == "message" and fragment in f["message"]["text"]


def _stored_messages(server: LiveServer) -> int:
    with server.app.state.runtime.new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Message)) or 0


async def test_a_citizen_writes_and_gets_a_ticket_number(live_server: LiveServer) -> None:
    client = await Client.connect(live_server)
    await client.say(DEMO, "m1")
    frames = await client.frames_until(_message_with("工单"))
    ack = next(f for f in frames if f["type"] == "ack")
    assert ack["id"] == "m1" and ack["ticket_number"]
    reply = frames[-1]["message"]["text"]
    assert ack["ticket_number"] in reply
    assert "朝阳区" in reply and "望京街道" in reply and "城乡建设" in reply
    await client.close()


async def test_reconnecting_shows_the_history(live_server: LiveServer) -> None:
    client = await Client.connect(live_server)
    assert client.history == []
    await client.say(DEMO, "m1")
    await client.frames_until(_message_with("工单"))
    await client.close()

    again = await Client.connect(live_server, token=client.token)
    assert [m["direction"] for m in again.history] == ["in", "out"]
    assert again.history[0]["text"] == DEMO and "工单" in again.history[1]["text"]
    await again.close()

    stranger = await Client.connect(live_server)  # another browser sees nothing of it
    assert stranger.history == [] and stranger.token != client.token
    await stranger.close()


async def test_status_updates_are_pushed_to_the_open_chat(live_server: LiveServer) -> None:
    client = await Client.connect(live_server)
    await client.say(DEMO, "m1")
    frames = await client.frames_until(_message_with("工单"))
    number = next(f for f in frames if f["type"] == "ack")["ticket_number"]

    runtime = live_server.app.state.runtime

    def dispatch() -> None:
        with runtime.new_uow() as uow:
            ticket = find_ticket(uow.session, number)
            advance_ticket(
                uow.session, ticket=ticket, to_status=TicketStatus.DISPATCHED, actor=Actor("operator", "op"),
                now=datetime.now(UTC), note="已派至望京街道办理",
            )
            uow.commit()

    await asyncio.to_thread(dispatch)
    pushed = (await client.frames_until(_message_with("已派单")))[-1]["message"]
    assert number in pushed["text"] and "已派至望京街道办理" in pushed["text"]
    assert pushed["kind"] == "status"
    await client.close()


async def test_asking_for_status_in_plain_words(live_server: LiveServer) -> None:
    client = await Client.connect(live_server)
    await client.say(DEMO, "m1")
    frames = await client.frames_until(_message_with("工单"))
    number = next(f for f in frames if f["type"] == "ack")["ticket_number"]
    await client.say("我的工单怎么样了", "m2")
    status = (await client.frames_until(_message_with("已受理")))[-1]["message"]["text"]
    assert number in status
    await client.close()


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"\x00\x01binary", "二进制"),
        ("{not json", "格式"),
        (json.dumps({"type": "message", "id": "e1", "text": ""}), "为空"),
        (json.dumps({"type": "message", "id": "e2", "text": "   "}), "为空"),
        (json.dumps({"type": "message", "id": "e3", "text": "好" * 2001}), "过长"),
        (json.dumps({"type": "message", "id": "e4", "text": 42}), "文字"),
        (json.dumps({"type": "video", "id": "e5"}), "不支持"),
        (json.dumps({"type": "message", "text": "没有编号"}), "编号"),
    ],
    ids=["binary", "malformed", "empty", "whitespace", "over-long", "not-text", "unknown-type", "no-id"],
)
async def test_bad_frames_get_a_clear_error_and_store_nothing(live_server: LiveServer, frame: Any, expected: str) -> None:
    client = await Client.connect(live_server)
    await client.socket.send(frame)
    error = await client.next_frame()
    assert error["type"] == "error" and expected in error["message"]
    assert _stored_messages(live_server) == 0
    await client.say("你好", "after")  # the connection is still usable
    frames = await client.frames_until(lambda f: f["type"] == "ack")
    assert frames[-1]["id"] == "after"
    await client.close()


async def test_the_same_frame_sent_twice_makes_one_message_and_one_reply(live_server: LiveServer) -> None:
    client = await Client.connect(live_server)
    await client.say(DEMO, "same")
    await client.frames_until(_message_with("工单"))
    await client.say(DEMO, "same")  # the browser resends after a reconnect
    ack = (await client.frames_until(lambda f: f["type"] == "ack"))[-1]
    assert ack["duplicate"] is True
    await client.close()
    again = await Client.connect(live_server, token=client.token)
    assert [m["direction"] for m in again.history] == ["in", "out"]
    await again.close()


async def test_a_socket_that_never_says_hello_is_refused(live_server: LiveServer) -> None:
    async with websockets.connect(live_server.ws_url) as socket:
        await socket.send(json.dumps({"type": "message", "id": "x", "text": "你好"}))
        error = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert error["type"] == "error" and error["code"] == "bad_hello"
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 5)


async def test_the_page_and_health_endpoints(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        page = await http.get("/")
        assert page.status_code == 200 and "12345" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert (await http.get("/static/chat.js")).status_code == 200
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = (await http.get("/readyz")).json()
        assert ready["status"] == "ready" and ready["database"] == "ok"


async def test_a_location_sent_from_the_browser_answers_where(live_server: LiveServer) -> None:
    client = await Client.connect(live_server)
    await client.say("楼下垃圾堆了三天没人清理", "m1")
    await client.frames_until(_message_with("位置"))
    await client.socket.send(json.dumps({"type": "location", "id": "m2", "latitude": 39.9965, "longitude": 116.4702}))
    frames = await client.frames_until(_message_with("工单"))
    assert next(f for f in frames if f["type"] == "ack")["ticket_number"]
    await client.socket.send(json.dumps({"type": "location", "id": "m3", "latitude": 120, "longitude": 0}))
    assert "超出范围" in (await client.frames_until(lambda f: f["type"] == "error"))[-1]["message"]
    await client.close()
