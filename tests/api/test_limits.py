"""Per-citizen and per-address limits: a polite reply on the citizen's channel, nothing stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import func, select
from websockets.asyncio.client import connect

from api.config import Settings
from api.limits import TOO_FAST, InboundLimits
from bench.citizens import SECRET_HEADER, telegram_update
from handoff.models import Direction, Message
from tests.bots.platforms import TELEGRAM_TOKEN, FakeTelegram
from tests.conftest import IN_CI, LiveServer
from tests.fakes import FakeNlu

SECRET = "limits-secret"


async def test_a_fixed_window_a_minute_counted_in_the_process() -> None:
    now = [600.0]
    limits = InboundLimits(per_citizen=2, per_ip=0, clock=lambda: now[0])
    assert [await limits.allow_citizen("telegram", "1") for _ in range(3)] == [True, True, False]
    assert await limits.allow_citizen("telegram", "2")  # another citizen has a count of their own
    assert await limits.allow_ip("10.0.0.1")  # 0 turns a limit off
    now[0] += 60
    assert await limits.allow_citizen("telegram", "1")


@pytest.fixture
async def shared_redis() -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        await client.ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis is required under CI=true: {exc}")
        pytest.skip(f"Redis unavailable: {exc}")
    yield client
    await client.aclose()


async def test_with_redis_every_process_shares_the_count(shared_redis: redis.asyncio.Redis) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    first, second = (InboundLimits(per_citizen=0, per_ip=3, redis=shared_redis, namespace=namespace) for _ in range(2))
    answers = [await limits.allow_ip("10.0.0.9") for limits in (first, second, first, second)]
    assert answers == [True, True, True, False]


async def test_a_burst_of_citizens_at_once_is_counted_exactly_through_shared_round_trips(
    shared_redis: redis.asyncio.Redis,
) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    limits = InboundLimits(per_citizen=5, per_ip=0, redis=shared_redis, namespace=namespace)
    commands = 0
    original = shared_redis.pipeline

    def counting_pipeline(*args: Any, **kwargs: Any) -> Any:
        nonlocal commands
        commands += 1
        return original(*args, **kwargs)

    shared_redis.pipeline = counting_pipeline  # type: ignore[method-assign]
    # 40 citizens write 8 messages each, all at once: the 6th to 8th of each are refused.
    answers = await asyncio.gather(*(limits.allow_citizen("telegram", str(n % 40)) for n in range(320)))
    assert answers.count(True) == 200 and answers.count(False) == 120
    assert commands < 20, f"{commands} round trips for 320 messages"


async def test_while_redis_is_away_each_process_counts_for_itself() -> None:
    client = redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)  # nobody listens there
    limits = InboundLimits(per_citizen=2, per_ip=0, redis=client)
    answers = await asyncio.gather(*(limits.allow_citizen("telegram", "1") for _ in range(3)))
    await client.aclose()
    assert sorted(answers) == [False, True, True]


@pytest.fixture
def server(db_url: str, tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, data_dir=tmp_path, auto_migrate=False, rate_per_citizen=2, rate_per_ip=3,
        telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=SECRET, telegram_api_url=fake_telegram.url,
        max_body_bytes=64 * 1024,
    )
    with LiveServer(settings, FakeNlu()) as live:
        yield live


def _stored(server: LiveServer) -> int:
    with server.app.state.runtime.new_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Message).where(Message.direction == Direction.IN)))


def test_a_citizen_writing_too_fast_is_answered_politely_and_not_stored(server: LiveServer) -> None:
    answers = []
    for n in range(3):
        update: dict[str, Any] = telegram_update(n)
        update["message"]["from"]["id"] = update["message"]["chat"]["id"] = 4242  # one citizen
        response = httpx.post(f"{server.url}/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200
        answers.append(response.json())
    assert answers[2] == {"method": "sendMessage", "chat_id": "4242", "text": TOO_FAST}
    assert _stored(server) == 2


async def test_the_web_chat_is_limited_per_address(server: LiveServer) -> None:
    async with connect(server.ws_url) as socket:
        await socket.send(json.dumps({"type": "hello"}))
        assert json.loads(await socket.recv())["type"] == "welcome"
        frames = []
        for n in range(4):
            await socket.send(json.dumps({"type": "message", "id": f"m{n}", "text": f"你好 {n}"}))
            while (frame := json.loads(await socket.recv()))["type"] not in ("ack", "error"):
                pass
            frames.append(frame)
    assert [f["type"] for f in frames] == ["ack", "ack", "error", "error"]
    assert frames[2]["code"] == "rate_limited" and frames[2]["message"] == TOO_FAST


def test_a_body_over_the_limit_gets_413_before_it_is_read(server: LiveServer) -> None:
    big = b"x" * (65 * 1024)
    response = httpx.post(f"{server.url}/telegram/webhook", content=big, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(65):
            yield b"x" * 1024

    response = httpx.post(f"{server.url}/telegram/webhook", content=chunks(), headers={SECRET_HEADER: SECRET})
    assert response.status_code == 413
