"""Ticket lifecycle: every status change is recorded and told to the citizen; numbers never repeat."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handoff.errors import InvalidTransitionError
from handoff.intake import handle_inbound
from handoff.models import OutboxEntry, Ticket, TicketStatus
from handoff.numbering import NumberBlock, next_ticket_number
from handoff.routing import suggest_units
from handoff.store import UnitOfWork
from handoff.tickets import Actor, advance_ticket, find_ticket
from tests.fakes import FakeNlu
from tests.handoff.test_intake import DEMO, NOW, inbound

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _open(uow_factory: Callable[[], UnitOfWork]) -> str:
    number = handle_inbound(uow_factory(), nlu=FakeNlu(), msg=inbound(DEMO), now=NOW).ticket_number
    assert number is not None
    return number


def test_each_status_change_is_in_the_timeline_and_pushed_to_the_citizen(uow_factory) -> None:
    number = _open(uow_factory)
    steps = [
        (TicketStatus.DISPATCHED, "已派至望京街道"),
        (TicketStatus.SIGNED, None),
        (TicketStatus.IN_PROGRESS, "环卫队已到现场"),
        (TicketStatus.RESOLVED, "垃圾已清运完毕"),
    ]
    for minutes, (status, note) in enumerate(steps, start=1):
        with uow_factory() as uow:
            ticket = find_ticket(uow.session, number)
            advance_ticket(
                uow.session, ticket=ticket, to_status=status, actor=Actor("operator", "op1"),
                now=NOW + timedelta(minutes=minutes), note=note,
            )
            uow.commit()
    with uow_factory() as uow:
        ticket = find_ticket(uow.session, number)
        assert ticket.status == TicketStatus.RESOLVED
        assert ticket.dispatched_at == NOW + timedelta(minutes=1)
        assert ticket.resolved_at == NOW + timedelta(minutes=4)
        assert [e.to_status for e in ticket.events] == ["accepted", "dispatched", "signed", "in_progress", "resolved"]
        assert ticket.events[1].actor_type == "operator" and ticket.events[1].actor_id == "op1"
        pushes = uow.session.scalars(
            select(OutboxEntry).where(OutboxEntry.kind == "status").order_by(OutboxEntry.created_at)
        ).all()
        texts = [p.payload["text"] for p in pushes]
        assert len(texts) == 4 and all(number in t for t in texts)
        assert "已派单" in texts[0] and "已派至望京街道" in texts[0]
        assert "已办结" in texts[3] and "垃圾已清运完毕" in texts[3]
        assert {p.chat_id for p in pushes} == {ticket.chat_id}


def test_a_step_the_lifecycle_does_not_allow_is_refused(uow_factory) -> None:
    number = _open(uow_factory)
    with uow_factory() as uow:
        ticket = find_ticket(uow.session, number)
        with pytest.raises(InvalidTransitionError):
            advance_ticket(uow.session, ticket=ticket, to_status=TicketStatus.ARCHIVED, actor=Actor("operator"), now=NOW)


def test_units_are_suggested_from_the_street_and_the_category(uow_factory) -> None:
    number = _open(uow_factory)
    with uow_factory() as uow:
        units = suggest_units(uow.session, find_ticket(uow.session, number))
        assert units[0].name == "望京街道" and units[0].code == "110105026"
        assert "北京市城市管理委员会" in [u.name for u in units[1:]]


def test_concurrent_intakes_never_share_a_ticket_number(engine, uow_factory) -> None:
    numbers: list[str] = []
    errors: list[BaseException] = []
    moment = datetime(2026, 11, 23, 15, 59, tzinfo=UTC)  # 23:59 in Beijing

    def take() -> None:
        try:
            for _ in range(5):
                with uow_factory() as uow:
                    numbers.append(next_ticket_number(uow.session, now=moment, tz=SHANGHAI))
                    uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(numbers) == 40 and len(set(numbers)) == 40
    assert sorted(numbers)[0] == "2026112300001" and sorted(numbers)[-1] == "2026112300040"


def test_a_batch_reserves_its_numbers_together_and_gives_back_what_it_did_not_use(uow_factory) -> None:
    moment = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    with uow_factory() as uow:
        block = NumberBlock(uow.session, tz=SHANGHAI)
        block.messages_left = 5  # five messages left in the batch; only two open tickets
        taken = [block.take(moment), block.take(moment)]
        block.give_back()
        uow.commit()
    assert taken == ["2026112300001", "2026112300002"]
    with uow_factory() as uow:
        assert next_ticket_number(uow.session, now=moment, tz=SHANGHAI) == "2026112300003"  # no gap


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite has one writer: no interleaving
def test_interleaved_batches_keep_numbers_unique_and_increasing(uow_factory) -> None:
    moment = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    with uow_factory() as first_uow, uow_factory() as second_uow:
        first, second = NumberBlock(first_uow.session, tz=SHANGHAI), NumberBlock(second_uow.session, tz=SHANGHAI)
        first.messages_left = second.messages_left = 3
        a = first.take(moment)  # reserves 1-3
        b = second.take(moment)  # reserves 4-6 while the first batch is still at work
        first.give_back()  # 2 and 3 cannot go back: someone reserved after them
        c = second.take(moment)
        second.give_back()  # 6 goes back
        first_uow.commit()
        second_uow.commit()
    with uow_factory() as uow:
        d = next_ticket_number(uow.session, now=moment, tz=SHANGHAI)
    assert [a, b, c, d] == [f"20261123{n:05d}" for n in (1, 4, 5, 6)]


def test_the_day_of_a_number_is_beijings(uow_factory) -> None:
    with uow_factory() as uow:
        late_utc = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # already 24 November in Beijing
        assert next_ticket_number(uow.session, now=late_utc, tz=SHANGHAI).startswith("20261124")


def test_the_most_specific_sla_rule_sets_the_deadlines(uow_factory) -> None:
    from handoff.dispatch import deadlines
    from handoff.models import SlaRule

    with uow_factory() as uow:
        uow.session.add(SlaRule(category="环境保护", urgent=True, sign_minutes=15, resolve_minutes=12 * 60))
        uow.commit()
    with uow_factory() as uow:
        specific = deadlines(uow.session, category="环境保护", urgent=True, now=NOW)
        general = deadlines(uow.session, category="交通运输", urgent=True, now=NOW)
        normal = deadlines(uow.session, category="环境保护", urgent=False, now=NOW)
    assert (specific.sign - NOW, specific.resolve - NOW) == (timedelta(minutes=15), timedelta(hours=12))
    assert (general.sign - NOW, general.resolve - NOW) == (timedelta(minutes=30), timedelta(days=1))
    assert (normal.sign - NOW, normal.resolve - NOW) == (timedelta(hours=2), timedelta(days=7))
