"""The delivery worker: in order per chat, retried with backoff, never sent twice after a success."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from handoff.delivery import DeliveryPolicy, DeliveryWorker, claim_chats, pending_count
from handoff.errors import DeliveryError
from handoff.intake import handle_inbound
from handoff.messages import ChannelName, Delivery
from handoff.models import Message, OutboxEntry, OutboxStatus
from handoff.store import UnitOfWork
from tests.fakes import FakeNlu, RecordingChannel
from tests.handoff.test_intake import DEMO, NOW, inbound


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _worker(uow_factory: Callable[[], UnitOfWork], channel: RecordingChannel, clock: Clock) -> DeliveryWorker:
    return DeliveryWorker(uow_factory, {"web": channel}, DeliveryPolicy(backoff_base=2.0), clock=clock)


def _chat(uow_factory: Callable[[], UnitOfWork], *texts: str, user: str = "u1") -> None:
    nlu = FakeNlu()
    for second, text in enumerate(texts):
        moment = NOW - timedelta(seconds=len(texts) - second)
        handle_inbound(uow_factory(), nlu=nlu, msg=inbound(text, user=user), now=moment)


async def test_replies_go_out_once_in_order(uow_factory) -> None:
    _chat(uow_factory, "你好", "转人工", DEMO)
    channel, clock = RecordingChannel(), Clock(NOW + timedelta(seconds=1))
    worker = _worker(uow_factory, channel, clock)

    assert await worker.deliver_due() == 4
    assert await worker.deliver_due() == 0  # nothing is sent twice
    texts = [d.reply.text for d in channel.sent]
    assert "12345" in texts[0] and "话务员" in texts[1] and "已为您登记工单" in texts[3]
    assert pending_count(uow_factory()) == 0
    with uow_factory() as uow:
        out = uow.session.scalars(select(Message).where(Message.direction == "out")).all()
        assert {m.platform_msg_id for m in out} == {"p-1", "p-2", "p-3", "p-4"}


async def test_a_failed_send_is_retried_with_backoff_and_later_ones_wait(uow_factory) -> None:
    _chat(uow_factory, "你好", "转人工")
    channel, clock = RecordingChannel(), Clock(NOW + timedelta(seconds=1))
    channel.failures = [DeliveryError("timeout"), DeliveryError("502 bad gateway")]
    worker = _worker(uow_factory, channel, clock)

    assert await worker.deliver_due() == 0  # first try fails: the second message must not overtake it
    assert channel.sent == []
    clock.now += timedelta(seconds=1)
    assert await worker.deliver_due() == 0  # backoff not over yet: not even tried
    assert channel.attempts == 1
    clock.now += timedelta(seconds=2)
    assert await worker.deliver_due() == 0  # second failure
    clock.now += timedelta(seconds=5)
    assert await worker.deliver_due() == 3
    assert "12345" in channel.sent[0].reply.text and "话务员" in channel.sent[1].reply.text
    assert channel.sent[0].attempt == 3 and channel.sent[1].attempt == 1
    assert channel.sent[0].idempotency_key == str(channel.sent[0].outbox_id)


async def test_retry_after_from_the_platform_is_obeyed(uow_factory) -> None:
    _chat(uow_factory, "你好")
    channel, clock = RecordingChannel(), Clock(NOW + timedelta(seconds=1))
    channel.failures = [DeliveryError("429 Too Many Requests", retry_after=30)]
    worker = _worker(uow_factory, channel, clock)
    await worker.deliver_due()
    clock.now += timedelta(seconds=29)
    assert await worker.deliver_due() == 0
    clock.now += timedelta(seconds=2)
    assert await worker.deliver_due() == 1


async def test_a_permanent_failure_is_kept_visible_and_does_not_block_the_chat(uow_factory) -> None:
    _chat(uow_factory, "你好", "谢谢")
    channel, clock = RecordingChannel(), Clock(NOW + timedelta(seconds=1))
    channel.failures = [DeliveryError("403 bot was blocked by the user", retryable=False)]
    worker = _worker(uow_factory, channel, clock)
    await worker.deliver_due()
    await worker.deliver_due()
    with uow_factory() as uow:
        entries = uow.session.scalars(select(OutboxEntry).order_by(OutboxEntry.created_at)).all()
        assert [e.status for e in entries] == [OutboxStatus.FAILED, OutboxStatus.SENT]
        assert "blocked" in (entries[0].last_error or "")


async def test_chats_do_not_wait_for_each_other(uow_factory) -> None:
    _chat(uow_factory, "你好", user="a")
    _chat(uow_factory, "你好", user="b")
    channel, clock = RecordingChannel(), Clock(NOW + timedelta(seconds=1))
    channel.failures = [DeliveryError("timeout")]
    worker = _worker(uow_factory, channel, clock)
    assert await worker.deliver_due() == 1  # a's failed, b's went out


async def test_an_entry_left_sending_by_a_dead_worker_is_sent_after_its_lease(uow_factory) -> None:
    _chat(uow_factory, "你好")
    clock = Clock(NOW + timedelta(seconds=1))
    dead = _worker(uow_factory, RecordingChannel(), clock)
    dead._claim()  # claimed, then the process died before sending
    channel = RecordingChannel()
    alive = _worker(uow_factory, channel, clock)
    assert await alive.deliver_due() == 0  # still leased
    clock.now += timedelta(seconds=61)
    assert await alive.deliver_due() == 1
    assert len(channel.sent) == 1


class CountingWorker(DeliveryWorker):
    claims = 0

    def _claim(self):  # type: ignore[no-untyped-def]
        self.claims += 1
        return super()._claim()


async def test_under_a_stream_of_replies_each_pass_carries_many(uow_factory) -> None:
    channel = RecordingChannel()
    worker = CountingWorker(uow_factory, {"web": channel}, DeliveryPolicy(busy_pass_interval=0.2))
    running = asyncio.create_task(worker.run())
    nlu = FakeNlu()
    try:
        for n in range(30):  # three replies every 20 ms for 0.2 s, each waking the worker
            handle_inbound(uow_factory(), nlu=nlu, msg=inbound("你好", user=f"stream-{n}"))
            worker.wake()
            if n % 3 == 2:
                await asyncio.sleep(0.02)
        while pending_count(uow_factory()):
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
    assert sorted(d.chat_id for d in channel.sent) == sorted(f"chat-stream-{n}" for n in range(30))
    assert worker.claims <= 5  # one pass a fifth of a second, not one a reply


class SharedPlatform:
    """One platform behind several workers' channels: every delivery, in the order it went out."""

    name: ChannelName = "web"

    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    async def send(self, delivery: Delivery) -> str | None:
        await asyncio.sleep(0)  # the other worker runs meanwhile
        self.sent.append(delivery)
        return uuid.uuid4().hex


async def test_two_workers_at_once_send_each_entry_once_and_in_order(uow_factory) -> None:
    for n in range(6):
        _chat(uow_factory, "你好", "转人工", user=f"w{n}")
    with uow_factory() as uow:
        entries = uow.session.scalars(select(OutboxEntry).order_by(OutboxEntry.created_at, OutboxEntry.id)).all()
    platform = SharedPlatform()
    policy = DeliveryPolicy(batch_size=4)  # many small claims: more of them overlap
    workers = [DeliveryWorker(uow_factory, {"web": platform}, policy) for _ in range(2)]
    for _ in range(len(entries)):
        if not pending_count(uow_factory()):
            break
        await asyncio.gather(*(worker.deliver_due() for worker in workers))
    assert pending_count(uow_factory()) == 0
    assert sorted(d.outbox_id for d in platform.sent) == sorted(e.id for e in entries)  # each once
    for chat in {e.chat_id for e in entries}:
        assert [d.outbox_id for d in platform.sent if d.chat_id == chat] == [e.id for e in entries if e.chat_id == chat]


async def test_a_chat_another_worker_is_claiming_is_skipped(pg_factory) -> None:
    # Advisory locks are PostgreSQL's; SQLite serialises the claims.
    uow_factory = pg_factory
    _chat(uow_factory, "你好", user="a")
    _chat(uow_factory, "你好", user="b")
    channel, clock = RecordingChannel(), Clock(NOW + timedelta(seconds=1))
    worker = _worker(uow_factory, channel, clock)
    with uow_factory() as other:  # another worker, between taking its chat and committing its leases
        [(_, taken)] = claim_chats(other.session, clock.now, 1)
        assert await worker.deliver_due() == 1
        assert channel.sent[0].chat_id != taken
    assert await worker.deliver_due() == 1  # the lock ended with the other's transaction
    assert channel.sent[1].chat_id == taken
