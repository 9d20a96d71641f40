"""The conversation engine, on SQLite and on PostgreSQL, with a scripted NLU."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from handoff.errors import InvalidMessageError
from handoff.intake import handle_inbound
from handoff.messages import Attachment, GeoPoint, InboundMessage, InboundResult
from handoff.models import (
    Conversation,
    ConversationState,
    Message,
    OutboxEntry,
    OutboxStatus,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from handoff.store import UnitOfWork
from tests.fakes import FakeNlu

DEMO = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
_ids = itertools.count(1)


def inbound(text: str = "", *, user: str = "u1", msg_id: str | None = None, **extra: object) -> InboundMessage:
    return InboundMessage(
        channel="web",
        channel_user_id=user,
        chat_id=f"chat-{user}",
        platform_msg_id=msg_id or f"m{next(_ids)}",
        received_at=NOW,
        text=text,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def say(uow_factory: Callable[[], UnitOfWork]) -> Callable[..., InboundResult]:
    nlu = FakeNlu()

    def say(text: str = "", **kwargs: object) -> InboundResult:
        return handle_inbound(uow_factory(), nlu=nlu, msg=inbound(text, **kwargs), now=NOW)  # type: ignore[arg-type]

    return say


def count(uow_factory: Callable[[], UnitOfWork], model: type) -> int:
    with uow_factory() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_complaint_with_its_place_gets_a_ticket_number(say, uow_factory) -> None:
    result = say(DEMO)

    assert result.ticket_number is not None
    assert result.ticket_number.startswith("20261123") and len(result.ticket_number) == 13
    assert result.ticket_number in result.replies[0].text
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        assert (ticket.request_type, ticket.category) == ("投诉", "城乡建设")
        assert (ticket.district_code, ticket.street_code, ticket.admin_code) == ("110105", "110105026", "110105026")
        assert ticket.address == "阜通东大街6号楼"
        assert ticket.description == DEMO
        assert ticket.status == TicketStatus.ACCEPTED and ticket.accepted_at == NOW
        assert [e.to_status for e in ticket.events] == [TicketStatus.ACCEPTED]
        conversation = uow.session.scalars(select(Conversation)).one()
        assert conversation.state == ConversationState.QUEUED  # handed to the operators
        entries = uow.session.scalars(select(OutboxEntry)).all()
        assert [e.status for e in entries] == [OutboxStatus.PENDING]
        assert entries[0].payload["text"] == result.replies[0].text


def test_ticket_numbers_count_up_within_a_day(say) -> None:
    first = say(DEMO, user="a").ticket_number
    second = say(DEMO, user="b").ticket_number
    assert first is not None and second is not None
    assert int(second) == int(first) + 1


def test_without_a_place_the_bot_asks_where_then_opens_the_ticket(say, uow_factory) -> None:
    asked = say("楼下垃圾堆了三天没人清理")
    assert asked.ticket_number is None
    assert "位置" in asked.replies[0].text

    answered = say("朝阳区望京街道")
    assert answered.ticket_number is not None
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        assert ticket.description == "楼下垃圾堆了三天没人清理"  # the place answer is not the problem
        assert ticket.street == "望京街道"


def test_a_citizen_who_cannot_say_where_is_handed_to_a_person(say, uow_factory) -> None:
    say("楼下垃圾堆了三天没人清理")
    say("就在我家楼下")
    say("我家楼下啊")
    last = say("楼下")
    assert any("人工" in r.text or "话务员" in r.text for r in last.replies)
    with uow_factory() as uow:
        assert uow.session.scalars(select(Conversation)).one().state == ConversationState.QUEUED
    assert count(uow_factory, Ticket) == 0


def test_a_draft_can_be_cancelled(say, uow_factory) -> None:
    say("楼下垃圾堆了三天没人清理")
    cancelled = say("取消")
    assert "取消" in cancelled.replies[0].text
    again = say("朝阳区望京街道")  # a later place alone is not an answer to the dropped draft
    assert again.ticket_number is None


def test_a_map_pin_is_a_place(say, uow_factory) -> None:
    say("楼下垃圾堆了三天没人清理")
    result = say(location=GeoPoint(39.996, 116.47, "望京SOHO"))
    assert result.ticket_number is not None
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        assert (ticket.latitude, ticket.longitude) == (39.996, 116.47)


def test_an_faq_question_is_answered_without_a_ticket(say, uow_factory) -> None:
    result = say("居住证怎么办理")
    assert "派出所" in result.replies[0].text and "北京市公安局" in result.replies[0].text
    assert result.ticket_number is None
    assert count(uow_factory, Ticket) == 0


def test_status_in_plain_words_lists_the_citizens_tickets(say) -> None:
    assert "没有工单" in say("我的工单怎么样了").replies[0].text
    number = say(DEMO).ticket_number
    reply = say("我的工单怎么样了").replies[0].text
    assert number in reply and "已受理" in reply


def test_status_by_number_only_shows_the_citizens_own_ticket(say) -> None:
    number = say(DEMO, user="owner").ticket_number
    assert number is not None
    assert "已受理" in say(f"{number}办得怎么样了", user="owner").replies[0].text
    stranger = say(f"{number}办得怎么样了", user="stranger").replies[0].text
    assert "没有找到" in stranger and "已受理" not in stranger


def test_the_same_platform_message_twice_makes_one_message_and_one_reply(say, uow_factory) -> None:
    first = say(DEMO, msg_id="dup-1")
    again = say(DEMO, msg_id="dup-1")

    assert again.duplicate and not first.duplicate
    assert [r.text for r in again.replies] == [r.text for r in first.replies]
    assert list(again.outbox_ids) == list(first.outbox_ids)
    assert count(uow_factory, Ticket) == 1
    with uow_factory() as uow:
        inbound_count = uow.session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
        assert inbound_count == 1
    assert count(uow_factory, OutboxEntry) == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [("", "为空"), ("   \n\t ", "为空"), ("垃圾" * 1001, "过长"), ("垃圾\x00\x01堆了", "无法识别")],
    ids=["empty", "whitespace", "over-long", "binary"],
)
def test_bad_input_is_refused_with_a_reason_and_nothing_is_stored(say, uow_factory, text: str, why: str) -> None:
    with pytest.raises(InvalidMessageError, match=why):
        say(text)
    for model in (Message, Conversation, OutboxEntry, Ticket):
        assert count(uow_factory, model) == 0


def test_2000_characters_is_still_accepted(say) -> None:
    assert say("垃" * 2000).replies


def test_while_an_operator_holds_the_chat_the_bot_is_quiet(say, uow_factory) -> None:
    say(DEMO)
    with uow_factory() as uow:
        uow.session.scalars(select(Conversation)).one().state = ConversationState.OPERATOR
        uow.commit()
    result = say("垃圾车一直没来")
    assert result.replies == ()
    with uow_factory() as uow:
        notes = uow.session.scalars(select(TicketEvent).where(TicketEvent.kind == "citizen_message")).all()
        assert [n.note for n in notes] == ["垃圾车一直没来"]


def test_while_waiting_more_words_are_added_to_the_open_ticket(say, uow_factory) -> None:
    number = say(DEMO).ticket_number
    result = say("而且味道很大，垃圾招了很多苍蝇")
    assert number in result.replies[0].text
    assert count(uow_factory, Ticket) == 1


def test_an_urgent_matter_is_marked_and_the_citizen_told(say, uow_factory) -> None:
    result = say("望京街道阜通东大街6号楼楼道里有燃气味")
    assert result.ticket_number is not None
    assert any("紧急" in r.text and "燃气味" in r.text for r in result.replies)
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        assert ticket.urgent and ticket.urgency_cue == "燃气味"


def test_asking_for_a_person_queues_the_chat(say, uow_factory) -> None:
    result = say("转人工")
    assert "话务员" in result.replies[0].text
    with uow_factory() as uow:
        conversation = uow.session.scalars(select(Conversation)).one()
        assert conversation.state == ConversationState.QUEUED and conversation.handed_off_at == NOW


def test_greetings_thanks_and_buttons(say) -> None:
    assert "12345" in say("你好").replies[0].text
    assert "不客气" in say("谢谢").replies[0].text
    assert "话务员" in say(button="human").replies[0].text


def test_a_photo_alone_asks_for_words_and_later_joins_the_ticket(say, uow_factory) -> None:
    photo = (Attachment("image", "file-1"),)
    assert "描述" in say(attachments=photo).replies[0].text
    say(DEMO)
    assert "图片" in say(attachments=(Attachment("image", "file-2"),)).replies[0].text
    with uow_factory() as uow:
        note = uow.session.scalars(select(TicketEvent).where(TicketEvent.kind == "citizen_message")).one()
        assert note.data == {"attachments": [{"kind": "image", "file_id": "file-2", "url": None}]}


def test_a_phone_number_in_the_text_becomes_the_contact(say, uow_factory) -> None:
    say(DEMO + "，联系电话13812345678")
    with uow_factory() as uow:
        assert uow.session.scalars(select(Ticket)).one().contact_phone == "13812345678"
        stored = uow.session.scalars(select(Message).where(Message.direction == "in")).one()
        assert "13812345678" not in str(stored.analysis)  # the NLU record keeps no phone numbers


def test_replies_are_stored_after_the_message_they_answer(say, uow_factory) -> None:
    say("转人工")
    with uow_factory() as uow:
        messages = uow.session.scalars(select(Message).order_by(Message.created_at)).all()
        assert [m.direction for m in messages] == ["in", "out", "out"]
        assert messages[1].created_at > messages[0].created_at
        assert messages[2].created_at > messages[1].created_at
        assert messages[1].created_at - messages[0].created_at < timedelta(milliseconds=1)


def test_a_number_answers_the_buttons_of_the_last_message(say) -> None:
    say("楼下垃圾堆了三天没人清理")  # asks where, with a 「取消」 button
    assert "取消" in say("1").replies[0].text


def test_a_number_with_no_buttons_before_it_is_just_text(say) -> None:
    say("谢谢")
    assert "描述" in say("1").replies[0].text


def test_held_replies_wait_for_the_channel_then_settle(uow_factory) -> None:
    from handoff.passive import PASSIVE, take_passive_reply

    result = handle_inbound(uow_factory(), nlu=FakeNlu(), msg=inbound(DEMO), now=NOW, hold_replies=timedelta(seconds=5))
    with uow_factory() as uow:
        assert [e.status for e in uow.session.scalars(select(OutboxEntry))] == [OutboxStatus.SENDING]
    reply = take_passive_reply(uow_factory(), result, in_time=True, now=NOW)
    assert reply is not None and result.ticket_number in reply.text
    with uow_factory() as uow:
        entry = uow.session.scalars(select(OutboxEntry)).one()
        assert (entry.status, entry.platform_msg_id) == (OutboxStatus.SENT, PASSIVE)
