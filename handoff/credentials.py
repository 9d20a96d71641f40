"""Credentials every process shares, such as WeChat's access token.

WeChat allows a limited number of token fetches a day, and each fetch invalidates the previous
token after a short overlap, so several processes must not each keep their own. The token lives
in the database: any process reads it; the one that finds it missing, about to expire or rejected
renews it while holding the row's lock, and the others wait and then use what it stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handoff.models import SharedCredential
from handoff.store import UnitOfWork

# What a fetch returns: the new value and how many seconds it is good for.
Fetch = Callable[[], tuple[str, int]]


def current_credential(uow: UnitOfWork, key: str, *, margin: timedelta, now: datetime | None = None) -> str | None:
    """The stored value if it stays good for at least `margin`; None when it must be renewed."""
    moment = now or datetime.now(UTC)
    with uow:
        row = uow.session.get(SharedCredential, key)
        if row is None or row.value is None or row.expires_at is None or row.expires_at - moment <= margin:
            return None
        return row.value


def renew_credential(
    uow: UnitOfWork,
    key: str,
    *,
    fetch: Fetch,
    margin: timedelta,
    rejected: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> str:
    """Fetch a new value unless another process has just done so, and store it for everyone.

    `rejected` is a value the platform refused (errcode 40001, 40014, 42001): it is renewed even if
    it looks fresh. The fetch runs while the row is locked, so concurrent renewals fetch once.
    """
    _ensure_row(uow, key, now())
    with uow:
        row = uow.session.scalars(
            select(SharedCredential).where(SharedCredential.key == key).with_for_update()
        ).one()
        moment = now()
        fresh = row.value is not None and row.expires_at is not None and row.expires_at - moment > margin
        if fresh and row.value != rejected:
            assert row.value is not None
            return row.value  # someone else renewed it while we waited for the lock
        value, expires_in = fetch()
        row.value, row.expires_at, row.updated_at = value, moment + timedelta(seconds=expires_in), moment
        uow.commit()
        return value


def _ensure_row(uow: UnitOfWork, key: str, now: datetime) -> None:
    """A row to lock: PostgreSQL cannot lock one that does not exist yet."""
    with uow:
        if uow.session.get(SharedCredential, key) is not None:
            return
        uow.session.add(SharedCredential(key=key, value=None, expires_at=None, updated_at=now))
        try:
            uow.commit()
        except IntegrityError:  # another process created it first: that is all we wanted
            uow.rollback()
