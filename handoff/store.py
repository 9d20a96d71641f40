"""Engines, sessions and the unit of work: one transaction per inbound message or action."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.orm import Session, sessionmaker

from handoff.events import CHANGES, Change


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; SQLite paths get their folder created."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


def json_text(value: Any) -> str:
    """JSON columns' text (and `handoff.bulk`'s recordsets): orjson writes UUIDs and datetimes itself,
    several times faster than `json.dumps`, and NaN as null where `json.dumps` writes invalid JSON."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    kwargs.setdefault("json_serializer", json_text)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, **kwargs)
    _ping_when_idle(engine)
    return engine


# A connection back in the pool within this long is taken as alive: under load every transaction
# would otherwise pay a round trip for the ping. One that died meanwhile (the server restarted)
# fails its first statement: the caller answers 503 (the platforms retry) and the pool, told of
# the disconnect, replaces every connection opened before it.
IDLE_BEFORE_PING = 1.0  # seconds


def _ping_when_idle(engine: Engine, idle_before_ping: float = IDLE_BEFORE_PING) -> None:
    """`pool_pre_ping`, but only for connections that sat in the pool for `idle_before_ping`."""
    pool = engine.pool

    @event.listens_for(pool, "checkin")
    def note_return(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle_before_ping:
            return  # new, or back a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the connection died while in the pool") from exc  # the pool opens another


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web chat read while the worker writes; foreign keys are off by default in SQLite.
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see below
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock up front: a deferred transaction that later writes can fail with
    # "database is locked" instead of waiting, which would lose a citizen's message.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class UnitOfWork:
    """`with uow:` opens a session; nothing is kept unless `uow.commit()` is called.

    `on_commit` hears what each committed transaction changed (`handoff.events.Change`): the
    delivery worker wakes on new outbox entries, the console shows new messages at once.
    """

    session: Session

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        on_commit: Callable[[Sequence[Change]], None] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._on_commit = on_commit

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back whatever was not committed and detaches the objects without expiring
        # them, so values read inside the block stay readable after it.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
        changes: list[Change] = self.session.info.pop(CHANGES, [])
        if changes and self._on_commit is not None:
            self._on_commit(changes)

    def rollback(self) -> None:
        self.session.rollback()


UowFactory = Callable[[], UnitOfWork]
