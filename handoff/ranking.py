"""The monthly four-category ranking (四类排名) of streets and towns.

Composite score = w响应·响应率 + w解决·解决率 + w满意·满意率 (defaults 0.10 / 0.45 / 0.45, the weights
of Beijing's monthly assessment; configurable). Only streets/towns with at least `min_answered` (5)
answered callbacks are scored, so one unhappy citizen cannot rank a quiet town last.
- 先进类: the best composite scores;
- 进步类: the most places gained since last month (among streets scored in both months);
- 整改类: the lowest composite scores;
- 治理类: the most tickets that happened there in the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from handoff.models import UnitKind
from handoff.rates import RateWeights, UnitFigures, unit_figures


@dataclass(frozen=True)
class ScoreWeights:
    response: float = 0.10
    resolution: float = 0.45
    satisfaction: float = 0.45


@dataclass(frozen=True)
class RankingPolicy:
    score: ScoreWeights = ScoreWeights()
    rates: RateWeights = RateWeights()
    top: int = 10  # streets listed in each category
    min_answered: int = 5


@dataclass(frozen=True)
class RankedStreet:
    figures: UnitFigures
    score: float | None  # None: too few callbacks to score
    rank: int | None  # 1 = best, among the scored
    previous_rank: int | None = None

    @property
    def places_gained(self) -> int | None:
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


@dataclass(frozen=True)
class MonthlyRanking:
    month: str  # 2026-10
    streets: list[RankedStreet]  # every street/town, scored ones first by rank
    advanced: list[RankedStreet]  # 先进类
    improved: list[RankedStreet]  # 进步类
    rectify: list[RankedStreet]  # 整改类
    governance: list[RankedStreet]  # 治理类
    policy: RankingPolicy


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of `YYYY-MM` in the hotline's time zone."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return start, end


def previous_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    return f"{first.year - (first.month == 1)}-{(first.month - 2) % 12 + 1:02d}"


def score(figures: UnitFigures, policy: RankingPolicy) -> float | None:
    rates = (figures.response_rate, figures.resolution_rate, figures.satisfaction_rate)
    if figures.answered < policy.min_answered or any(rate is None for rate in rates):
        return None
    w = policy.score
    response, resolution, satisfaction = (rate or 0.0 for rate in rates)
    return 100 * (w.response * response + w.resolution * resolution + w.satisfaction * satisfaction)


def rank_streets(figures: dict[str, UnitFigures], policy: RankingPolicy) -> dict[str, tuple[float | None, int | None]]:
    scored = sorted(
        ((code, s) for code, f in figures.items() if (s := score(f, policy)) is not None),
        key=lambda item: (-round(item[1], 6), -figures[item[0]].answered, item[0]),  # ties: more callbacks first
    )
    ranks: dict[str, tuple[float | None, int | None]] = {code: (None, None) for code in figures}
    for position, (code, value) in enumerate(scored, start=1):
        ranks[code] = (value, position)
    return ranks


def monthly_ranking(session: Session, *, month: str, tz: ZoneInfo, policy: RankingPolicy = RankingPolicy()) -> MonthlyRanking:
    kinds = [UnitKind.STREET]
    start, end = month_bounds(month, tz)
    current = unit_figures(session, start=start, end=end, weights=policy.rates, kinds=kinds)
    before_start, before_end = month_bounds(previous_month(month), tz)
    before = unit_figures(session, start=before_start, end=before_end, weights=policy.rates, kinds=kinds)
    now_ranks, old_ranks = rank_streets(current, policy), rank_streets(before, policy)
    streets = [
        RankedStreet(figures=f, score=now_ranks[code][0], rank=now_ranks[code][1], previous_rank=old_ranks.get(code, (None, None))[1])
        for code, f in current.items()
    ]
    scored = sorted((s for s in streets if s.rank is not None), key=lambda s: s.rank or 0)
    unscored = sorted((s for s in streets if s.rank is None), key=lambda s: (-s.figures.tickets, s.figures.code))
    improved = sorted(
        (s for s in scored if (s.places_gained or 0) > 0), key=lambda s: (-(s.places_gained or 0), s.rank or 0)
    )
    governance = sorted((s for s in streets if s.figures.tickets), key=lambda s: (-s.figures.tickets, s.figures.code))
    top = policy.top
    return MonthlyRanking(
        month=month,
        streets=scored + unscored,
        advanced=scored[:top],
        improved=improved[:top],
        rectify=list(reversed(scored[-top:])) if scored else [],
        governance=governance[:top],
        policy=policy,
    )
