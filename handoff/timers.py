"""Jobs that run on a clock rather than on a message. `hotline serve` runs them every minute.

Later issues add SLA deadlines and survey retries here; each job is one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import update

from handoff.models import Conversation, ConversationState
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
