"""Faults under load, each ending with the same audit: every message a platform saw accepted (200)
is stored once, has its ticket and its reply, the outbox is empty, and the fake platform received
each reply exactly once.

The PostgreSQL and Redis restarts happen to private servers started for the test, so other test
runs on the machine are not disturbed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bench.citizens import Platform, Posted, audit, sent_entries, wait_delivered
from bench.cluster import Cluster
from handoff.store import make_engine
from tests.bots.platforms import FakeTelegram
from tests.production.conftest import TELEGRAM_SECRET, PrivatePostgres, PrivateRedis, cluster_env

pytestmark = [pytest.mark.postgres, pytest.mark.fault]


async def _post(urls: Sequence[str], count: int, *, rate: float = 100.0, concurrency: int = 32) -> list[Posted]:
    """`count` citizens' messages at `rate` a second, so that a fault lands in the middle of the load."""
    platform = Platform(urls, concurrency=concurrency, give_up_after=90)

    async def one(n: int) -> Posted:
        await asyncio.sleep(n / rate)
        return await platform.telegram(n, secret=TELEGRAM_SECRET)

    try:
        return list(await asyncio.gather(*(one(n) for n in range(count))))
    finally:
        await platform.aclose()


async def _until(condition, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _assert_nothing_lost(engine: Engine, posted: Sequence[Posted], telegram: FakeTelegram) -> None:
    accepted = [p for p in posted if p.accepted_at is not None]
    assert len(accepted) == len(posted), "a platform gave up on a message"
    await wait_delivered(engine, timeout=60)
    result = audit(engine, accepted)
    assert (result.stored, result.with_ticket, result.with_reply) == (len(accepted),) * 3, result
    assert (result.undelivered, result.failed) == (0, 0), result
    sent = [(c.params["chat_id"], c.params["text"]) for c in telegram.sent()]
    twice = [key for key, times in Counter(sent).items() if times > 1]
    assert not twice, f"sent twice: {twice[:3]}"
    assert len(sent) == sent_entries(engine, "telegram")
    assert {str(chat) for chat, _ in sent} >= {p.chat_id for p in accepted}
    statuses = Counter(status for p in posted for status in p.statuses[:-1])
    print(  # the figures in the README (run with -s)
        f"\n{len(accepted)} accepted, platform retries {sum(statuses.values())} "
        f"(503: {statuses[503]}, connection errors: {statuses[0]}), all stored with ticket and reply; "
        f"{len(sent)} sends, 0 twice; injected failures met: {telegram.failures_met}"
    )


async def test_a_web_process_killed_mid_load(cluster: Cluster, pg_engine: Engine, fake_telegram: FakeTelegram) -> None:
    a, b, worker = cluster.web(), cluster.web(), cluster.delivery()
    for process in (a, b, worker):
        process.wait_ready()
    load = asyncio.create_task(_post([a.url, b.url], 300))
    await _until(lambda: len(fake_telegram.sent()) >= 40, timeout=30)
    a.kill()
    posted = await load
    await _assert_nothing_lost(pg_engine, posted, fake_telegram)


async def test_a_delivery_worker_killed_mid_send(
    cluster: Cluster, pg_engine: Engine, fake_telegram: FakeTelegram
) -> None:
    web, first = cluster.web(), cluster.delivery()
    web.wait_ready()
    first.wait_ready()
    load = asyncio.create_task(_post([web.url], 150))
    await _until(lambda: len(fake_telegram.sent()) >= 20, timeout=30)
    # From now on the platform holds every send: the worker dies with sends in flight that the
    # platform has not accepted. (Killed after the platform accepted a message and before its
    # commit, the worker would send that one again: the documented window, milliseconds wide.)
    fake_telegram.holding = True
    posted = await load
    await _until(
        lambda: fake_telegram.held >= 1 and sent_entries(pg_engine, "telegram") == len(fake_telegram.sent()),
        timeout=30,
    )
    first.kill()
    fake_telegram.holding = False
    assert len(fake_telegram.sent()) < 150
    cluster.delivery().wait_ready()  # takes over the dead worker's chats when their lease runs out
    await _assert_nothing_lost(pg_engine, posted, fake_telegram)


async def test_postgresql_restarted_mid_load(
    private_postgres: PrivatePostgres, fake_telegram: FakeTelegram, redis_url: str, tmp_path: Path
) -> None:
    cluster = Cluster(cluster_env(private_postgres.url, redis_url, fake_telegram), tmp_path)
    engine = make_engine(private_postgres.url)
    try:
        web, worker = cluster.web(), cluster.delivery()
        web.wait_ready()
        worker.wait_ready()
        load = asyncio.create_task(_post([web.url], 300))
        await _until(lambda: len(fake_telegram.sent()) >= 20, timeout=30)
        await asyncio.to_thread(private_postgres.stop)
        await asyncio.sleep(1.0)  # webhooks answer 503 meanwhile; the platform retries
        await asyncio.to_thread(private_postgres.start)
        posted = await load
        assert any(503 in p.statuses for p in posted), "no webhook saw the outage"
        await _assert_nothing_lost(engine, posted, fake_telegram)
    finally:
        cluster.stop()
        engine.dispose()


async def test_redis_restarted_mid_load(
    pg_url: str, pg_engine: Engine, fake_telegram: FakeTelegram, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    cluster = Cluster(cluster_env(pg_url, private_redis.url, fake_telegram), tmp_path)
    try:
        web, worker = cluster.web(), cluster.delivery()
        web.wait_ready()
        worker.wait_ready()
        load = asyncio.create_task(_post([web.url], 300))
        await _until(lambda: len(fake_telegram.sent()) >= 20, timeout=30)
        private_redis.stop()
        await asyncio.sleep(1.0)
        private_redis.start()
        posted = await load
        await _assert_nothing_lost(pg_engine, posted, fake_telegram)
    finally:
        cluster.stop()


async def test_telegram_answering_429_and_500_for_a_while(
    cluster: Cluster, pg_engine: Engine, fake_telegram: FakeTelegram
) -> None:
    web, worker = cluster.web(), cluster.delivery()
    web.wait_ready()
    worker.wait_ready()
    fake_telegram.fail("429", 30)
    fake_telegram.fail("500", 30)
    posted = await _post([web.url], 120, rate=200)
    await _assert_nothing_lost(pg_engine, posted, fake_telegram)
    assert not fake_telegram.failures  # every injected failure was met, and retried past
