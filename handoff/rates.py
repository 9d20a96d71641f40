"""The three rates (三率) of each handling unit for a period, with the counts behind them.

Definitions (also in docs/assessment.md):
- 响应率 response rate = assignments answered in time ÷ assignments dispatched in the period.
  Answered in time: signed (签收) or sent back (退回) no later than the sign deadline. An assignment
  the center withdrew (改派) before its sign deadline is not counted against the unit.
- 解决率 resolution rate = surveys answered "solved" ÷ surveys answered, among the callbacks answered
  in the period on tickets the unit handled (it reported a result on them).
- 满意率 satisfaction rate = (w满意·满意 + w基本满意·基本满意 + w不满意·不满意) ÷ surveys answered.
- A district's rates add up the counts of its streets and towns (属地), not an average of rates.
A rate with nothing to count is None, never 0 or 100%.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import AssignmentStatus, Survey, Ticket, TicketAssignment, Unit, UnitKind


@dataclass(frozen=True)
class RateWeights:
    satisfied: float = 1.0  # 满意
    basically: float = 0.8  # 基本满意
    unsatisfied: float = 0.0  # 不满意


@dataclass(frozen=True)
class UnitFigures:
    """Counts for one unit (or a district's streets together) and the rates they give."""

    code: str
    name: str
    kind: str
    district_code: str | None
    dispatched: int = 0
    responded_in_time: int = 0
    answered: int = 0  # surveys answered
    resolved: int = 0
    satisfied: int = 0
    basically: int = 0
    unsatisfied: int = 0
    tickets: int = 0  # tickets that happened there (streets) in the period
    weights: RateWeights = field(default=RateWeights(), repr=False)

    @property
    def response_rate(self) -> float | None:
        return self.responded_in_time / self.dispatched if self.dispatched else None

    @property
    def resolution_rate(self) -> float | None:
        return self.resolved / self.answered if self.answered else None

    @property
    def satisfaction_rate(self) -> float | None:
        if not self.answered:
            return None
        w = self.weights
        points = w.satisfied * self.satisfied + w.basically * self.basically + w.unsatisfied * self.unsatisfied
        return points / self.answered

    def __add__(self, other: UnitFigures) -> UnitFigures:
        counts = ("dispatched", "responded_in_time", "answered", "resolved", "satisfied", "basically", "unsatisfied", "tickets")
        return replace(self, **{name: getattr(self, name) + getattr(other, name) for name in counts})


def unit_figures(
    session: Session, *, start: datetime, end: datetime, weights: RateWeights = RateWeights(), kinds: Iterable[str] | None = None
) -> dict[str, UnitFigures]:
    """Figures of every unit (by code) for [start, end)."""
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.kind.in_(list(kinds))) if kinds else select(Unit))}
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    for assignment in session.scalars(
        select(TicketAssignment).where(TicketAssignment.dispatched_at >= start, TicketAssignment.dispatched_at < end)
    ):
        if assignment.unit_id not in units or _withdrawn_early(assignment):
            continue
        counts[assignment.unit_id]["dispatched"] += 1
        if _responded_in_time(assignment):
            counts[assignment.unit_id]["responded_in_time"] += 1

    # Each callback of the period once per unit that reported a result on its ticket (a unit that
    # handled two rounds still counts a callback once).
    answered = session.execute(
        select(Survey.id, Survey.resolved, Survey.satisfaction, TicketAssignment.unit_id)
        .join(TicketAssignment, TicketAssignment.ticket_id == Survey.ticket_id)
        .where(
            TicketAssignment.status == AssignmentStatus.RESOLVED,
            Survey.answered_at >= start,
            Survey.answered_at < end,
            Survey.resolved.is_not(None),
        )
        .distinct()
    )
    for _survey_id, resolved, satisfaction, unit_id in answered:
        if unit_id not in units:
            continue
        tally = counts[unit_id]
        tally["answered"] += 1
        tally["resolved"] += int(bool(resolved))
        tally[{"满意": "satisfied", "基本满意": "basically"}.get(satisfaction or "", "unsatisfied")] += 1

    by_street = {u.code: uid for uid, u in units.items()}
    for street_code in session.scalars(
        select(Ticket.street_code).where(Ticket.accepted_at >= start, Ticket.accepted_at < end, Ticket.street_code.is_not(None))
    ):
        if (street_unit := by_street.get(street_code or "")) is not None:
            counts[street_unit]["tickets"] += 1

    return {
        unit.code: UnitFigures(code=unit.code, name=unit.name, kind=unit.kind, district_code=unit.district_code,
                               weights=weights, **counts.get(unit_id, {}))
        for unit_id, unit in units.items()
    }


def district_figures(street_figures: dict[str, UnitFigures], districts: Iterable[Unit]) -> dict[str, UnitFigures]:
    """Each district as the sum of its streets and towns."""
    result: dict[str, UnitFigures] = {}
    for district in districts:
        total = UnitFigures(code=district.code, name=district.name, kind=UnitKind.DISTRICT, district_code=district.code)
        for figures in street_figures.values():
            if figures.district_code == district.code and figures.kind in (UnitKind.STREET, UnitKind.ZONE):
                total = total + replace(figures, weights=total.weights)
        result[district.code] = total
    return result


def _withdrawn_early(assignment: TicketAssignment) -> bool:
    """改派 before the unit's time to sign was up is not the unit's failure; after it, it is."""
    return (
        assignment.status == AssignmentStatus.WITHDRAWN
        and assignment.signed_at is None
        and assignment.withdrawn_at is not None
        and assignment.withdrawn_at < assignment.sign_deadline
    )


def _responded_in_time(assignment: TicketAssignment) -> bool:
    answered_at = assignment.signed_at or assignment.returned_at
    return answered_at is not None and answered_at <= assignment.sign_deadline
