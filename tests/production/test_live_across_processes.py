"""Two web processes and a delivery worker on one PostgreSQL and one Redis: a citizen's webhook on
process A reaches the operator's console socket on process B at once, and the reply goes out once."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from websockets.asyncio.client import connect

from bench.citizens import SECRET_HEADER, telegram_update
from bench.cluster import Cluster
from handoff.accounts import create_operator
from handoff.models import Role
from tests.bots.platforms import FakeTelegram
from tests.production.conftest import TELEGRAM_SECRET

pytestmark = pytest.mark.postgres
PASSWORD = "a long enough password 1"


async def _wait_for(condition, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_webhook_on_process_a_reaches_the_console_on_process_b(
    cluster: Cluster, pg_engine: Engine, fake_telegram: FakeTelegram
) -> None:
    a, b, worker = cluster.web(), cluster.web(), cluster.delivery()
    for process in (a, b, worker):
        process.wait_ready()
    with Session(pg_engine) as session:
        create_operator(session, username="op-b", display_name="话务员", password=PASSWORD, role=Role.OPERATOR,
                        now=datetime.now(UTC))
        session.commit()
    async with httpx.AsyncClient(base_url=b.url) as http:
        login = await http.post("/api/login", json={"username": "op-b", "password": PASSWORD})
        assert login.status_code == 200
        cookie = login.headers["set-cookie"].split(";", 1)[0]
    async with connect(b.url.replace("http", "ws") + "/ws/console", additional_headers={"Cookie": cookie}) as console:
        assert json.loads(await console.recv())["type"] == "hello"
        update = telegram_update(1)
        async with httpx.AsyncClient() as http:
            posted = time.monotonic()
            response = await http.post(a.url + "/telegram/webhook", json=update, headers={SECRET_HEADER: TELEGRAM_SECRET})
        assert response.status_code == 200
        seen = None
        while seen is None:
            frame = json.loads(await asyncio.wait_for(console.recv(), timeout=5))
            for change in frame.get("changes", []):
                if change["kind"] == "message" and change["data"]["direction"] == "in":
                    seen = time.monotonic() - posted
                    assert "垃圾" in change["data"]["text"]
        assert seen < 1.0, f"the console on B heard of it after {seen:.3f} s"
    await _wait_for(lambda: len(fake_telegram.sent()) >= 1, timeout=10)
    await asyncio.sleep(0.5)
    assert len(fake_telegram.sent()) == 1
    assert "工单" in fake_telegram.sent()[0].params["text"]
