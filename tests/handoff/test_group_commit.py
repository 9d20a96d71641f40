"""Group commit: who waits goes in the next group, and everyone hears their own outcome."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError

from handoff.errors import InvalidMessageError
from handoff.group_commit import GroupCommit, in_worker_thread
from handoff.intake import Submission
from handoff.messages import InboundMessage, InboundResult


def message(n: int) -> InboundMessage:
    return InboundMessage(channel="web", channel_user_id=f"u{n}", chat_id=f"c{n}", platform_msg_id=f"m{n}",
                          received_at=datetime.now(UTC), text=f"消息{n}")


def result_for(submission: Submission) -> InboundResult:
    return InboundResult(message_id=uuid.uuid4(), conversation_id=uuid.uuid4(), replies=(), outbox_ids=(),
                         ticket_number=submission.msg.platform_msg_id)


async def test_messages_that_arrive_during_a_batch_are_written_together_next() -> None:
    batches: list[list[str]] = []
    first_started, release = threading.Event(), threading.Event()

    def handle(submissions: Sequence[Submission]) -> list[InboundResult]:
        batches.append([s.msg.platform_msg_id for s in submissions])
        if len(batches) == 1:
            first_started.set()
            release.wait(5)
        return [result_for(s) for s in submissions]

    batcher = GroupCommit(in_worker_thread(handle), max_group=3, name="test")
    first = asyncio.create_task(batcher.submit(Submission(message(0))))
    await asyncio.to_thread(first_started.wait, 5)
    later = [asyncio.create_task(batcher.submit(Submission(message(n)))) for n in range(1, 6)]
    await asyncio.sleep(0.05)
    release.set()
    results = await asyncio.gather(first, *later)

    assert batches == [["m0"], ["m1", "m2", "m3"], ["m4", "m5"]]  # no more than max_batch at a time
    assert [r.ticket_number for r in results] == [f"m{n}" for n in range(6)]  # each hears its own


async def test_a_refused_message_and_a_dead_database_reach_the_webhooks_that_wait() -> None:
    def refuse_one(submissions: Sequence[Submission]) -> list[InboundResult | Exception]:
        return [InvalidMessageError("消息过长") if s.msg.platform_msg_id == "m1" else result_for(s) for s in submissions]

    batcher = GroupCommit(in_worker_thread(refuse_one), name="test")
    ok, refused = await asyncio.gather(batcher.submit(Submission(message(0))), batcher.submit(Submission(message(1))), return_exceptions=True)
    assert isinstance(ok, InboundResult) and isinstance(refused, InvalidMessageError)

    def database_down(submissions: Sequence[Submission]) -> list[InboundResult]:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    down = GroupCommit(in_worker_thread(database_down), name="test")
    outcomes = await asyncio.gather(*(down.submit(Submission(message(n))) for n in range(3)), return_exceptions=True)
    assert all(isinstance(o, OperationalError) for o in outcomes)  # each webhook answers 503; none hangs
    with pytest.raises(OperationalError):
        await down.submit(Submission(message(9)))  # and the next message is tried again, not refused for ever
