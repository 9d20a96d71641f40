"""The schema: the Alembic history matches the models, on both databases; units load idempotently."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from handoff import schema
from handoff.models import Base, RoutingRule, Unit, UnitKind
from handoff.units import read_departments, read_units, seed_units


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
