"""The clock's jobs that keep the store in shape."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from handoff.models import OutboxEntry, OutboxStatus
from handoff.store import UnitOfWork
from handoff.timers import purge_sent_outbox
from tests.handoff.test_intake import NOW


def _entry(chat: str, status: str, *, age: timedelta) -> OutboxEntry:
    at = NOW - age
    return OutboxEntry(
        id=uuid.uuid4(), channel="telegram", chat_id=chat, kind="reply", payload={"text": "您好"}, status=status,
        attempts=1, next_attempt_at=at, created_at=at, sent_at=at if status == OutboxStatus.SENT else None,
    )


def test_delivered_entries_past_their_keep_go_and_everything_else_stays(uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        uow.session.add_all([_entry(f"old-sent-{n}", OutboxStatus.SENT, age=timedelta(days=9)) for n in range(7)])
        uow.session.add_all([
            _entry("new-sent", OutboxStatus.SENT, age=timedelta(days=2)),
            _entry("old-failed", OutboxStatus.FAILED, age=timedelta(days=30)),  # for operators to see
            _entry("old-pending", OutboxStatus.PENDING, age=timedelta(days=30)),  # still to be delivered
            _entry("old-sending", OutboxStatus.SENDING, age=timedelta(days=30)),
        ])
        uow.commit()

    purge = purge_sent_outbox(timedelta(days=7), chunk=3)  # several chunks, each its own transaction
    assert purge(uow_factory(), NOW) == 7
    with uow_factory() as uow:
        left = set(uow.session.scalars(select(OutboxEntry.chat_id)))
    assert left == {"new-sent", "old-failed", "old-pending", "old-sending"}
    assert purge(uow_factory(), NOW) == 0


def test_a_run_stops_at_its_most_and_the_next_goes_on(uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        uow.session.add_all([_entry(f"sent-{n}", OutboxStatus.SENT, age=timedelta(days=8)) for n in range(5)])
        uow.commit()

    purge = purge_sent_outbox(timedelta(days=7), chunk=2, most=3)
    assert purge(uow_factory(), NOW) == 4  # whole chunks: it stops once it has deleted `most` or more
    assert purge(uow_factory(), NOW) == 1
