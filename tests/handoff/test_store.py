"""The schema: the Alembic history matches the models, on both databases; units load idempotently."""

from __future__ import annotations

import time

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError

from handoff import schema
from handoff.models import Base, RoutingRule, Unit, UnitKind
from handoff.store import IDLE_BEFORE_PING, make_engine
from handoff.units import read_departments, read_units, seed_units
from tests.conftest import POSTGRES_ADMIN_URL


def test_migrations_and_models_do_not_drift(engine) -> None:
    assert schema.current_revisions(engine) == schema.head_revisions(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrading_twice_is_harmless(engine) -> None:
    schema.upgrade(engine)
    assert schema.current_revisions(engine) == schema.head_revisions(engine)


def test_beijing_units_come_from_the_official_division_codes(uow_factory) -> None:
    with uow_factory() as uow:
        kinds = dict(
            uow.session.execute(select(Unit.kind, func.count()).group_by(Unit.kind)).all()  # type: ignore[arg-type]
        )
        assert kinds[UnitKind.DISTRICT] == 16
        assert kinds[UnitKind.STREET] == 343  # streets and towns
        assert kinds[UnitKind.ZONE] == 6  # development zones and the airport
        wangjing = uow.session.scalars(select(Unit).where(Unit.code == "110105026")).one()
        assert wangjing.name == "望京街道" and wangjing.district_code == "110105"
        parent = uow.session.get(Unit, wangjing.parent_id)
        assert parent is not None and parent.name == "朝阳区"
        assert kinds[UnitKind.DEPARTMENT] >= 15


def test_seeding_again_changes_nothing(uow_factory) -> None:
    with uow_factory() as uow:
        rules_before = uow.session.scalar(select(func.count()).select_from(RoutingRule))
        report = seed_units(uow.session, read_units("110000") + read_departments())
        uow.commit()
    assert (report.created, report.updated, report.rules_created) == (0, 0, 0)
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(RoutingRule)) == rules_before


# -- connections that died in the pool --------------------------------------------------------------


def _kill_backends(engine: Engine) -> None:
    """What a server restart does to a pool: every connection it holds is cut."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (engine.url.database,),
        )


def test_a_connection_that_died_while_idle_is_replaced_unseen(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        _kill_backends(engine)
        time.sleep(IDLE_BEFORE_PING + 0.1)
        with engine.connect() as connection:  # pinged on its way out of the pool, found dead, replaced
            assert connection.execute(text("SELECT 2")).scalar() == 2
    finally:
        engine.dispose()


def test_a_connection_back_a_moment_ago_is_not_pinged_and_a_dead_one_fails_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url)
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi_connection: pings.append(dbapi_connection) or ping(dbapi_connection))
    try:
        for _ in range(3):
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        assert pings == []  # no round trip for a ping between the transactions of a busy process

        _kill_backends(engine)
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT 1"))  # the caller answers 503; the platform retries
        with engine.connect() as connection:  # the pool replaced what the server cut
            assert connection.execute(text("SELECT 3")).scalar() == 3
    finally:
        engine.dispose()


def test_on_postgresql_the_outbox_is_vacuumed_after_a_fixed_number_of_changes(pg_engine: Engine) -> None:
    """A queue: its claims read the dead entries of the status index until a vacuum; not a fifth of
    the table's size (the default) but a few thousand changes, however large it grows."""
    with pg_engine.connect() as connection:
        options = connection.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'outbox'"))
    assert "autovacuum_vacuum_scale_factor=0" in options and "autovacuum_vacuum_threshold=5000" in options
