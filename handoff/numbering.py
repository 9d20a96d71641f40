"""Readable ticket numbers: the day in the hotline's time zone and a per-day sequence.

2026112300123 is the 123rd ticket of 23 November 2026. The counter row is bumped with an
atomic upsert, so concurrent intakes on PostgreSQL or SQLite never share a number.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from handoff.models import TicketCounter

SEQUENCE_DIGITS = 5


def next_ticket_number(session: Session, *, now: datetime, tz: ZoneInfo) -> str:
    day = now.astimezone(tz).strftime("%Y%m%d")
    bind = session.get_bind()
    dialect = bind.dialect.name if isinstance(bind, Engine) else bind.engine.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(TicketCounter)
        .values(day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.day], set_={"last_value": TicketCounter.last_value + 1}
        )
        .returning(TicketCounter.last_value)
    )
    value = session.execute(statement).scalar_one()
    # Past 99,999 a day the number simply grows a digit; it stays unique and sortable per day.
    return f"{day}{value:0{SEQUENCE_DIGITS}d}"
