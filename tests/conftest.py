"""Shared fixtures: a migrated database on SQLite and on the real PostgreSQL, the NLU, live servers.

PostgreSQL is the one at 127.0.0.1:5432 (override with HOTLINE_TEST_POSTGRES_URL). Each test run
creates its own database and drops it at the end, so two runs never see each other's rows. Under
CI=true a PostgreSQL that cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import uvicorn
from sqlalchemy import Engine, text

from api.config import Settings
from api.main import create_app, seed_reference_data
from handoff import schema
from handoff.models import Base
from handoff.dispatch import seed_sla_rules
from handoff.live_chat import seed_canned_replies
from handoff.store import UnitOfWork, make_engine, make_session_factory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_ADMIN_URL = os.environ.get("HOTLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _require(what: str, reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true: {reason}")
    pytest.skip(f"{what} unavailable: {reason}")


# -- databases ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _require("PostgreSQL", str(exc).strip())
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    engine = make_engine(url)
    schema.upgrade(engine)
    _seed(engine)
    engine.dispose()
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated and seeded SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    _seed(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name("template.db-wal").exists()
    return path


def _seed(engine: Engine) -> None:
    with UnitOfWork(make_session_factory(engine)) as uow:
        seed_reference_data(uow.session, jurisdiction="110000")
        uow.commit()


# Units and routing rules are seeded once per run and kept; everything else is emptied after each
# test, and the small reference tables tests may change (SLA rules, canned replies) are seeded again.
_REFERENCE = frozenset({"units", "routing_rules"})


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, seeded, otherwise empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "hotline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = make_engine(url)
    _empty(engine)
    engine.dispose()


def _empty(engine: Engine) -> None:
    volatile = [t.name for t in Base.metadata.sorted_tables if t.name not in _REFERENCE]
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(volatile)} CASCADE"))
    with UnitOfWork(make_session_factory(engine)) as uow:
        seed_sla_rules(uow.session)
        seed_canned_replies(uow.session)
        uow.commit()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    factory = make_session_factory(engine)
    return lambda: UnitOfWork(factory)


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """The run's PostgreSQL alone, for what only it does (autocommit batches, advisory locks)."""
    engine = make_engine(postgres_url)
    yield engine
    _empty(engine)
    engine.dispose()


@pytest.fixture
def pg_factory(pg_engine: Engine) -> Callable[[], UnitOfWork]:
    factory = make_session_factory(pg_engine)
    return lambda: UnitOfWork(factory)


# -- the NLU --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_nlu():  # type: ignore[no-untyped-def]
    import nlu

    return nlu.load()


# -- live servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn server on a loopback port, in a thread."""

    def __init__(self, settings: Settings, nlu: object) -> None:
        self.settings = settings
        self.port = free_port()
        self.app = create_app(settings, nlu=nlu)  # type: ignore[arg-type]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", ws="websockets-sansio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def live_server(db_url: str, tmp_path: Path, real_nlu: object) -> Iterator[LiveServer]:
    settings = Settings(database_url=db_url, data_dir=tmp_path, auto_migrate=False, _env_file=None)  # type: ignore[call-arg]
    with LiveServer(settings, real_nlu) as server:
        yield server
