"""Figures for the supervisors' dashboard: the rates month by month, where and what people
complain about, city-wide or for a period."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.models import Ticket, UnitKind
from handoff.ranking import month_bounds, previous_month
from handoff.rates import RateWeights, UnitFigures, unit_figures


@dataclass(frozen=True)
class MonthFigures:
    month: str
    figures: UnitFigures  # every street/town together
    tickets: int


def trend(session: Session, *, last_month: str, months: int, tz: ZoneInfo, weights: RateWeights = RateWeights()) -> list[MonthFigures]:
    """The city's three rates for `months` months ending with `last_month`, oldest first."""
    names = [last_month]
    while len(names) < months:
        names.append(previous_month(names[-1]))
    result = []
    for month in reversed(names):
        start, end = month_bounds(month, tz)
        streets = unit_figures(session, start=start, end=end, weights=weights, kinds=[UnitKind.STREET, UnitKind.ZONE])
        total = UnitFigures(code="city", name="全市", kind="city", district_code=None, weights=weights)
        for figures in streets.values():
            total = total + figures
        tickets = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.accepted_at >= start, Ticket.accepted_at < end)
        ) or 0
        result.append(MonthFigures(month=month, figures=total, tickets=tickets))
    return result


@dataclass(frozen=True)
class Breakdown:
    by_category: dict[str, int]
    by_district: dict[str, int]
    grid: dict[str, dict[str, int]]  # district → category → tickets
    by_request_type: dict[str, int]


def breakdown(session: Session, *, start: datetime, end: datetime) -> Breakdown:
    rows = session.execute(
        select(Ticket.district, Ticket.category, Ticket.request_type, func.count())
        .where(Ticket.accepted_at >= start, Ticket.accepted_at < end)
        .group_by(Ticket.district, Ticket.category, Ticket.request_type)
    ).all()
    by_category: Counter[str] = Counter()
    by_district: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    grid: dict[str, Counter[str]] = {}
    for district, category, request_type, count in rows:
        district_name, category_name = district or "未知区域", category or "未分类"
        by_category[category_name] += count
        by_district[district_name] += count
        by_type[request_type] += count
        grid.setdefault(district_name, Counter())[category_name] += count
    return Breakdown(
        by_category=dict(by_category.most_common()),
        by_district=dict(by_district.most_common()),
        grid={district: dict(counts) for district, counts in sorted(grid.items(), key=lambda item: -sum(item[1].values()))},
        by_request_type=dict(by_type.most_common()),
    )
