"""The three rates and the four-category ranking, checked against figures worked out by hand."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handoff.models import (
    AssignmentStatus,
    Citizen,
    Survey,
    SurveyStatus,
    Ticket,
    TicketAssignment,
    TicketStatus,
    Unit,
    UnitKind,
)
from handoff.ranking import RankingPolicy, monthly_ranking, previous_month
from handoff.rates import district_figures, unit_figures
from handoff.store import UnitOfWork

TZ = ZoneInfo("Asia/Shanghai")
A, B, C = "110105026", "110105027", "110105028"  # 望京街道, 小红门地区, 十八里店地区
_numbers = itertools.count(1)


class Builder:
    """Writes tickets, assignments and callbacks exactly as described, nothing else."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.session = uow.session
        self.units = {u.code: u for u in self.session.scalars(select(Unit))}
        self.citizen = Citizen(id=uuid.uuid4())
        self.session.add(self.citizen)

    def ticket(self, street: str, day: datetime, *, signed_after: timedelta | None = timedelta(minutes=30),
               returned_after: timedelta | None = None, withdrawn_after: timedelta | None = None,
               survey: tuple[bool, str] | None = None) -> None:
        unit = self.units[street]
        ticket = Ticket(
            id=uuid.uuid4(), number=f"T{next(_numbers):012d}", citizen_id=self.citizen.id, channel="web", chat_id="c",
            request_type="投诉", description="测试", street=unit.name, street_code=street, district_code=unit.district_code,
            status=TicketStatus.SURVEYED if survey else TicketStatus.DISPATCHED, accepted_at=day, updated_at=day,
        )
        self.session.add(ticket)
        self.session.flush()
        status = AssignmentStatus.RESOLVED if survey else AssignmentStatus.SIGNED
        assignment = TicketAssignment(
            ticket_id=ticket.id, unit_id=unit.id, status=status, dispatched_at=day,
            sign_deadline=day + timedelta(hours=2), resolve_deadline=day + timedelta(days=7),
            signed_at=day + signed_after if signed_after is not None else None,
            returned_at=day + returned_after if returned_after is not None else None,
            withdrawn_at=day + withdrawn_after if withdrawn_after is not None else None,
        )
        if returned_after is not None:
            assignment.status = AssignmentStatus.RETURNED
        if withdrawn_after is not None:
            assignment.status = AssignmentStatus.WITHDRAWN
        self.session.add(assignment)
        if survey is not None:
            resolved, satisfaction = survey
            self.session.add(Survey(
                ticket_id=ticket.id, status=SurveyStatus.ANSWERED, step="done", next_ask_at=day, created_at=day,
                answered_at=day + timedelta(days=1), resolved=resolved, satisfaction=satisfaction,
            ))


def oct_(day: int) -> datetime:
    return datetime(2026, 10, day, 10, 0, tzinfo=TZ)


def sep_(day: int) -> datetime:
    return datetime(2026, 9, day, 10, 0, tzinfo=TZ)


@pytest.fixture
def data(uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        b = Builder(uow)
        # September: A is perfect; B slow to sign once.
        b.ticket(A, sep_(3), survey=(True, "满意"))
        b.ticket(A, sep_(4), survey=(True, "满意"))
        b.ticket(A, sep_(5), survey=(True, "满意"))
        b.ticket(B, sep_(3), signed_after=timedelta(hours=5), survey=(True, "满意"))
        b.ticket(B, sep_(4), signed_after=None, survey=None, withdrawn_after=timedelta(hours=1))  # 改派 early: not counted
        b.ticket(B, sep_(5), survey=(True, "满意"))
        b.ticket(B, sep_(6), survey=(True, "满意"))
        # October, A: 4 dispatched, 3 signed in time, 1 withdrawn after its deadline unsigned.
        b.ticket(A, oct_(2), survey=(True, "满意"))
        b.ticket(A, oct_(3), survey=(True, "满意"))
        b.ticket(A, oct_(4), survey=(True, "基本满意"))
        b.ticket(A, oct_(5), signed_after=None, withdrawn_after=timedelta(hours=3), survey=None)
        # and one more callback answered in October on a September ticket it handled: 未解决, 不满意.
        b.ticket(A, sep_(28), survey=None)
        uow.session.flush()
        late = uow.session.scalars(select(Ticket).where(Ticket.accepted_at == sep_(28))).one()
        uow.session.scalars(select(TicketAssignment).where(TicketAssignment.ticket_id == late.id)).one().status = AssignmentStatus.RESOLVED
        uow.session.add(Survey(ticket_id=late.id, status=SurveyStatus.ANSWERED, step="done", next_ask_at=oct_(1),
                               created_at=oct_(1), answered_at=oct_(1), resolved=False, satisfaction="不满意"))
        # October, B: 2 dispatched, both in time; 3 callbacks, all solved and 满意.
        b.ticket(B, oct_(2), survey=(True, "满意"))
        b.ticket(B, oct_(3), survey=(True, "满意"))
        uow.session.flush()
        extra = uow.session.scalars(select(Ticket).where(Ticket.accepted_at == sep_(6))).one()
        uow.session.add(Survey(ticket_id=extra.id, round=2, status=SurveyStatus.ANSWERED, step="done", next_ask_at=oct_(1),
                               created_at=oct_(1), answered_at=oct_(9), resolved=True, satisfaction="满意"))
        # October, C: 1 dispatched, sent back in time; only 2 callbacks: too few to score.
        b.ticket(C, oct_(2), signed_after=None, returned_after=timedelta(hours=1))
        b.ticket(C, sep_(20), survey=None)
        uow.commit()
    with uow_factory() as uow:  # C's two callbacks in October, on a ticket it handled
        ticket = uow.session.scalars(select(Ticket).where(Ticket.accepted_at == sep_(20))).one()
        uow.session.scalars(select(TicketAssignment).where(TicketAssignment.ticket_id == ticket.id)).one().status = AssignmentStatus.RESOLVED
        for day in (5, 6):
            uow.session.add(Survey(ticket_id=ticket.id, round=day, status=SurveyStatus.ANSWERED, step="done",
                                   next_ask_at=oct_(day), created_at=oct_(day), answered_at=oct_(day), resolved=True,
                                   satisfaction="满意"))
        uow.commit()


def test_the_three_rates_of_october(uow_factory, data) -> None:
    with uow_factory() as uow:
        start, end = datetime(2026, 10, 1, tzinfo=TZ), datetime(2026, 11, 1, tzinfo=TZ)
        figures = unit_figures(uow.session, start=start, end=end, kinds=[UnitKind.STREET])
    a, b, c = figures[A], figures[B], figures[C]
    # A: response 3/4; callbacks: 满意, 满意, 基本满意 (all solved) + 不满意 (not solved)
    assert (a.dispatched, a.responded_in_time) == (4, 3) and a.response_rate == 0.75
    assert (a.answered, a.resolved) == (4, 3) and a.resolution_rate == 0.75
    assert (a.satisfied, a.basically, a.unsatisfied) == (2, 1, 1)
    assert a.satisfaction_rate == pytest.approx((1 + 1 + 0.8 + 0) / 4)
    assert a.tickets == 4
    assert (b.dispatched, b.responded_in_time, b.answered, b.resolved, b.satisfied) == (2, 2, 3, 3, 3)
    assert (b.response_rate, b.resolution_rate, b.satisfaction_rate) == (1.0, 1.0, 1.0)
    assert (c.dispatched, c.responded_in_time, c.answered) == (1, 1, 2)  # a timely 退回 is a response
    assert figures["110105029"].response_rate is None  # nothing dispatched: no rate, not 0%


def test_a_district_adds_up_its_streets_counts(uow_factory, data) -> None:
    with uow_factory() as uow:
        start, end = datetime(2026, 10, 1, tzinfo=TZ), datetime(2026, 11, 1, tzinfo=TZ)
        streets = unit_figures(uow.session, start=start, end=end, kinds=[UnitKind.STREET])
        chaoyang = uow.session.scalars(select(Unit).where(Unit.code == "110105")).one()
        district = district_figures(streets, [chaoyang])["110105"]
    assert (district.dispatched, district.responded_in_time, district.answered, district.resolved) == (7, 6, 9, 8)
    assert district.response_rate == pytest.approx(6 / 7)


def test_the_four_category_ranking_of_october(uow_factory, data) -> None:
    with uow_factory() as uow:
        ranking = monthly_ranking(uow.session, month="2026-10", tz=TZ, policy=RankingPolicy(top=2, min_answered=3))
    by_code = {s.figures.code: s for s in ranking.streets}
    # A: 100·(0.10·0.75 + 0.45·0.75 + 0.45·0.70) = 72.75; B: 100; C: too few callbacks to score.
    assert by_code[A].score == pytest.approx(72.75)
    assert by_code[B].score == pytest.approx(100.0)
    assert by_code[C].score is None and by_code[C].rank is None
    assert [s.figures.code for s in ranking.advanced] == [B, A]
    assert [s.figures.code for s in ranking.rectify] == [A, B]
    # September: A 100 (1st), B 100·(0.10·2/3 + 0.45 + 0.45) ≈ 96.7 (2nd); October B gained a place.
    assert (by_code[B].previous_rank, by_code[B].rank, by_code[B].places_gained) == (2, 1, 1)
    assert [s.figures.code for s in ranking.improved] == [B]
    assert [(s.figures.code, s.figures.tickets) for s in ranking.governance] == [(A, 4), (B, 2)]


def test_previous_month_wraps_the_year() -> None:
    assert previous_month("2026-01") == "2025-12" and previous_month("2026-10") == "2026-09"
