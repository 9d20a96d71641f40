"""Statistics for the dashboard: the three rates with their counts, the monthly ranking, trends,
where and what, hot topics, and the tickets similar to one ticket."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import OperatorDep, RuntimeDep
from api.schemas import TicketOut
from handoff.access import CENTER_ROLES, readable_ticket, require_role
from handoff.errors import InvalidMessageError
from handoff.models import Unit, UnitKind
from handoff.ranking import (
    MonthlyRanking,
    RankedStreet,
    RankingPolicy,
    month_bounds,
    monthly_ranking,
    previous_month,
)
from handoff.rates import UnitFigures, district_figures, unit_figures
from handoff.stats import breakdown, trend
from handoff.topics import hot_topics, similar_tickets

router = APIRouter(prefix="/api/stats", tags=["statistics"])
similar_router = APIRouter(prefix="/api", tags=["tickets"])
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


def figures_json(f: UnitFigures) -> dict[str, Any]:
    return {
        "code": f.code, "name": f.name, "kind": f.kind, "district_code": f.district_code,
        "counts": {"dispatched": f.dispatched, "responded_in_time": f.responded_in_time, "answered": f.answered,
                   "resolved": f.resolved, "satisfied": f.satisfied, "basically_satisfied": f.basically,
                   "unsatisfied": f.unsatisfied, "tickets": f.tickets},
        "response_rate": f.response_rate, "resolution_rate": f.resolution_rate, "satisfaction_rate": f.satisfaction_rate,
    }


def _street_json(s: RankedStreet) -> dict[str, Any]:
    return {**figures_json(s.figures), "score": s.score, "rank": s.rank, "previous_rank": s.previous_rank,
            "places_gained": s.places_gained}


def _default_month(runtime: Any) -> str:
    return previous_month(_current_month(runtime))  # the last complete month


def _period(runtime: Any, month: str | None, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start and end:
        if end <= start:
            raise InvalidMessageError("end must be after start")
        return start, end
    return month_bounds(month or _default_month(runtime), runtime.settings.tz)


@router.get("/rates")
def rates(
    runtime: RuntimeDep, operator: OperatorDep, month: Month | None = None, start: datetime | None = None,
    end: datetime | None = None, level: Literal["street", "district", "department"] = "street",
) -> dict[str, Any]:
    """The three rates of every unit at a level, with the counts behind each (formulas: docs/assessment.md)."""
    require_role(operator, CENTER_ROLES)
    begin, finish = _period(runtime, month, start, end)
    weights = runtime.settings.rate_weights
    with runtime.new_uow() as uow:
        if level == "department":
            figures = unit_figures(uow.session, start=begin, end=finish, weights=weights, kinds=[UnitKind.DEPARTMENT, UnitKind.COMPANY])
        else:
            figures = unit_figures(uow.session, start=begin, end=finish, weights=weights, kinds=[UnitKind.STREET, UnitKind.ZONE])
            if level == "district":
                districts = uow.session.scalars(select(Unit).where(Unit.kind == UnitKind.DISTRICT)).all()
                figures = district_figures(figures, districts)
    rows = sorted(figures.values(), key=lambda f: (-(f.dispatched + f.answered), f.code))
    return {"start": begin, "end": finish, "level": level, "weights": vars(weights), "units": [figures_json(f) for f in rows]}


@router.get("/ranking")
def ranking(runtime: RuntimeDep, operator: OperatorDep, month: Month | None = None, top: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
    """四类排名 of streets/towns for a month."""
    require_role(operator, CENTER_ROLES)
    settings = runtime.settings
    policy = RankingPolicy(score=settings.score_weights, rates=settings.rate_weights, top=top)
    with runtime.new_uow() as uow:
        result: MonthlyRanking = monthly_ranking(uow.session, month=month or _default_month(runtime), tz=settings.tz, policy=policy)
    return {
        "month": result.month, "weights": vars(policy.score), "min_answered": policy.min_answered,
        **{name: [_street_json(s) for s in getattr(result, name)] for name in ("advanced", "improved", "rectify", "governance")},
        "scored": sum(1 for s in result.streets if s.rank is not None), "streets": len(result.streets),
    }


@router.get("/trend")
def monthly_trend(runtime: RuntimeDep, operator: OperatorDep, month: Month | None = None, months: Annotated[int, Query(ge=1, le=24)] = 4) -> list[dict[str, Any]]:
    require_role(operator, CENTER_ROLES)
    with runtime.new_uow() as uow:
        series = trend(uow.session, last_month=month or _current_month(runtime), months=months, tz=runtime.settings.tz,
                       weights=runtime.settings.rate_weights)
    return [{"month": m.month, "tickets": m.tickets, **figures_json(m.figures)} for m in series]


@router.get("/breakdown")
def where_and_what(runtime: RuntimeDep, operator: OperatorDep, month: Month | None = None, start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    require_role(operator, CENTER_ROLES)
    begin, finish = _period(runtime, month, start, end)
    with runtime.new_uow() as uow:
        result = breakdown(uow.session, start=begin, end=finish)
    return {"start": begin, "end": finish, **vars(result)}


@router.get("/hot-topics")
def topics(runtime: RuntimeDep, operator: OperatorDep, month: Month | None = None) -> list[dict[str, Any]]:
    """每月一问: the month's tickets grouped into topics, largest first, with their growth."""
    require_role(operator, CENTER_ROLES)
    begin, finish = _period(runtime, month, None, None)
    with runtime.new_uow() as uow:
        found = hot_topics(uow.session, start=begin, end=finish)
        return [
            {"category": t.category, "size": t.size, "previous": t.previous, "growth": t.growth, "keywords": t.keywords(),
             "places": t.places(), "typical": [{"number": x.number, "description": x.description,
                                                "place": " ".join(p for p in (x.district, x.street) if p)} for x in t.typical()]}
            for t in found
        ]


@similar_router.get("/tickets/{ticket_id}/similar")
def similar(ticket_id: uuid.UUID, runtime: RuntimeDep, operator: OperatorDep) -> list[dict[str, Any]]:
    """举一反三: the same problem at the same street first, then nearby, so they can be handled together."""
    require_role(operator, CENTER_ROLES)
    with runtime.new_uow() as uow:
        ticket = readable_ticket(uow.session, operator, ticket_id)
        return [{"ticket": TicketOut.of(s.ticket), "similarity": s.similarity, "same_street": s.same_street}
                for s in similar_tickets(uow.session, ticket)]


def _current_month(runtime: Any) -> str:
    now = datetime.now(UTC).astimezone(runtime.settings.tz)
    return f"{now.year}-{now.month:02d}"


