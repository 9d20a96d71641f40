"""回访 surveys: asked on the citizen's channel, answered with buttons, numbers or words, retried,
and a second round (二次办理) when the citizen is not satisfied."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from handoff.dispatch import dispatch_ticket, report_result, sign
from handoff.intake import handle_inbound
from handoff.messages import InboundMessage, InboundResult
from handoff.models import (
    AssignmentStatus,
    Operator,
    OutboxEntry,
    Role,
    Survey,
    SurveyStatus,
    Ticket,
    TicketAssignment,
    TicketStatus,
    Unit,
)
from handoff.store import UnitOfWork
from handoff.surveys import SurveyPolicy, ask_due_surveys, read_answer
from tests.fakes import FakeNlu

DEMO = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"
T0 = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
POLICY = SurveyPolicy(first_delay=timedelta(0), retry_every=timedelta(hours=24), max_asks=3)
_ids = itertools.count(1)


class Citizen:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], channel: str = "web", user: str = "u1") -> None:
        self.uow_factory, self.channel, self.user, self.nlu = uow_factory, channel, user, FakeNlu()

    def says(self, text: str = "", *, button: str | None = None, at: datetime = T0) -> InboundResult:
        message = InboundMessage(
            channel=self.channel, channel_user_id=self.user, chat_id=f"chat-{self.user}",  # type: ignore[arg-type]
            platform_msg_id=f"{self.channel}-{next(_ids)}", received_at=at, text=text, button=button,
        )
        return handle_inbound(self.uow_factory(), nlu=self.nlu, msg=message, now=at)

    def last_question(self) -> OutboxEntry:
        with self.uow_factory() as uow:
            return uow.session.scalars(
                select(OutboxEntry).where(OutboxEntry.kind == "survey").order_by(OutboxEntry.created_at.desc()).limit(1)
            ).one()


def handled_ticket(uow_factory: Callable[[], UnitOfWork], citizen: Citizen) -> str:
    """A complaint that went to 望京街道, was signed and reported handled, with both feedbacks."""
    number = citizen.says(DEMO).ticket_number
    assert number is not None
    with uow_factory() as uow:
        handler = Operator(username=f"h{next(_ids)}", display_name="h", password_hash="x", role=Role.UNIT_HANDLER)
        uow.session.add(handler)
        ticket = uow.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        unit = uow.session.scalars(select(Unit).where(Unit.code == "110105026")).one()
        (assignment,) = dispatch_ticket(uow.session, ticket=ticket, unit_ids=[unit.id], operator=None, now=T0)
        sign(uow.session, assignment=assignment, handler=handler, now=T0 + timedelta(minutes=20))
        report_result(uow.session, assignment=assignment, handler=handler, result="已清运", citizen_reply="垃圾已清运",
                      now=T0 + timedelta(hours=3))
        uow.commit()
    return number


def ask(uow_factory: Callable[[], UnitOfWork], at: datetime) -> int:
    return ask_due_surveys(POLICY)(uow_factory(), at)


def survey_of(uow_factory: Callable[[], UnitOfWork], number: str) -> tuple[Survey, Ticket]:
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        survey = uow.session.scalars(select(Survey).where(Survey.ticket_id == ticket.id).order_by(Survey.round.desc())).first()
        assert survey is not None
        return survey, ticket


def test_buttons_all_the_way(uow_factory) -> None:
    citizen = Citizen(uow_factory)
    number = handled_ticket(uow_factory, citizen)
    assert ask(uow_factory, T0 + timedelta(hours=4)) == 1
    question = citizen.last_question()
    assert number in question.payload["text"] and [b["label"] for b in question.payload["buttons"]] == ["已解决", "未解决"]

    reply = citizen.says(button="survey:resolved:yes", at=T0 + timedelta(hours=5))
    assert [b.label for b in reply.replies[0].buttons] == ["满意", "基本满意", "不满意"]
    thanks = citizen.says(button="survey:sat:满意", at=T0 + timedelta(hours=5))
    assert "感谢" in thanks.replies[0].text
    survey, ticket = survey_of(uow_factory, number)
    assert (survey.status, survey.resolved, survey.satisfaction) == (SurveyStatus.ANSWERED, True, "满意")
    assert ticket.status == TicketStatus.SURVEYED


def test_plain_words_and_numbers(uow_factory) -> None:
    citizen = Citizen(uow_factory, channel="wechat")  # no buttons: numbered options, or words
    number = handled_ticket(uow_factory, citizen)
    ask(uow_factory, T0 + timedelta(hours=4))
    citizen.says("解决了，谢谢", at=T0 + timedelta(hours=5))
    citizen.says("2", at=T0 + timedelta(hours=5))  # the second option: 基本满意
    survey, _ = survey_of(uow_factory, number)
    assert (survey.resolved, survey.satisfaction, survey.comment) == (True, "基本满意", "谢谢")


def test_unsatisfied_in_one_sentence_offers_a_second_round_with_the_same_unit(uow_factory) -> None:
    citizen = Citizen(uow_factory, channel="telegram")
    number = handled_ticket(uow_factory, citizen)
    ask(uow_factory, T0 + timedelta(hours=4))
    offer = citizen.says("不满意，垃圾还在", at=T0 + timedelta(hours=5))
    assert "二次办理" in offer.replies[0].text
    done = citizen.says(button="survey:reopen:yes", at=T0 + timedelta(hours=5))
    assert "二次办理" in done.replies[0].text
    survey, ticket = survey_of(uow_factory, number)
    assert (survey.resolved, survey.satisfaction, survey.comment, survey.reopened) == (False, "不满意", "垃圾还在", True)
    assert ticket.status == TicketStatus.DISPATCHED
    with uow_factory() as uow:
        assignments = uow.session.scalars(
            select(TicketAssignment).where(TicketAssignment.ticket_id == ticket.id).order_by(TicketAssignment.dispatched_at)
        ).all()
        assert [a.status for a in assignments] == [AssignmentStatus.RESOLVED, AssignmentStatus.DISPATCHED]
        assert assignments[0].unit_id == assignments[1].unit_id  # back to 望京街道
        notes = [e.note for e in uow.session.get_one(Ticket, ticket.id).events]
        assert any(n and "垃圾还在" in n and "二次办理" in n for n in notes)


def test_declining_a_second_round_closes_the_survey(uow_factory) -> None:
    citizen = Citizen(uow_factory)
    number = handled_ticket(uow_factory, citizen)
    ask(uow_factory, T0 + timedelta(hours=4))
    citizen.says("没解决", at=T0 + timedelta(hours=5))
    citizen.says("不满意", at=T0 + timedelta(hours=5))
    citizen.says("不用了", at=T0 + timedelta(hours=5))
    survey, ticket = survey_of(uow_factory, number)
    assert (survey.status, survey.reopened, ticket.status) == (SurveyStatus.ANSWERED, False, TicketStatus.SURVEYED)


def test_no_answer_is_asked_again_then_recorded_unreachable(uow_factory) -> None:
    citizen = Citizen(uow_factory)
    number = handled_ticket(uow_factory, citizen)
    start = T0 + timedelta(hours=4)
    assert ask(uow_factory, start) == 1
    assert ask(uow_factory, start + timedelta(hours=23)) == 0  # not yet
    assert ask(uow_factory, start + timedelta(hours=24)) == 1
    assert ask(uow_factory, start + timedelta(hours=48)) == 1
    ask(uow_factory, start + timedelta(hours=72))
    survey, ticket = survey_of(uow_factory, number)
    assert (survey.status, survey.attempts) == (SurveyStatus.UNREACHABLE, 3)
    with uow_factory() as uow:
        asked = uow.session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "survey")).all()
        assert len(asked) == 3
        assert any(e.kind == "survey_unreachable" for e in uow.session.get_one(Ticket, ticket.id).events)


def test_a_new_complaint_during_a_survey_is_still_a_complaint(uow_factory) -> None:
    citizen = Citizen(uow_factory)
    handled_ticket(uow_factory, citizen)
    ask(uow_factory, T0 + timedelta(hours=4))
    other = citizen.says("望京街道阜通东大街6号楼楼道里有燃气味", at=T0 + timedelta(hours=5))
    assert other.ticket_number is not None


@pytest.mark.parametrize(
    ("text", "step", "resolved", "satisfaction"),
    [
        ("解决了", "resolved", True, None),
        ("已经处理好了", "resolved", True, None),
        ("还没解决", "resolved", False, None),
        ("满意", "resolved", True, "满意"),
        ("不满意，垃圾还在", "resolved", False, "不满意"),
        ("基本满意吧", "satisfaction", None, "基本满意"),
        ("非常满意！👍", "satisfaction", None, "满意"),
        ("3", "satisfaction", None, "不满意"),
        ("1", "resolved", True, None),
    ],
)
def test_reading_answers(text: str, step: str, resolved: bool | None, satisfaction: str | None) -> None:
    answer = read_answer(text, None, step)
    assert answer is not None and (answer.resolved, answer.satisfaction) == (resolved, satisfaction)


def test_what_is_not_an_answer() -> None:
    assert read_answer("朝阳区望京街道有人乱停车", None, "resolved") is None
    assert read_answer("9", None, "satisfaction") is None
