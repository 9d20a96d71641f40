"""New rows written without the unit of work read back exactly as a flush would have written them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import event, select

from handoff.bulk import insert_new_rows, update_changed_rows
from handoff.events import Change
from handoff.models import ChannelIdentity, Citizen, Conversation, ConversationState, Direction, Message, Ticket
from handoff.store import UnitOfWork, make_session_factory
from tests.handoff.test_intake import NOW


def _citizen_and_chat() -> tuple[Citizen, ChannelIdentity, Conversation]:
    citizen = Citizen(id=uuid.uuid4(), display_name="市民", created_at=NOW)
    identity = ChannelIdentity(id=uuid.uuid4(), citizen_id=citizen.id, channel="web", channel_user_id="u1", chat_id="c1")
    conversation = Conversation(
        id=uuid.uuid4(), citizen_id=citizen.id, identity_id=identity.id, channel="web", chat_id="c1",
        state=ConversationState.BOT, created_at=NOW, updated_at=NOW,
    )
    return citizen, identity, conversation


def test_defaults_apply_as_in_a_flush_and_listeners_hear_of_the_rows(engine, uow_factory) -> None:
    heard: list[Change] = []

    citizen, identity, conversation = _citizen_and_chat()
    asked = Message(id=uuid.uuid4(), conversation_id=conversation.id, channel="web", direction=Direction.IN,
                    platform_msg_id="m1", sender="citizen", text="路灯不亮", created_at=NOW,
                    analysis={"category": "城乡建设", "confidence": 0.97, "street": None})
    answer = Message(id=uuid.uuid4(), conversation_id=conversation.id, channel="web", direction=Direction.OUT,
                     sender="bot", text="收到", in_reply_to=asked.id, created_at=NOW, payload=None)
    ticket = Ticket(id=uuid.uuid4(), number="2026120400001", citizen_id=citizen.id, conversation_id=conversation.id,
                    channel="web", chat_id="c1", request_type="投诉", description="路灯不亮", lane=None,
                    accepted_at=NOW, updated_at=NOW)
    with UnitOfWork(make_session_factory(engine), on_commit=heard.extend) as uow:
        # Added children first: the tables still go in the order the foreign keys need.
        uow.session.add_all([ticket, asked, answer, conversation, identity, citizen])
        assert insert_new_rows(uow.session)
        assert not uow.session.new
        uow.commit()

    with uow_factory() as uow:
        stored = uow.session.scalars(select(Ticket)).one()
        assert stored.lane == "citizen" and stored.status == "accepted" and stored.urgent is False  # the defaults
        assert stored.citizen_id == citizen.id
        assert uow.session.get(Citizen, citizen.id).language == "zh"  # type: ignore[union-attr]
        replies = uow.session.scalars(select(Message).where(Message.in_reply_to == asked.id)).all()
        assert [m.text for m in replies] == ["收到"] and replies[0].payload is None
        assert uow.session.get(Message, asked.id).analysis == asked.analysis  # type: ignore[union-attr]
        assert stored.accepted_at == NOW and stored.description == "路灯不亮"
    assert ticket.lane == "citizen"  # the object reads as the row does
    assert sorted(c.kind for c in heard) == ["conversation", "message", "message"]
    with uow_factory() as uow:  # unset JSON is SQL NULL, as a flush leaves it; None set on it is JSON null
        assert uow.session.scalar(select(Conversation.id).where(Conversation.draft.is_(None))) == conversation.id
        assert uow.session.scalar(select(Message.id).where(Message.payload.is_(None), Message.id == asked.id))
        assert not uow.session.scalar(select(Message.id).where(Message.payload.is_(None), Message.id == answer.id))


def test_an_object_tied_by_a_relationship_is_left_to_the_flush(uow_factory) -> None:
    citizen, identity, conversation = _citizen_and_chat()
    with uow_factory() as uow:
        message = Message(id=uuid.uuid4(), conversation=conversation, channel="web", direction=Direction.IN,
                          platform_msg_id="m2", sender="citizen", text="你好", created_at=NOW)
        uow.session.add_all([citizen, identity, conversation, message])
        assert not insert_new_rows(uow.session)  # the message's conversation_id is only known to a flush
        assert len(uow.session.new) == 4
        uow.commit()
    with uow_factory() as uow:
        stored = uow.session.scalars(select(Message).where(Message.platform_msg_id == "m2")).one()
        assert stored.conversation_id == conversation.id


def test_nothing_new_is_nothing_to_do(uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        assert insert_new_rows(uow.session)


def test_changed_columns_of_loaded_rows_are_written_in_one_statement_on_postgresql(db_url, engine, uow_factory) -> None:
    citizen, identity, conversation = _citizen_and_chat()
    conversation.draft = {"awaiting": "location"}
    with uow_factory() as uow:
        uow.session.add_all([citizen, identity, conversation])
        uow.commit()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with uow_factory() as uow:
        loaded = uow.session.get(Conversation, conversation.id)
        person = uow.session.get(Citizen, citizen.id)
        assert loaded is not None and person is not None
        loaded.state, loaded.draft, loaded.handed_off_at = ConversationState.QUEUED, None, NOW
        person.phone = "13900000000"
        statements.clear()
        written = update_changed_rows(uow.session)
        uow.commit()
    assert written == engine.url.drivername.startswith("postgresql")  # elsewhere the flush writes them
    if written:
        assert len(statements) == 1
    with uow_factory() as uow:
        stored = uow.session.get(Conversation, conversation.id)
        assert stored is not None and stored.state == ConversationState.QUEUED and stored.handed_off_at == NOW
        assert stored.draft is None  # as the flush writes None on JSON: JSON null
        assert uow.session.scalar(select(Conversation.id).where(Conversation.draft.is_(None))) is None
        assert uow.session.get(Citizen, citizen.id).phone == "13900000000"  # type: ignore[union-attr]
        assert uow.session.get(Citizen, citizen.id).display_name == "市民"  # type: ignore[union-attr]


def test_a_naive_time_is_refused_and_a_nan_in_a_json_column_is_stored_as_null(engine, uow_factory) -> None:
    import math
    from datetime import datetime

    import pytest
    from sqlalchemy.exc import StatementError

    citizen, identity, conversation = _citizen_and_chat()
    conversation.created_at = datetime(2026, 12, 4, 9, 0)  # no zone: the store refuses to guess one
    with UnitOfWork(make_session_factory(engine)) as uow:
        uow.session.add_all([citizen, identity, conversation])
        with pytest.raises((ValueError, StatementError), match="naive datetime"):
            insert_new_rows(uow.session)

    citizen, identity, conversation = _citizen_and_chat()
    asked = Message(id=uuid.uuid4(), conversation_id=conversation.id, channel="web", direction=Direction.IN,
                    platform_msg_id="m9", sender="citizen", text="路灯不亮", created_at=NOW,
                    analysis={"confidence": math.nan, "street": "望京街道"})
    with UnitOfWork(make_session_factory(engine)) as uow:
        uow.session.add_all([citizen, identity, conversation, asked])
        assert insert_new_rows(uow.session)
        uow.commit()
    with uow_factory() as uow:
        assert uow.session.get(Message, asked.id).analysis == {"confidence": None, "street": "望京街道"}  # type: ignore[union-attr]
