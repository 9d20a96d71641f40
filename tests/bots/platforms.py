"""Local stand-ins for the Telegram Bot API and the WeChat API: real HTTP on 127.0.0.1, the
platforms' real JSON, recording what they receive, failing on demand (429, 500, timeouts,
WeChat errcodes). The real client libraries talk to them through their configurable base URLs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import uvicorn
from sqlalchemy import Engine, delete
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handoff.models import SharedCredential
from tests.conftest import free_port

BOT_ID = 7000001


class ThreadedServer:
    """A Starlette app served by uvicorn in a thread, like `LiveServer`."""

    def __init__(self, app: Starlette) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake platform did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeTelegram(ThreadedServer):
    """The Bot API at /bot<token>/<method>. `fail(kind, times)` makes the next calls to
    sendMessage fail with "429", "500" or "timeout"."""

    def __init__(self, token: str, *, hang_seconds: float = 3.0) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.failures: deque[str] = deque()
        self.updates: deque[dict[str, Any]] = deque()
        self.hang_seconds = hang_seconds
        self.delay = 0.0  # seconds each sendMessage takes before it is accepted
        self.holding = False  # while true, sendMessage calls wait (and are not accepted)
        self.held = 0  # sendMessage calls waiting now
        self.failures_met = 0  # injected failures answered so far
        self._ids = itertools.count(100)
        super().__init__(Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]))

    def fail(self, kind: str, times: int = 1) -> None:
        self.failures.extend([kind] * times)

    def sent(self) -> list[Call]:
        return [c for c in self.calls if c.method == "sendMessage"]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def _endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _tg_error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await _params(request)
        if method == "sendMessage" and (self.delay or self.holding):
            self.held += 1
            try:
                await asyncio.sleep(self.delay)
                while self.holding and not await request.is_disconnected():
                    await asyncio.sleep(0.02)
                if await request.is_disconnected():  # the sender died before we took it: not sent
                    return _tg_error(499, "Client Closed Request")
            finally:
                self.held -= 1
        if method == "sendMessage" and self.failures:
            kind = self.failures.popleft()
            self.failures_met += 1
            if kind == "429":
                return JSONResponse(
                    {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                     "parameters": {"retry_after": 1}},
                    status_code=429,
                )
            if kind == "500":
                return _tg_error(500, "Internal Server Error")
            if kind == "403":
                return _tg_error(403, "Forbidden: bot was blocked by the user")
            if kind == "timeout":  # the message is lost: the client gives up before we answer
                await asyncio.sleep(self.hang_seconds)
                return _tg_error(504, "Gateway Timeout")
        if method == "sendMessage" and len(str(params.get("text", "")).encode("utf-16-le")) // 2 > 4096:
            return _tg_error(400, "Bad Request: message is too long")
        self.calls.append(Call(method, params))
        return JSONResponse({"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Hotline", "username": "hotline_test_bot",
                    "can_join_groups": False, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            return {"message_id": next(self._ids), "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"}, "text": params.get("text", ""),
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Hotline"}}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            batch = [u for u in self.updates if u["update_id"] >= offset]
            self.updates = deque(u for u in self.updates if u["update_id"] >= offset)
            return batch
        return True  # answerCallbackQuery, setWebhook, deleteWebhook


def _tg_error(status: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": status, "description": description}, status_code=status)


async def _params(request: Request) -> dict[str, Any]:
    """Bot API parameters: JSON body, form fields (values that are JSON decoded), or the query."""
    params: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        params.update(json.loads(await request.body() or b"{}"))
    elif request.method == "POST":  # python-telegram-bot posts url-encoded fields
        for key, text in parse_qsl((await request.body()).decode()):
            try:
                params[key] = json.loads(text) if text[:1] in "[{" else text
            except ValueError:
                params[key] = text
    return params


class FakeWeChat(ThreadedServer):
    """The WeChat API under /cgi-bin: token, customer-service and template messages.

    Tokens are TOKEN-1, TOKEN-2, …; `expire_token()` makes the current one answer 42001.
    `fail(kind)` makes the next message call fail: "500", "timeout", or an errcode as a string.
    """

    def __init__(self, app_id: str, secret: str, *, hang_seconds: float = 3.0) -> None:
        self.app_id, self.secret = app_id, secret
        self.token_fetches = 0
        self.valid_token: str | None = None
        self.calls: list[Call] = []
        self.failures: deque[str] = deque()
        self.hang_seconds = hang_seconds
        self._msgids = itertools.count(5000)
        super().__init__(
            Starlette(
                routes=[
                    Route("/cgi-bin/token", self._token, methods=["GET"]),
                    Route("/cgi-bin/message/custom/send", self._custom, methods=["POST"]),
                    Route("/cgi-bin/message/template/send", self._template, methods=["POST"]),
                ]
            )
        )

    def fail(self, kind: str, times: int = 1) -> None:
        self.failures.extend([kind] * times)

    def expire_token(self) -> None:
        self.valid_token = None

    def custom_messages(self) -> list[Call]:
        return [c for c in self.calls if c.method == "custom"]

    def templates(self) -> list[Call]:
        return [c for c in self.calls if c.method == "template"]

    async def _token(self, request: Request) -> Response:
        q = request.query_params
        if q.get("appid") != self.app_id or q.get("secret") != self.secret:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.token_fetches += 1
        self.valid_token = f"TOKEN-{self.token_fetches}"
        return JSONResponse({"access_token": self.valid_token, "expires_in": 7200})

    async def _custom(self, request: Request) -> Response:
        return await self._message(request, "custom")

    async def _template(self, request: Request) -> Response:
        return await self._message(request, "template")

    async def _message(self, request: Request, kind: str) -> Response:
        token = request.query_params.get("access_token")
        if token != self.valid_token:
            return JSONResponse({"errcode": 42001 if token else 41001, "errmsg": "access_token expired"})
        if self.failures:
            failure = self.failures.popleft()
            if failure == "500":
                return Response("busy", status_code=500)
            if failure == "timeout":
                await asyncio.sleep(self.hang_seconds)
                return Response("late", status_code=504)
            return JSONResponse({"errcode": int(failure), "errmsg": f"injected {failure}"})
        body = json.loads(await request.body())
        if kind == "custom" and len(str(body.get("text", {}).get("content", "")).encode()) > 2048:
            return JSONResponse({"errcode": 45002, "errmsg": "content size out of limit"})
        self.calls.append(Call(kind, body))
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        if kind == "template":
            answer["msgid"] = next(self._msgids)
        return JSONResponse(answer)


# -- fixtures ------------------------------------------------------------------------------------


FIXTURES = Path(__file__).parent / "fixtures"
TELEGRAM_TOKEN = "123456:TEST-token-for-the-fake-api"
WECHAT_APP_ID = "wx5f1e0c8d2a3b4c5d"
WECHAT_SECRET = "test-app-secret"


def telegram_fixture(name: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "telegram" / f"{name}.json").read_text())
    data.update(overrides)
    return data


def wechat_fixture(name: str) -> str:
    return (FIXTURES / "wechat" / f"{name}.xml").read_text()


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TELEGRAM_TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_wechat(engine: Engine) -> Iterator[FakeWeChat]:
    server = FakeWeChat(WECHAT_APP_ID, WECHAT_SECRET)
    server.start()
    yield server
    server.stop()
    with engine.begin() as connection:  # the shared token outlives the test's other tables
        connection.execute(delete(SharedCredential))
