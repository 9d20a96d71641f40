"""Readable ticket numbers: the day in the hotline's time zone and a per-day sequence.

2026112300123 is the 123rd ticket of 23 November 2026. The counter row is bumped with an atomic
upsert, so concurrent intakes on PostgreSQL or SQLite never share a number.

A single intake takes its number inside its own transaction: gapless, and the row is locked only
for that short transaction. A batch of many messages (`NumberBlock`) must not hold the day's row
for its whole transaction, or web processes would take turns instead of working side by side: on
PostgreSQL it reserves, when its first ticket opens, as many numbers as the batch has messages
left, in a short transaction of its own, and gives back what it did not use unless another
process reserved after it. So numbers stay unique and increasing; a gap appears only where two
busy processes interleaved and one of them used fewer numbers than it had messages, or where a
transaction failed after reserving, as with any database sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Insert, Integer, String, bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from handoff.models import TicketCounter

SEQUENCE_DIGITS = 5


def next_ticket_number(session: Session, *, now: datetime, tz: ZoneInfo) -> str:
    day = _day(now, tz)
    # On the session's connection, not `session.execute`: a Core statement needs no autoflush, and
    # leaving the pending rows alone lets one flush at commit write them all.
    return _format(day, _reserve(session.connection(), day, 1))


class NumberBlock:
    """Ticket numbers for one batch of messages (see the module's docstring)."""

    def __init__(self, session: Session, *, tz: ZoneInfo, autocommit: bool = False) -> None:
        """`autocommit`: the session's statements commit by themselves, so its own connection
        holds the day's row no longer than a statement (no second connection needed)."""
        self._session, self._tz, self._autocommit = session, tz, autocommit
        self._day = ""
        self._next = self._end = 0  # numbers next .. end are reserved and unused
        self.messages_left = 1  # set by the batch before each message: how many a block may need

    def take(self, now: datetime) -> str:
        day = _day(now, self._tz)
        if day != self._day or self._next > self._end:
            self.give_back()
            count = max(1, self.messages_left)
            with self._connection() as connection:
                self._end = _reserve(connection, day, count)
            self._day, self._next = day, self._end - count + 1
        number, self._next = self._next, self._next + 1
        return _format(day, number)

    def give_back(self) -> None:
        """Return the unused numbers, if nobody reserved after this block."""
        if not self._day or self._next > self._end:
            return
        with self._connection() as connection:
            connection.execute(
                update(TicketCounter)
                .where(TicketCounter.day == self._day, TicketCounter.last_value == self._end)
                .values(last_value=self._next - 1)
            )
        self._next = self._end + 1

    def _connection(self) -> AbstractContextManager[Connection]:
        if self._autocommit:
            return nullcontext(self._session.connection())
        bind = self._session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        if engine.dialect.name == "postgresql":  # a short transaction of its own, closed on exit
            return engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # SQLite: one writer at a time, and it is this transaction; a second connection would wait for it.
        return nullcontext(self._session.connection())


def _reserve(connection: Connection, day: str, count: int) -> int:
    """Bump the day's counter by `count`; the last number reserved."""
    statement = _RESERVE_POSTGRESQL if connection.dialect.name == "postgresql" else _RESERVE_SQLITE
    return int(connection.execute(statement, {"day": day, "count": count}).scalar_one())


def _reserve_statement(insert: Callable[[type[TicketCounter]], Any]) -> Insert:
    """Built once a dialect: the same statement object each time skips building and compiling it."""
    count = bindparam("count", type_=Integer)
    return (  # type: ignore[no-any-return]
        insert(TicketCounter)
        .values(day=bindparam("day", type_=String), last_value=count)
        .on_conflict_do_update(index_elements=[TicketCounter.day], set_={"last_value": TicketCounter.last_value + count})
        .returning(TicketCounter.last_value)
    )


_RESERVE_POSTGRESQL = _reserve_statement(pg_insert)
_RESERVE_SQLITE = _reserve_statement(sqlite_insert)


def _day(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).strftime("%Y%m%d")


def _format(day: str, value: int) -> str:
    # Past 99,999 a day the number simply grows a digit; it stays unique and sortable per day.
    return f"{day}{value:0{SEQUENCE_DIGITS}d}"
