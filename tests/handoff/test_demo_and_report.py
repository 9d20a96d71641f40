"""Demo data and the monthly report a supervisor reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import func, select

from handoff.demo import load_demo_tickets
from handoff.models import Survey, Ticket, Unit, UnitKind
from handoff.ranking import monthly_ranking
from handoff.reports import as_text, write_csv, write_xlsx

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_demo_data_feeds_a_readable_october_report(uow_factory, tmp_path: Path) -> None:
    with uow_factory() as uow:
        made = load_demo_tickets(uow.session, now=NOW, tz=TZ, per_day=25)
        uow.commit()
    assert made > 2000
    with uow_factory() as uow:
        assert load_demo_tickets(uow.session, now=NOW, tz=TZ) == 0  # loaded once
        first = uow.session.scalar(select(func.min(Ticket.accepted_at)))
        assert first is not None and first.astimezone(TZ).strftime("%Y-%m-%d") == "2026-08-01"
        assert uow.session.scalar(select(func.count()).select_from(Survey).where(Survey.answered_at.is_not(None))) > 1000
        ranking = monthly_ranking(uow.session, month="2026-10", tz=TZ)
        districts = {u.code: u.name for u in uow.session.scalars(select(Unit).where(Unit.kind == UnitKind.DISTRICT))}
    assert len(ranking.advanced) == 10 and len(ranking.rectify) == 10 and ranking.improved and len(ranking.governance) == 10
    assert ranking.advanced[0].score >= ranking.rectify[0].score  # type: ignore[operator]
    text = as_text(ranking, districts)
    for title in ("【先进类】", "【进步类】", "【整改类】", "【治理类】"):
        assert title in text
    write_csv(ranking, districts, tmp_path / "r.csv")
    write_xlsx(ranking, districts, tmp_path / "r.xlsx")
    assert (tmp_path / "r.csv").read_text(encoding="utf-8-sig").startswith("类别,排名")
    book = load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames == ["先进类", "进步类", "整改类", "治理类", "全部街道乡镇"]
    assert book["先进类"]["D2"].value == ranking.advanced[0].figures.name
