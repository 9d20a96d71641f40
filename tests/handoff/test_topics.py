"""举一反三 and 每月一问: similar tickets, repeats at intake, and hot topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from handoff.demo import load_demo_tickets
from handoff.intake import handle_inbound
from handoff.models import Ticket, TicketEvent
from handoff.topics import cosine, hot_topics, similar_tickets, vector
from tests.fakes import FakeNlu
from tests.handoff.test_intake import DEMO, NOW, inbound

TZ = ZoneInfo("Asia/Shanghai")


def test_the_same_problem_elsewhere_is_similar_and_another_problem_is_not() -> None:
    garbage = vector("朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理")
    assert cosine(garbage, vector("花家地北里小区楼下垃圾堆了好几天没人清理，味道很大")) > 0.4
    assert cosine(garbage, vector("公司拖欠工资三个月，多次讨要未果")) < 0.1


def test_a_citizen_repeating_an_open_complaint_is_linked_not_filed_twice(uow_factory) -> None:
    nlu = FakeNlu()
    first = handle_inbound(uow_factory(), nlu=nlu, msg=inbound(DEMO), now=NOW)
    with uow_factory() as uow:  # the chat went back to the bot; the ticket is still open
        from handoff.models import Conversation, ConversationState

        uow.session.scalars(select(Conversation)).one().state = ConversationState.BOT
        uow.commit()
    again = handle_inbound(uow_factory(), nlu=nlu, msg=inbound("望京街道阜通东大街6号楼下的垃圾还是堆着没人清理"), now=NOW + timedelta(hours=1))
    assert again.ticket_number is None
    assert first.ticket_number in again.replies[0].text and "已经登记过" in again.replies[0].text
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert uow.session.scalars(select(TicketEvent.kind).where(TicketEvent.kind == "repeat")).all() == ["repeat"]
    other = handle_inbound(uow_factory(), nlu=nlu, msg=inbound("望京街道阜通东大街6号楼楼道里有燃气味"), now=NOW + timedelta(hours=2))
    assert other.ticket_number is not None  # a different problem is a new ticket


def test_similar_tickets_put_the_same_street_first(uow_factory) -> None:
    with uow_factory() as uow:
        load_demo_tickets(uow.session, now=datetime(2026, 11, 23, 2, tzinfo=UTC), tz=TZ, per_day=12)
        uow.commit()
    with uow_factory() as uow:
        ticket = uow.session.scalars(
            select(Ticket).where(Ticket.description.like("%垃圾堆了好几天%"), Ticket.street_code == "110105026").limit(1)
        ).first()
        if ticket is None:
            ticket = uow.session.scalars(select(Ticket).where(Ticket.description.like("%垃圾堆了好几天%")).limit(1)).one()
        found = similar_tickets(uow.session, ticket)
    assert found and all(s.ticket.district_code == ticket.district_code for s in found)
    assert all("垃圾" in s.ticket.description for s in found[:5])
    flags = [s.same_street for s in found]
    assert flags == sorted(flags, reverse=True)


def test_hot_topics_of_october_on_the_demo_data(uow_factory) -> None:
    with uow_factory() as uow:
        load_demo_tickets(uow.session, now=datetime(2026, 11, 23, 2, tzinfo=UTC), tz=TZ, per_day=12)
        uow.commit()
    with uow_factory() as uow:
        topics = hot_topics(uow.session, start=datetime(2026, 10, 1, tzinfo=TZ), end=datetime(2026, 11, 1, tzinfo=TZ))
    assert len(topics) >= 8
    sizes = [t.size for t in topics]
    assert sizes == sorted(sizes, reverse=True)
    biggest = topics[0]
    assert biggest.category == "城乡建设" and biggest.previous > 0 and biggest.places()
    words = {t.description for t in biggest.typical()}
    assert len(words) >= 1 and all(cosine(vector(w), biggest.centroid) > 0.3 for w in words)
