"""Readable ticket numbers: the day in the hotline's time zone and a per-day sequence.

2026112300123 is the 123rd ticket of 23 November 2026. The counter row is bumped with an
atomic upsert, so concurrent intakes on PostgreSQL or SQLite never share a number.

On PostgreSQL the number is taken in a short transaction of its own, as a sequence would be: the
day's counter row is locked for one statement, not for the whole intake, so web processes do not
queue behind each other's transactions. The price is the sequence's: an intake that rolls back
leaves a gap in the day's numbers. SQLite has one writer at a time anyway, and a second
connection would wait for the intake's own lock, so there the number is part of the intake.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from handoff.models import TicketCounter

SEQUENCE_DIGITS = 5


def next_ticket_number(session: Session, *, now: datetime, tz: ZoneInfo) -> str:
    day = now.astimezone(tz).strftime("%Y%m%d")
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as own:
            value = own.execute(_bump(pg_insert(TicketCounter), day)).scalar_one()
    else:
        # On the session's connection, not `session.execute`: a Core statement needs no autoflush,
        # and leaving the pending rows alone lets one flush at commit write them all.
        value = session.connection().execute(_bump(sqlite_insert(TicketCounter), day)).scalar_one()
    # Past 99,999 a day the number simply grows a digit; it stays unique and sortable per day.
    return f"{day}{value:0{SEQUENCE_DIGITS}d}"


def _bump(insert: Insert, day: str) -> Insert:
    statement: Insert = (
        insert.values(day=day, last_value=1)  # type: ignore[attr-defined]
        .on_conflict_do_update(index_elements=[TicketCounter.day], set_={"last_value": TicketCounter.last_value + 1})
        .returning(TicketCounter.last_value)
    )
    return statement
