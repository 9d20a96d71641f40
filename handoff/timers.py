"""Jobs that run on a clock rather than on a message: `hotline serve` runs them every minute in
the embedded mode, `hotline worker timers` in production (`api.jobs` lists them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import delete, select, update

from handoff.models import Conversation, ConversationState, OutboxEntry, OutboxStatus
from handoff.store import UnitOfWork

log = logging.getLogger(__name__)

Job = Callable[[UnitOfWork, datetime], int]


def close_idle_conversations(idle: timedelta) -> Job:
    """A chat left with the bot for `idle` ends; its unfinished draft goes with it.

    Chats waiting for or held by an operator are never closed by the clock.
    """

    def job(uow: UnitOfWork, now: datetime) -> int:
        with uow:
            result = uow.session.execute(
                update(Conversation)
                .where(Conversation.state == ConversationState.BOT, Conversation.updated_at < now - idle)
                .values(state=ConversationState.CLOSED, closed_at=now, draft=None)
            )
            uow.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    job.__name__ = "close_idle_conversations"
    return job


def purge_sent_outbox(keep: timedelta, *, chunk: int = 5000, most: int = 200_000) -> Job:
    """Delivered outbox entries older than `keep` go; the failed ones stay for operators to see.

    The outbox is a queue: once an entry is sent the message's row keeps what was said, and an
    outbox that kept every entry ever sent would grow by a burst's every reply, each claim
    wading through more of it. Deleted `chunk` at a time, each chunk its own short transaction
    (no long lock, little WAL at once), at most `most` a run."""

    def job(uow: UnitOfWork, now: datetime) -> int:
        before, deleted = now - keep, 0
        # An entry sent before `before` was due before it: the status index's range finds them.
        oldest = (
            select(OutboxEntry.id)
            .where(OutboxEntry.status == OutboxStatus.SENT, OutboxEntry.next_attempt_at < before, OutboxEntry.sent_at < before)
            .limit(chunk)
        )
        with uow:
            while deleted < most:
                result = uow.session.execute(
                    delete(OutboxEntry).where(OutboxEntry.id.in_(oldest.scalar_subquery())).execution_options(
                        synchronize_session=False)
                )
                uow.commit()
                count = int(result.rowcount or 0)  # type: ignore[attr-defined]
                deleted += count
                if count < chunk:
                    break
        return deleted

    job.__name__ = "purge_sent_outbox"
    return job


async def run_timers(
    uow_factory: Callable[[], UnitOfWork], jobs: Sequence[Job], interval: float = 60.0
) -> None:
    while True:
        now = datetime.now(UTC)
        for job in jobs:
            try:
                changed = await anyio.to_thread.run_sync(job, uow_factory(), now)
                if changed:
                    log.info("timer %s changed %d rows", job.__name__, changed)
            except Exception:  # keep the clock running through a database outage
                log.exception("timer %s failed", job.__name__)
        await asyncio.sleep(interval)
